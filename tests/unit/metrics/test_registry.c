// SPDX-License-Identifier: MIT
/*
 * Unit tests for the metrics registry: exact exposition text for each metric
 * type, escaping, name validation, the counter clamp, 10k-series lookups, and
 * a rendered sample checked by promtool when it is installed (under CI=true a
 * missing promtool is a failure, not a skip). No root, no BPF.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics/registry.h"

#define PROMTOOL "/usr/bin/promtool"

/* Render r into a NUL-terminated string the caller frees. */
static char *render(const struct registry *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	assert_int_equal(registry_render_prometheus(r, &sb), 0);
	if (!sb.buf)
		return strdup("");
	assert_int_equal(strlen(sb.buf), sb.len);
	return sb.buf;
}

/* Compare the whole exposition; a failure names the caller's line. */
#define assert_render(r, expected) check_render(r, expected, __FILE__, __LINE__)

static void check_render(const struct registry *r, const char *expected, const char *file, int line)
{
	char *actual = render(r);

	_assert_string_equal(actual, expected, file, line);
	free(actual);
}

static struct metric_family *add(struct registry *r, const char *name, const char *help,
				 enum metric_type type, const char *const *labels)
{
	struct metric_family *f;

	errno = 0;
	f = registry_add(r, name, help, type, labels, NULL, 0);
	if (!f)
		fail_msg("registry_add(%s) failed: %s", name, strerror(errno));
	return f;
}

/* ==== Rendering per type ==== */

static void test_counter_render(void **state)
{
	static const char *const labels[] = { "direction", "proto", NULL };
	struct registry *r = registry_new();
	struct metric_family *f;

	f = add(r, "gespann_bytes_total", "Bytes moved.", METRIC_COUNTER, labels);
	assert_int_equal(registry_set(f, (const char *[]){ "tx", "tcp" }, 12345), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "rx", "tcp" }, 0), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "tx", "udp" }, 9007199254740991.0), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "rx", "udp" }, 9007199254740992.0), 0);
	assert_render(r, "# HELP gespann_bytes_total Bytes moved.\n"
			 "# TYPE gespann_bytes_total counter\n"
			 "gespann_bytes_total{direction=\"tx\",proto=\"tcp\"} 12345\n"
			 "gespann_bytes_total{direction=\"rx\",proto=\"tcp\"} 0\n"
			 "gespann_bytes_total{direction=\"tx\",proto=\"udp\"} 9007199254740991\n"
			 "gespann_bytes_total{direction=\"rx\",proto=\"udp\"} 9007199254740992\n");
	registry_free(r);
}

static void test_gauge_render(void **state)
{
	static const char *const labels[] = { "k", NULL };
	struct registry *r = registry_new();
	struct metric_family *g, *v;

	g = add(r, "gespann_connections", "Open connections.", METRIC_GAUGE, NULL);
	v = add(r, "gespann_values", "Assorted values.", METRIC_GAUGE, labels);
	assert_int_equal(registry_set(g, NULL, 7), 0);
	assert_int_equal(registry_set(g, NULL, 3), 0); /* gauges may go down */
	assert_int_equal(registry_set(v, (const char *[]){ "half" }, 0.5), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "tenth" }, 0.1), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "neg" }, -42), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "negzero" }, -0.0), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "big" }, 1e300), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "pinf" }, INFINITY), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "ninf" }, -INFINITY), 0);
	assert_int_equal(registry_set(v, (const char *[]){ "nan" }, NAN), 0);
	assert_render(r, "# HELP gespann_connections Open connections.\n"
			 "# TYPE gespann_connections gauge\n"
			 "gespann_connections 3\n"
			 "# HELP gespann_values Assorted values.\n"
			 "# TYPE gespann_values gauge\n"
			 "gespann_values{k=\"half\"} 0.5\n"
			 "gespann_values{k=\"tenth\"} 0.10000000000000001\n"
			 "gespann_values{k=\"neg\"} -42\n"
			 "gespann_values{k=\"negzero\"} 0\n"
			 "gespann_values{k=\"big\"} 1.0000000000000001e+300\n"
			 "gespann_values{k=\"pinf\"} +Inf\n"
			 "gespann_values{k=\"ninf\"} -Inf\n"
			 "gespann_values{k=\"nan\"} NaN\n");
	registry_free(r);
}

