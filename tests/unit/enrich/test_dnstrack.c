// SPDX-License-Identifier: MIT
/*
 * Unit tests: the DNS transaction tracker fed gs_dns_event records as the
 * kernel writes them, with an injected clock: answered queries over UDP and
 * TCP, loopback (each packet seen twice) counted once, timeouts, unmatched
 * and mismatched responses, the pending bound, malformed records, and the
 * JSON event line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fuzz/dns_fixtures.h"
#include "enrich/dnstrack.h"

#define MS 1000000ULL
#define S  1000000000ULL

/* What the callback saw: copies, since results live only during the call. */
struct seen {
	int n;
	char qname[DNS_NAME_MAX];
	uint16_t qtype;
	int rcode;
	uint16_t family;
	uint8_t server[16];
	uint16_t server_port;
	uint8_t protocol;
	uint64_t latency_ns;
	uint64_t ts_ns;
	uint32_t pid;
	uint64_t netns_cookie;
	char comm[16];
	int has_response;
	size_t n_answers;
	char json[1024];
};

static void on_result(const struct dnstrack_result *r, void *ctx)
{
	struct seen *s = ctx;

	s->n++;
	snprintf(s->qname, sizeof(s->qname), "%s", r->qname);
	s->qtype = r->qtype;
	s->rcode = r->rcode;
	s->family = r->family;
	memcpy(s->server, r->server, 16);
	s->server_port = r->server_port;
	s->protocol = r->protocol;
	s->latency_ns = r->latency_ns;
	s->ts_ns = r->ts_ns;
	s->pid = r->pid;
	s->netns_cookie = r->netns_cookie;
	memcpy(s->comm, r->comm, sizeof(s->comm));
	s->has_response = r->response != NULL;
	s->n_answers = r->response ? r->response->n_answers : 0;
	assert_true(dnstrack_format_json(r, s->json, sizeof(s->json)) > 0);
}

/* A record as the kernel writes it, for a packet from src:sport to dst:dport. */
static void mkev(struct gs_dns_event *ev, int egress, const char *src, uint16_t sport,
		 const char *dst, uint16_t dport, const struct dnsb *d, uint64_t ts)
{
	int fam = strchr(src, ':') ? AF_INET6 : AF_INET;

	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = GS_EV_DNS;
	ev->hdr.size = sizeof(*ev);
	ev->ts_ns = ts;
	ev->netns_cookie = 4096;
	ev->cgroup_id = 77;
	ev->pid = 4321;
	ev->family = (uint16_t)fam;
	ev->protocol = IPPROTO_UDP;
	ev->egress = (uint8_t)egress;
	ev->sport = sport;
	ev->dport = dport;
	assert_int_equal(inet_pton(fam, src, ev->saddr), 1);
	assert_int_equal(inet_pton(fam, dst, ev->daddr), 1);
	memcpy(ev->comm, "curl", 5);
	ev->len = (uint16_t)(d->n < GS_DNS_MAX ? d->n : GS_DNS_MAX);
	ev->payload_len = (uint16_t)d->n;
	memcpy(ev->data, d->b, ev->len);
}

/* The same record with the message behind a TCP length prefix. */
static void to_tcp(struct gs_dns_event *ev)
{
	uint8_t tmp[GS_DNS_MAX];
	size_t n = ev->len;

	memcpy(tmp, ev->data, n);
	ev->data[0] = (uint8_t)(ev->payload_len >> 8);
	ev->data[1] = (uint8_t)ev->payload_len;
	memcpy(ev->data + 2, tmp, n);
	ev->len = (uint16_t)(n + 2);
	ev->payload_len = (uint16_t)(ev->payload_len + 2);
	ev->protocol = IPPROTO_TCP;
}

