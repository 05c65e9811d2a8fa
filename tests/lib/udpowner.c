// SPDX-License-Identifier: MIT
/*
 * udpowner: UDP and DNS traffic from processes with a known pid and name,
 * for the UDP owner and DNS capture scenario (tests/e2e/t_udp_owner.sh). Each
 * command names itself with prctl(PR_SET_NAME) first, prints its pid (and
 * local port) as one JSON line before any packet leaves, then its totals.
 *
 *   recv       --bind ADDR --port P --name N --count C
 *              receive-only server: C datagrams, never sends
 *   send       --connect ADDR --port P --name N --count C --size S [--replies]
 *              C datagrams of S bytes from one unconnected socket; with
 *              --replies waits for each echo; exits right after the last
 *   dns-server --bind ADDR --port P --count C [--tcp]
 *              answers C DNS queries (UDP, or TCP with the 2-byte length
 *              prefix, one query per connection) with one A record
 *   dns-query  --connect ADDR --port P --name N --count C [--tcp]
 *              C queries for udpo.gespann.test A (ids 0x1000 + i), each
 *              answered before the next; over TCP one connection per query
 *   all:       [--deadline-ms MS] (default 10000)
 *
 * Bounded in count and time: past the deadline it says so and exits 3. Exit 2
 * is a usage error, 1 a setup error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
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

#define TOOL_NAME "udpowner"
#include "lib/tool.h"

#define DNS_QNAME "\4udpo\7gespann\4test" /* 19 bytes with the root label */
#define DNS_QLEN  (12 + 19 + 4)		  /* header, question */
#define DNS_RLEN  (DNS_QLEN + 16)	  /* plus one A record */
#define MAX_SIZE  65507

struct opts {
	const char *cmd, *addr, *name;
	long port, count, size, deadline_ms;
	bool replies, tcp;
};

static uint64_t g_deadline_ns;

/* Block (poll) until fd is readable or the deadline passes. */
static void wait_readable(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int n = poll(&p, 1, tool_remaining_ms(g_deadline_ns, what));

		if (n > 0)
			return;
		if (n < 0 && errno != EINTR)
			tool_die(EXIT_SETUP, "poll: %s", strerror(errno));
	}
}

static long parse_num(const char *s, const char *name, long min, long max)
{
	uint64_t v;

	if (tool_parse_u64(s, (uint64_t)min, (uint64_t)max, &v))
		tool_die(EXIT_USAGE, "--%s: expected a number in [%ld, %ld], got '%s'", name, min,
			 max, s);
	return (long)v;
}

static socklen_t make_addr(const char *addr, long port, struct sockaddr_storage *ss)
{
	socklen_t len;

	if (tool_sockaddr(addr, (uint16_t)port, ss, &len))
		tool_die(EXIT_USAGE, "'%s' is not an IPv4 or IPv6 address", addr);
	return len;
}

static unsigned int local_port(int fd)
{
	uint16_t port = 0;
	int err = tool_local_port(fd, &port);

	if (err)
		tool_die(EXIT_SETUP, "getsockname: %s", strerror(-err));
	return port;
}

static int open_socket(const struct opts *o, int type, bool bind_to, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	int fd, one = 1;

	*len = make_addr(o->addr, o->port, ss);
	fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		tool_die(EXIT_SETUP, "socket: %s", strerror(errno));
	if (bind_to) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)ss, *len))
			tool_die(EXIT_SETUP, "bind %s port %ld: %s", o->addr, o->port,
				 strerror(errno));
	}
	return fd;
}

/* Read exactly n bytes from a stream socket before the deadline. */
static void read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		wait_readable(fd, "reading a TCP DNS message");
		r = read(fd, buf + got, n - got);
		if (r == 0)
			tool_die(EXIT_SETUP, "peer closed after %zu of %zu bytes", got, n);
		if (r < 0 && errno != EINTR)
			tool_die(EXIT_SETUP, "read: %s", strerror(errno));
		if (r > 0)
			got += (size_t)r;
	}
}

/* ==== recv / send ==== */

static int cmd_recv(const struct opts *o)
{
	static unsigned char buf[MAX_SIZE];
	struct sockaddr_storage ss;
	socklen_t len;
	long n = 0;
	int fd = open_socket(o, SOCK_DGRAM, true, &ss, &len);

	printf("{\"pid\":%d,\"port\":%u}\n", (int)getpid(), local_port(fd));
	fflush(stdout);
	while (n < o->count) {
		wait_readable(fd, "receiving");
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			n++;
	}
	printf("{\"received\":%ld}\n", n);
	return 0;
}

