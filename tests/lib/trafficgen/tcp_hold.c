// SPDX-License-Identifier: MIT
/*
 * trafficgen tcp-hold: --conns connections opened at once and held open
 * until stdin says "close" (or ends); with --half-close each is shut down
 * for writing first and read to the peer's FIN, so every socket ends in
 * TIME_WAIT through the full-socket path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trafficgen.h"

/* True when stdin has reached EOF or a line "close". Waits at most until the
 * deadline. */
static void hold_wait_stdin(void)
{
	char line[256];
	size_t len = 0;

	for (;;) {
		ssize_t r;

		wait_fd(STDIN_FILENO, POLLIN, "holding connections");
		r = read(STDIN_FILENO, line + len, sizeof(line) - 1 - len);
		if (r == 0)
			return;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return; /* stdin unusable: same as EOF */
		}
		len += (size_t)r;
		line[len] = '\0';
		for (;;) {
			char *nl = memchr(line, '\n', len);
			size_t l;

			if (!nl)
				break;
			l = (size_t)(nl - line);
			if (l && line[l - 1] == '\r')
				l--;
			if (l == 5 && memcmp(line, "close", 5) == 0)
				return;
			len -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, len);
		}
		if (len == sizeof(line) - 1)
			len = 0; /* an overlong line is not "close" */
	}
}

/* Shut every held connection down for writing, then read each to EOF (the
 * peer's FIN), discarding what comes, until the deadline. */
static void hold_half_close(struct pollfd *pfds, uint64_t n)
{
	uint64_t i, open = 0;
	char buf[4096];

	for (i = 0; i < n; i++) {
		int fd = -pfds[i].fd - 1;

		if (pfds[i].fd >= -1)
			continue;
		if (shutdown(fd, SHUT_WR))
			tool_die_setup("shutdown on held connection %" PRIu64 ": %s", i,
				       strerror(errno));
		pfds[i].fd = fd; /* polled until EOF */
		pfds[i].events = POLLIN;
		open++;
	}
	while (open > 0) {
		int r = poll(pfds, n, remaining_ms("waiting for the peers to close"));

		if (wait_interrupted(r, "poll", "waiting for the peers to close"))
			continue;
		for (i = 0; i < n; i++) {
			ssize_t got;

			if (pfds[i].fd < 0 || !pfds[i].revents)
				continue;
			got = read(pfds[i].fd, buf, sizeof(buf));
			if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;
			pfds[i].fd = -pfds[i].fd - 1; /* EOF or error: done, closed below */
			open--;
		}
	}
}

int cmd_tcp_hold(const struct opts *o)
{
	struct target t;
	struct pollfd *pfds;
	uint64_t i, pending = 0, failed = 0;
	uint64_t err[ERR_SLOTS] = { 0 };

	target_parse(o->addr, o->port, &t);
	pfds = calloc(o->conns, sizeof(*pfds));
	if (!pfds)
		tool_die_setup("out of memory");
	for (i = 0; i < o->conns; i++) {
		int fd = socket(t.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct target ti;

		if (fd < 0)
			tool_die_setup("socket %" PRIu64 ": %s", i, strerror(errno));
		pfds[i].fd = fd;
		pfds[i].events = POLLOUT;
		target_nth(&t, o->port, o->port_span, i, &ti);
		if (connect(fd, (struct sockaddr *)&ti.ss, ti.len) == 0) {
			pfds[i].fd = -fd - 1; /* done: poll ignores negative fds */
		} else if (errno == EINPROGRESS) {
			pending++;
		} else {
			err_count(err, errno);
			failed++;
			close(fd);
			pfds[i].fd = -1;
		}
	}
	while (pending > 0) {
		int n = poll(pfds, o->conns, remaining_ms("connecting held connections"));

		if (wait_interrupted(n, "poll", "connecting held connections"))
			continue;
		for (i = 0; i < o->conns; i++) {
			int e = 0;
			socklen_t elen = sizeof(e);

			if (pfds[i].fd < 0 || !pfds[i].revents)
				continue;
			pending--;
			if (getsockopt(pfds[i].fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
				e = errno;
			if (e) {
				err_count(err, e);
				failed++;
				close(pfds[i].fd);
				pfds[i].fd = -1;
			} else {
				pfds[i].fd = -pfds[i].fd - 1;
			}
		}
	}
	if (failed) {
		printf("{\"held\":%" PRIu64 ",\"failed\":%" PRIu64, o->conns - failed, failed);
		err_print(err);
		printf("}\n");
		fflush(stdout);
		fprintf(stderr, "trafficgen: %" PRIu64 " of %" PRIu64 " connections failed\n",
			failed, o->conns);
		return EXIT_SETUP;
	}
	/* tcp-hold --send S: S payload bytes on each connection, which then
	 * stays open (live byte counters of open connections). */
	for (i = 0; o->send_set && i < o->conns; i++) {
		int fd = -pfds[i].fd - 1;
		uint64_t sent = 0;

		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
		    sock_write_n(fd, o->send, &sent) != 0)
			tool_die_setup("writing on held connection %" PRIu64 ": %s", i,
				       strerror(errno));
	}
	printf("{\"held\":%" PRIu64 "}\n", o->conns);
	fflush(stdout);

	hold_wait_stdin();

	if (o->half_close)
		hold_half_close(pfds, o->conns);
	for (i = 0; i < o->conns; i++)
		if (pfds[i].fd < -1)
			close(-pfds[i].fd - 1);
	free(pfds);
	printf("{\"closed\":%" PRIu64 "}\n", o->conns);
	fflush(stdout);
	return 0;
}
