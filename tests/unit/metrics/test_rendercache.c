// SPDX-License-Identifier: MIT
/*
 * Unit tests for the cached render (registry_render_cached()): whatever
 * happened to the registry since the caches were filled (values changed or
 * not, series created, a family cleared or relabelled, a counter lowered),
 * in either format and for a scraper that has seen everything, nothing or
 * part, the bytes are those of registry_render() on the same registry, and
 * the gzip form inflates (with zlib, not our code) to exactly those bytes.
 * The reference is the plain render, which the golden test pins. Also the
 * change count that lets the exporter serve an unchanged body again, and
 * the agg gauge snapshot that is not rebuilt when it did not change.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "metrics/agg.h"
#include "metrics/registry.h"

static const char *const lbl_dst[] = { "dst", "port", NULL };
static const double bounds[] = { 0.001, 0.01, 0.1, 1 };

struct fixture {
	struct registry *r;
	struct metric_family *c, *g, *h, *u, *empty;
};

static void fixture_init(struct fixture *x)
{
	x->r = registry_new();
	x->c = registry_add(x->r, "t_bytes_total", "Bytes \"moved\".", METRIC_COUNTER, lbl_dst,
			    NULL, 0);
	x->g = registry_add(x->r, "t_open", "Open.", METRIC_GAUGE, lbl_dst, NULL, 0);
	x->empty = registry_add(x->r, "t_none_total", "Never set.", METRIC_COUNTER, NULL, NULL, 0);
	x->h = registry_add(x->r, "t_rtt_seconds", "RTT.", METRIC_HISTOGRAM, lbl_dst, bounds, 4);
	/* a counter without _total: typed unknown in OpenMetrics */
	x->u = registry_add(x->r, "t_odd", "Odd.", METRIC_COUNTER, NULL, NULL, 0);
	assert_non_null(x->c);
	assert_non_null(x->g);
	assert_non_null(x->empty);
	assert_non_null(x->h);
	assert_non_null(x->u);
}

/* Series i of every labelled family, with values that depend on step. */
static void fill(struct fixture *x, unsigned from, unsigned to, unsigned step)
{
	char dst[32], port[8];
	uint64_t b[5];

	for (unsigned i = from; i < to; i++) {
		const char *v[] = { dst, port };

		snprintf(dst, sizeof(dst), "10.0.%u.%u", i / 256, i % 256);
		snprintf(port, sizeof(port), "%u", 1000 + i);
		assert_int_equal(registry_set(x->c, v, 1000.0 * i + step), 0);
		assert_int_equal(registry_set(x->g, v, (double)(i % 7) - 3 + step * 0.5), 0);
		for (int k = 0; k < 5; k++)
			b[k] = i + k + step;
		assert_int_equal(registry_set_histogram(x->h, v, b, 0.25 * i + step), 0);
	}
	assert_int_equal(registry_set(x->u, NULL, 7.0 + step), 0);
}

static char *inflate_gzip(const struct strbuf *gz, size_t expect)
{
	char *out = malloc(expect + 1);
	z_stream zs;

	assert_non_null(out);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)gz->buf;
	zs.avail_in = gz->len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = expect + 1;
	/* the whole member, trailer checked (CRC-32 and size) */
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, expect);
	assert_int_equal(zs.avail_in, 0);
	inflateEnd(&zs);
	out[expect] = '\0';
	return out;
}

/* Cached and plain renders of r agree for this scraper, gzip form included. */
static void assert_same(struct registry *r, enum registry_format fmt, uint64_t shown_upto)
{
	struct registry_render_opts o = { .format = fmt, .shown_upto = shown_upto };
	struct strbuf want, got, gz;
	char *inflated;

	strbuf_init(&want);
	strbuf_init(&got);
	strbuf_init(&gz);
	assert_int_equal(registry_render(r, &o, &want), 0);
	assert_int_equal(registry_render_cached(r, &o, &got, &gz), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.buf, want.buf, want.len);
	inflated = inflate_gzip(&gz, want.len);
	assert_memory_equal(inflated, want.buf, want.len);
	free(inflated);
	/* and without gzip */
	strbuf_reset(&got);
	assert_int_equal(registry_render_cached(r, &o, &got, NULL), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.buf, want.buf, want.len);
	strbuf_free(&want);
	strbuf_free(&got);
	strbuf_free(&gz);
}

/* Every format, for scrapers that have seen all, none, or up to `mid`. */
static void assert_all_views(struct registry *r, uint64_t mid)
{
	for (int fmt = REGISTRY_TEXT; fmt <= REGISTRY_OPENMETRICS; fmt++) {
		assert_same(r, fmt, UINT64_MAX);
		assert_same(r, fmt, registry_generation(r));
		assert_same(r, fmt, 0);
		assert_same(r, fmt, mid);
	}
}

