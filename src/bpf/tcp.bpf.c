// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * TCP probe family: connection lifecycle from stable tracepoints.
 *
 * Per-connection state lives in `conns`, a preallocated hash keyed by the
 * socket address from the first state change to CLOSE (a preallocated hash beat socket storage on the connection
 * storm: no allocation per socket). Aggregates (counters, histograms) are
 * added in the kernel at state changes into a per-CPU array; payload bytes,
 * RTT and retransmits are read from tcp_sock once, at CLOSE. Open connections
 * are summed in batches by `refresh_live`, which user space runs on demand.
 * One ring-buffer record per connection, submitted without a wakeup unless the
 * buffer is filling up. Owners: the connecting task (active), the listener's
 * owner for passive children until accept() returns them, then the accepting
 * task (syscall exit tracepoints); for connections and listeners open at
 * start, the first process found holding them (seed_tcp_owners).
 *
 * Names: the thread-group leader's comm (comm.bpf.h), what /proc/PID/comm
 * shows, read in process context at connect(), listen() and accept(). A
 * connection keeps the name it opened with until its close: its flow series
 * is chosen when it is first seen, so a process that renames itself between
 * two connections has two series, and one that renames itself in the middle
 * of a connection leaves that connection in its first series. Nothing is
 * read at CLOSE (often softirq, where the current task is not the owner);
 * there is no per-send hook, so a rename between accept() and the first
 * send counts as a rename in the middle of the connection.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"
#include "compat.bpf.h"
#include "task_sock.bpf.h"
#include "comm.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6
#define ECONNRESET  104
#define EPIPE	    32
#define EEXIST	    17

/* Wake the reader early once this much is waiting (set before load). */
const volatile __u64 ringbuf_wakeup_bytes = 256 * 1024;
/* An open connection whose payload counters did not move for this long is idle. */
const volatile __u64 idle_timeout_ns = 30000000000ULL;
/* Tests only (GESPANN_FAULT_SKIP_TRANSITIONS, probes/tcp.c): skip the
 * ESTABLISHED and the CLOSE of every Nth tracked connection, as the kernel
 * does when it skips a run, so that their recovery can be checked. 0 (the
 * default) is a constant the verifier prunes: no cost. */
const volatile __u32 fault_skip_every = 0;
__u32 fault_established_seen, fault_close_seen;

static __always_inline bool fault_skip(__u32 *seen)
{
	__u32 n;

	if (!fault_skip_every)
		return false;
#ifdef GS_LEGACY /* no fetching atomics before 5.12: a test may count loosely */
	n = *seen + 1;
	*seen = n;
#else
	n = __sync_fetch_and_add(seen, 1) + 1;
#endif
	return n % fault_skip_every == 0;
}

struct listen_key {
	__u64 netns_cookie;
	__u16 port;
	__u16 pad[3];
};

struct owner {
	__u64 cgroup_id;
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

GS_STATS_MAP(stats);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_live);
} live SEC(".maps");

GS_EVENTS_MAP(); /* resized from the config before load */

static __always_inline struct gs_stats *stats_get(void)
{
	return gs_stats_this_cpu(&stats);
}

/* Direct loads: tp_btf arguments are BTF pointers the verifier lets us walk
 * (CO-RE relocated, faults become zeroes), cheaper than probe_read calls. */
static __always_inline __u64 sk_netns_cookie(const struct sock *sk)
{
	return gs_net_key_btf(sk->__sk_common.skc_net.net);
}

/* The state-change program's scope test: with a target namespace, its
 * identity is the cookie of every socket in scope, so nothing more is read
 * later; with none (every namespace), nothing is read here and the paths
 * that need the cookie (opens, listeners, untracked closes) read it then. */
static __always_inline bool sk_in_scope(const struct sock *sk)
{
	return target_netns == 0 || sk_netns_cookie(sk) == target_netns;
}

static __always_inline __u64 sk_scoped_cookie(const struct sock *sk)
{
	return target_netns ? target_netns : sk_netns_cookie(sk);
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
		for (int i = 0; i < 4; i++) {
			((__u32 *)c->saddr)[i] =
				sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			((__u32 *)c->daddr)[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
		}
	} else {
		*(__u32 *)c->saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)c->daddr = sk->__sk_common.skc_daddr;
	}
}

