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

enum feature {
	FEAT_BTF = 0,
	FEAT_RINGBUF,
	FEAT_TP_INET_SOCK_SET_STATE,
	FEAT_TP_TCP_SEND_RESET,
	FEAT_TCP_RESET_REASON,
	FEAT_TP_TCP_RECEIVE_RESET,
	FEAT_LIVE_REFRESH,
	FEAT_CGROUP_SKB_UDP,
	FEAT_KPROBE,
	FEAT_FENTRY,
	FEAT_ACCEPT_OWNER,	 /* owner of accepted connections taken at accept() */
	FEAT_PROC_EVENTS,	 /* exec/fork/exit records for the process cache */
	FEAT_UPROBE_GETADDRINFO, /* libc getaddrinfo() results */
	FEAT_UDP_OWNER,		 /* UDP flows carry their socket owner */
	FEAT_DNS_CAPTURE,	 /* DNS packets on port 53 copied to user space */
	/* Kernel fallbacks (kcompat.h), each off where the fallback is used:
	 * BPF_XCHG/BPF_OR (5.12+), else the GS_LEGACY objects; */
	FEAT_BPF_ATOMICS,
	/* SO_NETNS_COOKIE (5.14+), else netns by inode number; */
	FEAT_NETNS_COOKIE,
	/* bpf_get_netns_cookie in cgroup_skb, else the netns via skb->sk; */
	FEAT_CGROUP_SKB_NETNS_COOKIE,
	/* bpf_get_current_{pid_tgid,comm,cgroup_id} in cgroup_skb, else a UDP
	 * socket keeps the owner recorded when it was created. */
	FEAT_CGROUP_SKB_PID,
	/* the task_file iterator naming UDP sockets older than the agent
	 * (bpf_sock_from_file, 5.11+), else they are named when they send. */
	FEAT_UDP_OWNER_SEED,
	FEAT_MAX,
};

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
