// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/agg.c: the series cap with its `other` series and the
 * dropped count (3000 label sets, max 100), label selection, histograms,
 * gauge snapshots that replace the family, the bounded set of folded hashes,
 * and bad input. Exact values, read back through the registry's exposition
 * and registry_visit(). No root, no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/agg.h"
#include "metrics/registry.h"

static char *render(const struct registry *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	assert_int_equal(registry_render_prometheus(r, &sb), 0);
	return sb.buf ? sb.buf : strdup("");
}

#define assert_render(r, expected)                                      \
	do {                                                            \
		char *a_ = render(r);                                   \
		_assert_string_equal(a_, expected, __FILE__, __LINE__); \
		free(a_);                                               \
	} while (0)

/* Sum and count of the series of one family, found through registry_visit(). */
struct tally {
	const char *name;
	size_t n;
	double sum;
	double other; /* the value of the series whose label values are all "other" */
	size_t n_other;
};

static void tally_visit(const struct registry_sample *s, void *ctx)
{
	struct tally *t = ctx;
	size_t i, others = 0;

	if (strcmp(s->name, t->name))
		return;
	t->n++;
	t->sum += s->value;
	for (i = 0; i < s->n_labels; i++)
		others += !strcmp(s->label_values[i], "other");
	if (s->n_labels && others == s->n_labels) {
		t->other = s->value;
		t->n_other++;
	}
}

static struct tally tally(const struct registry *r, const char *name)
{
	struct tally t = { .name = name };

	registry_visit(r, tally_visit, &t);
	return t;
}

static const char *const flow_labels[] = { "src_process", "dst_address", "dst_port", NULL };

static void test_cap_other_dropped(void **state)
{
	struct registry *r = registry_new();
	struct agg *a;
	char addr[32], port[8];
	struct tally t;
	int i, pass;

	/* dst_port is not selected: its values are ignored (and may be NULL) */
	a = agg_new(r, "flow_bytes_total", "Bytes.", METRIC_COUNTER, flow_labels, 0x3, NULL, 0,
		    100);
	assert_non_null(a);
	for (pass = 1; pass <= 2; pass++) {
		for (i = 0; i < 3000; i++) {
			snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
			snprintf(port, sizeof(port), "%d", i);
			assert_int_equal(
				agg_add(a,
					(const char *[]){ "curl", addr, pass == 1 ? port : NULL },
					pass),
				0);
		}
		assert_int_equal(agg_series(a), 101);
		/* the same 2900 sets fold again: counted once each */
		assert_int_equal(agg_dropped(a), 2900);
	}
	/* nothing in the registry before publish */
	t = tally(r, "flow_bytes_total");
	assert_int_equal(t.n, 0);
	assert_int_equal(agg_publish(a), 0);
	t = tally(r, "flow_bytes_total");
	assert_int_equal(t.n, 101);
	assert_int_equal(t.n_other, 1);
	assert_true(t.other == 2900 * 3);
	assert_true(t.sum == 3000 * 3);

	/* the first 100 keep their own series: spot-check the exposition head */
	{
		char *text = render(r);

		assert_non_null(strstr(
			text,
			"# TYPE flow_bytes_total counter\n"
			"flow_bytes_total{src_process=\"curl\",dst_address=\"10.0.0.0\"} 3\n"
			"flow_bytes_total{src_process=\"curl\",dst_address=\"10.0.0.1\"} 3\n"));
		assert_non_null(strstr(
			text,
			"flow_bytes_total{src_process=\"curl\",dst_address=\"10.0.0.99\"} 3\n"
			"flow_bytes_total{src_process=\"other\",dst_address=\"other\"} 8700\n"));
		assert_null(strstr(text, "10.0.0.100\""));
		assert_null(strstr(text, "dst_port"));
		free(text);
	}

	/* a known set still goes to its own series; a set equal to "other" is the other series */
	assert_int_equal(agg_add(a, (const char *[]){ "curl", "10.0.0.5", "1" }, 10), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "other", "other", "1" }, 1), 0);
	assert_int_equal(agg_series(a), 101);
	assert_int_equal(agg_dropped(a), 2900);
	assert_int_equal(agg_publish(a), 0);
	t = tally(r, "flow_bytes_total");
	assert_true(t.other == 8701);
	assert_true(t.sum == 9000 + 11);
	agg_free(a);
	registry_free(r);
}

