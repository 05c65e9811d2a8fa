/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * DNS packet capture: the first GS_DNS_MAX bytes of the transport payload of
 * a UDP or TCP packet to or from port 53, as a struct gs_dns_event in the
 * shared ring buffer. Nothing is parsed here: user space validates and
 * parses every byte as hostile. Kernel only.
 */
#ifndef GESPANN_DNS_CAPTURE_BPF_H
#define GESPANN_DNS_CAPTURE_BPF_H

#include "abi/gespann_abi.h"
#include "maps.bpf.h"
#include "udp_owner.bpf.h"
#include "udp_pkt.bpf.h"

#define DNS_PORT 53

/* Copy payload bytes at offset off of skb into a ring-buffer record and
 * submit it, without a wakeup unless wakeup_bytes are waiting. ringbuf is
 * the shared `events` map. o (may be NULL) names the socket's owner. */
static __always_inline void dns_emit(void *ringbuf, __u64 wakeup_bytes, struct __sk_buff *skb,
				     struct gs_stats *st, const struct udp_pkt *p, __u16 sport,
				     __u16 dport, __u32 off, __u32 payload, bool egress,
				     __u64 netns_cookie, const struct udp_owner_rec *o)
{
	struct gs_dns_event *ev;
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u32 n = payload;

	if (n == 0)
		return;
	if (n > GS_DNS_MAX)
		n = GS_DNS_MAX;
	/* 1..GS_DNS_MAX in a form every verifier since 5.10 can follow (older
	 * ones refuse a length whose lower bound is 0). */
	n = ((n - 1) & (GS_DNS_MAX - 1)) + 1;
	ev = bpf_ringbuf_reserve(ringbuf, sizeof(*ev), 0);
	if (!ev) {
		STAT_INC(st, GS_C_DNS_LOST);
		return;
	}
	/* Ring memory is not zeroed: no stale bytes after data[len]. */
	__builtin_memset(ev, 0, sizeof(*ev));
	if (bpf_skb_load_bytes(skb, off, ev->data, n)) {
		bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);
		STAT_INC(st, GS_C_DNS_LOST);
		return;
	}
	ev->hdr.type = GS_EV_DNS;
	ev->hdr.size = sizeof(*ev);
	ev->ts_ns = bpf_ktime_get_ns();
	ev->netns_cookie = netns_cookie;
	if (o) {
		ev->pid = o->pid;
		ev->cgroup_id = o->cgroup_id;
		__builtin_memcpy(ev->comm, o->comm, sizeof(ev->comm));
	}
	ev->family = p->family;
	ev->protocol = p->proto;
	ev->egress = egress;
	ev->sport = sport;
	ev->dport = dport;
	ev->len = n;
	ev->payload_len = payload > 0xffff ? 0xffff : payload;
	__builtin_memcpy(ev->saddr, p->saddr, GS_ADDR_LEN);
	__builtin_memcpy(ev->daddr, p->daddr, GS_ADDR_LEN);
	if (bpf_ringbuf_query(ringbuf, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
	STAT_INC(st, GS_C_DNS_PACKETS);
}

#endif
