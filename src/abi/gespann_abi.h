/* SPDX-License-Identifier: MIT */
/*
 * The one header both sides include: the records the kernel programs write
 * (ring buffer events, map values, per-CPU statistics) and the enums indexing
 * them. Fixed-width types, largest first, explicit padding, sizes asserted, so
 * kernel and user space cannot drift apart.
 */
#ifndef GESPANN_ABI_H
#define GESPANN_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GS_COMM_LEN	 16
#define GS_ADDR_LEN	 16
#define GS_PATH_LEN	 256 /* executable path in exec records (truncated) */
#define GS_NAME_LEN	 256 /* host name in getaddrinfo records (truncated) */
#define GS_DNS_MAX	 512 /* DNS bytes copied per packet (message, or TCP length prefix + message) */
#define GS_RESOLVE_MAX	 8    /* addresses per getaddrinfo record */
#define GS_REFRESH_BATCH 1024 /* connections a refresh_batch run (refresh_keys, refresh_vals) */

/* Histogram upper bounds in nanoseconds (the +Inf bucket follows them). One
 * table for connect latency, RTT and duration: 1-2.5-5 steps from 10 us to
 * 100 s, then 5 min, 10 min, 30 min, 1 h. */
#define GS_HIST_BOUNDS_NS                                                                       \
	{                                                                                       \
		10000ULL, 25000ULL, 50000ULL, 100000ULL, 250000ULL, 500000ULL, 1000000ULL,      \
			2500000ULL, 5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL,          \
			100000000ULL, 250000000ULL, 500000000ULL, 1000000000ULL, 2500000000ULL, \
			5000000000ULL, 10000000000ULL, 25000000000ULL, 50000000000ULL,          \
			100000000000ULL, 300000000000ULL, 600000000000ULL, 1800000000000ULL,    \
			3600000000000ULL                                                        \
	}
#define GS_HIST_NBOUNDS	 26
#define GS_HIST_NBUCKETS (GS_HIST_NBOUNDS + 1)

enum gs_hist {
	GS_H_CONNECT = 0,  /* handshake: SYN_SENT -> ESTABLISHED (active opens) */
	GS_H_RTT = 1,	   /* smoothed RTT of each connection at its close */
	GS_H_DURATION = 2, /* ESTABLISHED -> CLOSE */
	GS_H_MAX = 3,
};

/* Per-CPU counters, all monotonic. Gauges are derived in user space from
 * pairs of them (open = established - closed), so no CPU ever subtracts. */
