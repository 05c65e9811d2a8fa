/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Owner of a UDP socket (tgid, comm, cgroup v2 id), kept in socket storage
 * so that the cgroup_skb ingress program, which runs in softirq where the
 * current task is whoever was interrupted, can name the process a datagram
 * is for. Written only in process context: when the socket is created
 * (cgroup/sock_create) and when it sends (cgroup_skb egress runs in the
 * sender's udp_sendmsg). Kernel only; include from one *.bpf.c, after
 * compat.bpf.h.
 */
#ifndef GESPANN_UDP_OWNER_BPF_H
#define GESPANN_UDP_OWNER_BPF_H

#include "abi/gespann_abi.h"
#include "comm.bpf.h"

/* bpf_get_current_task() and bpf_probe_read_kernel() from cgroup/sock_create
 * and cgroup_skb programs (set before load from a probe of the running
 * kernel): the owner's name is then its thread-group leader's comm, else the
 * creating or sending thread's (the same unless a thread renamed itself). */
const volatile bool udp_owner_leader_comm = false;

struct udp_owner_rec {
	__u64 cgroup_id;
	__u32 pid; /* tgid; 0 = unknown */
	__u32 pad;
	char comm[GS_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct udp_owner_rec);
} udp_owner SEC(".maps");

/* Process context only: the current process's name, as it is now. */
static __always_inline void udp_owner_name_current(struct udp_owner_rec *o)
{
	if (udp_owner_leader_comm)
		gs_leader_comm(o->comm);
	else
		bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Process context only: the current task becomes the owner. */
static __always_inline void udp_owner_set_current(struct udp_owner_rec *o, __u32 tgid)
{
	o->pid = tgid;
	o->cgroup_id = bpf_get_current_cgroup_id();
	udp_owner_name_current(o);
}

/*
 * Egress (process context): the sender owns the socket from now on. The
 * record is created for sockets opened before the agent attached, and
 * rewritten when another process sends on it (inherited or passed socket);
 * the common case is one pid compare. Returns NULL when no owner is known.
 */
static __always_inline struct udp_owner_rec *udp_owner_get(struct bpf_sock *sk);

static __always_inline struct udp_owner_rec *udp_owner_refresh(struct bpf_sock *sk)
{
	struct udp_owner_rec *o;
	__u32 tgid;

	/* Kernels whose cgroup_skb programs lack the current-task helpers
	 * (compat.bpf.h): the owner recorded at socket creation stands. */
	if (!gs_skb_has_pid)
		return udp_owner_get(sk);
	tgid = bpf_get_current_pid_tgid() >> 32;

	o = bpf_sk_storage_get(&udp_owner, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return NULL;
	if (o->pid != tgid && tgid != 0)
		udp_owner_set_current(o, tgid);
	return o->pid ? o : NULL;
}

/* Any context: the recorded owner, or NULL. Never creates a record. */
static __always_inline struct udp_owner_rec *udp_owner_get(struct bpf_sock *sk)
{
	struct udp_owner_rec *o = bpf_sk_storage_get(&udp_owner, sk, 0, 0);

	return o && o->pid ? o : NULL;
}

#endif