static void test_cached_equals_plain(void **state)
{
	struct fixture x;
	uint64_t mid;

	(void)state;
	fixture_init(&x);
	assert_all_views(x.r, 0); /* nothing but heads */
	fill(&x, 0, 50, 1);
	mid = registry_generation(x.r);
	assert_all_views(x.r, mid / 2);
	/* nothing changed: served from the caches */
	assert_all_views(x.r, mid / 2);
	/* values changed, and new series after the caches were made */
	fill(&x, 0, 80, 2);
	assert_all_views(x.r, mid);
	/* a counter set lower is ignored, a gauge cleared and refilled in part */
	assert_int_equal(registry_set(x.c, (const char *[]){ "10.0.0.3", "1003" }, 1), 0);
	registry_family_clear(x.g);
	assert_int_equal(registry_set(x.g, (const char *[]){ "a", "b" }, -1.5), 0);
	assert_all_views(x.r, mid);
	/* relabelled: the old series go, new ones come */
	assert_int_equal(registry_family_relabel(x.h, (const char *const[]){ "dst", NULL }), 0);
	assert_int_equal(registry_set_histogram(x.h, (const char *[]){ "x" },
						(const uint64_t[]){ 1, 2, 3, 4, 5 }, 9.5),
			 0);
	assert_all_views(x.r, registry_generation(x.r) - 1);
	registry_free(x.r);
}

/* Families of several cache segments: one series changed in the middle,
 * scrapers whose view ends inside a segment, a family that shrinks. */
static void test_cached_segments(void **state)
{
	const char *v[] = { "10.0.2.44", "1556" }; /* series 556 */
	struct fixture x;
	uint64_t mid;

	(void)state;
	fixture_init(&x);
	fill(&x, 0, 700, 1);
	mid = registry_generation(x.r);
	fill(&x, 700, 900, 1);
	assert_all_views(x.r, mid);
	assert_int_equal(registry_set(x.c, v, 1e15), 0);
	assert_int_equal(registry_set(x.g, v, 0.125), 0);
	assert_all_views(x.r, mid);
	assert_all_views(x.r, mid - 2 * 3 * 100); /* 100 series of the three families back */
	registry_family_clear(x.g);
	assert_int_equal(registry_set(x.g, v, 2), 0);
	assert_all_views(x.r, mid);
	registry_family_clear(x.c);
	fill(&x, 0, 300, 2);
	assert_all_views(x.r, mid);
	registry_free(x.r);
}

/* registry_changes() moves exactly when a render would differ. */
static void test_changes(void **state)
{
	const char *v[] = { "10.0.0.1", "80" };
	struct fixture x;
	uint64_t n;

	(void)state;
	fixture_init(&x);
	n = registry_changes(x.r);
	assert_int_equal(registry_set(x.c, v, 5), 0); /* created */
	assert_true(registry_changes(x.r) > n);
	n = registry_changes(x.r);
	assert_int_equal(registry_set(x.c, v, 5), 0); /* same value */
	assert_int_equal(registry_set(x.c, v, 4), 0); /* lower counter: ignored */
	assert_int_equal(registry_changes(x.r), n);
	assert_int_equal(registry_set_histogram(x.h, v, (const uint64_t[]){ 1, 0, 0, 0, 0 }, 1), 0);
	n = registry_changes(x.r);
	assert_int_equal(registry_set_histogram(x.h, v, (const uint64_t[]){ 1, 0, 0, 0, 0 }, 1), 0);
	assert_int_equal(registry_changes(x.r), n);
	assert_int_equal(registry_set(x.c, v, 6), 0);
	assert_int_equal(registry_changes(x.r), n + 1);
	assert_int_equal(registry_set_histogram(x.h, v, (const uint64_t[]){ 1, 1, 0, 0, 0 }, 1), 0);
	assert_int_equal(registry_changes(x.r), n + 2);
	registry_family_clear(x.g);
	assert_int_equal(registry_changes(x.r), n + 3);
	/* a family without series shows its HELP and TYPE */
	assert_non_null(registry_add(x.r, "t_late", "Late.", METRIC_GAUGE, NULL, NULL, 0));
	assert_int_equal(registry_changes(x.r), n + 4);
	registry_free(x.r);
}

/* Which scrapers are shown a series at 0: counters and histograms, never gauges. */
static void test_has_new(void **state)
{
	const char *v[] = { "10.0.0.1", "80" };
	struct fixture x;
	uint64_t gen;

	(void)state;
	fixture_init(&x);
	assert_false(registry_has_new(x.r, 0));
	assert_int_equal(registry_set(x.g, v, 1), 0);
	assert_false(registry_has_new(x.r, 0));
	gen = registry_generation(x.r);
	assert_int_equal(registry_set(x.c, v, 1), 0);
	assert_true(registry_has_new(x.r, gen));
	assert_false(registry_has_new(x.r, registry_generation(x.r)));
	gen = registry_generation(x.r);
	assert_int_equal(registry_set_histogram(x.h, v, (const uint64_t[]){ 1, 0, 0, 0, 0 }, 1), 0);
	assert_true(registry_has_new(x.r, gen));
	assert_false(registry_has_new(x.r, UINT64_MAX));
	registry_free(x.r);
}

