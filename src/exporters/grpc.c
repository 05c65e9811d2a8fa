// SPDX-License-Identifier: MIT
/*
 * gRPC over HTTP/2, the parts above the transport (grpc/doc/PROTOCOL-HTTP2.md):
 * a unary call is a POST of one length-prefixed message with gRPC's headers,
 * answered by one length-prefixed message and a status in the trailers (or,
 * for an immediate error, in the headers: "trailers-only"). otlp.c drives
 * the request through libcurl, which hands the trailers to the same header
 * callback after the body; this file frames, reads and judges.
 *
 * grpc-status-details-bin is read only for google.rpc.RetryInfo, the one
 * detail OTLP gives a meaning (a RESOURCE_EXHAUSTED worth retrying, and how
 * long to wait). The two messages are five fields between them, read with a
 * small wire-format walker rather than vendoring the googleapis protos.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "exporters/grpc.h"

#define NS_PER_SEC UINT64_C(1000000000)

static const char *const code_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(code_names) / sizeof(code_names[0]))
		return NULL;
	return code_names[code];
}

/* ==== Framing ==== */

int grpc_frame(const void *msg, size_t len, bool compressed, uint8_t **out, size_t *out_len)
{
	uint8_t *buf;

	if (len > UINT32_MAX)
		return -EFBIG;
	buf = malloc(GRPC_FRAME_HEADER + len + 1);
	if (!buf)
		return -ENOMEM;
	buf[0] = compressed ? 1 : 0;
	buf[1] = (uint8_t)(len >> 24);
	buf[2] = (uint8_t)(len >> 16);
	buf[3] = (uint8_t)(len >> 8);
	buf[4] = (uint8_t)len;
	if (len)
		memcpy(buf + GRPC_FRAME_HEADER, msg, len);
	*out = buf;
	*out_len = GRPC_FRAME_HEADER + len;
	return 0;
}

int grpc_unframe(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
		 bool *compressed)
{
	uint32_t n;

	if (len < GRPC_FRAME_HEADER)
		return -EAGAIN;
	if (buf[0] > 1)
		return -EBADMSG;
	n = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
	if (len - GRPC_FRAME_HEADER < n)
		return -EAGAIN;
	*msg = buf + GRPC_FRAME_HEADER;
	*msg_len = n;
	*compressed = buf[0] == 1;
	return 0;
}

/* ==== Request headers ==== */

int grpc_timeout_value(uint64_t ns, char *buf, size_t size)
{
	/* the units, finest first, each with its size in ns */
	static const struct {
		char unit;
		uint64_t ns;
	} units[] = { { 'n', 1 },
		      { 'u', 1000 },
		      { 'm', 1000000 },
		      { 'S', NS_PER_SEC },
		      { 'M', 60 * NS_PER_SEC },
		      { 'H', 3600 * NS_PER_SEC } };
	const uint64_t max = 99999999; /* "TimeoutValue: 1*8DIGIT" */
	size_t i, pick = sizeof(units) / sizeof(units[0]) - 1;
	uint64_t v;
	int n;

	/* exact in the coarsest unit that divides it, else the finest that fits */
	for (i = sizeof(units) / sizeof(units[0]); i-- > 0;) {
		if (ns % units[i].ns == 0 && ns / units[i].ns <= max) {
			pick = i;
			break;
		}
	}
	if (i == (size_t)-1) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if ((ns + units[i].ns - 1) / units[i].ns <= max) {
				pick = i;
				break;
			}
		}
	}
	v = (ns + units[pick].ns - 1) / units[pick].ns;
	if (v > max)
		v = max;
	n = snprintf(buf, size, "%llu%c", (unsigned long long)v, units[pick].unit);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int grpc_request_headers(bool gzip, uint64_t timeout_ns, int (*line)(void *ctx, const char *l),
			 void *ctx)
{
	char buf[64], t[16];
	int err;

	/* "+proto" names the encoding; plain application/grpc means the same */
	err = line(ctx, "content-type: application/grpc");
	if (!err)
		err = line(ctx, "te: trailers");
	if (!err && timeout_ns) {
		err = grpc_timeout_value(timeout_ns, t, sizeof(t));
		if (!err) {
			snprintf(buf, sizeof(buf), "grpc-timeout: %s", t);
			err = line(ctx, buf);
		}
	}
	if (!err && gzip)
		err = line(ctx, "grpc-encoding: gzip");
	if (!err)
		err = line(ctx, "grpc-accept-encoding: gzip");
	return err;
}

