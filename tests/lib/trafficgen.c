// SPDX-License-Identifier: MIT
/*
 * trafficgen: traffic with known counts, for the end-to-end tests and the
 * benchmarks. Each subcommand does exactly what it is asked (N connections,
 * S bytes each, D datagrams ...) and prints its ground truth as one line of
 * JSON on stdout, which the tests compare with what the agent exported.
 *
 *   tcp-server  --bind ADDR --port P [--reply N] [--rst] [--echo4] [--max-conns N]
 *   tcp-client  --connect ADDR --port P --conns N [--send S] [--recv R]
 *               [--parallel K] [--abort] [--port-span M]
 *   tcp-hold    --connect ADDR --port P --conns N [--send S] [--port-span M]
 *               [--half-close]
 *   udp-server  --bind ADDR --port P
 *   udp-client  --connect ADDR --port P --flows F --datagrams D --size B [--connected]
 *   storm       --connect ADDR --port P --threads T (--duration-ms MS | --conns N)
 *   all:        [--deadline-ms MS]   (default 20000)
 *
 * Every loop is bounded in count and in time: when --deadline-ms passes, the
 * program says so on stderr and exits 3. Exit 2 is a usage error, 1 a setup
 * error (bind, socket ...); connection failures are results, counted by errno
 * name in the JSON, and leave the exit status 0.
 *
 * tcp-server reads each connection to EOF, then writes --reply bytes and
 * closes; --rst resets instead of replying; --echo4 (for storm) answers the
 * first 4 bytes with 4 bytes and closes first. It prints {"listening":PORT}
 * once listening and its totals on SIGTERM/SIGINT or after --max-conns.
 *
 * tcp-hold closes its connections when stdin says "close" (or ends); with
 * --half-close it first shuts each one down for writing and waits for the
 * peer's FIN on all of them, so every socket ends in TIME_WAIT through the
 * full-socket path by the time it prints {"closed":N}.
 *
 * --port-span M (tcp-client, tcp-hold) spreads the connections over the M
 * ports P .. P+M-1: connection i goes to port P + i mod M (many distinct
 * destinations, e.g. refused connects for the label-cardinality test).
 *
 * All sockets are non-blocking; every wait is a poll()/epoll_wait() whose
 * timeout is what is left until the deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_* (not glibc's older copy) */
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#define EXIT_SETUP    1
#define EXIT_USAGE    2
#define EXIT_DEADLINE 3

#define ERR_SLOTS	    256		/* errno values counted individually; above: last slot */
#define IO_CHUNK	    (64 * 1024) /* read/write buffer */
#define MAX_PARALLEL	    4096	/* client threads */
#define UDP_ECHO_TIMEOUT_MS 1000	/* an echo later than this is a loss */
#define UDP_MAX_SIZE	    65507

/* ==== Options ==== */

enum cmd {
	CMD_TCP_SERVER = 1 << 0,
	CMD_TCP_CLIENT = 1 << 1,
	CMD_TCP_HOLD = 1 << 2,
	CMD_UDP_SERVER = 1 << 3,
	CMD_UDP_CLIENT = 1 << 4,
	CMD_STORM = 1 << 5,
};
#define CMD_ALL 0x3f

struct opts {
	const char *addr;
	uint16_t port;
	bool port_set;
	uint64_t reply;
	bool rst;
	bool echo4;
	uint64_t max_conns; /* 0: unlimited */
	uint64_t conns;
	bool conns_set;
	uint64_t send;
	bool send_set;
	uint64_t recv;
	bool recv_set;
	uint64_t parallel;
	bool abort_conn;
	uint64_t flows;
	uint64_t datagrams;
	uint64_t size;
	bool connected;
	uint64_t port_span; /* 1: every connection to --port */
	bool half_close;
	uint64_t threads;
	uint64_t duration_ms;
	bool duration_set;
	uint64_t deadline_ms;
};

enum opt_id {
	OPT_BIND = 1,
	OPT_CONNECT,
	OPT_PORT,
	OPT_REPLY,
	OPT_RST,
	OPT_ECHO4,
	OPT_MAX_CONNS,
	OPT_CONNS,
	OPT_SEND,
	OPT_RECV,
	OPT_PARALLEL,
	OPT_ABORT,
	OPT_FLOWS,
	OPT_DATAGRAMS,
	OPT_SIZE,
	OPT_CONNECTED,
	OPT_THREADS,
	OPT_DURATION_MS,
	OPT_DEADLINE_MS,
	OPT_PORT_SPAN,
	OPT_HALF_CLOSE,
	OPT_HELP,
};

