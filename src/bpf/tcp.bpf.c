// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * TCP probe family: connection lifecycle from stable tracepoints.
 *
 * Per-connection state lives in `conns`, a preallocated hash keyed by the
 * socket address (a preallocated hash beat socket storage on the connection
 * storm: no allocation per socket). Aggregates (counters, histograms) are
 * added in the kernel at state changes into a per-CPU array; payload bytes,
 * RTT and retransmits are read from tcp_sock once, at CLOSE. Open connections
 * are summed in batches by `refresh_live`, which user space runs on demand.
 * One ring-buffer record per connection, submitted without a wakeup unless the
 * buffer is filling up.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define ECONNRESET  104
#define EPIPE	    32

/* Wake the reader early once this much is waiting (set before load). */
const volatile __u64 ringbuf_wakeup_bytes = 256 * 1024;
/* An open connection whose payload counters did not move for this long is idle. */
const volatile __u64 idle_timeout_ns = 30000000000ULL;

struct listen_key {
	__u64 netns_cookie;
	__u16 port;
	__u16 pad[3];
};

struct owner {
	__u32 pid;
	__u32 pad;
	char comm[GS_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized from the config before load */
	__type(key, __u64);
	__type(value, struct gs_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct owner);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_live);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized from the config before load */
} events SEC(".maps");

static __always_inline struct gs_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/* Direct loads: tp_btf arguments are BTF pointers the verifier lets us walk
 * (CO-RE relocated, faults become zeroes), cheaper than probe_read calls. */
static __always_inline __u64 sk_netns_cookie(const struct sock *sk)
{
	return sk->__sk_common.skc_net.net->net_cookie;
}

/* Addresses, ports, family and netns of a socket into a connection record. */
static __always_inline void fill_tuple(struct gs_conn *c, const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	c->family = family;
	c->sport = sk->__sk_common.skc_num;
	c->dport = __builtin_bswap16(sk->__sk_common.skc_dport);
	c->netns_ino = sk->__sk_common.skc_net.net->ns.inum;
	if (family == AF_INET6) {
		c->flags |= GS_CF_IPV6;
		BPF_CORE_READ_INTO(&c->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&c->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		*(__u32 *)c->saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)c->daddr = sk->__sk_common.skc_daddr;
	}
}

/* Final figures of a closing socket, read from tcp_sock. Payload sent is
 * bytes_sent minus retransmitted bytes (neither counts SYN or FIN); bytes_received
 * counts the FIN's sequence number once tcp_fin() ran (SOCK_DONE), so it is
 * taken off again. */
static __always_inline void read_tcp_counters(struct gs_conn *c, const struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	unsigned long sk_flags;
	__u64 rcvd;

	if (!tp)
		return;
	c->bytes_sent = tp->bytes_sent - tp->bytes_retrans;
	rcvd = tp->bytes_received;
	sk_flags = sk->__sk_common.skc_flags;
	if ((sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && rcvd > 0) {
		rcvd -= 1;
		c->flags |= GS_CF_FIN_RECEIVED;
	}
	c->bytes_received = rcvd;
	c->srtt_us = tp->srtt_us >> 3;
	c->min_rtt_us = tp->rtt_min.s[0].v;
	c->total_retrans = tp->total_retrans;
}

static __always_inline void emit(struct gs_stats *st, __u64 id, __u32 type, const struct gs_conn *c)
{
	struct gs_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!ev) {
		STAT_INC(st, GS_C_EVENTS_LOST);
		return;
	}
	ev->sock_id = id;
	ev->type = type;
	ev->pad = 0;
	__builtin_memcpy(&ev->conn, c, sizeof(*c));
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= ringbuf_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
	STAT_INC(st, GS_C_EVENTS_SUBMITTED);
}

static __always_inline void on_open(struct gs_stats *st, const struct sock *sk, __u64 cookie,
				    bool active)
{
	struct gs_conn c = {};
	__u64 key = (__u64)sk;

	c.start_ns = bpf_ktime_get_ns();
	c.netns_cookie = cookie;
	if (active) {
		c.flags = GS_CF_ACTIVE;
		c.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(c.comm, sizeof(c.comm));
		STAT_INC(st, GS_C_TCP_ACTIVE_OPENS);
	} else {
		/* Runs in softirq: the owner is whoever called listen() on
		 * this port, not the interrupted task. */
		struct listen_key lk = {
			.netns_cookie = cookie,
			.port = BPF_CORE_READ(sk, __sk_common.skc_num),
		};
		struct owner *o = bpf_map_lookup_elem(&listeners, &lk);

		c.flags = GS_CF_PASSIVE;
		if (o) {
			c.pid = o->pid;
			__builtin_memcpy(c.comm, o->comm, sizeof(c.comm));
		}
		STAT_INC(st, GS_C_TCP_PASSIVE_OPENS);
	}
	if (bpf_map_update_elem(&conns, &key, &c, BPF_ANY))
		STAT_INC(st, GS_C_CONN_MAP_FULL);
}

