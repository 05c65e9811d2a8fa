// SPDX-License-Identifier: MIT
/*
 * acceptor: a pre-fork TCP server, for the accept-attribution tests. One
 * process (named "acc-parent") binds and listens, then forks N children
 * (named "acc-child") that share the listening socket and each accept one
 * connection at a time: read to EOF, write --reply bytes, close. Connections
 * alternate between accept() and accept4() in every child, so both syscalls
 * are exercised. The parent is never the one that accepts: an agent that
 * attributes accepted connections to the listener names the wrong process.
 *
 *   acceptor --bind ADDR --port P --children N --conns TOTAL [--reply B]
 *            [--deadline-ms MS]   (default 20000)
 *
 * Prints {"listening":P,"parent":PID,"children":[PID,...]} once every child
 * runs, and after TOTAL connections were served (or at the deadline, exit 3)
 * {"served":N,"by_child":{"PID":COUNT,...},"accept":A,"accept4":A4}. Bounded
 * in count and in time; children are stopped and reaped before exit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define TOOL_NAME "acceptor"
#include "lib/tool.h"

#define MAX_CHILDREN 64

/* What a child reports to the parent per connection served. */
struct acc_report {
	int32_t pid;
	int32_t used_accept4;
};

struct acc_opts {
	const char *bind_addr;
	unsigned int port;
	unsigned int children;
	unsigned int conns;
	unsigned int reply;
	unsigned int deadline_ms;
};

static int acc_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	uint64_t v;

	if (tool_parse_u64(s, 0, max, &v))
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int acc_listen(const struct acc_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (tool_sockaddr(o->bind_addr, (uint16_t)o->port, &ss, &len)) {
		fprintf(stderr, "acceptor: bad address %s\n", o->bind_addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("acceptor: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		fprintf(stderr, "acceptor: bind/listen %s:%u: %s\n", o->bind_addr, o->port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read to EOF, then write the reply. Blocking socket; the child's alarm()
 * bounds it. */
static void acc_serve(int fd, unsigned int reply)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	memset(buf, 'r', sizeof(buf));
	while (reply > 0) {
		size_t chunk = reply < sizeof(buf) ? reply : sizeof(buf);

		n = write(fd, buf, chunk);
		if (n <= 0)
			break;
		reply -= (unsigned int)n;
	}
}

static void acc_child(int lfd, int report_fd, const struct acc_opts *o)
{
	struct acc_report r = { .pid = (int32_t)getpid() };

	prctl(PR_SET_NAME, "acc-child", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	alarm(o->deadline_ms / 1000 + 2); /* backstop: the parent normally stops us */
	for (unsigned int i = 0; i < o->conns; i++) {
		int fd;

		r.used_accept4 = i % 2;
		fd = r.used_accept4 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) :
				      accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("acceptor: accept");
			_exit(EXIT_SETUP);
		}
		acc_serve(fd, o->reply);
		close(fd);
		if (write(report_fd, &r, sizeof(r)) != sizeof(r))
			_exit(EXIT_SETUP);
	}
	_exit(0);
}

static void acc_usage(void)
{
	fprintf(stderr, "usage: acceptor --bind ADDR --port P --children N --conns TOTAL "
			"[--reply B] [--deadline-ms MS]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "children", required_argument, NULL, 'n' },
		{ "conns", required_argument, NULL, 'c' },
		{ "reply", required_argument, NULL, 'r' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct acc_opts o = { .deadline_ms = 20000 };
	pid_t pids[MAX_CHILDREN] = { 0 };
	unsigned int served_by[MAX_CHILDREN] = { 0 };
	unsigned int served = 0, n_accept4 = 0;
	int pipefd[2], lfd, opt, rc = 0;
	uint64_t deadline;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 'b':
			o.bind_addr = optarg;
			break;
		case 'p':
			bad = acc_parse_uint(optarg, 65535, &o.port);
			break;
		case 'n':
			bad = acc_parse_uint(optarg, MAX_CHILDREN, &o.children);
			break;
		case 'c':
			bad = acc_parse_uint(optarg, 100000, &o.conns);
			break;
		case 'r':
			bad = acc_parse_uint(optarg, 1 << 24, &o.reply);
			break;
		case 'd':
			bad = acc_parse_uint(optarg, 3600000, &o.deadline_ms);
			break;
		default:
			bad = 1;
		}
		if (bad) {
			acc_usage();
			return EXIT_USAGE;
		}
	}
	if (!o.bind_addr || !o.port || !o.children || !o.conns) {
		acc_usage();
		return EXIT_USAGE;
	}
	deadline = tool_deadline_in_ms(o.deadline_ms);
	prctl(PR_SET_NAME, "acc-parent", 0, 0, 0);
	lfd = acc_listen(&o);
	if (lfd < 0)
		return EXIT_SETUP;
	if (pipe(pipefd)) {
		perror("acceptor: pipe");
		return EXIT_SETUP;
	}
	for (unsigned int i = 0; i < o.children; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("acceptor: fork");
			rc = EXIT_SETUP;
			goto stop;
		}
		if (pids[i] == 0) {
			close(pipefd[0]);
			acc_child(lfd, pipefd[1], &o);
		}
	}
	close(pipefd[1]);
	close(lfd); /* the children hold it: the parent cannot accept */
	printf("{\"listening\":%u,\"parent\":%d,\"children\":[", o.port, (int)getpid());
	for (unsigned int i = 0; i < o.children; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("]}\n");
	fflush(stdout);

	while (served < o.conns) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		int left = tool_ms_left(deadline);
		struct acc_report r;
		ssize_t n;

		if (!left) {
			fprintf(stderr, "acceptor: deadline passed after %u of %u connections\n",
				served, o.conns);
			rc = EXIT_DEADLINE;
			break;
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(pipefd[0], &r, sizeof(r));
		if (n == 0) {
			fprintf(stderr, "acceptor: every child exited after %u connections\n",
				served);
			rc = EXIT_SETUP;
			break;
		}
		if (n != sizeof(r))
			continue;
		served++;
		n_accept4 += r.used_accept4 != 0;
		for (unsigned int i = 0; i < o.children; i++)
			if (pids[i] == r.pid)
				served_by[i]++;
	}
	printf("{\"served\":%u,\"by_child\":{", served);
	for (unsigned int i = 0, first = 1; i < o.children; i++) {
		if (!served_by[i])
			continue;
		printf("%s\"%d\":%u", first ? "" : ",", (int)pids[i], served_by[i]);
		first = 0;
	}
	printf("},\"accept\":%u,\"accept4\":%u}\n", served - n_accept4, n_accept4);
	fflush(stdout);
stop:
	for (unsigned int i = 0; i < o.children; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (unsigned int i = 0; i < o.children; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	return rc;
}
