// SPDX-License-Identifier: MIT
/*
 * Unit tests: the address -> host name cache with an injected clock: TTL
 * expiry at its exact boundary, later puts winning, v4-mapped addresses,
 * eviction of the entry expiring first when full, and names taken from DNS
 * responses through their CNAME chain only.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fuzz/dns_fixtures.h"
#include "enrich/dns.h"
#include "enrich/hostcache.h"

#define S 1000000000ULL

static uint8_t *v4(uint8_t a[16], const char *text)
{
	memset(a, 0, 16);
	assert_int_equal(inet_pton(AF_INET, text, a), 1);
	return a;
}

static uint8_t *v6(uint8_t a[16], const char *text)
{
	assert_int_equal(inet_pton(AF_INET6, text, a), 1);
	return a;
}

static void test_ttl_expiry(void **state)
{
	struct hostcache *h = hostcache_new(8);
	struct hostcache_stats st;
	uint8_t a[16];

	(void)state;
	assert_non_null(h);
	hostcache_put(h, AF_INET, v4(a, "198.18.0.10"), "api.gespann.test", 30, 100 * S);
	assert_string_equal(hostcache_get(h, AF_INET, a, 100 * S), "api.gespann.test");
	assert_string_equal(hostcache_get(h, AF_INET, a, 130 * S - 1), "api.gespann.test");
	assert_null(hostcache_get(h, AF_INET, a, 130 * S)); /* TTL ran out */
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 1); /* until expire drops it */
	assert_int_equal(st.expired, 0);
	hostcache_expire(h, 130 * S - 1);
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 1);
	hostcache_expire(h, 130 * S);
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.evictions, 0);

	/* TTL 0 and TTLs with the top bit set are not kept, and clear what was. */
	hostcache_put(h, AF_INET, a, "api.gespann.test", 30, 200 * S);
	hostcache_put(h, AF_INET, a, "zero.gespann.test", 0, 201 * S);
	assert_null(hostcache_get(h, AF_INET, a, 201 * S));
	hostcache_put(h, AF_INET, a, "neg.gespann.test", 0x80000000u, 202 * S);
	assert_null(hostcache_get(h, AF_INET, a, 202 * S));
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 0);
	hostcache_free(h);
}

static void test_later_put_wins_and_families(void **state)
{
	struct hostcache *h = hostcache_new(8);
	uint8_t a[16], m[16], b[16];

	(void)state;
	hostcache_put(h, AF_INET, v4(a, "198.18.0.10"), "one.gespann.test", 300, 0);
	hostcache_put(h, AF_INET, a, "two.gespann.test", 5, 1 * S);
	assert_string_equal(hostcache_get(h, AF_INET, a, 2 * S), "two.gespann.test");
	assert_null(hostcache_get(h, AF_INET, a, 6 * S)); /* the later TTL counts */

	/* v4-mapped IPv6 is the IPv4 address, both ways. */
	hostcache_put(h, AF_INET6, v6(m, "::ffff:198.18.0.11"), "mapped.gespann.test", 60, 0);
	assert_string_equal(hostcache_get(h, AF_INET, v4(b, "198.18.0.11"), 1),
			    "mapped.gespann.test");
	hostcache_put(h, AF_INET, v4(b, "198.18.0.12"), "plain.gespann.test", 60, 0);
	assert_string_equal(hostcache_get(h, AF_INET6, v6(m, "::ffff:198.18.0.12"), 1),
			    "plain.gespann.test");
	/* IPv6 proper, and bytes after an IPv4 address ignored. */
	hostcache_put(h, AF_INET6, v6(m, "fd00:6765:7370::10"), "v6.gespann.test", 60, 0);
	assert_string_equal(hostcache_get(h, AF_INET6, m, 1), "v6.gespann.test");
	memset(b + 4, 0xaa, 12);
	assert_string_equal(hostcache_get(h, AF_INET, b, 1), "plain.gespann.test");

	/* Unknown family, NULL and empty names: ignored. */
	v4(a, "198.18.0.200");
	hostcache_put(h, 99, a, "x", 60, 0);
	hostcache_put(h, AF_INET, a, NULL, 60, 0);
	hostcache_put(h, AF_INET, a, "", 60, 0);
	assert_null(hostcache_get(h, 99, a, 1));
	assert_null(hostcache_get(h, AF_INET, a, 1));
	assert_null(hostcache_get(NULL, AF_INET, a, 1));
	hostcache_free(h);
	hostcache_free(NULL);
	assert_null(hostcache_new(0));
}

