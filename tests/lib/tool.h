/* SPDX-License-Identifier: MIT */
/*
 * tool.h: what every test and bench tool (a .c file or a folder in tests/lib/,
 * a .c file in bench/) needs and used to write again: the monotonic clock, deadlines
 * in milliseconds, one-line fatal errors with the tool's name in front and
 * an exit status that says what went wrong, bounded number parsing, IP
 * literals to socket addresses, and a larger descriptor limit. Header-only,
 * static inline, so each tool stays one `cc` line with no library.
 *
 * A tool defines TOOL_NAME (its name, the prefix of every error line)
 * before it includes this header. Deadlines are absolute CLOCK_MONOTONIC
 * nanoseconds the tool keeps itself (one variable, shared by its files).
 */
#ifndef GESPANN_TESTS_LIB_TOOL_H
#define GESPANN_TESTS_LIB_TOOL_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#ifndef TOOL_NAME
#error "define TOOL_NAME (the tool's name, for its error lines) before including lib/tool.h"
#endif

/* Exit statuses every tool shares; 0 is success. */
#define EXIT_SETUP    1 /* socket, bind, memory ...: the environment failed */
#define EXIT_USAGE    2 /* the command line is wrong */
#define EXIT_DEADLINE 3 /* --deadline-ms passed before the work was done */

/* ==== Clock and deadlines ==== */

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The deadline ms milliseconds from now (absolute, tool_now_ns() time). */
static inline uint64_t tool_deadline_in_ms(uint64_t ms)
{
	return tool_now_ns() + ms * 1000000ULL;
}

/* True once the deadline has passed. */
static inline bool tool_past_deadline(uint64_t deadline_ns)
{
	return tool_now_ns() >= deadline_ns;
}

/* Milliseconds left until the deadline, rounded up (so at least 1 while any
 * time is left) and capped at INT_MAX for poll(); 0 once it has passed. */
static inline int tool_ms_left(uint64_t deadline_ns)
{
	uint64_t now = tool_now_ns(), left;

	if (now >= deadline_ns)
		return 0;
	left = (deadline_ns - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* ==== Fatal errors ==== */

/* Print "TOOL_NAME: <message>\n" on stderr and exit with code. */
static inline void __attribute__((noreturn, format(printf, 2, 0)))
tool_vdie(int code, const char *fmt, va_list ap)
{
	fputs(TOOL_NAME ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(code);
}

static inline void __attribute__((noreturn, format(printf, 2, 3)))
tool_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vdie(code, fmt, ap);
}

/* tool_die(EXIT_SETUP, ...): the environment failed. */
static inline void __attribute__((noreturn, format(printf, 1, 2)))
tool_die_setup(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_vdie(EXIT_SETUP, fmt, ap);
}

/* Milliseconds left until the deadline (at least 1), for a poll() timeout;
 * once it has passed, "TOOL_NAME: deadline passed while WHAT", exit 3. */
static inline int tool_remaining_ms(uint64_t deadline_ns, const char *what)
{
	int ms = tool_ms_left(deadline_ns);

	if (!ms)
		tool_die(EXIT_DEADLINE, "deadline passed while %s", what);
	return ms;
}

/* ==== Parsing ==== */

/* A decimal number in [min, max] into *out. Leading blanks and '+' are
 * strtoull's; a sign '-', an empty string, trailing characters or overflow
 * are not numbers. Returns 0, -EINVAL (not a number) or -ERANGE (a number
 * outside [min, max]). The caller words the error: tools differ there. */
static inline int tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The value of option --name: a number in [min, max], or "TOOL_NAME: --NAME:
 * 'S' is not a number in [MIN, MAX]" and exit 2. */
static inline uint64_t tool_opt_u64(const char *name, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (tool_parse_u64(s, min, max, &v))
		tool_die(EXIT_USAGE, "--%s: '%s' is not a number in [%" PRIu64 ", %" PRIu64 "]",
			 name, s, min, max);
	return v;
}

/* ==== Sockets ==== */

/* An IPv4 or IPv6 literal (no names: tests know their addresses) and a
 * port into *ss and *len. Returns 0, or -EINVAL when addr is neither. */
static inline int tool_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss,
				socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

/* The local port fd is bound to. Returns 0 or -errno. */
static inline int tool_local_port(int fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						 ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* Raise the soft RLIMIT_NOFILE to at least need descriptors, and the hard
 * limit with it when that is lower (which needs CAP_SYS_RESOURCE: *hard is
 * set then, so the caller can say so). Returns 0 or -errno. */
static inline int tool_raise_nofile(uint64_t need, bool *hard)
{
	struct rlimit rl;

	*hard = false;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = need;
	if (rl.rlim_max < need) {
		rl.rlim_max = need;
		*hard = true;
	}
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

#endif /* GESPANN_TESTS_LIB_TOOL_H */
