// SPDX-License-Identifier: MIT
/*
 * Unit tests: process cache. cgroup path parsing (a table of real-looking
 * paths of each container runtime, conmon negatives included),
 * exec/fork/exit sequences with an injected clock, eviction order, /proc
 * reads against a fake proc tree written into a temp dir, the live
 * /proc/self, and cgroup id -> path resolution against a fake tree and the
 * real cgroup2 mount. No root needed (with root, the real-cgroup case also
 * creates and removes a nested test cgroup).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "enrich/proccache.h"

#define S 1000000000ULL

#define HEX_A "4f0c3d6e8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5"
#define HEX_B "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29181716151413121110a0b0c0d0e0"
#define POD_U "pod0f2a6b1e-2d5c-4b8e-9a1f-3c2b1d0e9f8a"
#define POD_S "kubepods-burstable-pod0f2a6b1e_2d5c_4b8e_9a1f_3c2b1d0e9f8a.slice"

/* ==== Helpers: temp trees ==== */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Fake trees go to tmpfs when there is one: thousands of mkdirs on a disk
 * take seconds, unit tests take milliseconds. */
static void make_tmp(char *dir, size_t len, const char *what)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dir, len, "%s/gespann-unit-%s-XXXXXX", base, what);
	assert_non_null(mkdtemp(dir));
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A process in the fake proc tree; exe/cwd NULL leave the link out. */
static void fake_proc(const char *root, uint32_t pid, const char *comm, uint32_t ppid,
		      const char *exe, const char *cwd, const char *cgroup)
{
	char p[PATH_MAX], text[512];

	snprintf(p, sizeof(p), "%s/%u", root, pid);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/%u/stat", root, pid);
	snprintf(text, sizeof(text), "%u (%s) S %u %u %u 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0\n",
		 pid, comm, ppid, pid, pid);
	write_text(p, text);
	snprintf(p, sizeof(p), "%s/%u/comm", root, pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	write_text(p, text);
	if (cgroup) {
		snprintf(p, sizeof(p), "%s/%u/cgroup", root, pid);
		write_text(p, cgroup);
	}
	if (exe) {
		snprintf(p, sizeof(p), "%s/%u/exe", root, pid);
		assert_int_equal(symlink(exe, p), 0);
	}
	if (cwd) {
		snprintf(p, sizeof(p), "%s/%u/cwd", root, pid);
		assert_int_equal(symlink(cwd, p), 0);
	}
}

/* mkdir -p root/rel; returns the inode of the last directory. */
static uint64_t fake_cgroup(const char *root, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	size_t n;

	n = (size_t)snprintf(p, sizeof(p), "%s", root);
	for (const char *c = rel; *c; c++) {
		p[n++] = *c;
		p[n] = '\0';
		if (c[1] == '/' || c[1] == '\0')
			assert_int_equal(mkdir(p, 0755) == 0 || errno == EEXIST, 1);
	}
	assert_int_equal(stat(p, &st), 0);
	return st.st_ino;
}

static struct gs_proc_event proc_ev(uint32_t type, uint32_t pid, uint32_t ppid, const char *comm,
				    const char *path, uint64_t cgroup_id)
{
	struct gs_proc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = type;
	ev.hdr.size = sizeof(ev);
	ev.pid = pid;
	ev.ppid = ppid;
	ev.cgroup_id = cgroup_id;
	/* Like the kernel's: no NUL when the text fills the array. */
	if (comm)
		memcpy(ev.comm, comm, strnlen(comm, sizeof(ev.comm)));
	if (path)
		memcpy(ev.path, path, strnlen(path, sizeof(ev.path)));
	return ev;
}

/* Open file descriptors of this process (leak check around walks). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct fixture {
	char proc[64];
	char cg[64];
	struct proccache *pc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	make_tmp(f->proc, sizeof(f->proc), "proc");
	make_tmp(f->cg, sizeof(f->cg), "cgroup");
	f->pc = proccache_new(64, f->proc, f->cg);
	if (!f->pc)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proccache_free(f->pc);
	rm_tree(f->proc);
	rm_tree(f->cg);
	free(f);
	return 0;
}

/* ==== proc_parse_cgroup ==== */

static void test_parse_cgroup_table(void **state)
{
	static const struct {
		const char *path, *cid, *unit;
	} cases[] = {
		{ "/system.slice/nginx.service", "", "nginx.service" },
		{ "/system.slice/docker-" HEX_A ".scope", HEX_A, "" },
		{ "/docker/" HEX_A, HEX_A, "" },
		{ "/docker/" HEX_A "/docker/" HEX_B, HEX_B, "" }, /* docker in docker: innermost */
		{ "/system.slice/docker-" HEX_A ".scope/system.slice/nginx.service", HEX_A,
		  "nginx.service" }, /* systemd inside the container */
		{ "/system.slice/docker-0123456789ab.scope", "0123456789ab", "" },
		{ "/system.slice/foo-0123456789ab.scope", "", "foo-0123456789ab.scope" },
		{ "/kubepods/besteffort/" POD_U "/" HEX_A, HEX_A, "" },
		{ "/kubepods.slice/kubepods-burstable.slice/" POD_S "/cri-containerd-" HEX_A
		  ".scope",
		  HEX_A, "" },
		{ "/kubepods.slice/kubepods-burstable.slice/" POD_S "/crio-" HEX_B ".scope", HEX_B,
		  "" },
		{ "/kubepods.slice/kubepods-burstable.slice/" POD_S "/crio-" HEX_B
		  ".scope/container",
		  HEX_B, "" },
		{ "/kubepods.slice/kubepods-burstable.slice/" POD_S "/crio-conmon-" HEX_B ".scope",
		  "", "crio-conmon-" HEX_B ".scope" },
		{ "/kubepods/burstable/" POD_U "/crio-" HEX_B, HEX_B, "" },
		{ "/kubepods/burstable/" POD_U "/crio-conmon-" HEX_B, "", "" },
		{ "/machine.slice/libpod-" HEX_A ".scope", HEX_A, "" },
		{ "/machine.slice/libpod-" HEX_A ".scope/container", HEX_A, "" },
		{ "/machine.slice/libpod-conmon-" HEX_A ".scope", "",
		  "libpod-conmon-" HEX_A ".scope" },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" HEX_A ".scope",
		  HEX_A, "user@1000.service" },
		{ "/libpod_parent/libpod-" HEX_A, HEX_A, "" },
		{ "/libpod_parent/conmon", "", "" },
		{ "/system.slice/foo-" HEX_A, "", "" },
		{ "/system.slice/nerdctl-" HEX_A ".scope", HEX_A, "" },
		{ "/default/" HEX_A, HEX_A, "" },
		{ "/lxc.payload.web1/system.slice/nginx.service", "web1", "nginx.service" },
		{ "/lxc/web1", "web1", "" },
		{ "/lxc.monitor.web1", "", "" },
		{ "/user.slice/user-1000.slice/session-3.scope", "", "session-3.scope" },
		{ "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "",
		  "foo.service" },
		{ "/user.slice/user-1000.slice/user@1000.service/init.scope", "", "init.scope" },
		{ "/system.slice/run-r3f1e2d4c5b6a79808f7e6d5c4b3a2910.scope", "",
		  "run-r3f1e2d4c5b6a79808f7e6d5c4b3a2910.scope" },
		{ "/init.scope", "", "init.scope" },
		{ "/system.slice/system-getty.slice/getty@tty1.service", "", "getty@tty1.service" },
		{ "/process_api/1cc968e6bf65b73507363043e31a8f39", "", "" },
		{ "/DOCKER/" HEX_A "X", "", "" },
		{ "//system.slice//nginx.service/", "", "nginx.service" },
		{ "/", "", "" },
		{ "", "", "" },
	};
	char cid[72], unit[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(cid, 'X', sizeof(cid));
		memset(unit, 'X', sizeof(unit));
		if (proc_parse_cgroup(cases[i].path, cid, sizeof(cid), unit, sizeof(unit)) != 0)
			fail_msg("case %zu %s: nonzero return", i, cases[i].path);
		if (strcmp(cid, cases[i].cid) || strcmp(unit, cases[i].unit))
			fail_msg(
				"case %zu %s: want cid=\"%s\" unit=\"%s\", got cid=\"%s\" unit=\"%s\"",
				i, cases[i].path, cases[i].cid, cases[i].unit, cid, unit);
	}
}

