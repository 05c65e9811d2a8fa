/* SPDX-License-Identifier: MIT */
/*
 * Probes: open, configure, load and attach the kernel programs (tcp, udp and
 * proc families), probing the running kernel first and switching off what it
 * lacks, each with a log line and a feature flag. Each family's file (tcp.c,
 * udp.c, proc.c) owns its skeleton; readers.h is the only way out of their
 * maps, and no *.skel.h is included outside src/probes/.
 */
#ifndef GESPANN_PROBES_H
#define GESPANN_PROBES_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "probes/scope.h"

struct probes_io;

/* Every feature once: its enum value and the name it is logged and exported
 * under (gespann_feature_enabled), in this order. */
#define PROBES_FEATURES(X)                                                                      \
	X(FEAT_BTF, "btf")                                                                      \
	X(FEAT_RINGBUF, "ringbuf")                                                              \
	X(FEAT_TP_INET_SOCK_SET_STATE, "tp_inet_sock_set_state")                                \
	X(FEAT_TP_TCP_SEND_RESET, "tp_tcp_send_reset")                                          \
	X(FEAT_TCP_RESET_REASON, "tcp_reset_reason")                                            \
	X(FEAT_TP_TCP_RECEIVE_RESET, "tp_tcp_receive_reset")                                    \
	X(FEAT_LIVE_REFRESH, "live_refresh")                                                    \
	X(FEAT_CGROUP_SKB_UDP, "cgroup_skb_udp")                                                \
	X(FEAT_KPROBE, "kprobe")                                                                \
	X(FEAT_FENTRY, "fentry")                                                                \
	/* owner of accepted connections taken at accept() */                                   \
	X(FEAT_ACCEPT_OWNER, "accept_owner")                                                    \
	/* exec/fork/exit records for the process cache */                                      \
	X(FEAT_PROC_EVENTS, "proc_events")                                                      \
	/* libc getaddrinfo() results */                                                        \
	X(FEAT_UPROBE_GETADDRINFO, "uprobe_getaddrinfo")                                        \
	/* UDP flows carry their socket owner */                                                \
	X(FEAT_UDP_OWNER, "udp_owner")                                                          \
	/* DNS packets on port 53 copied to user space */                                       \
	X(FEAT_DNS_CAPTURE, "dns_capture")                                                      \
	/* Kernel fallbacks (kcompat.h), each off where the fallback is used:                 \
	 * BPF_XCHG/BPF_OR (5.12+), else the GS_LEGACY objects; */ \
	X(FEAT_BPF_ATOMICS, "bpf_atomics")                                                      \
	/* SO_NETNS_COOKIE (5.14+), else netns by inode number; */                              \
	X(FEAT_NETNS_COOKIE, "netns_cookie")                                                    \
	/* bpf_get_netns_cookie in cgroup_skb, else the netns via skb->sk; */                   \
	X(FEAT_CGROUP_SKB_NETNS_COOKIE, "cgroup_skb_netns_cookie")                              \
	/* bpf_get_current_{pid_tgid,comm,cgroup_id} in cgroup_skb, else a UDP                \
	 * socket keeps the owner recorded when it was created. */ \
	X(FEAT_CGROUP_SKB_PID, "cgroup_skb_pid")                                                \
	/* the task_file iterator naming UDP sockets older than the agent                     \
	 * (bpf_sock_from_file, 5.11+), else they are named when they send. */ \
	X(FEAT_UDP_OWNER_SEED, "udp_owner_seed")                                                \
	/* the task_file iterator naming TCP connections and listeners older             \
	 * than the agent (bpf_sock_from_file, 5.11+), else they stay unknown. */      \
	X(FEAT_TCP_OWNER_SEED, "tcp_owner_seed")

#define PROBES_FEATURE_ENUM(id, name) id,
enum feature {
	PROBES_FEATURES(PROBES_FEATURE_ENUM) FEAT_MAX,
};
#undef PROBES_FEATURE_ENUM

enum probes_proc_link {
	PROBES_L_EXEC = 0,
	PROBES_L_FORK,
	PROBES_L_EXIT,
	PROBES_L_GAI,	  /* uprobe on getaddrinfo() */
	PROBES_L_GAI_RET, /* its uretprobe */
	PROBES_L_MAX,
};

struct probes {
	/* Input, set before probes_start and kept by it: the libc whose
	 * getaddrinfo() is probed. NULL or "": the libc.so.6 this agent is
	 * linked with (the host's); "off": no uprobe. Not owned. */
	const char *libc_path;

	struct tcp_bpf *tcp;
	struct udp_bpf *udp;
	struct proc_bpf *proc; /* NULL when the proc family failed to load */
	struct bpf_link *udp_links[2];
	struct bpf_link *accept_links[2]; /* sys_exit_accept4, sys_exit_accept */
	struct bpf_link *proc_links[PROBES_L_MAX];
	char libc_resolved[256]; /* the libc the uprobe is on, "" when none */
	int cgroup_fd;
	bool legacy; /* the GS_LEGACY objects are loaded (kcompat_has_atomics() said no) */
	bool features[FEAT_MAX];
	char reset_reason_names[64][32]; /* enum sk_rst_reason, lowercased */
	unsigned int n_reset_reasons;
	struct probes_io *io; /* readers.c: ring buffer and batch buffers */
};

const char *feature_name(enum feature f);

/* Open, configure, load and attach. On error everything already attached is
 * detached again and a negative errno returned (the cause is logged). Only
 * the tcp family is required: udp, accept attribution, process records and
 * the getaddrinfo uprobe are optional (a log line and their feature off when
 * they cannot attach). Process and getaddrinfo records share the tcp
 * family's ring buffer (tcp->maps.events); their counters are in
 * proc->maps.proc_stats (struct gs_stats). p->libc_path is read, the rest of
 * *p is reset. scope is the resolved scope (probes_resolve_scope, scope.h):
 * the programs' netns filter and the namespaces seeded at start. */
int probes_start(struct probes *p, const struct config *cfg, const struct scope *scope);
/* Detach and free everything; safe to call twice and on a zeroed struct. */
void probes_stop(struct probes *p);

/* Run the live-refresh program once (sums open connections into `live`). */
int probes_refresh_live(struct probes *p);

#endif