enum gs_counter {
	GS_C_TCP_ACTIVE_OPENS = 0, /* CLOSE -> SYN_SENT (connect) */
	GS_C_TCP_PASSIVE_OPENS,	   /* child socket created by a listener (accept side) */
	GS_C_TCP_ESTABLISHED,	   /* -> ESTABLISHED, both sides */
	GS_C_TCP_CLOSED,	   /* established connections that reached CLOSE */
	GS_C_TCP_RESET_CLOSED,	   /* ... of which ended by a RST sent or received */
	GS_C_TCP_FAILED,	   /* active opens that never reached ESTABLISHED */
	GS_C_TCP_PASSIVE_ABORTED,  /* passive opens that never reached ESTABLISHED */
	GS_C_TCP_RST_SENT,	   /* RST segments sent (events, any socket state) */
	GS_C_TCP_RST_RECEIVED,	   /* RST received on a synchronized connection */
	GS_C_TCP_BYTES_SENT,	   /* payload, folded in at refresh and at close */
	GS_C_TCP_BYTES_RECEIVED,
	GS_C_TCP_RETRANS,      /* retransmitted segments of closed connections */
	GS_C_RTT_SAMPLES,      /* closed connections with an RTT sample */
	GS_C_EVENTS_SUBMITTED, /* ring buffer records submitted */
	GS_C_EVENTS_LOST,      /* ring buffer reserve failures */
	GS_C_CONN_MAP_FULL,    /* connection map insert failures */
	GS_C_LISTEN_MAP_FULL,  /* listener map insert failures */
	GS_C_UDP_FLOWS,	       /* UDP flows created */
	GS_C_UDP_BYTES_SENT,   /* UDP payload bytes */
	GS_C_UDP_BYTES_RECEIVED,
	GS_C_UDP_DGRAMS_SENT,
	GS_C_UDP_DGRAMS_RECEIVED,
	GS_C_UDP_FLOW_MAP_FULL,		/* UDP flow map insert failures (bytes still counted) */
	GS_C_TCP_ESTABLISHED_UNTRACKED, /* reached ESTABLISHED without a map entry (map full) */
	GS_C_TCP_CLOSED_UNTRACKED,	/* closed without a map entry: map full, or opened before
				    * the agent attached */
	GS_C_TCP_SEEDED,		/* open at start: found by the socket iterator */
	GS_C_TCP_BYTES_SENT_CORR,	/* folded too much: a reading went back (subtract) */
	GS_C_TCP_BYTES_RECEIVED_CORR,
	GS_C_ACCEPT_OWNED,	/* accepted connections whose owner was taken at accept() */
	GS_C_PROC_EVENTS,	/* exec/fork/exit records submitted */
	GS_C_PROC_LOST,		/* ... dropped: ring buffer full */
	GS_C_DNS_PACKETS,	/* DNS packet records submitted */
	GS_C_DNS_LOST,		/* ... dropped: ring buffer full */
	GS_C_RESOLVE_EVENTS,	/* getaddrinfo records submitted */
	GS_C_RESOLVE_LOST,	/* ... dropped: ring buffer full */
	GS_C_UDP_OWNER_UNKNOWN, /* UDP flows created without a known owner process */
	/* Transitions the state-change program missed (the kernel skipped a
	 * run: gespann_bpf_recursion_misses_total), accounted late so the open
	 * gauge stays exact: */
	GS_C_TCP_CLOSE_RECOVERED,	/* CLOSE: found by a refresh pass or at reuse */
	GS_C_TCP_ESTABLISHED_RECOVERED, /* ESTABLISHED: found at the close */
	GS_C_MAX,
};

#define GS_MAX_RST_REASON 64  /* enum sk_rst_reason has 26 values on 6.18 */
#define GS_MAX_ERRNO	  160 /* errno values above go to the last slot */

/* Per-CPU statistics: one value of a PERCPU_ARRAY with a single entry. */
struct gs_stats {
	__u64 counters[GS_C_MAX];
	__u64 hist[GS_H_MAX][GS_HIST_NBUCKETS];
	__u64 hist_sum_ns[GS_H_MAX];
	__u64 rst_sent_reason[GS_MAX_RST_REASON]; /* RST sent, by enum sk_rst_reason */
	__u64 failed_errno[GS_MAX_ERRNO];	  /* failed connects, by errno */
};

/* gs_conn.flags */
#define GS_CF_ACTIVE	    (1U << 0) /* we connected */
#define GS_CF_PASSIVE	    (1U << 1) /* a listener accepted it */
#define GS_CF_ESTABLISHED   (1U << 2) /* reached ESTABLISHED */
#define GS_CF_CLOSED	    (1U << 3) /* reached CLOSE */
#define GS_CF_RST_SENT	    (1U << 4) /* we sent a RST on it */
#define GS_CF_RST_RECEIVED  (1U << 5) /* we received a RST on it */
#define GS_CF_RESET_COUNTED (1U << 6)
#define GS_CF_FIN_RECEIVED  (1U << 7)
#define GS_CF_FAILED	    (1U << 8) /* closed before ESTABLISHED */
#define GS_CF_IPV6	    (1U << 9)
#define GS_CF_SEEDED	    (1U << 10) /* open when the agent started: no open time, seed_* figures */
#define GS_CF_ABORTED	    (1U << 11) /* closed by an abort; the RST follows the record */
#define GS_CF_ACCEPTED	    (1U << 12) /* owner (pid, comm, cgroup) taken when accept() returned it */