/* Which subcommands accept each option (indexed by enum opt_id). */
static const unsigned int opt_cmds[] = {
	[OPT_BIND] = CMD_TCP_SERVER | CMD_UDP_SERVER,
	[OPT_CONNECT] = CMD_TCP_CLIENT | CMD_TCP_HOLD | CMD_UDP_CLIENT | CMD_STORM,
	[OPT_PORT] = CMD_ALL,
	[OPT_REPLY] = CMD_TCP_SERVER,
	[OPT_RST] = CMD_TCP_SERVER,
	[OPT_ECHO4] = CMD_TCP_SERVER,
	[OPT_MAX_CONNS] = CMD_TCP_SERVER,
	[OPT_CONNS] = CMD_TCP_CLIENT | CMD_TCP_HOLD | CMD_STORM,
	[OPT_SEND] = CMD_TCP_CLIENT | CMD_TCP_HOLD,
	[OPT_RECV] = CMD_TCP_CLIENT,
	[OPT_PARALLEL] = CMD_TCP_CLIENT,
	[OPT_ABORT] = CMD_TCP_CLIENT,
	[OPT_FLOWS] = CMD_UDP_CLIENT,
	[OPT_DATAGRAMS] = CMD_UDP_CLIENT,
	[OPT_SIZE] = CMD_UDP_CLIENT,
	[OPT_CONNECTED] = CMD_UDP_CLIENT,
	[OPT_THREADS] = CMD_STORM,
	[OPT_DURATION_MS] = CMD_STORM,
	[OPT_DEADLINE_MS] = CMD_ALL,
	[OPT_PORT_SPAN] = CMD_TCP_CLIENT | CMD_TCP_HOLD,
	[OPT_HALF_CLOSE] = CMD_TCP_HOLD,
	[OPT_HELP] = CMD_ALL,
};

static const struct option long_opts[] = {
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "reply", required_argument, NULL, OPT_REPLY },
	{ "rst", no_argument, NULL, OPT_RST },
	{ "echo4", no_argument, NULL, OPT_ECHO4 },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "conns", required_argument, NULL, OPT_CONNS },
	{ "send", required_argument, NULL, OPT_SEND },
	{ "recv", required_argument, NULL, OPT_RECV },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "abort", no_argument, NULL, OPT_ABORT },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "datagrams", required_argument, NULL, OPT_DATAGRAMS },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "connected", no_argument, NULL, OPT_CONNECTED },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "duration-ms", required_argument, NULL, OPT_DURATION_MS },
	{ "deadline-ms", required_argument, NULL, OPT_DEADLINE_MS },
	{ "port-span", required_argument, NULL, OPT_PORT_SPAN },
	{ "half-close", no_argument, NULL, OPT_HALF_CLOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fputs("usage: trafficgen COMMAND [OPTIONS]   (all: [--deadline-ms MS], default 20000)\n"
	      "  tcp-server --bind ADDR --port P [--reply N] [--rst] [--echo4] [--max-conns N]\n"
	      "  tcp-client --connect ADDR --port P --conns N [--send S] [--recv R]\n"
	      "             [--parallel K] [--abort] [--port-span M]\n"
	      "  tcp-hold   --connect ADDR --port P --conns N [--send S] [--port-span M]\n"
	      "             [--half-close]\n"
	      "  udp-server --bind ADDR --port P\n"
	      "  udp-client --connect ADDR --port P --flows F --datagrams D --size B [--connected]\n"
	      "  storm      --connect ADDR --port P --threads T (--duration-ms MS | --conns N)\n",
	      f);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("trafficgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(trafficgen --help for usage)\n", stderr);
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die_setup(const char *fmt, ...);

/* Parse a decimal integer in [min, max]; anything else is a usage error. */
static uint64_t parse_u64(const char *name, const char *s, uint64_t min, uint64_t max)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		die_usage("--%s: not a number", name);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "trafficgen: --%s: %s is not in [%" PRIu64 ", %" PRIu64 "]\n", name,
			s, min, max);
		exit(EXIT_USAGE);
	}
	return v;
}

static enum cmd parse_cmd(const char *s)
{
	static const struct {
		const char *name;
		enum cmd cmd;
	} cmds[] = {
		{ "tcp-server", CMD_TCP_SERVER }, { "tcp-client", CMD_TCP_CLIENT },
		{ "tcp-hold", CMD_TCP_HOLD },	  { "udp-server", CMD_UDP_SERVER },
		{ "udp-client", CMD_UDP_CLIENT }, { "storm", CMD_STORM },
	};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(s, cmds[i].name) == 0)
			return cmds[i].cmd;
	die_usage("unknown command '%s'", s);
}

