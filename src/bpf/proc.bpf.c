// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Process probe family: who the pids in connection records are.
 *
 * Process lifecycle from the scheduler's BTF tracepoints (exec, fork of a new
 * process, exit of a whole process) and, on a libc uprobe, the results of
 * getaddrinfo() (name -> addresses, for dst_name). Records go into the tcp
 * family's ring buffer (`events` is reused by fd before load), so user space
 * reads one ordered stream: an EXEC comes before the connection records of
 * the process it names. Submitted without a wakeup unless the buffer is
 * filling up, like the connection records.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"
#include "compat.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET	 2
#define AF_INET6 10

/* Wake the reader early once this much is waiting (set before load). */
const volatile __u64 ringbuf_wakeup_bytes = 256 * 1024;

/* Replaced by the tcp skeleton's ring buffer before load. */
GS_EVENTS_MAP();

GS_STATS_MAP(proc_stats);

static __always_inline struct gs_stats *stats_get(void)
{
	return gs_stats_this_cpu(&proc_stats);
}

static __always_inline __u64 submit_flags(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= ringbuf_wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* ==== Process lifecycle ==== */

/* cgroup v2 id of a task other than current (fork: the child may have been
 * placed elsewhere with CLONE_INTO_CGROUP). */
static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

static __always_inline void emit_proc(__u32 type, struct task_struct *t, __u64 cgroup_id,
				      const char *path)
{
	struct gs_stats *st = stats_get();
	struct gs_proc_event *ev;

	if (!st)
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		STAT_INC(st, GS_C_PROC_LOST);
		return;
	}
	ev->hdr.type = type;
	ev->hdr.size = sizeof(*ev);
	ev->ts_ns = bpf_ktime_get_ns();
	ev->cgroup_id = cgroup_id;
	ev->pid = BPF_CORE_READ(t, tgid);
	ev->ppid = BPF_CORE_READ(t, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&ev->comm, t, comm);
	ev->path[0] = '\0';
	if (path && bpf_probe_read_kernel_str(ev->path, sizeof(ev->path), path) < 0)
		ev->path[0] = '\0';
	bpf_ringbuf_submit(ev, submit_flags());
	STAT_INC(st, GS_C_PROC_EVENTS);
}

/* Fires after the new image is in place: comm is already the new one. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	emit_proc(GS_EV_EXEC, p, bpf_get_current_cgroup_id(), BPF_CORE_READ(bprm, filename));
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	/* A new thread shares its creator's tgid: not a new process. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	emit_proc(GS_EV_FORK, child, task_cgroup_id(child), NULL);
	return 0;
}

/* Since 6.16 (commit "sched: add group_dead to sched_process_exit") the
 * tracepoint says whether this is the process's last thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *p, bool group_dead)
{
	if (!group_dead)
		return 0;
	emit_proc(GS_EV_EXIT, p, bpf_get_current_cgroup_id(), NULL);
	return 0;
}

/* Before: do_exit() has already decremented signal->live, so 0 means the
 * last thread (two threads exiting at once may both see 0: a duplicate EXIT,
 * which user space tolerates). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit_nogroup, struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	emit_proc(GS_EV_EXIT, p, bpf_get_current_cgroup_id(), NULL);
	return 0;
}

/* ==== getaddrinfo() results (uprobe on libc) ==== */

/* User-space struct addrinfo (glibc, LP64). */
struct user_addrinfo {
	int ai_flags;
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	__u32 ai_addrlen;
	__u32 pad;
	void *ai_addr;
	char *ai_canonname;
	struct user_addrinfo *ai_next;
};

struct gai_call {
	__u64 ts_ns;
	const char *node;
	struct user_addrinfo **res;
};

/* Calls in flight, by thread. LRU: a thread that never returns (killed,
 * longjmp) cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct gai_call);
} gai_calls SEC(".maps");

/* glibc returns one entry per (address, socktype): up to three per address
 * without hints. Walk enough entries for GS_RESOLVE_MAX distinct addresses. */
#define GAI_MAX_ENTRIES (GS_RESOLVE_MAX * 4)