static void test_small_cap_exact(void **state)
{
	static const char *const labels[] = { "a", "b", NULL };
	struct registry *r = registry_new();
	struct agg *a = agg_new(r, "x_total", "X.", METRIC_COUNTER, labels, 0x3, NULL, 0, 2);

	assert_non_null(a);
	assert_int_equal(agg_add(a, (const char *[]){ "1", "p" }, 1), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "2", "p" }, 2), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "3", "p" }, 4), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "1", "p" }, 8), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "4", NULL }, 16), 0); /* NULL = "" */
	assert_int_equal(agg_add(a, (const char *[]){ "3", "p" }, 0), 0);
	assert_int_equal(agg_dropped(a), 2);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP x_total X.\n# TYPE x_total counter\n"
			 "x_total{a=\"1\",b=\"p\"} 9\n"
			 "x_total{a=\"2\",b=\"p\"} 2\n"
			 "x_total{a=\"other\",b=\"other\"} 20\n");
	/* publish writes only what changed, and counters stay cumulative */
	assert_int_equal(agg_add(a, (const char *[]){ "2", "p" }, 0.5), 0);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP x_total X.\n# TYPE x_total counter\n"
			 "x_total{a=\"1\",b=\"p\"} 9\n"
			 "x_total{a=\"2\",b=\"p\"} 2.5\n"
			 "x_total{a=\"other\",b=\"other\"} 20\n");
	agg_free(a);
	registry_free(r);
}

static void test_histogram(void **state)
{
	static const char *const labels[] = { "server", "qtype", NULL };
	static const double bounds[] = { 0.25, 1, 4 };
	struct registry *r = registry_new();
	/* room for one label set: 3 bounds + +Inf, _sum and _count are 6 samples */
	struct agg *a = agg_new(r, "dns_latency_seconds", "Latency.", METRIC_HISTOGRAM, labels, 0x1,
				bounds, 3, 6);

	assert_non_null(a);
	assert_int_equal(agg_observe(a, (const char *[]){ "198.18.0.2", "A" }, 0.125), 0);
	/* a bound is inclusive (le) */
	assert_int_equal(agg_observe(a, (const char *[]){ "198.18.0.2", "AAAA" }, 0.25), 0);
	assert_int_equal(agg_observe(a, (const char *[]){ "198.18.0.2", "A" }, 0.5), 0);
	assert_int_equal(agg_observe(a, (const char *[]){ "198.18.0.2", "A" }, 8), 0);
	assert_int_equal(agg_observe(a, (const char *[]){ "198.18.0.3", "A" }, 2), 0);
	assert_int_equal(agg_observe(a, (const char *[]){ "198.18.0.2", "A" }, NAN), -EINVAL);
	assert_int_equal(agg_add(a, (const char *[]){ "198.18.0.2", "A" }, 1), -EINVAL);
	assert_int_equal(agg_dropped(a), 1);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP dns_latency_seconds Latency.\n"
			 "# TYPE dns_latency_seconds histogram\n"
			 "dns_latency_seconds_bucket{server=\"198.18.0.2\",le=\"0.25\"} 2\n"
			 "dns_latency_seconds_bucket{server=\"198.18.0.2\",le=\"1\"} 3\n"
			 "dns_latency_seconds_bucket{server=\"198.18.0.2\",le=\"4\"} 3\n"
			 "dns_latency_seconds_bucket{server=\"198.18.0.2\",le=\"+Inf\"} 4\n"
			 "dns_latency_seconds_sum{server=\"198.18.0.2\"} 8.875\n"
			 "dns_latency_seconds_count{server=\"198.18.0.2\"} 4\n"
			 "dns_latency_seconds_bucket{server=\"other\",le=\"0.25\"} 0\n"
			 "dns_latency_seconds_bucket{server=\"other\",le=\"1\"} 0\n"
			 "dns_latency_seconds_bucket{server=\"other\",le=\"4\"} 1\n"
			 "dns_latency_seconds_bucket{server=\"other\",le=\"+Inf\"} 1\n"
			 "dns_latency_seconds_sum{server=\"other\"} 2\n"
			 "dns_latency_seconds_count{server=\"other\"} 1\n");
	agg_free(a);
	registry_free(r);
}

/*
 * A histogram label set counts against max_series by the samples it puts on
 * the wire: 3 bounds are 4 buckets + _sum + _count = 6, so a cap of 17 holds
 * two label sets (12), not a third (18); a counter with the same cap holds 17.
 */
static void test_histogram_cap_by_size(void **state)
{
	static const char *const labels[] = { "server", NULL };
	static const double bounds[] = { 0.25, 1, 4 };
	struct registry *r = registry_new();
	struct agg *h =
		agg_new(r, "lat_seconds", "Latency.", METRIC_HISTOGRAM, labels, 0x1, bounds, 3, 17);
	struct agg *c = agg_new(r, "q_total", "Queries.", METRIC_COUNTER, labels, 0x1, NULL, 0, 17);
	char addr[32];

	(void)state;
	assert_non_null(h);
	assert_non_null(c);
	for (int i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "198.18.0.%d", i + 1);
		assert_int_equal(agg_observe(h, (const char *[]){ addr }, 0.5), 0);
		assert_int_equal(agg_add(c, (const char *[]){ addr }, 1), 0);
	}
	assert_int_equal(agg_series(h), 2 + 1); /* and other */
	assert_int_equal(agg_dropped(h), 18);
	assert_int_equal(agg_series(c), 17 + 1);
	assert_int_equal(agg_dropped(c), 3);
	agg_free(h);
	agg_free(c);
	registry_free(r);
}