static void parse_opts(enum cmd cmd, int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->send = 100;
	o->parallel = 1;
	o->deadline_ms = 20000;
	o->threads = 1;
	o->port_span = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *name = NULL;
		size_t i;

		if (c == '?')
			exit(EXIT_USAGE);
		for (i = 0; long_opts[i].name; i++)
			if (long_opts[i].val == c)
				name = long_opts[i].name;
		if (c <= 0 || c > OPT_HELP || !(opt_cmds[c] & cmd))
			die_usage("--%s does not apply to this command", name ? name : "?");
		switch (c) {
		case OPT_BIND:
		case OPT_CONNECT:
			o->addr = optarg;
			break;
		case OPT_PORT:
			o->port = (uint16_t)parse_u64(name, optarg, 0, 65535);
			o->port_set = true;
			break;
		case OPT_REPLY:
			o->reply = parse_u64(name, optarg, 0, UINT64_MAX / 2);
			break;
		case OPT_RST:
			o->rst = true;
			break;
		case OPT_ECHO4:
			o->echo4 = true;
			break;
		case OPT_MAX_CONNS:
			o->max_conns = parse_u64(name, optarg, 1, UINT32_MAX);
			break;
		case OPT_CONNS:
			o->conns = parse_u64(name, optarg, 1, UINT32_MAX);
			o->conns_set = true;
			break;
		case OPT_SEND:
			o->send = parse_u64(name, optarg, 0, UINT64_MAX / 2);
			o->send_set = true;
			break;
		case OPT_RECV:
			o->recv = parse_u64(name, optarg, 0, UINT64_MAX / 2);
			o->recv_set = true;
			break;
		case OPT_PARALLEL:
			o->parallel = parse_u64(name, optarg, 1, MAX_PARALLEL);
			break;
		case OPT_ABORT:
			o->abort_conn = true;
			break;
		case OPT_FLOWS:
			o->flows = parse_u64(name, optarg, 1, 65536);
			break;
		case OPT_DATAGRAMS:
			o->datagrams = parse_u64(name, optarg, 1, UINT32_MAX);
			break;
		case OPT_SIZE:
			o->size = parse_u64(name, optarg, 0, UDP_MAX_SIZE);
			break;
		case OPT_CONNECTED:
			o->connected = true;
			break;
		case OPT_HALF_CLOSE:
			o->half_close = true;
			break;
		case OPT_THREADS:
			o->threads = parse_u64(name, optarg, 1, MAX_PARALLEL);
			break;
		case OPT_DURATION_MS:
			o->duration_ms = parse_u64(name, optarg, 1, UINT32_MAX);
			o->duration_set = true;
			break;
		case OPT_DEADLINE_MS:
			o->deadline_ms = parse_u64(name, optarg, 1, UINT32_MAX);
			break;
		case OPT_PORT_SPAN:
			o->port_span = parse_u64(name, optarg, 1, 65535);
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		}
	}
	if (optind != argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!o->addr)
		die_usage("%s is required",
			  (cmd & (CMD_TCP_SERVER | CMD_UDP_SERVER)) ? "--bind" : "--connect");
	if (!o->port_set)
		die_usage("%s is required", "--port");
	if (!(cmd & (CMD_TCP_SERVER | CMD_UDP_SERVER)) && o->port == 0)
		die_usage("%s: port 0 is not a destination", "--port");
	if ((cmd & (CMD_TCP_CLIENT | CMD_TCP_HOLD)) && !o->conns_set)
		die_usage("%s is required", "--conns");
	if (cmd == CMD_UDP_CLIENT && (!o->flows || !o->datagrams))
		die_usage("%s are required", "--flows and --datagrams");
	if (cmd == CMD_STORM && o->duration_set == o->conns_set)
		die_usage("%s", "storm needs exactly one of --duration-ms and --conns");
	if (o->port + o->port_span - 1 > 65535)
		die_usage("--port %u with --port-span %" PRIu64 " goes past port 65535", o->port,
			  o->port_span);
	if (cmd == CMD_TCP_SERVER && (o->rst + o->echo4 + (o->reply > 0)) > 1)
		die_usage("%s", "--reply, --rst and --echo4 exclude each other");
}

/* ==== Clock and deadline ==== */

