// SPDX-License-Identifier: MIT
/*
 * The scope, resolved once (scope.h), and the walk over the namespaces in
 * it: socket iterators see the namespace they are created in, so the
 * start-time seeding of each family (tcp.c, udp.c) runs its iterator once
 * per namespace in scope. Also the one answer to "are namespaces known by
 * cookie or by inode number on this kernel", asked by every family.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "probes/kcompat.h"
#include "probes/probes_int.h"
#include "util/log.h"
#include "util/netns.h"

_Static_assert(sizeof(((struct scope *)0)->path) == sizeof(((struct config *)0)->scope_path),
	       "struct scope holds any scope_path");

/* Before 5.14 user space cannot read netns cookies: every netns identity,
 * the scope's and the kernel programs', is then the namespace's inode
 * number. Asked once, before the scope is resolved. */
bool probes_netns_by_ino(void)
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

static int netns_cookie_here(uint64_t *cookie)
{
	return kcompat_netns_id_here(probes_netns_by_ino(), cookie);
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

int probes_resolve_scope(const struct config *cfg, struct scope *out)
{
	uint64_t *cookie = &out->netns_cookie;
	int err;

	memset(out, 0, sizeof(*out));
	out->kind = cfg->scope;
	if (cfg->scope == SCOPE_HOST)
		return 0;
	if (cfg->scope == SCOPE_NETNS) {
		err = netns_cookie_here(cookie);
		if (err)
			pr_err("failed to read the netns cookie of scope netns: %s",
			       strerror(-err));
		return err;
	}
	memcpy(out->path, cfg->scope_path, sizeof(out->path));
	/* A namespace file: enter it just long enough to read its cookie. No
	 * other thread exists yet, and the listeners are opened later, back in
	 * our own namespace. */
	struct cookie_call call = { .cookie = cookie };

	err = netns_call_path(out->path, cookie_here, &call);
	if (err) {
		pr_err("failed to enter scope %s: %s (is it a network namespace?)", out->path,
		       strerror(-err));
		return err;
	}
	if (call.err)
		pr_err("failed to read the netns cookie of %s: %s", out->path, strerror(-call.err));
	return call.err;
}

/* ==== The namespaces in scope, one iterator run each ==== */

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
ssize_t probes_iter_run_in(int iter_link_fd, int ns_fd)
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

static void iter_run_ns(int iter_link_fd, int ns_fd, struct scope_walk *w)
{
	ssize_t n = probes_iter_run_in(iter_link_fd, ns_fd);

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

struct scope_walk probes_iter_run_scope(int iter_link_fd, const struct scope *s)
{
	struct scope_walk w = { 0 };
	struct scope_host_walk h = { .iter_link_fd = iter_link_fd };

	if (s->kind == SCOPE_NETNS) {
		iter_run_ns(iter_link_fd, -1, &w);
		return w;
	}
	if (s->kind == SCOPE_PATH) {
		int fd = open(s->path, O_RDONLY | O_CLOEXEC);

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
