/* SPDX-License-Identifier: MIT */
/*
 * Connection guard of the /metrics endpoint: who may connect and how long a
 * connection may take to say what it wants. Caps per client address and in
 * total, with a deadline for the whole request head that bytes do not
 * extend; at a cap the connection that has waited longest without a complete
 * request head makes room for the new one, so a scraper that sends its
 * request at once is always served. The server (prometheus.c) calls these
 * from libmicrohttpd's callbacks; the guard only ever shuts a socket down
 * (libmicrohttpd still owns and closes it).
 */
#ifndef GESPANN_EXPORTERS_HTTPGUARD_H
#define GESPANN_EXPORTERS_HTTPGUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "metrics/registry.h"

/* Why a connection was refused or cut: the reason label of
 * gespann_http_connections_rejected_total. */
enum http_reject {
	HTTP_REJECT_ADDRESS, /* refused: its address at the per-address cap, none to evict */
	HTTP_REJECT_LIMIT,   /* refused: the global cap, none to evict */
	HTTP_REJECT_EVICTED, /* cut: a newer connection needed its slot */
	HTTP_REJECT_HEAD,    /* cut: request head not complete in time */
	HTTP_REJECT_READER,  /* cut: still reading a body two generations old */
	HTTP_REJECT_MAX,
};

struct http_body;

struct http_guard_conn {
	struct http_guard_conn *prev, *next;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	int64_t waiting_since_ms; /* start, or the end of the last response */
	bool answering;		  /* request head complete, response not done */
	bool cut;		  /* shut down by the guard, closing */
	bool served;		  /* answered a request before */
	struct http_body *body;	  /* a reference while it serves a body */
};

struct http_guard {
	struct http_guard_conn *head; /* oldest first */
	struct http_guard_conn *tail;
	unsigned int live; /* tracked and not cut */
	/* limits, set before use (prometheus.c's PROM_* values) */
	unsigned int per_address;
	unsigned int total;
	int64_t head_ms;      /* for the first request head */
	int64_t keepalive_ms; /* for the next one on a kept-alive connection */
};

/* Accept policy: true to accept a connection from addr (may cut an older
 * pending one to make room), false to refuse it (counted). */
bool http_guard_admit(struct http_guard *g, const struct sockaddr *addr, socklen_t len);
/* Track a connection libmicrohttpd started (fd its socket); NULL on ENOMEM
 * (the connection is then served untracked). */
struct http_guard_conn *http_guard_open(struct http_guard *g, const struct sockaddr *addr, int fd,
					int64_t now_ms);
/* Forget a closed connection (drops its body reference); accepts NULL. */
void http_guard_close(struct http_guard *g, struct http_guard_conn *c);
/* Its request head is complete: no deadline while it is answered. */
void http_guard_answering(struct http_guard_conn *c);
/* Its response is done: the next request head is due within keepalive_ms. */
void http_guard_done(struct http_guard *g, struct http_guard_conn *c, int64_t now_ms);
/* Cut connections whose head deadline passed; returns ms until the next
 * deadline, or -1 when none. */
int http_guard_sweep(struct http_guard *g, int64_t now_ms);
/* Cut every connection still reading a body other than keep (and NULL). */
void http_guard_cut_readers(struct http_guard *g, const struct http_body *keep);

/* Refused and cut connections of every endpoint since the process started. */
uint64_t http_guard_count(enum http_reject reason);
/* Put the counts into reg's gespann_http_connections_rejected_total,
 * declaring it on the first refusal or cut (a registry without any stays
 * as it was). */
void http_guard_publish(struct registry *reg);

#endif
