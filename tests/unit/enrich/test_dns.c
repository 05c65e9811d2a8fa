// SPDX-License-Identifier: MIT
/*
 * Unit tests: the DNS parser on well-formed responses (A, AAAA, CNAME chain,
 * NXDOMAIN, TCP framing) and on hostile ones (compression loops, forward and
 * out-of-bounds pointers, long labels and names, wrong counts, every
 * truncation of a valid message), each checked against the exact error line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fuzz/dns_fixtures.h"
#include "enrich/dns.h"

static struct dns_msg msg;
static char err[160];

/* Parse that must succeed; on failure show why. */
static void expect_ok(int r)
{
	if (r)
		print_error("parse failed: %s\n", err);
	assert_int_equal(r, 0);
}

static void test_a_response(void **state)
{
	struct dnsb d;
	static const uint8_t want[4] = { 198, 18, 0, 10 };

	(void)state;
	fx_a_response(&d, 0x1234);
	assert_int_equal(d.n, 50);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_string_equal(err, "");
	assert_int_equal(msg.id, 0x1234);
	assert_int_equal(msg.qr, 1);
	assert_int_equal(msg.opcode, 0);
	assert_int_equal(msg.rd, 1);
	assert_int_equal(msg.ra, 1);
	assert_int_equal(msg.tc, 0);
	assert_int_equal(msg.rcode, 0);
	assert_int_equal(msg.qdcount, 1);
	assert_int_equal(msg.ancount, 1);
	assert_string_equal(msg.qname, "api.gespann.test");
	assert_int_equal(msg.qtype, DNS_T_A);
	assert_int_equal(msg.qclass, DNS_C_IN);
	assert_int_equal(msg.n_answers, 1);
	assert_int_equal(msg.partial, 0);
	assert_string_equal(msg.answers[0].name, "api.gespann.test");
	assert_int_equal(msg.answers[0].type, DNS_T_A);
	assert_int_equal(msg.answers[0].rclass, DNS_C_IN);
	assert_int_equal(msg.answers[0].ttl, 300);
	assert_int_equal(msg.answers[0].family, AF_INET);
	assert_memory_equal(msg.answers[0].addr, want, 4);
	assert_string_equal(msg.answers[0].target, "");
}

static void test_aaaa_response(void **state)
{
	struct dnsb d;
	uint8_t want[16];

	(void)state;
	inet_pton(AF_INET6, "fd00:6765:7370::10", want);
	fx_aaaa_response(&d, 7);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_string_equal(msg.qname, "v6.gespann.test");
	assert_int_equal(msg.qtype, DNS_T_AAAA);
	assert_int_equal(msg.arcount, 1);
	assert_int_equal(msg.n_answers, 1);
	assert_int_equal(msg.answers[0].family, AF_INET6);
	assert_int_equal(msg.answers[0].ttl, 60);
	assert_memory_equal(msg.answers[0].addr, want, 16);
}

static void test_cname_chain(void **state)
{
	struct dnsb d;
	static const uint8_t a2[4] = { 198, 18, 7, 2 };

	(void)state;
	fx_cname_response(&d, 9);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_string_equal(msg.qname, "www.gespann.test");
	assert_int_equal(msg.n_answers, 3);
	assert_string_equal(msg.answers[0].name, "www.gespann.test");
	assert_int_equal(msg.answers[0].type, DNS_T_CNAME);
	assert_int_equal(msg.answers[0].ttl, 3600);
	assert_string_equal(msg.answers[0].target, "edge.cdn.test");
	assert_int_equal(msg.answers[0].family, 0);
	assert_string_equal(msg.answers[1].name, "edge.cdn.test");
	assert_int_equal(msg.answers[1].ttl, 20);
	assert_string_equal(msg.answers[2].name, "edge.cdn.test");
	assert_memory_equal(msg.answers[2].addr, a2, 4);
}

static void test_nxdomain(void **state)
{
	struct dnsb d;
	char buf[32];

	(void)state;
	fx_nxdomain_response(&d, 11);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_int_equal(msg.rcode, 3);
	assert_string_equal(dns_rcode_name(msg.rcode, buf, sizeof(buf)), "NXDOMAIN");
	assert_string_equal(msg.qname, "nope.gespann.test");
	assert_int_equal(msg.nscount, 1);
	assert_int_equal(msg.n_answers, 0);
}

