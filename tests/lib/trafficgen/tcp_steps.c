// SPDX-License-Identifier: MIT
/*
 * trafficgen tcp-steps: --conns long-lived connections that move payload
 * in steps told on stdin, so a test can move known bytes before an agent
 * starts, while it runs, between two agents, and after a restart, on the
 * same connections. "send S" writes S bytes on each connection and reads
 * the S * --factor bytes the server (prefork-server) answers, then prints
 * that step's totals; "close" (or the end of stdin) closes them all.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trafficgen.h"

struct step_conn {
	uint64_t sent, got;
};

/* Write out bytes and read in bytes on every connection at once: the
 * server answers while we write (one direction after the other could fill
 * both windows), and a server that accepts late holds up none of the
 * others. Dies on an error or at the deadline. */
static void step_transfer(const int *fds, uint64_t n, uint64_t out, uint64_t in)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	struct step_conn *c = calloc(n, sizeof(*c));
	unsigned char buf[16384];
	uint64_t i, left = out || in ? n : 0;

	if (!p || !c)
		tool_die_setup("out of memory");
	while (left > 0) {
		int r;

		for (i = 0; i < n; i++) {
			p[i].fd = c[i].sent < out || c[i].got < in ? fds[i] : -1;
			p[i].events =
				(c[i].got < in ? POLLIN : 0) | (c[i].sent < out ? POLLOUT : 0);
		}
		r = poll(p, n, remaining_ms("moving a step's payload"));
		if (wait_interrupted(r, "poll", "moving a step's payload"))
			continue;
		for (i = 0; i < n; i++) {
			ssize_t k;

			if ((p[i].revents & POLLOUT) && c[i].sent < out) {
				size_t chunk = out - c[i].sent < IO_CHUNK ?
						       (size_t)(out - c[i].sent) :
						       IO_CHUNK;

				k = send(fds[i], g_pattern, chunk, MSG_NOSIGNAL);
				if (k > 0)
					c[i].sent += (uint64_t)k;
				else if (k < 0 && errno != EAGAIN && errno != EINTR)
					tool_die_setup("send: %s", strerror(errno));
			}
			if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) && c[i].got < in) {
				size_t want = in - c[i].got < sizeof(buf) ?
						      (size_t)(in - c[i].got) :
						      sizeof(buf);

				k = recv(fds[i], buf, want, 0);
				if (k > 0)
					c[i].got += (uint64_t)k;
				else if (k == 0)
					tool_die_setup("the server closed after %" PRIu64
						       " of %" PRIu64 " bytes",
						       c[i].got, in);
				else if (errno != EAGAIN && errno != EINTR)
					tool_die_setup("recv: %s", strerror(errno));
			}
			if (p[i].fd >= 0 && c[i].sent == out && c[i].got == in)
				left--;
		}
	}
	free(p);
	free(c);
}

int cmd_tcp_steps(const struct opts *o)
{
	uint64_t i, step = 0, tot_sent = 0, tot_rcvd = 0;
	char line[256];
	struct target t;
	int *fds;

	target_parse(o->addr, o->port, &t);
	fds = calloc(o->conns, sizeof(*fds));
	if (!fds)
		tool_die_setup("out of memory");
	printf("{\"connected\":%" PRIu64 ",\"pid\":%d,\"lports\":[", o->conns, (int)getpid());
	for (i = 0; i < o->conns; i++) {
		uint64_t ns;
		int err = tcp_connect(&t, &fds[i], &ns);

		if (err)
			tool_die_setup("connect %" PRIu64 ": %s", i, strerror(-err));
		printf("%s%u", i ? "," : "", sock_local_port(fds[i]));
	}
	printf("]}\n");
	fflush(stdout);
	while (read_stdin_line(line, sizeof(line))) {
		uint64_t s;

		if (!strcmp(line, "close"))
			break;
		if (strncmp(line, "send ", 5) || tool_parse_u64(line + 5, 0, UINT32_MAX, &s))
			tool_die_setup("tcp-steps: unknown command '%s'", line);
		step_transfer(fds, o->conns, s, s * o->factor);
		tot_sent += s * o->conns;
		tot_rcvd += s * o->factor * o->conns;
		printf("{\"step\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
		       ",\"bytes_received\":%" PRIu64 ",\"total_sent\":%" PRIu64
		       ",\"total_received\":%" PRIu64 "}\n",
		       ++step, s * o->conns, s * o->factor * o->conns, tot_sent, tot_rcvd);
		fflush(stdout);
	}
	for (i = 0; i < o->conns; i++)
		close(fds[i]);
	free(fds);
	printf("{\"closed\":%" PRIu64 "}\n", o->conns);
	fflush(stdout);
	return 0;
}