/* Figures of a TCP socket. Payload sent is bytes_sent minus retransmitted
 * bytes (neither counts SYN or FIN); bytes_received counts the FIN's
 * sequence number once tcp_fin() ran (SOCK_DONE), so it is taken off again. */
struct tcp_figs {
	__u64 sent;
	__u64 rcvd;
	__u32 retrans;
	__u32 srtt_us;
	__u32 min_rtt_us;
	__u32 fin;
};

/* Direct loads, for the tp_btf programs. */
static __always_inline bool tcp_figs_read(const struct sock *sk, struct tcp_figs *f)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	unsigned long sk_flags;

	if (!tp)
		return false;
	f->sent = tp->bytes_sent - tp->bytes_retrans;
	f->rcvd = tp->bytes_received;
	sk_flags = sk->__sk_common.skc_flags;
	f->fin = !!(sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE)));
	if (f->fin && f->rcvd > 0)
		f->rcvd -= 1;
	f->srtt_us = tp->srtt_us >> 3;
	f->min_rtt_us = tp->rtt_min.s[0].v;
	f->retrans = tp->total_retrans;
	return true;
}

/* Fold the growth since the last report into the counters. The exchange
 * makes a refresh racing with the close count every byte once; a reading
 * that went back (bytes_received counting a FIN before tcp_fin() set
 * SOCK_DONE) is undone through the correction counter. */
static __always_inline void fold(struct gs_stats *st, __u64 *reported, __u64 cur, int idx,
				 int corr_idx)
{
	__u64 old = GS_XCHG(reported, cur);

	if (cur > old)
		STAT_ADD(st, idx, cur - old);
	else if (cur < old)
		STAT_ADD(st, corr_idx, old - cur);
}

static __always_inline void fold32(struct gs_stats *st, __u32 *reported, __u32 cur, int idx)
{
	__u32 old = GS_XCHG(reported, cur);

	if (cur > old)
		STAT_ADD(st, idx, cur - old);
}

/* Final figures of a closing socket into its record and the counters. */
static __always_inline void account_final(struct gs_stats *st, struct gs_conn *c,
					  const struct sock *sk)
{
	struct tcp_figs f = {};

	if (!tcp_figs_read(sk, &f))
		return;
	fold(st, &c->bytes_sent, f.sent, GS_C_TCP_BYTES_SENT, GS_C_TCP_BYTES_SENT_CORR);
	fold(st, &c->bytes_received, f.rcvd, GS_C_TCP_BYTES_RECEIVED, GS_C_TCP_BYTES_RECEIVED_CORR);
	fold32(st, &c->total_retrans, f.retrans, GS_C_TCP_RETRANS);
	c->srtt_us = f.srtt_us;
	c->min_rtt_us = f.min_rtt_us;
	if (f.fin)
		c->flags |= GS_CF_FIN_RECEIVED;
}

static __always_inline void emit(struct gs_stats *st, __u64 id, __u32 type, const struct gs_conn *c)
{
	struct gs_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!ev) {
		STAT_INC(st, GS_C_EVENTS_LOST);
		return;
	}
	ev->hdr.type = type;
	ev->hdr.size = sizeof(*ev);
	ev->sock_id = id;
	__builtin_memcpy(&ev->conn, c, sizeof(*c));
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= ringbuf_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
	STAT_INC(st, GS_C_EVENTS_SUBMITTED);
}

/*
 * A CLOSE the state-change program never saw. The kernel skips a run of a
 * program that is already running on that CPU (a softirq's state change
 * landing on a run in process context; gespann_bpf_recursion_misses_total),
 * and the entry would stay: its connection open in the gauge for good. Found
 * by refresh_one (the socket in CLOSE on two passes) or when the socket's
 * memory comes back as a new connection or a listener (TCP sockets are
 * SLAB_TYPESAFE_BY_RCU: the address stays a TCP socket). The figures of the
 * last refresh are its final ones. The delete decides who accounts it, so a
 * close racing with a recovery counts once. A connection that never
 * established leaves without a record: nothing in the gauge counted it.
 */
/* The accounting of recover_close once it holds the figures: false when
 * there is no record to send (gone meanwhile, or flagged closed: its close
 * ran and is deleting it, and accounts it; or never established). */
