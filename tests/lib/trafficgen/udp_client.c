// SPDX-License-Identifier: MIT
/*
 * trafficgen udp-client: --flows sockets (one source port each) send
 * --datagrams datagrams of --size bytes round robin and wait for each echo;
 * what is not echoed within UDP_ECHO_TIMEOUT_MS is lost.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include "trafficgen.h"

/* Wait up to UDP_ECHO_TIMEOUT_MS (and never past the deadline) for the echo
 * carrying seq; late echoes of earlier datagrams are skipped. Returns its
 * length, or -1 on timeout or error (errno set; ETIMEDOUT for a timeout). */
static ssize_t udp_wait_echo(int fd, uint32_t seq, size_t size, unsigned char *buf)
{
	uint64_t until = tool_now_ns() + UDP_ECHO_TIMEOUT_MS * 1000000ull;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = tool_now_ns();
		int left, n;
		ssize_t r;

		if (now >= until) {
			errno = ETIMEDOUT;
			return -1;
		}
		left = (int)((until - now + 999999) / 1000000);
		n = remaining_ms("waiting for udp echoes");
		n = poll(&p, 1, left < n ? left : n);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			continue; /* re-check both clocks */
		r = recv(fd, buf, UDP_MAX_SIZE + 1, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (size >= 4 && ((size_t)r != size || memcmp(buf, &seq, 4) != 0))
			continue; /* a late echo of an earlier datagram */
		return r;
	}
}

int cmd_udp_client(const struct opts *o)
{
	static unsigned char out[UDP_MAX_SIZE], in[UDP_MAX_SIZE + 1];
	struct target t;
	int *fds;
	uint64_t sent = 0, sent_bytes = 0, recvd = 0, recv_bytes = 0;
	uint64_t err[ERR_SLOTS] = { 0 };
	uint64_t d, f;
	uint32_t seq = 0;

	target_parse(o->addr, o->port, &t);
	fds = calloc(o->flows, sizeof(*fds));
	if (!fds)
		tool_die_setup("out of memory");
	memcpy(out, g_pattern, o->size);
	/* All sockets exist at once, so every flow has its own source port. */
	for (f = 0; f < o->flows; f++) {
		fds[f] = socket(t.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[f] < 0)
			tool_die_setup("socket %" PRIu64 ": %s", f, strerror(errno));
		if (o->connected && connect(fds[f], (struct sockaddr *)&t.ss, t.len))
			tool_die_setup("connect: %s", strerror(errno));
	}
	/* Round robin, so the flows are alive at the same time. */
	for (d = 0; d < o->datagrams; d++) {
		for (f = 0; f < o->flows; f++) {
			ssize_t w, r;

			remaining_ms("sending udp");
			seq++;
			if (o->size >= 4)
				memcpy(out, &seq, 4);
			if (o->connected)
				w = send(fds[f], out, o->size, 0);
			else
				w = sendto(fds[f], out, o->size, 0, (struct sockaddr *)&t.ss,
					   t.len);
			if (w < 0) {
				err_count(err, errno);
				continue;
			}
			sent++;
			sent_bytes += (uint64_t)w;
			r = udp_wait_echo(fds[f], seq, o->size, in);
			if (r < 0) {
				err_count(err, errno);
				continue;
			}
			recvd++;
			recv_bytes += (uint64_t)r;
		}
	}
	for (f = 0; f < o->flows; f++)
		close(fds[f]);
	free(fds);

	printf("{\"flows\":%" PRIu64 ",\"sent_datagrams\":%" PRIu64 ",\"sent_bytes\":%" PRIu64
	       ",\"recv_datagrams\":%" PRIu64 ",\"recv_bytes\":%" PRIu64 ",\"lost\":%" PRIu64,
	       o->flows, sent, sent_bytes, recvd, recv_bytes, o->flows * o->datagrams - recvd);
	err_print(err);
	printf("}\n");
	fflush(stdout);
	return 0;
}
