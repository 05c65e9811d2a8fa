// SPDX-License-Identifier: MIT
/*
 * Unit tests: the address -> host name cache with an injected clock: TTL
 * expiry at its exact boundary, later puts winning, v4-mapped addresses,
 * eviction of the entry expiring first when full, names taken from DNS
 * responses through their CNAME chain only; names bound by the time they
 * were known (not the order records are read), per process and namespace,
 * dns.min_ttl, and the per-address bound.
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

/* An answer seen at t by nobody in particular (pid 0, namespace 0), no
 * minimum TTL: the cache as it was before it knew times and askers. */
static void put(struct hostcache *h, uint16_t family, const uint8_t a[16], const char *name,
		uint32_t ttl_s, uint64_t t)
{
	struct hostcache_origin o = { .seen_ns = t };

	hostcache_put(h, family, a, name, ttl_s, &o);
}

/* The name a flow of pid 0 in namespace 0 starting at t gets. */
static const char *get(const struct hostcache *h, uint16_t family, const uint8_t a[16], uint64_t t)
{
	struct hostcache_query q = { .at_ns = t };

	return hostcache_lookup(h, family, a, &q);
}

static const struct hostcache_origin at0 = { .seen_ns = 0 };

static void test_ttl_expiry(void **state)
{
	struct hostcache *h = hostcache_new(8);
	struct hostcache_stats st;
	uint8_t a[16];

	(void)state;
	assert_non_null(h);
	put(h, AF_INET, v4(a, "198.18.0.10"), "api.gespann.test", 30, 100 * S);
	assert_string_equal(get(h, AF_INET, a, 100 * S), "api.gespann.test");
	assert_string_equal(get(h, AF_INET, a, 130 * S - 1), "api.gespann.test");
	assert_null(get(h, AF_INET, a, 130 * S)); /* TTL ran out */
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 1); /* until expire drops it */
	assert_int_equal(st.expired, 0);
	/* Kept HOSTCACHE_LATE_NS past expiry for flows that began before it. */
	hostcache_expire(h, 130 * S + HOSTCACHE_LATE_NS - 1);
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 1);
	hostcache_expire(h, 130 * S + HOSTCACHE_LATE_NS);
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.evictions, 0);

	/* TTL 0 and TTLs with the top bit set are not kept, and end what was
	 * from their time on; before it, the earlier answer still names. */
	put(h, AF_INET, a, "api.gespann.test", 30, 200 * S);
	put(h, AF_INET, a, "zero.gespann.test", 0, 201 * S);
	assert_null(get(h, AF_INET, a, 201 * S));
	assert_string_equal(get(h, AF_INET, a, 201 * S - 1), "api.gespann.test");
	put(h, AF_INET, a, "neg.gespann.test", 0x80000000u, 202 * S);
	assert_null(get(h, AF_INET, a, 202 * S));
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 1); /* api, for flows that began before 201 s */
	hostcache_free(h);
}