/* Hostile paths: random bytes from a fixed seed never crash nor overflow,
 * and the outputs are always NUL-terminated within their buffers. */
static void test_parse_cgroup_random(void **state)
{
	static const char alphabet[] = "/-.abcdef0123456789scopeservicelxc@:_ \xff";
	uint32_t seed = 12345;
	char path[300], cid[72], unit[128];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t n = 0;

		seed = seed * 1103515245U + 12345U;
		n = (seed >> 16) % (sizeof(path) - 1);
		for (size_t k = 0; k < n; k++) {
			seed = seed * 1103515245U + 12345U;
			path[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		path[n] = '\0';
		proc_parse_cgroup(path, cid, sizeof(cid), unit, sizeof(unit));
		assert_true(strnlen(cid, sizeof(cid)) < sizeof(cid));
		assert_true(strnlen(unit, sizeof(unit)) < sizeof(unit));
	}
}

static void test_parse_cgroup_errors(void **state)
{
	char cid[72], unit[128], small[64];

	(void)state;
	assert_int_equal(proc_parse_cgroup(NULL, cid, sizeof(cid), unit, sizeof(unit)), -EINVAL);
	assert_int_equal(proc_parse_cgroup("/", NULL, 1, unit, sizeof(unit)), -EINVAL);
	assert_int_equal(proc_parse_cgroup("/", cid, 0, unit, sizeof(unit)), -EINVAL);
	assert_int_equal(proc_parse_cgroup("/", cid, sizeof(cid), unit, 0), -EINVAL);
	/* A 64-digit id needs 65 bytes: a too small buffer gets "", the unit still fills. */
	assert_int_equal(proc_parse_cgroup("/docker/" HEX_A "/system.slice/a.service", small,
					   sizeof(small), unit, sizeof(unit)),
			 -ENAMETOOLONG);
	assert_string_equal(small, "");
	assert_string_equal(unit, "a.service");
	assert_int_equal(
		proc_parse_cgroup("/system.slice/abcdefgh.service", cid, sizeof(cid), small, 8),
		-ENAMETOOLONG);
	assert_string_equal(small, "");
}

/* ==== Misses read /proc ==== */

static void test_miss_reads_fake_proc_once(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;
	struct proccache_stats st;
	uint64_t ino = fake_cgroup(f->cg, "/system.slice/nginx.service");

	fake_proc(f->proc, 4242, "nginx", 1, "/usr/sbin/nginx", "/",
		  "0::/system.slice/nginx.service\n");
	pi = proccache_get(f->pc, 4242, "ignored", 0, 5 * S);
	assert_non_null(pi);
	assert_int_equal(pi->pid, 4242);
	assert_int_equal(pi->ppid, 1);
	assert_string_equal(pi->comm, "nginx");
	assert_string_equal(pi->exe, "/usr/sbin/nginx");
	assert_string_equal(pi->cgroup, "/system.slice/nginx.service");
	assert_int_equal(pi->cgroup_id, ino);
	assert_string_equal(pi->container_id, "");
	assert_string_equal(pi->unit, "nginx.service");
	assert_int_equal(pi->exited, 0);

	pi = proccache_get(f->pc, 4242, NULL, ino, 6 * S);
	assert_string_equal(pi->exe, "/usr/sbin/nginx");
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.proc_reads, 1);
	assert_int_equal(st.cgroup_walks, 0); /* the /proc path's inode was the id */

	assert_null(proccache_get(f->pc, 0, "x", 0, 6 * S));

	/* a process left in a removed cgroup: the kernel marks the path */
	fake_proc(f->proc, 4243, "worker", 4242, "/usr/sbin/nginx", "/",
		  "0::/system.slice/gone.service (deleted)\n");
	pi = proccache_get(f->pc, 4243, NULL, 0, 6 * S);
	assert_string_equal(pi->cgroup, "/system.slice/gone.service");
	assert_int_equal(pi->cgroup_id, 0);
	assert_string_equal(pi->unit, "gone.service");
}

