// SPDX-License-Identifier: MIT
/*
 * `gespann -check-prereqs` (prereqs.h). A hard-coded list of tracepoints
 * drifts from the programs: it checked hooks nobody used and missed ones the
 * agent needs. Here the hook list is the programs themselves: each family's
 * object is opened (never loaded) and every program's section is checked the
 * way the family's start checks it before attaching (tp_btf: the
 * btf_trace_<name> typedef; tracepoints: tracefs; iterators: bpf_iter_<name>
 * in BTF; cgroup programs: cgroup v2 and CONFIG_CGROUP_BPF; uprobes: the
 * libc the agent would probe). The map types come from the objects too. The
 * feature rows are PROBES_FEATURES, in the words gespann_feature_enabled
 * uses; a switch without default makes a new feature a compile warning here.
 * Required is what the agent refuses to start without: every hook of the tcp
 * family (probes_tcp_start loads them all) except those tcp.c switches off.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "probes/prereqs.h"
#include "probes/probes_int.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

/* The program families: a new one must be added here (the unit test
 * compares the hooks with the SEC() names in every .bpf.c of src/bpf). */
static const struct prereq_family {
	const char *name;
	const void *(*elf)(size_t *sz);
	bool required; /* probes_start fails without it */
} families[] = {
	{ "tcp", probes_tcp_elf, true },
	{ "udp", probes_udp_elf, false },
	{ "proc", probes_proc_elf, false },
};

/* The feature each hook serves, and the tcp hooks tcp.c switches off when
 * the kernel lacks them (every other tcp hook is required). A hook not
 * listed serves no feature of its own (iter/tcp: seeding at start). */
static const struct hook_use {
	const char *sec;
	enum feature feat;
	bool optional;
} hook_uses[] = {
	{ "tp_btf/inet_sock_set_state", FEAT_TP_INET_SOCK_SET_STATE, false },
	{ "tp_btf/tcp_send_reset", FEAT_TP_TCP_SEND_RESET, true },
	{ "tp_btf/tcp_receive_reset", FEAT_TP_TCP_RECEIVE_RESET, true },
	{ "tracepoint/syscalls/sys_exit_accept4", FEAT_ACCEPT_OWNER, true },
	{ "tracepoint/syscalls/sys_exit_accept", FEAT_ACCEPT_OWNER, true },
	{ "raw_tp", FEAT_LIVE_REFRESH, true },
	{ "cgroup_skb/egress", FEAT_CGROUP_SKB_UDP, true },
	{ "cgroup_skb/ingress", FEAT_CGROUP_SKB_UDP, true },
	{ "cgroup/sock_create", FEAT_UDP_OWNER, true },
	{ "iter/task_file", FEAT_UDP_OWNER_SEED, true },
	{ "iter/udp", FEAT_UDP_OWNER_SEED, true },
	{ "tp_btf/sched_process_exec", FEAT_PROC_EVENTS, true },
	{ "tp_btf/sched_process_fork", FEAT_PROC_EVENTS, true },
	{ "tp_btf/sched_process_exit", FEAT_PROC_EVENTS, true },
	{ "uprobe", FEAT_UPROBE_GETADDRINFO, true },
	{ "uretprobe", FEAT_UPROBE_GETADDRINFO, true },
};

/* What the kernel and system offer, gathered once. */
struct prereq_env {
	struct btf *btf;
	bool privileged;
	const char *tracefs; /* NULL: not mounted */
	bool tracefs_fs;     /* in /proc/filesystems */
	char cgroup2[256];   /* mount point, "" when none */
	bool cgroup2_fs;
	char libc[256];
	int libc_err;
};

static const char *const status_names[] = {
	[PREREQ_OK] = "ok",
	[PREREQ_NOT_USED] = "not used",
	[PREREQ_FALLBACK] = "fallback",
	[PREREQ_UNKNOWN_ROOT] = "unknown (needs root)",
	[PREREQ_UNKNOWN] = "unknown",
	[PREREQ_UNAVAILABLE] = "unavailable",
	[PREREQ_MISSING] = "missing",
};

const char *prereqs_status_name(enum prereq_status s)
{
	return s <= PREREQ_MISSING ? status_names[s] : "?";
}

static struct prereq_row *row_add(struct prereqs *r, const char *name)
{
	static struct prereq_row spare; /* written, never printed */
	struct prereq_row *row = r->n < PREREQS_MAX_ROWS ? &r->rows[r->n++] : &spare;

