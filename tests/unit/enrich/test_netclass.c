// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/netclass.c: a table of addresses with the class and zone
 * each must get, from networks parsed by config_parse() on top of the
 * built-in classes; v4-mapped addresses; bad input. No root, no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config/config.h"
#include "enrich/netclass.h"

struct lookup_case {
	const char *addr;
	const char *cls;
	const char *zone;
};

static void check_lookup(const struct netclass *nc, const struct lookup_case *c)
{
	uint8_t addr[16] = { 0 };
	const char *cls = NULL, *zone = NULL;
	uint16_t family = AF_INET;

	if (inet_pton(AF_INET, c->addr, addr) != 1) {
		family = AF_INET6;
		if (inet_pton(AF_INET6, c->addr, addr) != 1)
			fail_msg("bad test address %s", c->addr);
	}
	netclass_lookup(nc, family, addr, &cls, &zone);
	if (strcmp(cls, c->cls) || strcmp(zone, c->zone))
		fail_msg("%s: expected class \"%s\" zone \"%s\", got class \"%s\" zone \"%s\"",
			 c->addr, c->cls, c->zone, cls, zone);
}

static struct netclass *from_yaml(const char *yaml, struct config *cfg)
{
	char err[512];
	struct netclass *nc;

	if (config_parse(yaml, strlen(yaml), "test.yaml", cfg, err, sizeof(err)))
		fail_msg("config_parse: %s", err);
	nc = netclass_new(cfg->networks, cfg->n_networks);
	assert_non_null(nc);
	return nc;
}

static void test_builtin_only(void **state)
{
	static const struct lookup_case cases[] = {
		{ "127.0.0.1", "localhost", "" },
		{ "127.255.255.254", "localhost", "" },
		{ "128.0.0.1", "external", "" },
		{ "10.0.0.1", "internal", "" },
		{ "172.16.0.0", "internal", "" },
		{ "172.31.255.255", "internal", "" },
		{ "172.32.0.0", "external", "" },
		{ "172.15.255.255", "external", "" },
		{ "192.168.200.1", "internal", "" },
		{ "192.169.0.1", "external", "" },
		{ "100.64.0.1", "internal", "" },
		{ "100.127.255.255", "internal", "" },
		{ "100.128.0.1", "external", "" },
		{ "169.254.1.1", "internal", "" },
		{ "198.18.0.1", "internal", "" },
		{ "198.19.255.255", "internal", "" },
		{ "198.20.0.1", "external", "" },
		{ "198.17.255.255", "external", "" },
		{ "8.8.8.8", "external", "" },
		{ "0.0.0.0", "external", "" },
		{ "::1", "localhost", "" },
		{ "::2", "external", "" },
		{ "::", "external", "" },
		{ "fc00::1", "internal", "" },
		{ "fdff:ffff::1", "internal", "" },
		{ "fe80::1", "internal", "" },
		{ "febf:ffff::1", "internal", "" },
		{ "fec0::1", "external", "" },
		{ "2001:db8::1", "external", "" },
		{ "::ffff:127.0.0.1", "localhost", "" },
		{ "::ffff:10.9.8.7", "internal", "" },
		{ "::ffff:8.8.8.8", "external", "" },
	};
	struct netclass *nc = netclass_new(NULL, 0);
	size_t i;

	assert_non_null(nc);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_lookup(nc, &cases[i]);
	netclass_free(nc);
}

static void test_configured(void **state)
{
	static const char yaml[] = "networks:\n"
				   "  - {cidr: 10.0.0.0/8, zone: corp, class: internal}\n"
				   "  - {cidr: 10.1.0.0/16, zone: lab}\n"
				   "  - {cidr: 10.1.2.0/24, class: db}\n"
				   "  - {cidr: 203.0.113.0/24, zone: partner, class: partner}\n"
				   "  - {cidr: 203.0.113.128/25, class: vpn}\n"
				   "  - {cidr: 192.0.2.7, zone: one, class: host}\n"
				   "  - {cidr: 0.0.0.0/0, zone: world}\n"
				   "  - {cidr: \"fd00:6765:7370::/64\", zone: e2e}\n"
				   "  - {cidr: \"2001:db8::/32\", zone: doc, class: docs}\n"
				   "  - {cidr: \"2001:db8:1::/48\", class: docs1}\n";
	static const struct lookup_case cases[] = {
		/* longest configured prefix first */
		{ "10.2.3.4", "internal", "corp" },
		{ "10.1.9.9", "internal", "lab" }, /* no class: the built-in one */
		{ "10.1.2.3", "db", "" },	   /* the /24 wins, zone and all */
		{ "203.0.113.9", "partner", "partner" },
		{ "203.0.113.200", "vpn", "" },
		{ "192.0.2.7", "host", "one" },
		{ "192.0.2.8", "external", "world" },
		/* 0.0.0.0/0 without class: every IPv4 address gets the zone */
		{ "8.8.8.8", "external", "world" },
		{ "127.0.0.1", "localhost", "world" },
		{ "192.168.1.1", "internal", "world" },
		{ "198.18.0.2", "internal", "world" },
		{ "fd00:6765:7370::5", "internal", "e2e" },
		{ "fd00:6765:7371::5", "internal", "" },
		{ "2001:db8::1", "docs", "doc" },
		{ "2001:db8:1::1", "docs1", "" },
		{ "2001:db9::1", "external", "" },
		{ "::1", "localhost", "" },
		/* v4-mapped goes through the IPv4 table */
		{ "::ffff:10.1.2.3", "db", "" },
		{ "::ffff:8.8.4.4", "external", "world" },
	};
	struct config cfg;
	struct netclass *nc = from_yaml(yaml, &cfg);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_lookup(nc, &cases[i]);
	netclass_free(nc);
}