static void test_stat_comm_with_parens_and_deleted_exe(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;

	fake_proc(f->proc, 77, "we(i)rd) name", 12, "/opt/app/bin/server (deleted)", NULL,
		  "12:name=systemd:/system.slice/app.service\n0::/\n");
	pi = proccache_get(f->pc, 77, NULL, 0, 0);
	assert_string_equal(pi->comm, "we(i)rd) name");
	assert_int_equal(pi->ppid, 12);
	assert_string_equal(pi->exe, "/opt/app/bin/server");
	/* Hybrid host: the v2 path is "/", the unit comes from the v1 systemd line. */
	assert_string_equal(pi->cgroup, "/");
	assert_string_equal(pi->unit, "app.service");
}

static void test_garbage_stat_is_treated_as_gone(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/88", f->proc);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/88/stat", f->proc);
	write_text(p, "88 (unterminated S 1 2 3");
	pi = proccache_get(f->pc, 88, "hint", 0, 3 * S);
	assert_string_equal(pi->comm, "hint");
	assert_int_equal(pi->ppid, 0);
	assert_int_equal(pi->exited, 1);
	assert_int_equal(pi->exit_ns, 3 * S);
}

static void test_gone_process_keeps_hint_and_cgroup(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;
	struct proccache_stats st;
	char path[256];
	uint64_t ino = fake_cgroup(f->cg, "/system.slice/docker-" HEX_A ".scope");

	pi = proccache_get(f->pc, 5000, "a-much-too-long-comm", ino, 7 * S);
	assert_non_null(pi);
	assert_string_equal(pi->comm, "a-much-too-long");
	assert_string_equal(pi->exe, "");
	assert_int_equal(pi->cgroup_id, ino);
	assert_string_equal(pi->cgroup, "/system.slice/docker-" HEX_A ".scope");
	assert_string_equal(pi->container_id, HEX_A);
	assert_string_equal(pi->unit, "");
	assert_int_equal(pi->exited, 1);
	assert_int_equal(pi->exit_ns, 7 * S);

	/* Same cgroup for another gone pid: answered from the id cache. */
	pi = proccache_get(f->pc, 5001, NULL, ino, 7 * S);
	assert_string_equal(pi->container_id, HEX_A);
	assert_string_equal(pi->comm, "");
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.cgroup_walks, 1);
	assert_int_equal(st.proc_reads, 2);

	/* An unknown id walks once, then is remembered as unknown. */
	assert_int_equal(proccache_cgroup_path(f->pc, 987654321, path, sizeof(path)), -ENOENT);
	assert_int_equal(proccache_cgroup_path(f->pc, 987654321, path, sizeof(path)), -ENOENT);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.cgroup_walks, 2);

	/* Exited entries expire after the grace period. */
	proccache_expire(f->pc, 7 * S + PROCCACHE_GRACE_NS - 1);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.entries, 2);
	proccache_expire(f->pc, 7 * S + PROCCACHE_GRACE_NS);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.entries, 0);
}