	memset(row, 0, sizeof(*row));
	snprintf(row->name, sizeof(row->name), "%s", name);
	row->feature = -1;
	return row;
}

__attribute__((format(printf, 3, 4))) static void
row_set(struct prereq_row *row, enum prereq_status s, const char *fmt, ...)
{
	va_list ap;

	row->status = s;
	va_start(ap, fmt);
	vsnprintf(row->detail, sizeof(row->detail), fmt, ap);
	va_end(ap);
}

static struct prereq_row *row_find(struct prereqs *r, const char *name, bool hook)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].hook == hook && !strcmp(r->rows[i].name, name))
			return &r->rows[i];
	return NULL;
}

/* ==== The system ==== */

/* First mount point of file system TYPE into dir ("" when none); whether
 * the kernel knows TYPE at all into *known. */
static void find_mount(const char *type, char *dir, size_t len, bool *known)
{
	char line[512], dev[128], mnt[256], t[64];
	FILE *f;

	dir[0] = '\0';
	*known = false;
	f = fopen("/proc/mounts", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!dir[0] && sscanf(line, "%127s %255s %63s", dev, mnt, t) == 3 &&
		    !strcmp(t, type))
			snprintf(dir, len, "%s", mnt);
	if (f)
		fclose(f);
	f = fopen("/proc/filesystems", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nodev %63s", t) == 1 && !strcmp(t, type))
			*known = true;
	if (f)
		fclose(f);
}

static void check_kernel(struct prereqs *r)
{
	struct prereq_row *row = row_add(r, "kernel");
	struct utsname u;
	int major = 0, minor = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &major, &minor);
	if (major > 5 || (major == 5 && minor >= 10))
		row_set(row, PREREQ_OK, "%s", u.release);
	else
		row_set(row, PREREQ_UNAVAILABLE, "%s: 5.10 or newer is supported", u.release);
}

/* Effective capabilities: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON. */
static bool check_privileges(struct prereqs *r)
{
	struct prereq_row *row = row_add(r, "privileges");
	unsigned long long eff = 0;
	char line[256], who[32];
	bool ok;
	FILE *f = fopen("/proc/self/status", "re");
	int sys_admin, perfmon, bpf;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	sys_admin = (eff >> 21) & 1;
	perfmon = (eff >> 38) & 1;
	bpf = (eff >> 39) & 1;
	ok = sys_admin || (bpf && perfmon);
	row->required = true;
	snprintf(who, sizeof(who), geteuid() ? "uid %u" : "root", geteuid());
	row_set(row, ok ? PREREQ_OK : PREREQ_MISSING,
		"%s, CAP_SYS_ADMIN=%d CAP_PERFMON=%d CAP_BPF=%d%s", who, sys_admin, perfmon, bpf,
		ok ? "" : ": run as root or with CAP_BPF+CAP_PERFMON");
	return ok;
}

static void check_mounts(struct prereqs *r, struct prereq_env *env)
{
	struct prereq_row *row = row_add(r, "cgroup v2");
	char dir[256];

	find_mount("cgroup2", env->cgroup2, sizeof(env->cgroup2), &env->cgroup2_fs);
	if (env->cgroup2[0])
		row_set(row, PREREQ_OK, "mounted at %s", env->cgroup2);
	else if (env->cgroup2_fs)
		row_set(row, PREREQ_OK, "not mounted: the agent mounts one at start");
	else
		row_set(row, PREREQ_MISSING, "the kernel has no cgroup2 file system");

	row = row_add(r, "tracefs");
	find_mount("tracefs", dir, sizeof(dir), &env->tracefs_fs);
	env->tracefs = probes_tracefs_dir(false);
	if (env->tracefs)
		row_set(row, PREREQ_OK, "events at %s", env->tracefs);
	else if (env->tracefs_fs)
		row_set(row, PREREQ_OK, "not mounted: the agent mounts it at start");
	else
		row_set(row, PREREQ_MISSING, "the kernel has no tracefs");
}

/* ==== Hooks and maps, from the objects ==== */

static bool btf_has(const struct btf *btf, const char *prefix, const char *name, int kind)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s%s", prefix, name);
	return btf && btf__find_by_name_kind(btf, buf, kind) > 0;
}

bool probes_btf_enum_has(const struct btf *btf, const char *enum_name, const char *value)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id = btf ? btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM) : -1;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (unsigned int i = 0; i < btf_vlen(t); i++, e++)
		if (!strcmp(btf__name_by_offset(btf, e->name_off), value))
			return true;
	return false;
}

