// SPDX-License-Identifier: MIT
/*
 * Unit tests for how new series are shown to consumers that compute
 * increases: counter and histogram series created after a scraper's last
 * view render at 0 (gauges never), OpenMetrics text with NAME_created
 * samples whose time is the series' creation (bracketed by the test's own
 * clock readings), _total handling, HELP quoting and the closing # EOF, and
 * the creation time that push exporters read. No root, no BPF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "metrics/registry.h"

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *render_opts(const struct registry *r, enum registry_format fmt, uint64_t shown_upto)
{
	struct registry_render_opts o = { .format = fmt, .shown_upto = shown_upto };
	struct strbuf sb;

	strbuf_init(&sb);
	assert_int_equal(registry_render(r, &o, &sb), 0);
	return sb.buf ? sb.buf : strdup("");
}

#define assert_rendered(r, fmt, upto, expected)         \
	do {                                            \
		char *got_ = render_opts(r, fmt, upto); \
		assert_string_equal(got_, expected);    \
		free(got_);                             \
	} while (0)

static const char *const lbl_dst[] = { "dst", NULL };

/* A counter series created after the scraper's view shows 0, then its value. */
static void test_counter_zero_first(void **state)
{
	struct registry *r = registry_new();
	struct metric_family *c, *g;
	uint64_t seen;

	(void)state;
	c = registry_add(r, "t_fail_total", "Failures.", METRIC_COUNTER, lbl_dst, NULL, 0);
	g = registry_add(r, "t_open", "Open.", METRIC_GAUGE, lbl_dst, NULL, 0);
	assert_non_null(c);
	assert_non_null(g);
	assert_int_equal(registry_generation(r), 0);
	assert_int_equal(registry_set(c, (const char *[]){ "a" }, 3), 0);
	seen = registry_generation(r); /* a scrape happened here */
	assert_int_equal(seen, 1);
	/* between two scrapes: one failure to b (new), more to a, a new gauge */
	assert_int_equal(registry_set(c, (const char *[]){ "b" }, 1), 0);
	assert_int_equal(registry_set(c, (const char *[]){ "a" }, 4), 0);
	assert_int_equal(registry_set(g, (const char *[]){ "b" }, 2), 0);
	assert_int_equal(registry_generation(r), 3);
	assert_rendered(r, REGISTRY_TEXT, seen,
			"# HELP t_fail_total Failures.\n# TYPE t_fail_total counter\n"
			"t_fail_total{dst=\"a\"} 4\n"
			"t_fail_total{dst=\"b\"} 0\n"
			"# HELP t_open Open.\n# TYPE t_open gauge\n"
			"t_open{dst=\"b\"} 2\n");
	/* the next scrape: every series with its value */
	assert_rendered(r, REGISTRY_TEXT, registry_generation(r),
			"# HELP t_fail_total Failures.\n# TYPE t_fail_total counter\n"
			"t_fail_total{dst=\"a\"} 4\n"
			"t_fail_total{dst=\"b\"} 1\n"
			"# HELP t_open Open.\n# TYPE t_open gauge\n"
			"t_open{dst=\"b\"} 2\n");
	/* removing series does not lower the generation: a re-created one is new */
	registry_family_clear(c);
	assert_int_equal(registry_set(c, (const char *[]){ "a" }, 5), 0);
	assert_int_equal(registry_generation(r), 4);
	assert_rendered(r, REGISTRY_TEXT, 3,
			"# HELP t_fail_total Failures.\n# TYPE t_fail_total counter\n"
			"t_fail_total{dst=\"a\"} 0\n"
			"# HELP t_open Open.\n# TYPE t_open gauge\n"
			"t_open{dst=\"b\"} 2\n");
	registry_free(r);
}

/* A new histogram series: every bucket, _sum and _count at 0 first. */
static void test_histogram_zero_first(void **state)
{
	static const double bounds[] = { 0.1, 1 };
	const uint64_t buckets[] = { 2, 1, 1 };
	struct metric_family *h;
	struct registry *r = registry_new();

	(void)state;
	h = registry_add(r, "t_rtt_seconds", "RTT.", METRIC_HISTOGRAM, lbl_dst, bounds, 2);
	assert_non_null(h);
	assert_int_equal(registry_set_histogram(h, (const char *[]){ "a" }, buckets, 2.5), 0);
	assert_rendered(r, REGISTRY_TEXT, 0,
			"# HELP t_rtt_seconds RTT.\n# TYPE t_rtt_seconds histogram\n"
			"t_rtt_seconds_bucket{dst=\"a\",le=\"0.1\"} 0\n"
			"t_rtt_seconds_bucket{dst=\"a\",le=\"1\"} 0\n"
			"t_rtt_seconds_bucket{dst=\"a\",le=\"+Inf\"} 0\n"
			"t_rtt_seconds_sum{dst=\"a\"} 0\n"
			"t_rtt_seconds_count{dst=\"a\"} 0\n");
	assert_rendered(r, REGISTRY_TEXT, 1,
			"# HELP t_rtt_seconds RTT.\n# TYPE t_rtt_seconds histogram\n"
			"t_rtt_seconds_bucket{dst=\"a\",le=\"0.1\"} 2\n"
			"t_rtt_seconds_bucket{dst=\"a\",le=\"1\"} 3\n"
			"t_rtt_seconds_bucket{dst=\"a\",le=\"+Inf\"} 4\n"
			"t_rtt_seconds_sum{dst=\"a\"} 2.5\n"
			"t_rtt_seconds_count{dst=\"a\"} 4\n");
	registry_free(r);
}

