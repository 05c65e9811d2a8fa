// SPDX-License-Identifier: MIT
/*
 * The scope resolver (src/probes/scope.c) without root: host resolves to
 * "every namespace" (cookie 0), netns to the test's own namespace, and a
 * path that is not a namespace fails with the errno, never a cookie.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probes/scope.h"

static void test_host(void **state)
{
	struct config cfg = { .scope = SCOPE_HOST };
	struct scope s;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	assert_int_equal(probes_resolve_scope(&cfg, &s), 0);
	assert_int_equal(s.kind, SCOPE_HOST);
	assert_int_equal(s.netns_cookie, 0);
	assert_string_equal(s.path, "");
}

static void test_netns(void **state)
{
	struct config cfg = { .scope = SCOPE_NETNS };
	struct scope s;

	(void)state;
	assert_int_equal(probes_resolve_scope(&cfg, &s), 0);
	assert_int_equal(s.kind, SCOPE_NETNS);
	assert_int_not_equal(s.netns_cookie, 0);
	assert_string_equal(s.path, "");
}

static void test_bad_path(void **state)
{
	struct config cfg = { .scope = SCOPE_PATH, .scope_path = "/nonexistent/netns" };
	struct scope s;

	(void)state;
	assert_true(probes_resolve_scope(&cfg, &s) < 0);
	assert_int_equal(s.kind, SCOPE_PATH);
	assert_string_equal(s.path, "/nonexistent/netns");
	assert_int_equal(s.netns_cookie, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
