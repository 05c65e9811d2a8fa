// SPDX-License-Identifier: MIT
/*
 * Process cache: who a pid is (comm, exe, cgroup, container, unit), kept
 * current by the kernel's exec/fork/exit records and filled from /proc on a
 * miss. Connection records name their owner by pid only; this module turns
 * that pid into the labels flows carry, also for processes that are gone by
 * the time their last record is read (exited entries stay for a grace
 * period).
 *
 * Layout: one allocation per process, found by a uthash table on the pid
 * and kept on one of two utlist lists: live entries in LRU order and exited
 * entries in exit order. Room is made by evicting the oldest exited entry
 * first, then the least recently used live one. A second table,
 * open-addressed and of fixed size, maps cgroup ids (the inode number of the
 * cgroup's directory in cgroup2) to paths; it never grows (it starts over
 * when full) and the kernel assigns its keys, so uthash would gain nothing
 * there. An unknown id costs one bounded walk of the cgroup tree that caches
 * every directory it sees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "enrich/proccache.h"
#include "util/hashmix.h"

static uint64_t pc_seed; /* hashmix_seed_once, by proccache_new */
#define HASH_FUNCTION(key, len, hv) \
	((hv) = hashmix_key(__atomic_load_n(&pc_seed, __ATOMIC_RELAXED), key, len))
#define HASH_NONFATAL_OOM 1 /* a process that cannot be indexed is not cached */
#include <uthash.h>
#include <utlist.h>

#define PC_MAX_ENTRIES	   (1U << 22)
#define CG_SLOTS	   8192U  /* power of two */
#define CG_MAX_USED	   4096U  /* half full at most: short probe chains */
#define CG_WALK_MAX_DEPTH  32	  /* cgroup2 nesting below the root */
#define CG_WALK_MAX_DIRS   65536U /* directories visited per walk */
#define PC_CGROUP_FILE_MAX 4096
#define CGROUP2_MAGIC	   0x63677270 /* CGROUP2_SUPER_MAGIC, linux/magic.h */

struct pc_entry {
	struct proc_info info;
	UT_hash_handle hh;	      /* by info.pid */
	struct pc_entry *prev, *next; /* on live or exited, as info.exited says */
};

struct cg_slot {
	uint64_t id; /* 0: empty */
	char *path;  /* NULL: known not to exist */
};

struct proccache {
	struct pc_entry *by_pid; /* uthash head */
	struct pc_entry *live;	 /* utlist, head: most recently used */
	struct pc_entry *exited; /* utlist, head: exited first */
	uint32_t max;
	struct proc_info scratch; /* what proccache_get answers when out of memory */
	struct cg_slot *cg;
	uint32_t cg_used;
	struct proccache_stats st;
	char proc_root[PATH_MAX];
	char cgroup_root[PATH_MAX];
};

/* ==== Small string helpers ==== */

/* Copy at most srcmax bytes of src (which may lack a NUL) into dst, always
 * NUL-terminated, truncating to dstlen - 1. */
static void pc_copy(char *dst, size_t dstlen, const char *src, size_t srcmax)
{
	size_t n = src ? strnlen(src, srcmax) : 0;

	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static int pc_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int pc_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return n > 0;
}

/* ==== cgroup path parsing (pure) ==== */

/* Runtimes whose scopes may carry ids shorter than 64 hex digits. */
static const char *const pc_runtimes[] = { "docker",  "cri-containerd", "crio",	       "libpod",
					   "nerdctl", "containerd",	"cri-dockerd", NULL };

/* Is component c (n bytes) a container: "<runtime>-<hexid>.scope" (systemd
 * drivers; any runtime name with a 64-digit id), or "<runtime>-<hexid>" of a
 * known runtime (cgroupfs drivers)? Points id at the hex id. Conmon scopes
 * are the runtime's monitor, not the container. */
static int pc_container_scope(const char *c, size_t n, const char **id, size_t *idn)
{
	const char *dash;
	size_t base, plen, hn;

	/* cgroupfs drivers name them <runtime>-<id> without ".scope" */
	base = pc_ends_with(c, n, ".scope") ? n - strlen(".scope") : n;
	dash = memrchr(c, '-', base);
	if (!dash || dash == c)
		return 0;
	plen = (size_t)(dash - c);
	hn = base - plen - 1;
	if (memmem(c, plen, "conmon", strlen("conmon")))
		return 0;
	if (!pc_is_hex(dash + 1, hn) || hn > 64)
		return 0;
	if (hn != 64 || base == n) {
		int known = 0;

		for (int i = 0; pc_runtimes[i]; i++)
			if (strlen(pc_runtimes[i]) == plen && !memcmp(c, pc_runtimes[i], plen))
				known = 1;
		if (!known || hn < 12)
			return 0;
	}
	*id = dash + 1;
	*idn = hn;
	return 1;
}

