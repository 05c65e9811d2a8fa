// SPDX-License-Identifier: MIT
/*
 * TIME_WAIT census. A connection in TIME_WAIT is a timewait mini-socket that
 * no tracepoint reports when it is created or when it dies, so it is counted
 * the way ss(8) counts it: a sock_diag (inet_diag) dump filtered on the
 * TIME_WAIT state, from a netlink socket opened inside each namespace the
 * agent watches. The dump costs what the TIME_WAIT sockets of that namespace
 * cost (bounded by net.ipv4.tcp_max_tw_buckets), never per packet.
 *
 * Scope host watches every namespace, as the BPF programs do: the ones a
 * process is in (/proc/PID/ns/net) and the named ones (/var/run/netns), found
 * again every TWC_RESCAN_NS. A socket in a namespace holds that namespace, so
 * the ones no longer found are closed at the next rescan.
 *
 * A census can run in steps (twcensus_begin, then twcensus_step until it is
 * done), one recv() of at most 32 KB (~370 sockets) a step, so that many
 * TIME_WAIT sockets, or many namespaces, do not hold the agent's loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/netns.h"
#include "flows/twcensus.h"

#define TCP_TIME_WAIT_STATE 6
#define TWC_MAX_NETNS	    4096		    /* sockets held at most */
#define TWC_RESCAN_NS	    (10ULL * 1000000000ULL) /* look for namespaces again */
#define TWC_CHUNK	    32768		    /* bytes a recv(): ~370 sockets */

struct twc_ns {
	dev_t dev;
	ino_t ino;
	int fd;	     /* sock_diag socket in that namespace */
	int stat_fd; /* its /proc/net/sockstat, -1 when it could not be opened */
	bool seen;
};

struct twcensus {
	bool all; /* every namespace (scope host) */
	struct twc_ns *ns;
	size_t n;
	uint64_t next_scan_ns;
	uint32_t seq;
	bool warned_full;
	/* the census in progress (twcensus_step) */
	size_t at;    /* dump: namespace at / 2, IPv4 then IPv6 */
	bool in_dump; /* its request sent, its end not read yet */
	int count;    /* TIME_WAIT sockets so far */
	int err;      /* the first error */
};

static void open_diag_socket(void *arg)
{
	int *fd = arg;

	*fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (*fd < 0)
		*fd = -errno;
}

/* The namespace's sockstat, opened from inside it (thread-self: the thread
 * that entered it). Its "tw" count is the namespace's TIME_WAIT sockets, so
 * a census can skip a namespace that has none without a dump, which walks
 * every established socket (44 ms for each family at 100k). */
static void open_sockstat(void *arg)
{
	int *fd = arg;

	*fd = open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC);
}

/* TIME_WAIT sockets of the namespace of fd, or -1 when unknown. */
static long tw_count(int fd)
{
	char buf[512], *tw;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	tw = strstr(buf, "TCP:");
	tw = tw ? strstr(tw, " tw ") : NULL;
	return tw ? strtol(tw + 4, NULL, 10) : -1;
}

static void close_ns(struct twc_ns *ns)
{
	close(ns->fd);
	if (ns->stat_fd >= 0)
		close(ns->stat_fd);
}

static struct twc_ns *find_ns(struct twcensus *t, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->ns[i].ino == ino && t->ns[i].dev == dev)
			return &t->ns[i];
	return NULL;
}

/* Note the namespace at path: seen again, or a new socket there. */
static void visit_ns(const char *path, void *arg)
{
	struct twcensus *t = arg;
	struct twc_ns *ns;
	struct stat st;
	int ns_fd, fd = -1, stat_fd = -1;

	if (stat(path, &st))
		return; /* gone meanwhile */
	ns = find_ns(t, st.st_dev, st.st_ino);
	if (ns) {
		ns->seen = true;
		return;
	}
	if (t->n == TWC_MAX_NETNS) {
		if (!t->warned_full)
			pr_warn("TIME_WAIT census: more than %d network namespaces, the others "
				"are not counted",
				TWC_MAX_NETNS);
		t->warned_full = true;
		return;
	}
	/* Open first, then ask the file itself which namespace it is: the
	 * process behind path may have exited and its pid been reused. */
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return;
	if (!fstat(ns_fd, &st) && !find_ns(t, st.st_dev, st.st_ino) &&
	    !netns_call(ns_fd, open_diag_socket, &fd) && fd >= 0) {
		if (netns_call(ns_fd, open_sockstat, &stat_fd))
			stat_fd = -1;
		t->ns[t->n++] = (struct twc_ns){ .dev = st.st_dev,
						 .ino = st.st_ino,
						 .fd = fd,
						 .stat_fd = stat_fd,
						 .seen = true };
	} else if (fd >= 0) {
		close(fd);
	}
	close(ns_fd);
}

static void rescan(struct twcensus *t)
{
	size_t kept = 0, before = t->n;

	for (size_t i = 0; i < t->n; i++)
		t->ns[i].seen = false;
	netns_foreach_holder(visit_ns, t);
	for (size_t i = 0; i < t->n; i++) {
		if (t->ns[i].seen)
			t->ns[kept++] = t->ns[i];
		else
			close_ns(&t->ns[i]);
	}
	t->n = kept;
	if (t->n != before)
		pr_debug("TIME_WAIT census: %zu network namespace(s)", t->n);
}

