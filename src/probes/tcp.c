// SPDX-License-Identifier: MIT
/*
 * The tcp program family (src/bpf/tcp.bpf.c), libbpf-tools style: open ->
 * configure rodata and map sizes -> load -> attach, freed in one place
 * (probes_tcp_stop). Required: without it the agent does not start. Hooks
 * missing from the kernel's BTF are switched off before load with
 * bpf_program__set_autoload(false), each with a log line and a feature
 * flag. Accept attribution needs the syscall tracepoints, found through
 * tracefs (mounted at /sys/kernel/tracing when the host has none).
 * Connections and listeners open before start are seeded with a socket
 * iterator, run once in every namespace in scope, and their owners named by
 * a task_file iterator (5.11+). The tcp family owns the ring buffer every
 * other family writes into.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "probes/probes_int.h"
#include "util/log.h"
#include "tcp.skel.h"
#include "tcp_legacy.skel.h"

/* tcp_bpf_open_variant(): the normal or GS_LEGACY object (kcompat.h). */
KCOMPAT_DEFINE_SKEL_OPEN(tcp)

#define TRACEFS_DIR	    "/sys/kernel/tracing"
#define DEBUGFS_TRACING_DIR "/sys/kernel/debug/tracing"

bool probes_btf_has_tracepoint(const struct btf *btf, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
}

/*
 * Tests only: GESPANN_FAULT_SKIP_TRANSITIONS=N makes the state-change
 * program skip the ESTABLISHED and the CLOSE of every Nth tracked
 * connection, as the kernel does when it skips a run of a program already
 * running on that CPU (gespann_bpf_recursion_misses_total), so that tests
 * can check how those are recovered (gespann_tcp_transitions_recovered_total).
 */
static void fault_injection(struct tcp_bpf *skel)
{
	const char *v = getenv("GESPANN_FAULT_SKIP_TRANSITIONS");
	unsigned long n;
	char *end;

	if (!v || !*v)
		return;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n > UINT32_MAX) {
		pr_warn("GESPANN_FAULT_SKIP_TRANSITIONS=%s is not a count: ignored", v);
		return;
	}
	skel->rodata->fault_skip_every = (uint32_t)n;
	if (n)
		pr_warn("fault injection (tests only): skipping the ESTABLISHED and CLOSE of "
			"every %lu tracked TCP connection(s)",
			n);
}

/* ==== Seeding connections open before we attached ==== */

/*
 * Name the owners of what seed_tcp found (tcp.bpf.c seed_tcp_owners: a
 * task_file iterator over every task, once). Best effort: unnamed ones stay
 * unknown, and a listener's children take the owner from accept().
 */
static void seed_owners(struct probes *p)
{
	struct bpf_link *link;
	ssize_t n;

	if (!bpf_program__autoload(p->tcp->progs.seed_tcp_owners)) {
		pr_info("TCP connections and listeners open before start stay without an owner "
			"(no bpf_sock_from_file for a task_file iterator on this kernel)");
		return;
	}
	link = bpf_program__attach_iter(p->tcp->progs.seed_tcp_owners, NULL);
	n = link ? probes_iter_run_in(bpf_link__fd(link), -1) : -errno;
	bpf_link__destroy(link);
	if (n < 0) {
		pr_warn("cannot name the owners of TCP connections open before start (%s): they "
			"are reported as unknown",
			strerror((int)-n));
		return;
	}
	p->features[FEAT_TCP_OWNER_SEED] = true;
	pr_info("named the owners of %zd TCP socket(s) open before start", n);
}

/*
 * Give every connection already open in scope an entry in `conns` (starting
 * at its current figures), and every listener one in `listeners`, one
 * namespace at a time, then name their owners. Best effort: a failure
 * costs the gauge those connections, logged once.
 */
static void seed_existing(struct probes *p, const struct scope *s)
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
	w = probes_iter_run_scope(bpf_link__fd(link), s);
	bpf_link__destroy(link);
	if (w.n_fail)
		pr_warn("seeding open connections failed in %zu of %zu network namespaces",
			w.n_fail, w.n_ns);
	else
		pr_info("seeded open connections from %zu network namespace(s)", w.n_ns);
	seed_owners(p);
}

/* ==== Accept attribution (syscall tracepoints) ==== */