int proc_parse_cgroup(const char *path, char *container_id, size_t cid_len, char *unit,
		      size_t unit_len)
{
	const char *cid = NULL, *u = NULL, *p, *prev = NULL;
	size_t cidn = 0, un = 0, prevn = 0;
	int err = 0;

	if (!path || !container_id || !unit || !cid_len || !unit_len)
		return -EINVAL;
	container_id[0] = '\0';
	unit[0] = '\0';
	for (p = path; *p;) {
		const char *c, *id;
		size_t n, idn;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (!n)
			break;
		if (pc_container_scope(c, n, &id, &idn)) {
			cid = id;
			cidn = idn;
		} else if (n == 64 && pc_is_hex(c, n)) {
			/* cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
			cid = c;
			cidn = n;
		} else if (n > 12 && !memcmp(c, "lxc.payload.", 12)) {
			cid = c + 12;
			cidn = n - 12;
		} else if (prev && prevn == 3 && !memcmp(prev, "lxc", 3)) {
			/* legacy LXC: /lxc/<name> */
			cid = c;
			cidn = n;
		} else if (pc_ends_with(c, n, ".service") || pc_ends_with(c, n, ".scope")) {
			u = c;
			un = n;
		}
		prev = c;
		prevn = n;
	}
	if (cid) {
		if (cidn < cid_len)
			pc_copy(container_id, cid_len, cid, cidn);
		else
			err = -ENAMETOOLONG;
	}
	if (u) {
		if (un < unit_len)
			pc_copy(unit, unit_len, u, un);
		else
			err = -ENAMETOOLONG;
	}
	return err;
}

const char *proc_service(const char *container_id, const char *unit, const char *comm)
{
	size_t n = unit ? strlen(unit) : 0;

	if (container_id && container_id[0])
		return container_id;
	if (n && pc_ends_with(unit, n, ".service") && strncmp(unit, "user@", strlen("user@")))
		return unit;
	return comm ? comm : "";
}

/* ==== cgroup id -> path cache ==== */

static uint32_t cg_hash(uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ULL) >> 40) & (CG_SLOTS - 1);
}

static struct cg_slot *cg_find(struct proccache *pc, uint64_t id)
{
	for (uint32_t i = cg_hash(id), k = 0; k < CG_SLOTS; i = (i + 1) & (CG_SLOTS - 1), k++) {
		if (pc->cg[i].id == id)
			return &pc->cg[i];
		if (!pc->cg[i].id)
			return NULL;
	}
	return NULL;
}

static void cg_clear(struct proccache *pc)
{
	for (uint32_t i = 0; i < CG_SLOTS; i++) {
		free(pc->cg[i].path);
		pc->cg[i].path = NULL;
		pc->cg[i].id = 0;
	}
	pc->cg_used = 0;
}

/* Remember id -> path (path NULL: not found). When the table is full, a
 * forced insert starts over with an empty table; an unforced one is
 * dropped (a walk does not flush what it just learned). */
static void cg_put(struct proccache *pc, uint64_t id, const char *path, int force)
{
	struct cg_slot *s;
	char *copy = NULL;

	if (!id)
		return;
	s = cg_find(pc, id);
	if (s) {
		if (path && (!s->path || strcmp(s->path, path))) {
			copy = strdup(path);
			if (copy) {
				free(s->path);
				s->path = copy;
			}
		}
		return;
	}
	if (pc->cg_used >= CG_MAX_USED) {
		if (!force)
			return;
		cg_clear(pc);
		pc->st.cgroup_flushes++;
	}
	if (path) {
		copy = strdup(path);
		if (!copy)
			return;
	}
	for (uint32_t i = cg_hash(id);; i = (i + 1) & (CG_SLOTS - 1)) {
		if (!pc->cg[i].id) {
			pc->cg[i].id = id;
			pc->cg[i].path = copy;
			pc->cg_used++;
			return;
		}
	}
}

