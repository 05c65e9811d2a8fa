// SPDX-License-Identifier: MIT
/*
 * redact_url() (src/util/redact.c), table-driven: the password of a URL's
 * userinfo never survives, the rest of the URL does, and text that is not
 * a URL with userinfo comes back unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/redact.h"

static const struct {
	const char *in, *out;
} cases[] = {
	{ "https://user:s3cr3t@host:4318/v1/metrics", "https://user:***@host:4318/v1/metrics" },
	{ "http://tok3n@host/x", "http://***@host/x" },
	{ "http://u:p@ss@host/x", "http://u:***@host/x" }, /* '@' in the password */
	{ "http://u:@host", "http://u:***@host" },
	{ "http://host/path@x", "http://host/path@x" }, /* '@' past the authority */
	{ "http://host:4318/v1/metrics", "http://host:4318/v1/metrics" },
	{ "http://h?q=a@b", "http://h?q=a@b" },
	{ "localhost:8125", "localhost:8125" },
	{ "unix:///run/dsd.socket", "unix:///run/dsd.socket" },
	{ "not a url @ all", "not a url @ all" },
	{ "", "" },
};

static void test_cases(void **state)
{
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		redact_url(cases[i].in, buf, sizeof(buf));
		if (strcmp(buf, cases[i].out))
			fail_msg("redact_url(\"%s\"): expected \"%s\", got \"%s\"", cases[i].in,
				 cases[i].out, buf);
	}
}

/* Cut short: still terminated, and the password is not half there. */
static void test_small(void **state)
{
	char buf[16];

	redact_url("https://user:s3cr3t@host/", buf, sizeof(buf));
	assert_string_equal(buf, "https://user:**");
	assert_null(strstr(buf, "s3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