/* Integers render as libc's %lld and %llu write them, at the edges too. */
static void test_integer_spelling(void **state)
{
	static const double gauges[] = {
		0, 1, -1, 9, 10, -10, 9007199254740991.0, -9007199254740991.0, 1234567890123.0
	};
	struct registry *r = registry_new();
	struct metric_family *g, *h;
	struct strbuf sb;
	char want[64];
	uint64_t b[2] = { UINT64_MAX - 5, 10 };

	(void)state;
	strbuf_init(&sb);
	g = registry_add(r, "t_g", "", METRIC_GAUGE, (const char *const[]){ "i", NULL }, NULL, 0);
	h = registry_add(r, "t_h", "", METRIC_HISTOGRAM, NULL, (const double[]){ 1 }, 1);
	assert_non_null(g);
	assert_non_null(h);
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
		char lv[8];

		snprintf(lv, sizeof(lv), "%zu", i);
		assert_int_equal(registry_set(g, (const char *[]){ lv }, gauges[i]), 0);
	}
	assert_int_equal(registry_set_histogram(h, NULL, b, 2), 0);
	assert_int_equal(registry_render_prometheus(r, &sb), 0);
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
		snprintf(want, sizeof(want), "t_g{i=\"%zu\"} %lld\n", i, (long long)gauges[i]);
		assert_non_null(strstr(sb.buf, want));
	}
	snprintf(want, sizeof(want), "t_h_bucket{le=\"1\"} %llu\n", (unsigned long long)b[0]);
	assert_non_null(strstr(sb.buf, want));
	/* the total saturates */
	snprintf(want, sizeof(want), "t_h_count %llu\n", (unsigned long long)UINT64_MAX);
	assert_non_null(strstr(sb.buf, want));
	strbuf_free(&sb);
	registry_free(r);
}

/* One gauge snapshot of label sets 0..n-1 (values i + bump) published. */
static void gauge_snapshot(struct agg *a, unsigned n, double bump)
{
	char dst[32];

	agg_gauge_begin(a);
	for (unsigned i = 0; i < n; i++) {
		const char *v[] = { dst, "x" };

		snprintf(dst, sizeof(dst), "10.1.0.%u", i);
		assert_int_equal(agg_gauge_add(a, v, i + (i == 2 ? bump : 0)), 0);
	}
	assert_int_equal(agg_publish(a), 0);
}

/*
 * An agg gauge snapshot equal to the last one leaves the registry as it is
 * (no change to render); any difference (a value, a label set more or less)
 * is published in full, as before.
 */
static void test_gauge_snapshot_unchanged(void **state)
{
	struct registry *r = registry_new();
	struct agg *a;
	struct strbuf sb;
	uint64_t n;

	(void)state;
	strbuf_init(&sb);
	a = agg_new(r, "t_open", "Open.", METRIC_GAUGE, lbl_dst, 1, NULL, 0, 100);
	assert_non_null(a);
	gauge_snapshot(a, 3, 0);
	n = registry_changes(r);
	gauge_snapshot(a, 3, 0);
	assert_int_equal(registry_changes(r), n);
	gauge_snapshot(a, 3, 0.5);
	assert_true(registry_changes(r) > n);
	assert_int_equal(registry_render_prometheus(r, &sb), 0);
	assert_string_equal(sb.buf, "# HELP t_open Open.\n# TYPE t_open gauge\n"
				    "t_open{dst=\"10.1.0.0\"} 0\nt_open{dst=\"10.1.0.1\"} 1\n"
				    "t_open{dst=\"10.1.0.2\"} 2.5\n");
	n = registry_changes(r);
	gauge_snapshot(a, 2, 0.5);
	assert_true(registry_changes(r) > n);
	strbuf_reset(&sb);
	assert_int_equal(registry_render_prometheus(r, &sb), 0);
	assert_string_equal(sb.buf, "# HELP t_open Open.\n# TYPE t_open gauge\n"
				    "t_open{dst=\"10.1.0.0\"} 0\nt_open{dst=\"10.1.0.1\"} 1\n");
	strbuf_free(&sb);
	agg_free(a);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cached_equals_plain),
		cmocka_unit_test(test_cached_segments),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_has_new),
		cmocka_unit_test(test_gauge_snapshot_unchanged),
		cmocka_unit_test(test_integer_spelling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
