// SPDX-License-Identifier: MIT
/*
 * Loading and attaching the kernel side. The order is libbpf's: open ->
 * configure rodata and map sizes -> load -> attach, with one cleanup path.
 * Hooks are probed against the kernel's BTF before load; a missing one is
 * switched off with bpf_program__set_autoload(false) and reported, never a
 * crash. UDP programs attach to the cgroup v2 root (mounted privately when the
 * host has none). Accept attribution needs the syscall tracepoints, found
 * through tracefs (mounted at /sys/kernel/tracing when the host has none);
 * process records and the getaddrinfo uprobe (proc family) are optional.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "util/log.h"
#include "util/netns.h"
#include "probes/probes.h"
#include "probes/readers.h"
#include "proc.skel.h"
#include "proc_legacy.skel.h"
#include "tcp.skel.h"
#include "tcp_legacy.skel.h"
#include "udp.skel.h"
#include "udp_legacy.skel.h"

/* tcp_bpf_open_variant(), udp_bpf_open_variant(): the normal or GS_LEGACY
 * object of a family (kcompat.h). */
KCOMPAT_DEFINE_SKEL_OPEN(tcp)
KCOMPAT_DEFINE_SKEL_OPEN(udp)
KCOMPAT_DEFINE_SKEL_OPEN(proc)

#define PRIVATE_CGROUP2_DIR "/run/gespann/cgroup2"
#define TRACEFS_DIR	    "/sys/kernel/tracing"
#define DEBUGFS_TRACING_DIR "/sys/kernel/debug/tracing"

static const char *const feature_names[FEAT_MAX] = {
	[FEAT_BTF] = "btf",
	[FEAT_RINGBUF] = "ringbuf",
	[FEAT_TP_INET_SOCK_SET_STATE] = "tp_inet_sock_set_state",
	[FEAT_TP_TCP_SEND_RESET] = "tp_tcp_send_reset",
	[FEAT_TCP_RESET_REASON] = "tcp_reset_reason",
	[FEAT_TP_TCP_RECEIVE_RESET] = "tp_tcp_receive_reset",
	[FEAT_LIVE_REFRESH] = "live_refresh",
	[FEAT_CGROUP_SKB_UDP] = "cgroup_skb_udp",
	[FEAT_KPROBE] = "kprobe",
	[FEAT_FENTRY] = "fentry",
	[FEAT_ACCEPT_OWNER] = "accept_owner",
	[FEAT_PROC_EVENTS] = "proc_events",
	[FEAT_UPROBE_GETADDRINFO] = "uprobe_getaddrinfo",
	[FEAT_UDP_OWNER] = "udp_owner",
	[FEAT_DNS_CAPTURE] = "dns_capture",
	[FEAT_BPF_ATOMICS] = "bpf_atomics",
	[FEAT_NETNS_COOKIE] = "netns_cookie",
	[FEAT_CGROUP_SKB_NETNS_COOKIE] = "cgroup_skb_netns_cookie",
	[FEAT_CGROUP_SKB_PID] = "cgroup_skb_pid",
	[FEAT_UDP_OWNER_SEED] = "udp_owner_seed",
};

const char *feature_name(enum feature f)
{
	return f < FEAT_MAX ? feature_names[f] : "unknown";
}

/* ==== Kernel fallbacks (kcompat.c probes, src/bpf/lib/compat.bpf.h) ==== */

/* Before 5.14 user space cannot read netns cookies: every netns identity,
 * the scope's and the kernel programs', is then the namespace's inode
 * number. Asked once, before the scope is resolved. */
static bool netns_by_ino(void)
{
	static int by_ino = -1;

	if (by_ino < 0) {
		by_ino = !kcompat_has_netns_cookie();
		if (by_ino)
			pr_warn("no SO_NETNS_COOKIE on this kernel (before 5.14): network "
				"namespaces are identified by inode number");
	}
	return by_ino;
}

/* The kernel-dependent choices every family shares, made once per start,
 * each logged when it falls back. */
