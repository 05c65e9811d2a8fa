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

#include <cmocka.h>

#include "config/config.h"
#include "metrics/agg.h"
#include "metrics/attrsel.h"
#include "metrics/catalogue.h"
#include "metrics/registry.h"

#define BUDGET_BYTES (5u * 1000 * 1000)

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

/* Fill one family to its cap; returns its label sets. */
static size_t fill(struct registry *reg, struct attrsel *sel, const struct config *cfg,
		   enum metric_id id, struct agg **out)
{
	const struct metric_def *d = &catalogue[id];
	char vals[64][80];
	const char *v[64];
	const double *bounds;
	uint64_t mask = 0;
	size_t nb, n;
	struct agg *a;

	assert_int_equal(attrsel_resolve(sel, d->name, d->labels, d->defaults, &mask), 0);
	bounds = catalogue_bounds(d->bounds, &nb);
	a = agg_new(reg, d->name, d->help, d->type, d->labels, mask, bounds, nb, cfg->max_series);
	assert_non_null(a);
	if (d->type == METRIC_GAUGE)
		agg_gauge_begin(a);
	for (unsigned i = 0; agg_dropped(a) < 2; i++) {
		for (n = 0; d->labels[n]; n++) {
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