/* ==== exec / fork / exit ==== */

static void test_fork_exec_exit_sequence(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;
	struct proccache_stats st;
	struct gs_proc_event ev;
	uint64_t sess = fake_cgroup(f->cg, "/user.slice/user-1000.slice/session-3.scope");

	fake_proc(f->proc, 100, "bash", 1, "/usr/bin/bash", "/home/u",
		  "0::/user.slice/user-1000.slice/session-3.scope\n");

	/* fork: the child (not in /proc any more) inherits the parent's exe and cgroup */
	ev = proc_ev(GS_EV_FORK, 101, 100, "bash", NULL, sess);
	proccache_event(f->pc, &ev, 1 * S);
	pi = proccache_get(f->pc, 101, NULL, 0, 1 * S);
	assert_int_equal(pi->ppid, 100);
	assert_string_equal(pi->comm, "bash");
	assert_string_equal(pi->exe, "/usr/bin/bash");
	assert_int_equal(pi->cgroup_id, sess);
	assert_string_equal(pi->cgroup, "/user.slice/user-1000.slice/session-3.scope");
	assert_string_equal(pi->unit, "session-3.scope");
	assert_int_equal(pi->exited, 0);

	/* exec of a relative path, process gone: kept as given; comm without a NUL */
	ev = proc_ev(GS_EV_EXEC, 101, 0, "curl-with-long-name", "./x", sess);
	proccache_event(f->pc, &ev, 2 * S);
	pi = proccache_get(f->pc, 101, NULL, sess, 2 * S);
	assert_string_equal(pi->comm, "curl-with-long-");
	assert_string_equal(pi->exe, "./x");
	assert_int_equal(pi->ppid, 100); /* kept: the record had none */
	assert_string_equal(pi->unit, "session-3.scope");

	/* exit: kept through the grace period, then expired */
	ev = proc_ev(GS_EV_EXIT, 101, 100, "curl-with-long-n", NULL, sess);
	proccache_event(f->pc, &ev, 10 * S);
	pi = proccache_get(f->pc, 101, "other", 0, 10 * S + PROCCACHE_GRACE_NS - 1);
	assert_int_equal(pi->exited, 1);
	assert_int_equal(pi->exit_ns, 10 * S);
	assert_string_equal(pi->exe, "./x");
	assert_string_equal(pi->comm, "curl-with-long-");
	/* a second exit record changes nothing */
	proccache_event(f->pc, &ev, 20 * S);
	pi = proccache_get(f->pc, 101, NULL, 0, 20 * S);
	assert_int_equal(pi->exit_ns, 10 * S);

	proccache_expire(f->pc, 10 * S + PROCCACHE_GRACE_NS);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.entries, 1); /* the parent */
	assert_int_equal(st.proc_reads, 1);
	/* A late record for it now: a miss, gone, only the hint. */
	pi = proccache_get(f->pc, 101, "late", 0, 10 * S + PROCCACHE_GRACE_NS);
	assert_string_equal(pi->comm, "late");
	assert_string_equal(pi->exe, "");
	assert_int_equal(pi->exited, 1);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.proc_reads, 2);
}

static void test_exec_paths(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;
	struct gs_proc_event ev;
	char longpath[GS_PATH_LEN + 1];

	/* relative path, process still there without an exe link: resolved against cwd */
	fake_proc(f->proc, 200, "x", 100, NULL, "/home/u/src", "0::/\n");
	ev = proc_ev(GS_EV_EXEC, 200, 100, "x", "../bin/./x", 0);
	proccache_event(f->pc, &ev, 0);
	pi = proccache_get(f->pc, 200, NULL, 0, 0);
	assert_string_equal(pi->exe, "/home/u/bin/x");
	assert_string_equal(pi->cgroup, "/");

	/* the live exe link wins over the record's path (a script's interpreter) */
	fake_proc(f->proc, 201, "env", 100, "/usr/bin/python3.11", "/tmp", "0::/\n");
	ev = proc_ev(GS_EV_EXEC, 201, 100, "env", "/usr/bin/env", 0);
	proccache_event(f->pc, &ev, 0);
	pi = proccache_get(f->pc, 201, NULL, 0, 0);
	assert_string_equal(pi->exe, "/usr/bin/python3.11");

	/* absolute path, gone: as given */
	ev = proc_ev(GS_EV_EXEC, 202, 100, "env", "/usr/bin/env", 0);
	proccache_event(f->pc, &ev, 0);
	pi = proccache_get(f->pc, 202, NULL, 0, 0);
	assert_string_equal(pi->exe, "/usr/bin/env");

	/* a path filling the record without a NUL: cut to 255 bytes */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[GS_PATH_LEN] = '\0';
	ev = proc_ev(GS_EV_EXEC, 203, 100, "a", longpath, 0);
	proccache_event(f->pc, &ev, 0);
	pi = proccache_get(f->pc, 203, NULL, 0, 0);
	assert_int_equal(strlen(pi->exe), 255);
	assert_memory_equal(pi->exe, longpath, 255);

	/* ".." past the root stays at the root */
	fake_proc(f->proc, 204, "y", 100, NULL, "/", "0::/\n");
	ev = proc_ev(GS_EV_EXEC, 204, 100, "y", "../../y", 0);
	proccache_event(f->pc, &ev, 0);
	assert_string_equal(proccache_get(f->pc, 204, NULL, 0, 0)->exe, "/y");
}