static __always_inline bool recover_take(struct gs_stats *st, __u64 key, __u32 flags, __u64 est_ns,
					 __u32 srtt_us, __u64 now)
{
	if (bpf_map_delete_elem(&conns, &key) || (flags & GS_CF_CLOSED))
		return false;
	STAT_INC(st, GS_C_TCP_CLOSE_RECOVERED);
	if (!(flags & GS_CF_ESTABLISHED))
		return false;
	STAT_INC(st, GS_C_TCP_CLOSED);
	if (srtt_us) {
		STAT_INC(st, GS_C_RTT_SAMPLES);
		gs_hist_observe(st, GS_H_RTT, (__u64)srtt_us * 1000);
	}
	if (est_ns && now > est_ns)
		gs_hist_observe(st, GS_H_DURATION, now - est_ns);
	if (flags & (GS_CF_RST_RECEIVED | GS_CF_RST_SENT))
		STAT_INC(st, GS_C_TCP_RESET_CLOSED);
	return true;
}

/* Each path that reserved a record ends it right there: the verifiers of
 * 5.10 and 6.1 lose a reservation tested twice for NULL. */
static __noinline void recover_close(struct gs_stats *st, __u64 key)
{
	struct gs_conn *c = bpf_map_lookup_elem(&conns, &key);
	__u64 now = bpf_ktime_get_ns();
	struct gs_event *ev;
	__u64 est_ns;
	__u32 flags, srtt_us;

	if (!c)
		return;
	flags = c->flags;
	est_ns = c->established_ns;
	srtt_us = c->srtt_us;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		if (recover_take(st, key, flags, est_ns, srtt_us, now))
			STAT_INC(st, GS_C_EVENTS_LOST);
		return;
	}
	ev->hdr.type = GS_EV_CLOSE;
	ev->hdr.size = sizeof(*ev);
	ev->sock_id = key;
	__builtin_memcpy(&ev->conn, c, sizeof(*c));
	if (!recover_take(st, key, flags, est_ns, srtt_us, now)) {
		bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);
		return;
	}
	flags |= GS_CF_CLOSED;
	if (flags & (GS_CF_RST_RECEIVED | GS_CF_RST_SENT))
		flags |= GS_CF_RESET_COUNTED;
	ev->conn.flags = flags;
	ev->conn.end_ns = now;
	bpf_ringbuf_submit(ev, 0);
	STAT_INC(st, GS_C_EVENTS_SUBMITTED);
}

/* An ESTABLISHED whose run was skipped (see recover_close), found by a
 * refresh pass or at the close: counted now, or the open gauge would stay
 * one below. The flag decides who counts it. */
static __noinline void recover_established(struct gs_stats *st, struct gs_conn *c)
{
#ifdef GS_LEGACY
	__u32 old = c->flags;

	c->flags = old | GS_CF_ESTABLISHED;
#else
	__u32 old = __sync_fetch_and_or(&c->flags, GS_CF_ESTABLISHED);
#endif

	if (old & GS_CF_ESTABLISHED)
		return;
	STAT_INC(st, GS_C_TCP_ESTABLISHED);
	STAT_INC(st, GS_C_TCP_ESTABLISHED_RECOVERED);
}

static __always_inline void on_open(struct gs_stats *st, const struct sock *sk, bool active)
{
	__u64 cookie = sk_scoped_cookie(sk);
	struct gs_conn c = {};
	__u64 key = (__u64)sk;

	c.start_ns = bpf_ktime_get_ns();
	c.netns_cookie = cookie;
	if (active) {
		c.flags = GS_CF_ACTIVE;
		c.pid = bpf_get_current_pid_tgid() >> 32;
		c.cgroup_id = bpf_get_current_cgroup_id();
		gs_leader_comm_tracing(c.comm);
		STAT_INC(st, GS_C_TCP_ACTIVE_OPENS);
	} else {
		/* Runs in softirq: the owner is whoever called listen() on
		 * this port, not the interrupted task, until accept() names
		 * the process that took the connection (on_accept_exit). */
		struct listen_key lk = {
			.netns_cookie = cookie,
			.port = sk->__sk_common.skc_num,
		};
		struct owner *o = bpf_map_lookup_elem(&listeners, &lk);

		c.flags = GS_CF_PASSIVE;
		if (o) {
			c.pid = o->pid;
			c.cgroup_id = o->cgroup_id;
			__builtin_memcpy(c.comm, o->comm, sizeof(c.comm));
		}
		STAT_INC(st, GS_C_TCP_PASSIVE_OPENS);
	}
	/* The peer is known from here (the local port of a connect only
	 * after it, filled again at ESTABLISHED): opening connections count
	 * per destination in the open gauge, before they succeed or fail. */
	fill_tuple(&c, sk);
	if (!bpf_map_update_elem(&conns, &key, &c, BPF_NOEXIST))
		return;
	/* An entry already there is a connection whose CLOSE was missed. */
	recover_close(st, key);
	if (bpf_map_update_elem(&conns, &key, &c, BPF_NOEXIST))
		STAT_INC(st, GS_C_CONN_MAP_FULL);
}