static void check_tracepoint(struct prereq_row *row, const struct prereq_env *env,
			     const char *target)
{
	char cat[64];
	const char *name = strchr(target, '/');

	if (!name || (size_t)(name - target) >= sizeof(cat)) {
		row_set(row, PREREQ_UNKNOWN, "cannot parse the tracepoint %s", target);
		return;
	}
	snprintf(cat, sizeof(cat), "%.*s", (int)(name - target), target);
	name++;
	if (!env->tracefs)
		row_set(row, env->tracefs_fs ? PREREQ_UNKNOWN : PREREQ_MISSING,
			"tracefs is not mounted%s",
			env->tracefs_fs ? " (the agent mounts it)" : "");
	else if (probes_tracepoint_exists(env->tracefs, cat, name))
		row_set(row, PREREQ_OK, "%s/events/%s/%s in tracefs", env->tracefs, cat, name);
	else if (access(env->tracefs, R_OK | X_OK))
		row_set(row, PREREQ_UNKNOWN_ROOT, "%s is not readable", env->tracefs);
	else
		row_set(row, PREREQ_MISSING, "no %s/events/%s/%s (CONFIG_FTRACE_SYSCALLS?)",
			env->tracefs, cat, name);
}

static void check_uprobe(struct prereq_row *row, const struct prereq_env *env)
{
	if (access("/sys/bus/event_source/devices/uprobe/type", F_OK))
		row_set(row, PREREQ_MISSING, "no uprobe PMU (CONFIG_UPROBE_EVENTS)");
	else if (env->libc_err)
		row_set(row, PREREQ_MISSING, "no libc.so.6 in /proc/self/maps");
	else
		row_set(row, PREREQ_OK, "getaddrinfo in %s (dns.getaddrinfo: auto)", env->libc);
}

/* Check the hook of PROG into row: what the kernel must offer for it to
 * load and attach. */
static void check_hook(struct prereq_row *row, const struct prereq_env *env,
		       const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *slash = strchr(sec, '/'), *target = slash ? slash + 1 : "";
	enum bpf_attach_type eat = bpf_program__expected_attach_type(prog);
	bool found;

	switch (bpf_program__type(prog)) {
	case BPF_PROG_TYPE_TRACING:
		if (eat == BPF_TRACE_RAW_TP) {
			found = probes_btf_has_tracepoint(env->btf, target);
			row_set(row, found ? PREREQ_OK : PREREQ_MISSING, "btf_trace_%s %s BTF",
				target, found ? "in" : "not in");
		} else if (eat == BPF_TRACE_ITER) {
			found = btf_has(env->btf, "bpf_iter_", target, BTF_KIND_FUNC);
			row_set(row, found ? PREREQ_OK : PREREQ_MISSING,
				"iterator bpf_iter_%s %s BTF", target, found ? "in" : "not in");
		} else {
			row_set(row, PREREQ_UNKNOWN, "a tracing hook check-prereqs does not know");
		}
		break;
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		if (!*target) {
			row_set(row, PREREQ_OK,
				"run on demand (BPF_PROG_TEST_RUN), never attached");
		} else {
			found = probes_btf_has_tracepoint(env->btf, target);
			row_set(row, found ? PREREQ_OK : PREREQ_MISSING, "btf_trace_%s %s BTF",
				target, found ? "in" : "not in");
		}
		break;
	case BPF_PROG_TYPE_TRACEPOINT:
		check_tracepoint(row, env, target);
		break;
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_CGROUP_SOCK:
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
	case BPF_PROG_TYPE_CGROUP_SOCKOPT:
		/* __cgroup_bpf_run_filter_skb exists with CONFIG_CGROUP_BPF. */
		if (!btf_has(env->btf, "", "__cgroup_bpf_run_filter_skb", BTF_KIND_FUNC))
			row_set(row, PREREQ_MISSING, "CONFIG_CGROUP_BPF is not set (BTF)");
		else if (!env->cgroup2[0] && !env->cgroup2_fs)
			row_set(row, PREREQ_MISSING, "no cgroup v2");
		else
			row_set(row, PREREQ_OK, "cgroup v2 root, CONFIG_CGROUP_BPF");
		break;
	case BPF_PROG_TYPE_KPROBE:
		if (!strncmp(sec, "uprobe", 6) || !strncmp(sec, "uretprobe", 9))
			check_uprobe(row, env);
		else
			row_set(row, probes_kprobe_exists() ? PREREQ_OK : PREREQ_MISSING,
				"kprobe PMU (CONFIG_KPROBE_EVENTS)");
		break;
	default:
		row_set(row, PREREQ_UNKNOWN, "a program type check-prereqs does not know");
		break;
	}
}