static int cmd_send(const struct opts *o)
{
	static unsigned char buf[MAX_SIZE];
	struct sockaddr_storage to, any;
	socklen_t len;
	long sent = 0, replies = 0;
	int fd = open_socket(o, SOCK_DGRAM, false, &to, &len);

	/* Bind first: the local port is printed before anything is sent. */
	memset(&any, 0, sizeof(any));
	any.ss_family = to.ss_family;
	if (bind(fd, (struct sockaddr *)&any, len))
		tool_die(EXIT_SETUP, "bind: %s", strerror(errno));
	printf("{\"pid\":%d,\"lport\":%u}\n", (int)getpid(), local_port(fd));
	fflush(stdout);
	memset(buf, 'u', (size_t)o->size);
	for (long i = 0; i < o->count; i++) {
		if (sendto(fd, buf, (size_t)o->size, 0, (struct sockaddr *)&to, len) != o->size)
			tool_die(EXIT_SETUP, "sendto: %s", strerror(errno));
		sent++;
		if (o->replies) {
			wait_readable(fd, "waiting for an echo");
			if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				replies++;
		}
	}
	printf("{\"sent\":%ld,\"replies\":%ld}\n", sent, replies);
	return 0;
}

/* ==== DNS ==== */

static size_t dns_query(unsigned char *m, unsigned int id)
{
	static const unsigned char hdr[12] = { 0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };

	memcpy(m, hdr, sizeof(hdr));
	m[0] = (unsigned char)(id >> 8);
	m[1] = (unsigned char)id;
	memcpy(m + 12, DNS_QNAME, 19);
	memcpy(m + 31, "\0\1\0\1", 4); /* A IN */
	return DNS_QLEN;
}

/* The answer to a query of exactly our shape (anything else: 0). */
static size_t dns_answer(const unsigned char *q, size_t qlen, unsigned char *r)
{
	static const unsigned char rr[16] = { 0xc0, 12, 0, 1, 0,   1,  0, 0,
					      0,    60, 0, 4, 198, 18, 0, 99 };

	if (qlen != DNS_QLEN || memcmp(q + 12, DNS_QNAME, 19))
		return 0;
	memcpy(r, q, qlen);
	r[2] = 0x81; /* QR, RD */
	r[3] = 0x80; /* RA, NOERROR */
	r[7] = 1;    /* ANCOUNT */
	memcpy(r + qlen, rr, sizeof(rr));
	return DNS_RLEN;
}

static int cmd_dns_server(const struct opts *o)
{
	unsigned char q[512 + 2], r[DNS_RLEN + 2];
	struct sockaddr_storage ss;
	socklen_t len;
	long answered = 0;
	int fd = open_socket(o, o->tcp ? SOCK_STREAM : SOCK_DGRAM, true, &ss, &len);

	if (o->tcp && listen(fd, 16))
		tool_die(EXIT_SETUP, "listen: %s", strerror(errno));
	printf("{\"pid\":%d,\"listening\":%u}\n", (int)getpid(), local_port(fd));
	fflush(stdout);
	while (answered < o->count) {
		wait_readable(fd, "serving DNS");
		if (o->tcp) {
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			size_t qlen, rlen;

			if (c < 0)
				continue;
			read_full(c, q, 2);
			qlen = (size_t)q[0] << 8 | q[1];
			if (qlen > 512)
				tool_die(EXIT_SETUP, "TCP DNS query of %zu bytes", qlen);
			read_full(c, q + 2, qlen);
			rlen = dns_answer(q + 2, qlen, r + 2);
			if (!rlen)
				tool_die(EXIT_SETUP, "unexpected TCP DNS query of %zu bytes", qlen);
			r[0] = (unsigned char)(rlen >> 8);
			r[1] = (unsigned char)rlen;
			/* One write: one segment. */
			if (write(c, r, rlen + 2) != (ssize_t)(rlen + 2))
				tool_die(EXIT_SETUP, "write: %s", strerror(errno));
			/* Wait for the client's FIN so our close sends no data. */
			wait_readable(c, "waiting for the client to close");
			close(c);
			answered++;
		} else {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);
			ssize_t n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &flen);
			size_t rlen;

			if (n < 0)
				continue;
			rlen = dns_answer(q, (size_t)n, r);
			if (!rlen)
				continue;
			if (sendto(fd, r, rlen, 0, (struct sockaddr *)&from, flen) != (ssize_t)rlen)
				tool_die(EXIT_SETUP, "sendto: %s", strerror(errno));
			answered++;
		}
	}
	printf("{\"answered\":%ld}\n", answered);
	return 0;
}