static void test_later_put_wins_and_families(void **state)
{
	struct hostcache *h = hostcache_new(8);
	uint8_t a[16], m[16], b[16];

	(void)state;
	put(h, AF_INET, v4(a, "198.18.0.10"), "one.gespann.test", 300, 0);
	put(h, AF_INET, a, "two.gespann.test", 5, 1 * S);
	assert_string_equal(get(h, AF_INET, a, 2 * S), "two.gespann.test");
	assert_null(get(h, AF_INET, a, 6 * S)); /* the later TTL counts */

	/* v4-mapped IPv6 is the IPv4 address, both ways. */
	put(h, AF_INET6, v6(m, "::ffff:198.18.0.11"), "mapped.gespann.test", 60, 0);
	assert_string_equal(get(h, AF_INET, v4(b, "198.18.0.11"), 1), "mapped.gespann.test");
	put(h, AF_INET, v4(b, "198.18.0.12"), "plain.gespann.test", 60, 0);
	assert_string_equal(get(h, AF_INET6, v6(m, "::ffff:198.18.0.12"), 1), "plain.gespann.test");
	/* IPv6 proper, and bytes after an IPv4 address ignored. */
	put(h, AF_INET6, v6(m, "fd00:6765:7370::10"), "v6.gespann.test", 60, 0);
	assert_string_equal(get(h, AF_INET6, m, 1), "v6.gespann.test");
	memset(b + 4, 0xaa, 12);
	assert_string_equal(get(h, AF_INET, b, 1), "plain.gespann.test");

	/* Unknown family, NULL and empty names: ignored. */
	v4(a, "198.18.0.200");
	put(h, 99, a, "x", 60, 0);
	put(h, AF_INET, a, NULL, 60, 0);
	put(h, AF_INET, a, "", 60, 0);
	assert_null(get(h, 99, a, 1));
	assert_null(get(h, AF_INET, a, 1));
	assert_null(get(NULL, AF_INET, a, 1));
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
	put(h, AF_INET, a[0], "a0", 100, 0);
	put(h, AF_INET, a[1], "a1", 10, 0); /* expires first */
	put(h, AF_INET, a[2], "a2", 50, 0);
	put(h, AF_INET, a[3], "a3", 20, 1 * S);
	assert_null(get(h, AF_INET, a[1], 2 * S));
	assert_string_equal(get(h, AF_INET, a[0], 2 * S), "a0");
	assert_string_equal(get(h, AF_INET, a[2], 2 * S), "a2");
	assert_string_equal(get(h, AF_INET, a[3], 2 * S), "a3");
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.expired, 0);

	/* Full again with one entry expired (a3 at 21 s): it goes, as expired. */
	put(h, AF_INET, a[1], "a1 again", 100, 30 * S);
	assert_null(get(h, AF_INET, a[3], 30 * S));
	assert_string_equal(get(h, AF_INET, a[1], 30 * S), "a1 again");
	hostcache_get_stats(h, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.expired, 1);

	/* A refreshed TTL moves an entry back in the eviction order. */
	put(h, AF_INET, a[2], "a2", 1000, 31 * S);
	put(h, AF_INET, a[3], "a3", 1000, 31 * S); /* evicts a0 (100 s) */
	assert_null(get(h, AF_INET, a[0], 31 * S));
	assert_string_equal(get(h, AF_INET, a[2], 31 * S), "a2");
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
		put(h, AF_INET, a, name, 1 + (x >> 8) % 100, (uint64_t)i * S / 10);
		assert_string_equal(get(h, AF_INET, a, (uint64_t)i * S / 10), name);
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
		put(h, i & 1 ? AF_INET6 : AF_INET, a, name, (uint32_t)i + 1, 0);
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
		got = get(h, i & 1 ? AF_INET6 : AF_INET, a, 0);
		snprintf(name, sizeof(name), "h%d.gespann.test", i);
		if (i < PUTS - MAX)
			assert_null(got);
		else
			assert_string_equal(got, name);
	}
	/* At 4500 s, addresses 2000..4499 have run out. */
	hostcache_expire(h, 4500 * S + HOSTCACHE_LATE_NS);
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
	assert_int_equal(hostcache_put_response(h, &m, &at0), 2);
	/* The name asked, not the CNAME target; TTL: the chain's smallest. */
	assert_string_equal(get(h, AF_INET, v4(a, "198.18.7.1"), 19 * S), "www.gespann.test");
	assert_null(get(h, AF_INET, a, 20 * S));
	assert_string_equal(get(h, AF_INET, v4(a, "198.18.7.2"), 29 * S), "www.gespann.test");

	/* An address for a name outside the chain is not taken. */
	d.n = 0;
	dnsb_header(&d, 2, 0x8180, 1, 1, 0, 0);
	dnsb_question(&d, "api.gespann.test", 1);
	dnsb_name(&d, "bank.example");
	dnsb_rr(&d, 1, 300, 4);
	dnsb_u32(&d, 0xc6120063); /* 198.18.0.99 */
	assert_int_equal(dns_parse(d.b, d.n, &m, err, sizeof(err)), 0);
	assert_int_equal(hostcache_put_response(h, &m, &at0), 0);
	assert_null(get(h, AF_INET, v4(a, "198.18.0.99"), 1));

	/* NXDOMAIN and queries put nothing. */
	fx_nxdomain_response(&d, 3);
	assert_int_equal(dns_parse(d.b, d.n, &m, err, sizeof(err)), 0);
	assert_int_equal(hostcache_put_response(h, &m, &at0), 0);
	hostcache_free(h);
}