static const struct hook_use *hook_use_of(const char *sec)
{
	for (size_t i = 0; i < sizeof(hook_uses) / sizeof(hook_uses[0]); i++)
		if (!strcmp(hook_uses[i].sec, sec))
			return &hook_uses[i];
	return NULL;
}

static void check_map(struct prereqs *r, const struct prereq_env *env, const struct bpf_map *map,
		      bool required)
{
	enum bpf_map_type type = bpf_map__type(map);
	const char *tname = libbpf_bpf_map_type_str(type);
	struct prereq_row *row;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "map %s", tname ? tname : "?");
	row = row_find(r, name, false);
	if (row) {
		row->required |= required;
		return;
	}
	row = row_add(r, name);
	row->required = required;
	if (!env->privileged) {
		row_set(row, PREREQ_UNKNOWN_ROOT, "map_type %s is probed by creating one", tname);
		return;
	}
	ret = libbpf_probe_bpf_map_type(type, NULL);
	if (ret > 0)
		row_set(row, PREREQ_OK, "map_type %s is available", tname);
	else if (ret == 0)
		row_set(row, PREREQ_MISSING, "map_type %s is NOT available", tname);
	else
		row_set(row, PREREQ_UNAVAILABLE, "probing map_type %s failed: %s", tname,
			strerror(-ret));
}

/* Add the hook row of PROG (of family FAM), or name PROG in the row of
 * another program on the same hook. */
static void add_hook(struct prereqs *r, const struct prereq_env *env,
		     const struct prereq_family *fam, const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const struct hook_use *use = hook_use_of(sec);
	struct prereq_row *row = row_find(r, sec, true);
	size_t n;

	if (!row) {
		row = row_add(r, sec);
		row->hook = true;
		row->required = fam->required && !(use && use->optional);
		row->feature = use ? (int)use->feat : -1;
		check_hook(row, env, prog);
		n = strlen(row->detail);
		snprintf(row->detail + n, sizeof(row->detail) - n, " [%s: %s]", fam->name,
			 bpf_program__name(prog));
		return;
	}
	n = strlen(row->detail) - 1; /* before the ']' */
	snprintf(row->detail + n, sizeof(row->detail) - n, ", %s]", bpf_program__name(prog));
}

/* Open every family's object (never loaded), add their map types, then
 * their hooks. */
static void check_families(struct prereqs *r, const struct prereq_env *env)
{
	enum { N_FAM = sizeof(families) / sizeof(families[0]) };
	struct bpf_object *objs[N_FAM];
	struct bpf_program *prog;
	struct bpf_map *map;

	for (size_t i = 0; i < N_FAM; i++) {
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = families[i].name);
		size_t sz;
		const void *elf = families[i].elf(&sz);

		objs[i] = bpf_object__open_mem(elf, sz, &opts);
		if (!objs[i])
			row_set(row_add(r, families[i].name), PREREQ_UNKNOWN,
				"cannot open the %s programs: %s", families[i].name,
				strerror(errno));
	}
	for (size_t i = 0; i < N_FAM; i++) {
		if (!objs[i])
			continue;
		bpf_object__for_each_map(map, objs[i])
			if (!bpf_map__is_internal(map))
				check_map(r, env, map, families[i].required);
	}
	for (size_t i = 0; i < N_FAM; i++) {
		if (!objs[i])
			continue;
		bpf_object__for_each_program(prog, objs[i])
			add_hook(r, env, &families[i], prog);
	}
	for (size_t i = 0; i < N_FAM; i++)
		bpf_object__close(objs[i]);
}

/* ==== Features (PROBES_FEATURES) ==== */

/* The worst status of the hooks serving F, and their names into detail. */
static enum prereq_status hooks_status(const struct prereqs *r, enum feature f, char *detail,
				       size_t len)
{
	enum prereq_status s = PREREQ_OK;
	size_t n = 0;

	snprintf(detail, len, "no hook");
	for (size_t i = 0; i < r->n; i++) {
		if (!r->rows[i].hook || r->rows[i].feature != (int)f)
			continue;
		if (r->rows[i].status > s)
			s = r->rows[i].status;
		n += snprintf(detail + n, n < len ? len - n : 0, "%s%s", n ? ", " : "hooks ",
			      r->rows[i].name);
	}
	return s;
}

