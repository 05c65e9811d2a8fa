/* SPDX-License-Identifier: MIT */
/*
 * DNS messages for tests, written byte by byte as RFC 1035 lays them out:
 * a small builder and the messages the unit tests (test_dns, test_dnstrack,
 * test_hostcache) and the fuzz seed generator share. Test-only; header-only
 * so each test binary takes what it uses.
 */
#ifndef GESPANN_DNS_FIXTURES_H
#define GESPANN_DNS_FIXTURES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dnsb {
	uint8_t b[2048];
	size_t n;
};

static inline void dnsb_u8(struct dnsb *d, unsigned v)
{
	if (d->n < sizeof(d->b))
		d->b[d->n++] = (uint8_t)v;
}

static inline void dnsb_u16(struct dnsb *d, unsigned v)
{
	dnsb_u8(d, v >> 8);
	dnsb_u8(d, v & 0xff);
}

static inline void dnsb_u32(struct dnsb *d, uint32_t v)
{
	dnsb_u16(d, v >> 16);
	dnsb_u16(d, v & 0xffff);
}

static inline void dnsb_bytes(struct dnsb *d, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dnsb_u8(d, ((const uint8_t *)p)[i]);
}

/* Uncompressed name from dotted text ("." or "" for the root). */
static inline void dnsb_name(struct dnsb *d, const char *name)
{
	while (*name && strcmp(name, ".")) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		dnsb_u8(d, (unsigned)n);
		dnsb_bytes(d, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	dnsb_u8(d, 0);
}

static inline void dnsb_ptr(struct dnsb *d, unsigned off)
{
	dnsb_u16(d, 0xc000 | off);
}

static inline void dnsb_header(struct dnsb *d, unsigned id, unsigned flags, unsigned qd,
			       unsigned an, unsigned ns, unsigned ar)
{
	d->n = 0;
	dnsb_u16(d, id);
	dnsb_u16(d, flags);
	dnsb_u16(d, qd);
	dnsb_u16(d, an);
	dnsb_u16(d, ns);
	dnsb_u16(d, ar);
}

static inline void dnsb_question(struct dnsb *d, const char *name, unsigned type)
{
	dnsb_name(d, name);
	dnsb_u16(d, type);
	dnsb_u16(d, 1); /* IN */
}

/* Record header after its (already written) owner name. */
static inline void dnsb_rr(struct dnsb *d, unsigned type, uint32_t ttl, unsigned rdlen)
{
	dnsb_u16(d, type);
	dnsb_u16(d, 1);
	dnsb_u32(d, ttl);
	dnsb_u16(d, rdlen);
}

#define FX_FLAGS_QUERY	  0x0100 /* RD */
#define FX_FLAGS_RESPONSE 0x8180 /* QR RD RA, NOERROR */

/* A query as a stub resolver sends it. */
static inline void fx_query(struct dnsb *d, unsigned id, const char *name, unsigned type)
{
	dnsb_header(d, id, FX_FLAGS_QUERY, 1, 0, 0, 0);
	dnsb_question(d, name, type);
}

/* api.gespann.test A -> 198.18.0.10, TTL 300 (50 bytes; the answer's name
 * is a pointer to the question's at offset 12). */
static inline void fx_a_response(struct dnsb *d, unsigned id)
{
	static const uint8_t addr[4] = { 198, 18, 0, 10 };

	dnsb_header(d, id, FX_FLAGS_RESPONSE, 1, 1, 0, 0);
	dnsb_question(d, "api.gespann.test", 1);
	dnsb_ptr(d, 12);
	dnsb_rr(d, 1, 300, 4);
	dnsb_bytes(d, addr, 4);
}

/* v6.gespann.test AAAA -> fd00:6765:7370::10, TTL 60, plus an EDNS OPT
 * record in the additional section (not parsed). */
static inline void fx_aaaa_response(struct dnsb *d, unsigned id)
{
	static const uint8_t addr[16] = { 0xfd, 0x00, 0x67, 0x65, 0x73, 0x70, 0, 0,
					  0,	0,    0,    0,	  0,	0,    0, 0x10 };

	dnsb_header(d, id, FX_FLAGS_RESPONSE, 1, 1, 0, 1);
	dnsb_question(d, "v6.gespann.test", 28);
	dnsb_ptr(d, 12);
	dnsb_rr(d, 28, 60, 16);
	dnsb_bytes(d, addr, 16);
	dnsb_u8(d, 0); /* OPT: root name, type 41, udp size 1232 */
	dnsb_u16(d, 41);
	dnsb_u16(d, 1232);
	dnsb_u32(d, 0);
	dnsb_u16(d, 0);
}

/* www.gespann.test CNAME edge.cdn.test (TTL 3600), edge.cdn.test A
 * 198.18.7.1 (TTL 20) and A 198.18.7.2 (TTL 30). "test" in the target is a
 * pointer to the question's last label (offset 12 + 4 + 8 = 24). */
static inline void fx_cname_response(struct dnsb *d, unsigned id)
{
	static const uint8_t a1[4] = { 198, 18, 7, 1 }, a2[4] = { 198, 18, 7, 2 };
	size_t target;

	dnsb_header(d, id, FX_FLAGS_RESPONSE, 1, 3, 0, 0);
	dnsb_question(d, "www.gespann.test", 1);
	dnsb_ptr(d, 12);
	dnsb_rr(d, 5, 3600, 11); /* 4 edge 3 cdn ptr(24) */
	target = d->n;
	dnsb_u8(d, 4);
	dnsb_bytes(d, "edge", 4);
	dnsb_u8(d, 3);
	dnsb_bytes(d, "cdn", 3);
	dnsb_ptr(d, 24);
	dnsb_ptr(d, (unsigned)target);
	dnsb_rr(d, 1, 20, 4);
	dnsb_bytes(d, a1, 4);
	dnsb_ptr(d, (unsigned)target);
	dnsb_rr(d, 1, 30, 4);
	dnsb_bytes(d, a2, 4);
}

/* nope.gespann.test A: NXDOMAIN with the zone's SOA in the authority
 * section. */
static inline void fx_nxdomain_response(struct dnsb *d, unsigned id)
{
	dnsb_header(d, id, 0x8183, 1, 0, 1, 0);
	dnsb_question(d, "nope.gespann.test", 1);
	dnsb_ptr(d, 17); /* gespann.test */
	dnsb_rr(d, 6, 900, 2 + 2 + 20);
	dnsb_ptr(d, 17); /* mname */
	dnsb_ptr(d, 17); /* rname */
	dnsb_u32(d, 2026112301);
	dnsb_u32(d, 3600);
	dnsb_u32(d, 600);
	dnsb_u32(d, 86400);
	dnsb_u32(d, 300);
}

#endif