const char *probes_tracefs_dir(bool may_mount)
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
	if (!mounted && !may_mount)
		return NULL;
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

bool probes_tracepoint_exists(const char *dir, const char *category, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, category, name);
	/* With the effective ids and capabilities (AT_EACCESS): access() would
	 * drop CAP_DAC_READ_SEARCH for a user other than root, and tracefs is
	 * root's, mode 0700. errno tells "not there" from "not allowed". */
	return faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) == 0;
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

int probes_tcp_start(struct probes *p, const struct config *cfg, const struct scope *s,
		     const struct btf *btf)
{
	struct tcp_bpf *skel;
	const char *tfs;
	bool accept_ok;
	int err;

	if (!probes_btf_has_tracepoint(btf, "inet_sock_set_state")) {
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
	skel->rodata->target_netns = s->netns_cookie;
	skel->rodata->gs_netns_by_ino = probes_netns_by_ino();
	/* The config's idle_timeout (config.c holds its default and bounds);
	 * the UDP expiry in flows/feed.c reads the same value. */
	skel->rodata->idle_timeout_ns = cfg->idle_timeout_ns;
	skel->rodata->ringbuf_wakeup_bytes = cfg->ringbuf_bytes / 4;
	fault_injection(skel);
	bpf_map__set_max_entries(skel->maps.conns, cfg->max_connections);
	bpf_map__set_max_entries(skel->maps.events, cfg->ringbuf_bytes);
	p->features[FEAT_TP_INET_SOCK_SET_STATE] = true;

	/* tcp_send_reset carries enum sk_rst_reason since 6.10. */
	p->features[FEAT_TP_TCP_SEND_RESET] = probes_btf_has_tracepoint(btf, "tcp_send_reset");
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

	p->features[FEAT_TP_TCP_RECEIVE_RESET] =
		probes_btf_has_tracepoint(btf, "tcp_receive_reset");
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
	/* Its sliced form (readers.c), loaded where it is. */
	bpf_program__set_autoattach(skel->progs.refresh_batch, false);
	bpf_program__set_autoload(skel->progs.refresh_batch,
				  bpf_program__autoload(skel->progs.refresh_live));
	bpf_program__set_autoattach(skel->progs.seed_tcp, false);
	/* Owners of the sockets seed_tcp finds: bpf_sock_from_file is 5.11+. */
	bpf_program__set_autoattach(skel->progs.seed_tcp_owners, false);
	bpf_program__set_autoload(
		skel->progs.seed_tcp_owners,
		probes_btf_enum_has(btf, "bpf_func_id", "BPF_FUNC_sock_from_file"));

	/* Accept attribution: classic syscall tracepoints, attached after the
	 * rest so that a failure there costs only this feature. io_uring
	 * accepts do not pass through them. */
	bpf_program__set_autoattach(skel->progs.handle_sys_exit_accept4, false);
	bpf_program__set_autoattach(skel->progs.handle_sys_exit_accept, false);
	tfs = probes_tracefs_dir(true);
	accept_ok = tfs && probes_tracepoint_exists(tfs, "syscalls", "sys_exit_accept4") &&
		    probes_tracepoint_exists(tfs, "syscalls", "sys_exit_accept");
	if (tfs && !accept_ok && errno == EACCES)
		pr_warn("cannot read the tracepoints syscalls/sys_exit_accept4 and sys_exit_accept "
			"in %s (not root: CAP_DAC_READ_SEARCH): accepted connections are attributed "
			"to the listening process",
			tfs);
	else if (tfs && !accept_ok)
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
	seed_existing(p, s);
	p->features[FEAT_LIVE_REFRESH] = probes_refresh_live(p) == 0;
	if (!p->features[FEAT_LIVE_REFRESH])
		pr_warn("live refresh unavailable: byte counters of open connections move only "
			"at close");
	return 0;
}

const void *probes_tcp_elf(size_t *sz)
{
	return tcp_bpf__elf_bytes(sz);
}

int probes_tcp_events_fd(const struct probes *p)
{
	return bpf_map__fd(p->tcp->maps.events);
}

void probes_tcp_stop(struct probes *p)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(p->accept_links[i]);
		p->accept_links[i] = NULL;
	}
	tcp_bpf__destroy(p->tcp);
	p->tcp = NULL;
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
