// SPDX-License-Identifier: MIT
/*
 * TIME_WAIT census. A connection in TIME_WAIT is a timewait mini-socket that
 * no tracepoint reports when it is created or when it dies, so it is counted
 * the way ss(8) counts it: a sock_diag (inet_diag) dump filtered on the
 * TIME_WAIT state, from a netlink socket opened inside the namespace the
 * agent watches. The dump costs what the TIME_WAIT sockets of that namespace
 * cost (bounded by net.ipv4.tcp_max_tw_buckets), never per packet.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "log.h"
#include "netns.h"
#include "twcensus.h"

#define TCP_TIME_WAIT_STATE 6

struct twcensus {
	int fd;
	uint32_t seq;
};

static void open_diag_socket(void *arg)
{
	int *fd = arg;

	*fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (*fd < 0)
		*fd = -errno;
}

struct twcensus *twcensus_new(const char *netns_path)
{
	struct twcensus *t = calloc(1, sizeof(*t));
	int fd = -1, err;

	if (!t)
		return NULL;
	err = netns_call_path(netns_path, open_diag_socket, &fd);
	if (err < 0 || fd < 0) {
		pr_warn("TIME_WAIT census off: no sock_diag socket%s%s: %s",
			netns_path ? " in " : "", netns_path ? netns_path : "",
			strerror(err < 0 ? -err : -fd));
		free(t);
		return NULL;
	}
	t->fd = fd;
	return t;
}

void twcensus_free(struct twcensus *t)
{
	if (!t)
		return;
	close(t->fd);
	free(t);
}

static int dump_family(struct twcensus *t, uint8_t family, twcensus_fn fn, void *ctx)
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

	if (sendto(t->fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(t->fd, buf, sizeof(buf), 0);
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

int twcensus_run(struct twcensus *t, twcensus_fn fn, void *ctx)
{
	int n4, n6;

	if (!t)
		return -EINVAL;
	n4 = dump_family(t, AF_INET, fn, ctx);
	if (n4 < 0)
		return n4;
	n6 = dump_family(t, AF_INET6, fn, ctx);
	if (n6 < 0)
		return n6;
	return n4 + n6;
}
