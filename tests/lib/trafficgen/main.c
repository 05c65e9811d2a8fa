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
 *   tcp-steps   --connect ADDR --port P --conns N [--factor K]
 *   prefork-server --bind ADDR --port P [--workers W] [--factor K]
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
 * tcp-steps reads "send S" lines on stdin (S bytes out on each connection,
 * S * K back from a prefork-server --factor K), printing each step's
 * counts, until "close"; prefork-server lets W children accept() one
 * connection each per "accept N" line (tcp_steps.c, prefork.c).
 *
 * --port-span M (tcp-client, tcp-hold) spreads the connections over the M
 * ports P .. P+M-1: connection i goes to port P + i mod M (many distinct
 * destinations, e.g. refused connects for the label-cardinality test).
 *
 * All sockets are non-blocking; every wait is a poll()/epoll_wait() whose
 * timeout is what is left until the deadline.
 *
 * This file parses the command line and dispatches; each subcommand is a
 * file of its own (trafficgen.h says which).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "trafficgen.h"

/* ==== Options ==== */

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
	OPT_FACTOR,
	OPT_WORKERS,
	OPT_HELP,
};

/* Which subcommands accept each option (indexed by enum opt_id). */
static const unsigned int opt_cmds[] = {
	[OPT_BIND] = CMD_TCP_SERVER | CMD_UDP_SERVER | CMD_PREFORK,
	[OPT_CONNECT] = CMD_TCP_CLIENT | CMD_TCP_HOLD | CMD_UDP_CLIENT | CMD_STORM | CMD_TCP_STEPS,
	[OPT_PORT] = CMD_ALL,
	[OPT_REPLY] = CMD_TCP_SERVER,
	[OPT_RST] = CMD_TCP_SERVER,
	[OPT_ECHO4] = CMD_TCP_SERVER,
	[OPT_MAX_CONNS] = CMD_TCP_SERVER,
	[OPT_CONNS] = CMD_TCP_CLIENT | CMD_TCP_HOLD | CMD_STORM | CMD_TCP_STEPS,
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
	[OPT_FACTOR] = CMD_TCP_STEPS | CMD_PREFORK,
	[OPT_WORKERS] = CMD_PREFORK,
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
	{ "factor", required_argument, NULL, OPT_FACTOR },
	{ "workers", required_argument, NULL, OPT_WORKERS },
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
	      "  storm      --connect ADDR --port P --threads T (--duration-ms MS | --conns N)\n"
	      "  tcp-steps  --connect ADDR --port P --conns N [--factor K]   (stdin: send S, close)\n"
	      "  prefork-server --bind ADDR --port P [--workers W] [--factor K]\n"
	      "             (stdin: accept N, stop)\n",
	      f);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("trafficgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(trafficgen --help for usage)\n", stderr);
	exit(EXIT_USAGE);
}

/* Parse a decimal integer in [min, max]; anything else is a usage error. */
static uint64_t parse_u64(const char *name, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (s[0] < '0' || s[0] > '9')
		die_usage("--%s: not a number", name);
	if (tool_parse_u64(s, min, max, &v)) {
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
		{ "tcp-steps", CMD_TCP_STEPS },	  { "prefork-server", CMD_PREFORK },
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
	o->factor = 1;
	o->workers = 1;

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
		case OPT_FACTOR:
			o->factor = parse_u64(name, optarg, 1, 1000);
			break;
		case OPT_WORKERS:
			o->workers = parse_u64(name, optarg, 1, 256);
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
			  (cmd & (CMD_TCP_SERVER | CMD_UDP_SERVER | CMD_PREFORK)) ? "--bind" :
										    "--connect");
	if (!o->port_set)
		die_usage("%s is required", "--port");
	if (!(cmd & (CMD_TCP_SERVER | CMD_UDP_SERVER | CMD_PREFORK)) && o->port == 0)
		die_usage("%s: port 0 is not a destination", "--port");
	if ((cmd & (CMD_TCP_CLIENT | CMD_TCP_HOLD | CMD_TCP_STEPS)) && !o->conns_set)
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
	g_deadline_ns = tool_deadline_in_ms(o.deadline_ms);
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
	case CMD_TCP_STEPS:
		return cmd_tcp_steps(&o);
	case CMD_PREFORK:
		return cmd_prefork(&o);
	}
	return EXIT_USAGE;
}
