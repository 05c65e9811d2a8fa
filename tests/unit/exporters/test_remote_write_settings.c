// SPDX-License-Identifier: MIT
/*
 * Unit tests for the settings of a `remote_write` adapter
 * (src/exporters/remote_write_settings.c): the defaults, every key set, and
 * bad files, each with the exact one-line error (file, line, key path) the
 * agent prints. Secrets never appear in an error. No root, no network.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static struct config *parse_ok(const char *yaml)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char err[512] = "";
	int ret;

	assert_non_null(cfg);
	ret = config_parse(yaml, strlen(yaml), "config.yaml", cfg, err, sizeof(err));
	if (ret)
		fail_msg("expected 0, got %d: %s\n%s", ret, err, yaml);
	return cfg;
}

static void test_defaults(void **state)
{
	struct config *cfg = parse_ok("adapters:\n  - type: remote_write\n");
	const struct adapter_config *ad = &cfg->adapters[0];

	assert_int_equal(cfg->n_adapters, 1);
	assert_int_equal(ad->type, ADAPTER_REMOTE_WRITE);
	assert_string_equal(ad->endpoint, "http://localhost:9090/api/v1/write");
	assert_int_equal(ad->interval_ns, 15000000000ULL);
	assert_int_equal(ad->timeout_ns, 10000000000ULL);
	assert_int_equal(ad->queue, 8);
	assert_int_equal(ad->queue_bytes, 16777216);
	assert_int_equal(ad->n_ext_labels, 0);
	assert_string_equal(ad->username, "");
	assert_string_equal(ad->bearer_token, "");
	free(cfg);
}

static void test_every_key(void **state)
{
	struct config *cfg =
		parse_ok("adapters:\n"
			 "  - type: remote_write\n"
			 "    settings:\n"
			 "      endpoint: https://vm.example:8428/api/v1/write\n"
			 "      interval: 5s\n"
			 "      timeout: 2s\n"
			 "      queue: 3\n"
			 "      queue_bytes: 65536\n"
			 "      external_labels: {cluster: eu1, _host: \"a b\"}\n"
			 "      username: agent\n"
			 "      password_file: /run/secrets/rw\n"
			 "  - type: remote_write\n"
			 "    settings: {bearer_token: abc.def}\n"
			 "  - type: remote_write\n"
			 "    settings: {bearer_token_file: /t, queue: 1024, ca_file: /ca.pem}\n");
	const struct adapter_config *ad = &cfg->adapters[0];

	assert_int_equal(cfg->n_adapters, 3);
	assert_string_equal(ad->endpoint, "https://vm.example:8428/api/v1/write");
	assert_int_equal(ad->interval_ns, 5000000000ULL);
	assert_int_equal(ad->timeout_ns, 2000000000ULL);
	assert_int_equal(ad->queue, 3);
	assert_int_equal(ad->queue_bytes, 65536);
	assert_int_equal(ad->n_ext_labels, 2);
	assert_string_equal(ad->ext_labels[0][0], "cluster");
	assert_string_equal(ad->ext_labels[0][1], "eu1");
	assert_string_equal(ad->ext_labels[1][0], "_host");
	assert_string_equal(ad->ext_labels[1][1], "a b");
	assert_string_equal(ad->username, "agent");
	assert_string_equal(ad->password_file, "/run/secrets/rw");
	assert_string_equal(cfg->adapters[1].bearer_token, "abc.def");
	assert_string_equal(cfg->adapters[2].bearer_token_file, "/t");
	assert_int_equal(cfg->adapters[2].queue, 1024);
	assert_string_equal(cfg->adapters[2].ca_file, "/ca.pem");
	free(cfg);
}

/* The commented-out block of gespann.yaml, uncommented: the defaults. */
static void test_defaults_spelled_out(void **state)
{
	struct config *cfg = parse_ok("adapters:\n"
				      "  - type: remote_write\n"
				      "    settings:\n"
				      "      endpoint: http://localhost:9090/api/v1/write\n"
				      "      interval: 15s\n"
				      "      timeout: 10s\n"
				      "      queue: 8\n"
				      "      queue_bytes: 16777216\n"
				      "      external_labels: {}\n"
				      "      username: \"\"\n"
				      "      password: \"\"\n"
				      "      password_file: \"\"\n"
				      "      bearer_token: \"\"\n"
				      "      bearer_token_file: \"\"\n"
				      "      ca_file: \"\"\n");
	struct adapter_config def;

	assert_int_equal(config_adapter_defaults(&def, ADAPTER_REMOTE_WRITE), 0);
	if (memcmp(&def, &cfg->adapters[0], sizeof(def)))
		fail_msg("the defaults spelled out parse to something else than the defaults");
	free(cfg);
}

