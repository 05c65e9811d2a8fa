// SPDX-License-Identifier: MIT
/*
 * Unit tests: event decoding (addresses, errno labels, record validation,
 * the per-connection log line) and the histogram slot search shared with the
 * kernel programs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "abi/gespann_hist.h"
#include "event.h"

static void test_addr_v4_v6_mapped(void **state)
{
	uint8_t a[GS_ADDR_LEN] = { 0 };
	char buf[EVENT_ADDR_STRLEN];

	(void)state;
	inet_pton(AF_INET, "198.18.0.1", a);
	assert_string_equal(event_addr(AF_INET, a, buf, sizeof(buf)), "198.18.0.1");
	inet_pton(AF_INET6, "fd00:6765:7370::2", a);
	assert_string_equal(event_addr(AF_INET6, a, buf, sizeof(buf)), "fd00:6765:7370::2");
	inet_pton(AF_INET6, "::ffff:198.18.0.2", a);
	assert_string_equal(event_addr(AF_INET6, a, buf, sizeof(buf)), "198.18.0.2");
}

static void test_errno_labels(void **state)
{
	static const struct {
		int err;
		const char *want;
	} cases[] = {
		{ 0, "none" },
		{ ECONNREFUSED, "ECONNREFUSED" },
		{ ETIMEDOUT, "ETIMEDOUT" },
		{ EHOSTUNREACH, "EHOSTUNREACH" },
		{ ENETUNREACH, "ENETUNREACH" },
		{ 159, "E159" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(event_errno_label(cases[i].err, buf, sizeof(buf)),
				    cases[i].want);
}

static void test_validate(void **state)
{
	struct gs_event ev = { .hdr = { .type = GS_EV_CLOSE, .size = sizeof(struct gs_event) },
			       .conn.family = AF_INET };

	(void)state;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	assert_int_equal(event_validate(&ev, sizeof(ev) - 1), -EINVAL);
	assert_int_equal(event_validate(NULL, sizeof(ev)), -EINVAL);
	ev.hdr.type = 7;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.hdr.type = GS_EV_FAILED;
	ev.conn.family = 99;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
}

static void test_format_close_and_failed(void **state)
{
	static const char reasons[2][32] = { "not_specified", "no_socket" };
	struct gs_event ev = { 0 };
	char line[512];

	(void)state;
	ev.hdr.type = GS_EV_CLOSE;
	ev.conn.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", ev.conn.saddr);
	inet_pton(AF_INET, "198.18.0.2", ev.conn.daddr);
	ev.conn.sport = 40000;
	ev.conn.dport = 80;
	ev.conn.pid = 42;
	memcpy(ev.conn.comm, "cu rl\n", 7);
	ev.conn.netns_ino = 4026531840u;
	ev.conn.bytes_sent = 100;
	ev.conn.bytes_received = 200;
	ev.conn.srtt_us = 51;
	ev.conn.min_rtt_us = 40;
	ev.conn.start_ns = 1000000;
	ev.conn.established_ns = 1120000;
	ev.conn.end_ns = 4120000;
	ev.conn.flags = GS_CF_ACTIVE | GS_CF_ESTABLISHED | GS_CF_CLOSED | GS_CF_RST_SENT;
	ev.conn.reset_reason = 1;
	event_format(&ev, reasons, 2, line, sizeof(line));
	assert_string_equal(line, "tcp close active pid=42 comm=cu?rl? 198.18.0.1:40000 -> "
				  "198.18.0.2:80 netns=4026531840 sent=100 received=200 srtt_us=51 "
				  "min_rtt_us=40 retrans=0 connect_us=120 duration_ms=3 "
				  "reset=sent(no_socket)");

	ev.hdr.type = GS_EV_FAILED;
	ev.conn.flags = GS_CF_ACTIVE | GS_CF_FAILED;
	ev.conn.err = ECONNREFUSED;
	ev.conn.comm[0] = 0;
	event_format(&ev, NULL, 0, line, sizeof(line));
	assert_string_equal(line, "tcp failed active pid=42 comm=- 198.18.0.1:40000 -> "
				  "198.18.0.2:80 netns=4026531840 errno=ECONNREFUSED retrans=0");
	/* Truncation keeps a terminated string. */
	assert_int_equal(event_format(&ev, NULL, 0, line, 10), 9);
	assert_int_equal(strlen(line), 9);
}

static void test_hist_slot_matches_linear_search(void **state)
{
	(void)state;
	for (int i = 1; i < GS_HIST_NBOUNDS; i++)
		assert_true(gs_hist_bounds[i - 1] < gs_hist_bounds[i]);
	for (int b = 0; b < GS_HIST_NBOUNDS; b++) {
		const uint64_t probes[] = { gs_hist_bounds[b] - 1, gs_hist_bounds[b],
					    gs_hist_bounds[b] + 1 };

		for (size_t j = 0; j < 3; j++) {
			uint64_t v = probes[j];
			uint32_t want = GS_HIST_NBOUNDS;

			for (uint32_t k = 0; k < GS_HIST_NBOUNDS; k++) {
				if (v <= gs_hist_bounds[k]) {
					want = k;
					break;
				}
			}
			if (gs_hist_slot(v) != want)
				fail_msg("slot(%llu): expected %u, got %u", (unsigned long long)v,
					 want, gs_hist_slot(v));
		}
	}
	assert_int_equal(gs_hist_slot(0), 0);
	assert_int_equal(gs_hist_slot(UINT64_MAX), GS_HIST_NBOUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_v4_v6_mapped),
		cmocka_unit_test(test_errno_labels),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_format_close_and_failed),
		cmocka_unit_test(test_hist_slot_matches_linear_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