/* A flow gets the name known when it began, whenever it is looked up: an
 * answer seen after the start does not name it, a newer answer for another
 * name takes over from its own time on, and records read out of order
 * (the later answer first) give the same result. */
static void test_time_ordered(void **state)
{
	struct hostcache *h = hostcache_new(16);
	uint8_t a[16];

	(void)state;
	v4(a, "198.18.0.10");
	put(h, AF_INET, a, "a.gespann.test", 300, 10 * S);
	put(h, AF_INET, a, "b.gespann.test", 300, 20 * S);
	assert_null(get(h, AF_INET, a, 10 * S - 1)); /* began before the answer */
	assert_string_equal(get(h, AF_INET, a, 10 * S), "a.gespann.test");
	assert_string_equal(get(h, AF_INET, a, 20 * S - 1), "a.gespann.test");
	assert_string_equal(get(h, AF_INET, a, 20 * S), "b.gespann.test");
	assert_null(get(h, AF_INET, a, 320 * S));
	hostcache_free(h);

	h = hostcache_new(16);
	put(h, AF_INET, a, "b.gespann.test", 300, 20 * S); /* read first */
	put(h, AF_INET, a, "a.gespann.test", 300, 10 * S);
	assert_null(get(h, AF_INET, a, 10 * S - 1));
	assert_string_equal(get(h, AF_INET, a, 15 * S), "a.gespann.test");
	assert_string_equal(get(h, AF_INET, a, 25 * S), "b.gespann.test");

	/* The same name seen again while valid extends it (the later TTL);
	 * after a gap it starts anew. */
	put(h, AF_INET, a, "b.gespann.test", 100, 200 * S);
	assert_string_equal(get(h, AF_INET, a, 299 * S), "b.gespann.test");
	assert_null(get(h, AF_INET, a, 300 * S));
	put(h, AF_INET, a, "b.gespann.test", 10, 400 * S);
	assert_null(get(h, AF_INET, a, 350 * S));
	assert_string_equal(get(h, AF_INET, a, 405 * S), "b.gespann.test");
	hostcache_free(h);
}

static const char *ask(const struct hostcache *h, const uint8_t a[16], uint64_t netns, uint32_t pid,
		       uint64_t t)
{
	struct hostcache_query q = { .at_ns = t, .netns = netns, .pid = pid };

	return hostcache_lookup(h, AF_INET, a, &q);
}

/* Two processes resolving different names to one address each get their
 * own; getaddrinfo results are their process's alone, DNS answers serve the
 * namespace (the latest one), and namespaces do not mix. */
static void test_per_process_and_namespace(void **state)
{
	struct hostcache *h = hostcache_new(64);
	struct hostcache_origin o = { .netns = 7 };
	uint8_t a[16];

	(void)state;
	v4(a, "198.18.0.20");
	o.own = true;
	o.pid = 100;
	o.seen_ns = 10 * S;
	hostcache_put(h, AF_INET, a, "one.gespann.test", 60, &o);
	o.pid = 200;
	o.seen_ns = 11 * S;
	hostcache_put(h, AF_INET, a, "two.gespann.test", 60, &o);
	assert_string_equal(ask(h, a, 7, 100, 12 * S), "one.gespann.test");
	assert_string_equal(ask(h, a, 7, 200, 12 * S), "two.gespann.test");
	assert_null(ask(h, a, 7, 300, 12 * S)); /* another process's getaddrinfo */
	assert_null(ask(h, a, 7, 0, 12 * S));
	assert_null(ask(h, a, 8, 100, 12 * S)); /* another namespace */

	/* DNS answers, seen by processes 100 and 200 in turn. */
	o.own = false;
	o.pid = 100;
	o.seen_ns = 13 * S;
	hostcache_put(h, AF_INET, a, "one.gespann.test", 60, &o);
	o.pid = 200;
	o.seen_ns = 14 * S;
	hostcache_put(h, AF_INET, a, "two.gespann.test", 60, &o);
	assert_string_equal(ask(h, a, 7, 100, 15 * S), "one.gespann.test");
	assert_string_equal(ask(h, a, 7, 200, 15 * S), "two.gespann.test");
	assert_string_equal(ask(h, a, 7, 300, 13 * S), "one.gespann.test");
	assert_string_equal(ask(h, a, 7, 300, 15 * S), "two.gespann.test"); /* the latest */
	assert_string_equal(ask(h, a, 7, 0, 15 * S), "two.gespann.test");
	assert_null(ask(h, a, 0, 0, 15 * S));
	hostcache_free(h);
}

