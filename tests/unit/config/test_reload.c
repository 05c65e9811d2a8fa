// SPDX-License-Identifier: MIT
/*
 * Unit tests for the reload decision: config_diff() (the row-by-row
 * comparison, nested keys, lists and maps as one key, the restart-only
 * ones) and reload_plan() over real files (a bad file, a restart-only key,
 * nothing changed, a reload allowed), with the exact lines the agent logs.
 * No root, no BPF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "reload.h"

static struct config *parse(const char *text)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char err[512];

	assert_non_null(cfg);
	if (config_parse(text, strlen(text), "t.yaml", cfg, err, sizeof(err)))
		fail_msg("%s", err);
	return cfg;
}

static void diff_texts(const char *a, const char *b, struct config_diff *d)
{
	struct config *x = parse(a), *y = parse(b);

	config_diff(x, y, d);
	free(x);
	free(y);
}

static void test_diff_none(void **state)
{
	struct config_diff d;

	/* the same values written differently are the same config */
	diff_texts("log_level: info\nadapters: [{type: prometheus}]\n",
		   "adapters:\n  - type: prometheus\n    settings: {port: 8080}\n", &d);
	assert_int_equal(d.n_changed, 0);
	assert_int_equal(d.n_restart, 0);
	assert_string_equal(d.changed, "");
}

static void test_diff_reloadable(void **state)
{
	struct config_diff d;

	diff_texts("{}",
		   "log_level: debug\npoll_interval: 1s\n"
		   "adapters: [{type: prometheus, settings: {port: 9100}}]\n"
		   "attributes: {select: {\"gespann_flow_*\": {exclude: [dst_name]}}, "
		   "max_series: 5}\n"
		   "networks: [{cidr: 10.1.0.0/16, zone: lab}]\n"
		   "zone: lab-2\n"
		   "dns: {events: log, timeout: 2s, max_pending: 100}\n",
		   &d);
	assert_string_equal(d.changed, "log_level, poll_interval, adapters, attributes.select, "
				       "attributes.max_series, networks, zone, dns.events, "
				       "dns.max_pending, dns.timeout");
	assert_int_equal(d.n_changed, 10);
	assert_int_equal(d.n_restart, 0);
	assert_true(config_diff_has(&d, "networks"));
	assert_true(config_diff_has(&d, "dns.timeout"));
	assert_false(config_diff_has(&d, "timeout"));
	assert_false(config_diff_has(&d, "scope"));
}

static void test_diff_restart(void **state)
{
	struct config_diff d;

	diff_texts("{}",
		   "scope: netns\nidle_timeout: 10s\nmax_connections: 1024\n"
		   "max_udp_flows: 1024\nring_buffer_size: 8192\nlog_level: warn\n"
		   "dns: {enabled: false, max_names: 100, getaddrinfo: off}\n"
		   "processes: {max: 100}\n",
		   &d);
	assert_string_equal(d.restart, "scope, idle_timeout, max_connections, max_udp_flows, "
				       "ring_buffer_size, dns.enabled, dns.max_names, "
				       "dns.getaddrinfo, processes.max");
	assert_int_equal(d.n_restart, 9);
	assert_string_equal(d.changed, "log_level, scope, idle_timeout, max_connections, "
				       "max_udp_flows, ring_buffer_size, dns.enabled, "
				       "dns.max_names, dns.getaddrinfo, processes.max");
	/* a scope path is part of the scope */
	diff_texts("scope: /var/run/netns/a\n", "scope: /var/run/netns/b\n", &d);
	assert_string_equal(d.restart, "scope");
}

static void test_diff_lists(void **state)
{
	struct config_diff d;

	/* one setting of one adapter, one network's class, one exclude name */
	diff_texts("adapters: [{type: prometheus}, {type: datadog, settings: {tags: [a:b]}}]\n",
		   "adapters: [{type: prometheus}, {type: datadog, settings: {tags: [a:c]}}]\n",
		   &d);
	assert_string_equal(d.changed, "adapters");
	diff_texts("networks: [{cidr: 10.0.0.0/8, class: x}]\n",
		   "networks: [{cidr: 10.0.0.0/8, class: y}]\n", &d);
	assert_string_equal(d.changed, "networks");
	diff_texts("attributes: {select: {\"*\": {exclude: [dst_name]}}}\n",
		   "attributes: {select: {\"*\": {exclude: [dst_port]}}}\n", &d);
	assert_string_equal(d.changed, "attributes.select");
}

static char path[64];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static enum reload_verdict plan(const char *cur_text, const char *file_text, char *msg, size_t len)
{
	struct config *cur = parse(cur_text), *next = calloc(1, sizeof(*next));
	struct config_diff d;
	enum reload_verdict v;

	assert_non_null(next);
	write_file(file_text);
	v = reload_plan(cur, path, next, &d, msg, len);
	free(cur);
	free(next);
	return v;
}

static void test_plan(void **state)
{
	char msg[1024], want[1024];
	int fd;

	snprintf(path, sizeof(path), "/tmp/gespann-reload-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(plan("{}", "log_level: [\n", msg, sizeof(msg)), RELOAD_REFUSED);
	assert_true(!strncmp(msg, "reload refused: ", 16));
	snprintf(want, sizeof(want), "reload refused: %s:2:", path);
	assert_true(!strncmp(msg, want, strlen(want)));

	assert_int_equal(plan("{}", "log_level: loud\n", msg, sizeof(msg)), RELOAD_REFUSED);
	snprintf(want, sizeof(want),
		 "reload refused: %s:1: log_level: \"loud\" is not a log level "
		 "(error, warn, info, debug)",
		 path);
	assert_string_equal(msg, want);

	/* the attribute check of the start, too */
	assert_int_equal(plan("{}", "attributes: {select: {\"nothing_*\": {exclude: [x]}}}\n", msg,
			      sizeof(msg)),
			 RELOAD_REFUSED);
	snprintf(want, sizeof(want),
		 "reload refused: %s:1: attributes.select 'nothing_*': the pattern matches no "
		 "metric family",
		 path);
	assert_string_equal(msg, want);

	assert_int_equal(plan("{}", "max_connections: 1024\nlog_level: debug\n", msg, sizeof(msg)),
			 RELOAD_REFUSED);
	assert_string_equal(msg, "reload refused: max_connections needs a restart");
	assert_int_equal(plan("{}", "scope: netns\nmax_connections: 1024\n", msg, sizeof(msg)),
			 RELOAD_REFUSED);
	assert_string_equal(msg, "reload refused: scope, max_connections need a restart");

	assert_int_equal(plan("log_level: warn\n", "log_level: warn\n", msg, sizeof(msg)),
			 RELOAD_UNCHANGED);
	snprintf(want, sizeof(want), "reload: nothing changed in %s", path);
	assert_string_equal(msg, want);

	assert_int_equal(plan("{}", "log_level: debug\nnetworks: [{cidr: 10.0.0.0/8, zone: a}]\n",
			      msg, sizeof(msg)),
			 RELOAD_APPLY);
	assert_string_equal(msg, "reloaded: log_level, networks");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_none),    cmocka_unit_test(test_diff_reloadable),
		cmocka_unit_test(test_diff_restart), cmocka_unit_test(test_diff_lists),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