static __always_inline void on_established(struct gs_stats *st, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct gs_conn *c = bpf_map_lookup_elem(&conns, &key);
	__u64 now = bpf_ktime_get_ns();

	STAT_INC(st, GS_C_TCP_ESTABLISHED);
	if (!c) {
		STAT_INC(st, GS_C_TCP_ESTABLISHED_UNTRACKED);
		return;
	}
	c->established_ns = now;
	c->last_active_ns = now;
	fill_tuple(c, sk);
	__sync_fetch_and_or(&c->flags, GS_CF_ESTABLISHED);
	if (c->flags & GS_CF_ACTIVE)
		gs_hist_observe(st, GS_H_CONNECT, now - c->start_ns);
}

static __always_inline bool was_synchronized(int oldstate)
{
	switch (oldstate) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		return true;
	default:
		return false;
	}
}

/* A connect that failed (errno in sk_err, set before tcp_done()) or a passive
 * handshake that was aborted. c is the tracked entry or a stack record. */
static __noinline void close_unsynchronized(struct gs_stats *st, const struct sock *sk,
					    struct gs_conn *c, __u64 key)
{
	int err = sk->sk_err;
	__u32 slot = err;
	__u16 sport = c->sport;

	fill_tuple(c, sk);
	if (!c->sport)
		c->sport = sport;
	read_tcp_counters(c, sk);
	c->err = err;
	c->end_ns = bpf_ktime_get_ns();
	c->flags |= GS_CF_FAILED | GS_CF_CLOSED;
	STAT_ADD(st, GS_C_TCP_RETRANS, c->total_retrans);
	if (c->flags & GS_CF_ACTIVE) {
		STAT_INC(st, GS_C_TCP_FAILED);
		if (slot >= GS_MAX_ERRNO)
			slot = GS_MAX_ERRNO - 1;
		gs_barrier_var(slot);
		if (slot < GS_MAX_ERRNO)
			__sync_fetch_and_add(&st->failed_errno[slot], 1);
	} else {
		STAT_INC(st, GS_C_TCP_PASSIVE_ABORTED);
	}
	emit(st, key, GS_EV_FAILED, c);
}

/* An established connection reached CLOSE: final figures into the
 * aggregates. tracked says whether c is the map entry (kept until the socket
 * is destroyed) or a stack record for an untracked socket. */
static __noinline void close_synchronized(struct gs_stats *st, const struct sock *sk,
					  struct gs_conn *c, __u64 key, bool tracked)
{
	__u64 now = bpf_ktime_get_ns();
	bool reset;
	int err;

	read_tcp_counters(c, sk);
	c->end_ns = now;
	STAT_INC(st, GS_C_TCP_CLOSED);
	STAT_ADD(st, GS_C_TCP_BYTES_SENT, c->bytes_sent);
	STAT_ADD(st, GS_C_TCP_BYTES_RECEIVED, c->bytes_received);
	STAT_ADD(st, GS_C_TCP_RETRANS, c->total_retrans);
	if (c->srtt_us) {
		STAT_INC(st, GS_C_RTT_SAMPLES);
		gs_hist_observe(st, GS_H_RTT, (__u64)c->srtt_us * 1000);
	}
	if (c->established_ns)
		gs_hist_observe(st, GS_H_DURATION, now - c->established_ns);

	/* A RST received was flagged by tcp_receive_reset; untracked sockets
	 * fall back to the errno tcp_reset() stores before tcp_done(). A RST
	 * we send while aborting comes after CLOSE: see on_send_reset(). */
	if (tracked) {
		reset = c->flags & (GS_CF_RST_RECEIVED | GS_CF_RST_SENT);
	} else {
		err = sk->sk_err;
		reset = err == ECONNRESET || err == EPIPE;
	}
	if (reset) {
		STAT_INC(st, GS_C_TCP_RESET_CLOSED);
		c->flags |= GS_CF_RESET_COUNTED;
	}
	if (!tracked) {
		STAT_INC(st, GS_C_TCP_CLOSED_UNTRACKED);
		c->flags |= GS_CF_CLOSED | GS_CF_ESTABLISHED;
		emit(st, key, GS_EV_CLOSE, c);
		return;
	}
	/* Keep the entry until the socket is destroyed: an aborting close()
	 * sends its RST after this transition. */
	__sync_fetch_and_or(&c->flags, GS_CF_CLOSED);
}