struct created_seen {
	int64_t ns[4];
	int n;
};

static void collect_created(const struct registry_sample *s, void *ctx)
{
	struct created_seen *c = ctx;

	if (c->n < 4)
		c->ns[c->n++] = s->created_ns;
}

static void fmt_created(char *buf, size_t len, int64_t ns)
{
	snprintf(buf, len, "%lld.%03lld", (long long)(ns / 1000000000),
		 (long long)(ns % 1000000000 / 1000000));
}

/* OpenMetrics: families without _total, _created per series, # EOF. */
static void test_openmetrics(void **state)
{
	static const double bounds[] = { 1 };
	const uint64_t buckets[] = { 1, 0 };
	struct metric_family *c, *h, *g, *u;
	struct registry *r = registry_new();
	struct created_seen cs = { 0 };
	char c0[32], c1[32], expected[2048];
	int64_t t0, t1;

	(void)state;
	c = registry_add(r, "t_fail_total", "Failures \"refused\".", METRIC_COUNTER, lbl_dst, NULL,
			 0);
	h = registry_add(r, "t_rtt_seconds", "RTT.", METRIC_HISTOGRAM, NULL, bounds, 1);
	g = registry_add(r, "t_open", "Open.", METRIC_GAUGE, NULL, NULL, 0);
	u = registry_add(r, "t_odd", "No suffix.", METRIC_COUNTER, NULL, NULL, 0);
	assert_true(c && h && g && u);
	t0 = wall_ns();
	assert_int_equal(registry_set(c, (const char *[]){ "a" }, 2), 0);
	assert_int_equal(registry_set_histogram(h, NULL, buckets, 0.5), 0);
	t1 = wall_ns();
	assert_int_equal(registry_set(g, NULL, 7), 0);
	assert_int_equal(registry_set(u, NULL, 1), 0);
	registry_visit(r, collect_created, &cs);
	assert_int_equal(cs.n, 4);
	/* ground truth: the test's clock before and after the two sets */
	assert_true(cs.ns[0] >= t0 && cs.ns[0] <= t1);
	assert_true(cs.ns[1] >= cs.ns[0] && cs.ns[1] <= t1);
	fmt_created(c0, sizeof(c0), cs.ns[0]);
	fmt_created(c1, sizeof(c1), cs.ns[1]);
	snprintf(expected, sizeof(expected),
		 "# HELP t_fail Failures \\\"refused\\\".\n# TYPE t_fail counter\n"
		 "t_fail_total{dst=\"a\"} 2\n"
		 "t_fail_created{dst=\"a\"} %s\n"
		 "# HELP t_rtt_seconds RTT.\n# TYPE t_rtt_seconds histogram\n"
		 "t_rtt_seconds_bucket{le=\"1\"} 1\n"
		 "t_rtt_seconds_bucket{le=\"+Inf\"} 1\n"
		 "t_rtt_seconds_sum 0.5\n"
		 "t_rtt_seconds_count 1\n"
		 "t_rtt_seconds_created %s\n"
		 "# HELP t_open Open.\n# TYPE t_open gauge\n"
		 "t_open 7\n"
		 "# HELP t_odd No suffix.\n# TYPE t_odd unknown\n"
		 "t_odd 1\n"
		 "# EOF\n",
		 c0, c1);
	assert_rendered(r, REGISTRY_OPENMETRICS, UINT64_MAX, expected);
	/* zero first holds in OpenMetrics too: Prometheus 2.x ignores _created */
	{
		char *got = render_opts(r, REGISTRY_OPENMETRICS, 0);

		assert_non_null(strstr(got, "t_fail_total{dst=\"a\"} 0\n"));
		assert_non_null(strstr(got, "t_rtt_seconds_count 0\n"));
		assert_non_null(strstr(got, "t_open 7\n"));
		free(got);
	}
	/* the text format is unchanged: no _created, no # EOF, quotes as given */
	{
		char *got = render_opts(r, REGISTRY_TEXT, UINT64_MAX);

		assert_null(strstr(got, "_created"));
		assert_null(strstr(got, "# EOF"));
		assert_non_null(strstr(got, "# HELP t_fail_total Failures \"refused\".\n"));
		free(got);
	}
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_zero_first),
		cmocka_unit_test(test_histogram_zero_first),
		cmocka_unit_test(test_openmetrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
