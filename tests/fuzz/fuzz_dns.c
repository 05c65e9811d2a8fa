// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the DNS parser on arbitrary bytes, as a UDP message, as
 * a capture cut short of a longer message, and behind a TCP length prefix.
 * ASan/UBSan catch bad reads; the checks below catch a parse that succeeds
 * with an inconsistent result (unterminated or unescaped names, too many
 * answers) or a TCP-framed copy parsing differently. Each successful response also goes through the host name cache.
 * Build and run: make fuzz-smoke (bounded) or make fuzz (FUZZ_TIME per target).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/dns.h"
#include "enrich/hostcache.h"

static struct hostcache *cache;

/* A parsed name: NUL inside DNS_NAME_MAX, printable ASCII, no uppercase. */
static void check_name(const char *s, int may_be_empty)
{
	size_t n = strnlen(s, DNS_NAME_MAX);

	if (n == DNS_NAME_MAX || (!may_be_empty && n == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || (s[i] >= 'A' && s[i] <= 'Z'))
			abort();
}

static void check(const struct dns_msg *m, uint64_t now)
{
	char buf[32];

	check_name(m->qname, 0);
	if (m->n_answers > DNS_MAX_ANSWERS || m->n_answers > m->ancount || m->qdcount != 1)
		abort();
	for (size_t i = 0; i < m->n_answers; i++) {
		const struct dns_answer *a = &m->answers[i];

		check_name(a->name, 0);
		check_name(a->target, 1);
		if (a->family != 0 && a->family != AF_INET && a->family != AF_INET6)
			abort();
		if (a->ttl & 0x80000000u)
			abort();
		dns_type_name(a->type, buf, sizeof(buf));
	}
	dns_type_name(m->qtype, buf, sizeof(buf));
	dns_rcode_name(m->rcode, buf, sizeof(buf));
	/* Two askers in one namespace, and a lookup as of now by each: the
	 * per-process and per-namespace paths both see hostile answers. */
	struct hostcache_origin o = {
		.seen_ns = now, .netns = 1, .pid = 1 + (now & 1), .min_ttl_s = (now & 2) ? 60 : 0
	};
	struct hostcache_query q = { .at_ns = now, .netns = 1, .pid = 1 };

	hostcache_put_response(cache, m, &o);
	for (size_t i = 0; i < m->n_answers; i++) {
		hostcache_lookup(cache, m->answers[i].family, m->answers[i].addr, &q);
		q.pid = 0;
		hostcache_lookup(cache, m->answers[i].family, m->answers[i].addr, &q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_msg m;
	static uint64_t now;
	char err[160];
	uint8_t *copy;

	if (!cache)
		cache = hostcache_new(64);
	now += 100000000; /* 0.1 s per input: entries expire as the run goes */
	if (size & 1)
		hostcache_expire(cache, now);
	/* An exact-size copy: reading one byte past it is an ASan report. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (dns_parse(copy, size, &m, err, sizeof(err)) == 0)
		check(&m, now);
	else if (!err[0])
		abort(); /* every error names its cause */
	if (dns_parse_capture(copy, size, size + 1 + (size & 0xff), &m, err, sizeof(err)) == 0)
		check(&m, now);
	if (dns_parse_tcp(copy, size, &m, err, sizeof(err)) == 0)
		check(&m, now);
	free(copy);

	/* The same bytes framed for TCP parse the same (differential check). */
	if (size <= 0xffff) {
		static struct dns_msg udp, tcp;
		int ru, rt;

		copy = malloc(size + 2);
		if (!copy)
			return 0;
		copy[0] = (uint8_t)(size >> 8);
		copy[1] = (uint8_t)size;
		memcpy(copy + 2, data, size);
		ru = dns_parse(copy + 2, size, &udp, err, sizeof(err));
		rt = dns_parse_tcp(copy, size + 2, &tcp, err, sizeof(err));
		if (ru != rt || (ru == 0 && memcmp(&udp, &tcp, sizeof(udp))))
			abort();
		free(copy);
	}
	return 0;
}
