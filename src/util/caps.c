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
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/caps.h"
#include "util/log.h"
#include "util/sandbox.h"

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
	  "load the BPF programs and maps, run the iterators", CAPS_ALWAYS,
	  "yes: before 6.5, every `bpf()` call (map reads, iterators) checks it when `kernel.unprivileged_bpf_disabled` is set" },
	{ CAP_PERFMON, "CAP_PERFMON", CAP_SYS_ADMIN, CAPS_ALWAYS, "always",
	  "attach to tracepoints and the `getaddrinfo` uprobe, read kernel memory", 0,
	  "no: the programs are attached" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", CAP_SYS_ADMIN, CAPS_ALWAYS, "always",
	  "the `cgroup_skb` and `cgroup/sock_create` programs (UDP, DNS, owners)", 0,
	  "no: the programs are attached" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", -1, CAPS_OTHER_NETNS, "unless `scope: netns`",
	  "enter other network namespaces; mount cgroup v2 when none is mounted", CAPS_OTHER_NETNS,
	  "unless `scope: netns`: `setns()` for the TIME_WAIT census and the iterators of other namespaces" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", -1, CAPS_FEATURES, "for every feature",
	  "other users' processes: their `/proc/PID/ns/net` and executables", CAPS_ALWAYS,
	  "yes: new processes' `/proc/PID` entries (names, namespaces)" },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", CAP_DAC_OVERRIDE, CAPS_FEATURES_NOT_ROOT,
	  "for every feature, unless uid 0",
	  "tracefs (root's, mode 0700): the `accept` tracepoints' ids (`accept_owner`)", 0,
	  "no: tracefs is read at start" },
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

uint64_t caps_keep_mask(unsigned int keeps)
{
	uint64_t m = 0;

	for (size_t i = 0; i < caps_n_rows; i++)
		if (caps_rows[i].keep & keeps)
			m |= 1ULL << caps_rows[i].cap;
	return m;
}

size_t caps_names(uint64_t mask, char *buf, size_t size)
{
	size_t i, n = 0, o = 0;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < caps_n_rows; i++) {
		if (!has(mask, caps_rows[i].cap))
			continue;
		if (o < size)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", n ? " " : "",
					      caps_rows[i].name);
		n++;
	}
	return n;
}

/* Every capability not in keep out of the bounding set. Needs CAP_SETPCAP:
 * without it (a start under a reduced bounding set already, or a user with
 * ambient capabilities) the set stays as given: -EPERM. */
static int drop_bounding(uint64_t keep)
{
	for (int cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break; /* past the kernel's last capability */
		if (r == 0 || has(keep, cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	return 0;
}

int caps_drop(uint64_t keep, uint64_t *kept)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
	uint64_t prm;
	int err;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	prm = ((uint64_t)data[1].permitted << 32 | data[0].permitted) & keep;
	err = drop_bounding(keep);
	if (err && err != -EPERM)
		return err;
	/* Ambient capabilities would survive an exec; cleared (EINVAL: < 4.3). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted = (uint32_t)(prm >> (32 * i));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	*kept = prm;
	return err;
}

int caps_lockdown(unsigned int keeps, bool seccomp)
{
	uint64_t kept = 0;
	char names[128];
	int err;

	err = caps_drop(caps_keep_mask(keeps), &kept);
	if (err == -EPERM)
		pr_info("no CAP_SETPCAP: the bounding set stays as given");
	else if (err)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (seccomp && (err = sandbox_seccomp()))
		return err;
	caps_names(kept, names, sizeof(names));
	pr_info("privileges at run time: %s; no-new-privs%s", kept ? names : "no capabilities",
		seccomp ? "; seccomp allow-list" : "");
	return 0;
}
