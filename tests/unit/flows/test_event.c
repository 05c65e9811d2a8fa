// SPDX-License-Identifier: MIT
/*
 * Unit tests: event decoding (addresses, errno labels, validation of every
 * record type, string sanitising, the per-record log lines) and the histogram slot search shared with the
 * kernel programs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "abi/gespann_hist.h"
#include "flows/event.h"

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
	assert_int_equal(event_type(&ev), GS_EV_CLOSE);
	assert_int_equal(event_validate(&ev, sizeof(ev) - 1), -EINVAL);
	assert_int_equal(event_validate(&ev, sizeof(ev) + 8), -EINVAL);
	assert_int_equal(event_validate(&ev, 4), -EINVAL);
	assert_int_equal(event_validate(NULL, sizeof(ev)), -EINVAL);
	ev.hdr.size = sizeof(ev) + 8;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.hdr.size = sizeof(ev);
	ev.hdr.type = 0;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.hdr.type = 99;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	/* A connection record claiming another type has the wrong size. */
	ev.hdr.type = GS_EV_RESOLVE;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.hdr.type = GS_EV_EXEC;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.hdr.type = GS_EV_FAILED;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	ev.conn.family = 0;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	ev.conn.family = 99;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
}

static void test_validate_proc(void **state)
{
	static const uint32_t types[] = { GS_EV_EXEC, GS_EV_FORK, GS_EV_EXIT };
	struct gs_proc_event ev = { 0 };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		ev.hdr.type = types[i];
		ev.hdr.size = sizeof(ev);
		assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
		assert_int_equal(event_validate(&ev, sizeof(ev) - 1), -EINVAL);
		assert_int_equal(event_validate(&ev, sizeof(struct gs_event)), -EINVAL);
		ev.hdr.size = sizeof(struct gs_event);
		assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	}
	/* Unterminated strings are the reader's problem, not a reason to drop. */
	ev.hdr.size = sizeof(ev);
	memset(ev.comm, 'x', sizeof(ev.comm));
	memset(ev.path, 'y', sizeof(ev.path));
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
}

static void test_validate_dns(void **state)
{
	struct gs_dns_event ev = { .hdr = { .type = GS_EV_DNS,
					    .size = sizeof(struct gs_dns_event) },
				   .family = AF_INET,
				   .protocol = IPPROTO_UDP,
				   .len = 40,
				   .payload_len = 40 };

	(void)state;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	assert_int_equal(event_validate(&ev, sizeof(ev) - 1), -EINVAL);
	ev.len = GS_DNS_MAX;
	ev.payload_len = 1400;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	ev.len = GS_DNS_MAX + 1;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.len = 41;
	ev.payload_len = 40;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.len = 40;
	ev.protocol = IPPROTO_TCP;
	ev.family = AF_INET6;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	ev.protocol = 1;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.protocol = IPPROTO_UDP;
	ev.family = 0;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.family = AF_INET;
	ev.egress = 2;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
}

static void test_validate_resolve(void **state)
{
	struct gs_resolve_event ev = {
		.hdr = { .type = GS_EV_RESOLVE, .size = sizeof(struct gs_resolve_event) },
	};

	(void)state;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0); /* no address: valid */
	for (int i = 0; i < GS_RESOLVE_MAX; i++)
		ev.addrs[i].family = i % 2 ? AF_INET6 : AF_INET;
	ev.n_addrs = GS_RESOLVE_MAX;
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	ev.n_addrs = GS_RESOLVE_MAX + 1;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.n_addrs = UINT32_MAX;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.n_addrs = 3;
	ev.addrs[2].family = 0;
	assert_int_equal(event_validate(&ev, sizeof(ev)), -EINVAL);
	ev.addrs[2].family = AF_INET;
	ev.addrs[5].family = 0; /* beyond n_addrs: ignored */
	assert_int_equal(event_validate(&ev, sizeof(ev)), 0);
	assert_int_equal(event_validate(&ev, sizeof(ev) - 4), -EINVAL);
	assert_int_equal(event_validate(&ev, sizeof(struct gs_proc_event)), -EINVAL);
}

static void test_copy_str(void **state)
{
	char dst[8];
	const char unterminated[4] = { 'a', 'b', 'c', 'd' };

	(void)state;
	event_copy_str(dst, sizeof(dst), "curl", 16);
	assert_string_equal(dst, "curl");
	event_copy_str(dst, sizeof(dst), unterminated, sizeof(unterminated));
	assert_string_equal(dst, "abcd");
	event_copy_str(dst, sizeof(dst), "a\tb\x7f\xc3\xa9 z", 16);
	assert_string_equal(dst, "a?b??? ");
	event_copy_str(dst, sizeof(dst), "0123456789", 10);
	assert_string_equal(dst, "0123456");
	event_copy_str(dst, 1, "abc", 3);
	assert_string_equal(dst, "");
	event_copy_str(dst, sizeof(dst), NULL, 3);
	assert_string_equal(dst, "");
	event_copy_str(dst, sizeof(dst), "abc", 0);
	assert_string_equal(dst, "");
	event_copy_str(NULL, 0, "abc", 3); /* no crash */
}

