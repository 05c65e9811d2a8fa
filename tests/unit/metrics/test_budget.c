// SPDX-License-Identifier: MIT
/*
 * The series budget: with the default configuration, a host whose traffic
 * fills every attribute-selected family (flows, processes, DNS) to its cap
 * renders a scrape under 5 MB uncompressed. Each family is filled through
 * agg (as families.c declares it: catalogue row, default attributes,
 * attributes.max_series) with long but real label values (15-character
 * process names, full-length IPv6 addresses, 48-character host names,
 * 12-digit values) until a label set folds into `other`; the families that
 * do not take their labels from the traffic are what the golden exposition
 * holds (tests/golden/metrics.prom). Prints each family's label sets and
 * bytes: the table docs/series-budget.md quotes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "config/config.h"
#include "metrics/agg.h"
#include "metrics/attrsel.h"
#include "metrics/catalogue.h"
#include "metrics/registry.h"
#include "exporters/httpbody.h"

#define BUDGET_BYTES  (5u * 1000 * 1000)
#define TIMING_ROUNDS 15

/* A long, distinct value for label `name` of label set i. */
static void label_value(char *buf, size_t len, const char *name, unsigned i)
{
	if (strstr(name, "address") || !strcmp(name, "server"))
		snprintf(buf, len, "2001:0db8:85a3:0000:0000:8a2e:%04x:%04x", i >> 16, i & 0xffff);
	else if (!strcmp(name, "dst_name") || !strcmp(name, "name"))
		snprintf(buf, len, "service-%08u.eu-west-1.internal.example.com", i);
	else if (strstr(name, "process") || strstr(name, "service"))
		snprintf(buf, len, "proc-%010u", i);
	else if (strstr(name, "port"))
		snprintf(buf, len, "%u", 50000 + i % 15536);
	else if (!strcmp(name, "direction"))
		snprintf(buf, len, "%s", i & 1 ? "received" : "sent");
	else if (!strcmp(name, "state"))
		snprintf(buf, len, "established");
	else if (!strcmp(name, "outcome"))
		snprintf(buf, len, "refused");
	else
		snprintf(buf, len, "value-%012u", i);
}

/* Traffic for label set i of family d (every bucket of a histogram). */
static void add_set(struct agg *a, const struct metric_def *d, unsigned i)
{
	char vals[64][80];
	const char *v[64];
	const double *bounds;
	size_t nb;

	bounds = catalogue_bounds(d->bounds, &nb);
	for (size_t n = 0; d->labels[n]; n++) {
		label_value(vals[n], sizeof(vals[n]), d->labels[n], i);
		v[n] = vals[n];
	}
	if (d->type == METRIC_COUNTER)
		assert_int_equal(agg_add(a, v, 123456789012.0), 0);
	else if (d->type == METRIC_GAUGE)
		assert_int_equal(agg_gauge_add(a, v, 12345), 0);
	else
		for (size_t b = 0; b <= nb; b++) /* every bucket non-zero */
			assert_int_equal(agg_observe(a, v, b < nb ? bounds[b] : 1e6), 0);
}

/* Fill one family to its cap; returns its label sets. */
static size_t fill(struct registry *reg, struct attrsel *sel, const struct config *cfg,
		   enum metric_id id, struct agg **out)
{
	const struct metric_def *d = &catalogue[id];
	const double *bounds;
	uint64_t mask = 0;
	struct agg *a;
	size_t nb;

	assert_int_equal(attrsel_resolve(sel, d->name, d->labels, d->defaults, &mask), 0);
	bounds = catalogue_bounds(d->bounds, &nb);
	a = agg_new(reg, d->name, d->help, d->type, d->labels, mask, bounds, nb, cfg->max_series);
	assert_non_null(a);
	if (d->type == METRIC_GAUGE)
		agg_gauge_begin(a);
	for (unsigned i = 0; agg_dropped(a) < 2; i++)
		add_set(a, d, i);
	assert_int_equal(agg_publish(a), 0);
	*out = a;
	return agg_series(a);
}