static __always_inline void on_established(struct gs_stats *st, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct gs_conn *c = bpf_map_lookup_elem(&conns, &key);
	__u64 now = bpf_ktime_get_ns();

	if (c && fault_skip(&fault_established_seen))
		return;
	STAT_INC(st, GS_C_TCP_ESTABLISHED);
	if (!c) {
		STAT_INC(st, GS_C_TCP_ESTABLISHED_UNTRACKED);
		return;
	}
	c->established_ns = now;
	c->last_active_ns = now;
	GS_OR(&c->flags, GS_CF_ESTABLISHED);
	/* Addresses, family and namespace of a connect were set before
	 * SYN_SENT: what it adds after SYN_SENT is its local port
	 * (inet_hash_connect()). A passive child is read again whole: before
	 * 6.18 at least (5.10, 6.1, 6.12 in the kernel matrix) its SYN_RECV
	 * fires in inet_csk_clone_lock() while it still carries the
	 * listener's addresses (:: for a v4-mapped child of a :: listener). */
	if (c->flags & GS_CF_ACTIVE) {
		c->sport = sk->__sk_common.skc_num;
		gs_hist_observe(st, GS_H_CONNECT, now - c->start_ns);
	} else {
		fill_tuple(c, sk);
	}
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
	account_final(st, c, sk);
	c->err = err;
	c->end_ns = bpf_ktime_get_ns();
	c->flags |= GS_CF_FAILED | GS_CF_CLOSED;
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
 * aggregates and its record into the ring buffer. tracked says whether c is
 * the map entry (deleted by the caller) or a stack record for an untracked
 * socket. */
static __noinline void close_synchronized(struct gs_stats *st, const struct sock *sk,
					  struct gs_conn *c, int oldstate, bool tracked)
{
	__u64 key = (__u64)sk;
	__u64 now = bpf_ktime_get_ns();
	bool reset;
	int err;

	account_final(st, c, sk);
	c->end_ns = now;
	STAT_INC(st, GS_C_TCP_CLOSED);
	if (tracked && !(c->flags & GS_CF_ESTABLISHED))
		recover_established(st, c);
	if (c->srtt_us) {
		STAT_INC(st, GS_C_RTT_SAMPLES);
		gs_hist_observe(st, GS_H_RTT, (__u64)c->srtt_us * 1000);
	}
	if (c->established_ns)
		gs_hist_observe(st, GS_H_DURATION, now - c->established_ns);

	/* A RST received was flagged by tcp_receive_reset; untracked sockets
	 * fall back to the errno tcp_reset() stores before tcp_done(). A RST
	 * sent before CLOSE (tcp_abort) was flagged by on_send_reset(); one an
	 * aborting close() or disconnect() sends comes after CLOSE and is
	 * counted there. */
	err = sk->sk_err;
	if (tracked)
		reset = c->flags & (GS_CF_RST_RECEIVED | GS_CF_RST_SENT);
	else
		reset = err == ECONNRESET || err == EPIPE;
	if (reset) {
		STAT_INC(st, GS_C_TCP_RESET_CLOSED);
		c->flags |= GS_CF_RESET_COUNTED;
	} else if (!err && (oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT)) {
		/* Straight to CLOSE without an error: only an abort does
		 * that, and its RST follows. For the record only. */
		c->flags |= GS_CF_ABORTED;
	}
	if (!tracked)
		STAT_INC(st, GS_C_TCP_CLOSED_UNTRACKED);
	c->flags |= GS_CF_CLOSED | GS_CF_ESTABLISHED;
	emit(st, key, GS_EV_CLOSE, c);
}

/* CLOSE of a socket without an entry (map full, or opened before we
 * attached): the aggregates stay exact, the record is built from the
 * socket on the stack. Kept out of on_close, which then has no stack
 * record to clear on the tracked path. */
static __noinline void close_untracked(struct gs_stats *st, const struct sock *sk, int oldstate)
{
	struct gs_conn tmp = {};

	tmp.close_oldstate = oldstate;
	tmp.netns_cookie = sk_scoped_cookie(sk);
	if (!was_synchronized(oldstate)) {
		tmp.flags = oldstate == TCP_SYN_SENT ? GS_CF_ACTIVE : GS_CF_PASSIVE;
		close_unsynchronized(st, sk, &tmp, (__u64)sk);
		return;
	}
	fill_tuple(&tmp, sk);
	close_synchronized(st, sk, &tmp, oldstate, false);
}

static __always_inline void on_close(struct gs_stats *st, const struct sock *sk, int oldstate)
{
	__u64 key = (__u64)sk;
	struct gs_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c) {
		close_untracked(st, sk, oldstate);
		return;
	}
	if (fault_skip(&fault_close_seen))
		return;
	c->close_oldstate = oldstate;
	if (was_synchronized(oldstate))
		close_synchronized(st, sk, c, oldstate, true);
	else
		close_unsynchronized(st, sk, c, key);
	bpf_map_delete_elem(&conns, &key);
}