static void test_pid_reuse_and_cgroup_move(void **state)
{
	struct fixture *f = *state;
	const struct proc_info *pi;
	struct gs_proc_event ev;
	uint64_t a = fake_cgroup(f->cg, "/system.slice/a.service");
	uint64_t b = fake_cgroup(f->cg, "/system.slice/docker-" HEX_B ".scope");

	ev = proc_ev(GS_EV_EXEC, 300, 1, "old", "/bin/old", a);
	proccache_event(f->pc, &ev, 0);
	ev = proc_ev(GS_EV_EXIT, 300, 1, "old", NULL, a);
	proccache_event(f->pc, &ev, 1 * S);
	assert_int_equal(proccache_get(f->pc, 300, NULL, 0, 1 * S)->exited, 1);

	/* the pid comes back as a new process: fork from an unknown, gone parent */
	ev = proc_ev(GS_EV_FORK, 300, 299, "new", NULL, b);
	proccache_event(f->pc, &ev, 2 * S);
	pi = proccache_get(f->pc, 300, NULL, 0, 2 * S);
	assert_int_equal(pi->exited, 0);
	assert_int_equal(pi->exit_ns, 0);
	assert_string_equal(pi->comm, "new");
	assert_string_equal(pi->exe, "");
	assert_int_equal(pi->cgroup_id, b);
	assert_string_equal(pi->container_id, HEX_B);
	assert_string_equal(pi->unit, "");

	/* a record from another cgroup: the process moved */
	pi = proccache_get(f->pc, 300, NULL, a, 3 * S);
	assert_int_equal(pi->cgroup_id, a);
	assert_string_equal(pi->cgroup, "/system.slice/a.service");
	assert_string_equal(pi->container_id, "");
	assert_string_equal(pi->unit, "a.service");
}

static void test_bad_events_ignored(void **state)
{
	struct fixture *f = *state;
	struct proccache_stats st;
	struct gs_proc_event ev;

	proccache_event(f->pc, NULL, 0);
	proccache_event(NULL, NULL, 0);
	ev = proc_ev(GS_EV_EXEC, 0, 1, "x", "/x", 0);
	proccache_event(f->pc, &ev, 0);
	ev = proc_ev(GS_EV_CLOSE, 9, 1, "x", "/x", 0);
	proccache_event(f->pc, &ev, 0);
	ev = proc_ev(99, 9, 1, "x", "/x", 0);
	proccache_event(f->pc, &ev, 0);
	ev = proc_ev(GS_EV_EXIT, 9, 1, "x", NULL, 0); /* never seen: nothing to keep */
	proccache_event(f->pc, &ev, 0);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.entries, 0);
	assert_null(proccache_get(NULL, 1, NULL, 0, 0));
	proccache_expire(NULL, 0);
	proccache_free(NULL);
	proccache_get_stats(NULL, &st);
	assert_int_equal(st.entries, 0);

	errno = 0;
	assert_null(proccache_new(0, "/proc", "/sys/fs/cgroup"));
	assert_int_equal(errno, EINVAL);
	assert_null(proccache_new(16, NULL, "/sys/fs/cgroup"));
	assert_null(proccache_new(16, "/proc", NULL));
	assert_null(proccache_new((size_t)1 << 40, "/proc", "/sys/fs/cgroup"));
}

/* ==== Eviction ==== */