static uint64_t g_deadline_ns;
static uint64_t g_deadline_ms;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Any thread may call this; _exit so no other thread's stdio is touched. */
static void __attribute__((noreturn)) die_deadline(const char *what)
{
	fprintf(stderr, "trafficgen: deadline of %" PRIu64 " ms passed while %s\n", g_deadline_ms,
		what);
	_exit(EXIT_DEADLINE);
}

static void die_setup(const char *fmt, ...)
{
	va_list ap;

	fputs("trafficgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SETUP);
}

/* Milliseconds left until the deadline (at least 1), or die. */
static int remaining_ms(const char *what)
{
	uint64_t now = now_ns();
	uint64_t left;

	if (now >= g_deadline_ns)
		die_deadline(what);
	left = (g_deadline_ns - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
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

static void err_count(uint64_t *slots, int err)
{
	if (err <= 0)
		err = EPROTO; /* cannot happen; keeps the total right */
	slots[err < ERR_SLOTS ? err : ERR_SLOTS - 1]++;
}

/* Print ,"errno":{...} with the non-zero slots. */
static void err_print(const uint64_t *slots)
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

static unsigned char g_pattern[IO_CHUNK]; /* payload written by everyone */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* ADDR is an IPv4 or IPv6 literal (no names: tests know their addresses). */
static void target_parse(const char *addr, uint16_t port, struct target *t)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;

	memset(t, 0, sizeof(*t));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		t->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		t->len = sizeof(*sin6);
	} else {
		die_usage("'%s' is not an IPv4 or IPv6 address", addr);
	}
}

/* The target of connection i: --port-span spreads connections over ports. */
static void target_nth(const struct target *base, uint16_t port, uint64_t span, uint64_t i,
		       struct target *t)
{
	uint16_t p = (uint16_t)(port + i % span);

	*t = *base;
	if (t->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&t->ss)->sin_port = htons(p);
	else
		((struct sockaddr_in6 *)&t->ss)->sin6_port = htons(p);
}

static uint16_t sock_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Wait until fd is ready for events; die at the deadline. Returns revents. */
static short wait_fd(int fd, short events, const char *what)
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
			die_setup("poll: %s", strerror(errno));
	}
}

static void set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* Start a non-blocking connect and wait for it. On success *fdp is the
 * connected socket and *ns the time it took; on failure returns -errno and
 * the socket is closed. */
static int tcp_connect(const struct target *t, int *fdp, uint64_t *ns)
{
	uint64_t t0 = now_ns();
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
	*ns = now_ns() - t0;
	*fdp = fd;
	return 0;
}

/* Write n pattern bytes. *done counts what went out. Returns 0 or -errno. */
static int sock_write_n(int fd, uint64_t n, uint64_t *done)
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
static int sock_read(int fd, uint64_t limit, uint64_t *got)
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
static int stop_signal_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die_setup("sigprocmask: %s", strerror(errno));
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		die_setup("signalfd: %s", strerror(errno));
	return fd;
}

static int bind_socket(const struct opts *o, int type)
{
	struct target t;
	int fd, one = 1;

	target_parse(o->addr, o->port, &t);
	fd = socket(t.ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_setup("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die_setup("SO_REUSEADDR: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&t.ss, t.len))
		die_setup("failed to bind %s port %u: %s", o->addr, o->port, strerror(errno));
	return fd;
}

/* ==== tcp-server ==== */

enum srv_kind { SRV_LISTEN, SRV_SIGNAL, SRV_CONN };

struct srv_tag {
	enum srv_kind kind;
};

struct srv_conn {
	struct srv_tag tag;	      /* first: epoll data points here */
	struct srv_conn *prev, *next; /* open connections, freed at exit */
	int fd;
	bool writing;
	bool want_out; /* registered for EPOLLOUT */
	uint64_t in;
	uint64_t to_send;
};

struct tcp_server {
	const struct opts *o;
	int ep;
	int lfd;
	bool accepting; /* lfd is in the epoll set */
	struct srv_conn *conns;
	uint64_t accepted, handled, active, errors;
	uint64_t bytes_received, bytes_sent;
	unsigned char buf[IO_CHUNK];
};

static void srv_set_accepting(struct tcp_server *s, bool on)
{
	static struct srv_tag listen_tag = { SRV_LISTEN };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_tag };

	if (on == s->accepting)
		return;
	if (epoll_ctl(s->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->lfd, &ev))
		die_setup("epoll_ctl(listen): %s", strerror(errno));
	s->accepting = on;
}