/* A kcompat probe: it loads a program, so without privileges no answer. */
static void kcompat_row(struct prereq_row *row, const struct prereq_env *env, bool (*probe)(void),
			const char *what, const char *fallback)
{
	if (!env->privileged)
		row_set(row, PREREQ_UNKNOWN_ROOT, "%s: probed by loading a program", what);
	else if (probe())
		row_set(row, PREREQ_OK, "%s", what);
	else
		row_set(row, PREREQ_FALLBACK, "no %s: %s", what, fallback);
}

static bool has_netns_cookie_helper(void)
{
	return kcompat_prog_has_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_netns_cookie);
}

static void check_feature(struct prereqs *r, const struct prereq_env *env, enum feature f)
{
	struct prereq_row *row = row_add(r, feature_name(f)), *dep;
	char hooks[sizeof(row->detail) - 64];
	enum prereq_status s = hooks_status(r, f, hooks, sizeof(hooks));

	row->required = false;
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].hook && r->rows[i].feature == (int)f && r->rows[i].required)
			row->required = true;
	switch (f) {
	case FEAT_BTF:
		row->required = true;
		row_set(row, env->btf ? PREREQ_OK : PREREQ_MISSING, "%s",
			env->btf ? VMLINUX_BTF :
				   "no " VMLINUX_BTF ": the kernel needs CONFIG_DEBUG_INFO_BTF=y");
		break;
	case FEAT_RINGBUF:
		dep = row_find(r, "map ringbuf", false);
		row->required = dep && dep->required;
		row_set(row, dep ? dep->status : PREREQ_NOT_USED, "%s",
			dep ? dep->detail : "no ring buffer map in the programs");
		break;
	case FEAT_TCP_RESET_REASON:
		s = hooks_status(r, FEAT_TP_TCP_SEND_RESET, hooks, sizeof(hooks));
		if (s == PREREQ_OK && !btf_has(env->btf, "", "sk_rst_reason", BTF_KIND_ENUM))
			row_set(row, PREREQ_FALLBACK,
				"no enum sk_rst_reason in BTF (before 6.10): "
				"reset_reason is unknown");
		else
			row_set(row, s, "enum sk_rst_reason in BTF, %s", hooks);
		break;
	case FEAT_LIVE_REFRESH:
		/* tcp.c asks libbpf, which loads a program. */
		if (s == PREREQ_OK && !env->privileged)
			s = PREREQ_UNKNOWN_ROOT;
		else if (s == PREREQ_OK &&
			 libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
						 BPF_FUNC_for_each_map_elem, NULL) <= 0)
			s = PREREQ_MISSING;
		row_set(row, s, "bpf_for_each_map_elem (5.13+), %s", hooks);
		break;
	case FEAT_KPROBE:
		row_set(row, PREREQ_NOT_USED, "this build attaches no kprobes (kprobe PMU: %s)",
			probes_kprobe_exists() ? "present" : "absent");
		break;
	case FEAT_FENTRY:
		row_set(row, PREREQ_NOT_USED, "this build attaches no fentry/fexit programs");
		break;
	case FEAT_DNS_CAPTURE:
		/* A knob of the cgroup_skb programs (dns.enabled). */
		s = hooks_status(r, FEAT_CGROUP_SKB_UDP, hooks, sizeof(hooks));
		row_set(row, s, "in the UDP programs, %s", hooks);
		break;
	case FEAT_BPF_ATOMICS:
		kcompat_row(row, env, kcompat_has_atomics, "BPF_XCHG/BPF_OR (5.12+)",
			    "the GS_LEGACY programs are loaded");
		break;
	case FEAT_NETNS_COOKIE:
		/* A socket option: no privileges needed. */
		if (kcompat_has_netns_cookie())
			row_set(row, PREREQ_OK, "SO_NETNS_COOKIE (5.14+)");
		else
			row_set(row, PREREQ_FALLBACK,
				"no SO_NETNS_COOKIE (5.14+): network "
				"namespaces are identified by inode number");
		break;
	case FEAT_CGROUP_SKB_NETNS_COOKIE:
		kcompat_row(row, env, has_netns_cookie_helper, "bpf_get_netns_cookie in cgroup_skb",
			    "UDP flows take the netns from their socket");
		break;
	case FEAT_CGROUP_SKB_PID:
		kcompat_row(row, env, kcompat_skb_has_current_task,
			    "current-task helpers in cgroup_skb",
			    "UDP flows are named by their socket's creator");
		break;
	case FEAT_TCP_OWNER_SEED:
		/* Its hook's row is udp_owner_seed's (hook_uses: one feature
		 * per section): the tcp program shares iter/task_file. */
		dep = row_find(r, "iter/task_file", true);
		s = dep ? dep->status : PREREQ_MISSING;
		snprintf(hooks, sizeof(hooks), "hooks iter/task_file");
		/* fall through */
	case FEAT_UDP_OWNER_SEED:
		if (s == PREREQ_OK &&
		    !probes_btf_enum_has(env->btf, "bpf_func_id", "BPF_FUNC_sock_from_file"))
			row_set(row, PREREQ_FALLBACK, "no bpf_sock_from_file (5.11+): %s",
				f == FEAT_UDP_OWNER_SEED ?
					"UDP sockets older than the agent are named when they send" :
					"TCP connections older than the agent are unknown");
		else
			row_set(row, s == PREREQ_MISSING ? PREREQ_FALLBACK : s,
				"bpf_sock_from_file in BTF, %s", hooks);
		break;
	case FEAT_TP_INET_SOCK_SET_STATE:
	case FEAT_TP_TCP_SEND_RESET:
	case FEAT_TP_TCP_RECEIVE_RESET:
	case FEAT_CGROUP_SKB_UDP:
	case FEAT_ACCEPT_OWNER:
	case FEAT_PROC_EVENTS:
	case FEAT_UPROBE_GETADDRINFO:
	case FEAT_UDP_OWNER:
	case FEAT_MAX:
		row_set(row, s, "%s", hooks);
		break;
	}
}