/* One TCP connection: value of the `conns` map (keyed by socket address) and
 * payload of its ring-buffer record. While open, the byte and retransmit
 * fields hold what has been folded into the counters so far (refreshed in
 * batches; for a seeded connection on top of its seed_* figures); in the
 * record they are final (the socket's lifetime figures). */
struct gs_conn {
	__u64 start_ns;	      /* CLOCK_MONOTONIC: SYN_SENT (active) or child creation */
	__u64 established_ns; /* 0 if never established */
	__u64 end_ns;	      /* CLOSE, 0 while open */
	__u64 netns_cookie;
	__u64 bytes_sent;     /* payload, without retransmitted duplicates */
	__u64 bytes_received; /* payload, without the FIN's sequence number */
	__u64 last_active_ns; /* last refresh that saw payload move (idle detection) */
	__u64 cgroup_id; /* cgroup v2 id of the owner (connecting, accepting or listening task) */
	/* GS_CF_SEEDED: the figures the socket had when the agent found it
	 * (the kernel counters start there; flow series count from there). */
	__u64 seed_sent;
	__u64 seed_rcvd;
	__u32 srtt_us;
	__u32 min_rtt_us;
	__u32 total_retrans;
	__u32 pid; /* tgid of the connecting or accepting process (listener's until accept) */
	__u32 netns_ino;
	__u32 flags;  /* GS_CF_* */
	__u16 family; /* AF_INET / AF_INET6 */
	__u16 sport;  /* host byte order */
	__u16 dport;
	__u16 reset_reason;   /* enum sk_rst_reason of the RST we sent */
	__u16 err;	      /* sk_err at close: errno of a failed connect */
	__u16 close_oldstate; /* TCP state the socket left for CLOSE (in records) */
	__u32 seed_retrans;   /* GS_CF_SEEDED: total_retrans when found */
	__u32 odd_pass;	      /* refresh passes only: the pass (ms, odd) that first found
				  * the socket in a state its entry missed (CLOSE, or
				  * synchronized without GS_CF_ESTABLISHED) */
	__u32 pad;
	__u8 saddr[GS_ADDR_LEN]; /* IPv4 in the first 4 bytes */
	__u8 daddr[GS_ADDR_LEN];
	char comm[GS_COMM_LEN];
};

enum gs_event_type {
	GS_EV_CLOSE = 1,   /* an established connection ended (struct gs_event) */
	GS_EV_FAILED = 2,  /* a connect (or a passive handshake) never established (gs_event) */
	GS_EV_EXEC = 3,	   /* a process called execve (struct gs_proc_event) */
	GS_EV_FORK = 4,	   /* a new process (not a thread) was created (gs_proc_event) */
	GS_EV_EXIT = 5,	   /* a process (its last thread) exited (gs_proc_event) */
	GS_EV_DNS = 6,	   /* a DNS packet on port 53 (struct gs_dns_event) */
	GS_EV_RESOLVE = 7, /* getaddrinfo() returned (struct gs_resolve_event) */
};

/* Every ring-buffer record starts with this. size is the record's size in
 * bytes as written by the kernel (sizeof the struct for its type). */
struct gs_event_hdr {
	__u32 type; /* enum gs_event_type */
	__u32 size;
};

/* Connection record: at most one per connection. */
struct gs_event {
	struct gs_event_hdr hdr;
	__u64 sock_id; /* the map key: stable for the connection's life */
	struct gs_conn conn;
};

/* Process lifecycle, for the user-space process cache. EXEC carries the new
 * executable's path (bprm->filename, as passed to execve, possibly
 * relative: resolved in user space when it is not absolute); FORK and EXIT
 * leave path empty. pid and ppid are tgids. */
struct gs_proc_event {
	struct gs_event_hdr hdr;
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 ppid;
	char comm[GS_COMM_LEN];
	char path[GS_PATH_LEN];
};