static void probe_fallbacks(struct probes *p)
{
	p->features[FEAT_NETNS_COOKIE] = !netns_by_ino();
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

static int netns_cookie_here(uint64_t *cookie)
{
	return kcompat_netns_id_here(netns_by_ino(), cookie);
}

struct cookie_call {
	uint64_t *cookie;
	int err;
};

static void cookie_here(void *arg)
{
	struct cookie_call *call = arg;

	call->err = netns_cookie_here(call->cookie);
}

int probes_resolve_scope(const struct config *cfg, uint64_t *cookie)
{
	int err;

	*cookie = 0;
	if (cfg->scope == SCOPE_HOST)
		return 0;
	if (cfg->scope == SCOPE_NETNS) {
		err = netns_cookie_here(cookie);
		if (err)
			pr_err("failed to read the netns cookie of scope netns: %s",
			       strerror(-err));
		return err;
	}
	/* A namespace file: enter it just long enough to read its cookie. No
	 * other thread exists yet, and the listeners are opened later, back in
	 * our own namespace. */
	struct cookie_call call = { .cookie = cookie };

	err = netns_call_path(cfg->scope_path, cookie_here, &call);
	if (err) {
		pr_err("failed to enter scope %s: %s (is it a network namespace?)", cfg->scope_path,
		       strerror(-err));
		return err;
	}
	if (call.err)
		pr_err("failed to read the netns cookie of %s: %s", cfg->scope_path,
		       strerror(-call.err));
	return call.err;
}

static bool btf_has_tracepoint(const struct btf *btf, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
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

/* kprobes exist when the kprobe PMU does (CONFIG_KPROBE_EVENTS). */
static bool probe_kprobe(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
}

/* The cgroup v2 root: the host's mount, or a private one. */
static int open_cgroup2_root(void)
{
	char line[512], dev[128], dir[256], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int fd = -1;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
			    !strcmp(type, "cgroup2")) {
				fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (fd >= 0) {
					pr_debug("using cgroup v2 at %s", dir);
					break;
				}
			}
		}
		fclose(f);
	}
	if (fd >= 0)
		return fd;
	mkdir("/run/gespann", 0755);
	mkdir(PRIVATE_CGROUP2_DIR, 0755);
	if (mount("none", PRIVATE_CGROUP2_DIR, "cgroup2", 0, NULL) && errno != EBUSY) {
		pr_warn("no cgroup v2 mount and mounting one at %s failed: %s", PRIVATE_CGROUP2_DIR,
			strerror(errno));
		return -1;
	}
	pr_info("mounted cgroup v2 at %s", PRIVATE_CGROUP2_DIR);
	return open(PRIVATE_CGROUP2_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* ==== Seeding connections open before we attached ==== */

struct iter_call {
	int link_fd;
	int iter_fd; /* or a negative errno */
};

static void iter_create(void *arg)
{
	struct iter_call *call = arg;

	call->iter_fd = bpf_iter_create(call->link_fd);
	if (call->iter_fd < 0)
		call->iter_fd = -errno;
}

/* Run an iterator to EOF in namespace ns_fd (-1: ours; socket iterators
 * walk the namespace they are created in). Returns the bytes it printed, or
 * a negative errno. */
static ssize_t iter_run_in(int iter_link_fd, int ns_fd)
{
	struct iter_call call = { .link_fd = iter_link_fd, .iter_fd = -EINVAL };
	char buf[256];
	ssize_t n, total = 0;
	int err;

	err = netns_call(ns_fd, iter_create, &call);
	if (err)
		return err;
	if (call.iter_fd < 0)
		return call.iter_fd;
	while ((n = read(call.iter_fd, buf, sizeof(buf))) > 0)
		total += n;
	err = n < 0 ? -errno : 0;
	close(call.iter_fd);
	return err ? err : total;
}

/* Namespaces in scope, each run through a socket iterator. */
struct scope_walk {
	size_t n_ns, n_fail;
	size_t printed; /* bytes the iterator printed, all namespaces */
};

static void iter_run_ns(int iter_link_fd, int ns_fd, struct scope_walk *w)
{
	ssize_t n = iter_run_in(iter_link_fd, ns_fd);

	w->n_ns++;
	if (n < 0)
		w->n_fail++;
	else
		w->printed += (size_t)n;
}

/* One iterator run per namespace with scope host, each namespace once. */
struct scope_host_walk {
	int iter_link_fd;
	struct scope_walk w;
	ino_t seen[1024];
	size_t n_seen;
};

static void iter_run_holder(const char *path, void *arg)
{
	struct scope_host_walk *h = arg;
	struct stat stbuf;
	int fd;

	if (stat(path, &stbuf))
		return;
	for (size_t i = 0; i < h->n_seen; i++)
		if (h->seen[i] == stbuf.st_ino)
			return;
	if (h->n_seen == sizeof(h->seen) / sizeof(h->seen[0]))
		return;
	h->seen[h->n_seen++] = stbuf.st_ino;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	iter_run_ns(h->iter_link_fd, fd, &h->w);
	close(fd);
}

/*
 * Run the socket iterator behind iter_link_fd once in every network
 * namespace in scope: ours, the one at scope_path, or with scope host each
 * namespace a process or a /var/run/netns file holds.
 */
static struct scope_walk iter_run_scope(int iter_link_fd, const struct config *cfg)
{
	struct scope_walk w = { 0 };
	struct scope_host_walk h = { .iter_link_fd = iter_link_fd };

	if (cfg->scope == SCOPE_NETNS) {
		iter_run_ns(iter_link_fd, -1, &w);
		return w;
	}
	if (cfg->scope == SCOPE_PATH) {
		int fd = open(cfg->scope_path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			w.n_ns = w.n_fail = 1;
			return w;
		}
		iter_run_ns(iter_link_fd, fd, &w);
		close(fd);
		return w;
	}
	netns_foreach_holder(iter_run_holder, &h);
	return h.w;
}

/*
 * Give every connection already open in scope an entry in `conns`, one
 * namespace at a time. Best effort: a failure costs the gauge those
 * connections, logged once.
 */
static void seed_existing(struct probes *p, const struct config *cfg)
{
	struct bpf_link *link;
	struct scope_walk w;

	link = bpf_program__attach_iter(p->tcp->progs.seed_tcp, NULL);
	if (!link) {
		pr_warn("cannot seed connections open before start (socket iterator: %s): they "
			"are not in gespann_open_connections",
			strerror(errno));
		return;
	}
	/* The program prints nothing; reading to EOF runs it over every socket. */
	w = iter_run_scope(bpf_link__fd(link), cfg);
	bpf_link__destroy(link);
	if (w.n_fail)
		pr_warn("seeding open connections failed in %zu of %zu network namespaces",
			w.n_fail, w.n_ns);
	else
		pr_info("seeded open connections from %zu network namespace(s)", w.n_ns);
}

/* ==== Accept attribution (syscall tracepoints) ==== */

/* The tracefs directory libbpf will use to find tracepoint ids: the one under
 * debugfs when that exists (libbpf prefers it), else /sys/kernel/tracing,
 * mounted there when nothing is. Returns the directory or NULL. */
static const char *tracefs_dir(void)
{
	char line[512], dev[128], dir[256], type[64];
	bool mounted = false;
	FILE *f;

	if (access(DEBUGFS_TRACING_DIR "/events", F_OK) == 0)
		return DEBUGFS_TRACING_DIR;
	f = fopen("/proc/mounts", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
			    !strcmp(type, "tracefs") && !strcmp(dir, TRACEFS_DIR))
				mounted = true;
		}
		fclose(f);
	}
	if (!mounted) {
		if (mount("nodev", TRACEFS_DIR, "tracefs", 0, NULL) && errno != EBUSY) {
			pr_warn("tracefs is not mounted and mounting it at %s failed: %s",
				TRACEFS_DIR, strerror(errno));
			return NULL;
		}
		pr_info("mounted tracefs at %s", TRACEFS_DIR);
	}
	return TRACEFS_DIR;
}

