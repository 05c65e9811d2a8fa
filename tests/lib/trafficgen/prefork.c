// SPDX-License-Identifier: MIT
/*
 * trafficgen prefork-server: a pre-fork server, as nginx or Apache run one.
 * The parent binds and listens, then forks --workers children that share the
 * listener; a child calls accept() only when stdin says "accept N" (N
 * children go), so a test can let payload arrive before accept() returns.
 * Each child answers every byte it reads with --factor bytes until the peer
 * closes, then prints its pid and counts for that connection and waits for
 * its next turn. The parent prints {"listening":PORT,"pid":PID} and ends the
 * children on "stop", at the end of stdin or at the deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/wait.h>

#include "trafficgen.h"

/* One line on stdout in one write: the children share the file. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
		exit(EXIT_SETUP);
}

static uint16_t peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
}

/* Answer each byte with factor bytes until EOF; print the counts. */
static void serve(int fd, uint64_t factor)
{
	uint64_t in = 0, out = 0;
	unsigned char buf[16384];

	say("{\"accepted\":%u,\"pid\":%d}\n", peer_port(fd), (int)getpid());
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint64_t done = 0;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				wait_fd(fd, POLLIN, "serving a connection");
				continue;
			}
			tool_die_setup("recv: %s", strerror(errno));
		}
		in += (uint64_t)n;
		if (sock_write_n(fd, (uint64_t)n * factor, &done))
			tool_die_setup("send: %s", strerror(errno));
		out += done;
	}
	say("{\"pid\":%d,\"rport\":%u,\"received\":%" PRIu64 ",\"sent\":%" PRIu64 "}\n",
	    (int)getpid(), peer_port(fd), in, out);
	close(fd);
}

/* A child: one connection per byte on the gate, until the gate closes. */
static void __attribute__((noreturn)) worker(int lfd, int gate, uint64_t factor)
{
	char token;

	for (;;) {
		ssize_t r;
		int fd;

		wait_fd(gate, POLLIN, "waiting for a turn to accept");
		r = read(gate, &token, 1);
		if (r == 0)
			exit(0);
		if (r < 0)
			continue; /* EAGAIN: another child took the token */
		for (;;) {
			wait_fd(lfd, POLLIN, "accepting");
			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd >= 0)
				break;
			if (errno != EAGAIN && errno != EINTR)
				tool_die_setup("accept: %s", strerror(errno));
		}
		serve(fd, factor);
	}
}

int cmd_prefork(const struct opts *o)
{
	int lfd = bind_socket(o, SOCK_STREAM), gate[2], status;
	pid_t *kids = calloc(o->workers, sizeof(*kids));
	char line[256];
	uint64_t i;

	if (!kids)
		tool_die_setup("out of memory");
	if (listen(lfd, 128))
		tool_die_setup("listen: %s", strerror(errno));
	if (pipe2(gate, O_NONBLOCK | O_CLOEXEC))
		tool_die_setup("pipe: %s", strerror(errno));
	fflush(stdout);
	for (i = 0; i < o->workers; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			tool_die_setup("fork: %s", strerror(errno));
		if (kids[i] == 0) {
			close(gate[1]);
			close(STDIN_FILENO);
			worker(lfd, gate[0], o->factor);
		}
	}
	say("{\"listening\":%u,\"pid\":%d}\n", sock_local_port(lfd), (int)getpid());
	while (read_stdin_line(line, sizeof(line))) {
		uint64_t n;

		if (!strcmp(line, "stop"))
			break;
		if (strncmp(line, "accept ", 7) || tool_parse_u64(line + 7, 1, 4096, &n))
			tool_die_setup("prefork-server: unknown command '%s'", line);
		while (n--)
			if (write(gate[1], "a", 1) != 1)
				tool_die_setup("gate: %s", strerror(errno));
	}
	close(gate[1]); /* idle children leave; busy ones are ended */
	for (i = 0; i < o->workers; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < o->workers; i++)
		waitpid(kids[i], &status, 0);
	free(kids);
	return 0;
}
