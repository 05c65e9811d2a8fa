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

struct twc_ns {
	dev_t dev;
	ino_t ino;
	int fd; /* sock_diag socket in that namespace */
	bool seen;
};

struct twcensus {
	bool all; /* every namespace (scope host) */
	struct twc_ns *ns;
	size_t n;
	uint64_t next_scan_ns;
	uint32_t seq;
	bool warned_full;
};

static void open_diag_socket(void *arg)
{
	int *fd = arg;

	*fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (*fd < 0)
		*fd = -errno;
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
	int ns_fd, fd = -1;

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
		t->ns[t->n++] = (struct twc_ns){
			.dev = st.st_dev, .ino = st.st_ino, .fd = fd, .seen = true
		};
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
			close(t->ns[i].fd);
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
		close(t->ns[i].fd);
	free(t->ns);
	free(t);
}

static int dump_family(struct twcensus *t, int fd, uint8_t family, twcensus_fn fn, void *ctx)
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
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int count = 0;

	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *m;
			uint8_t src[16] = { 0 }, dst[16] = { 0 };

			if (h->nlmsg_seq != t->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ?
					       e->error :
					       -EIO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			m = NLMSG_DATA(h);
			if (m->idiag_state != TCP_TIME_WAIT_STATE)
				continue;
			memcpy(src, m->id.idiag_src, family == AF_INET ? 4 : 16);
			memcpy(dst, m->id.idiag_dst, family == AF_INET ? 4 : 16);
			fn(family, src, ntohs(m->id.idiag_sport), dst, ntohs(m->id.idiag_dport),
			   ctx);
			count++;
		}
	}
}

size_t twcensus_namespaces(const struct twcensus *t)
{
	return t ? t->n : 0;
}

int twcensus_run(struct twcensus *t, twcensus_fn fn, void *ctx)
{
	int total = 0, err = 0;

	if (!t)
		return -EINVAL;
	if (t->all) {
		uint64_t now = mono_ns();

		if (now >= t->next_scan_ns) {
			rescan(t);
			t->next_scan_ns = now + TWC_RESCAN_NS;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		for (int f = 0; f < 2; f++) {
			int r = dump_family(t, t->ns[i].fd, f ? AF_INET6 : AF_INET, fn, ctx);

			if (r < 0 && !err)
				err = r;
			total += r > 0 ? r : 0;
		}
	}
	return err ? err : total;
}