static bool tracepoint_exists(const char *dir, const char *category, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, category, name);
	return access(path, R_OK) == 0;
}

/* Attach the accept programs (loaded with the tcp family when their
 * tracepoints exist). Failure leaves the listener as the owner of accepted
 * connections. */
static void attach_accept(struct probes *p)
{
	static const char *const tps[2] = { "sys_exit_accept4", "sys_exit_accept" };
	struct bpf_program *progs[2] = { p->tcp->progs.handle_sys_exit_accept4,
					 p->tcp->progs.handle_sys_exit_accept };

	if (!bpf_program__autoload(progs[0]))
		return;
	for (int i = 0; i < 2; i++) {
		p->accept_links[i] = bpf_program__attach_tracepoint(progs[i], "syscalls", tps[i]);
		if (!p->accept_links[i]) {
			pr_warn("failed to attach syscalls/%s: %s; accepted connections are "
				"attributed to the listening process",
				tps[i], strerror(errno));
			bpf_link__destroy(p->accept_links[0]);
			p->accept_links[0] = NULL;
			return;
		}
	}
	p->features[FEAT_ACCEPT_OWNER] = true;
}

static int start_tcp(struct probes *p, const struct config *cfg, uint64_t cookie,
		     const struct btf *btf)
{
	struct tcp_bpf *skel;
	const char *tfs;
	bool accept_ok;
	int err;

	if (!btf_has_tracepoint(btf, "inet_sock_set_state")) {
		pr_err("the kernel has no inet_sock_set_state tracepoint in BTF: TCP tracking "
		       "needs Linux 4.16+ with BTF");
		return -ENOTSUP;
	}
	skel = tcp_bpf_open_variant(p->legacy);
	if (!skel) {
		err = -errno;
		pr_err("failed to open the tcp programs: %s", strerror(-err));
		return err;
	}
	p->tcp = skel;
	skel->rodata->target_netns = cookie;
	skel->rodata->gs_netns_by_ino = netns_by_ino();
	skel->rodata->idle_timeout_ns = cfg->idle_timeout_ns;
	skel->rodata->ringbuf_wakeup_bytes = cfg->ringbuf_bytes / 4;
	bpf_map__set_max_entries(skel->maps.conns, cfg->max_connections);
	bpf_map__set_max_entries(skel->maps.events, cfg->ringbuf_bytes);
	p->features[FEAT_TP_INET_SOCK_SET_STATE] = true;

	/* tcp_send_reset carries enum sk_rst_reason since 6.10. */
	p->features[FEAT_TP_TCP_SEND_RESET] = btf_has_tracepoint(btf, "tcp_send_reset");
	p->features[FEAT_TCP_RESET_REASON] =
		p->features[FEAT_TP_TCP_SEND_RESET] &&
		btf__find_by_name_kind(btf, "sk_rst_reason", BTF_KIND_ENUM) > 0;
	bpf_program__set_autoload(skel->progs.handle_tcp_send_reset,
				  p->features[FEAT_TCP_RESET_REASON]);
	bpf_program__set_autoload(skel->progs.handle_tcp_send_reset_noreason,
				  p->features[FEAT_TP_TCP_SEND_RESET] &&
					  !p->features[FEAT_TCP_RESET_REASON]);
	if (!p->features[FEAT_TP_TCP_SEND_RESET])
		pr_warn("tracepoint tcp_send_reset is missing: RSTs sent are not counted");
	else if (!p->features[FEAT_TCP_RESET_REASON])
		pr_warn("tcp_send_reset has no reason on this kernel (before 6.10): "
			"reset_reason is reported as unknown");

	p->features[FEAT_TP_TCP_RECEIVE_RESET] = btf_has_tracepoint(btf, "tcp_receive_reset");
	bpf_program__set_autoload(skel->progs.handle_tcp_receive_reset,
				  p->features[FEAT_TP_TCP_RECEIVE_RESET]);
	if (!p->features[FEAT_TP_TCP_RECEIVE_RESET])
		pr_warn("tracepoint tcp_receive_reset is missing: RSTs received are not counted");

	/* Run on demand, never attached: the refresh program, and the seeding
	 * iterator (instantiated once per namespace after attach). */
	bpf_program__set_autoattach(skel->progs.refresh_live, false);
	/* bpf_for_each_map_elem is 5.13+. libbpf's probe is right here: such
	 * kernels answer "unknown func". */
	bpf_program__set_autoload(skel->progs.refresh_live,
				  libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
							  BPF_FUNC_for_each_map_elem, NULL) > 0);
	bpf_program__set_autoattach(skel->progs.seed_tcp, false);

	/* Accept attribution: classic syscall tracepoints, attached after the
	 * rest so that a failure there costs only this feature. io_uring
	 * accepts do not pass through them. */
	bpf_program__set_autoattach(skel->progs.handle_sys_exit_accept4, false);
	bpf_program__set_autoattach(skel->progs.handle_sys_exit_accept, false);
	tfs = tracefs_dir();
	accept_ok = tfs && tracepoint_exists(tfs, "syscalls", "sys_exit_accept4") &&
		    tracepoint_exists(tfs, "syscalls", "sys_exit_accept");
	if (tfs && !accept_ok)
		pr_warn("tracepoints syscalls/sys_exit_accept4 and sys_exit_accept not found in "
			"%s (CONFIG_FTRACE_SYSCALLS?): accepted connections are attributed to the "
			"listening process",
			tfs);
	else if (!tfs)
		pr_warn("no tracefs: accepted connections are attributed to the listening "
			"process");
	bpf_program__set_autoload(skel->progs.handle_sys_exit_accept4, accept_ok);
	bpf_program__set_autoload(skel->progs.handle_sys_exit_accept, accept_ok);

	err = tcp_bpf__load(skel);
	if (err) {
		pr_err("failed to load the tcp programs: %s", strerror(-err));
		return err;
	}
	err = tcp_bpf__attach(skel);
	if (err) {
		pr_err("failed to attach the tcp programs: %s", strerror(-err));
		return err;
	}
	p->features[FEAT_RINGBUF] = true;
	attach_accept(p);
	seed_existing(p, cfg);
	p->features[FEAT_LIVE_REFRESH] = probes_refresh_live(p) == 0;
	if (!p->features[FEAT_LIVE_REFRESH])
		pr_warn("live refresh unavailable: byte counters of open connections move only "
			"at close");
	return 0;
}

