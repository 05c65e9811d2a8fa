// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * UDP probe family: flows keyed by 5-tuple, for connected and unconnected
 * sockets alike, from cgroup_skb programs on the cgroup v2 root. They see
 * every datagram a socket sends (before fragmentation) or receives (after
 * reassembly) with its real addresses, which socket-level tracepoints do not
 * give for sendto()/recvfrom(). TCP segments leave at the first byte compare.
 * Flows are oriented local -> remote; user space expires them after the idle
 * timeout.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"
#include "compat.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define ETH_P_IP    0x0800
#define ETH_P_IPV6  0x86DD
#define IPPROTO_UDP 17
#define AF_INET	    2
#define AF_INET6    10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* resized from the config before load */
	__type(key, struct gs_udp_key);
	__type(value, struct gs_udp_flow);
} udp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_stats);
} udp_stats SEC(".maps");

static __always_inline void account(struct __sk_buff *skb, bool egress)
{
	struct gs_udp_key key = {};
	struct gs_udp_flow *f, nf = {};
	struct gs_stats *st;
	__u32 zero = 0, hlen;
	__u16 ports[2];
	__u64 payload, dgrams, now;
	struct bpf_sock *sk = skb->sk;
	__u8 proto;

	/* Most packets are TCP: leave on the owning socket's protocol, a
	 * context load, before touching packet bytes. */
	if (sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk && sk->protocol != IPPROTO_UDP)
			return;
	}
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return;
		if (ip.protocol != IPPROTO_UDP)
			return;
		hlen = ip.ihl * 4;
		if (hlen < sizeof(ip))
			return;
		key.family = AF_INET;
		__builtin_memcpy(egress ? key.laddr : key.raddr, &ip.saddr, 4);
		__builtin_memcpy(egress ? key.raddr : key.laddr, &ip.daddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return;
		proto = ip6.nexthdr;
		if (proto != IPPROTO_UDP)
			return;
		hlen = sizeof(ip6);
		key.family = AF_INET6;
		__builtin_memcpy(egress ? key.laddr : key.raddr, &ip6.saddr, 16);
		__builtin_memcpy(egress ? key.raddr : key.laddr, &ip6.daddr, 16);
	} else {
		return;
	}
	if (bpf_skb_load_bytes(skb, hlen, ports, sizeof(ports)))
		return;
	key.netns_cookie = gs_skb_net_key(skb);
	if (!gs_in_scope(key.netns_cookie))
		return;
	key.lport = bpf_ntohs(egress ? ports[0] : ports[1]);
	key.rport = bpf_ntohs(egress ? ports[1] : ports[0]);

	/* A UDP GSO skb carries gso_segs datagrams behind one header. */
	dgrams = skb->gso_segs > 1 ? skb->gso_segs : 1;
	payload = skb->len > hlen + 8 ? skb->len - hlen - 8 : 0;
	now = bpf_ktime_get_ns();

	st = bpf_map_lookup_elem(&udp_stats, &zero);
	if (!st)
		return;
	STAT_ADD(st, egress ? GS_C_UDP_BYTES_SENT : GS_C_UDP_BYTES_RECEIVED, payload);
	STAT_ADD(st, egress ? GS_C_UDP_DGRAMS_SENT : GS_C_UDP_DGRAMS_RECEIVED, dgrams);

	f = bpf_map_lookup_elem(&udp_flows, &key);
	if (!f) {
		nf.first_ns = now;
		nf.last_ns = now;
		if (egress) {
			nf.bytes_sent = payload;
			nf.dgrams_sent = dgrams;
			nf.pid = gs_skb_current_pid();
		} else {
			nf.bytes_received = payload;
			nf.dgrams_received = dgrams;
		}
		if (!bpf_map_update_elem(&udp_flows, &key, &nf, BPF_NOEXIST)) {
			STAT_INC(st, GS_C_UDP_FLOWS);
			return;
		}
		/* Lost a race with another CPU creating it, or the map is full. */
		f = bpf_map_lookup_elem(&udp_flows, &key);
		if (!f) {
			STAT_INC(st, GS_C_UDP_FLOW_MAP_FULL);
			return;
		}
	}
	f->last_ns = now;
	if (egress) {
		__sync_fetch_and_add(&f->bytes_sent, payload);
		__sync_fetch_and_add(&f->dgrams_sent, dgrams);
	} else {
		__sync_fetch_and_add(&f->bytes_received, payload);
		__sync_fetch_and_add(&f->dgrams_received, dgrams);
	}
}

SEC("cgroup_skb/egress")
int handle_udp_egress(struct __sk_buff *skb)
{
	account(skb, true);
	return 1;
}

SEC("cgroup_skb/ingress")
int handle_udp_ingress(struct __sk_buff *skb)
{
	account(skb, false);
	return 1;
}