/* A class given to a whole built-in range overrides it; a wider configured
 * prefix still beats a narrower built-in one (configured entries come first). */
static void test_configured_over_builtin(void **state)
{
	static const char yaml[] = "networks:\n"
				   "  - {cidr: 127.0.0.0/8, class: loopback}\n"
				   "  - {cidr: 0.0.0.0/0, zone: any, class: everywhere}\n";
	static const struct lookup_case cases[] = {
		{ "127.0.0.1", "loopback", "" },
		{ "10.0.0.1", "everywhere", "any" },
		{ "::1", "localhost", "" },
	};
	struct config cfg;
	struct netclass *nc = from_yaml(yaml, &cfg);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_lookup(nc, &cases[i]);
	netclass_free(nc);
}

static void test_bad_input(void **state)
{
	struct config_network bad = { .family = 99, .prefix = 8 };
	struct config_network long_prefix = { .family = AF_INET, .prefix = 33 };
	const uint8_t addr[16] = { 10 };
	const char *cls = NULL, *zone = NULL;
	struct netclass *nc;

	errno = 0;
	assert_null(netclass_new(&bad, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(netclass_new(&long_prefix, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(netclass_new(NULL, 1));
	assert_int_equal(errno, EINVAL);
	netclass_free(NULL);

	nc = netclass_new(NULL, 0);
	netclass_lookup(nc, 99, addr, &cls, &zone);
	assert_string_equal(cls, "external");
	assert_string_equal(zone, "");
	netclass_lookup(NULL, AF_INET, addr, &cls, &zone);
	assert_string_equal(cls, "external");
	netclass_lookup(nc, AF_INET, addr, NULL, NULL); /* no crash */
	netclass_free(nc);
}

/* 256 IPv6 /128 entries (the worst case for the trie) and a lookup cost. */
static void test_full_table(void **state)
{
	static struct config_network nets[CONFIG_MAX_NETWORKS];
	const char *cls, *zone;
	struct timespec t0, t1;
	uint8_t addr[16];
	struct netclass *nc;
	size_t i;
	double ns;

	for (i = 0; i < CONFIG_MAX_NETWORKS; i++) {
		memset(&nets[i], 0, sizeof(nets[i]));
		nets[i].family = AF_INET6;
		nets[i].prefix = 128;
		nets[i].addr[0] = 0x20;
		nets[i].addr[1] = 0x01;
		nets[i].addr[14] = (uint8_t)(i >> 8);
		nets[i].addr[15] = (uint8_t)i;
		snprintf(nets[i].zone, sizeof(nets[i].zone), "z%zu", i);
	}
	nc = netclass_new(nets, CONFIG_MAX_NETWORKS);
	assert_non_null(nc);
	for (i = 0; i < CONFIG_MAX_NETWORKS; i++) {
		char want[16];

		netclass_lookup(nc, AF_INET6, nets[i].addr, &cls, &zone);
		snprintf(want, sizeof(want), "z%zu", i);
		assert_string_equal(zone, want);
		assert_string_equal(cls, "external");
	}
	memcpy(addr, nets[7].addr, 16);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000000; i++) {
		addr[13] = (uint8_t)(i & 1); /* half hit, half miss at the last bits */
		netclass_lookup(nc, AF_INET6, addr, &cls, &zone);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e6;
	print_message("netclass_lookup, IPv6, 256 /128 entries: %.0f ns per lookup\n", ns);
	netclass_free(nc);

	/* a typical table: a few IPv4 networks; lookups of IPv4 peers */
	for (i = 0; i < 16; i++) {
		memset(&nets[i], 0, sizeof(nets[i]));
		nets[i].family = AF_INET;
		nets[i].prefix = (uint8_t)(8 + i);
		nets[i].addr[0] = (uint8_t)(20 + i);
	}
	nc = netclass_new(nets, 16);
	assert_non_null(nc);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000000; i++) {
		uint32_t a = (uint32_t)(i * 2654435761u);

		memcpy(addr, &a, 4);
		netclass_lookup(nc, AF_INET, addr, &cls, &zone);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e6;
	print_message("netclass_lookup, IPv4, 16 entries: %.0f ns per lookup\n", ns);
	netclass_free(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_only),
		cmocka_unit_test(test_configured),
		cmocka_unit_test(test_configured_over_builtin),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_full_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