static void test_eviction_order(void **state)
{
	struct fixture *f = *state;
	struct proccache *pc = proccache_new(3, f->proc, f->cg);
	struct proccache_stats st;
	struct gs_proc_event ev;

	(void)state;
	assert_non_null(pc);
	for (uint32_t pid = 1; pid <= 3; pid++) {
		ev = proc_ev(GS_EV_EXEC, pid, 0, "p", "/bin/p", 0);
		proccache_event(pc, &ev, 0);
	}
	assert_non_null(proccache_get(pc, 1, NULL, 0, 0)); /* LRU now: 2, 3, 1 */
	ev = proc_ev(GS_EV_EXIT, 2, 0, "p", NULL, 0);
	proccache_event(pc, &ev, 1 * S);
	/* full: the exited entry goes first although it is not the LRU */
	ev = proc_ev(GS_EV_EXEC, 4, 0, "p", "/bin/p4", 0);
	proccache_event(pc, &ev, 2 * S);
	/* then the least recently used live one: 3 */
	ev = proc_ev(GS_EV_EXEC, 5, 0, "p", "/bin/p5", 0);
	proccache_event(pc, &ev, 3 * S);
	proccache_get_stats(pc, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.proc_reads, 0);

	assert_string_equal(proccache_get(pc, 1, NULL, 0, 3 * S)->exe, "/bin/p");
	assert_string_equal(proccache_get(pc, 4, NULL, 0, 3 * S)->exe, "/bin/p4");
	assert_string_equal(proccache_get(pc, 5, NULL, 0, 3 * S)->exe, "/bin/p5");
	proccache_get_stats(pc, &st);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 0);
	/* 3 is gone: a miss (the fake /proc has no 3), evicting the LRU: 1 */
	assert_string_equal(proccache_get(pc, 3, "p3", 0, 3 * S)->exe, "");
	proccache_get_stats(pc, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.evictions, 3);
	assert_int_equal(st.proc_reads, 1);
	assert_string_equal(proccache_get(pc, 4, NULL, 0, 3 * S)->exe, "/bin/p4");
	proccache_get_stats(pc, &st);
	assert_int_equal(st.misses, 1);

	/* exited entries expire in exit order and only after the grace */
	ev = proc_ev(GS_EV_EXIT, 5, 0, "p", NULL, 0);
	proccache_event(pc, &ev, 4 * S);
	ev = proc_ev(GS_EV_EXIT, 4, 0, "p", NULL, 0);
	proccache_event(pc, &ev, 5 * S);
	proccache_expire(pc, 4 * S + PROCCACHE_GRACE_NS);
	proccache_get_stats(pc, &st);
	/* 3 (exited at 3 s, gone on the read) and 5 went; 4 stays */
	assert_int_equal(st.entries, 1);
	assert_string_equal(proccache_get(pc, 4, NULL, 0, 4 * S + PROCCACHE_GRACE_NS)->exe,
			    "/bin/p4");
	proccache_free(pc);
}

/* A fork whose parent must be read from /proc, in a cache of one: making
 * room for the child evicts the parent it copied from. */
static void test_fork_evicts_parent_safely(void **state)
{
	struct fixture *f = *state;
	struct proccache *pc = proccache_new(1, f->proc, f->cg);
	const struct proc_info *pi;
	struct gs_proc_event ev;

	assert_non_null(pc);
	fake_proc(f->proc, 400, "sshd", 1, "/usr/sbin/sshd", "/", "0::/system.slice/ssh.service\n");
	ev = proc_ev(GS_EV_FORK, 401, 400, "sshd", NULL, 0);
	proccache_event(pc, &ev, 0);
	pi = proccache_get(pc, 401, NULL, 0, 0);
	assert_string_equal(pi->exe, "/usr/sbin/sshd");
	assert_string_equal(pi->unit, "ssh.service");
	assert_int_equal(pi->ppid, 400);
	proccache_free(pc);
}

/* A thousand processes and more: the table grows far past its first size,
 * evicts the least recently used, then exited ones first in exit order, and
 * shrinks by expiry; every survivor keeps its own fields. */
static void test_grow_evict_expire(void **state)
{
	enum { MAX = 1000, EXECS = 1200 };
	struct fixture *f = *state;
	struct proccache *pc = proccache_new(MAX, f->proc, f->cg);
	struct proccache_stats st;
	struct gs_proc_event ev;
	char exe[32];

	assert_non_null(pc);
	for (uint32_t pid = 1; pid <= EXECS; pid++) {
		snprintf(exe, sizeof(exe), "/bin/p%u", pid);
		ev = proc_ev(GS_EV_EXEC, pid, 1, "p", exe, 0);
		proccache_event(pc, &ev, 0);
	}
	proccache_get_stats(pc, &st);
	assert_int_equal(st.entries, MAX);
	assert_int_equal(st.evictions, EXECS - MAX); /* 1..200, least recently used */
	for (uint32_t pid = 201; pid <= 300; pid++) {
		ev = proc_ev(GS_EV_EXIT, pid, 1, "p", NULL, 0);
		proccache_event(pc, &ev, 1 * S);
	}
	for (uint32_t pid = 2001; pid <= 2050; pid++) { /* room from 201..250 */
		ev = proc_ev(GS_EV_EXEC, pid, 1, "p", "/bin/new", 0);
		proccache_event(pc, &ev, 2 * S);
	}
	proccache_get_stats(pc, &st);
	assert_int_equal(st.entries, MAX);
	assert_int_equal(st.evictions, EXECS - MAX + 50);
	for (uint32_t pid = 251; pid <= EXECS; pid++) {
		const struct proc_info *pi = proccache_get(pc, pid, NULL, 0, 2 * S);

		snprintf(exe, sizeof(exe), "/bin/p%u", pid);
		assert_string_equal(pi->exe, exe);
		assert_int_equal(pi->exited, pid <= 300);
	}
	proccache_get_stats(pc, &st);
	assert_int_equal(st.hits, EXECS - 250);
	assert_int_equal(st.misses, 0);
	proccache_expire(pc, 1 * S + PROCCACHE_GRACE_NS); /* 251..300 */
	proccache_get_stats(pc, &st);
	assert_int_equal(st.entries, MAX - 50);
	assert_string_equal(proccache_get(pc, 2050, NULL, 0, 2 * S)->exe, "/bin/new");
	assert_string_equal(proccache_get(pc, 1, "gone", 0, 2 * S)->comm, "gone");
	proccache_get_stats(pc, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.entries, MAX - 49);
	proccache_free(pc);
}

