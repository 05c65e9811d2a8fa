/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Network and transport header parsing for cgroup_skb programs, where offset
 * 0 of the skb is the IP header in both directions. Addresses and ports are
 * kept as on the wire (saddr:sport sent the packet). IPv6 extension headers
 * are not walked: such packets are left alone. Kernel only.
 */
#ifndef GESPANN_UDP_PKT_BPF_H
#define GESPANN_UDP_PKT_BPF_H

#include <bpf/bpf_endian.h>

#include "abi/gespann_abi.h"

#define UDP_ETH_P_IP   0x0800
#define UDP_ETH_P_IPV6 0x86DD

struct udp_pkt {
	__u8 saddr[GS_ADDR_LEN]; /* IPv4 in the first 4 bytes */
	__u8 daddr[GS_ADDR_LEN];
	__u32 hlen; /* IP header length: the transport header starts here */
	__u16 family;
	__u8 proto; /* IPPROTO_* of the transport header at hlen */
	__u8 pad;
};

/* Fill p from the IP header. Returns 0, or -1 for anything that is not IPv4
 * or IPv6 carrying `want` directly. */
static __always_inline int udp_pkt_parse_ip(struct __sk_buff *skb, struct udp_pkt *p, __u8 want)
{
	if (skb->protocol == bpf_htons(UDP_ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		if (ip.protocol != want)
			return -1;
		p->hlen = ip.ihl * 4;
		if (p->hlen < sizeof(ip))
			return -1;
		p->family = 2; /* AF_INET */
		__builtin_memcpy(p->saddr, &ip.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.daddr, 4);
	} else if (skb->protocol == bpf_htons(UDP_ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		if (ip6.nexthdr != want)
			return -1;
		p->hlen = sizeof(ip6);
		p->family = 10; /* AF_INET6 */
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
	} else {
		return -1;
	}
	p->proto = want;
	return 0;
}

#endif