/* dns.min_ttl: TTL 0 and short TTLs name flows for at least the minimum;
 * longer TTLs keep theirs. */
static void test_min_ttl(void **state)
{
	struct hostcache *h = hostcache_new(16);
	struct hostcache_origin o = { .seen_ns = 10 * S, .min_ttl_s = 60 };
	uint8_t a[16], b[16], c[16], d[16];

	(void)state;
	hostcache_put(h, AF_INET, v4(a, "198.18.0.30"), "zero.gespann.test", 0, &o);
	hostcache_put(h, AF_INET, v4(b, "198.18.0.31"), "five.gespann.test", 5, &o);
	hostcache_put(h, AF_INET, v4(c, "198.18.0.32"), "long.gespann.test", 300, &o);
	hostcache_put(h, AF_INET, v4(d, "198.18.0.33"), "neg.gespann.test", 0x80000000u, &o);
	assert_string_equal(get(h, AF_INET, a, 10 * S), "zero.gespann.test");
	assert_string_equal(get(h, AF_INET, a, 70 * S - 1), "zero.gespann.test");
	assert_null(get(h, AF_INET, a, 70 * S));
	assert_string_equal(get(h, AF_INET, b, 70 * S - 1), "five.gespann.test");
	assert_null(get(h, AF_INET, b, 70 * S));
	assert_string_equal(get(h, AF_INET, c, 310 * S - 1), "long.gespann.test");
	assert_null(get(h, AF_INET, c, 310 * S));
	assert_string_equal(get(h, AF_INET, d, 70 * S - 1), "neg.gespann.test");
	hostcache_free(h);
}

/* At most HOSTCACHE_PER_ADDR names per address and namespace: the one that
 * expires first goes, counted as an eviction; other addresses are kept. */
static void test_per_address_bound(void **state)
{
	struct hostcache *h = hostcache_new(1000);
	struct hostcache_origin o = { .own = false };
	struct hostcache_stats st;
	uint8_t a[16], b[16];
	char name[32];

	(void)state;
	v4(a, "198.18.0.40");
	hostcache_put(h, AF_INET, v4(b, "198.18.0.41"), "other.gespann.test", 60, &o);
	o.own = true;
	for (uint32_t i = 0; i < HOSTCACHE_PER_ADDR + 4; i++) {
		snprintf(name, sizeof(name), "p%u.gespann.test", i);
		o.pid = 1000 + i;
		hostcache_put(h, AF_INET, a, name, 100 + i, &o); /* p0 expires first */
	}
	hostcache_get_stats(h, &st);
	assert_int_equal(st.entries, HOSTCACHE_PER_ADDR + 1);
	assert_int_equal(st.evictions, 4);
	assert_null(ask(h, a, 0, 1000, 1));
	assert_null(ask(h, a, 0, 1003, 1));
	assert_string_equal(ask(h, a, 0, 1004, 1), "p4.gespann.test");
	assert_string_equal(ask(h, a, 0, 1000 + HOSTCACHE_PER_ADDR + 3, 1), "p19.gespann.test");
	assert_string_equal(get(h, AF_INET, b, 1), "other.gespann.test");
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
		cmocka_unit_test(test_time_ordered),
		cmocka_unit_test(test_per_process_and_namespace),
		cmocka_unit_test(test_min_ttl),
		cmocka_unit_test(test_per_address_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