static void srv_conn_close(struct tcp_server *s, struct srv_conn *c, bool rst)
{
	if (rst)
		set_linger0(c->fd);
	close(c->fd); /* also leaves the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	s->handled++;
	s->active--;
	if (!s->accepting && (!s->o->max_conns || s->accepted < s->o->max_conns))
		srv_set_accepting(s, true);
}

static void srv_accept(struct tcp_server *s)
{
	while (!s->o->max_conns || s->accepted < s->o->max_conns) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct srv_conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && s->active > 0) {
				/* resume when a connection closes */
				srv_set_accepting(s, false);
				return;
			}
			die_setup("accept: %s", strerror(errno));
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			die_setup("out of memory");
		c->tag.kind = SRV_CONN;
		c->fd = fd;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev))
			die_setup("epoll_ctl(conn): %s", strerror(errno));
		s->accepted++;
		s->active++;
	}
	srv_set_accepting(s, false);
}

static void srv_want_out(struct tcp_server *s, struct srv_conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	if (c->want_out)
		return;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev))
		die_setup("epoll_ctl(mod): %s", strerror(errno));
	c->want_out = true;
}

/* Read until EOF (or 4 bytes with --echo4), then reply / reset / close.
 * At most SRV_BATCH reads or writes per wakeup, so one fast peer cannot
 * starve the others or the deadline check (epoll is level-triggered). */
#define SRV_BATCH 64
static void srv_conn_io(struct tcp_server *s, struct srv_conn *c)
{
	const struct opts *o = s->o;
	unsigned int batch = 0;

	while (!c->writing) {
		ssize_t r;

		if (++batch > SRV_BATCH)
			return;
		r = recv(c->fd, s->buf, o->echo4 ? 4 - c->in : sizeof(s->buf), 0);
		if (r > 0) {
			c->in += (uint64_t)r;
			s->bytes_received += (uint64_t)r;
			if (o->echo4 && c->in >= 4) {
				c->writing = true;
				c->to_send = 4;
			}
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			s->errors++;
			srv_conn_close(s, c, false);
			return;
		}
		/* EOF */
		if (o->rst || o->echo4 || o->reply == 0) {
			srv_conn_close(s, c, o->rst);
			return;
		}
		c->writing = true;
		c->to_send = o->reply;
	}
	while (c->to_send > 0) {
		size_t chunk = c->to_send < IO_CHUNK ? (size_t)c->to_send : IO_CHUNK;
		ssize_t w;

		if (++batch > SRV_BATCH) {
			srv_want_out(s, c); /* level-triggered: EPOLLOUT brings us back */
			return;
		}
		w = send(c->fd, g_pattern, chunk, MSG_NOSIGNAL);
		if (w > 0) {
			c->to_send -= (uint64_t)w;
			s->bytes_sent += (uint64_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			srv_want_out(s, c);
			return;
		} else if (errno != EINTR) {
			s->errors++;
			srv_conn_close(s, c, false);
			return;
		}
	}
	/* With --echo4 the server closes first: TIME_WAIT stays on this side
	 * and a storm client never runs out of ephemeral ports. */
	srv_conn_close(s, c, false);
}

static int cmd_tcp_server(const struct opts *o)
{
	static struct srv_tag signal_tag = { SRV_SIGNAL };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &signal_tag };
	struct epoll_event evs[256];
	struct tcp_server *s;
	int sfd, i, n;
	bool stop = false;

	s = calloc(1, sizeof(*s));
	if (!s)
		die_setup("out of memory");
	s->o = o;
	sfd = stop_signal_fd();
	s->lfd = bind_socket(o, SOCK_STREAM);
	if (listen(s->lfd, 4096))
		die_setup("listen: %s", strerror(errno));
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0)
		die_setup("epoll_create1: %s", strerror(errno));
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, sfd, &ev))
		die_setup("epoll_ctl(signalfd): %s", strerror(errno));
	srv_set_accepting(s, true);

	printf("{\"listening\":%u}\n", sock_local_port(s->lfd));
	fflush(stdout);

	while (!stop && !(o->max_conns && s->handled >= o->max_conns)) {
		n = epoll_wait(s->ep, evs, 256, remaining_ms("serving tcp"));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_setup("epoll_wait: %s", strerror(errno));
		if (n == 0)
			die_deadline("serving tcp");
		for (i = 0; i < n; i++) {
			struct srv_tag *tag = evs[i].data.ptr;

			if (tag->kind == SRV_SIGNAL)
				stop = true;
			else if (tag->kind == SRV_LISTEN)
				srv_accept(s);
			else
				srv_conn_io(s, (struct srv_conn *)tag);
		}
	}
	printf("{\"accepted\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
	       ",\"handled\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
	       s->accepted, s->bytes_received, s->bytes_sent, s->handled, s->errors);
	fflush(stdout);
	while (s->conns) {
		struct srv_conn *c = s->conns;

		s->conns = c->next;
		close(c->fd);
		free(c);
	}
	close(s->ep);
	close(s->lfd);
	close(sfd);
	free(s);
	return 0;
}