/* Which programs record UDP owners in process context: the start-up
 * iterator needs bpf_sock_from_file (5.11+), sock_create the current-task
 * helpers in cgroup/sock programs. */
enum udp_owner_hooks {
	UDP_OWNER_NONE = 0,
	UDP_OWNER_CREATE = 1,	   /* cgroup/sock_create */
	UDP_OWNER_CREATE_SEED = 2, /* ... and the task_file iterator at start */
};

/* Open and configure the udp skeleton with the owner hooks selected. NULL
 * on failure (logged). */
static struct udp_bpf *udp_open(struct probes *p, const struct config *cfg, uint64_t cookie,
				bool *dns_capture, enum udp_owner_hooks owner_hooks)
{
	struct udp_bpf *skel = udp_bpf_open_variant(p->legacy);
	int err;

	if (!skel) {
		pr_warn("UDP tracking disabled: failed to open the udp programs: %s",
			strerror(errno));
		return NULL;
	}
	skel->rodata->target_netns = cookie;
	skel->rodata->gs_netns_by_ino = netns_by_ino();
	skel->rodata->gs_skb_has_netns_cookie = p->features[FEAT_CGROUP_SKB_NETNS_COOKIE];
	skel->rodata->gs_skb_has_pid = p->features[FEAT_CGROUP_SKB_PID];
	skel->rodata->ringbuf_wakeup_bytes = cfg->ringbuf_bytes / 4;
	bpf_map__set_max_entries(skel->maps.udp_flows, cfg->max_udp_flows);
	/* One ring buffer for every record: the tcp family's. */
	err = p->tcp ? bpf_map__reuse_fd(skel->maps.events, bpf_map__fd(p->tcp->maps.events)) :
		       -ENOENT;
	if (err) {
		if (*dns_capture)
			pr_warn("DNS capture disabled: cannot share the ring buffer: %s",
				strerror(-err));
		*dns_capture = false;
		bpf_map__set_max_entries(skel->maps.events, 4096);
	}
	skel->rodata->dns_capture = *dns_capture;
	bpf_program__set_autoload(skel->progs.seed_udp_owners,
				  owner_hooks >= UDP_OWNER_CREATE_SEED);
	bpf_program__set_autoload(skel->progs.handle_udp_sock_create,
				  owner_hooks >= UDP_OWNER_CREATE);
	bpf_program__set_autoload(skel->progs.seed_udp_apply, owner_hooks >= UDP_OWNER_CREATE_SEED);
	bpf_program__set_autoattach(skel->progs.seed_udp_owners, false);
	bpf_program__set_autoattach(skel->progs.seed_udp_apply, false);
	bpf_map__set_max_entries(skel->maps.udp_seed, cfg->max_udp_flows);
	return skel;
}