static void test_histogram_render(void **state)
{
	static const double bounds[] = { 1e-5, 0.005, 0.1, 1, 2.5, 100000, 1e6 };
	static const uint64_t buckets[] = { 1, 2, 3, 0, 0, 0, 0, 4 };
	static const char *const labels[] = { "proto", NULL };
	struct registry *r = registry_new();
	struct metric_family *h;

	h = registry_add(r, "gespann_rtt_seconds", "Round-trip time.", METRIC_HISTOGRAM, labels,
			 bounds, 7);
	assert_non_null(h);
	assert_int_equal(registry_set_histogram(h, (const char *[]){ "tcp" }, buckets, 12.5), 0);
	assert_render(r, "# HELP gespann_rtt_seconds Round-trip time.\n"
			 "# TYPE gespann_rtt_seconds histogram\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"1e-05\"} 1\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"0.005\"} 3\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"0.1\"} 6\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"1\"} 6\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"2.5\"} 6\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"100000\"} 6\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"1e+06\"} 6\n"
			 "gespann_rtt_seconds_bucket{proto=\"tcp\",le=\"+Inf\"} 10\n"
			 "gespann_rtt_seconds_sum{proto=\"tcp\"} 12.5\n"
			 "gespann_rtt_seconds_count{proto=\"tcp\"} 10\n");
	registry_free(r);
}

static void test_histogram_cumulative(void **state)
{
	static const double bounds[] = { 0.25, 0.5 };
	struct registry *r = registry_new();
	struct metric_family *h;

	h = registry_add(r, "lat_seconds", "Latency.", METRIC_HISTOGRAM, NULL, bounds, 2);
	assert_non_null(h);
	assert_int_equal(registry_set_histogram(h, NULL, (uint64_t[]){ 5, 0, 0 }, 1), 0);
	/* a later set replaces the counts, it does not add to them */
	assert_int_equal(registry_set_histogram(h, NULL, (uint64_t[]){ 0, 7, 2 }, 0.75), 0);
	assert_render(r, "# HELP lat_seconds Latency.\n"
			 "# TYPE lat_seconds histogram\n"
			 "lat_seconds_bucket{le=\"0.25\"} 0\n"
			 "lat_seconds_bucket{le=\"0.5\"} 7\n"
			 "lat_seconds_bucket{le=\"+Inf\"} 9\n"
			 "lat_seconds_sum 0.75\n"
			 "lat_seconds_count 9\n");
	registry_free(r);
}

static void test_histogram_no_bounds_and_saturation(void **state)
{
	static const char *const labels[] = { "a", NULL };
	struct registry *r = registry_new();
	struct metric_family *h;

	h = registry_add(r, "x_seconds", "X.", METRIC_HISTOGRAM, labels, NULL, 0);
	assert_non_null(h);
	assert_int_equal(registry_set_histogram(h, (const char *[]){ "1" }, (uint64_t[]){ 3 }, 2),
			 0);
	assert_render(r, "# HELP x_seconds X.\n"
			 "# TYPE x_seconds histogram\n"
			 "x_seconds_bucket{a=\"1\",le=\"+Inf\"} 3\n"
			 "x_seconds_sum{a=\"1\"} 2\n"
			 "x_seconds_count{a=\"1\"} 3\n");
	registry_free(r);

	r = registry_new();
	h = registry_add(r, "y_seconds", "Y.", METRIC_HISTOGRAM, NULL, (double[]){ 1 }, 1);
	assert_non_null(h);
	assert_int_equal(registry_set_histogram(h, NULL, (uint64_t[]){ UINT64_MAX, 5 }, 1), 0);
	assert_render(r, "# HELP y_seconds Y.\n"
			 "# TYPE y_seconds histogram\n"
			 "y_seconds_bucket{le=\"1\"} 18446744073709551615\n"
			 "y_seconds_bucket{le=\"+Inf\"} 18446744073709551615\n"
			 "y_seconds_sum 1\n"
			 "y_seconds_count 18446744073709551615\n");
	registry_free(r);
}

/* ==== Families without series ==== */

