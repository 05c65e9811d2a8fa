/* SPDX-License-Identifier: MIT */
/*
 * Process cache: pid -> process name, executable, cgroup, container id and
 * systemd unit, for attributing connections and flows to the process that
 * owns them. Fed by the kernel's exec/fork/exit records (struct
 * gs_proc_event), filled on a miss from /proc/<pid>, and bounded: exited
 * processes stay for a grace period (so records arriving after the exit still
 * name them) and are evicted first, then the least recently used. Also maps a
 * cgroup v2 id (bpf_get_current_cgroup_id) back to its path by walking the
 * cgroup2 tree, cached. User space only, single-threaded (the event loop);
 * the clock is passed in.
 */
#ifndef GESPANN_PROCCACHE_H
#define GESPANN_PROCCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "abi/gespann_abi.h"

/* How long an exited process stays in the cache. */
#define PROCCACHE_GRACE_NS (60ULL * 1000000000ULL)

struct proc_info {
	uint32_t pid, ppid;
	char comm[16];
	char exe[256];	       /* absolute path when known, "" otherwise (kernel threads) */
	uint64_t cgroup_id;    /* cgroup v2 id (inode of its directory), 0 if unknown */
	char cgroup[256];      /* cgroup v2 path, e.g. /system.slice/nginx.service; "" if unknown */
	char container_id[72]; /* "" when none */
	char unit[128];	       /* systemd unit, "" when none */
	int exited;
	uint64_t exit_ns;
};

struct proccache;

/*
 * Create a cache of at most max_entries processes (1 .. 4194304). proc_root is
 * the procfs mount ("/proc"; tests pass a directory tree shaped like it),
 * cgroup_root the cgroup2 mount ("/sys/fs/cgroup"; on a hybrid host where that
 * is not cgroup2 but its "unified" subdirectory is, that one is used). Both
 * strings are copied. Returns NULL with errno set (EINVAL, ENAMETOOLONG,
 * ENOMEM).
 */
struct proccache *proccache_new(size_t max_entries, const char *proc_root, const char *cgroup_root);

/* Free the cache and every string it holds. NULL is fine. */
void proccache_free(struct proccache *pc);

/*
 * Apply one process lifecycle record. EXEC: the pid gets the record's comm,
 * cgroup and ppid, and as exe the /proc/<pid>/exe link while the process
 * lives, else the record's path (made absolute against /proc/<pid>/cwd when it
 * is relative and cwd is readable; kept as given otherwise). FORK: the new pid
 * inherits its parent's exe and cgroup (the parent looked up, /proc read if
 * needed). EXIT: the entry is marked exited at now_ns and kept for
 * PROCCACHE_GRACE_NS. A FORK or EXEC for a pid with an exited entry starts a
 * new process (pid reuse). Records of unknown type, NULL, or pid 0 are
 * ignored; comm/path need not be NUL-terminated.
 */
void proccache_event(struct proccache *pc, const struct gs_proc_event *ev, uint64_t now_ns);

/*
 * Info for pid, or NULL for pid 0 (or pc NULL). On a miss, /proc/<pid>/stat
 * (comm, ppid), exe and cgroup are read once and cached; when the process is
 * gone already, the entry holds what the caller knows (comm_hint, cgroup_id
 * and the path that id resolves to) and is marked exited at now_ns. A nonzero
 * cgroup_id different from the cached one (the process moved) updates the
 * entry. Never fails: the worst case is an entry with empty fields. The
 * pointer stays valid until the next call on pc that is not a _get_stats or
 * _cgroup_path call.
 */
const struct proc_info *proccache_get(struct proccache *pc, uint32_t pid, const char *comm_hint,
				      uint64_t cgroup_id, uint64_t now_ns);

/* Drop exited entries whose grace period is over at now_ns. */
void proccache_expire(struct proccache *pc, uint64_t now_ns);

struct proccache_stats {
	uint64_t entries;	 /* processes cached now */
	uint64_t hits;		 /* proccache_get answered from the cache */
	uint64_t misses;	 /* proccache_get that had to create an entry */
	uint64_t proc_reads;	 /* attempts to read a process from proc_root */
	uint64_t evictions;	 /* entries dropped to make room (not expiry) */
	uint64_t cgroup_walks;	 /* walks of the cgroup tree for an unknown id */
	uint64_t cgroup_entries; /* cgroup id -> path mappings cached now (incl. negative) */
	uint64_t cgroup_flushes; /* the id cache was full and started over */
	uint64_t cgroup_walks_truncated; /* walks that hit the directory bound */
};

/* Copy the counters. */
void proccache_get_stats(const struct proccache *pc, struct proccache_stats *out);

/*
 * Pure: split a cgroup v2 path into a container id and a systemd unit.
 * Container: the innermost component that is <runtime>-<hex id>.scope (docker,
 * cri-containerd, crio, libpod, nerdctl, ...; conmon scopes such as
 * crio-conmon-<id>.scope and libpod-conmon-<id>.scope are not containers), a
 * bare 64-hex component (/docker/<id>, /kubepods/.../<id>, cgroupfs drivers),
 * lxc.payload.<name> or /lxc/<name>. Unit: the innermost *.service, or *.scope
 * that is not a container scope (session-3.scope, user units under
 * user@1000.service/app.slice/...). Each is "" when none. Returns 0, -EINVAL
 * on NULL arguments or zero lengths, -ENAMETOOLONG when a value does not fit
 * (that value is then "").
 */
int proc_parse_cgroup(const char *path, char *container_id, size_t cid_len, char *unit,
		      size_t unit_len);

/*
 * Pure: the service a process belongs to, for the src_service label, given
 * what proc_parse_cgroup() found in its cgroup path: the container id when
 * there is one (the runtime's cgroup path gives the id; lxc gives the name),
 * else the systemd service unit (*.service, innermost; not user@UID.service,
 * the user's manager, nor any scope: session-3.scope, app-*.scope, init.scope),
 * else comm. NULL arguments count as "". Returns one of its arguments.
 */
const char *proc_service(const char *container_id, const char *unit, const char *comm);

/*
 * cgroup v2 id -> path relative to the cgroup2 root ("/" for the root, else
 * "/a/b"). Resolved from a cache (4096 ids; when full it starts over); an
 * unknown id walks the tree once (32 levels, 65536 directories at most),
 * caching every directory seen, and an id not found is remembered as unknown. Returns 0, -EINVAL (NULL, id 0, len 0), -ENOENT
 * (not found), -ENAMETOOLONG (does not fit in len; out is "").
 */
int proccache_cgroup_path(struct proccache *pc, uint64_t cgroup_id, char *out, size_t len);

#endif