/* Drop what the seeding left in udp_seed (sockets the udp iterators did
 * not reach: closed meanwhile, or in a namespace that went away). */
static void udp_seed_clear(int fd)
{
	__u64 key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
}

/*
 * Give UDP sockets open before start their owner (udp.bpf.c): the task_file
 * iterator notes who holds each, then the udp iterator of each namespace in
 * scope writes it into their socket storage. Best effort: their flows
 * otherwise stay without an owner until the socket sends.
 */
static void seed_udp_owners(struct udp_bpf *skel, const struct config *cfg)
{
	int seed_fd = bpf_map__fd(skel->maps.udp_seed), err = 0;
	struct scope_walk w = { 0 };
	struct bpf_link *link;
	size_t full = 0;
	ssize_t n;
	__u64 key;

	/* Step 1 prints one byte per socket it could not note. */
	link = bpf_program__attach_iter(skel->progs.seed_udp_owners, NULL);
	n = link ? iter_run_in(bpf_link__fd(link), -1) : -errno;
	bpf_link__destroy(link);
	if (n < 0)
		err = (int)n;
	else
		full = (size_t)n;
	/* Step 2 only when step 1 noted a socket. */
	if (!err && !bpf_map_get_next_key(seed_fd, NULL, &key)) {
		link = bpf_program__attach_iter(skel->progs.seed_udp_apply, NULL);
		if (link) {
			w = iter_run_scope(bpf_link__fd(link), cfg);
			bpf_link__destroy(link);
		} else {
			err = -errno;
		}
	}
	udp_seed_clear(seed_fd);
	if (err)
		pr_warn("cannot name the owners of UDP sockets open before start (%s): their "
			"flows get an owner once the socket sends",
			strerror(-err));
	else
		pr_info("named the owners of %zu UDP socket(s) open before start", w.printed);
	if (full)
		pr_warn("%zu UDP socket(s) open before start not named (more than max_udp_flows "
			"= %u): their flows get an owner once the socket sends",
			full, cfg->max_udp_flows);
	if (w.n_fail)
		pr_warn("naming UDP socket owners failed in %zu of %zu network namespaces",
			w.n_fail, w.n_ns);
}