static void test_gauge_snapshots(void **state)
{
	static const char *const labels[] = { "dst_address", "state", NULL };
	struct registry *r = registry_new();
	struct agg *a = agg_new(r, "open", "Open.", METRIC_GAUGE, labels, 0x3, NULL, 0, 2);

	assert_non_null(a);
	agg_gauge_begin(a);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "x", "established" }, 1), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "y", "established" }, 2), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "z", "time_wait" }, 3), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "x", "established" }, 1), 0);
	assert_int_equal(agg_series(a), 3);
	assert_int_equal(agg_dropped(a), 1);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP open Open.\n# TYPE open gauge\n"
			 "open{dst_address=\"x\",state=\"established\"} 2\n"
			 "open{dst_address=\"y\",state=\"established\"} 2\n"
			 "open{dst_address=\"other\",state=\"other\"} 3\n");

	/* the next snapshot replaces the family: x, y and other go away */
	agg_gauge_begin(a);
	assert_int_equal(agg_series(a), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "z", "time_wait" }, 5), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "w", "syn_sent" }, 1), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "w", "syn_sent" }, -1), 0);
	assert_int_equal(agg_dropped(a), 1);
	/* not yet published: the registry still shows the first snapshot */
	{
		char *text = render(r);

		assert_non_null(strstr(text, "open{dst_address=\"x\""));
		free(text);
	}
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP open Open.\n# TYPE open gauge\n"
			 "open{dst_address=\"z\",state=\"time_wait\"} 5\n"
			 "open{dst_address=\"w\",state=\"syn_sent\"} 0\n");

	/* the cap applies per snapshot; dropped counts distinct sets ever folded */
	agg_gauge_begin(a);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "a", "established" }, 1), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "b", "established" }, 1), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "z", "time_wait" }, 1), 0);
	assert_int_equal(agg_gauge_add(a, (const char *[]){ "c", "established" }, 1), 0);
	assert_int_equal(agg_dropped(a), 2); /* z again: once; c: new */
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP open Open.\n# TYPE open gauge\n"
			 "open{dst_address=\"a\",state=\"established\"} 1\n"
			 "open{dst_address=\"b\",state=\"established\"} 1\n"
			 "open{dst_address=\"other\",state=\"other\"} 2\n");

	/* an empty snapshot empties the family */
	agg_gauge_begin(a);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP open Open.\n# TYPE open gauge\n");
	agg_free(a);
	registry_free(r);
}

/* Past AGG_MAX_FOLDED remembered sets, folds of sets not remembered count each time. */
static void test_folded_set_bound(void **state)
{
	static const char *const labels[] = { "k", NULL };
	struct registry *r = registry_new();
	struct agg *a = agg_new(r, "k_total", "K.", METRIC_COUNTER, labels, 0x1, NULL, 0, 1);
	const unsigned int n = AGG_MAX_FOLDED + 4464;
	char k[16];
	unsigned int i;

	assert_non_null(a);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%u", i);
		assert_int_equal(agg_add(a, (const char *[]){ k }, 1), 0);
	}
	assert_int_equal(agg_dropped(a), n - 1);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%u", i);
		assert_int_equal(agg_add(a, (const char *[]){ k }, 1), 0);
	}
	/* 1 regular + 65536 remembered; the last 4463 count again */
	assert_int_equal(agg_dropped(a), (uint64_t)(n - 1) + (n - 1 - AGG_MAX_FOLDED));
	assert_int_equal(agg_series(a), 2);
	agg_free(a);
	registry_free(r);
}

static void test_no_labels_selected(void **state)
{
	struct registry *r = registry_new();
	struct agg *a = agg_new(r, "all_total", "All.", METRIC_COUNTER, flow_labels, 0, NULL, 0, 1);

	assert_non_null(a);
	assert_int_equal(agg_add(a, (const char *[]){ "a", "b", "c" }, 1), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "d", "e", "f" }, 2), 0);
	assert_int_equal(agg_add(a, NULL, 4), 0);
	assert_int_equal(agg_dropped(a), 0);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP all_total All.\n# TYPE all_total counter\nall_total 7\n");
	agg_free(a);
	registry_free(r);
}

