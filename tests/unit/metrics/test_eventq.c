// SPDX-License-Identifier: MIT
/*
 * Unit tests for the event queue (metrics/eventq.c): the token bucket lets
 * in exactly rate records a second with an injected clock (a second's worth
 * at once, then what the elapsed time earned, never more than a second's
 * worth however long the pause), the queue cap drops exactly what does not
 * fit, records come out oldest first across the ring's wrap, only one queue
 * is attached at a time, and the counts reach the registry exactly. The
 * counts are process-wide, so every check is a difference.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/catalogue.h"
#include "metrics/eventq.h"

#define SEC 1000000000ULL
#define T0  (100 * SEC)

static struct eventq_rec rec(enum eventq_kind k, uint32_t pid)
{
	struct eventq_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = k;
	r.pid = pid;
	return r;
}

/* Push n records of kind k at now; the number queued. */
static int push_n(struct eventq *q, enum eventq_kind k, int n, uint64_t now)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		struct eventq_rec r = rec(k, (uint32_t)i);

		if (!eventq_push(q, &r, now))
			ok++;
	}
	return ok;
}

/* Offer n records step_ns apart from T0; the number queued. */
static int offer_spaced(struct eventq *q, int n, uint64_t step_ns)
{
	int in = 0;

	for (int i = 0; i < n; i++)
		in += push_n(q, EVENTQ_CONN_RESET, 1, T0 + (uint64_t)i * step_ns);
	return in;
}

static void test_bad_args(void **state)
{
	struct eventq_rec r = rec(EVENTQ_KIND_MAX, 1);
	struct eventq *q;

	(void)state;
	assert_null(eventq_new(0, 10));
	assert_null(eventq_new(10, 0));
	assert_null(eventq_new(EVENTQ_RATE_MAX + 1, 10));
	assert_null(eventq_new(10, EVENTQ_CAP_MAX + 1));
	q = eventq_new(10, 10);
	assert_non_null(q);
	assert_int_equal(eventq_push(q, &r, T0), -EINVAL);
	assert_int_equal(eventq_push(NULL, &r, T0), -EINVAL);
	assert_null(eventq_at(q, 0));
	assert_int_equal(eventq_len(NULL), 0);
	eventq_free(q);
	eventq_free(NULL);
}

static void test_rate_limit_exact(void **state)
{
	struct eventq_stats a, b;
	struct eventq *q = eventq_new(10, 1000);

	(void)state;
	assert_non_null(q);
	eventq_get_stats(&a);
	/* a full bucket: 10 of 25 at once */
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 25, T0), 10);
	/* half a second earns 5 */
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 10, T0 + SEC / 2), 5);
	/* 99 ms earn 0.99 of a record: none; 1 ms more makes it 1 */
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 3, T0 + SEC / 2 + 99000000), 0);
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 3, T0 + SEC / 2 + 100000000), 1);
	/* an hour of silence refills one second's worth, no more */
	assert_int_equal(push_n(q, EVENTQ_DNS_ANSWER, 30, T0 + 3600 * SEC), 10);
	/* a clock that goes back earns nothing */
	assert_int_equal(push_n(q, EVENTQ_DNS_ANSWER, 2, T0), 0);
	eventq_get_stats(&b);
	assert_int_equal(b.queued[EVENTQ_CONN_FAILED] - a.queued[EVENTQ_CONN_FAILED], 16);
	assert_int_equal(b.queued[EVENTQ_DNS_ANSWER] - a.queued[EVENTQ_DNS_ANSWER], 10);
	assert_int_equal(b.dropped[EVENTQ_DROP_RATE] - a.dropped[EVENTQ_DROP_RATE],
			 (25 - 10) + (10 - 5) + 3 + 2 + (30 - 10) + 2);
	assert_int_equal(b.dropped[EVENTQ_DROP_QUEUE_FULL] - a.dropped[EVENTQ_DROP_QUEUE_FULL], 0);
	assert_int_equal(eventq_len(q), 26);
	eventq_free(q);
	/* 1000 offered 10 ms apart at 100 a second: each earns the next one */
	q = eventq_new(100, 2000);
	assert_non_null(q);
	assert_int_equal(offer_spaced(q, 1000, 10000000ULL), 1000);
	eventq_free(q);
	/* 1000 offered 1 ms apart: the bucket's 100, then 0.1 a ms for 999 ms */
	q = eventq_new(100, 2000);
	assert_non_null(q);
	assert_int_equal(offer_spaced(q, 1000, 1000000ULL), 100 + 99);
	eventq_free(q);
}

/* One in n of each kind, the first of every n, before the rate limit. */
static void test_sample_one_in_n(void **state)
{
	struct eventq_stats a, b;
	struct eventq *q = eventq_new(1000, 1000);

	(void)state;
	assert_non_null(q);
	eventq_set_sample(q, 4);
	eventq_get_stats(&a);
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 10, T0), 3); /* 1st, 5th, 9th */
	assert_int_equal(push_n(q, EVENTQ_DNS_ANSWER, 4, T0), 1);   /* counted apart */
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 2, T0), 0);  /* 11th, 12th */
	assert_int_equal(push_n(q, EVENTQ_CONN_FAILED, 1, T0), 1);  /* 13th */
	eventq_get_stats(&b);
	assert_int_equal(b.queued[EVENTQ_CONN_FAILED] - a.queued[EVENTQ_CONN_FAILED], 4);
	assert_int_equal(b.dropped[EVENTQ_DROP_SAMPLED] - a.dropped[EVENTQ_DROP_SAMPLED],
			 (10 - 3) + (4 - 1) + 2);
	assert_int_equal(b.dropped[EVENTQ_DROP_RATE] - a.dropped[EVENTQ_DROP_RATE], 0);
	/* 0 and 1 keep every event */
	eventq_set_sample(q, 0);
	assert_int_equal(push_n(q, EVENTQ_CONN_RESET, 5, T0), 5);
	eventq_free(q);
}