/* listen() runs in the owner's context: remember it for the children
 * created later in softirq. */
static __noinline void on_listen(struct gs_stats *st, const struct sock *sk)
{
	struct listen_key lk = {
		.netns_cookie = sk_scoped_cookie(sk),
		.port = sk->__sk_common.skc_num,
	};
	struct owner o = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.cgroup_id = bpf_get_current_cgroup_id(),
	};

	gs_leader_comm_tracing(o.comm);
	if (bpf_map_update_elem(&listeners, &lk, &o, BPF_ANY))
		STAT_INC(st, GS_C_LISTEN_MAP_FULL);
	/* The socket's memory may carry a connection whose CLOSE was missed. */
	recover_close(st, (__u64)sk);
}

static __noinline void on_listen_close(const struct sock *sk)
{
	struct listen_key lk = {
		.netns_cookie = sk_scoped_cookie(sk),
		.port = sk->__sk_common.skc_num,
	};

	bpf_map_delete_elem(&listeners, &lk);
}

/* The transitions we count, as a mask of newstate: the others (half-close
 * steps, TIME_WAIT, CLOSING) carry nothing and leave before any load. */
#define GS_TCP_STATES_SEEN                                                       \
	((1U << TCP_SYN_SENT) | (1U << TCP_SYN_RECV) | (1U << TCP_ESTABLISHED) | \
	 (1U << TCP_LISTEN) | (1U << TCP_CLOSE))

