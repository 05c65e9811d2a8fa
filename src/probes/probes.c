// SPDX-License-Identifier: MIT
/*
 * Starting and stopping the kernel side. The running kernel is probed once
 * (BTF, kprobes, fentry, the fallbacks of kcompat.c), then each program
 * family starts in turn from its own file: tcp.c (required), proc.c and
 * udp.c (optional), each open -> configure -> load -> attach with one
 * cleanup path. Every choice is a feature flag here, logged at start and
 * exported as gespann_feature_enabled.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "probes/probes_int.h"
#include "probes/readers.h"
#include "util/log.h"

#define FEATURE_NAME(id, name) [id] = name,
static const char *const feature_names[FEAT_MAX] = { PROBES_FEATURES(FEATURE_NAME) };
#undef FEATURE_NAME

const char *feature_name(enum feature f)
{
	return f < FEAT_MAX ? feature_names[f] : "unknown";
}

/* ==== Kernel fallbacks (kcompat.c probes, src/bpf/lib/compat.bpf.h) ==== */

/* The kernel-dependent choices every family shares, made once per start,
 * each logged when it falls back. */
static void probe_fallbacks(struct probes *p)
{
	p->features[FEAT_NETNS_COOKIE] = !probes_netns_by_ino();
	p->features[FEAT_BPF_ATOMICS] = kcompat_has_atomics();
	p->legacy = !p->features[FEAT_BPF_ATOMICS];
	if (p->legacy)
		pr_warn("the kernel has no BPF atomic exchange (before 5.12): loading the "
			"legacy programs");
	p->features[FEAT_CGROUP_SKB_NETNS_COOKIE] =
		kcompat_prog_has_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_netns_cookie);
	/* The UDP owner refresh at egress needs the current-task helpers. */
	p->features[FEAT_CGROUP_SKB_PID] = kcompat_skb_has_current_task();
}

/* Names of enum sk_rst_reason (6.10+) from the running kernel, so labels
 * follow the kernel rather than a copy of its header. */
static void load_reset_reasons(struct probes *p, const struct btf *btf)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	const char *prefix = "SK_RST_REASON_";
	int id;

	/* Before 6.10 nothing gives a reason: "unknown", not a guess. 6.10+
	 * names 0 itself (not_specified). */
	snprintf(p->reset_reason_names[0], sizeof(p->reset_reason_names[0]), "unknown");
	p->n_reset_reasons = 1;
	if (!btf)
		return;
	id = btf__find_by_name_kind(btf, "sk_rst_reason", BTF_KIND_ENUM);
	if (id <= 0)
		return;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (unsigned int i = 0; i < btf_vlen(t); i++, e++) {
		const char *n = btf__name_by_offset(btf, e->name_off);
		char *out;
		size_t j;

		if (e->val < 0 || e->val >= 64 || !n)
			continue;
		if (!strncmp(n, prefix, strlen(prefix)))
			n += strlen(prefix);
		out = p->reset_reason_names[e->val];
		for (j = 0; n[j] && j < sizeof(p->reset_reason_names[0]) - 1; j++)
			out[j] = (n[j] >= 'A' && n[j] <= 'Z') ? n[j] - 'A' + 'a' : n[j];
		out[j] = '\0';
		if ((unsigned int)e->val + 1 > p->n_reset_reasons)
			p->n_reset_reasons = e->val + 1;
	}
}

/* fentry needs BPF trampolines: load and attach an empty program to a
 * stable function, the only test that does not lie (the config may claim
 * support the kernel then refuses). */
static bool probe_fentry(const struct btf *btf)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	int id, prog_fd, link_fd;

	id = btf ? btf__find_by_name_kind(btf, "tcp_set_state", BTF_KIND_FUNC) : -1;
	if (id <= 0)
		return false;
	opts.attach_btf_id = id;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "gs_probe", "GPL", insns, 2, &opts);
	if (prog_fd < 0)
		return false;
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_FENTRY, NULL);
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return link_fd >= 0;
}

bool probes_kprobe_exists(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
}

int probes_start(struct probes *p, const struct config *cfg, const struct scope *scope)
{
	const char *libc_path = p->libc_path;
	struct btf *btf;
	int err;

	memset(p, 0, sizeof(*p));
	p->libc_path = libc_path;
	p->cgroup_fd = -1;
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		err = -errno;
		/* libbpf says ESRCH for "none found": say what that means. */
		pr_err("kernel BTF not found or unreadable (/sys/kernel/btf/vmlinux): Gespann "
		       "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return err ? err : -ENOENT;
	}
	p->features[FEAT_BTF] = true;
	load_reset_reasons(p, btf);
	/* Reported, not used: this build relies on tracepoints only. */
	p->features[FEAT_KPROBE] = probes_kprobe_exists();
	p->features[FEAT_FENTRY] = probe_fentry(btf);
	probe_fallbacks(p);

	err = probes_tcp_start(p, cfg, scope, btf);
	if (!err)
		probes_proc_start(p, cfg, scope, btf);
	btf__free(btf);
	if (err)
		goto cleanup;
	/* dns.enabled: false leaves the DNS packets in the kernel. */
	err = probes_udp_start(p, cfg, scope, cfg->dns_enabled);
	if (err)
		goto cleanup;
	for (int i = 0; i < FEAT_MAX; i++)
		pr_info("feature %s: %s", feature_name(i), p->features[i] ? "on" : "off");
	return 0;

cleanup:
	probes_stop(p);
	return err;
}

void probes_stop(struct probes *p)
{
	if (!p)
		return;
	probes_readers_free(p);
	probes_proc_stop(p);
	probes_udp_stop(p);
	probes_tcp_stop(p);
}