void prereqs_collect(struct prereqs *r)
{
	struct prereq_env env = { 0 };

	r->n = 0;
	check_kernel(r);
	env.privileged = check_privileges(r);
	check_mounts(r, &env);
	env.btf = btf__load_vmlinux_btf();
	env.libc_err = probes_find_own_libc(env.libc, sizeof(env.libc));
	check_families(r, &env);
	for (int f = 0; f < FEAT_MAX; f++)
		check_feature(r, &env, f);
	btf__free(env.btf);
}

/* ==== Output ==== */

/* One summary line: PREFIX, then the names of the rows matching. */
static void print_list(FILE *out, const struct prereqs *r, const char *prefix, bool required,
		       enum prereq_status lo, enum prereq_status hi)
{
	bool any = false;

	for (size_t i = 0; i < r->n; i++) {
		const struct prereq_row *row = &r->rows[i];

		if (row->required != required || row->status < lo || row->status > hi)
			continue;
		fprintf(out, "%s%s", any ? ", " : prefix, row->name);
		any = true;
	}
	if (any)
		fputc('\n', out);
}

int prereqs_print(FILE *out, const struct prereqs *r)
{
	int wf = 7, ws = 6, bad = 0;

	for (size_t i = 0; i < r->n; i++) {
		int n = (int)strlen(r->rows[i].name), s;

		s = (int)strlen(prereqs_status_name(r->rows[i].status));
		wf = n > wf ? n : wf;
		ws = s > ws ? s : ws;
		bad |= r->rows[i].required && r->rows[i].status != PREREQ_OK;
	}
	fprintf(out, "%-*s  %-*s  %s\n", wf, "FEATURE", ws, "STATUS", "DETAIL");
	for (size_t i = 0; i < r->n; i++)
		fprintf(out, "%-*s  %-*s  %s%s\n", wf, r->rows[i].name, ws,
			prereqs_status_name(r->rows[i].status), r->rows[i].detail,
			r->rows[i].required ? " (required)" : "");
	fputc('\n', out);
	print_list(out, r, "fallback (the agent works around it): ", false, PREREQ_FALLBACK,
		   PREREQ_FALLBACK);
	print_list(out, r, "unknown (not checked here): ", false, PREREQ_UNKNOWN_ROOT,
		   PREREQ_UNKNOWN);
	print_list(out, r, "warning: not available (the matching probes are switched off): ", false,
		   PREREQ_UNAVAILABLE, PREREQ_MISSING);
	print_list(out, r, "error: required feature(s) not available: ", true, PREREQ_NOT_USED,
		   PREREQ_MISSING);
	if (!bad)
		fprintf(out, "all required features are available\n");
	return bad ? 1 : 0;
}

int prereqs_check(void)
{
	struct prereqs *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		fprintf(stderr, "gespann: out of memory\n");
		return 1;
	}
	prereqs_collect(r);
	ret = prereqs_print(stdout, r);
	free(r);
	return ret;
}
