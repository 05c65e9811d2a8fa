/* SPDX-License-Identifier: MIT */
/*
 * Probes: open, configure, load and attach the kernel programs (tcp and udp
 * families), probing the running kernel first and switching off what it
 * lacks, each with a log line and a feature flag. Owns the skeletons.
 */
#ifndef GESPANN_PROBES_H
#define GESPANN_PROBES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

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
	FEAT_ACCEPT_OWNER,	   /* owner of accepted connections taken at accept() */
	FEAT_PROC_EVENTS,	   /* exec/fork/exit records for the process cache */
	FEAT_UPROBE_GETADDRINFO,   /* libc getaddrinfo() results */
	FEAT_UDP_OWNER,		   /* UDP flows carry their socket owner */
	FEAT_DNS_CAPTURE,	   /* DNS packets on port 53 copied to user space */
	/* Kernel fallbacks (kcompat.h), each off where the fallback is used:
	 * BPF_XCHG/BPF_OR (5.12+), else the GS_LEGACY objects; */
	FEAT_BPF_ATOMICS,
	/* SO_NETNS_COOKIE (5.14+), else netns by inode number; */
	FEAT_NETNS_COOKIE,
	/* bpf_get_netns_cookie in cgroup_skb, else the netns via skb->sk; */
	FEAT_CGROUP_SKB_NETNS_COOKIE,
	/* bpf_get_current_pid_tgid in cgroup_skb, else UDP flows without pid. */
	FEAT_CGROUP_SKB_PID,
	FEAT_MAX,
};

struct probes {
	struct tcp_bpf *tcp;
	struct udp_bpf *udp;
	struct bpf_link *udp_links[2];
	int cgroup_fd;
	bool legacy; /* the GS_LEGACY objects are loaded (kcompat_has_atomics() said no) */
	bool features[FEAT_MAX];
	char reset_reason_names[64][32]; /* enum sk_rst_reason, lowercased */
	unsigned int n_reset_reasons;
};

const char *feature_name(enum feature f);

/* Resolve the config's scope to a netns cookie (0 for host). Returns 0 or a
 * negative errno, logging the path and cause. */
int probes_resolve_scope(const struct config *cfg, uint64_t *cookie);

/* Open, configure, load and attach. On error everything already attached is
 * detached again and a negative errno returned (the cause is logged). */
int probes_start(struct probes *p, const struct config *cfg, uint64_t netns_cookie);
/* Detach and free everything; safe to call twice and on a zeroed struct. */
void probes_stop(struct probes *p);

/* Run the live-refresh program once (sums open connections into `live`). */
int probes_refresh_live(struct probes *p);

#endif
