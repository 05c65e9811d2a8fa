// SPDX-License-Identifier: MIT
/*
 * connhold: hold a large number of established TCP connections, for the scale
 * benchmark (bench/run.sh). trafficgen's tcp-hold polls every socket on each
 * wakeup and connects from one address; this tool reaches 100k connections
 * in seconds: epoll, a bounded number of connects in flight, and explicit
 * source addresses and ports so no ephemeral-port search is involved.
 *
 *   connhold server --bind ADDR --port P --conns N
 *   connhold client --connect ADDR --port P --conns N --sources A1[,A2...]
 *                   [--first-port P0] [--inflight K]
 *   both:           [--deadline-ms MS]   (default 120000)
 *
 * The client's i-th connection leaves from sources[i % S], port P0 + i / S.
 * Each side prints one JSON line once its N connections are established
 * (server: accepted), then holds them until stdin reaches EOF or reads a line
 * "close", and closes them with a RST (no TIME_WAIT left behind). Exit 0 on
 * success, 1 on a setup error, 2 on a usage error, 3 when the deadline passes.
 * The tool raises its soft RLIMIT_NOFILE as far as needed; connections beyond
 * the hard limit take several instances (one server port per instance).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define TOOL_NAME "connhold"
#include "lib/tool.h"

#define MAX_SOURCES 64
#define MAX_CONNS   1000000

struct opts {
	bool server;
	const char *addr;
	uint16_t port;
	uint64_t conns;
	struct in_addr sources[MAX_SOURCES];
	unsigned int n_sources;
	uint64_t first_port;
	uint64_t inflight;
	uint64_t deadline_ms;
};

static uint64_t g_deadline_ns;

static void parse_sources(struct opts *o, const char *list)
{
	char buf[1024];
	char *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf))
		tool_die(EXIT_USAGE, "--sources: list too long");
	memcpy(buf, list, strlen(list) + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_sources == MAX_SOURCES)
			tool_die(EXIT_USAGE, "--sources: at most %d addresses", MAX_SOURCES);
		if (inet_pton(AF_INET, tok, &o->sources[o->n_sources]) != 1)
			tool_die(EXIT_USAGE, "--sources: '%s' is not an IPv4 address", tok);
		o->n_sources++;
	}
}

static void usage(FILE *f)
{
	fputs("usage: connhold server --bind ADDR --port P --conns N [--deadline-ms MS]\n"
	      "       connhold client --connect ADDR --port P --conns N --sources A1[,A2...]\n"
	      "                       [--first-port P0] [--inflight K] [--deadline-ms MS]\n",
	      f);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option long_opts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "connect", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'n' },
		{ "sources", required_argument, NULL, 's' },
		{ "first-port", required_argument, NULL, 'f' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if (argc < 2) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (!strcmp(argv[1], "server"))
		o->server = true;
	else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		usage(stdout), exit(0);
	else if (strcmp(argv[1], "client"))
		tool_die(EXIT_USAGE, "unknown command '%s'", argv[1]);
	o->first_port = 10000;
	o->inflight = 512;
	o->deadline_ms = 120000;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'c':
			o->addr = optarg;
			break;
		case 'p':
			o->port = (uint16_t)tool_opt_u64("port", optarg, 1, 65535);
			break;
		case 'n':
			o->conns = tool_opt_u64("conns", optarg, 1, MAX_CONNS);
			break;
		case 's':
			parse_sources(o, optarg);
			break;
		case 'f':
			o->first_port = tool_opt_u64("first-port", optarg, 1, 65535);
			break;
		case 'i':
			o->inflight = tool_opt_u64("inflight", optarg, 1, 65536);
			break;
		case 'd':
			o->deadline_ms = tool_opt_u64("deadline-ms", optarg, 1, UINT32_MAX);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		tool_die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	if (!o->addr || !o->port || !o->conns)
		tool_die(EXIT_USAGE, "%s, --port and --conns are required",
			 o->server ? "--bind" : "--connect");
	if (!o->server && !o->n_sources)
		tool_die(EXIT_USAGE, "--sources is required");
	if (!o->server && o->first_port + (o->conns + o->n_sources - 1) / o->n_sources - 1 > 65535)
		tool_die(EXIT_USAGE,
			 "%" PRIu64 " connections from %u sources do not fit above port %" PRIu64,
			 o->conns, o->n_sources, o->first_port);
}

/* Room for every connection, the listener, epoll and stdio, within the hard
 * limit: raising that needs CAP_SYS_RESOURCE, which a container's root may
 * lack, so the benchmark runs several instances rather than one big one. */
static void raise_nofile(uint64_t need)
{
	bool hard;
	int err = tool_raise_nofile(need + 64, &hard);

	if (err && hard)
		tool_die(EXIT_SETUP,
			 "%" PRIu64 " descriptors exceed the hard RLIMIT_NOFILE and raising it "
			 "failed (%s): run more instances with fewer --conns each",
			 need + 64, strerror(-err));
	if (err)
		tool_die(EXIT_SETUP, "setrlimit: %s", strerror(-err));
}