struct cg_walk {
	struct proccache *pc;
	uint64_t target;
	int found;
	uint32_t dirs;
	char path[PATH_MAX];
};

/* Depth-first over the directories under dirfd (consumed), whose path
 * relative to the root is w->path[0..plen). */
static void cg_walk_dir(struct cg_walk *w, int dirfd, size_t plen, int depth)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) && w->dirs < CG_WALK_MAX_DIRS) {
		size_t n = strlen(de->d_name);
		uint64_t ino = de->d_ino;
		int fd;

		if (de->d_name[0] == '.' && (n == 1 || (n == 2 && de->d_name[1] == '.')))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
			    !S_ISDIR(st.st_mode))
				continue;
			ino = st.st_ino;
		} else if (de->d_type != DT_DIR) {
			continue;
		}
		if (plen + 1 + n >= sizeof(w->path))
			continue;
		w->dirs++;
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, de->d_name, n + 1);
		if (ino == w->target) {
			w->found = 1;
			cg_put(w->pc, ino, w->path, 1);
		} else {
			cg_put(w->pc, ino, w->path, 0);
		}
		if (depth + 1 >= CG_WALK_MAX_DEPTH)
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			cg_walk_dir(w, fd, plen + 1 + n, depth + 1);
	}
	w->path[plen] = '\0';
	closedir(d);
}

/* Walk the whole tree once for target, caching what it sees; a target not
 * found is cached as unknown. */
static void cg_walk(struct proccache *pc, uint64_t target)
{
	struct cg_walk *w = calloc(1, sizeof(*w));
	struct stat st;
	int fd;

	pc->st.cgroup_walks++;
	if (!w)
		return;
	w->pc = pc;
	w->target = target;
	fd = open(pc->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st)) {
		cg_put(pc, st.st_ino, "/", st.st_ino == target);
		if (st.st_ino == target) {
			w->found = 1;
			close(fd);
		} else {
			cg_walk_dir(w, fd, 0, 0);
		}
	} else if (fd >= 0) {
		close(fd);
	}
	if (w->dirs >= CG_WALK_MAX_DIRS)
		pc->st.cgroup_walks_truncated++;
	if (!w->found)
		cg_put(pc, target, NULL, 1);
	free(w);
}

int proccache_cgroup_path(struct proccache *pc, uint64_t cgroup_id, char *out, size_t len)
{
	struct cg_slot *s;

	if (!pc || !cgroup_id || !out || !len)
		return -EINVAL;
	out[0] = '\0';
	s = cg_find(pc, cgroup_id);
	if (!s) {
		cg_walk(pc, cgroup_id);
		s = cg_find(pc, cgroup_id);
	}
	if (!s || !s->path)
		return -ENOENT;
	if (strlen(s->path) >= len)
		return -ENAMETOOLONG;
	pc_copy(out, len, s->path, len);
	return 0;
}

/* Inode of cgroup_root + path (the cgroup id of that cgroup), 0 if none. */
static uint64_t cg_stat_id(struct proccache *pc, const char *path)
{
	char full[PATH_MAX];
	struct stat st;
	int n;

	n = snprintf(full, sizeof(full), "%s%s", pc->cgroup_root, strcmp(path, "/") ? path : "");
	if (n < 0 || (size_t)n >= sizeof(full) || stat(full, &st) || !S_ISDIR(st.st_mode))
		return 0;
	return st.st_ino;
}

/* ==== /proc reading ==== */

