// SPDX-License-Identifier: MIT
/*
 * DNS message parser: header, the one question, and the answer section, from
 * bytes the kernel copied off port 53. Written for hostile input: each read
 * is checked against the length first, compression pointers may only jump
 * below the start of the label run that holds them (so a name cannot loop,
 * and a jump count bounds it anyway), and every failure names its cause and
 * offset in one line. Internally, running out of bytes (-ENODATA) is told
 * apart from bad bytes (-EINVAL) so that a capture cut at GS_DNS_MAX inside
 * the answers yields the answers before the cut instead of an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/dns.h"

#define DNS_WIRE_NAME_MAX 255 /* RFC 1035 3.1: labels, length octets and root */
#define DNS_LABEL_MAX	  63
#define DNS_MAX_JUMPS	  64 /* each jump goes lower, so this is a second fence */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Like fail, but for running out of bytes: the caller decides whether that
 * is an error (the message ends early) or a cut capture. */
__attribute__((format(printf, 3, 4))) static int short_of(char *err, size_t errlen, const char *fmt,
							  ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -ENODATA;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Append one label byte in presentation form (RFC 1035 5.1): lowercase,
 * '.', '\\' and '"' escaped with a backslash, anything not printable as
 * \DDD. Returns 0, or -1 when out has no room (keeping a NUL's place). */
static int put_label_byte(char *out, size_t *o, uint8_t b)
{
	char tmp[5];
	size_t n;

	if (b >= 'A' && b <= 'Z') {
		tmp[0] = (char)(b - 'A' + 'a');
		n = 1;
	} else if (b == '.' || b == '\\' || b == '"') {
		tmp[0] = '\\';
		tmp[1] = (char)b;
		n = 2;
	} else if (b < 0x21 || b > 0x7e) {
		tmp[0] = '\\';
		tmp[1] = (char)('0' + b / 100);
		tmp[2] = (char)('0' + b / 10 % 10);
		tmp[3] = (char)('0' + b % 10);
		n = 4;
	} else {
		tmp[0] = (char)b;
		n = 1;
	}
	if (*o + n >= DNS_NAME_MAX)
		return -1;
	memcpy(out + *o, tmp, n);
	*o += n;
	return 0;
}

/* Read the name at off into out (DNS_NAME_MAX bytes, text form, "." for the
 * root). *next gets the offset after the name where it sits (after its
 * first pointer if it has one). 0, -EINVAL or -ENODATA (out of bytes). */
static int parse_name(const uint8_t *buf, size_t len, size_t off, char *out, size_t *next,
		      char *err, size_t errlen)
{
	size_t pos = off, run_start = off, wire = 0, o = 0;
	int jumped = 0, jumps = 0;

	out[0] = '\0';
	for (;;) {
		uint8_t c;

		if (pos >= len)
			return short_of(err, errlen, "name truncated at offset %zu", pos);
		c = buf[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return short_of(err, errlen,
						"compression pointer truncated at offset %zu", pos);
			target = (size_t)(c & 0x3f) << 8 | buf[pos + 1];
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			if (target >= len)
				return fail(
					err, errlen,
					"compression pointer at offset %zu to %zu, past the end (%zu bytes)",
					pos, target, len);
			if (target > pos)
				return fail(err, errlen,
					    "forward compression pointer at offset %zu to %zu", pos,
					    target);
			if (target >= run_start || ++jumps > DNS_MAX_JUMPS)
				return fail(err, errlen, "name compression loop at offset %zu",
					    pos);
			pos = run_start = target;
			continue;
		}
		if (c > DNS_LABEL_MAX)
			return fail(err, errlen, "label of %u bytes at offset %zu", c, pos);
		if (c == 0) {
			if (!jumped)
				*next = pos + 1;
			break;
		}
		wire += (size_t)c + 1;
		if (wire + 1 > DNS_WIRE_NAME_MAX)
			return fail(err, errlen, "name at offset %zu longer than 255 bytes", off);
		if (pos + 1 + c > len)
			return short_of(err, errlen, "label of %u bytes at offset %zu truncated", c,
					pos);
		if (o > 0) {
			if (o + 1 >= DNS_NAME_MAX)
				goto too_long;
			out[o++] = '.';
		}
		for (size_t i = 0; i < c; i++)
			if (put_label_byte(out, &o, buf[pos + 1 + i]))
				goto too_long;
		pos += 1 + (size_t)c;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
too_long:
	out[0] = '\0';
	return fail(err, errlen, "name at offset %zu longer than %d characters escaped", off,
		    DNS_NAME_MAX - 1);
}

/* The record data: A/AAAA addresses, the name of name-valued types. */
static int parse_rdata(const uint8_t *buf, size_t len, size_t rdata, uint16_t rdlen,
		       struct dns_answer *a, unsigned n, char *err, size_t errlen)
{
	size_t skip, next = 0, end = rdata + rdlen;
	char sub[160];
	int r;

	if (a->rclass == DNS_C_IN && (a->type == DNS_T_A || a->type == DNS_T_AAAA)) {
		size_t want = a->type == DNS_T_A ? 4 : 16;

		if (rdlen != want)
			return fail(err, errlen, "answer %u: %s record of %u bytes at offset %zu",
				    n, a->type == DNS_T_A ? "A" : "AAAA", rdlen, rdata);
		a->family = a->type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(a->addr, buf + rdata, want);
		return 0;
	}
	switch (a->type) {
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
	case DNS_T_DNAME:
		skip = 0;
		break;
	case DNS_T_MX:
		skip = 2; /* preference */
		break;
	case DNS_T_SRV:
		skip = 6; /* priority, weight, port */
		break;
	default:
		return 0;
	}
	if (rdlen <= skip)
		return fail(err, errlen, "answer %u: %s record of %u bytes at offset %zu", n,
			    dns_type_name(a->type, sub, sizeof(sub)), rdlen, rdata);
	r = parse_name(buf, len, rdata + skip, a->target, &next, sub, sizeof(sub));
	if (r) /* the rdata is all there: a name running out of it is malformed */
		return fail(err, errlen, "answer %u: %s", n, sub);
	if (next != end)
		return fail(err, errlen, "answer %u: name at offset %zu ends at %zu, rdata at %zu",
			    n, rdata + skip, next, end);
	return 0;
}

/* ==== Messages ==== */

int dns_parse_capture(const uint8_t *buf, size_t len, size_t wire_len, struct dns_msg *m, char *err,
		      size_t errlen)
{
	size_t off, next = 0;
	char sub[160];
	int cut = len < wire_len, r;
	uint16_t flags;

	if (err && errlen)
		err[0] = '\0';
	if (!m)
		return fail(err, errlen, "no message to fill");
	memset(m, 0, sizeof(*m));
	if (!buf && len)
		return fail(err, errlen, "no buffer");
	if (len < DNS_HEADER_LEN)
		return fail(err, errlen, "header truncated: %zu of %d bytes", len, DNS_HEADER_LEN);
	m->id = get16(buf);
	flags = get16(buf + 2);
	m->qr = flags >> 15;
	m->opcode = (flags >> 11) & 0xf;
	m->tc = (flags >> 9) & 1;
	m->rd = (flags >> 8) & 1;
	m->ra = (flags >> 7) & 1;
	m->rcode = flags & 0xf;
	m->qdcount = get16(buf + 4);
	m->ancount = get16(buf + 6);
	m->nscount = get16(buf + 8);
	m->arcount = get16(buf + 10);
	if (m->qdcount != 1)
		return fail(err, errlen, "qdcount %u", m->qdcount);

	r = parse_name(buf, len, DNS_HEADER_LEN, m->qname, &next, sub, sizeof(sub));
	if (r)
		return fail(err, errlen, "question: %s", sub);
	off = next;
	if (off + 4 > len)
		return fail(err, errlen, "question truncated at offset %zu", off);
	m->qtype = get16(buf + off);
	m->qclass = get16(buf + off + 2);
	off += 4;

	for (unsigned i = 0; i < m->ancount; i++) {
		struct dns_answer *a = &m->answers[m->n_answers];
		unsigned n = i + 1;
		uint16_t rdlen;

		if (m->n_answers == DNS_MAX_ANSWERS) {
			m->partial = 1;
			break;
		}
		memset(a, 0, sizeof(*a));
		r = parse_name(buf, len, off, a->name, &next, sub, sizeof(sub));
		if (r == -ENODATA)
			r = short_of(err, errlen, "answer %u truncated at offset %zu", n, len);
		else if (r)
			return fail(err, errlen, "answer %u: %s", n, sub);
		if (!r && next + 10 > len)
			r = short_of(err, errlen, "answer %u truncated at offset %zu", n, len);
		if (!r) {
			a->type = get16(buf + next);
			a->rclass = get16(buf + next + 2);
			a->ttl = get32(buf + next + 4);
			if (a->ttl & 0x80000000u) /* RFC 2181 8: read as zero */
				a->ttl = 0;
			rdlen = get16(buf + next + 8);
			off = next + 10;
			if (off + rdlen > len)
				r = short_of(
					err, errlen,
					"answer %u truncated at offset %zu (rdata of %u bytes at %zu)",
					n, len, rdlen, off);
			else
				r = parse_rdata(buf, len, off, rdlen, a, n, err, errlen);
			off += rdlen;
		}
		if (r == -ENODATA && cut) {
			memset(a, 0, sizeof(*a));
			m->partial = 1;
			if (err && errlen)
				err[0] = '\0';
			return 0;
		}
		if (r)
			return -EINVAL;
		m->n_answers++;
	}
	return 0;
}

int dns_parse(const uint8_t *buf, size_t len, struct dns_msg *m, char *err, size_t errlen)
{
	return dns_parse_capture(buf, len, len, m, err, errlen);
}

int dns_parse_tcp(const uint8_t *buf, size_t len, struct dns_msg *m, char *err, size_t errlen)
{
	size_t msglen, avail;

	if (m)
		memset(m, 0, sizeof(*m));
	if (!buf || len < 2)
		return fail(err, errlen, "tcp length prefix truncated: %zu of 2 bytes",
			    buf ? len : 0);
	msglen = get16(buf);
	if (msglen < DNS_HEADER_LEN)
		return fail(err, errlen, "tcp message length %zu, shorter than a header", msglen);
	avail = len - 2 < msglen ? len - 2 : msglen;
	return dns_parse_capture(buf + 2, avail, msglen, m, err, errlen);
}

/* ==== Names of numbers ==== */

const char *dns_type_name(uint16_t type, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ 1, "A" },	  { 2, "NS" },	   { 5, "CNAME" },  { 6, "SOA" },
		{ 12, "PTR" },	  { 13, "HINFO" }, { 15, "MX" },    { 16, "TXT" },
		{ 28, "AAAA" },	  { 33, "SRV" },   { 35, "NAPTR" }, { 39, "DNAME" },
		{ 41, "OPT" },	  { 43, "DS" },	   { 46, "RRSIG" }, { 47, "NSEC" },
		{ 48, "DNSKEY" }, { 50, "NSEC3" }, { 52, "TLSA" },  { 64, "SVCB" },
		{ 65, "HTTPS" },  { 99, "SPF" },   { 251, "IXFR" }, { 252, "AXFR" },
		{ 255, "ANY" },	  { 256, "URI" },  { 257, "CAA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	if (!buf || !len)
		return "TYPE?";
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

const char *dns_rcode_name(unsigned rcode, char *buf, size_t len)
{
	static const char *const names[] = {
		"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE",
	};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	if (!buf || !len)
		return "RCODE?";
	snprintf(buf, len, "RCODE%u", rcode);
	return buf;
}
