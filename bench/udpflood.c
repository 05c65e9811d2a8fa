// SPDX-License-Identifier: MIT
/*
 * udpflood: a timed UDP datagram flood from many source ports, for the UDP
 * benchmark (bench/run.sh). N sockets, each bound to its own ephemeral port,
 * send M datagrams of B bytes round robin (unconnected sendto(), one syscall
 * per datagram) to ADDR:P; a receiver thread in the same process owns ADDR:P
 * and drains it, so every datagram meets a socket (and the agent's ingress
 * program) on loopback.
 *
 *   udpflood --connect ADDR --port P --sockets N --datagrams M [--size B]
 *            [--deadline-ms MS]   (default 60000)
 *   udpflood --connect ADDR --port P --sockets N --duration-ms D [--size B] ...
 *
 * With --duration-ms it sends for D ms instead of a fixed count (the mixed
 * benchmark runs it next to other generators for the same time).
 *
 * Prints one JSON line: what was sent (the ground truth the agent's counters
 * are compared with), what the receiver read, the namespace's UDP
 * RcvbufErrors delta (datagrams that passed the socket filter, so were seen
 * on ingress, then dropped for a full receive buffer), the sender's elapsed
 * time and rate. Exit 0, 1 on a setup error, 2 on a usage error, 3 at the
 * deadline.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define TOOL_NAME "udpflood"
#include "lib/tool.h"

#define RECV_BATCH    64
#define RECV_BUF      (64 << 20) /* receive buffer: keep drops at zero */
#define DRAIN_IDLE_MS 200	 /* receiver stops after this much silence once sending ended */

static uint64_t g_deadline_ns;
static atomic_bool g_sending_done;
static uint64_t g_received, g_bytes_received;