static const struct {
	const char *yaml;
	const char *err;
} bad[] = {
	{ "adapters:\n  - type: remote_write\n    settings:\n      endpoint: localhost:9090\n",
	  "config.yaml:4: adapters[0].settings.endpoint: \"localhost:9090\" is not an http:// or "
	  "https:// URL" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      queue: 0\n",
	  "config.yaml:4: adapters[0].settings.queue: 0 is out of range (1-1024)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      queue_bytes: 1000\n",
	  "config.yaml:4: adapters[0].settings.queue_bytes: 1000 is out of range "
	  "(65536-1073741824)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      interval: 10ms\n",
	  "config.yaml:4: adapters[0].settings.interval: 10ms is out of range (100ms-1h)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      headers: {a: b}\n",
	  "config.yaml:4: adapters[0].settings: unknown key \"headers\" (known: endpoint, "
	  "interval, timeout, queue, queue_bytes, external_labels, username, password, "
	  "password_file, bearer_token, bearer_token_file, ca_file)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      ca_file: ca.pem\n",
	  "config.yaml:4: adapters[0].settings.ca_file: \"ca.pem\" is not an absolute path" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      external_labels: [a]\n",
	  "config.yaml:4: adapters[0].settings.external_labels: expected a mapping, got a list" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      external_labels:\n"
	  "        9lives: x\n",
	  "config.yaml:5: adapters[0].settings.external_labels: \"9lives\" is not a label name "
	  "([a-zA-Z_][a-zA-Z0-9_]*)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      external_labels:\n"
	  "        a-b: x\n",
	  "config.yaml:5: adapters[0].settings.external_labels: \"a-b\" is not a label name "
	  "([a-zA-Z_][a-zA-Z0-9_]*)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      external_labels:\n"
	  "        __name__: x\n",
	  "config.yaml:5: adapters[0].settings.external_labels: \"__name__\" is a reserved label "
	  "name (names starting with __ are Prometheus' own)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      external_labels:\n"
	  "        a: x\n        a: y\n",
	  "config.yaml:6: adapters[0].settings.external_labels: duplicate label \"a\" (first on "
	  "line 5)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      external_labels:\n"
	  "        a: \"\"\n",
	  "config.yaml:5: adapters[0].settings.external_labels.a: a label value must not be "
	  "empty" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      password: hunter2\n",
	  "config.yaml:4: adapters[0].settings.password: needs a username" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      username: a:b\n",
	  "config.yaml:4: adapters[0].settings.username: \"a:b\" cannot hold a colon (basic auth "
	  "joins user:password)" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      username: u\n"
	  "      password: hunter2\n      password_file: /p\n",
	  "config.yaml:6: adapters[0].settings.password_file: password and password_file exclude "
	  "each other" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      username: u\n"
	  "      bearer_token: hunter2\n",
	  "config.yaml:5: adapters[0].settings.bearer_token: basic auth (username) and a bearer "
	  "token exclude each other" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      bearer_token: hunter2\n"
	  "      bearer_token_file: /t\n",
	  "config.yaml:5: adapters[0].settings.bearer_token_file: bearer_token and "
	  "bearer_token_file exclude each other" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      bearer_token_file: t.txt\n",
	  "config.yaml:4: adapters[0].settings.bearer_token_file: \"t.txt\" is not an absolute "
	  "path" },
	{ "adapters:\n  - type: remote_write\n    settings:\n      username: u\n"
	  "      password: \"hunter2\\x01\"\n",
	  "config.yaml:5: adapters[0].settings.password: the value (not shown) contains a control "
	  "character" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < COUNT_OF(bad); i++) {
		struct config *cfg = calloc(1, sizeof(*cfg));
		char err[512] = "";
		int ret;

		assert_non_null(cfg);
		ret = config_parse(bad[i].yaml, strlen(bad[i].yaml), "config.yaml", cfg, err,
				   sizeof(err));
		if (ret != -EINVAL)
			fail_msg("bad[%zu]: expected %d, got %d (\"%s\")", i, -EINVAL, ret, err);
		if (strcmp(err, bad[i].err))
			fail_msg("bad[%zu]:\n  expected: %s\n  actual:   %s", i, bad[i].err, err);
		if (strstr(err, "hunter2"))
			fail_msg("bad[%zu]: the secret is in the error: %s", i, err);
		free(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_spelled_out),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