static __always_inline void on_close(struct gs_stats *st, const struct sock *sk, __u64 cookie,
				     int oldstate)
{
	__u64 key = (__u64)sk;
	struct gs_conn *c = bpf_map_lookup_elem(&conns, &key);
	struct gs_conn tmp = {};

	if (!was_synchronized(oldstate)) {
		if (c) {
			close_unsynchronized(st, sk, c, key);
			bpf_map_delete_elem(&conns, &key);
		} else {
			tmp.netns_cookie = cookie;
			tmp.flags = oldstate == TCP_SYN_SENT ? GS_CF_ACTIVE : GS_CF_PASSIVE;
			close_unsynchronized(st, sk, &tmp, key);
		}
		return;
	}
	if (c) {
		close_synchronized(st, sk, c, key, true);
	} else {
		/* Not tracked (map full, or opened before we attached): the
		 * aggregates stay exact, the record is built from the socket. */
		tmp.netns_cookie = cookie;
		fill_tuple(&tmp, sk);
		close_synchronized(st, sk, &tmp, key, false);
	}
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	struct gs_stats *st;
	__u64 cookie;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	cookie = sk_netns_cookie(sk);
	if (!gs_in_scope(cookie))
		return 0;
	st = stats_get();
	if (!st)
		return 0;

	switch (newstate) {
	case TCP_SYN_SENT:
		on_open(st, sk, cookie, true);
		break;
	case TCP_SYN_RECV:
		if (oldstate == TCP_LISTEN)
			on_open(st, sk, cookie, false);
		break;
	case TCP_ESTABLISHED:
		on_established(st, sk);
		break;
	case TCP_LISTEN: {
		/* listen() runs in the owner's context: remember it for the
		 * children created later in softirq. */
		struct listen_key lk = {
			.netns_cookie = cookie,
			.port = sk->__sk_common.skc_num,
		};
		struct owner o = { .pid = bpf_get_current_pid_tgid() >> 32 };

		bpf_get_current_comm(o.comm, sizeof(o.comm));
		if (bpf_map_update_elem(&listeners, &lk, &o, BPF_ANY))
			STAT_INC(st, GS_C_LISTEN_MAP_FULL);
		break;
	}
	case TCP_CLOSE:
		if (oldstate == TCP_LISTEN) {
			struct listen_key lk = {
				.netns_cookie = cookie,
				.port = sk->__sk_common.skc_num,
			};

			bpf_map_delete_elem(&listeners, &lk);
		} else if (oldstate != TCP_CLOSE) {
			on_close(st, sk, cookie, oldstate);
		}
		break;
	}
	return 0;
}

/* Count a RST we send. sk is NULL when no socket matched the segment, a
 * timewait or request socket, or a full socket (possibly already in CLOSE
 * when close() aborts a connection). */
static __always_inline int on_send_reset(const struct sock *sk, const struct sk_buff *skb,
					 __u32 reason)
{
	struct gs_stats *st;
	struct gs_conn *c;
	__u64 cookie, key;
	__u8 state;

	if (sk)
		cookie = sk_netns_cookie(sk);
	else if (skb)
		cookie = skb->dev->nd_net.net->net_cookie;
	else
		return 0;
	if (!gs_in_scope(cookie))
		return 0;
	st = stats_get();
	if (!st)
		return 0;
	STAT_INC(st, GS_C_TCP_RST_SENT);
	if (reason >= GS_MAX_RST_REASON)
		reason = GS_MAX_RST_REASON - 1;
	gs_barrier_var(reason);
	if (reason < GS_MAX_RST_REASON)
		__sync_fetch_and_add(&st->rst_sent_reason[reason], 1);
	if (!sk)
		return 0;
	state = sk->__sk_common.skc_state;
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return 0;
	key = (__u64)sk;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	c->reset_reason = reason;
	__sync_fetch_and_or(&c->flags, GS_CF_RST_SENT);
	if ((c->flags & (GS_CF_CLOSED | GS_CF_ESTABLISHED | GS_CF_FAILED | GS_CF_RESET_COUNTED)) ==
	    (GS_CF_CLOSED | GS_CF_ESTABLISHED)) {
		__sync_fetch_and_or(&c->flags, GS_CF_RESET_COUNTED);
		STAT_INC(st, GS_C_TCP_RESET_CLOSED);
	}
	return 0;
}

/* 6.10+: the kernel passes its reason (enum sk_rst_reason). */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(handle_tcp_send_reset, const struct sock *sk, const struct sk_buff *skb,
	     enum sk_rst_reason reason)
{
	return on_send_reset(sk, skb, reason);
}