static void test_tcp_prefix(void **state)
{
	struct dnsb d;
	uint8_t tcp[2 + 64 + 7];

	(void)state;
	fx_a_response(&d, 0x4242);
	tcp[0] = 0;
	tcp[1] = (uint8_t)d.n;
	memcpy(tcp + 2, d.b, d.n);
	memset(tcp + 2 + d.n, 0xee, 7); /* the next message's first bytes */
	expect_ok(dns_parse_tcp(tcp, 2 + d.n + 7, &msg, err, sizeof(err)));
	assert_int_equal(msg.id, 0x4242);
	assert_int_equal(msg.n_answers, 1);
	assert_int_equal(msg.partial, 0);

	/* Cut inside the answer: partial, not an error. */
	expect_ok(dns_parse_tcp(tcp, 2 + d.n - 3, &msg, err, sizeof(err)));
	assert_int_equal(msg.partial, 1);
	assert_int_equal(msg.n_answers, 0);
	assert_string_equal(msg.qname, "api.gespann.test");

	assert_int_equal(dns_parse_tcp(tcp, 1, &msg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "tcp length prefix truncated: 1 of 2 bytes");
	tcp[1] = 5;
	assert_int_equal(dns_parse_tcp(tcp, 2 + d.n, &msg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "tcp message length 5, shorter than a header");
}

/* Hostile messages: header + question built by hand, one expected error. */
struct bad_case {
	const char *what;
	uint8_t bytes[64];
	size_t len;
	const char *err;
};

#define HDR(qd, an) 0x00, 0x01, 0x81, 0x80, 0x00, (qd), 0x00, (an), 0x00, 0x00, 0x00, 0x00

static const struct bad_case
	bad_cases[] = {
		{ "short header", { 0x00, 0x01, 0x81 }, 3, "header truncated: 3 of 12 bytes" },
		{ "qdcount 0", { HDR(0, 0) }, 12, "qdcount 0" },
		{ "qdcount 2",
		  { HDR(2, 0), 1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 1, 0, 1 },
		  12 + 14,
		  "qdcount 2" },
		{ "pointer to itself",
		  { HDR(1, 0), 0xc0, 12, 0, 1, 0, 1 },
		  18,
		  "question: name compression loop at offset 12" },
		{ "pointer into its own name",
		  { HDR(1, 0), 1, 'a', 0xc0, 12, 0, 1, 0, 1 },
		  20,
		  "question: name compression loop at offset 14" },
		{ "forward pointer",
		  { HDR(1, 0), 0xc0, 20, 0, 1, 0, 1, 1, 'x', 0 },
		  21,
		  "question: forward compression pointer at offset 12 to 20" },
		{ "pointer out of bounds",
		  { HDR(1, 0), 0xc0, 0xff, 0, 1, 0, 1 },
		  18,
		  "question: compression pointer at offset 12 to 255, past the end (18 bytes)" },
		{ "pointer cut in half",
		  { HDR(1, 0), 0xc0 },
		  13,
		  "question: compression pointer truncated at offset 12" },
		{ "64-byte label",
		  { HDR(1, 0), 64, 'a' },
		  14,
		  "question: label of 64 bytes at offset 12" },
		{ "extended label type 0x46",
		  { HDR(1, 0), 1, 'a', 0x46 },
		  15,
		  "question: label of 70 bytes at offset 14" },
		{ "label past the end",
		  { HDR(1, 0), 5, 'a', 'b' },
		  15,
		  "question: label of 5 bytes at offset 12 truncated" },
		{ "name without end",
		  { HDR(1, 0), 1, 'a' },
		  14,
		  "question: name truncated at offset 14" },
		{ "question without type",
		  { HDR(1, 0), 1, 'a', 0, 0, 1 },
		  17,
		  "question truncated at offset 15" },
		{ "ancount larger than the data",
		  { HDR(1, 2), 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1,
		    0,	       1, 0,   0, 0, 5, 0, 4, 1,    2,	3, 4 },
		  12 + 7 + 16,
		  "answer 2 truncated at offset 35" },
		{ "A record of 5 bytes",
		  { HDR(1, 1), 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0,
		    1,	       0, 0,   0, 5, 0, 5, 1, 2,    3,	4, 5 },
		  12 + 7 + 17,
		  "answer 1: A record of 5 bytes at offset 31" },
		{ "rdata shorter than announced",
		  { HDR(1, 1), 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2 },
		  12 + 7 + 14,
		  "answer 1 truncated at offset 33 (rdata of 4 bytes at 31)" },
		{ "CNAME target longer than its rdata",
		  { HDR(1, 1), 1, 'a', 0, 0, 5, 0, 1, 0xc0, 12,	 0, 5,
		    0,	       1, 0,   0, 0, 5, 0, 2, 1,    'b', 0 },
		  12 + 7 + 15,
		  "answer 1: name at offset 31 ends at 34, rdata at 33" },
		{ "answer name loops",
		  { HDR(1, 1), 1, 'a', 0, 0, 1, 0, 1, 0xc0, 19, 0, 1,
		    0,	       1, 0,   0, 0, 5, 0, 4, 1,    2,	3, 4 },
		  12 + 7 + 16,
		  "answer 1: name compression loop at offset 19" },
	};

static void test_hostile_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		/* Exactly len bytes on the heap: a read past it is an ASan error. */
		uint8_t *buf = malloc(c->len);

		assert_non_null(buf);
		memcpy(buf, c->bytes, c->len);
		print_message("case: %s\n", c->what);
		assert_int_equal(dns_parse(buf, c->len, &msg, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, c->err);
		free(buf);
	}
}

static void test_long_names(void **state)
{
	struct dnsb d;
	char label63[64], name[300], want[300];

	(void)state;
	memset(label63, 'x', 63);
	label63[63] = '\0';
	/* 3 x 63 + 61: 255 wire bytes, 253 characters: the longest name. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	dnsb_header(&d, 1, 0x0100, 1, 0, 0, 0);
	dnsb_question(&d, name, 1);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_int_equal(strlen(msg.qname), 253);
	assert_string_equal(msg.qname, name);

	/* One byte more: 256 wire bytes. */
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label63, label63, label63, label63);
	dnsb_header(&d, 1, 0x0100, 1, 0, 0, 0);
	dnsb_question(&d, name, 1);
	assert_int_equal(dns_parse(d.b, d.n, &msg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "question: name at offset 12 longer than 255 bytes");

	/* Five full labels through a pointer chain: still bounded. */
	dnsb_header(&d, 1, 0x8180, 1, 1, 0, 0);
	dnsb_u8(&d, 63);
	dnsb_bytes(&d, label63, 63);
	dnsb_u8(&d, 63);
	dnsb_bytes(&d, label63, 63);
	dnsb_u8(&d, 0);
	dnsb_u16(&d, 1);
	dnsb_u16(&d, 1);
	dnsb_u8(&d, 63);
	dnsb_bytes(&d, label63, 63);
	dnsb_u8(&d, 63);
	dnsb_bytes(&d, label63, 63);
	dnsb_ptr(&d, 12);
	dnsb_rr(&d, 1, 1, 4);
	dnsb_u32(&d, 0);
	assert_int_equal(dns_parse(d.b, d.n, &msg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "answer 1: name at offset 145 longer than 255 bytes");

	/* Escaped text longer than 255 characters, from 200 wire bytes. */
	memset(name, 0, sizeof(name));
	dnsb_header(&d, 1, 0x0100, 1, 0, 0, 0);
	for (int l = 0; l < 4; l++) {
		dnsb_u8(&d, 49);
		for (int i = 0; i < 49; i++)
			dnsb_u8(&d, 0x01);
	}
	dnsb_u8(&d, 0);
	dnsb_u16(&d, 1);
	dnsb_u16(&d, 1);
	assert_int_equal(dns_parse(d.b, d.n, &msg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "question: name at offset 12 longer than 255 characters escaped");
	(void)want;
}

static void test_escaping_and_case(void **state)
{
	struct dnsb d;
	static const uint8_t label[] = { 'W', 'w', '.', ' ', '\\', '"', 0xff, 0x00, '-' };

	(void)state;
	dnsb_header(&d, 1, 0x0100, 1, 0, 0, 0);
	dnsb_u8(&d, sizeof(label));
	dnsb_bytes(&d, label, sizeof(label));
	dnsb_u8(&d, 3);
	dnsb_bytes(&d, "COM", 3);
	dnsb_u8(&d, 0);
	dnsb_u16(&d, 16);
	dnsb_u16(&d, 1);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_string_equal(msg.qname, "ww\\.\\032\\\\\\\"\\255\\000-.com");

	/* The root name. */
	dnsb_header(&d, 1, 0x0100, 1, 0, 0, 0);
	dnsb_question(&d, ".", 2);
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_string_equal(msg.qname, ".");
}

static void test_more_answers_than_kept(void **state)
{
	struct dnsb d;

	(void)state;
	dnsb_header(&d, 1, 0x8180, 1, DNS_MAX_ANSWERS + 4, 0, 0);
	dnsb_question(&d, "many.gespann.test", 1);
	for (unsigned i = 0; i < DNS_MAX_ANSWERS + 4; i++) {
		dnsb_ptr(&d, 12);
		dnsb_rr(&d, 1, 5, 4);
		dnsb_u32(&d, 0xc6120000 | i);
	}
	expect_ok(dns_parse(d.b, d.n, &msg, err, sizeof(err)));
	assert_int_equal(msg.n_answers, DNS_MAX_ANSWERS);
	assert_int_equal(msg.partial, 1);
	assert_int_equal(msg.answers[DNS_MAX_ANSWERS - 1].addr[3], DNS_MAX_ANSWERS - 1);
}

/* Every prefix of every fixture: never a crash or an out-of-bounds read
 * (heap buffer of exactly that size), and either an error or a consistent
 * message. Cut prefixes given as captures of the whole message parse
 * whenever the question survived the cut. */
static void test_truncated_at_every_offset(void **state)
{
	void (*fixtures[])(struct dnsb *, unsigned) = { fx_a_response, fx_aaaa_response,
							fx_cname_response, fx_nxdomain_response };

	(void)state;
	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		struct dnsb d;
		struct dns_msg full;
		size_t qend;

		fixtures[f](&d, 77);
		expect_ok(dns_parse(d.b, d.n, &full, err, sizeof(err)));
		qend = 12 + strlen(full.qname) + 2 + 4; /* no pointers in the questions */
		for (size_t cut = 0; cut < d.n; cut++) {
			uint8_t *buf = malloc(cut ? cut : 1);
			int r;

			assert_non_null(buf);
			memcpy(buf, d.b, cut);
			r = dns_parse(buf, cut, &msg, err, sizeof(err));
			if (r == 0) {
				/* Only the answer-less tail (authority/additional) may go. */
				assert_int_equal(msg.n_answers, full.n_answers);
			} else {
				assert_int_equal(r, -EINVAL);
				assert_true(err[0] != '\0');
			}
			r = dns_parse_capture(buf, cut, d.n, &msg, err, sizeof(err));
			if (cut >= qend) {
				assert_int_equal(r, 0);
				assert_string_equal(msg.qname, full.qname);
				assert_true(msg.n_answers <= full.n_answers);
				if (msg.n_answers < full.n_answers)
					assert_int_equal(msg.partial, 1);
			} else {
				assert_int_equal(r, -EINVAL);
			}
			free(buf);
		}
	}
}

static void test_names_of_numbers(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(dns_type_name(1, buf, sizeof(buf)), "A");
	assert_string_equal(dns_type_name(28, buf, sizeof(buf)), "AAAA");
	assert_string_equal(dns_type_name(5, buf, sizeof(buf)), "CNAME");
	assert_string_equal(dns_type_name(65, buf, sizeof(buf)), "HTTPS");
	assert_string_equal(dns_type_name(65280, buf, sizeof(buf)), "TYPE65280");
	assert_string_equal(dns_rcode_name(0, buf, sizeof(buf)), "NOERROR");
	assert_string_equal(dns_rcode_name(2, buf, sizeof(buf)), "SERVFAIL");
	assert_string_equal(dns_rcode_name(3, buf, sizeof(buf)), "NXDOMAIN");
	assert_string_equal(dns_rcode_name(5, buf, sizeof(buf)), "REFUSED");
	assert_string_equal(dns_rcode_name(11, buf, sizeof(buf)), "RCODE11");
}

static void test_null_arguments(void **state)
{
	(void)state;
	assert_int_equal(dns_parse(NULL, 0, &msg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "header truncated: 0 of 12 bytes");
	assert_int_equal(dns_parse(NULL, 0, &msg, NULL, 0), -EINVAL);
	assert_int_equal(dns_parse_tcp(NULL, 5, &msg, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_response),
		cmocka_unit_test(test_aaaa_response),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_tcp_prefix),
		cmocka_unit_test(test_hostile_messages),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_escaping_and_case),
		cmocka_unit_test(test_more_answers_than_kept),
		cmocka_unit_test(test_truncated_at_every_offset),
		cmocka_unit_test(test_names_of_numbers),
		cmocka_unit_test(test_null_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
