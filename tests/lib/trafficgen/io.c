// SPDX-License-Identifier: MIT
/*
 * trafficgen's shared plumbing: the deadline every wait is bounded by, the
 * errno tally the JSON lines report, and the socket helpers (targets,
 * non-blocking connect, write and read bounded by the deadline, the stop
 * signal, bound sockets) the subcommands are built from.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/signalfd.h>

#include "trafficgen.h"

/* ==== Clock and deadline ==== */

uint64_t g_deadline_ns;
uint64_t g_deadline_ms;

/* Any thread may call this; _exit so no other thread's stdio is touched. */
void die_deadline(const char *what)
{
	fprintf(stderr, "trafficgen: deadline of %" PRIu64 " ms passed while %s\n", g_deadline_ms,
		what);
	_exit(EXIT_DEADLINE);
}

/* Milliseconds left until the deadline (at least 1), or die. */
int remaining_ms(const char *what)
{
	int ms = tool_ms_left(g_deadline_ns);

	if (!ms)
		die_deadline(what);
	return ms;
}

/* ==== Errno names ==== */

static const char *errno_name(int err, char *buf, size_t len)
{
	switch (err) {
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ECONNRESET:
		return "ECONNRESET";
	case ECONNABORTED:
		return "ECONNABORTED";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case EADDRINUSE:
		return "EADDRINUSE";
	case EPIPE:
		return "EPIPE";
	case ENETDOWN:
		return "ENETDOWN";
	case EHOSTDOWN:
		return "EHOSTDOWN";
	case ENOBUFS:
		return "ENOBUFS";
	case EMFILE:
		return "EMFILE";
	case ENFILE:
		return "ENFILE";
	case EMSGSIZE:
		return "EMSGSIZE";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EINVAL:
		return "EINVAL";
	case EPROTO:
		return "EPROTO";
	default:
		snprintf(buf, len, "E%d", err);
		return buf;
	}
}

void err_count(uint64_t *slots, int err)
{
	if (err <= 0)
		err = EPROTO; /* cannot happen; keeps the total right */
	slots[err < ERR_SLOTS ? err : ERR_SLOTS - 1]++;
}

/* Print ,"errno":{...} with the non-zero slots. */
void err_print(const uint64_t *slots)
{
	const char *sep = "";
	char buf[16];
	int i;

	fputs(",\"errno\":{", stdout);
	for (i = 1; i < ERR_SLOTS; i++) {
		if (!slots[i])
			continue;
		printf("%s\"%s\":%" PRIu64, sep, errno_name(i, buf, sizeof(buf)), slots[i]);
		sep = ",";
	}
	fputs("}", stdout);
}

/* ==== Socket helpers ==== */

unsigned char g_pattern[IO_CHUNK];

/* ADDR is an IPv4 or IPv6 literal (no names: tests know their addresses). */
void target_parse(const char *addr, uint16_t port, struct target *t)
{
	memset(t, 0, sizeof(*t));
	if (tool_sockaddr(addr, port, &t->ss, &t->len))
		die_usage("'%s' is not an IPv4 or IPv6 address", addr);
}

/* The target of connection i: --port-span spreads connections over ports. */
void target_nth(const struct target *base, uint16_t port, uint64_t span, uint64_t i,
		struct target *t)
{
	uint16_t p = (uint16_t)(port + i % span);

	*t = *base;
	if (t->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&t->ss)->sin_port = htons(p);
	else
		((struct sockaddr_in6 *)&t->ss)->sin6_port = htons(p);
}

uint16_t sock_local_port(int fd)
{
	uint16_t port = 0;

	tool_local_port(fd, &port);
	return port;
}

bool wait_interrupted(int n, const char *call, const char *what)
{
	if (n < 0 && errno == EINTR)
		return true;
	if (n < 0)
		tool_die_setup("%s: %s", call, strerror(errno));
	if (n == 0)
		die_deadline(what);
	return false;
}

/* Wait until fd is ready for events; die at the deadline. Returns revents. */
short wait_fd(int fd, short events, const char *what)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&p, 1, remaining_ms(what));
		if (n > 0)
			return p.revents;
		if (n == 0)
			die_deadline(what);
		if (errno != EINTR)
			tool_die_setup("poll: %s", strerror(errno));
	}
}

void set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* Start a non-blocking connect and wait for it. On success *fdp is the
 * connected socket and *ns the time it took; on failure returns -errno and
 * the socket is closed. */
int tcp_connect(const struct target *t, int *fdp, uint64_t *ns)
{
	uint64_t t0 = tool_now_ns();
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			close(fd);
			return -err;
		}
		wait_fd(fd, POLLOUT, "connecting");
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err) {
			close(fd);
			return -err;
		}
	}
	*ns = tool_now_ns() - t0;
	*fdp = fd;
	return 0;
}

/* Write n pattern bytes. *done counts what went out. Returns 0 or -errno. */
int sock_write_n(int fd, uint64_t n, uint64_t *done)
{
	unsigned int iter = 0;

	*done = 0;
	while (*done < n) {
		size_t chunk = n - *done < IO_CHUNK ? (size_t)(n - *done) : IO_CHUNK;
		ssize_t w;

		if ((++iter & 63) == 0)
			remaining_ms("writing"); /* a peer that never blocks us */
		w = send(fd, g_pattern, chunk, MSG_NOSIGNAL);

		if (w > 0) {
			*done += (uint64_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wait_fd(fd, POLLOUT, "writing");
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

/* Read until EOF (limit == UINT64_MAX) or until limit bytes. *got counts
 * what came. Returns 0 (EOF or limit reached) or -errno. */
int sock_read(int fd, uint64_t limit, uint64_t *got)
{
	unsigned char buf[16384]; /* client threads run on small stacks */
	unsigned int iter = 0;

	*got = 0;
	while (*got < limit) {
		size_t want = limit - *got < sizeof(buf) ? (size_t)(limit - *got) : sizeof(buf);
		ssize_t r;

		if ((++iter & 63) == 0)
			remaining_ms("reading"); /* a peer that never stops sending */
		r = recv(fd, buf, want, 0);

		if (r > 0)
			*got += (uint64_t)r;
		else if (r == 0)
			return 0;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			wait_fd(fd, POLLIN, "reading");
		else if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* A signalfd for SIGTERM and SIGINT, which are blocked from here on. */
int stop_signal_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		tool_die_setup("sigprocmask: %s", strerror(errno));
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		tool_die_setup("signalfd: %s", strerror(errno));
	return fd;
}

int bind_socket(const struct opts *o, int type)
{
	struct target t;
	int fd, one = 1;

	target_parse(o->addr, o->port, &t);
	fd = socket(t.ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		tool_die_setup("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		tool_die_setup("SO_REUSEADDR: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&t.ss, t.len))
		tool_die_setup("failed to bind %s port %u: %s", o->addr, o->port, strerror(errno));
	return fd;
}

/* One line of stdin into buf (without its newline; an overlong line is cut
 * at len - 1). False at the end of stdin. Waits at most until the deadline. */
bool read_stdin_line(char *buf, size_t len)
{
	size_t n = 0;

	for (;;) {
		char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);

		if (r == 0)
			return n > 0 && (buf[n] = '\0', true);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return false;
			wait_fd(STDIN_FILENO, POLLIN, "reading commands on stdin");
			continue;
		}
		if (ch == '\n') {
			if (n && buf[n - 1] == '\r')
				n--;
			buf[n] = '\0';
			return true;
		}
		if (n < len - 1)
			buf[n++] = ch;
	}
}