static void test_eviction_of_first_expiring(void **state)
{
	struct hostcache *h = hostcache_new(3);
	struct hostcache_stats st;
	uint8_t a[4][16];
	char name[32];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "198.18.1.%d", i);
		v4(a[i], name);
	}
	hostcache_put(h, AF_INET, a[0], "a0", 100, 0);
	hostcache_put(h, AF_INET, a[1], "a1", 10, 0); /* expires first */
	hostcache_put(h, AF_INET, a[2], "a2", 50, 0);
	hostcache_put(h, AF_INET, a[3], "a3", 20, 1 * S);
	assert_null(hostcache_get(h, AF_INET, a[1], 2 * S));
	assert_string_equal(hostcache_get(h, AF_INET, a[0], 2 * S), "a0");
	assert_string_equal(hostcache_get(h, AF_INET, a[2], 2 * S), "a2");
	assert_string_equal(hostcache_get(h, AF_INET, a[3], 2 * S), "a3");
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.expired, 0);

	/* Full again with one entry expired (a3 at 21 s): it goes, as expired. */
	hostcache_put(h, AF_INET, a[1], "a1 again", 100, 30 * S);
	assert_null(hostcache_get(h, AF_INET, a[3], 30 * S));
	assert_string_equal(hostcache_get(h, AF_INET, a[1], 30 * S), "a1 again");
	hostcache_get_stats(h, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.expired, 1);

	/* A refreshed TTL moves an entry back in the eviction order. */
	hostcache_put(h, AF_INET, a[2], "a2", 1000, 31 * S);
	hostcache_put(h, AF_INET, a[3], "a3", 1000, 31 * S); /* evicts a0 (100 s) */
	assert_null(hostcache_get(h, AF_INET, a[0], 31 * S));
	assert_string_equal(hostcache_get(h, AF_INET, a[2], 31 * S), "a2");
	hostcache_free(h);
}

/* Many addresses through a small cache: the heap and the hash stay in step
 * (each lookup answers exactly what the last puts say). */
static void test_churn(void **state)
{
	enum { N = 64, ROUNDS = 2000 };
	struct hostcache *h = hostcache_new(N);
	struct hostcache_stats st;
	uint8_t a[16];
	char name[32];
	uint32_t x = 12345;

	(void)state;
	for (int i = 0; i < ROUNDS; i++) {
		x = x * 1103515245u + 12345u;
		memset(a, 0, sizeof(a));
		a[0] = 198;
		a[1] = 18;
		a[2] = (uint8_t)(x >> 24) & 1;
		a[3] = (uint8_t)(x >> 16);
		snprintf(name, sizeof(name), "n%d", i);
		hostcache_put(h, AF_INET, a, name, 1 + (x >> 8) % 100, (uint64_t)i * S / 10);
		assert_string_equal(hostcache_get(h, AF_INET, a, (uint64_t)i * S / 10), name);
		if (i % 7 == 0)
			hostcache_expire(h, (uint64_t)i * S / 10);
	}
	hostcache_get_stats(h, &st);
	assert_true(st.entries <= N);
	assert_true(st.evictions + st.expired > 0);
	hostcache_free(h);
}

/* Thousands of addresses: the table grows far past its first size, a full
 * cache drops the entry that expires first, and expiry shrinks it again;
 * every survivor still answers its own name. */