/*
 * UDP flows (and their owners) and DNS capture. Optional as a whole: any
 * failure is logged and leaves the agent running without it. dns_capture
 * turns the DNS copy on; its records go into the tcp family's ring buffer,
 * so start_tcp() must have succeeded.
 */
static int start_udp(struct probes *p, const struct config *cfg, uint64_t cookie, bool dns_capture)
{
	enum udp_owner_hooks owner_hooks = UDP_OWNER_CREATE_SEED;
	struct udp_bpf *skel;
	int err;

	p->cgroup_fd = open_cgroup2_root();
	if (p->cgroup_fd < 0) {
		pr_warn("UDP tracking disabled: no cgroup v2 hierarchy to attach to");
		return 0;
	}
	for (;;) {
		skel = udp_open(p, cfg, cookie, &dns_capture, owner_hooks);
		if (!skel)
			return 0;
		err = udp_bpf__load(skel);
		if (!err || owner_hooks == UDP_OWNER_NONE)
			break;
		/* Drop the owner hook the kernel is least likely to have and
		 * try again: flows and DNS do not depend on them. */
		pr_info("udp programs failed to load with %s (%s), retrying without it",
			owner_hooks == UDP_OWNER_CREATE_SEED ? "the owner seeding iterator" :
							       "the sock_create owner hook",
			strerror(-err));
		udp_bpf__destroy(skel);
		owner_hooks--;
	}
	p->udp = skel;
	if (!p->features[FEAT_CGROUP_SKB_NETNS_COOKIE])
		pr_info("cgroup_skb programs cannot call bpf_get_netns_cookie on this kernel: "
			"UDP flows take the netns from their socket");
	if (!p->features[FEAT_CGROUP_SKB_PID])
		pr_warn("cgroup_skb programs cannot call the current-task helpers on this "
			"kernel: UDP flows are named by their socket's creator only");
	if (err) {
		pr_warn("UDP tracking disabled: failed to load the udp programs: %s",
			strerror(-err));
		return 0;
	}
	p->udp_links[0] = bpf_program__attach_cgroup(skel->progs.handle_udp_egress, p->cgroup_fd);
	p->udp_links[1] = bpf_program__attach_cgroup(skel->progs.handle_udp_ingress, p->cgroup_fd);
	if (!p->udp_links[0] || !p->udp_links[1]) {
		pr_warn("UDP tracking disabled: failed to attach cgroup_skb programs: %s",
			strerror(errno));
		bpf_link__destroy(p->udp_links[0]);
		bpf_link__destroy(p->udp_links[1]);
		p->udp_links[0] = p->udp_links[1] = NULL;
		return 0;
	}
	p->features[FEAT_CGROUP_SKB_UDP] = true;
	p->features[FEAT_DNS_CAPTURE] = dns_capture;
	if (owner_hooks == UDP_OWNER_NONE) {
		pr_warn("UDP flows name their owner only once the socket sends (the kernel "
			"refused the owner hooks)");
		return 0;
	}
	/* The link lives in the skeleton: udp_bpf__destroy() detaches it. */
	skel->links.handle_udp_sock_create =
		bpf_program__attach_cgroup(skel->progs.handle_udp_sock_create, p->cgroup_fd);
	p->features[FEAT_UDP_OWNER] = skel->links.handle_udp_sock_create != NULL;
	if (!p->features[FEAT_UDP_OWNER]) {
		pr_warn("cgroup/sock_create attach failed (%s): UDP flows name their owner only "
			"once the socket sends",
			strerror(errno));
		return 0;
	}
	/* After sock_create is attached: no socket falls between the two. */
	p->features[FEAT_UDP_OWNER_SEED] = owner_hooks == UDP_OWNER_CREATE_SEED;
	if (owner_hooks == UDP_OWNER_CREATE_SEED)
		seed_udp_owners(skel, cfg);
	else
		pr_info("UDP sockets opened before start are named once they send (no "
			"task_file iterator with bpf_sock_from_file on this kernel)");
	return 0;
}