/*
 * Exits first, by how often they are taken: a connection goes through five
 * transitions on each side, two of them half-close steps (FIN_WAIT1/2 on the
 * closing side, CLOSE_WAIT/LAST_ACK on the other) that leave on newstate
 * alone; then the namespace scope (a single compare; no load at all when
 * every namespace is in scope); then the protocol. What is left reads the
 * counters and does one map operation: an insert at an open, a lookup at
 * ESTABLISHED, a lookup and a delete at CLOSE.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	struct gs_stats *st;

	if ((unsigned int)newstate > TCP_LISTEN || !((1U << newstate) & GS_TCP_STATES_SEEN))
		return 0;
	if (!sk_in_scope(sk) || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	/* A child leaving SYN_RECV other than from LISTEN, a second CLOSE:
	 * nothing to count. */
	if (newstate == TCP_SYN_RECV && oldstate != TCP_LISTEN)
		return 0;
	if (newstate == TCP_CLOSE && oldstate == TCP_CLOSE)
		return 0;
	st = stats_get();
	if (!st)
		return 0;

	if (newstate == TCP_CLOSE) {
		if (oldstate == TCP_LISTEN)
			on_listen_close(sk);
		else
			on_close(st, sk, oldstate);
	} else if (newstate == TCP_ESTABLISHED) {
		on_established(st, sk);
	} else if (newstate == TCP_SYN_SENT) {
		on_open(st, sk, true);
	} else if (newstate == TCP_SYN_RECV) {
		on_open(st, sk, false);
	} else {
		on_listen(st, sk);
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
		cookie = gs_net_key(skb->dev->nd_net.net);
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
	if (state == TCP_CLOSE) {
		/* A full socket already in CLOSE is unhashed: no segment can
		 * reach it, so this RST is close() or disconnect() aborting a
		 * synchronized connection (tcp_need_reset()), after the CLOSE
		 * transition has been accounted. */
		STAT_INC(st, GS_C_TCP_RESET_CLOSED);
		return 0;
	}
	key = (__u64)sk;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	c->reset_reason = reason;
	GS_OR(&c->flags, GS_CF_RST_SENT);
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
		GS_OR(&c->flags, GS_CF_RST_RECEIVED);
	return 0;
}

/* ==== Accept attribution: the process that accepts owns the connection ====
 *
 * A passive child is created in softirq and first carries the listener's
 * owner. When accept() returns its fd, the current task is the one that
 * will use the connection (in a pre-fork server, a worker, not the process
 * that called listen()): take pid, comm and cgroup from it. Classic syscall
 * tracepoints, so io_uring accepts (no syscall exit) keep the listener's
 * owner. */

#define S_IFMT	 00170000
#define S_IFSOCK 0140000

static __always_inline int on_accept_exit(long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files;
	struct fdtable *fdt;
	struct file **fd_array;
	struct file *file = NULL;
	struct socket *sock;
	struct gs_conn *c;
	struct gs_stats *st;
	struct sock *sk;
	unsigned int max_fds;
	umode_t mode;
	__u64 key;

	if (ret < 0)
		return 0;
	files = BPF_CORE_READ(task, files);
	if (!files)
		return 0;
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return 0;
	max_fds = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)ret >= max_fds)
		return 0;
	fd_array = BPF_CORE_READ(fdt, fd);
	if (!fd_array || bpf_probe_read_kernel(&file, sizeof(file), &fd_array[ret]) || !file)
		return 0;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	/* Only sockets in `conns` are in scope: no netns check needed. */
	key = (__u64)sk;
	c = bpf_map_lookup_elem(&conns, &key);
	/* Seeded: one that waited in the accept queue at start (accept()
	 * returns a socket once, so a seeded one here is such a child). */
	if (!c || !(c->flags & (GS_CF_PASSIVE | GS_CF_SEEDED)))
		return 0;
	c->pid = bpf_get_current_pid_tgid() >> 32;
	c->cgroup_id = bpf_get_current_cgroup_id();
	gs_leader_comm(c->comm);
	GS_OR(&c->flags, GS_CF_ACCEPTED);
	st = stats_get();
	if (st)
		STAT_INC(st, GS_C_ACCEPT_OWNED);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int handle_sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx->ret);
}

/* ==== Seeding: connections already open when the agent starts ==== */

/* A listener open at start: its port makes the connections it accepted
 * before start server-side (flows.c tcp_is_server), and its children
 * created later take its owner (named by seed_tcp_owners). A listen() seen
 * meanwhile is not overwritten. */
static __always_inline void seed_listener(struct gs_stats *st, const struct sock *sk, __u64 cookie)
{
	struct listen_key lk = {
		.netns_cookie = cookie,
		.port = sk->__sk_common.skc_num,
	};
	struct owner o = {};
	long err = bpf_map_update_elem(&listeners, &lk, &o, BPF_NOEXIST);

	if (err && err != -EEXIST)
		STAT_INC(st, GS_C_LISTEN_MAP_FULL);
}

/* Run once per network namespace at start (bpf_iter over that namespace's
 * TCP sockets): synchronized connections get an entry, so their close is a
 * tracked close and the open gauge counts them from the first scrape. The
 * entry starts at the socket's figures, so the counters (and the flow
 * series, from seed_*) grow only by what moves after start. An entry
 * created meanwhile by a state change is never overwritten. */