static void test_family_without_series(void **state)
{
	static const char *const labels[] = { "proto", NULL };
	struct registry *r = registry_new();

	add(r, "a_total", "Labelled, never set.", METRIC_COUNTER, labels);
	add(r, "b", "Unlabelled, never set.", METRIC_GAUGE, NULL);
	assert_non_null(registry_add(r, "c_seconds", "Histogram, never set.", METRIC_HISTOGRAM,
				     NULL, (double[]){ 1 }, 1));
	add(r, "d", NULL, METRIC_GAUGE, NULL);
	assert_render(r, "# HELP a_total Labelled, never set.\n"
			 "# TYPE a_total counter\n"
			 "# HELP b Unlabelled, never set.\n"
			 "# TYPE b gauge\n"
			 "# HELP c_seconds Histogram, never set.\n"
			 "# TYPE c_seconds histogram\n"
			 "# HELP d\n"
			 "# TYPE d gauge\n");
	registry_free(r);
}

static void test_empty_registry(void **state)
{
	struct registry *r = registry_new();

	assert_render(r, "");
	registry_free(r);
	registry_free(NULL);
}

/* ==== Escaping ==== */

static void test_escaping(void **state)
{
	static const char *const labels[] = { "path", "comm", NULL };
	struct registry *r = registry_new();
	struct metric_family *f;

	f = add(r, "esc", "Back\\slash, \"quotes\" stay,\nnew line.", METRIC_GAUGE, labels);
	assert_int_equal(registry_set(f, (const char *[]){ "C:\\dir\\", "say \"hi\"\nbye" }, 1), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "", "plain" }, 2), 0);
	assert_render(r, "# HELP esc Back\\\\slash, \"quotes\" stay,\\nnew line.\n"
			 "# TYPE esc gauge\n"
			 "esc{path=\"C:\\\\dir\\\\\",comm=\"say \\\"hi\\\"\\nbye\"} 1\n"
			 "esc{path=\"\",comm=\"plain\"} 2\n");
	/* lookups use the raw values, not the escaped ones */
	assert_int_equal(registry_set(f, (const char *[]){ "C:\\dir\\", "say \"hi\"\nbye" }, 3), 0);
	assert_render(r, "# HELP esc Back\\\\slash, \"quotes\" stay,\\nnew line.\n"
			 "# TYPE esc gauge\n"
			 "esc{path=\"C:\\\\dir\\\\\",comm=\"say \\\"hi\\\"\\nbye\"} 3\n"
			 "esc{path=\"\",comm=\"plain\"} 2\n");
	registry_free(r);
}

/* Kernel-sourced values may be any bytes; Prometheus wants UTF-8. */
static void test_invalid_utf8_replaced(void **state)
{
	static const char *const labels[] = { "comm", NULL };
	struct registry *r = registry_new();
	struct metric_family *f;

	f = add(r, "u", "caf\xc3\xa9 \xff", METRIC_GAUGE, labels);
	assert_int_equal(registry_set(f, (const char *[]){ "caf\xc3\xa9\xe6\x97\xa5" }, 1), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "bad\xff" }, 2), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "cut\xe6\x97" }, 3), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "overlong\xc0\xaf" }, 4), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "surrogate\xed\xa0\x80" }, 5), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "max\xf4\x8f\xbf\xbf\xf4\x90" }, 6), 0);
	assert_render(r, "# HELP u caf\xc3\xa9 \xef\xbf\xbd\n"
			 "# TYPE u gauge\n"
			 "u{comm=\"caf\xc3\xa9\xe6\x97\xa5\"} 1\n"
			 "u{comm=\"bad\xef\xbf\xbd\"} 2\n"
			 "u{comm=\"cut\xef\xbf\xbd\xef\xbf\xbd\"} 3\n"
			 "u{comm=\"overlong\xef\xbf\xbd\xef\xbf\xbd\"} 4\n"
			 "u{comm=\"surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 5\n"
			 "u{comm=\"max\xf4\x8f\xbf\xbf\xef\xbf\xbd\xef\xbf\xbd\"} 6\n");
	registry_free(r);
}

/* Values that differ only in where one ends and the next starts are distinct. */
static void test_label_boundaries(void **state)
{
	static const char *const labels[] = { "a", "b", NULL };
	struct registry *r = registry_new();
	struct metric_family *f;

	f = add(r, "split", "S.", METRIC_GAUGE, labels);
	assert_int_equal(registry_set(f, (const char *[]){ "ab", "c" }, 1), 0);
	assert_int_equal(registry_set(f, (const char *[]){ "a", "bc" }, 2), 0);
	assert_render(r, "# HELP split S.\n"
			 "# TYPE split gauge\n"
			 "split{a=\"ab\",b=\"c\"} 1\n"
			 "split{a=\"a\",b=\"bc\"} 2\n");
	registry_free(r);
}