static void test_bad_input(void **state)
{
	/* REGISTRY_MAX_LABELS (24) may be selected, not one more */
	static const char *const many[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i",
					    "j", "k", "l", "m", "n", "o", "p", "q", "r",
					    "s", "t", "u", "v", "w", "x", "y", NULL };
	static const char *const bad_name[] = { "a-b", NULL };
	struct registry *r = registry_new();
	struct agg *a, *g;

	errno = 0;
	assert_null(agg_new(r, "x", "X.", METRIC_COUNTER, flow_labels, 1, NULL, 0, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(agg_new(NULL, "x", "X.", METRIC_COUNTER, flow_labels, 1, NULL, 0, 5));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(agg_new(r, "x", "X.", METRIC_COUNTER, many, 0x1ffffff, NULL, 0, 5));
	assert_int_equal(errno, EINVAL);
	a = agg_new(r, "x", "X.", METRIC_COUNTER, many, 0xffffff, NULL, 0, 5);
	assert_non_null(a);
	errno = 0;
	assert_null(agg_new(r, "x", "X.", METRIC_COUNTER, flow_labels, 1, NULL, 0, 5));
	assert_int_equal(errno, EEXIST);
	errno = 0;
	assert_null(agg_new(r, "y", "Y.", METRIC_COUNTER, bad_name, 1, NULL, 0, 5));
	assert_int_equal(errno, EINVAL);
	/* the unselected label's bad name is never registered */
	g = agg_new(r, "g", "G.", METRIC_GAUGE, bad_name, 0, NULL, 0, 5);
	assert_non_null(g);

	assert_int_equal(agg_add(a, many, -1), -EINVAL);
	assert_int_equal(agg_add(a, many, NAN), -EINVAL);
	assert_int_equal(agg_add(a, NULL, 1), -EINVAL);
	assert_int_equal(agg_add(NULL, many, 1), -EINVAL);
	assert_int_equal(agg_gauge_add(a, many, 1), -EINVAL);
	assert_int_equal(agg_observe(a, many, 1), -EINVAL);
	assert_int_equal(agg_gauge_add(g, NULL, NAN), -EINVAL);
	assert_int_equal(agg_add(g, NULL, 1), -EINVAL);
	assert_int_equal(agg_gauge_add(g, NULL, -3), 0);
	agg_gauge_begin(a); /* not a gauge: nothing happens */
	assert_int_equal(agg_add(a, many, 1), 0);
	assert_int_equal(agg_series(a), 1);
	assert_int_equal(agg_publish(NULL), -EINVAL);
	assert_int_equal(agg_dropped(NULL), 0);
	assert_int_equal(agg_series(NULL), 0);
	agg_free(NULL);
	agg_free(a);
	agg_free(g);
	registry_free(r);
}

/* A reload: same labels keep the series, other labels drop them and relabel. */
static void test_reconfigure(void **state)
{
	struct registry *r = registry_new();
	struct agg *a = agg_new(r, "re_total", "Re.", METRIC_COUNTER, flow_labels, 3, NULL, 0, 5);
	const char *v[] = { "a", "b", "c" };

	assert_non_null(a);
	assert_int_equal(agg_add(a, v, 2), 0);
	assert_int_equal(agg_publish(a), 0);
	/* the same selection, a new cap: nothing else moves */
	assert_int_equal(agg_reconfigure(a, flow_labels, 3, 1), 0);
	assert_int_equal(agg_series(a), 1);
	assert_int_equal(agg_add(a, v, 1), 0);
	assert_int_equal(agg_add(a, (const char *[]){ "x", "y", "z" }, 1), 0);
	assert_int_equal(agg_dropped(a), 1); /* past the cap of 1 */
	assert_int_equal(agg_publish(a), 0);
	assert_render(r, "# HELP re_total Re.\n# TYPE re_total counter\n"
			 "re_total{src_process=\"a\",dst_address=\"b\"} 3\n"
			 "re_total{src_process=\"other\",dst_address=\"other\"} 1\n");
	/* another selection: the series start again under the new labels */
	assert_int_equal(agg_reconfigure(a, flow_labels, 4, 5), 1);
	assert_int_equal(agg_series(a), 0);
	assert_render(r, "# HELP re_total Re.\n# TYPE re_total counter\n");
	assert_int_equal(agg_add(a, v, 4), 0);
	assert_int_equal(agg_publish(a), 0);
	assert_render(r,
		      "# HELP re_total Re.\n# TYPE re_total counter\nre_total{dst_port=\"c\"} 4\n");
	assert_int_equal(agg_dropped(a), 1);
	assert_int_equal(agg_reconfigure(a, flow_labels, 4, 0), -EINVAL);
	agg_free(a);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_other_dropped),
		cmocka_unit_test(test_small_cap_exact),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_cap_by_size),
		cmocka_unit_test(test_gauge_snapshots),
		cmocka_unit_test(test_folded_set_bound),
		cmocka_unit_test(test_no_labels_selected),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_reconfigure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