static __always_inline __u64 current_net_key(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return gs_net_key(BPF_CORE_READ(t, nsproxy, net_ns));
}

static __always_inline bool current_in_scope(void)
{
	return gs_in_scope(current_net_key());
}

/* BPF_KPROBE/BPF_KRETPROBE: libbpf 1.1 has no BPF_UPROBE; same pt_regs. */
SEC("uprobe")
int BPF_KPROBE(handle_getaddrinfo, const char *node, const char *service, const void *hints,
	       struct user_addrinfo **res)
{
	struct gai_call call = {};
	__u64 id = bpf_get_current_pid_tgid();

	if (!node || !res || !current_in_scope())
		return 0;
	call.ts_ns = bpf_ktime_get_ns();
	call.node = node;
	call.res = res;
	bpf_map_update_elem(&gai_calls, &id, &call, BPF_ANY);
	return 0;
}

static __always_inline bool addr_seen(const struct gs_resolve_event *ev, __u32 n,
				      const struct gs_resolve_addr *a)
{
	for (__u32 i = 0; i < GS_RESOLVE_MAX; i++) {
		if (i >= n)
			break;
		const __u32 *x = (const __u32 *)ev->addrs[i].addr;
		const __u32 *y = (const __u32 *)a->addr;

		/* No memcmp in BPF (clang 14 does not inline it). */
		if (ev->addrs[i].family == a->family && x[0] == y[0] && x[1] == y[1] &&
		    x[2] == y[2] && x[3] == y[3])
			return true;
	}
	return false;
}

/* Addresses of the result list into ev; returns how many. */
static __noinline __u32 gai_collect(struct gs_resolve_event *ev, struct user_addrinfo *ai)
{
	struct user_addrinfo cur;
	struct gs_resolve_addr a;
	__u32 n = 0;

	for (int i = 0; i < GAI_MAX_ENTRIES && ai && n < GS_RESOLVE_MAX; i++) {
		if (bpf_probe_read_user(&cur, sizeof(cur), ai))
			break;
		ai = cur.ai_next;
		__builtin_memset(&a, 0, sizeof(a));
		if (cur.ai_family == AF_INET && cur.ai_addr) {
			/* struct sockaddr_in: sin_addr at offset 4 */
			if (bpf_probe_read_user(a.addr, 4, cur.ai_addr + 4))
				continue;
		} else if (cur.ai_family == AF_INET6 && cur.ai_addr) {
			/* struct sockaddr_in6: sin6_addr at offset 8 */
			if (bpf_probe_read_user(a.addr, 16, cur.ai_addr + 8))
				continue;
		} else {
			continue;
		}
		a.family = cur.ai_family;
		if (addr_seen(ev, n, &a))
			continue;
		if (n < GS_RESOLVE_MAX)
			ev->addrs[n++] = a;
	}
	return n;
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_getaddrinfo_ret, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gs_resolve_event *ev;
	struct user_addrinfo *ai = NULL;
	struct gai_call *call;
	struct gs_stats *st;
	__u64 now = bpf_ktime_get_ns();

	call = bpf_map_lookup_elem(&gai_calls, &id);
	if (!call)
		return 0;
	if (ret != 0 || bpf_probe_read_user(&ai, sizeof(ai), call->res) || !ai)
		goto out;
	st = stats_get();
	if (!st)
		goto out;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		STAT_INC(st, GS_C_RESOLVE_LOST);
		goto out;
	}
	__builtin_memset(&ev->addrs, 0, sizeof(ev->addrs));
	ev->hdr.type = GS_EV_RESOLVE;
	ev->hdr.size = sizeof(*ev);
	ev->ts_ns = now;
	ev->latency_ns = now - call->ts_ns;
	ev->pid = id >> 32;
	ev->netns_cookie = current_net_key();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	if (bpf_probe_read_user_str(ev->name, sizeof(ev->name), call->node) < 0)
		ev->name[0] = '\0';
	ev->n_addrs = gai_collect(ev, ai);
	bpf_ringbuf_submit(ev, submit_flags());
	STAT_INC(st, GS_C_RESOLVE_EVENTS);
out:
	bpf_map_delete_elem(&gai_calls, &id);
	return 0;
}