static void test_format_proc(void **state)
{
	struct gs_proc_event ev = { .hdr = { .type = GS_EV_EXEC, .size = sizeof(ev) } };
	char line[512];
	int n;

	(void)state;
	ev.pid = 42;
	ev.ppid = 1;
	ev.cgroup_id = 7;
	memcpy(ev.comm, "curl", 5);
	memcpy(ev.path, "/usr/bin/my curl", 17);
	n = event_format_proc(&ev, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_string_equal(line,
			    "proc exec pid=42 ppid=1 comm=curl cgroup=7 path=/usr/bin/my?curl");
	memset(ev.path, 'p', sizeof(ev.path)); /* unterminated: cut at GS_PATH_LEN - 1 */
	event_format_proc(&ev, line, sizeof(line));
	assert_int_equal(strlen(strstr(line, "path=") + 5), GS_PATH_LEN - 1);
	ev.hdr.type = GS_EV_EXIT;
	memset(ev.comm, 'c', sizeof(ev.comm));
	event_format_proc(&ev, line, sizeof(line));
	assert_string_equal(line, "proc exit pid=42 ppid=1 comm=ccccccccccccccc cgroup=7");
	ev.hdr.type = GS_EV_FORK;
	ev.comm[0] = 0;
	event_format_proc(&ev, line, sizeof(line));
	assert_string_equal(line, "proc fork pid=42 ppid=1 comm=- cgroup=7");
	assert_int_equal(event_format_proc(&ev, line, 6), 5);
	assert_string_equal(line, "proc ");
}

static void test_format_resolve(void **state)
{
	struct gs_resolve_event ev = { .hdr = { .type = GS_EV_RESOLVE, .size = sizeof(ev) } };
	char line[1024];
	int n;

	(void)state;
	ev.pid = 9;
	ev.latency_ns = 1234567;
	memcpy(ev.comm, "getent", 7);
	memcpy(ev.name, "api.gespann.test", 17);
	ev.n_addrs = 2;
	ev.addrs[0].family = AF_INET;
	inet_pton(AF_INET, "198.18.0.2", ev.addrs[0].addr);
	ev.addrs[1].family = AF_INET6;
	inet_pton(AF_INET6, "fd00:6765:7370::2", ev.addrs[1].addr);
	event_format_resolve(&ev, line, sizeof(line));
	assert_string_equal(line, "resolve pid=9 comm=getent name=api.gespann.test latency_us=1234 "
				  "addrs=198.18.0.2,fd00:6765:7370::2");
	ev.n_addrs = 0;
	memset(ev.name, 'n', sizeof(ev.name));
	event_format_resolve(&ev, line, sizeof(line));
	assert_int_equal(strlen(line),
			 strlen("resolve pid=9 comm=getent name= latency_us=1234 addrs=-") +
				 GS_NAME_LEN - 1);
	/* Every address slot in use, the longest form: still one terminated line. */
	ev.n_addrs = GS_RESOLVE_MAX;
	for (int i = 0; i < GS_RESOLVE_MAX; i++) {
		ev.addrs[i].family = AF_INET6;
		memset(ev.addrs[i].addr, 0xab, GS_ADDR_LEN);
	}
	n = event_format_resolve(&ev, line, sizeof(line));
	assert_int_equal(n, strlen(line));
	assert_non_null(strstr(line, "abab:abab:abab:abab:abab:abab:abab:abab,"));
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
	assert_string_equal(line,
			    "tcp close active pid=42 comm=cu?rl? cgroup=0 198.18.0.1:40000 -> "
			    "198.18.0.2:80 netns=4026531840 sent=100 received=200 srtt_us=51 "
			    "min_rtt_us=40 retrans=0 connect_us=120 duration_ms=3 "
			    "reset=sent(no_socket)");

	ev.hdr.type = GS_EV_FAILED;
	ev.conn.flags = GS_CF_ACTIVE | GS_CF_FAILED;
	ev.conn.err = ECONNREFUSED;
	ev.conn.comm[0] = 0;
	event_format(&ev, NULL, 0, line, sizeof(line));
	assert_string_equal(line, "tcp failed active pid=42 comm=- cgroup=0 198.18.0.1:40000 -> "
				  "198.18.0.2:80 netns=4026531840 errno=ECONNREFUSED retrans=0");
	/* An accepted connection names its accepting process and cgroup. */
	ev.hdr.type = GS_EV_CLOSE;
	ev.conn.flags = GS_CF_PASSIVE | GS_CF_ACCEPTED | GS_CF_ESTABLISHED | GS_CF_CLOSED;
	ev.conn.cgroup_id = 4242;
	memcpy(ev.conn.comm, "acc-child", 10);
	event_format(&ev, NULL, 0, line, sizeof(line));
	assert_non_null(strstr(line, "tcp close passive pid=42 comm=acc-child cgroup=4242 accepted "
				     "198.18.0.1:40000"));
	ev.hdr.type = GS_EV_FAILED;
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
		cmocka_unit_test(test_validate_proc),
		cmocka_unit_test(test_validate_dns),
		cmocka_unit_test(test_validate_resolve),
		cmocka_unit_test(test_copy_str),
		cmocka_unit_test(test_format_proc),
		cmocka_unit_test(test_format_resolve),
		cmocka_unit_test(test_format_close_and_failed),
		cmocka_unit_test(test_hist_slot_matches_linear_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
