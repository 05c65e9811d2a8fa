// SPDX-License-Identifier: MIT
/*
 * trafficgen udp-server: echo every datagram back to its sender until
 * SIGTERM/SIGINT, then print the totals.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "trafficgen.h"

int cmd_udp_server(const struct opts *o)
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

		if (wait_interrupted(n, "poll", "serving udp"))
			continue;
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