/* ==== Process records and getaddrinfo (proc family) ==== */

/* The libc.so.6 mapped into this process: the host's, when the agent runs
 * on the host. Returns 0 or -ENOENT. */
static int find_own_libc(char *buf, size_t len)
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
		err = find_own_libc(p->libc_resolved, sizeof(p->libc_resolved));
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

/* Optional: a failure logs why and leaves the features off. */
static void start_proc(struct probes *p, const struct config *cfg, uint64_t cookie,
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
	skel->rodata->target_netns = cookie;
	skel->rodata->gs_netns_by_ino = netns_by_ino();
	skel->rodata->ringbuf_wakeup_bytes = cfg->ringbuf_bytes / 4;
	/* One ring buffer for every record: user space reads one stream. */
	err = bpf_map__reuse_fd(skel->maps.events, bpf_map__fd(p->tcp->maps.events));
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

int probes_start(struct probes *p, const struct config *cfg, uint64_t netns_cookie)
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
	p->features[FEAT_KPROBE] = probe_kprobe();
	p->features[FEAT_FENTRY] = probe_fentry(btf);
	probe_fallbacks(p);

	err = start_tcp(p, cfg, netns_cookie, btf);
	if (!err)
		start_proc(p, cfg, netns_cookie, btf);
	btf__free(btf);
	if (err)
		goto cleanup;
	/* dns.enabled: false leaves the DNS packets in the kernel. */
	err = start_udp(p, cfg, netns_cookie, cfg->dns_enabled);
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
	for (int i = 0; i < PROBES_L_MAX; i++) {
		bpf_link__destroy(p->proc_links[i]);
		p->proc_links[i] = NULL;
	}
	proc_bpf__destroy(p->proc);
	p->proc = NULL;
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(p->accept_links[i]);
		p->accept_links[i] = NULL;
	}
	bpf_link__destroy(p->udp_links[0]);
	bpf_link__destroy(p->udp_links[1]);
	p->udp_links[0] = p->udp_links[1] = NULL;
	udp_bpf__destroy(p->udp);
	p->udp = NULL;
	tcp_bpf__destroy(p->tcp);
	p->tcp = NULL;
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	p->cgroup_fd = -1;
}

int probes_refresh_live(struct probes *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err;

	if (!p->tcp)
		return -ENOENT;
	if (bpf_program__fd(p->tcp->progs.refresh_live) < 0)
		return -EOPNOTSUPP; /* not loaded: the kernel lacks bpf_for_each_map_elem */
	err = bpf_prog_test_run_opts(bpf_program__fd(p->tcp->progs.refresh_live), &opts);
	return err ? -errno : 0;
}
