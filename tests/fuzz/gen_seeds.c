// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpora in tests/fuzz/corpus/ from the test fixtures
 * (dns_fixtures.h): DNS messages for fuzz_dns, record streams (query then
 * response, in fuzz_dnstrack's input format) for fuzz_dnstrack. Not part of
 * the build; after changing the fixtures, regenerate with
 *   cc -Isrc -Itests -o /tmp/gen_seeds tests/fuzz/gen_seeds.c && /tmp/gen_seeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_fixtures.h"

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Offset after the question of a fixture (its name has no pointer). */
static size_t question_end(const struct dnsb *d)
{
	size_t off = 12;

	while (off < d->n && d->b[off])
		off += d->b[off] + 1u;
	return off + 5;
}

/* One fuzz_dnstrack record: control header, then the message. */
static void add_record(struct dnsb *out, unsigned flags, const struct dnsb *msg)
{
	dnsb_u8(out, flags);
	dnsb_u8(out, 0x04); /* client 198.18.0.1, server 198.18.0.2 */
	dnsb_u8(out, 0);
	dnsb_u8(out, 0);
	dnsb_u16(out, (unsigned)msg->n);
	dnsb_u8(out, 0);
	dnsb_u8(out, 0);
	dnsb_bytes(out, msg->b, msg->n);
}

int main(int argc, char **argv)
{
	void (*fixtures[])(struct dnsb *, unsigned) = { fx_a_response, fx_aaaa_response,
							fx_cname_response, fx_nxdomain_response };
	static const char *const names[] = { "a", "aaaa", "cname", "nxdomain" };
	char dir[400], file[64];
	struct dnsb d, q, tcp, rec;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/dns", argv[1]);
	for (size_t i = 0; i < 4; i++) {
		fixtures[i](&d, 0x1000 + (unsigned)i);
		snprintf(file, sizeof(file), "%s.bin", names[i]);
		write_file(dir, file, d.b, d.n);
		tcp.n = 0;
		dnsb_u16(&tcp, (unsigned)d.n);
		dnsb_bytes(&tcp, d.b, d.n);
		snprintf(file, sizeof(file), "%s-tcp.bin", names[i]);
		write_file(dir, file, tcp.b, tcp.n);
	}
	fx_query(&q, 0x2000, "api.gespann.test", 1);
	write_file(dir, "query.bin", q.b, q.n);

	snprintf(dir, sizeof(dir), "%s/dnstrack", argv[1]);
	for (size_t i = 0; i < 4; i++) {
		fixtures[i](&d, 0x3000 + (unsigned)i);
		/* The query: the fixture's own header id and question. */
		dnsb_header(&q, 0x3000 + (unsigned)i, FX_FLAGS_QUERY, 1, 0, 0, 0);
		dnsb_bytes(&q, d.b + 12, question_end(&d) - 12);
		rec.n = 0;
		add_record(&rec, 0x01, &q);	   /* query sent */
		add_record(&rec, 0x10, &d);	   /* answer received 0.5 s later */
		add_record(&rec, 0x01 | 0x20, &q); /* another, left to time out */
		add_record(&rec, 0x08 | 0x50, &q); /* a stray copy after expiry */
		snprintf(file, sizeof(file), "%s.bin", names[i]);
		write_file(dir, file, rec.b, rec.n);
	}
	return 0;
}
