/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The process's name as /proc/PID/comm, ps and ss -p show it: the
 * thread-group leader's comm, read at the moment a socket acts. Not
 * bpf_get_current_comm(), which is the calling thread's: prctl(PR_SET_NAME)
 * renames only the calling thread, and a worker thread that names itself
 * must not rename its process in the metrics, while a process that renames
 * its main thread (prctl in a single-threaded program, or a write to
 * /proc/self/comm) after exec must be reported under its new name. Kernel
 * only; include after vmlinux.h and bpf_core_read.h.
 */
#ifndef GESPANN_COMM_BPF_H
#define GESPANN_COMM_BPF_H

#include "abi/gespann_abi.h"

/*
 * Copy the current thread-group leader's comm into dst (GS_COMM_LEN bytes,
 * NUL-terminated when it fits, as the kernel keeps it). Process context
 * only: in softirq the current task is whoever was interrupted. Program
 * types without bpf_get_current_task()/bpf_probe_read_kernel() (cgroup
 * programs before they joined the base helpers) must not reach this: guard
 * the call with a knob. Falls back to the thread's comm if the read fails.
 */
static __always_inline void gs_leader_comm(char *dst)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (!leader || bpf_core_read(dst, GS_COMM_LEN, &leader->comm))
		bpf_get_current_comm(dst, GS_COMM_LEN);
}

/*
 * The same for tracing programs (tp_btf, tracepoints), one helper call
 * fewer: the leader is a direct load from bpf_get_current_task_btf() (5.11+;
 * the CO-RE test on the kernel's helper list leaves gs_leader_comm() where it
 * is missing, and the verifier never sees the call).
 */
static __always_inline void gs_leader_comm_tracing(char *dst)
{
	struct task_struct *leader;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		gs_leader_comm(dst);
		return;
	}
	leader = bpf_get_current_task_btf()->group_leader;
	if (!leader || bpf_probe_read_kernel(dst, GS_COMM_LEN, leader->comm))
		bpf_get_current_comm(dst, GS_COMM_LEN);
}

#endif