/* ==== cgroup ids ==== */

static void test_cgroup_walk_fake_tree(void **state)
{
	struct fixture *f = *state;
	char path[256], deep[128] = "", p[PATH_MAX], small[8];
	struct proccache_stats st;
	struct stat rst;
	uint64_t a, b, last = 0, over;
	int fds;

	a = fake_cgroup(f->cg, "/kubepods.slice/kubepods-besteffort.slice");
	b = fake_cgroup(f->cg, "/system.slice/nginx.service");
	snprintf(p, sizeof(p), "%s/system.slice/cgroup.procs", f->cg);
	write_text(p, "1\n");
	snprintf(p, sizeof(p), "%s/link", f->cg);
	assert_int_equal(symlink(f->cg, p), 0); /* not followed */
	for (int i = 1; i <= 33; i++) {
		strncat(deep, "/d", sizeof(deep) - strlen(deep) - 1);
		over = fake_cgroup(f->cg, deep);
		if (i == 32)
			last = over;
	}
	assert_int_equal(stat(f->cg, &rst), 0);

	fds = count_fds();
	assert_int_equal(proccache_cgroup_path(f->pc, b, path, sizeof(path)), 0);
	assert_int_equal(count_fds(), fds);
	assert_string_equal(path, "/system.slice/nginx.service");
	/* learned during the same walk */
	assert_int_equal(proccache_cgroup_path(f->pc, a, path, sizeof(path)), 0);
	assert_string_equal(path, "/kubepods.slice/kubepods-besteffort.slice");
	assert_int_equal(proccache_cgroup_path(f->pc, rst.st_ino, path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	assert_int_equal(proccache_cgroup_path(f->pc, last, path, sizeof(path)), 0);
	assert_int_equal(strlen(path), 64); /* 32 levels: the depth bound */
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.cgroup_walks, 1);
	/* root, kubepods x2, system.slice x2, 32 levels of d */
	assert_int_equal(st.cgroup_entries, 37);
	/* level 33 is past the bound */
	assert_int_equal(proccache_cgroup_path(f->pc, over, path, sizeof(path)), -ENOENT);
	assert_string_equal(path, "");

	assert_int_equal(proccache_cgroup_path(f->pc, b, small, sizeof(small)), -ENAMETOOLONG);
	assert_string_equal(small, "");
	assert_int_equal(proccache_cgroup_path(f->pc, 0, path, sizeof(path)), -EINVAL);
	assert_int_equal(proccache_cgroup_path(NULL, b, path, sizeof(path)), -EINVAL);
	assert_int_equal(proccache_cgroup_path(f->pc, b, path, 0), -EINVAL);
}

/* The id cache holds 4096 ids: a walk over more directories keeps what
 * fits, and remembering the unknown target on a full table starts over. */
static void test_cgroup_cache_bound(void **state)
{
	struct fixture *f = *state;
	struct proccache_stats st;
	char p[PATH_MAX], path[256];

	for (int i = 0; i < 4200; i++) {
		snprintf(p, sizeof(p), "%s/c%d", f->cg, i);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	assert_int_equal(proccache_cgroup_path(f->pc, 987654321, path, sizeof(path)), -ENOENT);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.cgroup_walks, 1);
	assert_int_equal(st.cgroup_walks_truncated, 0);
	assert_int_equal(st.cgroup_flushes, 1);
	assert_int_equal(st.cgroup_entries, 1);
	assert_int_equal(proccache_cgroup_path(f->pc, 987654321, path, sizeof(path)), -ENOENT);
	proccache_get_stats(f->pc, &st);
	assert_int_equal(st.cgroup_walks, 1);
}

/* ==== Live system ==== */

/* The cgroup2 mount point, from /proc/self/mountinfo; "" if none. */
static void find_cgroup2(char *out, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - cgroup2 ");
		char *tok, *save = NULL;
		int i = 0;

		if (!sep)
			continue;
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++)
			if (i == 4) {
				snprintf(out, len, "%s", tok);
				break;
			}
		break;
	}
	fclose(f);
}

