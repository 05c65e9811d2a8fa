// SPDX-License-Identifier: MIT
/*
 * Unit tests for the metric catalogue: every row complete (name, type, help,
 * unit, labels list, DogStatsD name), no two rows sharing a Prometheus or a
 * DogStatsD name, default labels among the row's labels; and README.md's
 * metric tables (the "Metric | Type | Meaning" and "Metric | Type | Default
 * labels" tables, the "DogStatsD name | Type | Prometheus twin" table)
 * listing every row with its type and DogStatsD name. Run from the
 * repository root (README_PATH overrides where README.md is).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/catalogue.h"

static const char *type_word(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "?";
}

/* DogStatsD's type letters as README writes them. */
static const char *dsd_type_word(enum metric_type t)
{
	return t == METRIC_COUNTER ? "c" : t == METRIC_GAUGE ? "g" : "d/h";
}

static void test_rows_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < M_MAX; i++) {
		const struct metric_def *d = &catalogue[i];
		size_t n = 0, nb;

		if (!d->name || !d->name[0])
			fail_msg("row %zu has no name", i);
		if (strcmp(type_word(d->type), "?") == 0)
			fail_msg("%s: no type", d->name);
		if (!d->help || !d->help[0])
			fail_msg("%s: no help", d->name);
		if (!d->unit || !d->unit[0])
			fail_msg("%s: no unit", d->name);
		if (!d->labels)
			fail_msg("%s: no labels list", d->name);
		if (!d->dsd_name || !d->dsd_name[0])
			fail_msg("%s: no DogStatsD name", d->name);
		while (d->labels[n])
			n++;
		if (d->defaults >> n)
			fail_msg("%s: a default label beyond its %zu labels", d->name, n);
		if ((d->type == METRIC_HISTOGRAM) != (catalogue_bounds(d->bounds, &nb) != NULL))
			fail_msg("%s: bounds for histograms and only for them", d->name);
		assert_ptr_equal(catalogue_find(d->name), d);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(d->name, catalogue[j].name))
				fail_msg("two rows named %s", d->name);
			if (!strcmp(d->dsd_name, catalogue[j].dsd_name))
				fail_msg("%s and %s share the DogStatsD name %s", d->name,
					 catalogue[j].name, d->dsd_name);
		}
	}
	assert_null(catalogue_find("gespann_no_such_family"));
}

/* ==== README.md ==== */

static char *read_readme(void)
{
	const char *path = getenv("README_PATH") ? getenv("README_PATH") : "README.md";
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The rows of the table whose header line is header: each line "| a | b |
 * ..." after the header and its |---| line, until the first line not
 * starting with '|'. Cells are copied into cells[row][col]. */
#define MAX_ROWS 80
#define MAX_CELL 1024
struct table {
	size_t n;
	char cell[MAX_ROWS][3][MAX_CELL];
};

static void read_table(const char *text, const char *header, struct table *t)
{
	const char *p = strstr(text, header);

	memset(t, 0, sizeof(*t));
	if (!p)
		fail_msg("README.md has no table \"%s\"", header);
	p = strchr(p, '\n') + 1; /* the |---| line */
	p = strchr(p, '\n') + 1;
	while (*p == '|' && t->n < MAX_ROWS) {
		const char *end = strchr(p, '\n');

		for (int c = 0; c < 3; c++) {
			const char *q = strchr(p + 1, '|');
			size_t len;

			if (!q || q > end)
				fail_msg("README.md: short row in \"%s\"", header);
			len = (size_t)(q - p - 1);
			if (len >= MAX_CELL)
				len = MAX_CELL - 1;
			memcpy(t->cell[t->n][c], p + 1, len);
			p = q;
		}
		t->n++;
		p = end ? end + 1 : p + strlen(p);
	}
}

/* Whether cell names the metric: `name` or `name{...}` in backquotes. */
static bool cell_names(const char *cell, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strchr(cell, '`'); p; p = strchr(p + 1, '`')) {
		if (!strncmp(p + 1, name, n) && (p[n + 1] == '`' || p[n + 1] == '{'))
			return true;
	}
	return false;
}

static void trim(const char *cell, char *out, size_t size)
{
	while (*cell == ' ')
		cell++;
	snprintf(out, size, "%s", cell);
	for (size_t n = strlen(out); n && out[n - 1] == ' '; n--)
		out[n - 1] = '\0';
}

static void test_readme_tables(void **state)
{
	static struct table core, flow, dsd;
	char *text = read_readme();
	char want[160], got[MAX_CELL];

	(void)state;
	read_table(text, "| Metric | Type | Meaning |", &core);
	read_table(text, "| Metric | Type | Default labels |", &flow);
	read_table(text, "| DogStatsD name | Type | Prometheus twin |", &dsd);
	for (size_t i = 0; i < M_MAX; i++) {
		const struct metric_def *d = &catalogue[i];
		bool found = false;

		for (int t = 0; t < 2 && !found; t++) {
			const struct table *tb = t ? &flow : &core;

			for (size_t r = 0; r < tb->n && !found; r++) {
				if (!cell_names(tb->cell[r][0], d->name))
					continue;
				found = true;
				trim(tb->cell[r][1], got, sizeof(got));
				if (strcmp(got, type_word(d->type)))
					fail_msg("README.md: %s is a %s, not a %s", d->name,
						 type_word(d->type), got);
			}
		}
		if (!found)
			fail_msg("README.md: %s is in no metric table", d->name);
		found = false;
		snprintf(want, sizeof(want), "`gespann.%s`", d->dsd_name);
		for (size_t r = 0; r < dsd.n && !found; r++) {
			if (!cell_names(dsd.cell[r][2], d->name))
				continue;
			found = true;
			trim(dsd.cell[r][0], got, sizeof(got));
			if (strcmp(got, want))
				fail_msg("README.md: %s is %s in DogStatsD, not %s", d->name, want,
					 got);
			trim(dsd.cell[r][1], got, sizeof(got));
			if (strcmp(got, dsd_type_word(d->type)))
				fail_msg("README.md: %s is of DogStatsD type %s, not %s", want,
					 dsd_type_word(d->type), got);
		}
		if (!found)
			fail_msg("README.md: %s is not in the DogStatsD table", d->name);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_readme_tables),
	};

	return cmocka_run_group_tests_name("catalogue", tests, NULL, NULL);
}
