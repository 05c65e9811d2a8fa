// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/attrsel.c: attributes.select parsed by config_parse(),
 * then the exact mask each family gets (include replaces, exclude removes,
 * entries apply in file order, "*" = all, globs), and the messages for names
 * and patterns that no family used. No root, no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metrics/attrsel.h"
#include "config/config.h"

static const char *const flow_bytes[] = { "direction",	 "protocol", "role",	 "src_process",
					  "dst_address", "dst_port", "dst_name", "dst_class",
					  "dst_zone",	 "src_pid",  "src_exe",	 NULL };
#define FLOW_BYTES_DEFAULT 0x1ffULL /* direction .. dst_zone */

static const char *const flow_rtt[] = { "role",	    "src_process", "dst_address", "dst_port",
					"dst_name", "src_pid",	   NULL };
#define FLOW_RTT_DEFAULT 0x1fULL

static const char *const dns_queries[] = {
	"qtype", "rcode", "server", "src_process", "name", NULL
};
#define DNS_QUERIES_DEFAULT 0x7ULL

static struct attrsel *sel_from_yaml(const char *yaml)
{
	static struct config cfg;
	char err[512];
	struct attrsel *s;

	if (config_parse(yaml, strlen(yaml), "test.yaml", &cfg, err, sizeof(err)))
		fail_msg("config_parse: %s", err);
	s = attrsel_new(&cfg);
	assert_non_null(s);
	return s;
}

/* Bits for the named attributes of `all`. */
static uint64_t bits(const char *const *all, const char *names)
{
	char buf[256], *tok, *save;
	uint64_t m = 0;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		for (i = 0; all[i]; i++) {
			if (!strcmp(all[i], tok))
				break;
		}
		if (!all[i])
			fail_msg("test bug: no attribute %s", tok);
		m |= UINT64_C(1) << i;
	}
	return m;
}

static void check_mask(struct attrsel *s, const char *family, const char *const *all, uint64_t def,
		       uint64_t want)
{
	uint64_t got = 0xdeadbeef;
	int ret;

	ret = attrsel_resolve(s, family, all, def, &got);
	if (ret)
		fail_msg("%s: attrsel_resolve returned %d", family, ret);
	if (got != want)
		fail_msg("%s: expected mask 0x%llx, got 0x%llx", family, (unsigned long long)want,
			 (unsigned long long)got);
}

static void check_unused(const struct attrsel *s, const char *want)
{
	char err[512];
	int ret;

	ret = attrsel_unused(s, err, sizeof(err));
	if (!want) {
		if (ret)
			fail_msg("attrsel_unused: expected 0, got %d: %s", ret, err);
		return;
	}
	if (ret != -EINVAL)
		fail_msg("attrsel_unused: expected -EINVAL, got %d", ret);
	if (strcmp(err, want))
		fail_msg("attrsel_unused:\n  expected: %s\n  actual:   %s", want, err);
}

static void test_no_select(void **state)
{
	struct attrsel *s = sel_from_yaml("log_level: info\n");

	check_mask(s, "gespann_flow_bytes_total", flow_bytes, FLOW_BYTES_DEFAULT,
		   FLOW_BYTES_DEFAULT);
	/* bits past the last name are dropped */
	check_mask(s, "gespann_flow_rtt_seconds", flow_rtt, ~0ULL, 0x3f);
	check_unused(s, NULL);
	attrsel_free(s);
}

static void test_precedence(void **state)
{
	struct attrsel *s = sel_from_yaml("attributes:\n"
					  "  select:\n"
					  "    \"gespann_flow_*\":\n"
					  "      include: [src_process, dst_address, src_pid]\n"
					  "    \"gespann_flow_bytes*\":\n"
					  "      exclude: [src_pid]\n"
					  "    gespann_flow_bytes_total:\n"
					  "      include: [\"*\"]\n"
					  "      exclude: [dst_name, src_exe]\n"
					  "    \"gespann_dns_*\":\n"
					  "      exclude: [server]\n"
					  "    \"gespann_dns_[q]ueries_total\":\n"
					  "      include: [qtype, name]\n"
					  "      exclude: [qtype]\n");

	/* entry 1 then 2 then 3: the last include wins, excludes after it apply */
	check_mask(s, "gespann_flow_bytes_total", flow_bytes, FLOW_BYTES_DEFAULT,
		   bits(flow_bytes, "direction protocol role src_process dst_address dst_port "
				    "dst_class dst_zone src_pid"));
	/* only entry 1 */
	check_mask(s, "gespann_flow_rtt_seconds", flow_rtt, FLOW_RTT_DEFAULT,
		   bits(flow_rtt, "src_process dst_address src_pid"));
	/* exclude from the default, then an include that replaces it */
	check_mask(s, "gespann_dns_queries_total", dns_queries, DNS_QUERIES_DEFAULT,
		   bits(dns_queries, "name"));
	check_mask(s, "gespann_dns_latency_seconds", dns_queries, DNS_QUERIES_DEFAULT,
		   bits(dns_queries, "qtype rcode"));
	/* no pattern matches: the default */
	check_mask(s, "gespann_process_bytes_total", dns_queries, DNS_QUERIES_DEFAULT,
		   DNS_QUERIES_DEFAULT);
	check_unused(s, NULL);
	attrsel_free(s);
}

