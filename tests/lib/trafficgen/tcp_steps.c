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

/* Write out bytes and read in bytes on fd at the same time (the server
 * answers while we write: doing one after the other could fill both
 * windows). Dies on an error or at the deadline. */
static void step_transfer(int fd, uint64_t out, uint64_t in)
{
	unsigned char buf[16384];
	uint64_t sent = 0, got = 0;

	while (sent < out || got < in) {
		short ev = (got < in ? POLLIN : 0) | (sent < out ? POLLOUT : 0);
		short rev = wait_fd(fd, ev, "moving a step's payload");
		ssize_t n;

		if ((rev & POLLOUT) && sent < out) {
			size_t chunk = out - sent < IO_CHUNK ? (size_t)(out - sent) : IO_CHUNK;

			n = send(fd, g_pattern, chunk, MSG_NOSIGNAL);
			if (n > 0)
				sent += (uint64_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				tool_die_setup("send: %s", strerror(errno));
		}
		if ((rev & (POLLIN | POLLHUP | POLLERR)) && got < in) {
			size_t want = in - got < sizeof(buf) ? (size_t)(in - got) : sizeof(buf);

			n = recv(fd, buf, want, 0);
			if (n > 0)
				got += (uint64_t)n;
			else if (n == 0)
				tool_die_setup("the server closed after %" PRIu64 " of %" PRIu64
					       " bytes",
					       got, in);
			else if (errno != EAGAIN && errno != EINTR)
				tool_die_setup("recv: %s", strerror(errno));
		}
	}
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
	printf("{\"connected\":%" PRIu64 ",\"lports\":[", o->conns);
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
		for (i = 0; i < o->conns; i++)
			step_transfer(fds[i], s, s * o->factor);
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
