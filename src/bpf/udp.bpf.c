// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * UDP probe family: flows keyed by 5-tuple, for connected and unconnected
 * sockets alike, from cgroup_skb programs on the cgroup v2 root. They see
 * every datagram a socket sends (before fragmentation) or receives (after
 * reassembly) with its real addresses, which socket-level tracepoints do not
 * give for sendto()/recvfrom(). Flows are oriented local -> remote; user
 * space expires them after the idle timeout.
 *
 * Each flow names the process owning its socket (udp_owner.bpf.h): recorded
 * at socket creation by a cgroup/sock_create program (for sockets open before
 * the agent, by a task_file iterator run once at start) and refreshed at
 * egress, all in process context, and read from socket storage at ingress,
 * so a receive-only server is attributed too.
 *
 * The same two programs copy DNS packets (UDP or TCP, port 53 on either
 * side) into the connection ring buffer (dns_capture.bpf.h). TCP segments
 * leave after the socket's protocol and port compares, before any packet
 * byte is read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"
#include "compat.bpf.h"
#include "udp_owner.bpf.h"
#include "task_sock.bpf.h"
#include "udp_pkt.bpf.h"
#include "dns_capture.bpf.h"

#define EEXIST 17

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* Copy DNS packets to user space (set before load). */
const volatile bool dns_capture = true;
/* Wake the reader early once this much is waiting (set before load). */
const volatile __u64 ringbuf_wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* resized from the config before load */
	__type(key, struct gs_udp_key);
	__type(value, struct gs_udp_flow);
} udp_flows SEC(".maps");

GS_STATS_MAP(udp_stats);

/* The tcp family's `events`: user space points this at the same map
 * (bpf_map__reuse_fd) before load, so one reader drains every record. */
GS_EVENTS_MAP();

static __always_inline struct gs_stats *udp_stats_get(void)
{
	return gs_stats_this_cpu(&udp_stats);
}

static __always_inline void flow_set_owner(struct gs_udp_flow *f, const struct udp_owner_rec *o)
{
	f->pid = o->pid;
	f->cgroup_id = o->cgroup_id;
	__builtin_memcpy(f->comm, o->comm, sizeof(f->comm));
}

/* A TCP segment of a socket on port 53: copy its payload, if any. The owner
 * is left unknown (no cheap source for TCP sockets here). */
static __noinline void dns_tcp(struct __sk_buff *skb, bool egress)
{
	struct udp_pkt p = {};
	struct gs_stats *st;
	__u8 th[16]; /* ports, seq, ack, data offset */
	__u32 doff, off;
	__u64 cookie;

	if (udp_pkt_parse_ip(skb, &p, IPPROTO_TCP))
		return;
	if (bpf_skb_load_bytes(skb, p.hlen, th, sizeof(th)))
		return;
	doff = (th[12] >> 4) * 4;
	if (doff < 20)
		return;
	off = p.hlen + doff;
	if (skb->len <= off)
		return;
	cookie = gs_skb_net_key(skb);
	if (!gs_in_scope(cookie))
		return;
	st = udp_stats_get();
	if (!st)
		return;
	dns_emit(&events, ringbuf_wakeup_bytes, skb, st, &p, ((__u16)th[0] << 8) | th[1],
		 ((__u16)th[2] << 8) | th[3], off, skb->len - off, egress, cookie, NULL);
}

/* A UDP datagram: its flow, its owner, DNS capture. sk is the full socket
 * (or NULL). */
