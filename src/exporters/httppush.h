/* SPDX-License-Identifier: MIT */
/*
 * A non-blocking HTTP POST client for push exporters, driven by the main
 * loop: libcurl's multi interface in socket mode, curl's sockets in an epoll
 * fd of its own (the fd the loop watches) and curl's timer as a deadline.
 * One request at a time. It knows HTTP and the retry table (which answers are
 * worth another try, Retry-After, the backoff); what to send and when to
 * retry is the exporter's business. Used by remote_write.c; otlp.c has the
 * same machinery inline and may move onto this later.
 */
#ifndef GESPANN_EXPORTERS_HTTPPUSH_H
#define GESPANN_EXPORTERS_HTTPPUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTPPUSH_BODY_MAX 200 /* response bytes kept for a warning */

enum httppush_outcome {
	HTTPPUSH_DELIVERED = 0,
	HTTPPUSH_RETRY = 1,  /* 429, 5xx, connection failures */
	HTTPPUSH_FAILED = 2, /* anything else: not worth another try */
};

struct httppush_result {
	enum httppush_outcome outcome;
	long status;			  /* the HTTP status; 0 when no answer came */
	int64_t retry_after_ns;		  /* what Retry-After asked for, or -1 */
	char what[320];			  /* "HTTP 503" or curl's message */
	char body[HTTPPUSH_BODY_MAX + 1]; /* the answer's first bytes, printable */
};

struct httppush;

/*
 * A client POSTing to url (http:// or https://, checked: -EINVAL logged
 * with name) with these extra header lines ("Name: value"), each request
 * limited to timeout_ns. Returns NULL after logging why.
 */
struct httppush *httppush_new(const char *name, const char *url, uint64_t timeout_ns,
			      const char *const *headers, size_t n_headers);
void httppush_free(struct httppush *h); /* accepts NULL; aborts a running request */

/* Basic auth (user NULL: none) or a bearer token (NULL: none) for the next
 * requests; the strings are copied. Returns 0 or -ENOMEM. */
int httppush_set_basic(struct httppush *h, const char *user, const char *password);
int httppush_set_bearer(struct httppush *h, const char *token);

/* Verify https:// servers against the PEM certificates in path (NULL: the
 * system's store). Returns 0 or -EINVAL. */
int httppush_set_ca(struct httppush *h, const char *path);

/* The fd for the main epoll set, and curl's deadline (CLOCK_MONOTONIC ns)
 * or -1: call httppush_drive() when either is due. */
int httppush_fd(const struct httppush *h);
int64_t httppush_deadline_ns(const struct httppush *h);
bool httppush_busy(const struct httppush *h);

/* Start POSTing body (len bytes, the caller's, unchanged until the request
 * ends). Returns 0, -EBUSY or -EIO. */
int httppush_post(struct httppush *h, const void *body, size_t len);

/* Hand ready sockets and an expired timer to curl. Returns true when the
 * request ended, with *res filled. Never blocks. */
bool httppush_drive(struct httppush *h, struct httppush_result *res);

/* The retry table: curl's result code, then the HTTP status. */
enum httppush_outcome httppush_classify(int curl_code, long status);

/* Retry-After (delta-seconds or an HTTP date, now in Unix seconds) in ns,
 * 1 s to 24 h; -1 when absent or unreadable. */
int64_t httppush_retry_after_ns(const char *v, time_t now);

/* Backoff before retry number attempt (from 1): 1 s doubling to 30 s, plus
 * up to half again of jitter from rnd (uniform 32 bits), within 1-30 s. */
uint64_t httppush_backoff_ns(unsigned int attempt, uint32_t rnd);

#endif