/* Bytes of the whole exposition of reg. */
static size_t rendered_bytes(const struct registry *reg)
{
	struct strbuf sb;
	size_t n;

	strbuf_init(&sb);
	assert_int_equal(registry_render_prometheus(reg, &sb), 0);
	n = sb.len;
	strbuf_free(&sb);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* What a scrape at the caps costs, step by step. */
enum step {
	ST_PUBLISH,
	ST_TEXT,
	ST_OM,
	ST_GZIP,
	ST_SCRAPE,
	ST_SAME_TEXT,
	ST_SAME_OM,
	ST_ONE_TEXT,
	ST_ONE_OM,
	ST_ALL_TEXT,
	ST_ALL_OM,
	ST_MAX
};
static const char *const step_names[] = {
	[ST_PUBLISH] = "publish (every agg family, no traffic since the last)",
	[ST_TEXT] = "render from scratch, text 0.0.4",
	[ST_OM] = "render from scratch, OpenMetrics",
	[ST_GZIP] = "gzip of the whole text body (level 1)",
	[ST_SCRAPE] = "scrape from scratch: publish + render text + gzip",
	[ST_SAME_TEXT] = "cached scrape, nothing changed: publish + render + gzip, text",
	[ST_SAME_OM] = "cached scrape, nothing changed: publish + render + gzip, OpenMetrics",
	[ST_ONE_TEXT] = "cached scrape, 1 label set per counter/histogram family: text",
	[ST_ONE_OM] = "cached scrape, 1 label set per counter/histogram family: OpenMetrics",
	[ST_ALL_TEXT] = "cached scrape, every counter/histogram label set changed: text",
	[ST_ALL_OM] = "cached scrape, every counter/histogram label set changed: OpenMetrics",
};

/* Traffic on label sets 0..n-1 of every counter and histogram family. */
static void traffic(struct agg **a, size_t n_agg, unsigned n)
{
	for (size_t k = 0; k < n_agg; k++) {
		const struct metric_def *d = &catalogue[M_FLOW_BYTES + k];

		for (unsigned i = 0; d->type != METRIC_GAUGE && i < n; i++)
			add_set(a[k], d, i);
	}
}

/* publish + registry_render_cached() with gzip, in ms. */
static double cached_scrape(struct registry *reg, struct agg **a, size_t n_agg,
			    enum registry_format fmt)
{
	struct registry_render_opts o = { .format = fmt, .shown_upto = UINT64_MAX };
	struct strbuf sb, gz;
	double t0 = now_ms();

	strbuf_init(&sb);
	strbuf_init(&gz);
	for (size_t i = 0; i < n_agg; i++)
		assert_int_equal(agg_publish(a[i]), 0);
	assert_int_equal(registry_render_cached(reg, &o, &sb, &gz), 0);
	t0 = now_ms() - t0;
	strbuf_free(&sb);
	strbuf_free(&gz);
	return t0;
}

/*
 * Prints the median and min-max of each step over TIMING_ROUNDS rounds: a
 * printout for docs/benchmarks.md, not an assertion (the machine is shared).
 * A scraper that has seen everything renders each round, as a steady
 * Prometheus does.
 */
static void print_timings(struct registry *reg, struct agg **a, size_t n_agg)
{
	struct registry_render_opts text = { .format = REGISTRY_TEXT, .shown_upto = UINT64_MAX };
	struct registry_render_opts om = { .format = REGISTRY_OPENMETRICS,
					   .shown_upto = UINT64_MAX };
	double t[ST_MAX][TIMING_ROUNDS], t0;
	struct http_body_set set = { 0 };
	struct http_body *b;
	struct strbuf sb, gz;
	size_t len = 0, gz_len = 0;

	strbuf_init(&sb);
	strbuf_init(&gz);
	for (int r = 0; r < TIMING_ROUNDS; r++) {
		t0 = now_ms();
		for (size_t i = 0; i < n_agg; i++)
			assert_int_equal(agg_publish(a[i]), 0);
		t[ST_PUBLISH][r] = now_ms() - t0;
		t0 = now_ms();
		assert_int_equal(registry_render(reg, &om, &sb), 0);
		t[ST_OM][r] = now_ms() - t0;
		strbuf_reset(&sb);
		t0 = now_ms();
		assert_int_equal(registry_render(reg, &text, &sb), 0);
		t[ST_TEXT][r] = now_ms() - t0;
		len = sb.len;
		b = http_body_new(&set, &sb, 0);
		assert_non_null(b);
		t0 = now_ms();
		assert_non_null(http_body_data(b, true, &gz_len));
		t[ST_GZIP][r] = now_ms() - t0;
		http_body_put(b);
		t[ST_SCRAPE][r] = t[ST_PUBLISH][r] + t[ST_TEXT][r] + t[ST_GZIP][r];
		/* the caches of both formats are filled by the round before */
		cached_scrape(reg, a, n_agg, REGISTRY_TEXT);
		cached_scrape(reg, a, n_agg, REGISTRY_OPENMETRICS);
		t[ST_SAME_TEXT][r] = cached_scrape(reg, a, n_agg, REGISTRY_TEXT);
		t[ST_SAME_OM][r] = cached_scrape(reg, a, n_agg, REGISTRY_OPENMETRICS);
		traffic(a, n_agg, 1);
		t[ST_ONE_TEXT][r] = cached_scrape(reg, a, n_agg, REGISTRY_TEXT);
		traffic(a, n_agg, 1);
		t[ST_ONE_OM][r] = cached_scrape(reg, a, n_agg, REGISTRY_OPENMETRICS);
		traffic(a, n_agg, 2000);
		t[ST_ALL_TEXT][r] = cached_scrape(reg, a, n_agg, REGISTRY_TEXT);
		traffic(a, n_agg, 2000);
		t[ST_ALL_OM][r] = cached_scrape(reg, a, n_agg, REGISTRY_OPENMETRICS);
	}
	/* the gzip form made of cached pieces, against gzip of the whole */
	strbuf_reset(&sb);
	assert_int_equal(registry_render(reg, &text, &sb), 0);
	len = sb.len;
	b = http_body_new(&set, &sb, 0);
	assert_non_null(b);
	assert_non_null(http_body_data(b, true, &gz_len));
	http_body_put(b);
	assert_int_equal(registry_render_cached(reg, &text, &sb, &gz), 0);
	assert_int_equal(sb.len, len);
	printf("scrape at the caps: %zu bytes, %zu gzipped whole, %zu from cached pieces; "
	       "ms over %d rounds\n",
	       len, gz_len, gz.len, TIMING_ROUNDS);
	strbuf_free(&gz);
	printf("| step | median ms | min-max ms |\n|---|---:|---:|\n");
	for (int s = 0; s < ST_MAX; s++) {
		qsort(t[s], TIMING_ROUNDS, sizeof(double), cmp_double);
		printf("| %s | %.2f | %.2f-%.2f |\n", step_names[s], t[s][TIMING_ROUNDS / 2],
		       t[s][0], t[s][TIMING_ROUNDS - 1]);
	}
	strbuf_free(&sb);
}

static void test_default_scrape_at_caps(void **state)
{
	struct config cfg;
	struct registry *reg = registry_new();
	struct attrsel *sel;
	struct agg *a[M_DNS_LATENCY - M_FLOW_BYTES + 1];
	struct stat st;
	size_t total, before = 0, now, sets, fixed;

	(void)state;
	config_set_defaults(&cfg);
	sel = attrsel_new(&cfg);
	assert_non_null(sel);
	printf("attributes.max_series: %llu (default)\n", (unsigned long long)cfg.max_series);
	printf("| family | label sets at the cap | bytes |\n|---|---:|---:|\n");
	for (int id = M_FLOW_BYTES; id <= M_DNS_LATENCY; id++) {
		sets = fill(reg, sel, &cfg, id, &a[id - M_FLOW_BYTES]);
		now = rendered_bytes(reg);
		printf("| `%s` | %zu + other | %zu |\n", catalogue[id].name, sets - 1,
		       now - before);
		before = now;
	}
	/* the families whose labels do not come from the traffic */
	assert_int_equal(stat("tests/golden/metrics.prom", &st), 0);
	fixed = (size_t)st.st_size;
	total = before + fixed;
	printf("| the other families (tests/golden/metrics.prom) | | %zu |\n", fixed);
	printf("| total | | %zu |\n", total);
	assert_true(total < BUDGET_BYTES);
	print_timings(reg, a, sizeof(a) / sizeof(a[0]));
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		agg_free(a[i]);
	attrsel_free(sel);
	registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_scrape_at_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