/* Udp RcvbufErrors of the current network namespace, 0 if unreadable. */
static uint64_t snmp_udp_rcvbuf_errors(void)
{
	char hdr[1024], val[1024];
	FILE *f = fopen("/proc/net/snmp", "re");
	uint64_t result = 0;

	if (!f)
		return 0;
	while (fgets(hdr, sizeof(hdr), f)) {
		char *hs, *vs, *h, *v;
		int col = 0;

		if (strncmp(hdr, "Udp:", 4) || !fgets(val, sizeof(val), f))
			continue;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while (h && v) {
			if (col > 0 && !strcmp(h, "RcvbufErrors")) {
				result = strtoull(v, NULL, 10);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
			col++;
		}
		break;
	}
	fclose(f);
	return result;
}

static void *receiver(void *arg)
{
	int fd = *(int *)arg;
	static char bufs[RECV_BATCH][2048];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iovs[RECV_BATCH];
	uint64_t idle_since = 0;

	for (int i = 0; i < RECV_BATCH; i++) {
		iovs[i].iov_base = bufs[i];
		iovs[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);

		if (n > 0) {
			for (int i = 0; i < n; i++)
				g_bytes_received += msgs[i].msg_len;
			g_received += (uint64_t)n;
			idle_since = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			tool_die(EXIT_SETUP, "recvmmsg: %s", strerror(errno));
		if (atomic_load(&g_sending_done)) {
			uint64_t now = tool_now_ns();

			if (!idle_since)
				idle_since = now;
			else if (now - idle_since >= DRAIN_IDLE_MS * 1000000ULL)
				return NULL;
		}
		poll(&p, 1, 10);
	}
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "sockets", required_argument, NULL, 'n' },
		{ "datagrams", required_argument, NULL, 'm' },
		{ "duration-ms", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addr = NULL;
	uint64_t port = 0, nsock = 0, count = 0, size = 64, deadline_ms = 60000, duration_ms = 0;
	uint64_t end_ns = 0;
	uint64_t sent = 0, errors = 0, t0, elapsed, rcvbuf0, rcvbuf1;
	struct sockaddr_in dst, src;
	socklen_t slen = sizeof(src);
	bool hard;
	pthread_t rx;
	int *fds, rfd, big = RECV_BUF, c, err;
	char payload[65507];

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			addr = optarg;
			break;
		case 'p':
			port = tool_opt_u64("port", optarg, 1, 65535);
			break;
		case 'n':
			nsock = tool_opt_u64("sockets", optarg, 1, 60000);
			break;
		case 'm':
			count = tool_opt_u64("datagrams", optarg, 1, UINT32_MAX);
			break;
		case 't':
			duration_ms = tool_opt_u64("duration-ms", optarg, 1, UINT32_MAX);
			break;
		case 's':
			size = tool_opt_u64("size", optarg, 0, sizeof(payload));
			break;
		case 'd':
			deadline_ms = tool_opt_u64("deadline-ms", optarg, 1, UINT32_MAX);
			break;
		case 'h':
			puts("usage: udpflood --connect ADDR --port P --sockets N "
			     "{--datagrams M | --duration-ms D} [--size B] [--deadline-ms MS]");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !addr || !port || !nsock || !count == !duration_ms)
		tool_die(EXIT_USAGE, "--connect, --port, --sockets and one of --datagrams and "
				     "--duration-ms are required");
	if (duration_ms && duration_ms >= deadline_ms)
		tool_die(EXIT_USAGE, "%s", "--duration-ms must end before --deadline-ms");
	g_deadline_ns = tool_deadline_in_ms(deadline_ms);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		tool_die(EXIT_USAGE, "'%s' is not an IPv4 address", addr);
	memset(payload, 'u', sizeof(payload));

	err = tool_raise_nofile(nsock + 64, &hard);
	if (err)
		tool_die(EXIT_SETUP, "cannot raise RLIMIT_NOFILE: %s", strerror(-err));

	rfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rfd < 0)
		tool_die(EXIT_SETUP, "socket: %s", strerror(errno));
	if (setsockopt(rfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(rfd, (struct sockaddr *)&dst, sizeof(dst)))
		tool_die(EXIT_SETUP, "bind %s:%" PRIu64 ": %s", addr, port, strerror(errno));

	fds = calloc(nsock, sizeof(*fds));
	if (!fds)
		tool_die(EXIT_SETUP, "out of memory");
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr = dst.sin_addr;
	for (uint64_t i = 0; i < nsock; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			tool_die(EXIT_SETUP, "socket %" PRIu64 ": %s", i, strerror(errno));
		if (bind(fds[i], (struct sockaddr *)&src, sizeof(src)))
			tool_die(EXIT_SETUP, "bind source %" PRIu64 ": %s", i, strerror(errno));
	}
	if (getsockname(fds[0], (struct sockaddr *)&src, &slen))
		tool_die(EXIT_SETUP, "getsockname: %s", strerror(errno));

	rcvbuf0 = snmp_udp_rcvbuf_errors();
	if (pthread_create(&rx, NULL, receiver, &rfd))
		tool_die(EXIT_SETUP, "pthread_create failed");
	t0 = tool_now_ns();
	if (duration_ms)
		end_ns = t0 + duration_ms * 1000000ULL;
	for (uint64_t i = 0; !count || i < count; i++) {
		if (end_ns && (i & 255) == 0 && tool_now_ns() >= end_ns)
			break;
		ssize_t w = sendto(fds[i % nsock], payload, size, 0, (struct sockaddr *)&dst,
				   sizeof(dst));

		if (w == (ssize_t)size)
			sent++;
		else
			errors++;
		if ((i & 4095) == 0 && tool_past_deadline(g_deadline_ns))
			tool_die(EXIT_DEADLINE, "deadline passed after %" PRIu64 " datagrams", i);
	}
	elapsed = tool_now_ns() - t0;
	atomic_store(&g_sending_done, true);
	pthread_join(rx, NULL);
	rcvbuf1 = snmp_udp_rcvbuf_errors();

	printf("{\"sockets\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
	       ",\"send_errors\":%" PRIu64 ",\"received\":%" PRIu64 ",\"bytes_received\":%" PRIu64
	       ",\"rcvbuf_errors\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64 ",\"rate\":%.1f}\n",
	       nsock, sent, sent * size, errors, g_received, g_bytes_received, rcvbuf1 - rcvbuf0,
	       elapsed, elapsed ? (double)sent * 1e9 / (double)elapsed : 0.0);
	for (uint64_t i = 0; i < nsock; i++)
		close(fds[i]);
	close(rfd);
	free(fds);
	return 0;
}