/* ==== tcp-client ==== */

struct tcp_stats {
	uint64_t ok, failed, mismatch;
	uint64_t bytes_sent, bytes_received;
	uint64_t retrans, bytes_retrans, tcpi_bytes_sent, tcpi_bytes_acked, tcpi_bytes_received;
	uint64_t rtt_us_sum, min_rtt_us_sum, connect_ns_sum;
	uint64_t err[ERR_SLOTS];
};

struct client_ctx {
	const struct opts *o;
	struct target t;
	atomic_uint_fast64_t next; /* next connection index to run */
	uint64_t end_ns;	   /* storm --duration-ms; 0 otherwise */
};

struct client_thread {
	pthread_t tid;
	struct client_ctx *ctx;
	struct tcp_stats st;
};

static void stats_add(struct tcp_stats *dst, const struct tcp_stats *src)
{
	int i;

	dst->ok += src->ok;
	dst->failed += src->failed;
	dst->mismatch += src->mismatch;
	dst->bytes_sent += src->bytes_sent;
	dst->bytes_received += src->bytes_received;
	dst->retrans += src->retrans;
	dst->bytes_retrans += src->bytes_retrans;
	dst->tcpi_bytes_sent += src->tcpi_bytes_sent;
	dst->tcpi_bytes_acked += src->tcpi_bytes_acked;
	dst->tcpi_bytes_received += src->tcpi_bytes_received;
	dst->rtt_us_sum += src->rtt_us_sum;
	dst->min_rtt_us_sum += src->min_rtt_us_sum;
	dst->connect_ns_sum += src->connect_ns_sum;
	for (i = 0; i < ERR_SLOTS; i++)
		dst->err[i] += src->err[i];
}

static void stats_tcp_info(int fd, struct tcp_stats *st)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti)); /* an older kernel fills less */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return;
	st->retrans += ti.tcpi_total_retrans;
	st->bytes_retrans += ti.tcpi_bytes_retrans;
	st->tcpi_bytes_sent += ti.tcpi_bytes_sent;
	st->tcpi_bytes_acked += ti.tcpi_bytes_acked;
	st->tcpi_bytes_received += ti.tcpi_bytes_received;
	st->rtt_us_sum += ti.tcpi_rtt;
	st->min_rtt_us_sum += ti.tcpi_min_rtt;
}

/* One tcp-client connection: connect, send, shutdown, read to EOF, close;
 * or with --abort: connect, send, read --recv bytes, reset. */
static void tcp_client_one(const struct client_ctx *ctx, uint64_t idx, struct tcp_stats *st)
{
	const struct opts *o = ctx->o;
	uint64_t cns = 0, sent = 0, got = 0;
	struct target t;
	int fd = -1, err;

	target_nth(&ctx->t, o->port, o->port_span, idx, &t);
	err = tcp_connect(&t, &fd, &cns);
	if (err) {
		st->failed++;
		err_count(st->err, -err);
		return;
	}
	st->connect_ns_sum += cns;
	err = sock_write_n(fd, o->send, &sent);
	st->bytes_sent += sent;
	if (!err && !o->abort_conn && shutdown(fd, SHUT_WR))
		err = -errno;
	if (!err) {
		uint64_t limit = UINT64_MAX;

		if (o->abort_conn)
			limit = o->recv_set ? o->recv : 0;
		err = sock_read(fd, limit, &got);
		st->bytes_received += got;
	}
	stats_tcp_info(fd, st);
	if (err) {
		st->failed++;
		err_count(st->err, -err);
	} else if (o->recv_set && got != o->recv) {
		st->failed++;
		st->mismatch++;
	} else {
		st->ok++;
	}
	if (o->abort_conn)
		set_linger0(fd);
	close(fd);
}

static void *tcp_client_thread(void *arg)
{
	struct client_thread *th = arg;
	struct client_ctx *ctx = th->ctx;

	uint64_t idx;

	while ((idx = atomic_fetch_add(&ctx->next, 1)) < ctx->o->conns)
		tcp_client_one(ctx, idx, &th->st);
	return NULL;
}