static void test_star_exclude_and_empty(void **state)
{
	struct attrsel *s = sel_from_yaml("attributes:\n"
					  "  select:\n"
					  "    \"*\": {exclude: [\"*\"]}\n"
					  "    \"*_total\": {include: [protocol]}\n");

	check_mask(s, "gespann_flow_bytes_total", flow_bytes, FLOW_BYTES_DEFAULT,
		   bits(flow_bytes, "protocol"));
	check_mask(s, "gespann_flow_rtt_seconds", flow_rtt, FLOW_RTT_DEFAULT, 0);
	check_unused(s, NULL);
	attrsel_free(s);
}

static void test_unused_name(void **state)
{
	struct attrsel *s = sel_from_yaml("attributes:\n"
					  "  select:\n"
					  "    \"gespann_flow_*\":\n"
					  "      include: [src_process, dst_nmae]\n");

	check_mask(s, "gespann_flow_bytes_total", flow_bytes, FLOW_BYTES_DEFAULT,
		   bits(flow_bytes, "src_process"));
	check_mask(s, "gespann_flow_rtt_seconds", flow_rtt, FLOW_RTT_DEFAULT,
		   bits(flow_rtt, "src_process"));
	check_unused(s,
		     "test.yaml:3: attributes.select 'gespann_flow_*': include: unknown attribute "
		     "'dst_nmae' (gespann_flow_bytes_total has: direction, protocol, role, "
		     "src_process, dst_address, dst_port, dst_name, dst_class, dst_zone, "
		     "src_pid, src_exe)");
	attrsel_free(s);
}

/* A name one family lacks is fine when another family of the pattern has it. */
static void test_name_used_by_one_family(void **state)
{
	struct attrsel *s = sel_from_yaml("attributes:\n"
					  "  select:\n"
					  "    \"gespann_*\":\n"
					  "      exclude: [qtype, direction, dst_mame]\n");

	check_mask(s, "gespann_flow_bytes_total", flow_bytes, FLOW_BYTES_DEFAULT,
		   FLOW_BYTES_DEFAULT & ~bits(flow_bytes, "direction"));
	check_mask(s, "gespann_dns_queries_total", dns_queries, DNS_QUERIES_DEFAULT,
		   bits(dns_queries, "rcode server"));
	check_unused(s, "test.yaml:3: attributes.select 'gespann_*': exclude: unknown attribute "
			"'dst_mame' "
			"(gespann_flow_bytes_total has: direction, protocol, role, src_process, "
			"dst_address, dst_port, dst_name, dst_class, dst_zone, src_pid, src_exe)");
	attrsel_free(s);
}

static void test_unmatched_pattern(void **state)
{
	struct attrsel *s = sel_from_yaml("attributes:\n"
					  "  select:\n"
					  "    \"gespann_flow_*\": {exclude: [dst_name]}\n"
					  "    \"gespann_flwo_*\": {exclude: [dst_name]}\n");

	check_mask(s, "gespann_flow_rtt_seconds", flow_rtt, FLOW_RTT_DEFAULT,
		   bits(flow_rtt, "role src_process dst_address dst_port"));
	check_unused(s, "test.yaml:4: attributes.select 'gespann_flwo_*': the pattern matches no "
			"metric family");
	attrsel_free(s);
}

static void test_bad_input(void **state)
{
	const char *many[66];
	struct config cfg;
	struct attrsel *s;
	uint64_t m = 7;
	char err[8] = "x";
	size_t i;

	config_set_defaults(&cfg);
	s = attrsel_new(&cfg);
	assert_non_null(s);
	for (i = 0; i < 65; i++)
		many[i] = "a";
	many[65] = NULL;
	assert_int_equal(attrsel_resolve(s, "f", many, 1, &m), -EINVAL);
	assert_int_equal(m, 7);
	many[64] = NULL; /* 64 names: the maximum */
	assert_int_equal(attrsel_resolve(s, "f", many, ~0ULL, &m), 0);
	assert_true(m == ~0ULL);
	assert_int_equal(attrsel_resolve(NULL, "f", many, 1, &m), -EINVAL);
	assert_int_equal(attrsel_resolve(s, NULL, many, 1, &m), -EINVAL);
	assert_int_equal(attrsel_resolve(s, "f", NULL, 1, &m), -EINVAL);
	assert_int_equal(attrsel_resolve(s, "f", many, 1, NULL), -EINVAL);
	assert_int_equal(attrsel_unused(s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(attrsel_unused(NULL, NULL, 0), 0);
	attrsel_free(s);
	attrsel_free(NULL);
	errno = 0;
	assert_null(attrsel_new(NULL));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_select),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_star_exclude_and_empty),
		cmocka_unit_test(test_unused_name),
		cmocka_unit_test(test_name_used_by_one_family),
		cmocka_unit_test(test_unmatched_pattern),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
