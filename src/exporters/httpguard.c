// SPDX-License-Identifier: MIT
/*
 * Connection guard (httpguard.h). libmicrohttpd's own timeout is reset by
 * every byte, so a client dribbling one header line every few seconds held
 * a slot for ever, and 64 of them starved every scraper. Here each
 * connection carries the time it started waiting for a request head; the
 * head must be complete within a fixed time of that, whatever trickles in.
 * The caps do not simply refuse: a new connection at a cap takes the slot
 * of the connection of the same address (or, at the global cap, of any
 * address) that has been waiting longest without a complete head. A scraper
 * sends its request head at once and is answered on the next loop turn, so
 * it is never that connection; the slow ones churn among themselves.
 *
 * Cutting is shutdown(2) on the socket: libmicrohttpd sees the end of the
 * stream on its next run and closes and releases the connection itself.
 * The counts are process-wide so they stay monotonic when a reload restarts
 * the endpoint.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "exporters/httpbody.h"
#include "exporters/httpguard.h"
#include "metrics/catalogue.h"

static uint64_t counts[HTTP_REJECT_MAX];

static const char *const reason_names[HTTP_REJECT_MAX] = {
	[HTTP_REJECT_ADDRESS] = "address_limit", [HTTP_REJECT_LIMIT] = "limit",
	[HTTP_REJECT_EVICTED] = "evicted",	 [HTTP_REJECT_HEAD] = "head_timeout",
	[HTTP_REJECT_READER] = "slow_reader",
};

/* The address part only: the port differs per connection. */
static bool same_address(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return false;
}

static void cut(struct http_guard *g, struct http_guard_conn *c, enum http_reject why)
{
	if (c->cut)
		return;
	shutdown(c->fd, SHUT_RDWR);
	c->cut = true;
	g->live--;
	counts[why]++;
}

/* The connection waiting longest for a request head, of addr when not NULL. */
static struct http_guard_conn *longest_waiting(struct http_guard *g, const struct sockaddr *addr)
{
	struct http_guard_conn *best = NULL;

	for (struct http_guard_conn *c = g->head; c; c = c->next) {
		if (c->cut || c->answering || (addr && !same_address(&c->addr, addr)))
			continue;
		if (!best || c->waiting_since_ms < best->waiting_since_ms)
			best = c;
	}
	return best;
}

bool http_guard_admit(struct http_guard *g, const struct sockaddr *addr, socklen_t len)
{
	struct http_guard_conn *victim;
	unsigned int same = 0;

	(void)len;
	for (struct http_guard_conn *c = g->head; c; c = c->next)
		same += !c->cut && same_address(&c->addr, addr);
	if (same >= g->per_address) {
		victim = longest_waiting(g, addr);
		if (!victim) {
			counts[HTTP_REJECT_ADDRESS]++;
			return false;
		}
		cut(g, victim, HTTP_REJECT_EVICTED);
	}
	if (g->live >= g->total) {
		victim = longest_waiting(g, NULL);
		if (!victim) {
			counts[HTTP_REJECT_LIMIT]++;
			return false;
		}
		cut(g, victim, HTTP_REJECT_EVICTED);
	}
	return true;
}

struct http_guard_conn *http_guard_open(struct http_guard *g, const struct sockaddr *addr, int fd,
					int64_t now_ms)
{
	struct http_guard_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (addr) {
		c->addr_len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
							    sizeof(struct sockaddr_in);
		memcpy(&c->addr, addr, c->addr_len);
	}
	c->fd = fd;
	c->waiting_since_ms = now_ms;
	c->prev = g->tail;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	g->live++;
	return c;
}

void http_guard_close(struct http_guard *g, struct http_guard_conn *c)
{
	if (!c)
		return;
	if (!c->cut)
		g->live--;
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		g->tail = c->prev;
	http_body_put(c->body);
	free(c);
}

void http_guard_answering(struct http_guard_conn *c)
{
	c->answering = true;
}

void http_guard_done(struct http_guard *g, struct http_guard_conn *c, int64_t now_ms)
{
	(void)g;
	c->answering = false;
	c->served = true;
	c->waiting_since_ms = now_ms;
	http_body_put(c->body);
	c->body = NULL;
}

int http_guard_sweep(struct http_guard *g, int64_t now_ms)
{
	int64_t next = -1, due;

	for (struct http_guard_conn *c = g->head; c; c = c->next) {
		if (c->cut || c->answering)
			continue;
		due = c->waiting_since_ms + (c->served ? g->keepalive_ms : g->head_ms);
		if (due <= now_ms) {
			cut(g, c, HTTP_REJECT_HEAD);
			continue;
		}
		if (next < 0 || due - now_ms < next)
			next = due - now_ms;
	}
	return next > INT32_MAX ? INT32_MAX : (int)next;
}

void http_guard_cut_readers(struct http_guard *g, const struct http_body *keep)
{
	for (struct http_guard_conn *c = g->head; c; c = c->next)
		if (c->answering && c->body && c->body != keep)
			cut(g, c, HTTP_REJECT_READER);
}

uint64_t http_guard_count(enum http_reject reason)
{
	return reason < HTTP_REJECT_MAX ? counts[reason] : 0;
}

void http_guard_publish(struct registry *reg)
{
	const char *name = catalogue[M_HTTP_REJECTED].name;
	struct metric_family *f;
	uint64_t any = 0;

	for (int i = 0; i < HTTP_REJECT_MAX; i++)
		any |= counts[i];
	if (!reg || !any)
		return;
	f = registry_find(reg, name);
	if (!f)
		f = catalogue_declare(reg, M_HTTP_REJECTED);
	if (!f)
		return;
	for (int i = 0; i < HTTP_REJECT_MAX; i++)
		registry_set(f, (const char *[]){ reason_names[i] }, (double)counts[i]);
}