static int pc_proc_path(const struct proccache *pc, char *buf, size_t len, uint32_t pid,
			const char *name)
{
	int n = snprintf(buf, len, "%s/%u/%s", pc->proc_root, pid, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Read up to len - 1 bytes of a file, NUL-terminated. Returns bytes or -errno. */
static ssize_t pc_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/* readlink into buf, NUL-terminated; a replaced executable loses the
 * kernel's " (deleted)" suffix so labels do not change after an upgrade. */
static int pc_read_link(const char *path, char *buf, size_t len)
{
	static const char deleted[] = " (deleted)";
	ssize_t n = readlink(path, buf, len);

	if (n < 0)
		return -errno;
	if ((size_t)n >= len) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	buf[n] = '\0';
	if ((size_t)n > sizeof(deleted) - 1 && !strcmp(buf + n - (sizeof(deleted) - 1), deleted))
		buf[n - (sizeof(deleted) - 1)] = '\0';
	return 0;
}

/* The cgroup a /proc/<pid>/cgroup text names: the v2 line ("0::/path"), or
 * on a v1-only host the name=systemd line. "" when neither. */
static void pc_cgroup_from_file(const char *text, char *out, size_t len)
{
	const char *line = text;

	out[0] = '\0';
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (n > 3 && !memcmp(line, "0::", 3)) {
			/* a removed cgroup still shows, marked " (deleted)" */
			if (pc_ends_with(line, n, " (deleted)"))
				n -= strlen(" (deleted)");
			pc_copy(out, len, line + 3, n - 3);
			return;
		}
		{
			const char *c1 = memchr(line, ':', n), *c2;

			c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
			if (c2 && (size_t)(c2 - c1 - 1) == strlen("name=systemd") &&
			    !memcmp(c1 + 1, "name=systemd", strlen("name=systemd")))
				pc_copy(out, len, c2 + 1, n - (size_t)(c2 + 1 - line));
		}
		line = end ? end + 1 : NULL;
	}
}

/* Container and unit from info->cgroup; when that names neither (hybrid
 * hosts whose v2 tree is flat), from the v1 lines of the cgroup file. */
static void pc_parse_into(struct proc_info *pi, const char *cgroup_file)
{
	const char *line = cgroup_file;

	proc_parse_cgroup(pi->cgroup, pi->container_id, sizeof(pi->container_id), pi->unit,
			  sizeof(pi->unit));
	while (line && *line && !pi->container_id[0] && !pi->unit[0]) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		const char *c1 = memchr(line, ':', n), *c2;
		char path[256];

		c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			pc_copy(path, sizeof(path), c2 + 1, n - (size_t)(c2 + 1 - line));
			proc_parse_cgroup(path, pi->container_id, sizeof(pi->container_id),
					  pi->unit, sizeof(pi->unit));
		}
		line = end ? end + 1 : NULL;
	}
}

/*
 * Give pi the cgroup id (0: take the one of the /proc path) and its path,
 * container and unit. cgroup_file is /proc/<pid>/cgroup's text if the
 * caller read it, else it is read here when pid is set and the id is not
 * cached. The record's id wins over the /proc path: the record is what the
 * connection saw, /proc is where the process is now.
 */
static void pc_set_cgroup(struct proccache *pc, struct proc_info *pi, uint64_t id,
			  const char *cgroup_file, uint32_t pid)
{
	char buf[PC_CGROUP_FILE_MAX], ppath[sizeof(pi->cgroup)], file[PATH_MAX];
	uint64_t pino = 0;

	if (id && id == pi->cgroup_id && pi->cgroup[0])
		return;
	if (!cgroup_file && pid && (!id || !cg_find(pc, id)) &&
	    !pc_proc_path(pc, file, sizeof(file), pid, "cgroup") &&
	    pc_read_file(file, buf, sizeof(buf)) > 0)
		cgroup_file = buf;
	ppath[0] = '\0';
	if (cgroup_file) {
		pc_cgroup_from_file(cgroup_file, ppath, sizeof(ppath));
		if (ppath[0]) {
			pino = cg_stat_id(pc, ppath);
			cg_put(pc, pino, ppath, 1);
		}
	}
	pi->cgroup[0] = '\0';
	if (id) {
		pi->cgroup_id = id;
		/* Without ids to compare (not a cgroup2 root), the /proc path is
		 * the best there is. */
		if (proccache_cgroup_path(pc, id, pi->cgroup, sizeof(pi->cgroup)) && !pino)
			pc_copy(pi->cgroup, sizeof(pi->cgroup), ppath, sizeof(ppath));
	} else {
		pi->cgroup_id = pino;
		pc_copy(pi->cgroup, sizeof(pi->cgroup), ppath, sizeof(ppath));
	}
	pi->container_id[0] = '\0';
	pi->unit[0] = '\0';
	pc_parse_into(pi, cgroup_file);
}

/* Fill pi from /proc/<pid>: comm and ppid from stat, exe, cgroup. Returns 0,
 * or -errno when the process is not there (nothing filled then). */