/* ==== Validation ==== */

struct name_case {
	const char *name;
	int valid;
};

static void test_metric_name_validation(void **state)
{
	static const struct name_case cases[] = {
		{ "a", 1 },	 { "_x", 1 },	       { "ns:sub_total9", 1 },
		{ ":colon", 1 }, { "A_Z_09", 1 },      { "", 0 },
		{ "9a", 0 },	 { "a-b", 0 },	       { "a b", 0 },
		{ "a.b", 0 },	 { "caf\xc3\xa9", 0 }, { "a{b}", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct registry *r = registry_new();
		struct metric_family *f;

		errno = 0;
		f = registry_add(r, cases[i].name, "h", METRIC_GAUGE, NULL, NULL, 0);
		print_message("name \"%s\": expected %s, got %s\n", cases[i].name,
			      cases[i].valid ? "valid" : "invalid", f ? "valid" : "invalid");
		assert_int_equal(f != NULL, cases[i].valid);
		if (!f)
			assert_int_equal(errno, EINVAL);
		registry_free(r);
	}
	assert_null(registry_add(NULL, "a", "h", METRIC_GAUGE, NULL, NULL, 0));
	{
		struct registry *r = registry_new();

		assert_null(registry_add(r, NULL, "h", METRIC_GAUGE, NULL, NULL, 0));
		assert_null(registry_add(r, "a", "h", (enum metric_type)0, NULL, NULL, 0));
		assert_null(registry_add(r, "a", "h", (enum metric_type)4, NULL, NULL, 0));
		registry_free(r);
	}
}

struct label_case {
	enum metric_type type;
	const char *labels[REGISTRY_MAX_LABELS + 2];
	int valid;
};

static void test_label_name_validation(void **state)
{
	static const struct label_case cases[] = {
		{ METRIC_GAUGE, { "proto", NULL }, 1 },
		{ METRIC_GAUGE, { "_x9", NULL }, 1 },
		{ METRIC_GAUGE, { "le", NULL }, 1 },
		{ METRIC_GAUGE, { "a", "b", "c", "d", "e", NULL }, 1 },
		/* REGISTRY_MAX_LABELS (24) is fine, one more is not */
		{ METRIC_GAUGE,
		  { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
		    "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", NULL },
		  1 },
		{ METRIC_GAUGE,
		  { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
		    "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", NULL },
		  0 },
		{ METRIC_GAUGE, { "__name__", NULL }, 0 },
		{ METRIC_GAUGE, { "__x", NULL }, 0 },
		{ METRIC_GAUGE, { "", NULL }, 0 },
		{ METRIC_GAUGE, { "9a", NULL }, 0 },
		{ METRIC_GAUGE, { "a:b", NULL }, 0 },
		{ METRIC_GAUGE, { "a-b", NULL }, 0 },
		{ METRIC_GAUGE, { "dup", "dup", NULL }, 0 },
		{ METRIC_HISTOGRAM, { "le", NULL }, 0 },
		{ METRIC_HISTOGRAM, { "proto", NULL }, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct registry *r = registry_new();
		struct metric_family *f;

		errno = 0;
		f = registry_add(r, "m", "h", cases[i].type, cases[i].labels, NULL, 0);
		print_message("case %zu (first label \"%s\"): expected %s, got %s\n", i,
			      cases[i].labels[0], cases[i].valid ? "valid" : "invalid",
			      f ? "valid" : "invalid");
		assert_int_equal(f != NULL, cases[i].valid);
		if (!f)
			assert_int_equal(errno, EINVAL);
		registry_free(r);
	}
}

static void test_duplicates_and_bounds(void **state)
{
	struct registry *r = registry_new();

	add(r, "dup", "first", METRIC_GAUGE, NULL);
	errno = 0;
	assert_null(registry_add(r, "dup", "again", METRIC_COUNTER, NULL, NULL, 0));
	assert_int_equal(errno, EEXIST);

	/* a histogram owns name_bucket, name_sum and name_count */
	assert_non_null(registry_add(r, "h", "h", METRIC_HISTOGRAM, NULL, (double[]){ 1 }, 1));
	errno = 0;
	assert_null(registry_add(r, "h_sum", "clash", METRIC_GAUGE, NULL, NULL, 0));
	assert_int_equal(errno, EEXIST);
	assert_null(registry_add(r, "h_bucket", "clash", METRIC_GAUGE, NULL, NULL, 0));
	assert_null(registry_add(r, "h_count", "clash", METRIC_COUNTER, NULL, NULL, 0));
	add(r, "h_total", "no clash", METRIC_COUNTER, NULL);
	add(r, "g_count", "a gauge", METRIC_GAUGE, NULL);
	errno = 0;
	assert_null(registry_add(r, "g", "clash", METRIC_HISTOGRAM, NULL, NULL, 0));
	assert_int_equal(errno, EEXIST);

	/* bounds must be finite and strictly increasing; only histograms have them */
	errno = 0;
	assert_null(registry_add(r, "b1", "h", METRIC_HISTOGRAM, NULL, (double[]){ 1, 1 }, 2));
	assert_int_equal(errno, EINVAL);
	assert_null(registry_add(r, "b2", "h", METRIC_HISTOGRAM, NULL, (double[]){ 2, 1 }, 2));
	assert_null(registry_add(r, "b3", "h", METRIC_HISTOGRAM, NULL, (double[]){ NAN }, 1));
	assert_null(registry_add(r, "b4", "h", METRIC_HISTOGRAM, NULL, (double[]){ INFINITY }, 1));
	assert_null(registry_add(r, "b5", "h", METRIC_HISTOGRAM, NULL, NULL, 1));
	assert_null(registry_add(r, "b6", "h", METRIC_GAUGE, NULL, (double[]){ 1 }, 1));
	registry_free(r);
}

static void test_set_errors(void **state)
{
	static const char *const labels[] = { "a", "b", NULL };
	struct registry *r = registry_new();
	struct metric_family *g, *h;

	g = add(r, "g", "g", METRIC_GAUGE, labels);
	h = registry_add(r, "h", "h", METRIC_HISTOGRAM, NULL, (double[]){ 1 }, 1);
	assert_non_null(h);
	assert_int_equal(registry_set(NULL, NULL, 1), -EINVAL);
	assert_int_equal(registry_set(g, NULL, 1), -EINVAL);
	assert_int_equal(registry_set(g, (const char *[]){ "x", NULL }, 1), -EINVAL);
	assert_int_equal(registry_set(h, NULL, 1), -EINVAL);
	assert_int_equal(
		registry_set_histogram(g, (const char *[]){ "x", "y" }, (uint64_t[]){ 1, 2 }, 1),
		-EINVAL);
	assert_int_equal(registry_set_histogram(h, NULL, NULL, 1), -EINVAL);
	assert_int_equal(registry_set_histogram(NULL, NULL, (uint64_t[]){ 1, 2 }, 1), -EINVAL);
	/* failed calls create no series */
	assert_render(r, "# HELP g g\n# TYPE g gauge\n# HELP h h\n# TYPE h histogram\n");
	registry_free(r);
}

/* ==== Counter clamp ==== */

static void test_counter_monotonic(void **state)
{
	struct registry *r = registry_new();
	struct metric_family *c;

	c = add(r, "c_total", "C.", METRIC_COUNTER, NULL);
	assert_int_equal(registry_set(c, NULL, 10), 0);
	assert_int_equal(registry_set(c, NULL, 5), 0); /* ignored, not an error */
	assert_render(r, "# HELP c_total C.\n# TYPE c_total counter\nc_total 10\n");
	assert_int_equal(registry_set(c, NULL, 20.5), 0);
	assert_render(r, "# HELP c_total C.\n# TYPE c_total counter\nc_total 20.5\n");
	assert_int_equal(registry_set(c, NULL, NAN), -EINVAL);
	assert_int_equal(registry_set(c, NULL, -1), -EINVAL);
	assert_render(r, "# HELP c_total C.\n# TYPE c_total counter\nc_total 20.5\n");
	registry_free(r);
}

/* ==== Clearing a family ==== */

static void count_visit(const struct registry_sample *s, void *ctx)
{
	(void)s;
	(*(size_t *)ctx)++;
}

static size_t count_series(const struct registry *r)
{
	size_t n = 0;

	registry_visit(r, count_visit, &n);
	return n;
}

static void test_family_clear(void **state)
{
	static const char *const labels[] = { "k", NULL };
	struct registry *r = registry_new();
	struct metric_family *g, *c;
	char k[16];
	int i, round;

	c = add(r, "c_total", "C.", METRIC_COUNTER, labels);
	g = add(r, "g", "G.", METRIC_GAUGE, labels);
	registry_family_clear(NULL);
	registry_family_clear(g); /* no series yet */
	assert_render(r,
		      "# HELP c_total C.\n# TYPE c_total counter\n# HELP g G.\n# TYPE g gauge\n");

	/* interleaved, so the two families share probe runs in the one hash table */
	for (i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "%d", i);
		assert_int_equal(registry_set(c, (const char *[]){ k }, i), 0);
		assert_int_equal(registry_set(g, (const char *[]){ k }, i), 0);
	}
	assert_int_equal(count_series(r), 6000);
	for (round = 0; round < 20; round++) {
		registry_family_clear(g);
		assert_int_equal(count_series(r), 3000);
		/* every counter series is still found: setting it creates nothing */
		for (i = 0; i < 3000; i++) {
			snprintf(k, sizeof(k), "%d", i);
			assert_int_equal(registry_set(c, (const char *[]){ k }, i + round), 0);
		}
		assert_int_equal(count_series(r), 3000);
		/* a different subset each round */
		for (i = round; i < 3000; i += 7) {
			snprintf(k, sizeof(k), "%d", i);
			assert_int_equal(registry_set(g, (const char *[]){ k }, round), 0);
		}
		assert_int_equal(count_series(r), 3000 + (3000 - round + 6) / 7);
	}
	registry_family_clear(g);
	registry_family_clear(c);
	assert_int_equal(count_series(r), 0);
	assert_int_equal(registry_set(g, (const char *[]){ "x" }, 2), 0);
	assert_int_equal(registry_set(c, (const char *[]){ "y" }, 1), 0);
	assert_render(r, "# HELP c_total C.\n# TYPE c_total counter\nc_total{k=\"y\"} 1\n"
			 "# HELP g G.\n# TYPE g gauge\ng{k=\"x\"} 2\n");
	registry_free(r);
}

static void test_sixteen_labels(void **state)
{
	static const char *const labels[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i",
					      "j", "k", "l", "m", "n", "o", "p", NULL };
	static const char *const v1[] = { "1", "2",  "3",  "4",	 "5",  "6",  "7",  "8",
					  "9", "10", "11", "12", "13", "14", "15", "16" };
	static const char *const v2[] = { "1", "2",  "3",  "4",	 "5",  "6",  "7",  "8",
					  "9", "10", "11", "12", "13", "14", "15", "x" };
	struct registry *r = registry_new();
	struct metric_family *f;

	f = add(r, "wide", "W.", METRIC_GAUGE, labels);
	assert_int_equal(registry_set(f, v1, 1), 0);
	assert_int_equal(registry_set(f, v2, 2), 0);
	assert_int_equal(registry_set(f, v1, 3), 0);
	assert_render(r,
		      "# HELP wide W.\n# TYPE wide gauge\n"
		      "wide{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\",f=\"6\",g=\"7\",h=\"8\","
		      "i=\"9\",j=\"10\",k=\"11\",l=\"12\",m=\"13\",n=\"14\",o=\"15\",p=\"16\"} 3\n"
		      "wide{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\",f=\"6\",g=\"7\",h=\"8\","
		      "i=\"9\",j=\"10\",k=\"11\",l=\"12\",m=\"13\",n=\"14\",o=\"15\",p=\"x\"} 2\n");
	registry_free(r);
}

/* ==== Scale ==== */

#define MANY 10000

static void test_many_series(void **state)
{
	static const char *const labels[] = { "saddr", "dport", NULL };
	struct registry *r = registry_new();
	struct metric_family *f;
	char saddr[32], dport[16], expect[128], *text, *line, *save;
	size_t n;
	int i;

	f = add(r, "conn_bytes_total", "Per-connection bytes.", METRIC_COUNTER, labels);
	for (i = 0; i < MANY; i++) {
		snprintf(saddr, sizeof(saddr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		snprintf(dport, sizeof(dport), "%d", 1024 + i % 50000);
		assert_int_equal(registry_set(f, (const char *[]){ saddr, dport }, i), 0);
	}
	/* the second pass must find every series again, not add new ones */
	for (i = MANY - 1; i >= 0; i--) {
		snprintf(saddr, sizeof(saddr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		snprintf(dport, sizeof(dport), "%d", 1024 + i % 50000);
		assert_int_equal(registry_set(f, (const char *[]){ saddr, dport }, 2.0 * i), 0);
	}

	text = render(r);
	n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		i = (int)n;
		snprintf(expect, sizeof(expect),
			 "conn_bytes_total{saddr=\"10.%d.%d.%d\",dport=\"%d\"} %d", i >> 16,
			 (i >> 8) & 255, i & 255, 1024 + i % 50000, 2 * i);
		assert_string_equal(line, expect);
		n++;
	}
	assert_int_equal(n, MANY);
	free(text);
	registry_free(r);
}

/* ==== strbuf ==== */

static void test_strbuf(void **state)
{
	struct strbuf sb;
	char big[1000];
	int i;

	strbuf_init(&sb);
	assert_null(sb.buf);
	assert_int_equal(strbuf_append(&sb, "ab", 2), 0);
	assert_int_equal(strbuf_printf(&sb, "-%d-", 42), 0);
	assert_string_equal(sb.buf, "ab-42-");
	assert_int_equal(sb.len, 6);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 10; i++)
		assert_int_equal(strbuf_printf(&sb, "%s", big), 0);
	assert_int_equal(sb.len, 6 + 10 * (sizeof(big) - 1));
	assert_int_equal(strlen(sb.buf), sb.len);
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	assert_true(sb.cap >= 6 + 10 * (sizeof(big) - 1));
	strbuf_free(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.cap, 0);
	strbuf_free(NULL);
}

/* ==== promtool ==== */

static struct registry *sample_registry(void)
{
	static const double bounds[] = { 0.0005, 0.001, 0.01, 0.1, 1 };
	static const char *const conn_labels[] = { "proto", "direction", NULL };
	static const char *const rtt_labels[] = { "proto", NULL };
	struct registry *r = registry_new();
	struct metric_family *c, *g, *h;

	c = add(r, "gespann_network_transmit_bytes_total", "Bytes sent, \\ and \"q\"\nline 2.",
		METRIC_COUNTER, conn_labels);
	g = add(r, "gespann_open_connections", "Open connections.", METRIC_GAUGE, NULL);
	h = registry_add(r, "gespann_rtt_seconds", "Smoothed round-trip time.", METRIC_HISTOGRAM,
			 rtt_labels, bounds, 5);
	assert_non_null(h);
	add(r, "gespann_dropped_events_total", "Events dropped, never set.", METRIC_COUNTER, NULL);
	assert_int_equal(registry_set(c, (const char *[]){ "tcp", "out" }, 1e6), 0);
	assert_int_equal(registry_set(c, (const char *[]){ "udp", "in \"q\" \\ \n" }, 0.5), 0);
	assert_int_equal(registry_set(c, (const char *[]){ "tcp", "bad \xff\xfe utf-8" }, 3), 0);
	assert_int_equal(registry_set(g, NULL, 17), 0);
	assert_int_equal(registry_set_histogram(h, (const char *[]){ "tcp" },
						(uint64_t[]){ 1, 2, 3, 4, 5, 6 }, 0.123),
			 0);
	assert_int_equal(registry_set_histogram(h, (const char *[]){ "udp" },
						(uint64_t[]){ 0, 0, 0, 0, 0, 0 }, 0),
			 0);
	return r;
}

static void test_promtool(void **state)
{
	char path[] = "/tmp/test_registry_XXXXXX", cmd[256], out[4096];
	const char *ci = getenv("CI");
	struct registry *r;
	size_t n = 0;
	char *text;
	FILE *p;
	int fd, status;

	if (access(PROMTOOL, X_OK)) {
		if (ci && !strcmp(ci, "true"))
			fail_msg("%s is required under CI=true but missing", PROMTOOL);
		skip();
	}
	r = sample_registry();
	text = render(r);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), strlen(text));
	close(fd);

	snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", PROMTOOL, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(path);
	if (n || status)
		fprintf(stderr, "rendered:\n%s", text);
	assert_string_equal(out, "");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(text);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_render),
		cmocka_unit_test(test_gauge_render),
		cmocka_unit_test(test_histogram_render),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_histogram_no_bounds_and_saturation),
		cmocka_unit_test(test_family_without_series),
		cmocka_unit_test(test_empty_registry),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_label_boundaries),
		cmocka_unit_test(test_metric_name_validation),
		cmocka_unit_test(test_label_name_validation),
		cmocka_unit_test(test_duplicates_and_bounds),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_counter_monotonic),
		cmocka_unit_test(test_many_series),
		cmocka_unit_test(test_family_clear),
		cmocka_unit_test(test_sixteen_labels),
		cmocka_unit_test(test_strbuf),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