SEC("iter/tcp")
int seed_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_figs f = {};
	struct gs_conn c = {};
	struct gs_stats *st;
	struct tcp_sock *tp;
	struct sock *sk;
	__u64 key, cookie;
	int state;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	state = sk->__sk_common.skc_state;
	if (state != TCP_LISTEN && !was_synchronized(state))
		return 0;
	cookie = sk_netns_cookie(sk);
	if (!gs_in_scope(cookie))
		return 0;
	st = stats_get();
	if (!st)
		return 0;
	if (state == TCP_LISTEN) {
		seed_listener(st, sk, cookie);
		return 0;
	}
	if (!tcp_figs_read(sk, &f))
		return 0;
	key = (__u64)sk;
	c.netns_cookie = cookie;
	c.flags = GS_CF_ESTABLISHED | GS_CF_SEEDED;
	c.last_active_ns = bpf_ktime_get_ns();
	c.bytes_sent = c.seed_sent = f.sent;
	c.bytes_received = c.seed_rcvd = f.rcvd;
	c.total_retrans = c.seed_retrans = f.retrans;
	fill_tuple(&c, sk);
	if (!bpf_map_update_elem(&conns, &key, &c, BPF_NOEXIST))
		STAT_INC(st, GS_C_TCP_SEEDED);
	return 0;
}

/*
 * Owners of what seed_tcp found, run once after it (task_file, every task
 * on the host; task_sock.bpf.h): the first process found holding a seeded
 * connection or a listener found at start becomes its owner, as connect(),
 * accept() or listen() would have named it. Prints one byte per socket it
 * named. Needs bpf_sock_from_file (5.11+): switched off before that, and
 * those sockets stay unknown.
 */
SEC("iter/task_file")
int seed_tcp_owners(struct bpf_iter__task_file *ctx)
{
	struct task_sock_owner o = {};
	struct sock *sk = task_sock_get(ctx, IPPROTO_TCP, &o);
	struct gs_conn *c;
	struct owner *l;
	__u64 key = (__u64)sk;

	if (!sk)
		return 0;
	if (sk->__sk_common.skc_state == TCP_LISTEN) {
		struct listen_key lk = {
			.netns_cookie = sk_netns_cookie(sk),
			.port = sk->__sk_common.skc_num,
		};

		l = bpf_map_lookup_elem(&listeners, &lk);
		if (!l || l->pid)
			return 0;
		l->cgroup_id = o.cgroup_id;
		__builtin_memcpy(l->comm, o.comm, sizeof(l->comm));
		l->pid = o.pid;
	} else {
		c = bpf_map_lookup_elem(&conns, &key);
		if (!c || !(c->flags & GS_CF_SEEDED) || c->pid)
			return 0;
		c->cgroup_id = o.cgroup_id;
		__builtin_memcpy(c->comm, o.comm, sizeof(c->comm));
		c->pid = o.pid;
	}
	bpf_seq_write(ctx->meta->seq, "s", 1);
	return 0;
}

/* ==== Live refresh: run by user space through BPF_PROG_TEST_RUN ====
 *
 * Folds the payload and retransmits of open connections into the counters,
 * so they grow while a connection lives rather than jump at its close, and
 * counts idle connections. User space runs it on a timer, not per scrape, so
 * a scrape costs the same with 10 or 100k connections. */