static int cmd_dns_query(const struct opts *o)
{
	unsigned char q[DNS_QLEN + 2], r[DNS_RLEN + 2];
	struct sockaddr_storage to, any;
	size_t pre = o->tcp ? 2 : 0; /* TCP: 2-byte length prefix */
	socklen_t len;
	long answered = 0;
	int fd = -1;

	for (long i = 0; i < o->count; i++) {
		unsigned int id = 0x1000 + (unsigned int)i;

		/* UDP: one socket (one flow) for every query; TCP: a connection each. */
		if (fd < 0) {
			fd = open_socket(o, o->tcp ? SOCK_STREAM : SOCK_DGRAM, false, &to, &len);
			memset(&any, 0, sizeof(any));
			any.ss_family = to.ss_family;
			if (bind(fd, (struct sockaddr *)&any, len))
				tool_die(EXIT_SETUP, "bind: %s", strerror(errno));
			printf("{\"pid\":%d,\"lport\":%u}\n", (int)getpid(), local_port(fd));
			fflush(stdout);
			if (o->tcp && connect(fd, (struct sockaddr *)&to, len))
				tool_die(EXIT_SETUP, "connect: %s", strerror(errno));
		}
		q[0] = 0;
		q[1] = DNS_QLEN;
		dns_query(q + pre, id);
		/* One write: one segment or datagram. */
		if (sendto(fd, q, DNS_QLEN + pre, 0, o->tcp ? NULL : (struct sockaddr *)&to,
			   o->tcp ? 0 : len) != (ssize_t)(DNS_QLEN + pre))
			tool_die(EXIT_SETUP, "send: %s", strerror(errno));
		if (o->tcp) {
			read_full(fd, r, DNS_RLEN + 2);
		} else {
			wait_readable(fd, "waiting for a DNS answer");
			if (recv(fd, r, sizeof(r), MSG_DONTWAIT) != DNS_RLEN)
				continue;
		}
		if (r[pre] == q[pre] && r[pre + 1] == q[pre + 1])
			answered++;
		if (o->tcp) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	printf("{\"answered\":%ld,\"query_len\":%zu,\"answer_len\":%zu}\n", answered,
	       DNS_QLEN + pre, DNS_RLEN + pre);
	return 0;
}

/* ==== main ==== */

static void usage(FILE *f)
{
	fputs("usage: udpowner COMMAND [OPTIONS]   (all: [--deadline-ms MS], default 10000)\n"
	      "  recv       --bind ADDR --port P --name N --count C\n"
	      "  send       --connect ADDR --port P --name N --count C --size S [--replies]\n"
	      "  dns-server --bind ADDR --port P --count C [--tcp]\n"
	      "  dns-query  --connect ADDR --port P --name N --count C [--tcp]\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "connect", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'N' },
		{ "size", required_argument, NULL, 's' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "replies", no_argument, NULL, 'r' },
		{ "tcp", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .port = -1, .count = -1, .size = 100, .deadline_ms = 10000 };
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	o.cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'c':
			o.addr = optarg;
			break;
		case 'p':
			o.port = parse_num(optarg, "port", 1, 65535);
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'N':
			o.count = parse_num(optarg, "count", 1, 100000);
			break;
		case 's':
			o.size = parse_num(optarg, "size", 1, MAX_SIZE);
			break;
		case 'd':
			o.deadline_ms = parse_num(optarg, "deadline-ms", 1, 3600000);
			break;
		case 'r':
			o.replies = true;
			break;
		case 't':
			o.tcp = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		tool_die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	if (!o.addr || o.port < 0 || o.count < 0)
		tool_die(EXIT_USAGE, "--bind/--connect, --port and --count are required");
	if (o.name && prctl(PR_SET_NAME, o.name, 0, 0, 0))
		tool_die(EXIT_SETUP, "prctl(PR_SET_NAME): %s", strerror(errno));
	g_deadline_ns = tool_deadline_in_ms((uint64_t)o.deadline_ms);
	if (!strcmp(o.cmd, "recv"))
		return cmd_recv(&o);
	if (!strcmp(o.cmd, "send"))
		return cmd_send(&o);
	if (!strcmp(o.cmd, "dns-server"))
		return cmd_dns_server(&o);
	if (!strcmp(o.cmd, "dns-query"))
		return cmd_dns_query(&o);
	tool_die(EXIT_USAGE, "unknown command '%s'", o.cmd);
}
