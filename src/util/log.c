// SPDX-License-Identifier: MIT
/*
 * Logging: every message becomes exactly one line on stderr, prefixed with a
 * UTC timestamp (milliseconds) and the level. A line is assembled in memory and
 * handed to the kernel with one write(), so lines from different threads never
 * interleave. Embedded newlines are turned into spaces: one event, one line,
 * which is what log collectors (journald, kubectl logs) expect.
 *
 * libbpf prints through its own callback; log_setup_libbpf() routes it here one
 * level lower, because libbpf's "warnings" are often expected probing failures.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "util/log.h"

/* Most lines fit here; longer ones (a verifier log) go to the heap. */
#define LOG_STACK_BUF 1024

static int log_threshold = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	int l = (int)level;

	if (l < LOG_LEVEL_ERROR)
		l = LOG_LEVEL_ERROR;
	if (l > LOG_LEVEL_DEBUG)
		l = LOG_LEVEL_DEBUG;
	__atomic_store_n(&log_threshold, l, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return (enum log_level)__atomic_load_n(&log_threshold, __ATOMIC_RELAXED);
}

int log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	if (!s || !out)
		return -EINVAL;
	if (!strcmp(s, "warning")) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (!strcmp(s, log_level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((int)level < LOG_LEVEL_ERROR || (int)level > LOG_LEVEL_DEBUG)
		return "unknown";
	return log_level_names[level];
}

/* "2026-11-23T13:12:17.123Z level=warn "; returns its length. */
static size_t log_prefix(char *buf, size_t size, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (clock_gettime(CLOCK_REALTIME, &ts) || !gmtime_r(&ts.tv_sec, &tm)) {
		memset(&tm, 0, sizeof(tm));
		ts.tv_nsec = 0;
	}
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(buf + n, size - n, ".%03ldZ level=%s ", ts.tv_nsec / 1000000L,
		     log_level_name(level));
	if (r < 0)
		return n;
	n += (size_t)r;
	return n < size ? n : size - 1;
}

static void log_write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(STDERR_FILENO, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		buf += w;
		len -= (size_t)w;
	}
}

/* Drop trailing line breaks, turn inner ones into spaces; returns the new length. */
static size_t log_one_line(char *s, size_t len)
{
	size_t i;

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	for (i = 0; i < len; i++) {
		if (s[i] == '\n' || s[i] == '\r')
			s[i] = ' ';
	}
	return len;
}

/*
 * Format prefix + message into one buffer (stack, or heap when long) and write
 * it. On allocation failure the line is truncated rather than lost.
 */
static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char stack[LOG_STACK_BUF];
	char *buf = stack;
	size_t size = sizeof(stack);
	size_t plen, mlen;
	va_list ap2;
	int n;

	plen = log_prefix(stack, sizeof(stack), level);
	va_copy(ap2, ap);
	n = vsnprintf(stack + plen, size - plen, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		n = snprintf(stack + plen, size - plen, "(unprintable log message)");
		if (n < 0)
			n = 0;
	}
	/* +2: the newline we append and the terminating NUL */
	if (plen + (size_t)n + 2 > size) {
		char *heap = malloc(plen + (size_t)n + 2);

		if (heap) {
			memcpy(heap, stack, plen);
			va_copy(ap2, ap);
			n = vsnprintf(heap + plen, (size_t)n + 1, fmt, ap2);
			va_end(ap2);
			if (n < 0)
				n = 0;
			buf = heap;
			size = plen + (size_t)n + 2;
		} else {
			n = (int)(size - plen - 2);
		}
	}
	mlen = (size_t)n < size - plen - 1 ? (size_t)n : size - plen - 2;
	mlen = log_one_line(buf + plen, mlen);
	buf[plen + mlen] = '\n';
	log_write_all(buf, plen + mlen + 1);
	if (buf != stack)
		free(buf);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved_errno = errno; /* callers log, then look at errno */
	va_list ap;

	if ((int)level > (int)log_get_level())
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/*
 * libbpf calls this once per message, usually ending in '\n' and sometimes
 * spanning lines (the verifier log). Its messages already start with "libbpf: ".
 */
static int log_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	enum log_level ours;
	int saved_errno = errno;

	switch (level) {
	case LIBBPF_WARN:
		ours = LOG_LEVEL_INFO;
		break;
	case LIBBPF_INFO:
		ours = LOG_LEVEL_DEBUG;
		break;
	default:
		ours = LOG_LEVEL_DEBUG;
		break;
	}
	if ((int)ours > (int)log_get_level())
		return 0;
	log_vmsg(ours, fmt, args);
	errno = saved_errno;
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(log_libbpf_print);
}