bool grpc_header_reserved(const char *name)
{
	static const char *const ours[] = {
		"content-type", "content-encoding",  "content-length", "te",
		"connection",	"transfer-encoding", "upgrade",	       "host",
	};

	if (!strncasecmp(name, "grpc-", 5) || name[0] == ':')
		return true;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		if (!strcasecmp(name, ours[i]))
			return true;
	}
	return false;
}

/* ==== Response ==== */

void grpc_response_reset(struct grpc_response *r)
{
	r->status = -1;
	r->message[0] = '\0';
	r->has_retry_info = false;
	r->retry_delay_ns = 0;
	r->encoding[0] = '\0';
	r->body_len = 0;
	r->body_truncated = false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void grpc_percent_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;

	if (!size)
		return;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		int hi, lo;

		/* a malformed %XX is kept as it is, as gRPC's decoders do */
		if (in[i] == '%' && i + 2 < len && (hi = hexval(in[i + 1])) >= 0 &&
		    (lo = hexval(in[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

/* Parse a status value: 1*DIGIT, at most a few; -1 when it is not one. */
static int parse_status(const char *v, size_t len)
{
	int code = 0;

	if (!len || len > 6)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		code = code * 10 + (v[i] - '0');
	}
	return code;
}

void grpc_response_header(struct grpc_response *r, const char *line, size_t len)
{
	const char *colon, *v;
	size_t nlen, vlen;

	/* a new response (the next attempt, an interim 1xx) starts afresh */
	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		grpc_response_reset(r);
		return;
	}
	colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
			v[vlen - 1] == '\t'))
		vlen--;
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(line, name, nlen))
	if (IS("grpc-status")) {
		r->status = parse_status(v, vlen);
		/* an unreadable status is a broken response, and a code past the
		 * 17 gRPC defines is read as UNKNOWN (statuscodes.md) */
		if (r->status < 0 || r->status > GRPC_UNAUTHENTICATED)
			r->status = GRPC_UNKNOWN;
	} else if (IS("grpc-message")) {
		grpc_percent_decode(v, vlen, r->message, sizeof(r->message));
	} else if (IS("grpc-status-details-bin")) {
		r->has_retry_info = grpc_parse_retry_info(v, vlen, &r->retry_delay_ns);
	} else if (IS("grpc-encoding")) {
		if (vlen >= sizeof(r->encoding))
			vlen = sizeof(r->encoding) - 1;
		memcpy(r->encoding, v, vlen);
		r->encoding[vlen] = '\0';
	}
#undef IS
}