static __always_inline void account_udp(struct __sk_buff *skb, struct bpf_sock *sk, bool egress)
{
	struct gs_udp_key key = {};
	struct gs_udp_flow *f, nf = {};
	struct udp_owner_rec *o = NULL;
	struct udp_pkt p = {};
	struct gs_stats *st;
	__u16 ports[2], sport, dport;
	__u64 payload, dgrams, now;

	if (udp_pkt_parse_ip(skb, &p, IPPROTO_UDP))
		return;
	if (bpf_skb_load_bytes(skb, p.hlen, ports, sizeof(ports)))
		return;
	key.netns_cookie = gs_skb_net_key(skb);
	if (!gs_in_scope(key.netns_cookie))
		return;
	key.family = p.family;
	__builtin_memcpy(key.laddr, egress ? p.saddr : p.daddr, GS_ADDR_LEN);
	__builtin_memcpy(key.raddr, egress ? p.daddr : p.saddr, GS_ADDR_LEN);
	sport = bpf_ntohs(ports[0]);
	dport = bpf_ntohs(ports[1]);
	key.lport = egress ? sport : dport;
	key.rport = egress ? dport : sport;

	/* Egress runs in the sender's udp_sendmsg: the current task owns the
	 * socket. Ingress runs in softirq: only the socket's record is. */
	if (sk)
		o = egress ? udp_owner_refresh(sk) : udp_owner_get(sk);

	/* A UDP GSO skb carries gso_segs datagrams behind one header. */
	dgrams = skb->gso_segs > 1 ? skb->gso_segs : 1;
	payload = skb->len > p.hlen + 8 ? skb->len - p.hlen - 8 : 0;
	now = bpf_ktime_get_ns();

	st = udp_stats_get();
	if (!st)
		return;
	STAT_ADD(st, egress ? GS_C_UDP_BYTES_SENT : GS_C_UDP_BYTES_RECEIVED, payload);
	STAT_ADD(st, egress ? GS_C_UDP_DGRAMS_SENT : GS_C_UDP_DGRAMS_RECEIVED, dgrams);
	if (dns_capture && payload > 0 && (sport == DNS_PORT || dport == DNS_PORT))
		dns_emit(&events, ringbuf_wakeup_bytes, skb, st, &p, sport, dport, p.hlen + 8,
			 payload, egress, key.netns_cookie, o);

	f = bpf_map_lookup_elem(&udp_flows, &key);
	if (!f) {
		/* A new flow sent by the owner names it as it is called now
		 * (renamed since the socket's creation or last new flow); a
		 * flow keeps its first name while it lives. On kernels whose
		 * cgroup_skb has no current task (gs_skb_has_pid off), the
		 * name recorded at socket creation stands. */
		if (o && egress && gs_skb_has_pid && udp_owner_leader_comm)
			udp_owner_name_current(o);
		nf.first_ns = now;
		nf.last_ns = now;
		if (egress) {
			nf.bytes_sent = payload;
			nf.dgrams_sent = dgrams;
			nf.flags = GS_UF_EGRESS_FIRST;
		} else {
			nf.bytes_received = payload;
			nf.dgrams_received = dgrams;
		}
		if (o) {
			flow_set_owner(&nf, o);
			nf.flags |= GS_UF_OWNER;
		}
		if (!bpf_map_update_elem(&udp_flows, &key, &nf, BPF_NOEXIST)) {
			STAT_INC(st, GS_C_UDP_FLOWS);
			if (!o)
				STAT_INC(st, GS_C_UDP_OWNER_UNKNOWN);
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
	/* Created without an owner (socket opened before the agent, first
	 * datagram received): take it as soon as one is known. */
	if (o && !(f->flags & GS_UF_OWNER)) {
		flow_set_owner(f, o);
		f->flags |= GS_UF_OWNER;
	}
	if (egress) {
		__sync_fetch_and_add(&f->bytes_sent, payload);
		__sync_fetch_and_add(&f->dgrams_sent, dgrams);
	} else {
		__sync_fetch_and_add(&f->bytes_received, payload);
		__sync_fetch_and_add(&f->dgrams_received, dgrams);
	}
}

/* Most packets are TCP: leave on the owning socket's protocol, a context
 * load, before touching packet bytes or the stack (the UDP path's zeroed
 * keys); port 53 sockets (DNS over TCP) take one more pair of compares. */
static __always_inline void account(struct __sk_buff *skb, bool egress)
{
	struct bpf_sock *sk = skb->sk;

	if (sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk && sk->protocol != IPPROTO_UDP) {
			if (dns_capture &&
			    (sk->src_port == DNS_PORT || sk->dst_port == bpf_htons(DNS_PORT)))
				dns_tcp(skb, egress);
			return;
		}
	}
	account_udp(skb, sk, egress);
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

/* Process context, once per UDP socket in scope: the creator owns it until
 * another process sends on it. Every other socket leaves at one compare. */
SEC("cgroup/sock_create")
int handle_udp_sock_create(struct bpf_sock *sk)
{
	struct udp_owner_rec *o;

	if (sk->protocol != IPPROTO_UDP)
		return 1;
	/* Where the scope is a netns inode (compat.bpf.h), every UDP socket
	 * gets its record: harmless, the flows still check their scope. */
	if (!gs_netns_by_ino && !gs_in_scope(bpf_get_netns_cookie(sk)))
		return 1;
	o = bpf_sk_storage_get(&udp_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o)
		udp_owner_set_current(o, bpf_get_current_pid_tgid() >> 32);
	return 1;
}

/*
 * Owners of the UDP sockets open before start, in two steps (user space runs
 * each iterator to EOF once, after attaching handle_udp_sock_create):
 *
 *  1. seed_udp_owners (task_file, every task on the host) notes the first
 *     process found holding each UDP socket in scope, by socket address, in
 *     udp_seed. It cannot write the socket storage itself: the socket it
 *     reaches through bpf_sock_from_file() is an untrusted pointer on newer
 *     kernels (6.18 refuses it in bpf_sk_storage_get).
 *  2. seed_udp_apply (udp iterator, one per network namespace in scope)
 *     gets each socket as a pointer the verifier trusts, and gives it the
 *     noted owner unless it already has one.
 *
 * Step 1 writes one byte per socket it could not note (udp_seed full), step
 * 2 one per socket it named: user space counts what it reads.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536); /* user space sets it to max_udp_flows */
	__type(key, __u64);	    /* the struct sock's address */
	__type(value, struct task_sock_owner);
} udp_seed SEC(".maps");

SEC("iter/task_file")
int seed_udp_owners(struct bpf_iter__task_file *ctx)
{
	struct task_sock_owner o = {};
	struct sock *sk = task_sock_get(ctx, IPPROTO_UDP, &o);
	__u64 key = (__u64)sk;
	long err;

	if (!sk)
		return 0;
	/* The first holder found stays (BPF_NOEXIST). */
	err = bpf_map_update_elem(&udp_seed, &key, &o, BPF_NOEXIST);
	if (err && err != -EEXIST)
		bpf_seq_write(ctx->meta->seq, "f", 1);
	return 0;
}

SEC("iter/udp")
int seed_udp_apply(struct bpf_iter__udp *ctx)
{
	struct sock *sk = (struct sock *)ctx->udp_sk;
	struct task_sock_owner *seed;
	struct udp_owner_rec *o;
	__u64 key;

	if (!sk)
		return 0;
	key = (__u64)sk;
	seed = bpf_map_lookup_elem(&udp_seed, &key);
	if (!seed)
		return 0;
	o = bpf_sk_storage_get(&udp_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o && !o->pid) {
		o->cgroup_id = seed->cgroup_id;
		__builtin_memcpy(o->comm, seed->comm, sizeof(o->comm));
		o->pid = seed->pid;
		bpf_seq_write(ctx->meta->seq, "s", 1);
	}
	bpf_map_delete_elem(&udp_seed, &key);
	return 0;
}
