/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The socket behind one file of a task_file iterator, and the task as its
 * owner: how the seeding passes name the processes holding sockets that
 * were open before the agent started (UDP sockets in udp.bpf.c, TCP
 * connections and listeners in tcp.bpf.c). Needs bpf_sock_from_file
 * (5.11+): user space switches the programs calling it off before that.
 * Kernel only; include after compat.bpf.h.
 */
#ifndef GESPANN_TASK_SOCK_BPF_H
#define GESPANN_TASK_SOCK_BPF_H

#include "abi/gespann_abi.h"

/* Who holds a socket: tgid, comm, cgroup v2 id. */
struct task_sock_owner {
	__u64 cgroup_id;
	__u32 pid; /* tgid; 0 = unknown */
	__u32 pad;
	char comm[GS_COMM_LEN];
};

/*
 * The socket of ctx's file if it is one of protocol proto in scope (NULL
 * otherwise), with its holder in *o. The pointer is untrusted on newer
 * kernels (6.18 refuses it to bpf_sk_storage_get): use it as a key and for
 * direct loads only.
 */
static __always_inline struct sock *task_sock_get(struct bpf_iter__task_file *ctx, __u16 proto,
						  struct task_sock_owner *o)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct socket *sock;
	struct sock *sk;

	/* One load of each: the verifier tracks the NULL check per register. */
	gs_barrier_var(file);
	if (!task || !file)
		return NULL;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return NULL;
	sk = sock->sk;
	if (!sk || sk->sk_protocol != proto)
		return NULL;
	if (!gs_in_scope(gs_net_key(sk->__sk_common.skc_net.net)))
		return NULL;
	o->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	/* The process's name (/proc/PID/comm), not the thread's: comm.bpf.h. */
	bpf_probe_read_kernel(o->comm, sizeof(o->comm), task->group_leader->comm);
	o->pid = task->tgid;
	return sk;
}

#endif
