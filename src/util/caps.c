// SPDX-License-Identifier: MIT
/*
 * The capabilities the agent needs (caps.h), read with capget(2): no library
 * for one system call. The kernel accepts CAP_SYS_ADMIN in place of CAP_BPF,
 * CAP_PERFMON and CAP_NET_ADMIN (bpf_capable(), perfmon_capable(),
 * bpf_net_capable()), so root, or a process with CAP_SYS_ADMIN alone, passes.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/caps.h"

/* Older headers: the numbers are fixed by the kernel ABI (5.8). */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* clang-format off */
const struct caps_row caps_rows[] = {
	{ CAP_BPF, "CAP_BPF", CAP_SYS_ADMIN, CAPS_ALWAYS, "always",
	  "load the BPF programs and maps, run the iterators" },
	{ CAP_PERFMON, "CAP_PERFMON", CAP_SYS_ADMIN, CAPS_ALWAYS, "always",
	  "attach to tracepoints and the `getaddrinfo` uprobe, read kernel memory" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", CAP_SYS_ADMIN, CAPS_ALWAYS, "always",
	  "the `cgroup_skb` and `cgroup/sock_create` programs (UDP, DNS, owners)" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", -1, CAPS_OTHER_NETNS, "unless `scope: netns`",
	  "enter other network namespaces; mount cgroup v2 when none is mounted" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", -1, CAPS_FEATURES, "for every feature",
	  "other users' processes: their `/proc/PID/ns/net` and executables" },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", CAP_DAC_OVERRIDE, CAPS_FEATURES_NOT_ROOT,
	  "for every feature, unless uid 0",
	  "tracefs (root's, mode 0700): the `accept` tracepoints' ids (`accept_owner`)" },
};
/* clang-format on */

const size_t caps_n_rows = sizeof(caps_rows) / sizeof(caps_rows[0]);

int caps_effective(uint64_t *mask)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*mask = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

static bool has(uint64_t eff, int cap)
{
	return cap >= 0 && cap < 64 && (eff >> cap & 1);
}

size_t caps_missing(uint64_t eff, unsigned int needs, char *buf, size_t size)
{
	size_t i, n = 0, o = 0;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < caps_n_rows; i++) {
		const struct caps_row *r = &caps_rows[i];

		if (!(r->need & needs) || has(eff, r->cap) || has(eff, r->alt))
			continue;
		if (o < size)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", n ? " " : "", r->name);
		n++;
	}
	return n;
}