static int pc_read_proc(struct proccache *pc, struct proc_info *pi, uint32_t pid,
			uint64_t cgroup_id)
{
	char file[PATH_MAX], stat[1024], cg[PC_CGROUP_FILE_MAX];
	const char *open_paren, *close_paren;
	unsigned long ppid;
	char *end;
	ssize_t n;

	pc->st.proc_reads++;
	if (pc_proc_path(pc, file, sizeof(file), pid, "stat"))
		return -ENAMETOOLONG;
	n = pc_read_file(file, stat, sizeof(stat));
	if (n < 0)
		return (int)n;
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
	open_paren = strchr(stat, '(');
	close_paren = strrchr(stat, ')');
	if (!open_paren || !close_paren || close_paren < open_paren || strlen(close_paren) < 5 ||
	    close_paren[1] != ' ' || close_paren[3] != ' ')
		return -EINVAL;
	errno = 0;
	ppid = strtoul(close_paren + 4, &end, 10);
	if (errno || end == close_paren + 4 || ppid > UINT32_MAX)
		return -EINVAL;
	pi->ppid = (uint32_t)ppid;
	pc_copy(pi->comm, sizeof(pi->comm), open_paren + 1, (size_t)(close_paren - open_paren - 1));

	pi->exe[0] = '\0';
	if (!pc_proc_path(pc, file, sizeof(file), pid, "exe"))
		pc_read_link(file, pi->exe, sizeof(pi->exe));

	cg[0] = '\0';
	if (!pc_proc_path(pc, file, sizeof(file), pid, "cgroup"))
		pc_read_file(file, cg, sizeof(cg));
	pi->cgroup_id = 0;
	pi->cgroup[0] = '\0';
	pc_set_cgroup(pc, pi, cgroup_id, cg, 0);
	return 0;
}

/* ==== Entries, hash and lists ==== */

static struct pc_entry *pc_find(struct proccache *pc, uint32_t pid)
{
	struct pc_entry *e;

	HASH_FIND(hh, pc->by_pid, &pid, sizeof(pid), e);
	return e;
}

/* Take e out of the hash and its list, and free it. */
static void pc_remove(struct proccache *pc, struct pc_entry *e)
{
	HASH_DELETE(hh, pc->by_pid, e);
	if (e->info.exited)
		DL_DELETE(pc->exited, e);
	else
		DL_DELETE(pc->live, e);
	free(e);
	pc->st.entries--;
}

/* A fresh live entry for pid (not in the cache), evicting if full. NULL
 * when out of memory. */
static struct pc_entry *pc_alloc(struct proccache *pc, uint32_t pid)
{
	struct pc_entry *e;

	if (pc->st.entries >= pc->max) {
		pc_remove(pc, pc->exited ? pc->exited : pc->live->prev);
		pc->st.evictions++;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->info.pid = pid;
	HASH_ADD(hh, pc->by_pid, info.pid, sizeof(e->info.pid), e);
	if (!e->hh.tbl) {
		free(e);
		return NULL;
	}
	DL_PREPEND(pc->live, e);
	pc->st.entries++;
	return e;
}

/* Entry for pid as a new process: a reused pid's old entry is dropped. */
static struct pc_entry *pc_fresh(struct proccache *pc, uint32_t pid)
{
	struct pc_entry *e = pc_find(pc, pid);

	if (e)
		pc_remove(pc, e);
	return pc_alloc(pc, pid);
}

static void pc_touch(struct proccache *pc, struct pc_entry *e)
{
	if (!e->info.exited && pc->live != e) {
		DL_DELETE(pc->live, e);
		DL_PREPEND(pc->live, e);
	}
}

static void pc_mark_exited(struct proccache *pc, struct pc_entry *e, uint64_t now_ns)
{
	DL_DELETE(pc->live, e);
	e->info.exited = 1;
	e->info.exit_ns = now_ns;
	DL_APPEND(pc->exited, e);
}

static int pc_expired(const struct proc_info *pi, uint64_t now_ns)
{
	return pi->exited && now_ns >= pi->exit_ns && now_ns - pi->exit_ns >= PROCCACHE_GRACE_NS;
}

/* ==== Public API ==== */

struct proccache *proccache_new(size_t max_entries, const char *proc_root, const char *cgroup_root)
{
	struct proccache *pc;
	struct statfs sf;