static void sockaddr_of(const char *addr, uint16_t port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1)
		tool_die(EXIT_USAGE, "'%s' is not an IPv4 address", addr);
}

static void close_rst(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Until stdin reaches EOF or a line "close"; bounded by the deadline. */
static void hold(void)
{
	char buf[256];

	for (;;) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int n = poll(&p, 1, tool_remaining_ms(g_deadline_ns, "holding connections"));
		ssize_t r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue; /* tool_remaining_ms() dies at the deadline */
		r = read(STDIN_FILENO, buf, sizeof(buf) - 1);
		if (r <= 0)
			return;
		buf[r] = '\0';
		if (strstr(buf, "close"))
			return;
	}
}

/* ==== server ==== */

static int run_server(const struct opts *o)
{
	struct sockaddr_in sa;
	int lfd, one = 1, *fds;
	uint64_t accepted = 0, t0;

	raise_nofile(o->conns);
	fds = calloc(o->conns, sizeof(*fds));
	if (!fds)
		tool_die(EXIT_SETUP, "out of memory");
	sockaddr_of(o->addr, o->port, &sa);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		tool_die(EXIT_SETUP, "socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)))
		tool_die(EXIT_SETUP, "bind %s:%u: %s", o->addr, o->port, strerror(errno));
	if (listen(lfd, 65535))
		tool_die(EXIT_SETUP, "listen: %s", strerror(errno));
	printf("{\"listening\":%u}\n", o->port);
	fflush(stdout);
	t0 = tool_now_ns();
	while (accepted < o->conns) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int n = poll(&p, 1, tool_remaining_ms(g_deadline_ns, "accepting"));

		if (n <= 0)
			continue;
		while (accepted < o->conns) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				tool_die(EXIT_SETUP, "accept after %" PRIu64 ": %s", accepted,
					 strerror(errno));
			}
			fds[accepted++] = fd;
		}
	}
	printf("{\"accepted\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64 "}\n", accepted,
	       tool_now_ns() - t0);
	fflush(stdout);
	hold();
	for (uint64_t i = 0; i < accepted; i++)
		close_rst(fds[i]);
	close(lfd);
	free(fds);
	return 0;
}

/* ==== client ==== */

static int run_client(const struct opts *o)
{
	struct epoll_event evs[256];
	struct sockaddr_in dst, src;
	uint64_t next = 0, pending = 0, established = 0, failed = 0, t0, elapsed;
	int ep, *fds, one = 1;

	raise_nofile(o->conns);
	fds = calloc(o->conns, sizeof(*fds));
	if (!fds)
		tool_die(EXIT_SETUP, "out of memory");
	sockaddr_of(o->addr, o->port, &dst);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		tool_die(EXIT_SETUP, "epoll_create1: %s", strerror(errno));
	t0 = tool_now_ns();
	while (established + failed < o->conns) {
		int n;

		while (next < o->conns && pending < o->inflight) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = next };
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			if (fd < 0)
				tool_die(EXIT_SETUP, "socket %" PRIu64 ": %s", next,
					 strerror(errno));
			memset(&src, 0, sizeof(src));
			src.sin_family = AF_INET;
			src.sin_addr = o->sources[next % o->n_sources];
			src.sin_port = htons((uint16_t)(o->first_port + next / o->n_sources));
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
				tool_die(EXIT_SETUP, "bind source %s:%u: %s",
					 inet_ntoa(src.sin_addr), ntohs(src.sin_port),
					 strerror(errno));
			fds[next] = fd;
			if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) &&
			    errno != EINPROGRESS) {
				failed++;
				close(fd);
				fds[next] = -1;
			} else if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
				tool_die(EXIT_SETUP, "epoll_ctl: %s", strerror(errno));
			} else {
				pending++;
			}
			next++;
		}
		if (!pending)
			continue;
		n = epoll_wait(ep, evs, 256, tool_remaining_ms(g_deadline_ns, "connecting"));
		if (n < 0 && errno != EINTR)
			tool_die(EXIT_SETUP, "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			uint64_t idx = evs[i].data.u64;
			int fd = fds[idx], err = 0;
			socklen_t len = sizeof(err);

			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			pending--;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
				failed++;
				close(fd);
				fds[idx] = -1;
			} else {
				established++;
			}
		}
	}
	elapsed = tool_now_ns() - t0;
	printf("{\"established\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64
	       ",\"rate\":%.1f}\n",
	       established, failed, elapsed, elapsed ? established * 1e9 / (double)elapsed : 0.0);
	fflush(stdout);
	hold();
	for (uint64_t i = 0; i < o->conns; i++)
		if (fds[i] >= 0)
			close_rst(fds[i]);
	close(ep);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };

	parse_opts(argc, argv, &o);
	g_deadline_ns = tool_deadline_in_ms(o.deadline_ms);
	return o.server ? run_server(&o) : run_client(&o);
}
