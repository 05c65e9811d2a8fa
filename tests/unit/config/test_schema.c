// SPDX-License-Identifier: MIT
/*
 * The config tables themselves: every row complete and its default inside
 * its own bounds, the generated default YAML equal to config_set_defaults(),
 * the README's settings table in step with the rows (every row there with
 * its default, nothing there that is not a row), and gespann.yaml equal to
 * the generated text. README.md and gespann.yaml are read from the working
 * directory (make unit runs from the top of the tree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "readme_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"

#define MAX_KEYS 128

struct key_row {
	char key[96];  /* the README's Key cell */
	char def[160]; /* its Default cell */
	int seen;
};

struct key_set {
	struct key_row rows[MAX_KEYS];
	size_t n;
};

/* Every leaf row, as the README names it: `a.b`, or `settings.k` (type). */
static void collect(struct key_set *set, const struct config_section *sec, const char *prefix,
		    const char *kind)
{
	size_t i;

	for (i = 0; i < sec->n_rows; i++) {
		const struct config_row *row = &sec->rows[i];
		struct key_row *k;
		char text[128];

		if (row->type == CONFIG_SECTION) {
			collect(set, row->section, row->key, kind);
			continue;
		}
		assert_true(set->n < MAX_KEYS);
		k = &set->rows[set->n++];
		if (kind)
			snprintf(k->key, sizeof(k->key), "`settings.%s` (%s)", row->key, kind);
		else if (prefix)
			snprintf(k->key, sizeof(k->key), "`%s.%s`", prefix, row->key);
		else
			snprintf(k->key, sizeof(k->key), "`%s`", row->key);
		config_row_default_text(row, text, sizeof(text));
		snprintf(k->def, sizeof(k->def), "`%s`", text);
	}
}

static void collect_all(struct key_set *set)
{
	const struct config_adapter_kind *kind;

	memset(set, 0, sizeof(*set));
	collect(set, config_top_section(), NULL, NULL);
	for (kind = config_adapter_kinds; kind->name; kind++)
		collect(set, kind->settings, NULL, kind->name);
}

static void test_readme_table(void **state)
{
	struct key_set set;
	char line[1024], key[160], def[160];
	int in_table = 0, found_table = 0, bad = 0;
	FILE *f = fopen("README.md", "r");
	size_t i;

	if (!f)
		fail_msg("README.md: cannot open (run from the top of the tree)");
	collect_all(&set);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "| Key | Default | Meaning |", 27)) {
			in_table = found_table = 1;
			continue;
		}
		if (!in_table)
			continue;
		if (line[0] != '|') {
			in_table = 0;
			continue;
		}
		if (!strncmp(line, "|---", 4))
			continue;
		if (readme_cell(line, 0, key, sizeof(key)) ||
		    readme_cell(line, 1, def, sizeof(def)))
			fail_msg("README.md: settings table: malformed line: %s", line);
		for (i = 0; i < set.n && strcmp(set.rows[i].key, key); i++)
			;
		if (i == set.n) {
			print_error("README.md: settings table: %s is not a config row\n", key);
			bad = 1;
			continue;
		}
		set.rows[i].seen = 1;
		if (strcmp(set.rows[i].def, def)) {
			print_error("README.md: settings table: %s: expected default %s, got %s\n",
				    key, set.rows[i].def, def);
			bad = 1;
		}
	}
	fclose(f);
	if (!found_table)
		fail_msg("README.md: no \"| Key | Default | Meaning |\" table");
	for (i = 0; i < set.n; i++) {
		if (!set.rows[i].seen) {
			print_error("README.md: settings table: missing row | %s | %s | ... |\n",
				    set.rows[i].key, set.rows[i].def);
			bad = 1;
		}
	}
	if (bad)
		fail_msg("README.md: the settings table and the config rows differ (above)");
}

/* Every row: a key, a doc line, a target inside reach, a default in bounds. */
static void check_rows(const struct config_section *sec)
{
	size_t i;

	for (i = 0; i < sec->n_rows; i++) {
		const struct config_row *row = &sec->rows[i];

		assert_non_null(row->key);
		if (!row->doc)
			fail_msg("row %s: no description", row->key);
		switch (row->type) {
		case CONFIG_UINT:
		case CONFIG_DURATION:
			if (row->def < row->min || row->def > row->max)
				fail_msg("row %s: default %llu outside [%llu, %llu]", row->key,
					 (unsigned long long)row->def, (unsigned long long)row->min,
					 (unsigned long long)row->max);
			break;
		case CONFIG_CHOICE:
			assert_true(row->n_names > 0);
			assert_int_equal(row->size, sizeof(int));
			break;
		case CONFIG_BOOL:
			assert_int_equal(row->size, sizeof(int));
			break;
		case CONFIG_STRING:
			if (row->def_str && strlen(row->def_str) >= row->size && !row->parse)
				fail_msg("row %s: default longer than its field", row->key);
			break;
		case CONFIG_LIST:
		case CONFIG_MAP:
			if (!row->parse)
				fail_msg("row %s: a list or map needs its parser", row->key);
			break;
		case CONFIG_SECTION:
			check_rows(row->section);
			break;
		}
	}
}

