// SPDX-License-Identifier: MIT
/*
 * Unit tests: UDP flow expiry with an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flows/conntab.h"

#define S 1000000000ULL

static void make(struct gs_udp_key *k, struct gs_udp_flow *f, uint16_t port, uint64_t last)
{
	memset(k, 0, sizeof(*k));
	memset(f, 0, sizeof(*f));
	k->lport = port;
	k->family = 2;
	f->first_ns = last;
	f->last_ns = last;
}

static void test_expiry_boundaries(void **state)
{
	struct gs_udp_key keys[4], expired[4];
	struct gs_udp_flow flows[4];
	struct conntab_udp_sweep sw = { 0 };

	(void)state;
	make(&keys[0], &flows[0], 1000, 100 * S);     /* silent exactly idle: expired */
	make(&keys[1], &flows[1], 1001, 100 * S + 1); /* one ns short: active */
	make(&keys[2], &flows[2], 1002, 131 * S);     /* moved after `now` was read */
	make(&keys[3], &flows[3], 1003, 10 * S);      /* long silent: expired */
	conntab_sweep_udp(keys, flows, 4, 130 * S, 30 * S, expired, 4, &sw);
	assert_int_equal(sw.active, 2);
	assert_int_equal(sw.expired, 2);
	assert_int_equal(sw.overflow, 0);
	assert_int_equal(expired[0].lport, 1000);
	assert_int_equal(expired[1].lport, 1003);
}

static void test_batches_accumulate_and_overflow(void **state)
{
	struct gs_udp_key keys[3], expired[2];
	struct gs_udp_flow flows[3];
	struct conntab_udp_sweep sw = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++)
		make(&keys[i], &flows[i], 2000 + i, 0);
	/* Two batches into one sweep: the third expired key has no room and
	 * stays active until the next sweep. */
	conntab_sweep_udp(keys, flows, 2, 60 * S, 30 * S, expired, 2, &sw);
	conntab_sweep_udp(keys + 2, flows + 2, 1, 60 * S, 30 * S, expired, 2, &sw);
	assert_int_equal(sw.expired, 2);
	assert_int_equal(sw.overflow, 1);
	assert_int_equal(sw.active, 1);
	assert_int_equal(expired[1].lport, 2001);
}

static void test_empty_batch(void **state)
{
	struct conntab_udp_sweep sw = { 0 };

	(void)state;
	conntab_sweep_udp(NULL, NULL, 0, 1, 1, NULL, 0, &sw);
	assert_int_equal(sw.active + sw.expired + sw.overflow, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry_boundaries),
		cmocka_unit_test(test_batches_accumulate_and_overflow),
		cmocka_unit_test(test_empty_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