struct twcensus *twcensus_new(const char *netns_path, bool all_namespaces)
{
	struct twcensus *t = calloc(1, sizeof(*t));
	int fd = -1, err;

	if (!t)
		return NULL;
	t->all = all_namespaces;
	t->ns = calloc(all_namespaces ? TWC_MAX_NETNS : 1, sizeof(*t->ns));
	if (!t->ns) {
		free(t);
		return NULL;
	}
	if (all_namespaces) {
		rescan(t);
		if (t->n)
			return t;
		err = -ENOENT;
	} else {
		err = netns_call_path(netns_path, open_diag_socket, &fd);
		if (!err && fd >= 0) {
			t->ns[0].fd = fd;
			if (netns_call_path(netns_path, open_sockstat, &t->ns[0].stat_fd))
				t->ns[0].stat_fd = -1;
			t->n = 1;
			return t;
		}
	}
	pr_warn("TIME_WAIT census off: no sock_diag socket%s%s: %s", netns_path ? " in " : "",
		netns_path ? netns_path : "", strerror(err < 0 ? -err : -fd));
	twcensus_free(t);
	return NULL;
}

void twcensus_free(struct twcensus *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		close_ns(&t->ns[i]);
	free(t->ns);
	free(t);
}

/* Ask for the TIME_WAIT sockets of one family in the namespace of fd. */
static int dump_request(struct twcensus *t, int fd, uint8_t family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++t->seq,
		},
		.req = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1U << TCP_TIME_WAIT_STATE,
		},
	};
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };

	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) < 0)
		return -errno;
	return 0;
}

/* One recv() of the dump in progress (at most TWC_CHUNK bytes, ~370
 * sockets), each TIME_WAIT socket handed to fn and counted in *count.
 * Returns 1 when the dump goes on, 0 when it is complete, or a negative
 * errno (the dump is over). */
static int dump_chunk(struct twcensus *t, int fd, uint8_t family, twcensus_fn fn, void *ctx,
		      int *count)
{
	static char buf[TWC_CHUNK] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *h;
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EIO;
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		const struct inet_diag_msg *m;
		uint8_t src[16] = { 0 }, dst[16] = { 0 };

		if (h->nlmsg_seq != t->seq)
			continue;
		if (h->nlmsg_type == NLMSG_DONE)
			return 0;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error :
										      -EIO;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		m = NLMSG_DATA(h);
		if (m->idiag_state != TCP_TIME_WAIT_STATE)
			continue;
		memcpy(src, m->id.idiag_src, family == AF_INET ? 4 : 16);
		memcpy(dst, m->id.idiag_dst, family == AF_INET ? 4 : 16);
		fn(family, src, ntohs(m->id.idiag_sport), dst, ntohs(m->id.idiag_dport), ctx);
		(*count)++;
	}
	return 1;
}

static void discard(uint16_t family, const uint8_t saddr[16], uint16_t sport,
		    const uint8_t daddr[16], uint16_t dport, void *ctx)
{
}

size_t twcensus_namespaces(const struct twcensus *t)
{
	return t ? t->n : 0;
}

void twcensus_begin(struct twcensus *t)
{
	if (!t)
		return;
	if (t->all) {
		uint64_t now = mono_ns();

		if (now >= t->next_scan_ns) {
			rescan(t);
			t->next_scan_ns = now + TWC_RESCAN_NS;
		}
	}
	/* A dump left unfinished would make the next request EBUSY: read it out. */
	while (t->in_dump && t->at < 2 * t->n &&
	       dump_chunk(t, t->ns[t->at / 2].fd, AF_INET, discard, NULL, &t->count) == 1)
		;
	t->at = 0;
	t->in_dump = false;
	t->count = 0;
	t->err = 0;
}

int twcensus_step(struct twcensus *t, twcensus_fn fn, void *ctx)
{
	size_t i;
	uint8_t family;
	int r;

	if (!t)
		return -EINVAL;
	if (t->at >= 2 * t->n)
		return t->err ? t->err : t->count;
	i = t->at / 2;
	family = t->at % 2 ? AF_INET6 : AF_INET;
	if (family == AF_INET && !t->in_dump && !tw_count(t->ns[i].stat_fd)) {
		t->at += 2; /* none there: no dump */
		return t->at < 2 * t->n ? -EINPROGRESS : (t->err ? t->err : t->count);
	}
	r = t->in_dump ? 0 : dump_request(t, t->ns[i].fd, family);
	t->in_dump = !r;
	if (!r)
		r = dump_chunk(t, t->ns[i].fd, family, fn, ctx, &t->count);
	if (r == 1)
		return -EINPROGRESS;
	/* this dump is over: complete (0) or failed (the others go on) */
	if (r < 0 && !t->err)
		t->err = r;
	t->in_dump = false;
	t->at++;
	if (t->at < 2 * t->n)
		return -EINPROGRESS;
	return t->err ? t->err : t->count;
}

int twcensus_run(struct twcensus *t, twcensus_fn fn, void *ctx)
{
	int r;

	if (!t)
		return -EINVAL;
	twcensus_begin(t);
	while ((r = twcensus_step(t, fn, ctx)) == -EINPROGRESS)
		;
	return r;
}