/* Every row SIGHUP may change, as "`a.b`", into out (space-separated, in
 * table order). */
static void reload_keys(const struct config_section *sec, const char *prefix, char *out,
			size_t size)
{
	for (size_t i = 0; i < sec->n_rows; i++) {
		const struct config_row *row = &sec->rows[i];
		size_t len = strlen(out);

		if (row->type == CONFIG_SECTION) {
			reload_keys(row->section, row->key, out, size);
			continue;
		}
		if (!row->reload)
			continue;
		if (prefix)
			snprintf(out + len, size - len, "%s`%s.%s`", len ? " " : "", prefix,
				 row->key);
		else
			snprintf(out + len, size - len, "%s`%s`", len ? " " : "", row->key);
	}
}

/* README "Reload" names exactly the keys whose rows carry CONFIG_RELOAD. */
static void test_readme_reload_keys(void **state)
{
	char want[1024] = "", got[1024] = "", text[8192];
	const char *start, *end, *p;
	FILE *f = fopen("README.md", "r");
	size_t n;

	if (!f)
		fail_msg("README.md: cannot open (run from the top of the tree)");
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	while (!strstr(text, "These keys change at run time:") && n == sizeof(text) - 1) {
		/* slide: keep the last 1 KiB, read on */
		memmove(text, text + n - 1024, 1024);
		n = 1024 + fread(text + 1024, 1, sizeof(text) - 1 - 1024, f);
		text[n] = '\0';
	}
	fclose(f);
	start = strstr(text, "These keys change at run time:");
	if (!start)
		fail_msg("README.md: no \"These keys change at run time:\" sentence");
	end = strstr(start, "The others");
	if (!end)
		fail_msg("README.md: the reload key list does not end with \"The others\"");
	for (p = strchr(start, '`'); p && p < end; p = strchr(p + 1, '`')) {
		const char *q = strchr(p + 1, '`');
		size_t len = strlen(got);

		if (!q || q > end)
			break;
		snprintf(got + len, sizeof(got) - len, "%s%.*s", len ? " " : "", (int)(q - p + 1),
			 p);
		p = q;
	}
	reload_keys(config_top_section(), NULL, want, sizeof(want));
	if (strcmp(want, got))
		fail_msg("README.md \"Reload\": lists %s; the rows with CONFIG_RELOAD are %s", got,
			 want);
}

static void test_rows_complete(void **state)
{
	const struct config_adapter_kind *kind;

	check_rows(config_top_section());
	for (kind = config_adapter_kinds; kind->name; kind++)
		check_rows(kind->settings);
}

/* The generated text parses to config_set_defaults(), byte for byte. */
static void test_default_text_is_the_defaults(void **state)
{
	struct config *exp = calloc(1, sizeof(*exp)), *act = calloc(1, sizeof(*act));
	const char *text = config_default_text();
	char err[512] = "";
	int ret;

	assert_non_null(exp);
	assert_non_null(act);
	/* the last row made it into the buffer: nothing was cut */
	assert_non_null(strstr(text, "processes:\n"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	config_set_defaults(exp);
	memset(act, 0x5a, sizeof(*act));
	ret = config_parse(text, strlen(text), "<default>", act, err, sizeof(err));
	if (ret)
		fail_msg("config_default_text(): expected 0, got %d: %s", ret, err);
	/* both are built from a zeroed struct, so padding compares too */
	if (memcmp(exp, act, sizeof(*exp)))
		fail_msg("config_default_text() parses to something else than "
			 "config_set_defaults()");
	free(exp);
	free(act);
}

/*
 * gespann.yaml, the annotated example at the top of the tree, is the
 * generated default text byte for byte, so that it cannot drift from the
 * rows. On a difference: the first differing line, and how to regenerate.
 */
static void test_example_file(void **state)
{
	const char *text = config_default_text(), *p;
	static char file[32768];
	size_t len, i, line = 1;
	FILE *f = fopen("gespann.yaml", "r");

	if (!f)
		fail_msg("gespann.yaml: cannot open (run from the top of the tree)");
	len = fread(file, 1, sizeof(file) - 1, f);
	fclose(f);
	file[len] = '\0';
	if (len == strlen(text) && !memcmp(file, text, len))
		return;
	for (i = 0; i < len && file[i] == text[i]; i++)
		line += file[i] == '\n';
	p = text + i;
	while (p > text && p[-1] != '\n')
		p--;
	fail_msg("gespann.yaml differs from config_default_text() at line %zu:\n"
		 "  expected: %.*s\n  actual:   %.*s\n"
		 "regenerate it: make gespann.yaml (build/gespann -print-config > gespann.yaml)",
		 line, (int)strcspn(p, "\n"), p, (int)strcspn(file + (p - text), "\n"),
		 file + (p - text));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_complete),
		cmocka_unit_test(test_default_text_is_the_defaults),
		cmocka_unit_test(test_readme_table),
		cmocka_unit_test(test_readme_reload_keys),
		cmocka_unit_test(test_example_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