static void test_answered_udp(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(16, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q, r;
	uint8_t server[4] = { 198, 18, 0, 2 };

	(void)state;
	fx_query(&q, 0xbeef, "api.gespann.test", DNS_T_A);
	fx_a_response(&r, 0xbeef);
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 10 * S);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 0);
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40000, &r, 10 * S + 3 * MS);
	ev.pid = 0; /* the response's socket owner is not needed */
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.qname, "api.gespann.test");
	assert_int_equal(s.qtype, DNS_T_A);
	assert_int_equal(s.rcode, 0);
	assert_int_equal(s.family, AF_INET);
	assert_memory_equal(s.server, server, 4);
	assert_int_equal(s.server_port, 53);
	assert_int_equal(s.protocol, IPPROTO_UDP);
	assert_int_equal(s.latency_ns, 3 * MS);
	assert_int_equal(s.ts_ns, 10 * S + 3 * MS);
	assert_int_equal(s.pid, 4321);
	assert_int_equal(s.netns_cookie, 4096); /* names are bound in the asker's namespace */
	assert_string_equal(s.comm, "curl");
	assert_int_equal(s.has_response, 1);
	assert_int_equal(s.n_answers, 1);
	assert_string_equal(
		s.json,
		"{\"name\":\"api.gespann.test\",\"type\":\"A\",\"rcode\":\"NOERROR\","
		"\"server\":\"198.18.0.2\",\"server_port\":53,\"protocol\":\"udp\","
		"\"latency_ms\":3.000,\"pid\":4321,\"comm\":\"curl\",\"truncated\":false,"
		"\"answers\":[{\"name\":\"api.gespann.test\",\"type\":\"A\",\"data\":\"198.18.0.10\","
		"\"ttl\":300}]}");
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.queries, 1);
	assert_int_equal(st.responses, 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.malformed + st.unmatched + st.timeouts + st.ignored, 0);
	dnstrack_free(t);
}

/* On loopback each packet is seen leaving and arriving: four records, one
 * transaction. */
static void test_loopback_counted_once(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(16, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q, r;

	(void)state;
	fx_query(&q, 7, "www.gespann.test", DNS_T_A);
	fx_cname_response(&r, 7);
	for (int egress = 1; egress >= 0; egress--) {
		mkev(&ev, egress, "127.0.0.1", 50000, "127.0.0.53", 53, &q, 1 * S);
		assert_int_equal(dnstrack_packet(t, &ev), 0);
	}
	for (int egress = 1; egress >= 0; egress--) {
		mkev(&ev, egress, "127.0.0.53", 53, "127.0.0.1", 50000, &r, 1 * S + 250000);
		assert_int_equal(dnstrack_packet(t, &ev), 0);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.n_answers, 3);
	assert_int_equal(s.latency_ns, 250000);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.packets, 4);
	assert_int_equal(st.queries, 1);
	assert_int_equal(st.responses, 1);
	assert_int_equal(st.ignored, 2);
	assert_int_equal(st.unmatched, 0);
	dnstrack_free(t);
}

static void test_timeout(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(16, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q, r;

	(void)state;
	fx_query(&q, 1, "slow.gespann.test", DNS_T_AAAA);
	mkev(&ev, 1, "fd00:6765:7370::1", 41000, "fd00:6765:7370::2", 53, &q, 100 * S);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	dnstrack_expire(t, 105 * S - 1);
	assert_int_equal(s.n, 0);
	dnstrack_expire(t, 105 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rcode, -1);
	assert_int_equal(s.has_response, 0);
	assert_int_equal(s.latency_ns, 5 * S);
	assert_int_equal(s.ts_ns, 105 * S);
	assert_int_equal(s.qtype, DNS_T_AAAA);
	assert_string_equal(
		s.json,
		"{\"name\":\"slow.gespann.test\",\"type\":\"AAAA\",\"rcode\":\"timeout\","
		"\"server\":\"fd00:6765:7370::2\",\"server_port\":53,\"protocol\":\"udp\","
		"\"latency_ms\":5000.000,\"pid\":4321,\"comm\":\"curl\",\"truncated\":false,"
		"\"answers\":[]}");
	/* The late answer finds nothing. */
	fx_a_response(&r, 1);
	mkev(&ev, 0, "fd00:6765:7370::2", 53, "fd00:6765:7370::1", 41000, &r, 106 * S);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 1);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.unmatched, 1);
	assert_int_equal(st.pending, 0);
	dnstrack_free(t);
}

static void test_unmatched_and_mismatched(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(16, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q, r, other;

	(void)state;
	fx_query(&q, 0x1234, "api.gespann.test", DNS_T_A);
	fx_a_response(&r, 0x1234);
	fx_cname_response(&other, 0x1234); /* same id, question www.gespann.test */
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1 * S);
	assert_int_equal(dnstrack_packet(t, &ev), 0);

	/* Wrong id; wrong server port; other netns; other question: all unmatched. */
	fx_a_response(&r, 0x1235);
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40000, &r, 1 * S + 1);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	fx_a_response(&r, 0x1234);
	mkev(&ev, 0, "198.18.0.2", 5353, "198.18.0.1", 40000, &r, 1 * S + 2);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40000, &r, 1 * S + 3);
	ev.netns_cookie = 1;
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40000, &other, 1 * S + 4);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 0);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.unmatched, 4);
	assert_int_equal(st.pending, 1);

	/* The real answer still matches. */
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40000, &r, 1 * S + 5);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.latency_ns, 5);
	dnstrack_free(t);
}