void grpc_response_body(struct grpc_response *r, const void *data, size_t len)
{
	size_t room = sizeof(r->body) - r->body_len;

	if (len > room) {
		r->body_truncated = true;
		len = room;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
}

int grpc_response_status(const struct grpc_response *r, long http_status)
{
	if (r->status >= 0)
		return r->status;
	switch (http_status) {
	case 200:
		return GRPC_INTERNAL;
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

/* gunzip in into a malloc'ed *out, at most GRPC_BODY_MAX * 16 bytes. */
static int gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	const size_t cap = (size_t)GRPC_BODY_MAX * 16;
	z_stream zs;
	uint8_t *buf;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	buf = malloc(cap);
	if (!buf) {
		inflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(buf);
		return rc == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
	}
	*out = buf;
	*out_len = zs.total_out;
	return 0;
}

int grpc_response_message(const struct grpc_response *r, uint8_t **msg, size_t *len)
{
	const uint8_t *m;
	size_t n;
	bool z;
	int err;

	if (!r->body_len)
		return -ENOMSG;
	err = grpc_unframe(r->body, r->body_len, &m, &n, &z);
	if (err == -EAGAIN)
		return -EBADMSG; /* cut short, by the server or by our bound */
	if (err)
		return err;
	if (z) {
		if (strcasecmp(r->encoding, "gzip"))
			return -EBADMSG;
		return gunzip(m, n, msg, len);
	}
	*msg = malloc(n + 1);
	if (!*msg)
		return -ENOMEM;
	if (n)
		memcpy(*msg, m, n);
	*len = n;
	return 0;
}

/* ==== grpc-status-details-bin ==== */

/* Base64, standard or URL alphabet, padding optional (gRPC sends it unpadded). */
static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int b64_decode(const char *in, size_t len, uint8_t *out, size_t size, size_t *out_len)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	while (len && in[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -ENOSPC;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = o;
	return 0;
}

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return 0;
	}
	return -1;
}

int grpc_pb_next(const uint8_t **p, const uint8_t *end, struct grpc_pb_field *f)
{
	uint64_t key, n;

	if (*p >= end)
		return 0;
	if (pb_varint(p, end, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wire = (int)(key & 7);
	switch (f->wire) {
	case 0:
		return pb_varint(p, end, &f->varint) ? -1 : 1;
	case 1:
		if (end - *p < 8)
			return -1;
		*p += 8;
		return 1;
	case 2:
		if (pb_varint(p, end, &n) || n > (uint64_t)(end - *p))
			return -1;
		f->bytes = *p;
		f->len = (size_t)n;
		*p += n;
		return 1;
	case 5:
		if (end - *p < 4)
			return -1;
		*p += 4;
		return 1;
	default:
		return -1;
	}
}

/* RetryInfo { google.protobuf.Duration retry_delay = 1; } */
static bool read_retry_info(const uint8_t *p, const uint8_t *end, uint64_t *delay_ns)
{
	struct grpc_pb_field f, d;
	uint64_t secs = 0, nanos = 0;
	int rc;

	while ((rc = grpc_pb_next(&p, end, &f)) == 1) {
		const uint8_t *q, *qend;

		if (f.num != 1 || f.wire != 2)
			continue;
		q = f.bytes;
		qend = f.bytes + f.len;
		/* Duration { int64 seconds = 1; int32 nanos = 2; } */
		while ((rc = grpc_pb_next(&q, qend, &d)) == 1) {
			if (d.wire != 0)
				continue;
			if (d.num == 1)
				secs = d.varint;
			else if (d.num == 2)
				nanos = d.varint;
		}
		if (rc < 0)
			return false;
	}
	if (rc < 0)
		return false;
	/* negative durations arrive as huge varints: no wait then */
	if (secs > INT64_MAX / NS_PER_SEC || nanos >= NS_PER_SEC)
		secs = nanos = 0;
	*delay_ns = secs * NS_PER_SEC + nanos;
	return true;
}

bool grpc_parse_retry_info(const char *b64, size_t len, uint64_t *delay_ns)
{
	static const char type_url[] = "type.googleapis.com/google.rpc.RetryInfo";
	uint8_t buf[2048];
	const uint8_t *p = buf, *end;
	struct grpc_pb_field f, a;
	size_t n;
	int rc;

	if (b64_decode(b64, len, buf, sizeof(buf), &n))
		return false;
	end = buf + n;
	/* google.rpc.Status { int32 code = 1; string message = 2; repeated Any details = 3; } */
	while ((rc = grpc_pb_next(&p, end, &f)) == 1) {
		const uint8_t *q, *qend, *value = NULL;
		size_t value_len = 0;
		bool is_retry = false;

		if (f.num != 3 || f.wire != 2)
			continue;
		q = f.bytes;
		qend = f.bytes + f.len;
		/* Any { string type_url = 1; bytes value = 2; } */
		while ((rc = grpc_pb_next(&q, qend, &a)) == 1) {
			if (a.wire != 2)
				continue;
			if (a.num == 1)
				is_retry = a.len == sizeof(type_url) - 1 &&
					   !memcmp(a.bytes, type_url, a.len);
			else if (a.num == 2) {
				value = a.bytes;
				value_len = a.len;
			}
		}
		if (rc < 0)
			return false;
		if (is_retry && !value) { /* every field at its default: no wait */
			*delay_ns = 0;
			return true;
		}
		if (is_retry)
			return read_retry_info(value, value + value_len, delay_ns);
	}
	return false;
}

/* ==== Retry policy ==== */

enum grpc_verdict grpc_classify(int code, bool has_retry_info)
{
	switch (code) {
	case GRPC_OK:
		return GRPC_VERDICT_OK;
	case GRPC_CANCELLED:
	case GRPC_DEADLINE_EXCEEDED:
	case GRPC_ABORTED:
	case GRPC_OUT_OF_RANGE:
	case GRPC_UNAVAILABLE:
	case GRPC_DATA_LOSS:
		return GRPC_VERDICT_RETRY;
	case GRPC_RESOURCE_EXHAUSTED:
		return has_retry_info ? GRPC_VERDICT_RETRY : GRPC_VERDICT_ERROR;
	default:
		return GRPC_VERDICT_ERROR;
	}
}