/* One storm connection: connect, send 4 bytes, read 4 bytes, close. */
static void storm_one(const struct client_ctx *ctx, struct tcp_stats *st)
{
	uint64_t cns = 0, sent = 0, got = 0;
	int fd = -1, err;

	err = tcp_connect(&ctx->t, &fd, &cns);
	if (!err) {
		st->connect_ns_sum += cns;
		err = sock_write_n(fd, 4, &sent);
		st->bytes_sent += sent;
		if (!err)
			err = sock_read(fd, 4, &got);
		st->bytes_received += got;
		close(fd);
	}
	if (err) {
		st->failed++;
		err_count(st->err, -err);
	} else if (got != 4) {
		st->failed++;
		st->mismatch++;
	} else {
		st->ok++;
	}
}

static void *storm_thread(void *arg)
{
	struct client_thread *th = arg;
	struct client_ctx *ctx = th->ctx;

	for (;;) {
		if (ctx->end_ns) {
			if (now_ns() >= ctx->end_ns)
				break;
		} else if (atomic_fetch_add(&ctx->next, 1) >= ctx->o->conns) {
			break;
		}
		storm_one(ctx, &th->st);
	}
	return NULL;
}

/* Run fn on n threads; the summed stats land in *total. */
static void run_threads(struct client_ctx *ctx, uint64_t n, void *(*fn)(void *),
			struct tcp_stats *total)
{
	struct client_thread *ths = calloc(n, sizeof(*ths));
	pthread_attr_t attr;
	uint64_t i;
	int err;

	if (!ths)
		die_setup("out of memory");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (i = 0; i < n; i++) {
		ths[i].ctx = ctx;
		err = pthread_create(&ths[i].tid, &attr, fn, &ths[i]);
		if (err)
			die_setup("pthread_create: %s", strerror(err));
	}
	pthread_attr_destroy(&attr);
	memset(total, 0, sizeof(*total));
	for (i = 0; i < n; i++) {
		pthread_join(ths[i].tid, NULL);
		stats_add(total, &ths[i].st);
	}
	free(ths);
}

static int cmd_tcp_client(const struct opts *o)
{
	struct client_ctx ctx = { .o = o };
	struct tcp_stats st;
	uint64_t k = o->parallel < o->conns ? o->parallel : o->conns;

	target_parse(o->addr, o->port, &ctx.t);
	atomic_init(&ctx.next, 0);
	run_threads(&ctx, k, tcp_client_thread, &st);

	printf("{\"conns\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64, o->conns, st.ok,
	       st.failed);
	err_print(st.err);
	printf(",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"retrans\":%" PRIu64
	       ",\"bytes_retrans\":%" PRIu64 ",\"tcpi_bytes_sent\":%" PRIu64
	       ",\"rtt_us_sum\":%" PRIu64 ",\"connect_ns_sum\":%" PRIu64 ",\"mismatch\":%" PRIu64
	       ",\"tcpi_bytes_acked\":%" PRIu64 ",\"tcpi_bytes_received\":%" PRIu64
	       ",\"min_rtt_us_sum\":%" PRIu64 "}\n",
	       st.bytes_sent, st.bytes_received, st.retrans, st.bytes_retrans, st.tcpi_bytes_sent,
	       st.rtt_us_sum, st.connect_ns_sum, st.mismatch, st.tcpi_bytes_acked,
	       st.tcpi_bytes_received, st.min_rtt_us_sum);
	fflush(stdout);
	return 0;
}

static int cmd_storm(const struct opts *o)
{
	struct client_ctx ctx = { .o = o };
	struct tcp_stats st;
	uint64_t t0, elapsed, attempted;
	uint64_t threads = o->threads;

	target_parse(o->addr, o->port, &ctx.t);
	atomic_init(&ctx.next, 0);
	if (o->conns_set && threads > o->conns)
		threads = o->conns;
	t0 = now_ns();
	if (o->duration_set) {
		ctx.end_ns = t0 + o->duration_ms * 1000000ull;
		if (ctx.end_ns > g_deadline_ns)
			die_usage("%s", "--duration-ms must end before --deadline-ms");
	}
	run_threads(&ctx, threads, storm_thread, &st);
	elapsed = now_ns() - t0;
	attempted = st.ok + st.failed;

	printf("{\"conns\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64, attempted, st.ok,
	       st.failed);
	err_print(st.err);
	printf(",\"elapsed_ns\":%" PRIu64 ",\"rate\":%.1f,\"threads\":%" PRIu64
	       ",\"connect_ns_sum\":%" PRIu64 "}\n",
	       elapsed, elapsed ? (double)st.ok * 1e9 / (double)elapsed : 0.0, threads,
	       st.connect_ns_sum);
	fflush(stdout);
	return 0;
}