static void test_pending_bound_and_retransmit(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(2, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q;

	(void)state;
	for (unsigned id = 1; id <= 3; id++) {
		fx_query(&q, id, "api.gespann.test", DNS_T_A);
		mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1 * S + id);
		assert_int_equal(dnstrack_packet(t, &ev), 0);
	}
	fx_query(&q, 1, "api.gespann.test", DNS_T_A); /* resent */
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 2 * S);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.queries, 2);
	assert_int_equal(st.pending_full, 1);
	assert_int_equal(st.retransmits, 1);
	assert_int_equal(st.pending, 2);

	/* A query arriving when the waiting ones are stale makes room by
	 * timing them out first. */
	fx_query(&q, 9, "api.gespann.test", DNS_T_A);
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 7 * S);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.rcode, -1);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.timeouts, 2);
	assert_int_equal(st.queries, 3);
	assert_int_equal(st.pending, 1);
	dnstrack_free(t);
}

/* Thousands of waiting queries: the table grows far past its first size,
 * the bound holds, responses in any order find their query, and expiry
 * empties what is left, oldest first. */
static void test_many_pending(void **state)
{
	enum { MAX = 2000, SENT = 2500 };
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(MAX, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q, r;

	(void)state;
	for (unsigned i = 0; i < SENT; i++) { /* one source port per 100 ids */
		fx_query(&q, i % 100, "api.gespann.test", DNS_T_A);
		mkev(&ev, 1, "198.18.0.1", (uint16_t)(40000 + i / 100), "198.18.0.2", 53, &q,
		     1 * S + i);
		assert_int_equal(dnstrack_packet(t, &ev), 0);
	}
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.queries, MAX);
	assert_int_equal(st.pending_full, SENT - MAX);
	assert_int_equal(st.pending, MAX);
	/* Answer every other one, newest first. */
	for (unsigned i = MAX; i-- > 0;) {
		if (i & 1)
			continue;
		fx_a_response(&r, i % 100);
		mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", (uint16_t)(40000 + i / 100), &r,
		     2 * S);
		assert_int_equal(dnstrack_packet(t, &ev), 0);
		assert_int_equal(s.rcode, 0);
		assert_int_equal(s.latency_ns, 1 * S - i);
	}
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.responses, MAX / 2);
	assert_int_equal(st.pending, MAX / 2);
	assert_int_equal(st.unmatched, 0);
	/* The rest times out in the order it was sent. */
	s.n = 0;
	dnstrack_expire(t, 6 * S + 999);
	dnstrack_get_stats(t, &st);
	assert_int_equal(s.n, 500);
	assert_int_equal(s.latency_ns, 5 * S); /* the last one reported: query 999 */
	assert_int_equal(st.pending, MAX / 2 - 500);
	dnstrack_expire(t, 7 * S);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.timeouts, MAX / 2);
	assert_int_equal(st.pending, 0);
	dnstrack_free(t);
}

static void test_tcp_transaction(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(16, 5 * S, on_result, &s);
	struct gs_dns_event ev;
	struct dnsb q, r;

	(void)state;
	fx_query(&q, 0x77, "v6.gespann.test", DNS_T_AAAA);
	fx_aaaa_response(&r, 0x77);
	mkev(&ev, 1, "198.18.0.1", 40001, "198.18.0.2", 53, &q, 1 * S);
	to_tcp(&ev);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	/* A UDP response to the same tuple is another transaction. */
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40001, &r, 1 * S + 1);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 0);
	mkev(&ev, 0, "198.18.0.2", 53, "198.18.0.1", 40001, &r, 1 * S + 2);
	to_tcp(&ev);
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.protocol, IPPROTO_TCP);
	assert_int_equal(s.n_answers, 1);
	dnstrack_free(t);
}