static void test_queue_cap_and_order(void **state)
{
	struct eventq_stats a, b;
	struct eventq *q = eventq_new(1000, 4);
	struct eventq_rec r;

	(void)state;
	assert_non_null(q);
	eventq_get_stats(&a);
	assert_int_equal(push_n(q, EVENTQ_CONN_RESET, 10, T0), 4);
	assert_int_equal(eventq_len(q), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(eventq_at(q, i)->pid, i);
	eventq_pop(q, 3);
	assert_int_equal(eventq_len(q), 1);
	assert_int_equal(eventq_at(q, 0)->pid, 3);
	/* across the ring's end: 3 fit */
	for (uint32_t p = 10; p < 15; p++) {
		r = rec(EVENTQ_CONN_RESET, p);
		eventq_push(q, &r, T0);
	}
	assert_int_equal(eventq_len(q), 4);
	assert_int_equal(eventq_at(q, 0)->pid, 3);
	assert_int_equal(eventq_at(q, 1)->pid, 10);
	assert_int_equal(eventq_at(q, 2)->pid, 11);
	assert_int_equal(eventq_at(q, 3)->pid, 12);
	assert_null(eventq_at(q, 4));
	eventq_pop(q, 100); /* more than there are: all */
	assert_int_equal(eventq_len(q), 0);
	eventq_get_stats(&b);
	assert_int_equal(b.queued[EVENTQ_CONN_RESET] - a.queued[EVENTQ_CONN_RESET], 7);
	assert_int_equal(b.dropped[EVENTQ_DROP_QUEUE_FULL] - a.dropped[EVENTQ_DROP_QUEUE_FULL],
			 6 + 2);
	assert_int_equal(b.dropped[EVENTQ_DROP_RATE] - a.dropped[EVENTQ_DROP_RATE], 0);
	eventq_free(q);
}

static void test_attach(void **state)
{
	struct eventq *q1 = eventq_new(10, 10), *q2 = eventq_new(10, 10);
	struct eventq_stats a, b;

	(void)state;
	assert_non_null(q1);
	assert_non_null(q2);
	assert_null(eventq_current());
	assert_int_equal(eventq_attach(q1), 0);
	assert_int_equal(eventq_attach(q1), 0);
	assert_int_equal(eventq_attach(q2), -EBUSY);
	assert_ptr_equal(eventq_current(), q1);
	eventq_detach(q2);
	assert_ptr_equal(eventq_current(), q1);
	/* freed with 3 records waiting: they never left, counted lost */
	assert_int_equal(push_n(q1, EVENTQ_DNS_ANSWER, 3, T0), 3);
	eventq_get_stats(&a);
	eventq_free(q1);
	eventq_get_stats(&b);
	assert_null(eventq_current());
	assert_int_equal(b.dropped[EVENTQ_DROP_EXPORT] - a.dropped[EVENTQ_DROP_EXPORT], 3);
	eventq_count_lost(5);
	eventq_get_stats(&a);
	assert_int_equal(a.dropped[EVENTQ_DROP_EXPORT] - b.dropped[EVENTQ_DROP_EXPORT], 5);
	assert_int_equal(eventq_attach(q2), 0);
	eventq_free(q2);
	assert_null(eventq_current());
}

/* The value of family name{label=value} in reg, or -1. */
struct find {
	const char *name, *value;
	double found;
};

static void find_visit(const struct registry_sample *s, void *ctx)
{
	struct find *f = ctx;

	if (!strcmp(s->name, f->name) && s->n_labels == 1 && !strcmp(s->label_values[0], f->value))
		f->found = s->value;
}

static double value_of(struct registry *reg, const char *name, const char *value)
{
	struct find f = { .name = name, .value = value, .found = -1 };

	registry_visit(reg, find_visit, &f);
	return f.found;
}

static void test_publish(void **state)
{
	struct registry *reg = registry_new();
	struct eventq *q = eventq_new(2, 100);
	struct eventq_stats st;

	(void)state;
	assert_non_null(reg);
	assert_non_null(q);
	assert_int_equal(eventq_attach(q), 0);
	push_n(q, EVENTQ_CONN_FAILED, 5, T0);
	eventq_publish(reg);
	eventq_get_stats(&st);
	for (int k = 0; k < EVENTQ_KIND_MAX; k++)
		assert_int_equal(value_of(reg, catalogue[M_LOG_RECORDS].name, eventq_kind_name(k)),
				 (double)st.queued[k]);
	for (int d = 0; d < EVENTQ_DROP_MAX; d++)
		assert_int_equal(
			value_of(reg, catalogue[M_LOG_RECORDS_DROPPED].name, eventq_drop_name(d)),
			(double)st.dropped[d]);
	assert_string_equal(eventq_kind_name(EVENTQ_CONN_FAILED), "gespann.connection.failed");
	assert_string_equal(eventq_drop_name(EVENTQ_DROP_RATE), "rate_limited");
	eventq_free(q);
	registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),	cmocka_unit_test(test_rate_limit_exact),
		cmocka_unit_test(test_sample_one_in_n), cmocka_unit_test(test_queue_cap_and_order),
		cmocka_unit_test(test_attach),		cmocka_unit_test(test_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
