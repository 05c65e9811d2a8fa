// SPDX-License-Identifier: MIT
/*
 * The event queue (eventq.h): a ring of fixed-size records behind a token
 * bucket, and the process-wide counts of what it let in and what it
 * dropped. Fixed-size records keep the memory bound plain (cap times the
 * record) and the push a copy, with no allocation on the loop's hot path.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/catalogue.h"
#include "metrics/eventq.h"

#define NS_PER_SEC 1000000000ULL

struct eventq {
	struct eventq_rec *ring;
	uint32_t cap, head, len; /* head: the oldest record */
	uint32_t rate;
	uint32_t sample;		/* keep one of every sample of each kind */
	uint64_t seen[EVENTQ_KIND_MAX]; /* events offered, by kind */
	/* the bucket in token-nanoseconds: a record costs NS_PER_SEC, the
	 * bucket holds rate of them and refills rate a second */
	uint64_t tokens, last_ns;
	bool started; /* last_ns set */
};

static struct eventq *attached;
static bool ever_attached;
static struct eventq_stats counts;

static const char *const kind_names[EVENTQ_KIND_MAX] = {
	[EVENTQ_CONN_FAILED] = "gespann.connection.failed",
	[EVENTQ_CONN_RESET] = "gespann.connection.reset",
	[EVENTQ_DNS_ANSWER] = "gespann.dns.answer",
};

static const char *const drop_names[EVENTQ_DROP_MAX] = {
	[EVENTQ_DROP_SAMPLED] = "sampled",
	[EVENTQ_DROP_RATE] = "rate_limited",
	[EVENTQ_DROP_QUEUE_FULL] = "queue_full",
	[EVENTQ_DROP_EXPORT] = "export_failed",
};

const char *eventq_kind_name(enum eventq_kind k)
{
	return (unsigned)k < EVENTQ_KIND_MAX ? kind_names[k] : "unknown";
}

const char *eventq_drop_name(enum eventq_drop d)
{
	return (unsigned)d < EVENTQ_DROP_MAX ? drop_names[d] : "unknown";
}

struct eventq *eventq_new(uint32_t rate, uint32_t cap)
{
	struct eventq *q;

	if (!rate || rate > EVENTQ_RATE_MAX || !cap || cap > EVENTQ_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return NULL;
	}
	q->cap = cap;
	q->rate = rate;
	q->sample = 1;
	q->tokens = (uint64_t)rate * NS_PER_SEC;
	return q;
}

void eventq_free(struct eventq *q)
{
	if (!q)
		return;
	eventq_detach(q);
	counts.dropped[EVENTQ_DROP_EXPORT] += q->len;
	free(q->ring);
	free(q);
}

int eventq_attach(struct eventq *q)
{
	if (attached && attached != q)
		return -EBUSY;
	attached = q;
	ever_attached = true;
	return 0;
}

void eventq_detach(struct eventq *q)
{
	if (q && attached == q)
		attached = NULL;
}

struct eventq *eventq_current(void)
{
	return attached;
}

/* Add what the bucket earned since the last push, up to one second's worth. */
static void refill(struct eventq *q, uint64_t now_ns)
{
	uint64_t full = (uint64_t)q->rate * NS_PER_SEC, dt;

	if (!q->started) {
		q->started = true;
		q->last_ns = now_ns;
		return;
	}
	if (now_ns <= q->last_ns)
		return;
	dt = now_ns - q->last_ns;
	q->last_ns = now_ns;
	if (dt >= NS_PER_SEC) { /* a second or more refills it (and rate * dt could overflow) */
		q->tokens = full;
		return;
	}
	q->tokens += dt * q->rate;
	if (q->tokens > full)
		q->tokens = full;
}

void eventq_set_sample(struct eventq *q, uint32_t n)
{
	if (q)
		q->sample = n ? n : 1;
}

int eventq_push(struct eventq *q, const struct eventq_rec *r, uint64_t now_ns)
{
	if (!q || !r || (unsigned)r->kind >= EVENTQ_KIND_MAX)
		return -EINVAL;
	/* The first of every `sample` of a kind goes on: one in n, exactly. */
	if (q->seen[r->kind]++ % q->sample) {
		counts.dropped[EVENTQ_DROP_SAMPLED]++;
		return -EAGAIN;
	}
	refill(q, now_ns);
	if (q->tokens < NS_PER_SEC) {
		counts.dropped[EVENTQ_DROP_RATE]++;
		return -EAGAIN;
	}
	if (q->len == q->cap) {
		/* the record did not go out: its token is kept */
		counts.dropped[EVENTQ_DROP_QUEUE_FULL]++;
		return -ENOBUFS;
	}
	q->tokens -= NS_PER_SEC;
	q->ring[(q->head + q->len) % q->cap] = *r;
	q->len++;
	counts.queued[r->kind]++;
	return 0;
}

size_t eventq_len(const struct eventq *q)
{
	return q ? q->len : 0;
}

const struct eventq_rec *eventq_at(const struct eventq *q, size_t i)
{
	if (!q || i >= q->len)
		return NULL;
	return &q->ring[(q->head + i) % q->cap];
}

void eventq_pop(struct eventq *q, size_t n)
{
	if (!q)
		return;
	if (n > q->len)
		n = q->len;
	q->head = (uint32_t)((q->head + n) % q->cap);
	q->len -= (uint32_t)n;
}

void eventq_count_lost(size_t n)
{
	counts.dropped[EVENTQ_DROP_EXPORT] += n;
}

void eventq_get_stats(struct eventq_stats *out)
{
	*out = counts;
}

void eventq_publish(struct registry *reg)
{
	struct metric_family *queued, *dropped;

	if (!reg || !ever_attached)
		return;
	queued = registry_find(reg, catalogue[M_LOG_RECORDS].name);
	if (!queued)
		queued = catalogue_declare(reg, M_LOG_RECORDS);
	dropped = registry_find(reg, catalogue[M_LOG_RECORDS_DROPPED].name);
	if (!dropped)
		dropped = catalogue_declare(reg, M_LOG_RECORDS_DROPPED);
	for (int k = 0; queued && k < EVENTQ_KIND_MAX; k++)
		registry_set(queued, (const char *[]){ kind_names[k] }, (double)counts.queued[k]);
	for (int d = 0; dropped && d < EVENTQ_DROP_MAX; d++)
		registry_set(dropped, (const char *[]){ drop_names[d] }, (double)counts.dropped[d]);
}