static long refresh_one(struct bpf_map *map, __u64 *key, struct gs_conn *c, struct gs_live *acc)
{
	struct sock *sk = (struct sock *)*key;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	unsigned long sk_flags;
	struct gs_stats *st;
	__u64 sent, rcvd;
	bool synced;
	__u8 state;

	acc->entries += 1;
	if (c->flags & GS_CF_CLOSED)
		return 0;
	/* The key is a plain number here: read through probe_read, and only
	 * while the socket is still open (an entry racing with its close is
	 * folded by the close itself). */
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	synced = !(c->flags & GS_CF_ESTABLISHED) && was_synchronized(state);
	if (state == TCP_CLOSE || synced) {
		/* CLOSE: its close is running (it deletes the entry before
		 * the state reads CLOSE), a connect is about to be SYN_SENT,
		 * or the CLOSE was missed. Synchronized without the flag: an
		 * ESTABLISHED is running or was missed. Recovered when a
		 * later pass still finds it so. */
		__u32 pass = (__u32)(acc->run_ns >> 20) | 1;

		if (!c->odd_pass) {
			c->odd_pass = pass;
			return 0;
		}
		if (c->odd_pass == pass)
			return 0;
		st = stats_get();
		if (!st)
			return 1;
		if (state == TCP_CLOSE) {
			recover_close(st, *key);
			return 0;
		}
		recover_established(st, c);
		c->established_ns = acc->run_ns;
		c->last_active_ns = acc->run_ns;
	}
	if (c->odd_pass)
		c->odd_pass = 0;
	if (!(c->flags & GS_CF_ESTABLISHED) || state == TCP_LISTEN || state == TCP_SYN_SENT)
		return 0;
	st = stats_get();
	if (!st)
		return 1;
	sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
	rcvd = BPF_CORE_READ(tp, bytes_received);
	sk_flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	if ((sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && rcvd > 0)
		rcvd -= 1;
	if (sent != c->bytes_sent || rcvd != c->bytes_received)
		c->last_active_ns = acc->run_ns;
	else if (acc->run_ns - c->last_active_ns >= idle_timeout_ns)
		acc->idle += 1;
	fold(st, &c->bytes_sent, sent, GS_C_TCP_BYTES_SENT, GS_C_TCP_BYTES_SENT_CORR);
	fold(st, &c->bytes_received, rcvd, GS_C_TCP_BYTES_RECEIVED, GS_C_TCP_BYTES_RECEIVED_CORR);
	fold32(st, &c->total_retrans, BPF_CORE_READ(tp, total_retrans), GS_C_TCP_RETRANS);
	c->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	c->min_rtt_us = BPF_CORE_READ(tp, rtt_min.s[0].v);
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

/* ==== Live refresh in slices: the keys user space just read ====
 *
 * refresh_live walks all of `conns` in one run: 70-140 ms at 100k
 * connections, a CPU held in the kernel and the agent's loop waiting, and
 * bpf_for_each_map_elem cannot start in the middle (skipping the entries
 * earlier slices did costs ~85 ns each: 8 ms for the last slice of 100k).
 * So user space reads the map a batch at a time (bpf_map_lookup_batch
 * resumes at a bucket), writes the batch's keys into `refresh_keys`, and runs
 * refresh_batch: each of the first n keys (the run's context) is refreshed
 * as refresh_live would, and its value after the refresh copied into
 * `refresh_vals` at the same index for user space to read back (flagged
 * closed when the entry is gone: its close record counts it). The sums of
 * the batch go to `live`. */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GS_REFRESH_BATCH);
	__type(key, __u32);
	__type(value, __u64);
} refresh_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GS_REFRESH_BATCH);
	__type(key, __u32);
	__type(value, struct gs_conn);
} refresh_vals SEC(".maps");

struct refresh_batch_ctx {
	struct gs_live acc;
	__u64 n;
};

static long refresh_key(struct bpf_map *map, __u32 *idx, __u64 *key, struct refresh_batch_ctx *b)
{
	struct gs_conn *c, *out;
	__u32 i = *idx;

	if (i >= b->n)
		return 1;
	out = bpf_map_lookup_elem(&refresh_vals, &i);
	if (!out)
		return 1;
	c = bpf_map_lookup_elem(&conns, key);
	if (!c) {
		out->flags = GS_CF_CLOSED;
		return 0;
	}
	refresh_one(NULL, key, c, &b->acc);
	if (c->odd_pass) {
		/* Closing, or recovered and gone, or its ESTABLISHED not yet
		 * counted: user space skips it for this pass. */
		out->flags = GS_CF_CLOSED;
		return 0;
	}
	__builtin_memcpy(out, c, sizeof(*out));
	return 0;
}

SEC("raw_tp")
int refresh_batch(__u64 *ctx)
{
	struct refresh_batch_ctx b = { .acc.run_ns = bpf_ktime_get_ns(), .n = ctx[0] };
	__u32 zero = 0;

	bpf_for_each_map_elem(&refresh_keys, refresh_key, &b, 0);
	bpf_map_update_elem(&live, &zero, &b.acc, BPF_ANY);
	return 0;
}
