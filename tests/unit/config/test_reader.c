// SPDX-License-Identifier: MIT
/*
 * The reader's quoting rule for numbers (src/config/reader.c): a quoted
 * number is the number. Users quote ports ("8080"), the seed's own example
 * did, and refusing them made a first start fail for nothing. So for every
 * integer and duration key, and every value in the table, the quoted and the
 * bare spellings must give the same result: the same value, or the same
 * one-line error word for word (bounds included). Values whose YAML type
 * changes with quoting (null, booleans, the empty string) are tested by
 * test_config.c's bad_cases instead. And the nesting limit: 50,000 nested
 * collections (8.9 s in libyaml's loader) are refused with file:line in
 * well under a second; 64 levels (the top mapping counts) still load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/reader.h"
#include "util/clock.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* "%s" is the value: one integer or duration key in each place they live. */
static const char *const templates[] = {
	"max_connections: %s\n",
	"ring_buffer_size: %s\n",
	"attributes: {max_series: %s}\n",
	"dns:\n  max_names: %s\n",
	"processes: {max: %s}\n",
	"adapters:\n  - type: prometheus\n    settings:\n      port: %s\n",
	"idle_timeout: %s\n",
	"poll_interval: %s\n",
	"dns: {timeout: %s}\n",
	"adapters:\n  - type: datadog\n    settings:\n      flush_interval: %s\n",
	"adapters:\n  - type: otlp\n    settings:\n      timeout: %s\n",
};

/* In range, out of range, malformed: for integers and durations alike. */
/* clang-format off */
static const char *const values[] = {
	"0", "1", "15", "16", "4096", "8080", "9100", "65535", "65536", "70000",
	"16777216", "16777217", "99999999999999999999999",
	"-1", "+16", "010", "0x400", "1e3", "80.5", "1_024", "8080abc", "http",
	"1ms", "100ms", "999us", "30s", "10s", "11s", "1h", "5 s", "0s", "-5s", "s",
};
/* clang-format on */

static int parse(const char *tmpl, const char *value, const char *quote, struct config *cfg,
		 char *err, size_t errlen)
{
	char quoted[64], yaml[256];

	snprintf(quoted, sizeof(quoted), "%s%s%s", quote, value, quote);
	snprintf(yaml, sizeof(yaml), tmpl, quoted);
	memset(cfg, 0, sizeof(*cfg));
	return config_parse(yaml, strlen(yaml), "config.yaml", cfg, err, errlen);
}

static void test_quoted_is_bare(void **state)
{
	static const char *const quotes[] = { "\"", "'" };
	struct config *bare = calloc(1, sizeof(*bare)), *quoted = calloc(1, sizeof(*quoted));
	char err_bare[512], err_quoted[512];
	size_t t, v, q;
	int ok = 0;

	assert_non_null(bare);
	assert_non_null(quoted);
	for (t = 0; t < COUNT_OF(templates); t++) {
		for (v = 0; v < COUNT_OF(values); v++) {
			int rb = parse(templates[t], values[v], "", bare, err_bare,
				       sizeof(err_bare));

			ok += !rb;
			for (q = 0; q < COUNT_OF(quotes); q++) {
				int rq = parse(templates[t], values[v], quotes[q], quoted,
					       err_quoted, sizeof(err_quoted));

				if (rb != rq || strcmp(err_bare, err_quoted))
					fail_msg("%.*s = %s%s%s: expected (as bare) %d \"%s\", "
						 "got %d \"%s\"",
						 (int)strcspn(templates[t], ":"), templates[t],
						 quotes[q], values[v], quotes[q], rb, err_bare, rq,
						 err_quoted);
				/* both parsed from zeroed structs: padding compares too */
				if (!rb && memcmp(bare, quoted, sizeof(*bare)))
					fail_msg("%.*s = %s%s%s: parses to another config than "
						 "the bare %s",
						 (int)strcspn(templates[t], ":"), templates[t],
						 quotes[q], values[v], quotes[q], values[v]);
			}
		}
	}
	/* the table reaches both sides: some values pass, most do not */
	assert_true(ok > 10);
	free(bare);
	free(quoted);
}

/* "a: " then n '[' (or "{b: " for maps) and their closers, on line 2. */
static char *nested(size_t n, bool map)
{
	const char *open = map ? "{b: " : "[", *head = "log_level: info\na: ";
	char *t = malloc(5 * n + 32), *p = t;

	memcpy(p, head, strlen(head));
	p += strlen(head);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, open, strlen(open));
		p += strlen(open);
	}
	for (size_t i = 0; i < n; i++)
		*p++ = map ? '}' : ']';
	*p++ = '\n';
	*p = '\0';
	return t;
}

static void check_deep(size_t n, bool map, const char *want)
{
	struct config *cfg = malloc(sizeof(*cfg));
	char err[512] = "", *t = nested(n, map);
	uint64_t t0 = mono_ns(), ms;
	int ret = config_parse(t, strlen(t), "deep.yaml", cfg, err, sizeof(err));

	ms = (mono_ns() - t0) / 1000000;
	print_message("%zu nested %s: %llu ms: %s\n", n, map ? "maps" : "sequences",
		      (unsigned long long)ms, err);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err, want);
	if (ms > 200)
		fail_msg("%zu levels took %llu ms", n, (unsigned long long)ms);
	free(t);
	free(cfg);
}

static void test_nesting_limit(void **state)
{
	const char *deep = "deep.yaml:2: YAML nested deeper than 64 levels";
	const char *known = "deep.yaml:2: unknown key \"a\" (known: log_level, scope, "
			    "idle_timeout, max_connections, max_udp_flows, ring_buffer_size, "
			    "poll_interval, adapters, attributes, networks, zone, dns, processes, "
			    "seccomp)";

	check_deep(50000, false, deep);
	check_deep(50000, true, deep);
	/* the top-level mapping is the first level: 63 below it load */
	check_deep(CONFIG_MAX_DEPTH - 1, false, known);
	check_deep(CONFIG_MAX_DEPTH - 1, true, known);
	check_deep(CONFIG_MAX_DEPTH, false, deep);
	check_deep(CONFIG_MAX_DEPTH, true, deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoted_is_bare),
		cmocka_unit_test(test_nesting_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