static void test_malformed_records(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(16, 5 * S, on_result, &s);
	struct dnstrack_stats st;
	struct gs_dns_event ev;
	struct dnsb q;

	(void)state;
	fx_query(&q, 1, "api.gespann.test", DNS_T_A);
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	ev.len = GS_DNS_MAX + 1;
	ev.payload_len = 2000;
	assert_int_equal(dnstrack_packet(t, &ev), -EINVAL);
	assert_string_equal(dnstrack_last_error(t), "record of 513 bytes, more than 512");
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	ev.payload_len = 10;
	assert_int_equal(dnstrack_packet(t, &ev), -EINVAL);
	assert_string_equal(dnstrack_last_error(t), "record of 34 bytes from a payload of 10");
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	ev.family = 7;
	assert_int_equal(dnstrack_packet(t, &ev), -EINVAL);
	assert_string_equal(dnstrack_last_error(t), "address family 7");
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	ev.protocol = IPPROTO_ICMP;
	assert_int_equal(dnstrack_packet(t, &ev), -EINVAL);
	assert_string_equal(dnstrack_last_error(t), "protocol 1");
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	ev.len = ev.payload_len = 11;
	assert_int_equal(dnstrack_packet(t, &ev), -EINVAL);
	assert_string_equal(dnstrack_last_error(t),
			    "udp message of 11 bytes, shorter than a header");
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	ev.data[12] = 0xc0; /* question name: pointer to offset 12, itself */
	ev.data[13] = 12;
	assert_int_equal(dnstrack_packet(t, &ev), -EINVAL);
	assert_string_equal(dnstrack_last_error(t), "question: name compression loop at offset 12");
	assert_int_equal(dnstrack_packet(t, NULL), -EINVAL);
	assert_int_equal(dnstrack_packet(NULL, &ev), -EINVAL);
	dnstrack_get_stats(t, &st);
	assert_int_equal(st.packets, 6);
	assert_int_equal(st.malformed, 6);
	assert_int_equal(st.queries, 0);
	assert_int_equal(s.n, 0);
	dnstrack_free(t);
	dnstrack_free(NULL);
	assert_null(dnstrack_new(0, 1, on_result, NULL));
	assert_null(dnstrack_new(1, 0, on_result, NULL));
	assert_null(dnstrack_new(1, 1, NULL, NULL));
}

static void test_json_escaping_and_space(void **state)
{
	struct dnstrack_result r;
	struct dns_msg m;
	char buf[512], small[40];
	int n;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&m, 0, sizeof(m));
	r.qname = "a\\.b\\\"c.gespann.test"; /* as the parser escapes "a.b\"c" */
	r.qtype = 65280;
	r.rcode = 11;
	r.family = AF_INET;
	r.server[0] = 10;
	r.server[3] = 1;
	r.server_port = 53;
	r.protocol = IPPROTO_TCP;
	r.latency_ns = 1600;
	memcpy(r.comm, "q\"u\x01z\xc3\xa9", 8);
	m.partial = 1;
	m.n_answers = 1;
	snprintf(m.answers[0].name, DNS_NAME_MAX, "%s", "a.gespann.test");
	m.answers[0].type = DNS_T_TXT;
	m.answers[0].ttl = 1;
	r.response = &m;
	n = dnstrack_format_json(&r, buf, sizeof(buf));
	assert_string_equal(
		buf, "{\"name\":\"a\\\\.b\\\\\\\"c.gespann.test\",\"type\":\"TYPE65280\","
		     "\"rcode\":\"RCODE11\",\"server\":\"10.0.0.1\",\"server_port\":53,"
		     "\"protocol\":\"tcp\",\"latency_ms\":0.002,\"pid\":0,"
		     "\"comm\":\"q\\\"u\\u0001z\\u00c3\\u00a9\",\"truncated\":true,"
		     "\"answers\":[{\"name\":\"a.gespann.test\",\"type\":\"TXT\",\"data\":\"\","
		     "\"ttl\":1}]}");
	assert_int_equal(n, (int)strlen(buf));
	assert_int_equal(dnstrack_format_json(&r, small, sizeof(small)), -ENOSPC);
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(dnstrack_format_json(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dnstrack_format_json(&r, buf, 0), -EINVAL);
}

static void test_comm_without_nul(void **state)
{
	struct seen s = { 0 };
	struct dnstrack *t = dnstrack_new(4, 5 * S, on_result, &s);
	struct gs_dns_event ev;
	struct dnsb q;

	(void)state;
	fx_query(&q, 5, "api.gespann.test", DNS_T_A);
	mkev(&ev, 1, "198.18.0.1", 40000, "198.18.0.2", 53, &q, 1);
	memset(ev.comm, 'x', sizeof(ev.comm));
	assert_int_equal(dnstrack_packet(t, &ev), 0);
	dnstrack_expire(t, 10 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.comm), 15);
	dnstrack_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answered_udp),
		cmocka_unit_test(test_loopback_counted_once),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_unmatched_and_mismatched),
		cmocka_unit_test(test_pending_bound_and_retransmit),
		cmocka_unit_test(test_many_pending),
		cmocka_unit_test(test_tcp_transaction),
		cmocka_unit_test(test_malformed_records),
		cmocka_unit_test(test_json_escaping_and_space),
		cmocka_unit_test(test_comm_without_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
