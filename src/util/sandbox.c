// SPDX-License-Identifier: MIT
/*
 * The seccomp allow-list (sandbox.h), with libseccomp: it resolves names per
 * architecture, so one list serves x86_64 and arm64 (names an architecture
 * lacks, such as `open` on arm64, are skipped). What is on it, by who makes
 * the call after start:
 *   the loop: epoll, signalfd, timerfd, read/write, clock_gettime;
 *   the probes: bpf (map reads, iterators), setns into other namespaces
 *     (the TIME_WAIT census and the iterators with scope: host), netlink
 *     sock_diag sockets;
 *   the caches: openat/getdents64/readlink for /proc and /sys/fs/cgroup;
 *   the exporters: sockets, sendmsg, connect; libcurl (threads for its
 *     resolver, poll, getrandom for TLS) and getaddrinfo (/etc files, UDP
 *     DNS, NSS modules mapped in);
 *   a SIGHUP reload: opening the config, new listeners;
 *   libc itself: mmap, brk, futex, rseq, signals, exit.
 * The default action is EPERM rather than a kill: an unknown call from a
 * library fails one operation, which is logged, instead of the agent.
 */
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "util/log.h"
#include "util/sandbox.h"

const char *const sandbox_allowed[] = {
	/* files, /proc, the config */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"lseek",
	"close",
	"open",
	"openat",
	"openat2",
	"stat",
	"fstat",
	"lstat",
	"newfstatat",
	"statx",
	"fstatfs",
	"statfs",
	"readlink",
	"readlinkat",
	"getdents64",
	"access",
	"faccessat",
	"faccessat2",
	"fcntl",
	"ioctl",
	"dup",
	"dup2",
	"dup3",
	"pipe",
	"pipe2",
	"getcwd",
	"umask",
	/* the loop */
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"signalfd4",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"eventfd2",
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	/* sockets: exporters, HTTP, DNS, sock_diag */
	"socket",
	"socketpair",
	"connect",
	"bind",
	"listen",
	"accept",
	"accept4",
	"sendto",
	"sendmsg",
	"sendmmsg",
	"recvfrom",
	"recvmsg",
	"recvmmsg",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	"sendfile",
	/* the kernel side */
	"bpf",
	"setns",
	/* memory, threads (libcurl's resolver), signals, exit */
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"brk",
	"madvise",
	"futex",
	"futex_waitv",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"set_tid_address",
	"clone",
	"clone3",
	"sched_yield",
	"sched_getaffinity",
	"membarrier",
	"prctl",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"tgkill",
	"gettid",
	"getpid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getrandom",
	"uname",
	"sysinfo",
	"getrlimit",
	"prlimit64",
	"getrusage",
	"capget",
	"exit",
	"exit_group",
};

const size_t sandbox_n_allowed = sizeof(sandbox_allowed) / sizeof(sandbox_allowed[0]);

int sandbox_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sandbox_n_allowed && !err; i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* every thread, the ones that exist (none yet) and the ones to come */
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = seccomp_load(ctx);
	if (err)
		pr_err("seccomp: cannot install the allow-list: %s", strerror(-err));
	seccomp_release(ctx);
	return err;
}