static void test_grow_evict_shrink(void **state)
{
	enum { MAX = 3000, PUTS = 5000 };
	struct hostcache *h = hostcache_new(MAX);
	struct hostcache_stats st;
	uint8_t a[16];
	char name[32];

	(void)state;
	for (int i = 0; i < PUTS; i++) { /* address i lives i + 1 seconds */
		memset(a, 0, sizeof(a));
		a[0] = i & 1 ? 0xfd : 198;
		a[1] = 18;
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		if (!(i & 1)) { /* IPv4: 198.18.x.y */
			a[2] = a[14];
			a[3] = a[15];
		}
		snprintf(name, sizeof(name), "h%d.gespann.test", i);
		hostcache_put(h, i & 1 ? AF_INET6 : AF_INET, a, name, (uint32_t)i + 1, 0);
	}
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, MAX);
	assert_int_equal(st.evictions, PUTS - MAX);
	assert_int_equal(st.expired, 0);
	for (int i = 0; i < PUTS; i++) {
		const char *got;

		memset(a, 0, sizeof(a));
		a[0] = i & 1 ? 0xfd : 198;
		a[1] = 18;
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		if (!(i & 1)) {
			a[2] = a[14];
			a[3] = a[15];
		}
		got = hostcache_get(h, i & 1 ? AF_INET6 : AF_INET, a, 0);
		snprintf(name, sizeof(name), "h%d.gespann.test", i);
		if (i < PUTS - MAX)
			assert_null(got);
		else
			assert_string_equal(got, name);
	}
	/* At 4500 s, addresses 2000..4499 have run out. */
	hostcache_expire(h, 4500 * S);
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, PUTS - 4500);
	assert_int_equal(st.expired, 4500 - (PUTS - MAX));
	hostcache_free(h);
}

static void test_put_response_follows_cname_chain(void **state)
{
	struct hostcache *h = hostcache_new(16);
	struct dnsb d;
	struct dns_msg m;
	uint8_t a[16];
	char err[128];

	(void)state;
	fx_cname_response(&d, 1);
	assert_int_equal(dns_parse(d.b, d.n, &m, err, sizeof(err)), 0);
	assert_int_equal(hostcache_put_response(h, &m, 0), 2);
	/* The name asked, not the CNAME target; TTL: the chain's smallest. */
	assert_string_equal(hostcache_get(h, AF_INET, v4(a, "198.18.7.1"), 19 * S),
			    "www.gespann.test");
	assert_null(hostcache_get(h, AF_INET, a, 20 * S));
	assert_string_equal(hostcache_get(h, AF_INET, v4(a, "198.18.7.2"), 29 * S),
			    "www.gespann.test");

	/* An address for a name outside the chain is not taken. */
	d.n = 0;
	dnsb_header(&d, 2, 0x8180, 1, 1, 0, 0);
	dnsb_question(&d, "api.gespann.test", 1);
	dnsb_name(&d, "bank.example");
	dnsb_rr(&d, 1, 300, 4);
	dnsb_u32(&d, 0xc6120063); /* 198.18.0.99 */
	assert_int_equal(dns_parse(d.b, d.n, &m, err, sizeof(err)), 0);
	assert_int_equal(hostcache_put_response(h, &m, 0), 0);
	assert_null(hostcache_get(h, AF_INET, v4(a, "198.18.0.99"), 1));

	/* NXDOMAIN and queries put nothing. */
	fx_nxdomain_response(&d, 3);
	assert_int_equal(dns_parse(d.b, d.n, &m, err, sizeof(err)), 0);
	assert_int_equal(hostcache_put_response(h, &m, 0), 0);
	hostcache_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_expiry),
		cmocka_unit_test(test_later_put_wins_and_families),
		cmocka_unit_test(test_eviction_of_first_expiring),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_grow_evict_shrink),
		cmocka_unit_test(test_put_response_follows_cname_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