/* Before 6.10 the tracepoint has no reason: reported as not_specified. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(handle_tcp_send_reset_noreason, const struct sock *sk, const struct sk_buff *skb)
{
	return on_send_reset(sk, skb, 0);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(handle_tcp_receive_reset, struct sock *sk)
{
	struct gs_stats *st;
	struct gs_conn *c;
	__u64 key = (__u64)sk;
	__u8 state = sk->__sk_common.skc_state;

	if (state == TCP_CLOSE || !gs_in_scope(sk_netns_cookie(sk)))
		return 0;
	/* In SYN_SENT a RST refuses the connect: a failure, not a reset. The
	 * local port is still bound here (CLOSE releases it), so take the
	 * tuple now for the failure record. */
	if (state == TCP_SYN_SENT) {
		c = bpf_map_lookup_elem(&conns, &key);
		if (c)
			fill_tuple(c, sk);
		return 0;
	}
	st = stats_get();
	if (!st)
		return 0;
	STAT_INC(st, GS_C_TCP_RST_RECEIVED);
	c = bpf_map_lookup_elem(&conns, &key);
	if (c)
		__sync_fetch_and_or(&c->flags, GS_CF_RST_RECEIVED);
	return 0;
}

/* The socket is freed after this: submit its record and forget it. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(handle_tcp_destroy_sock, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct gs_conn *c = bpf_map_lookup_elem(&conns, &key);
	struct gs_stats *st;

	if (!c)
		return 0;
	st = stats_get();
	if (st && (c->flags & GS_CF_CLOSED))
		emit(st, key, GS_EV_CLOSE, c);
	bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* ==== Seeding: connections already open when the agent starts ==== */

/* Run once per network namespace at start (bpf_iter over that namespace's
 * TCP sockets): synchronized connections get an entry, so their close is a
 * tracked close and the open gauge counts them from the first scrape. An
 * entry created meanwhile by a state change is never overwritten. */
SEC("iter/tcp")
int seed_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct gs_conn c = {};
	struct gs_stats *st;
	struct tcp_sock *tp;
	struct sock *sk;
	__u64 key, cookie;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	if (!was_synchronized(sk->__sk_common.skc_state))
		return 0;
	cookie = sk_netns_cookie(sk);
	if (!gs_in_scope(cookie))
		return 0;
	st = stats_get();
	if (!st)
		return 0;
	key = (__u64)sk;
	c.netns_cookie = cookie;
	c.flags = GS_CF_ESTABLISHED | GS_CF_SEEDED;
	c.last_active_ns = bpf_ktime_get_ns();
	fill_tuple(&c, sk);
	if (!bpf_map_update_elem(&conns, &key, &c, BPF_NOEXIST))
		STAT_INC(st, GS_C_TCP_SEEDED);
	return 0;
}

/* ==== Live refresh: run by user space through BPF_PROG_TEST_RUN ==== */

static long refresh_one(struct bpf_map *map, __u64 *key, struct gs_conn *c, struct gs_live *acc)
{
	struct sock *sk = (struct sock *)*key;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	unsigned long sk_flags;
	__u64 sent, rcvd;
	__u8 state;

	acc->entries += 1;
	if ((c->flags & (GS_CF_ESTABLISHED | GS_CF_CLOSED)) != GS_CF_ESTABLISHED)
		return 0;
	/* The entry may race with the socket's close: only an open state
	 * is trusted, and close() deletes nothing we have not yet summed. */
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == TCP_CLOSE || state == TCP_LISTEN || state == TCP_SYN_SENT)
		return 0;
	sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
	rcvd = BPF_CORE_READ(tp, bytes_received);
	sk_flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	if ((sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && rcvd > 0)
		rcvd -= 1;
	if (sent != c->bytes_sent || rcvd != c->bytes_received)
		c->last_active_ns = acc->run_ns;
	else if (acc->run_ns - c->last_active_ns >= idle_timeout_ns)
		acc->idle += 1;
	c->bytes_sent = sent;
	c->bytes_received = rcvd;
	c->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	c->min_rtt_us = BPF_CORE_READ(tp, rtt_min.s[0].v);
	c->total_retrans = BPF_CORE_READ(tp, total_retrans);
	acc->bytes_sent += sent;
	acc->bytes_received += rcvd;
	acc->retrans += c->total_retrans;
	acc->conns += 1;
	return 0;
}

SEC("raw_tp")
int refresh_live(void *ctx)
{
	struct gs_live acc = { .run_ns = bpf_ktime_get_ns() };
	__u32 zero = 0;

	bpf_for_each_map_elem(&conns, refresh_one, &acc, 0);
	bpf_map_update_elem(&live, &zero, &acc, BPF_ANY);
	return 0;
}