/* ==== tcp-hold ==== */

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
			die_setup("shutdown on held connection %" PRIu64 ": %s", i,
				  strerror(errno));
		pfds[i].fd = fd; /* polled until EOF */
		pfds[i].events = POLLIN;
		open++;
	}
	while (open > 0) {
		int r = poll(pfds, n, remaining_ms("waiting for the peers to close"));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die_setup("poll: %s", strerror(errno));
		if (r == 0)
			die_deadline("waiting for the peers to close");
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

static int cmd_tcp_hold(const struct opts *o)
{
	struct target t;
	struct pollfd *pfds;
	uint64_t i, pending = 0, failed = 0;
	uint64_t err[ERR_SLOTS] = { 0 };

	target_parse(o->addr, o->port, &t);
	pfds = calloc(o->conns, sizeof(*pfds));
	if (!pfds)
		die_setup("out of memory");
	for (i = 0; i < o->conns; i++) {
		int fd = socket(t.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct target ti;

		if (fd < 0)
			die_setup("socket %" PRIu64 ": %s", i, strerror(errno));
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

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_setup("poll: %s", strerror(errno));
		if (n == 0)
			die_deadline("connecting held connections");
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
			die_setup("writing on held connection %" PRIu64 ": %s", i, strerror(errno));
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

/* ==== udp-server ==== */

static int cmd_udp_server(const struct opts *o)
{
	static unsigned char buf[UDP_MAX_SIZE + 1];
	struct pollfd p[2];
	uint64_t datagrams = 0, bytes = 0, errors = 0;
	int sfd = stop_signal_fd();
	int fd = bind_socket(o, SOCK_DGRAM);

	printf("{\"listening\":%u}\n", sock_local_port(fd));
	fflush(stdout);

	p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		int n = poll(p, 2, remaining_ms("serving udp"));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_setup("poll: %s", strerror(errno));
		if (n == 0)
			die_deadline("serving udp");
		if (p[1].revents)
			break;
		/* Drain what is queued, a bounded batch per wakeup. */
		for (int k = 0; k < 1024; k++) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t r =
				recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

			if (r < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					errors++;
				break;
			}
			datagrams++;
			bytes += (uint64_t)r;
			if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, flen) < 0)
				errors++;
		}
	}
	printf("{\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
	       datagrams, bytes, errors);
	fflush(stdout);
	return 0;
}

/* ==== udp-client ==== */

/* Wait up to UDP_ECHO_TIMEOUT_MS (and never past the deadline) for the echo
 * carrying seq; late echoes of earlier datagrams are skipped. Returns its
 * length, or -1 on timeout or error (errno set; ETIMEDOUT for a timeout). */
static ssize_t udp_wait_echo(int fd, uint32_t seq, size_t size, unsigned char *buf)
{
	uint64_t until = now_ns() + UDP_ECHO_TIMEOUT_MS * 1000000ull;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ns();
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

static int cmd_udp_client(const struct opts *o)
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
		die_setup("out of memory");
	memcpy(out, g_pattern, o->size);
	/* All sockets exist at once, so every flow has its own source port. */
	for (f = 0; f < o->flows; f++) {
		fds[f] = socket(t.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[f] < 0)
			die_setup("socket %" PRIu64 ": %s", f, strerror(errno));
		if (o->connected && connect(fds[f], (struct sockaddr *)&t.ss, t.len))
			die_setup("connect: %s", strerror(errno));
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

/* ==== main ==== */

/* Hundreds of concurrent connections need more than the usual 1024 fds. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	enum cmd cmd;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	cmd = parse_cmd(argv[1]);
	parse_opts(cmd, argc - 1, argv + 1, &o);

	g_deadline_ms = o.deadline_ms;
	g_deadline_ns = now_ns() + o.deadline_ms * 1000000ull;
	for (i = 0; i < sizeof(g_pattern); i++)
		g_pattern[i] = (unsigned char)('a' + i % 26);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	switch (cmd) {
	case CMD_TCP_SERVER:
		return cmd_tcp_server(&o);
	case CMD_TCP_CLIENT:
		return cmd_tcp_client(&o);
	case CMD_TCP_HOLD:
		return cmd_tcp_hold(&o);
	case CMD_UDP_SERVER:
		return cmd_udp_server(&o);
	case CMD_UDP_CLIENT:
		return cmd_udp_client(&o);
	case CMD_STORM:
		return cmd_storm(&o);
	}
	return EXIT_USAGE;
}