/* Own cgroup v2 path from /proc/self/cgroup ("0::" line). */
static void own_cgroup(char *out, size_t len)
{
	char text[4096], *l;
	int fd = open("/proc/self/cgroup", O_RDONLY);
	ssize_t n;

	out[0] = '\0';
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	l = strstr(text, "0::");
	if (l && (l == text || l[-1] == '\n')) {
		l += 3;
		l[strcspn(l, "\n")] = '\0';
		snprintf(out, len, "%s", l);
	}
}

static void test_live_proc_self(void **state)
{
	struct proccache *pc = proccache_new(16, "/proc", "/sys/fs/cgroup");
	const struct proc_info *pi;
	char exe[PATH_MAX], cg[256], mnt[256], full[PATH_MAX];
	extern char *program_invocation_name;
	struct stat st;

	(void)state;
	assert_non_null(pc);
	assert_non_null(realpath(program_invocation_name, exe));
	own_cgroup(cg, sizeof(cg));
	pi = proccache_get(pc, (uint32_t)getpid(), NULL, 0, 0);
	assert_non_null(pi);
	assert_int_equal(pi->pid, getpid());
	assert_int_equal(pi->ppid, getppid());
	assert_string_equal(pi->comm, "test_proccache");
	assert_string_equal(pi->exe, exe);
	assert_string_equal(pi->cgroup, cg);
	assert_int_equal(pi->exited, 0);
	find_cgroup2(mnt, sizeof(mnt));
	if (mnt[0] && cg[0]) {
		snprintf(full, sizeof(full), "%s%s", mnt, strcmp(cg, "/") ? cg : "");
		assert_int_equal(stat(full, &st), 0);
		assert_int_equal(pi->cgroup_id, st.st_ino);
	}
	proccache_free(pc);
}

static void test_live_cgroup_ids(void **state)
{
	char mnt[256], cg[256], full[PATH_MAX], path[256], mine[64];
	const char *root;
	struct proccache *pc;
	struct stat st;

	(void)state;
	find_cgroup2(mnt, sizeof(mnt));
	if (!mnt[0]) {
		print_message("no cgroup2 mount: live cgroup id case skipped\n");
		skip();
	}
	/* Hand over /sys/fs/cgroup on hybrid hosts: the cache must find unified/. */
	root = !strcmp(mnt, "/sys/fs/cgroup/unified") ? "/sys/fs/cgroup" : mnt;
	pc = proccache_new(16, "/proc", root);
	assert_non_null(pc);

	assert_int_equal(stat(mnt, &st), 0);
	assert_int_equal(proccache_cgroup_path(pc, st.st_ino, path, sizeof(path)), 0);
	assert_string_equal(path, "/");

	own_cgroup(cg, sizeof(cg));
	snprintf(full, sizeof(full), "%s%s", mnt, strcmp(cg, "/") ? cg : "");
	assert_int_equal(stat(full, &st), 0);
	assert_int_equal(proccache_cgroup_path(pc, st.st_ino, path, sizeof(path)), 0);
	assert_string_equal(path, cg);

	/* With the rights to, a nested cgroup made here and removed again. */
	snprintf(mine, sizeof(mine), "/gespann-unit-%d", (int)getpid());
	snprintf(full, sizeof(full), "%s%s", mnt, mine);
	if (mkdir(full, 0755) == 0) {
		char sub[PATH_MAX + 16];
		struct stat sst;
		int ok;

		snprintf(sub, sizeof(sub), "%s/svc.service", full);
		ok = mkdir(sub, 0755) == 0 && stat(sub, &sst) == 0;
		if (ok) {
			char want[300];

			snprintf(want, sizeof(want), "%s/svc.service", mine);
			ok = proccache_cgroup_path(pc, sst.st_ino, path, sizeof(path)) == 0 &&
			     !strcmp(path, want);
			if (!ok)
				print_message("want %s, got %s\n", want, path);
			else
				print_message("nested cgroup %s resolved\n", want);
		}
		rmdir(sub);
		rmdir(full);
		assert_true(ok);
	} else {
		print_message("cannot create a cgroup under %s (%s): nested case not run\n", mnt,
			      strerror(errno));
	}
	proccache_free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cgroup_table),
		cmocka_unit_test(test_parse_cgroup_random),
		cmocka_unit_test(test_parse_cgroup_errors),
		cmocka_unit_test_setup_teardown(test_miss_reads_fake_proc_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stat_comm_with_parens_and_deleted_exe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_stat_is_treated_as_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gone_process_keeps_hint_and_cgroup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fork_exec_exit_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid_reuse_and_cgroup_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_events_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_evicts_parent_safely, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_evict_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_walk_fake_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_cache_bound, setup, teardown),
		cmocka_unit_test(test_live_proc_self),
		cmocka_unit_test(test_live_cgroup_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