	if (!max_entries || max_entries > PC_MAX_ENTRIES || !proc_root || !cgroup_root) {
		errno = EINVAL;
		return NULL;
	}
	if (strlen(proc_root) >= sizeof(pc->proc_root) - 32 ||
	    strlen(cgroup_root) >= sizeof(pc->cgroup_root) - 16) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->max = (uint32_t)max_entries;
	pc->cg = calloc(CG_SLOTS, sizeof(*pc->cg));
	if (!pc->cg) {
		proccache_free(pc);
		errno = ENOMEM;
		return NULL;
	}
	hashmix_seed_once(&pc_seed);
	pc_copy(pc->proc_root, sizeof(pc->proc_root), proc_root, strlen(proc_root));
	pc_copy(pc->cgroup_root, sizeof(pc->cgroup_root), cgroup_root, strlen(cgroup_root));
	/* Hybrid hierarchy: v1 controllers at the root, cgroup2 under unified/. */
	if (!statfs(cgroup_root, &sf) && sf.f_type != CGROUP2_MAGIC) {
		char unified[PATH_MAX];

		snprintf(unified, sizeof(unified), "%s/unified", cgroup_root);
		if (!statfs(unified, &sf) && sf.f_type == CGROUP2_MAGIC)
			pc_copy(pc->cgroup_root, sizeof(pc->cgroup_root), unified, strlen(unified));
	}
	return pc;
}

void proccache_free(struct proccache *pc)
{
	if (!pc)
		return;
	while (pc->by_pid)
		pc_remove(pc, pc->by_pid);
	if (pc->cg)
		cg_clear(pc);
	free(pc->cg);
	free(pc);
}

/* Make path (relative, as given to execve) absolute against cwd, folding
 * "." and ".." components. Returns 0 or -ENAMETOOLONG. */
static int pc_join(char *out, size_t len, const char *cwd, const char *path)
{
	char tmp[PATH_MAX * 2];
	size_t o = 0;
	const char *p;
	int n = snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp; *p;) {
		const char *c;
		size_t cn;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		cn = (size_t)(p - c);
		if (!cn || (cn == 1 && c[0] == '.'))
			continue;
		if (cn == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + cn >= len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, c, cn);
		o += cn;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static void pc_on_exec(struct proccache *pc, const struct gs_proc_event *ev, uint64_t now_ns)
{
	char file[PATH_MAX], path[GS_PATH_LEN + 1], cwd[PATH_MAX];
	struct pc_entry *e = pc_find(pc, ev->pid);
	struct proc_info *pi;

	if (!e || e->info.exited)
		e = pc_fresh(pc, ev->pid);
	else
		pc_touch(pc, e);
	if (!e)
		return; /* out of memory: the record is lost */
	pi = &e->info;
	pc_copy(pi->comm, sizeof(pi->comm), ev->comm, sizeof(ev->comm));
	if (ev->ppid)
		pi->ppid = ev->ppid;
	pc_copy(path, sizeof(path), ev->path, sizeof(ev->path));
	pi->exe[0] = '\0';
	if (!pc_proc_path(pc, file, sizeof(file), ev->pid, "exe") &&
	    !pc_read_link(file, pi->exe, sizeof(pi->exe)) && pi->exe[0] == '/') {
		/* the process lives: the kernel's own answer */
	} else if (path[0] == '/' || !path[0]) {
		pc_copy(pi->exe, sizeof(pi->exe), path, sizeof(path));
	} else if (!pc_proc_path(pc, file, sizeof(file), ev->pid, "cwd") &&
		   !pc_read_link(file, cwd, sizeof(cwd)) && cwd[0] == '/' &&
		   !pc_join(pi->exe, sizeof(pi->exe), cwd, path)) {
		/* relative path made absolute */
	} else {
		pc_copy(pi->exe, sizeof(pi->exe), path, sizeof(path));
	}
	pc_set_cgroup(pc, pi, ev->cgroup_id, NULL, ev->pid);
	(void)now_ns;
}

static void pc_on_fork(struct proccache *pc, const struct gs_proc_event *ev, uint64_t now_ns)
{
	struct proc_info parent = { 0 };
	const struct proc_info *pp = NULL;
	struct proc_info *pi;
	struct pc_entry *e;

	/* Copy the parent first: making room for the child may evict it. */
	if (ev->ppid && ev->ppid != ev->pid)
		pp = proccache_get(pc, ev->ppid, NULL, 0, now_ns);
	if (pp)
		parent = *pp;
	e = pc_fresh(pc, ev->pid);
	if (!e)
		return; /* out of memory: the record is lost */
	pi = &e->info;
	pi->ppid = ev->ppid;
	pc_copy(pi->comm, sizeof(pi->comm), ev->comm, sizeof(ev->comm));
	if (pp && parent.exe[0]) {
		memcpy(pi->exe, parent.exe, sizeof(pi->exe));
		pi->cgroup_id = parent.cgroup_id;
		memcpy(pi->cgroup, parent.cgroup, sizeof(pi->cgroup));
		memcpy(pi->container_id, parent.container_id, sizeof(pi->container_id));
		memcpy(pi->unit, parent.unit, sizeof(pi->unit));
		if (ev->cgroup_id && ev->cgroup_id != pi->cgroup_id)
			pc_set_cgroup(pc, pi, ev->cgroup_id, NULL, ev->pid);
	} else if (pc_read_proc(pc, pi, ev->pid, ev->cgroup_id)) {
		/* Neither parent's exe nor the child readable: what is known. */
		if (pp) {
			pi->cgroup_id = parent.cgroup_id;
			memcpy(pi->cgroup, parent.cgroup, sizeof(pi->cgroup));
			memcpy(pi->container_id, parent.container_id, sizeof(pi->container_id));
			memcpy(pi->unit, parent.unit, sizeof(pi->unit));
		}
		if (ev->cgroup_id && ev->cgroup_id != pi->cgroup_id)
			pc_set_cgroup(pc, pi, ev->cgroup_id, NULL, 0);
	} else {
		/* /proc may already show a later exec; the record's comm and
		 * ppid are those of the fork. */
		pi->ppid = ev->ppid;
		pc_copy(pi->comm, sizeof(pi->comm), ev->comm, sizeof(ev->comm));
	}
}

void proccache_event(struct proccache *pc, const struct gs_proc_event *ev, uint64_t now_ns)
{
	struct pc_entry *e;

	if (!pc || !ev || !ev->pid)
		return;
	switch (ev->hdr.type) {
	case GS_EV_EXEC:
		pc_on_exec(pc, ev, now_ns);
		break;
	case GS_EV_FORK:
		pc_on_fork(pc, ev, now_ns);
		break;
	case GS_EV_EXIT:
		e = pc_find(pc, ev->pid);
		if (e && !e->info.exited)
			pc_mark_exited(pc, e, now_ns);
		break;
	default:
		break;
	}
}

const struct proc_info *proccache_get(struct proccache *pc, uint32_t pid, const char *comm_hint,
				      uint64_t cgroup_id, uint64_t now_ns)
{
	struct proc_info *pi;
	struct pc_entry *e;

	if (!pc || !pid)
		return NULL;
	e = pc_find(pc, pid);
	if (e && pc_expired(&e->info, now_ns)) {
		pc_remove(pc, e);
		e = NULL;
	}
	if (e) {
		pc->st.hits++;
		pc_touch(pc, e);
		pi = &e->info;
		if (cgroup_id && cgroup_id != pi->cgroup_id)
			pc_set_cgroup(pc, pi, cgroup_id, NULL, pi->exited ? 0 : pid);
		return pi;
	}
	pc->st.misses++;
	e = pc_alloc(pc, pid);
	pi = e ? &e->info : &pc->scratch; /* out of memory: answered, not cached */
	if (!e) {
		memset(pi, 0, sizeof(*pi));
		pi->pid = pid;
	}
	if (pc_read_proc(pc, pi, pid, cgroup_id)) {
		pc_copy(pi->comm, sizeof(pi->comm), comm_hint, GS_COMM_LEN);
		pc_set_cgroup(pc, pi, cgroup_id, NULL, 0);
		/* Gone: keep it as exited so it goes first and expires. */
		if (e) {
			pc_mark_exited(pc, e, now_ns);
		} else {
			pi->exited = 1;
			pi->exit_ns = now_ns;
		}
	}
	return pi;
}

void proccache_expire(struct proccache *pc, uint64_t now_ns)
{
	if (!pc)
		return;
	while (pc->exited && pc_expired(&pc->exited->info, now_ns))
		pc_remove(pc, pc->exited);
}

void proccache_get_stats(const struct proccache *pc, struct proccache_stats *out)
{
	if (!out)
		return;
	if (!pc) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = pc->st;
	out->cgroup_entries = pc->cg_used;
}
