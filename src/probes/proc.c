// SPDX-License-Identifier: MIT
/*
 * The proc program family (src/bpf/proc.bpf.c): exec/fork/exit records for
 * the process cache and the getaddrinfo() uprobe, libbpf-tools style: open
 * -> configure rodata -> load -> attach, freed in one place
 * (probes_proc_stop). Optional: a failure logs why and leaves its features
 * off. Its records go into the tcp family's ring buffer, so it starts after
 * tcp. The uprobe sits on the libc this agent is linked with unless the
 * config names another (dns.getaddrinfo).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "probes/probes_int.h"
#include "util/log.h"
#include "proc.skel.h"
#include "proc_legacy.skel.h"

/* proc_bpf_open_variant(): the normal or GS_LEGACY object (kcompat.h). */
KCOMPAT_DEFINE_SKEL_OPEN(proc)

int probes_find_own_libc(char *buf, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		const char *base;
		size_t n;

		if (!path)
			continue;
		n = strcspn(path, "\n");
		path[n] = '\0';
		base = strrchr(path, '/') + 1;
		if (!strncmp(base, "libc.so.", 8) || !strncmp(base, "libc-", 5)) {
			if (n < len) {
				memcpy(buf, path, n + 1);
				err = 0;
			}
			break;
		}
	}
	fclose(f);
	return err;
}

/* Does sched_process_exit pass group_dead (6.16+)? Its BTF prototype has
 * three arguments then (the first is the tracepoint's context). */
static bool exit_has_group_dead(const struct btf *btf)
{
	const struct btf_type *t;
	int id;

	id = btf ? btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF) :
		   -1;
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL; /* pointer */
	t = t ? btf__type_by_id(btf, t->type) : NULL; /* func proto */
	return t && btf_is_func_proto(t) && btf_vlen(t) == 3;
}

static void attach_getaddrinfo(struct probes *p)
{
	LIBBPF_OPTS(bpf_uprobe_opts, entry, .func_name = "getaddrinfo");
	LIBBPF_OPTS(bpf_uprobe_opts, ret, .func_name = "getaddrinfo", .retprobe = true);
	const char *libc = p->libc_path;
	int err;

	if (libc && !*libc)
		libc = NULL; /* "" is auto too */
	if (libc && !strcmp(libc, "off")) {
		pr_info("getaddrinfo uprobe off by configuration");
		return;
	}
	if (!libc) {
		err = probes_find_own_libc(p->libc_resolved, sizeof(p->libc_resolved));
		if (err) {
			pr_warn("getaddrinfo uprobe disabled: no libc.so.6 in /proc/self/maps: %s",
				strerror(-err));
			return;
		}
	} else {
		snprintf(p->libc_resolved, sizeof(p->libc_resolved), "%s", libc);
	}
	/* Every process mapping this file, whatever its pid. */
	p->proc_links[PROBES_L_GAI] = bpf_program__attach_uprobe_opts(
		p->proc->progs.handle_getaddrinfo, -1, p->libc_resolved, 0, &entry);
	if (p->proc_links[PROBES_L_GAI])
		p->proc_links[PROBES_L_GAI_RET] = bpf_program__attach_uprobe_opts(
			p->proc->progs.handle_getaddrinfo_ret, -1, p->libc_resolved, 0, &ret);
	if (!p->proc_links[PROBES_L_GAI] || !p->proc_links[PROBES_L_GAI_RET]) {
		pr_warn("getaddrinfo uprobe disabled: failed to attach to getaddrinfo in %s: %s",
			p->libc_resolved, strerror(errno));
		bpf_link__destroy(p->proc_links[PROBES_L_GAI]);
		p->proc_links[PROBES_L_GAI] = NULL;
		p->libc_resolved[0] = '\0';
		return;
	}
	p->features[FEAT_UPROBE_GETADDRINFO] = true;
	pr_info("getaddrinfo uprobe on %s", p->libc_resolved);
}

void probes_proc_start(struct probes *p, const struct config *cfg, const struct scope *s,
		       const struct btf *btf)
{
	struct bpf_program *tps[3], *prog;
	struct proc_bpf *skel;
	bool group_dead;
	int err;

	skel = proc_bpf_open_variant(p->legacy);
	if (!skel) {
		pr_warn("process records disabled: failed to open the proc programs: %s",
			strerror(errno));
		return;
	}
	p->proc = skel;
	skel->rodata->target_netns = s->netns_cookie;
	skel->rodata->gs_netns_by_ino = probes_netns_by_ino();
	skel->rodata->ringbuf_wakeup_bytes = cfg->ringbuf_bytes / 4;
	/* One ring buffer for every record: user space reads one stream. */
	err = bpf_map__reuse_fd(skel->maps.events, probes_tcp_events_fd(p));
	if (err) {
		pr_warn("process records disabled: cannot share the ring buffer: %s",
			strerror(-err));
		goto fail;
	}
	group_dead = exit_has_group_dead(btf);
	bpf_program__set_autoload(skel->progs.handle_sched_process_exit, group_dead);
	bpf_program__set_autoload(skel->progs.handle_sched_process_exit_nogroup, !group_dead);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoattach(prog, false);
	err = proc_bpf__load(skel);
	if (err) {
		pr_warn("process records and getaddrinfo uprobe disabled: failed to load the proc "
			"programs: %s",
			strerror(-err));
		goto fail;
	}
	tps[0] = skel->progs.handle_sched_process_exec;
	tps[1] = skel->progs.handle_sched_process_fork;
	tps[2] = group_dead ? skel->progs.handle_sched_process_exit :
			      skel->progs.handle_sched_process_exit_nogroup;
	for (int i = 0; i < 3; i++) {
		p->proc_links[i] = bpf_program__attach(tps[i]);
		if (!p->proc_links[i]) {
			pr_warn("process records disabled: failed to attach %s: %s",
				bpf_program__name(tps[i]), strerror(errno));
			for (int j = 0; j < i; j++) {
				bpf_link__destroy(p->proc_links[j]);
				p->proc_links[j] = NULL;
			}
			break;
		}
	}
	p->features[FEAT_PROC_EVENTS] = p->proc_links[PROBES_L_EXEC] != NULL;
	attach_getaddrinfo(p);
	return;
fail:
	proc_bpf__destroy(skel);
	p->proc = NULL;
}

const void *probes_proc_elf(size_t *sz)
{
	return proc_bpf__elf_bytes(sz);
}

void probes_proc_stop(struct probes *p)
{
	for (int i = 0; i < PROBES_L_MAX; i++) {
		bpf_link__destroy(p->proc_links[i]);
		p->proc_links[i] = NULL;
	}
	proc_bpf__destroy(p->proc);
	p->proc = NULL;
}