/* A DNS packet seen on UDP or TCP port 53 (either side), both directions.
 * data holds the first len bytes of the transport payload (for TCP that is
 * the 2-byte length prefix, then the message); payload_len is the whole
 * payload length in the packet. Oriented as on the wire: saddr:sport sent it. */
struct gs_dns_event {
	struct gs_event_hdr hdr;
	__u64 ts_ns;
	__u64 netns_cookie;
	__u64 cgroup_id; /* of the socket's owner, 0 if unknown */
	__u32 pid;	 /* tgid of the socket's owner, 0 if unknown */
	__u16 family;	 /* AF_INET / AF_INET6 */
	__u8 protocol;	 /* IPPROTO_UDP / IPPROTO_TCP */
	__u8 egress;	 /* 1: sent by this host, 0: received */
	__u16 sport;	 /* host byte order */
	__u16 dport;
	__u16 len;	   /* bytes valid in data, <= GS_DNS_MAX */
	__u16 payload_len; /* transport payload bytes in the packet */
	__u8 saddr[GS_ADDR_LEN];
	__u8 daddr[GS_ADDR_LEN];
	char comm[GS_COMM_LEN];
	__u8 data[GS_DNS_MAX];
};

struct gs_resolve_addr {
	__u16 family; /* AF_INET / AF_INET6 */
	__u16 pad[3];
	__u8 addr[GS_ADDR_LEN];
};

/* getaddrinfo(name, ...) returned 0 with these addresses (uprobe on libc).
 * n_addrs counts the entries filled (duplicates by socktype skipped). */
struct gs_resolve_event {
	struct gs_event_hdr hdr;
	__u64 ts_ns;
	__u64 latency_ns;   /* entry to return */
	__u64 netns_cookie; /* the caller's namespace (gs_net_key) */
	__u32 pid;
	__u32 n_addrs;
	char comm[GS_COMM_LEN];
	char name[GS_NAME_LEN];
	struct gs_resolve_addr addrs[GS_RESOLVE_MAX];
};

/* UDP flow, keyed by 5-tuple (+ netns), oriented local -> remote. */
struct gs_udp_key {
	__u64 netns_cookie;
	__u8 laddr[GS_ADDR_LEN];
	__u8 raddr[GS_ADDR_LEN];
	__u16 lport; /* host byte order */
	__u16 rport;
	__u16 family;
	__u16 pad;
};

/* gs_udp_flow.flags */
#define GS_UF_EGRESS_FIRST (1U << 0) /* first datagram was sent: the local side is the client */
#define GS_UF_OWNER	   (1U << 1) /* pid, comm and cgroup_id name the socket's owner */

struct gs_udp_flow {
	__u64 first_ns;
	__u64 last_ns;
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 dgrams_sent;
	__u64 dgrams_received;
	__u64 cgroup_id;
	__u32 pid; /* tgid of the socket's owner (see GS_UF_OWNER) */
	__u32 flags;
	char comm[GS_COMM_LEN];
};

/* What the refresh program saw in its last pass over `conns` (value of a
 * single-entry array); the byte and retransmit growth it found went into
 * the counters. */
struct gs_live {
	__u64 conns;
	__u64 idle;    /* open connections without payload for idle_timeout */
	__u64 entries; /* every entry of `conns` (open or opening) */
	__u64 run_ns;  /* CLOCK_MONOTONIC when the pass ran */
};

#define GS_LAYOUT_CHECK(type, size) _Static_assert(sizeof(type) == (size), #type " layout changed")
GS_LAYOUT_CHECK(struct gs_conn, 176);
GS_LAYOUT_CHECK(struct gs_event, 192);
GS_LAYOUT_CHECK(struct gs_proc_event, 304);
GS_LAYOUT_CHECK(struct gs_dns_event, 608);
GS_LAYOUT_CHECK(struct gs_resolve_event, 504);
GS_LAYOUT_CHECK(struct gs_udp_key, 48);
GS_LAYOUT_CHECK(struct gs_udp_flow, 80);
GS_LAYOUT_CHECK(struct gs_live, 32);

#endif
