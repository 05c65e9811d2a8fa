// SPDX-License-Identifier: MIT
/*
 * Unit tests for the gRPC pieces (src/exporters/grpc.c) and the OTLP
 * exporter's use of them: message framing both ways, grpc-timeout values,
 * the request headers, grpc-status and grpc-message (percent-encoded) from
 * trailers and from a trailers-only response, the gRPC status of HTTP
 * errors, RetryInfo in grpc-status-details-bin, the response message (plain
 * and gzip), the retry table, and an Export response with a partial success. The end-to-end run against a real gRPC server is
 * tests/e2e/t_otlp_grpc.sh. No root, no network.
 *
 * The sources are included (h2o style) to reach their statics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exporters/grpc.c"
#include "exporters/otlp.c"
#include "exporters/otlp_encode.c"

#define CHECK_STR(what, expected, actual)                                                      \
	do {                                                                                   \
		const char *e_ = (expected), *a_ = (actual);                                   \
		if (strcmp(e_, a_))                                                            \
			fail_msg("%s:\n  expected: \"%s\"\n  actual:   \"%s\"", what, e_, a_); \
	} while (0)

#define CHECK_INT(what, expected, actual)                                      \
	do {                                                                   \
		long long e_ = (expected), a_ = (actual);                      \
		if (e_ != a_)                                                  \
			fail_msg("%s: expected %lld, got %lld", what, e_, a_); \
	} while (0)

/* Feed header lines as libcurl does: each with its CRLF. */
static void feed(struct grpc_response *r, const char *const *lines)
{
	char buf[512];

	for (; *lines; lines++) {
		snprintf(buf, sizeof(buf), "%s\r\n", *lines);
		grpc_response_header(r, buf, strlen(buf));
	}
}

/* ==== Framing ==== */

static void test_frame_roundtrip(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	const uint8_t *msg = NULL;
	uint8_t *out = NULL, big[300];
	size_t len = 0, mlen = 0;
	bool z = false;

	(void)state;
	assert_int_equal(grpc_frame("hello", 5, false, &out, &len), 0);
	CHECK_INT("framed length", sizeof(want), len);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(grpc_unframe(out, len, &msg, &mlen, &z), 0);
	CHECK_INT("message length", 5, mlen);
	assert_memory_equal(msg, "hello", 5);
	assert_false(z);
	/* every prefix shorter than the whole is incomplete */
	for (size_t i = 0; i < len; i++)
		CHECK_INT("prefix", -EAGAIN, grpc_unframe(out, i, &msg, &mlen, &z));
	out[0] = 2;
	CHECK_INT("flag 2", -EBADMSG, grpc_unframe(out, len, &msg, &mlen, &z));
	free(out);

	/* the compressed flag, a length past one byte, big-endian */
	memset(big, 0xab, sizeof(big));
	assert_int_equal(grpc_frame(big, sizeof(big), true, &out, &len), 0);
	CHECK_INT("flag", 1, out[0]);
	CHECK_INT("length bytes", 0x00000001, (out[1] << 16) | (out[2] << 8) | out[3]);
	CHECK_INT("low length byte", 300 & 0xff, out[4]);
	assert_int_equal(grpc_unframe(out, len, &msg, &mlen, &z), 0);
	assert_true(z);
	CHECK_INT("message length", sizeof(big), mlen);
	assert_memory_equal(msg, big, sizeof(big));
	free(out);

	/* an empty message is a frame of its own */
	assert_int_equal(grpc_frame(NULL, 0, false, &out, &len), 0);
	CHECK_INT("empty frame", 5, len);
	assert_int_equal(grpc_unframe(out, len, &msg, &mlen, &z), 0);
	CHECK_INT("empty message", 0, mlen);
	free(out);
}

static void test_timeout_values(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
		{ 10 * NS_PER_SEC, "10S" },    { 100 * NS_PER_MS, "100m" },
		{ 1500 * NS_PER_MS, "1500m" }, { 300 * NS_PER_SEC, "5M" },
		{ 7200 * NS_PER_SEC, "2H" },   { 1, "1n" },
		{ 123456789, "123457u" }, /* not exact in 8 digits: rounded up */
		{ 99999999, "99999999n" },
	};
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(grpc_timeout_value(cases[i].ns, buf, sizeof(buf)), 0);
		CHECK_STR("grpc-timeout", cases[i].want, buf);
	}
	CHECK_INT("no room", -ENOSPC, grpc_timeout_value(10 * NS_PER_SEC, buf, 3));
}

struct lines {
	char text[512];
};

static int collect(void *ctx, const char *l)
{
	struct lines *ls = ctx;
	size_t n = strlen(ls->text);

	snprintf(ls->text + n, sizeof(ls->text) - n, "%s|", l);
	return 0;
}

static void test_request_headers(void **state)
{
	struct lines ls = { "" };

	(void)state;
	assert_int_equal(grpc_request_headers(false, 10 * NS_PER_SEC, collect, &ls), 0);
	CHECK_STR("headers",
		  "content-type: application/grpc|te: trailers|grpc-timeout: 10S|"
		  "grpc-accept-encoding: gzip|",
		  ls.text);
	ls.text[0] = '\0';
	assert_int_equal(grpc_request_headers(true, 1500 * NS_PER_MS, collect, &ls), 0);
	CHECK_STR("headers, gzip",
		  "content-type: application/grpc|te: trailers|"
		  "grpc-timeout: 1500m|grpc-encoding: gzip|"
		  "grpc-accept-encoding: gzip|",
		  ls.text);
	assert_true(grpc_header_reserved("TE"));
	assert_true(grpc_header_reserved("Grpc-Timeout"));
	assert_true(grpc_header_reserved("content-type"));
	assert_true(grpc_header_reserved(":authority"));
	assert_false(grpc_header_reserved("authorization"));
	assert_false(grpc_header_reserved("x-scope-orgid"));
}

/* ==== Status ==== */

static void test_status_from_trailers(void **state)
{
	static const char *const head[] = { "HTTP/2 200", "content-type: application/grpc",
					    "grpc-encoding: identity", NULL };
	static const char *const trailers[] = { "grpc-status: 3",
						"grpc-message: bad%20data: %E2%9C%93 100%25 %zz %4",
						NULL };
	static const uint8_t frame[] = { 0, 0, 0, 0, 0 };
	struct grpc_response r;

	(void)state;
	grpc_response_reset(&r);
	feed(&r, head);
	CHECK_INT("status before the trailers", -1, r.status);
	grpc_response_body(&r, frame, sizeof(frame));
	feed(&r, trailers);
	CHECK_INT("grpc-status", GRPC_INVALID_ARGUMENT, grpc_response_status(&r, 200));
	/* valid escapes decoded (UTF-8 too), malformed ones kept as sent */
	CHECK_STR("grpc-message", "bad data: \xe2\x9c\x93 100% %zz %4", r.message);
	CHECK_STR("grpc-encoding", "identity", r.encoding);
	assert_false(r.has_retry_info);
	CHECK_INT("verdict", GRPC_VERDICT_ERROR,
		  grpc_classify(grpc_response_status(&r, 200), false));

	/* the next attempt's status line starts afresh */
	feed(&r, (const char *const[]){ "HTTP/2 200", NULL });
	CHECK_INT("status after a new response", -1, r.status);
	CHECK_STR("message after a new response", "", r.message);
	CHECK_INT("body after a new response", 0, r.body_len);
}

static void test_trailers_only(void **state)
{
	static const char *const only[] = { "HTTP/2 200", "content-type: application/grpc",
					    "grpc-status: 14", "grpc-message: try%20later", NULL };
	struct grpc_response r;
	uint8_t *msg = NULL;
	size_t len;

	(void)state;
	grpc_response_reset(&r);
	feed(&r, only);
	CHECK_INT("grpc-status", GRPC_UNAVAILABLE, grpc_response_status(&r, 200));
	CHECK_STR("grpc-message", "try later", r.message);
	CHECK_INT("no message", -ENOMSG, grpc_response_message(&r, &msg, &len));
	CHECK_INT("verdict", GRPC_VERDICT_RETRY, grpc_classify(r.status, r.has_retry_info));
}

static void test_status_from_http(void **state)
{
	static const struct {
		long http;
		int want;
	} cases[] = {
		{ 200, GRPC_INTERNAL },	       { 400, GRPC_INTERNAL },
		{ 401, GRPC_UNAUTHENTICATED }, { 403, GRPC_PERMISSION_DENIED },
		{ 404, GRPC_UNIMPLEMENTED },   { 429, GRPC_UNAVAILABLE },
		{ 502, GRPC_UNAVAILABLE },     { 503, GRPC_UNAVAILABLE },
		{ 504, GRPC_UNAVAILABLE },     { 500, GRPC_UNKNOWN },
		{ 418, GRPC_UNKNOWN },
	};
	struct grpc_response r;
	char what[32];

	(void)state;
	grpc_response_reset(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "HTTP %ld", cases[i].http);
		CHECK_INT(what, cases[i].want, grpc_response_status(&r, cases[i].http));
	}
	/* an unreadable grpc-status is UNKNOWN, whatever the HTTP status */
	feed(&r, (const char *const[]){ "grpc-status: abc", NULL });
	CHECK_INT("grpc-status: abc", GRPC_UNKNOWN, grpc_response_status(&r, 200));
	/* a code past the 17 defined ones (found by fuzz_grpc) */
	grpc_response_reset(&r);
	feed(&r, (const char *const[]){ "grpc-status: 28", NULL });
	CHECK_INT("grpc-status: 28", GRPC_UNKNOWN, grpc_response_status(&r, 200));
	feed(&r, (const char *const[]){ "Grpc-Status:0", NULL });
	CHECK_INT("Grpc-Status:0", GRPC_OK, grpc_response_status(&r, 503));
}

static void test_classify(void **state)
{
	static const enum grpc_verdict want[] = {
		[GRPC_OK] = GRPC_VERDICT_OK,
		[GRPC_CANCELLED] = GRPC_VERDICT_RETRY,
		[GRPC_UNKNOWN] = GRPC_VERDICT_ERROR,
		[GRPC_INVALID_ARGUMENT] = GRPC_VERDICT_ERROR,
		[GRPC_DEADLINE_EXCEEDED] = GRPC_VERDICT_RETRY,
		[GRPC_NOT_FOUND] = GRPC_VERDICT_ERROR,
		[GRPC_ALREADY_EXISTS] = GRPC_VERDICT_ERROR,
		[GRPC_PERMISSION_DENIED] = GRPC_VERDICT_ERROR,
		[GRPC_RESOURCE_EXHAUSTED] = GRPC_VERDICT_ERROR, /* without RetryInfo */
		[GRPC_FAILED_PRECONDITION] = GRPC_VERDICT_ERROR,
		[GRPC_ABORTED] = GRPC_VERDICT_RETRY,
		[GRPC_OUT_OF_RANGE] = GRPC_VERDICT_RETRY,
		[GRPC_UNIMPLEMENTED] = GRPC_VERDICT_ERROR,
		[GRPC_INTERNAL] = GRPC_VERDICT_ERROR,
		[GRPC_UNAVAILABLE] = GRPC_VERDICT_RETRY,
		[GRPC_DATA_LOSS] = GRPC_VERDICT_RETRY,
		[GRPC_UNAUTHENTICATED] = GRPC_VERDICT_ERROR,
	};

	(void)state;
	for (int code = 0; code < (int)(sizeof(want) / sizeof(want[0])); code++) {
		assert_non_null(grpc_code_name(code));
		CHECK_INT(grpc_code_name(code), want[code], grpc_classify(code, false));
		/* RetryInfo changes RESOURCE_EXHAUSTED only */
		CHECK_INT(grpc_code_name(code),
			  code == GRPC_RESOURCE_EXHAUSTED ? GRPC_VERDICT_RETRY : want[code],
			  grpc_classify(code, true));
	}
	CHECK_STR("name of 14", "UNAVAILABLE", grpc_code_name(14));
	assert_null(grpc_code_name(17));
	assert_null(grpc_code_name(-1));
	CHECK_INT("code 99", GRPC_VERDICT_ERROR, grpc_classify(99, true));
}

/* ==== RetryInfo ==== */

/* Protobuf by hand: a field key, a varint, a length-delimited field. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static size_t put_bytes(uint8_t *p, uint32_t num, const void *data, size_t len)
{
	size_t n = put_varint(p, (uint64_t)num << 3 | 2);

	n += put_varint(p + n, len);
	memcpy(p + n, data, len);
	return n + len;
}

static size_t put_uint(uint8_t *p, uint32_t num, uint64_t v)
{
	size_t n = put_varint(p, (uint64_t)num << 3);

	return n + put_varint(p + n, v);
}

/* Unpadded base64, as gRPC sends -bin headers. */
static void b64(const uint8_t *in, size_t len, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = abc[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		out[o++] = abc[in[i + 2] & 63];
	}
	if (len - i == 1) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = abc[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

/* google.rpc.Status{code 8, message, details [Any{type, RetryInfo{delay}}]} */
static void status_details(const char *type, uint64_t secs, uint64_t nanos, char *out)
{
	uint8_t dur[32], ri[40], any[160], st[256];
	size_t n, m, k, s;

	n = put_uint(dur, 1, secs);
	n += put_uint(dur + n, 2, nanos);
	m = put_bytes(ri, 1, dur, n);
	k = put_bytes(any, 1, type, strlen(type));
	k += put_bytes(any + k, 2, ri, m);
	s = put_uint(st, 1, GRPC_RESOURCE_EXHAUSTED);
	s += put_bytes(st + s, 2, "slow down", 9);
	s += put_bytes(st + s, 3, any, k);
	b64(st, s, out);
}

static void test_retry_info(void **state)
{
	char details[512], line[600];
	struct grpc_response r;
	uint64_t d = 0;

	(void)state;
	status_details("type.googleapis.com/google.rpc.RetryInfo", 2, 500000000, details);
	assert_true(grpc_parse_retry_info(details, strlen(details), &d));
	CHECK_INT("retry_delay", 2500 * NS_PER_MS, d);

	/* through the trailers, with RESOURCE_EXHAUSTED: a retry after it */
	grpc_response_reset(&r);
	snprintf(line, sizeof(line), "grpc-status-details-bin: %s", details);
	feed(&r,
	     (const char *const[]){ "grpc-status: 8", "grpc-message: slow%20down", line, NULL });
	assert_true(r.has_retry_info);
	CHECK_INT("retry delay from trailers", 2500 * NS_PER_MS, r.retry_delay_ns);
	CHECK_INT("verdict", GRPC_VERDICT_RETRY, grpc_classify(r.status, r.has_retry_info));

	/* another detail type, garbage, a truncated Status: no RetryInfo */
	status_details("type.googleapis.com/google.rpc.DebugInfo", 2, 0, details);
	assert_false(grpc_parse_retry_info(details, strlen(details), &d));
	assert_false(grpc_parse_retry_info("!!!!", 4, &d));
	status_details("type.googleapis.com/google.rpc.RetryInfo", 2, 0, details);
	assert_false(grpc_parse_retry_info(details, strlen(details) - 8, &d));
	assert_false(grpc_parse_retry_info("", 0, &d));
}

/* ==== Response message ==== */

static void test_response_message(void **state)
{
	static const uint8_t payload[] = { 0x0a, 0x03, 0x08, 0x07, 0x00 };
	struct grpc_response *r = malloc(sizeof(*r));
	uint8_t *z = NULL, *msg = NULL, *framed = NULL;
	size_t zlen = 0, len = 0, flen = 0;

	(void)state;
	assert_non_null(r);
	/* plain, split over two writes */
	grpc_response_reset(r);
	assert_int_equal(grpc_frame(payload, sizeof(payload), false, &framed, &flen), 0);
	grpc_response_body(r, framed, 3);
	grpc_response_body(r, framed + 3, flen - 3);
	assert_int_equal(grpc_response_message(r, &msg, &len), 0);
	CHECK_INT("length", sizeof(payload), len);
	assert_memory_equal(msg, payload, len);
	free(msg);

	/* cut short */
	grpc_response_reset(r);
	grpc_response_body(r, framed, flen - 1);
	CHECK_INT("truncated", -EBADMSG, grpc_response_message(r, &msg, &len));
	free(framed);

	/* gzip, as the response's grpc-encoding says */
	assert_int_equal(otlp_gzip(payload, sizeof(payload), &z, &zlen), 0);
	assert_int_equal(grpc_frame(z, zlen, true, &framed, &flen), 0);
	free(z);
	grpc_response_reset(r);
	feed(r, (const char *const[]){ "grpc-encoding: gzip", NULL });
	grpc_response_body(r, framed, flen);
	assert_int_equal(grpc_response_message(r, &msg, &len), 0);
	CHECK_INT("inflated length", sizeof(payload), len);
	assert_memory_equal(msg, payload, len);
	free(msg);
	/* compressed, but with an encoding we do not speak */
	grpc_response_reset(r);
	feed(r, (const char *const[]){ "grpc-encoding: snappy", NULL });
	grpc_response_body(r, framed, flen);
	CHECK_INT("unknown encoding", -EBADMSG, grpc_response_message(r, &msg, &len));
	free(framed);

	/* past the bound: kept up to it, noted */
	grpc_response_reset(r);
	for (int i = 0; i < 20; i++) {
		static uint8_t chunk[4096];

		grpc_response_body(r, chunk, sizeof(chunk));
	}
	CHECK_INT("kept", GRPC_BODY_MAX, r->body_len);
	assert_true(r->body_truncated);
	free(r);
}

/* Whatever a server sends, the readers answer without reading out of
 * bounds (run under ASan/UBSan): mutations of good inputs, fixed seed. */
static void test_garbage(void **state)
{
	char details[512], buf[600];
	uint8_t bytes[600], *msg;
	struct grpc_response *r = malloc(sizeof(*r));
	uint32_t x = 0x9e3779b9;
	uint64_t d;
	size_t len, n;

	(void)state;
	assert_non_null(r);
	status_details("type.googleapis.com/google.rpc.RetryInfo", 2, 500000000, details);
	for (int i = 0; i < 20000; i++) {
		n = strlen(details);
		memcpy(buf, details, n + 1);
		for (int k = 0; k < 1 + i % 4; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[x % n] = (char)(x >> 8);
		}
		n = i % 7 ? n : x % (n + 1); /* cut short too */
		(void)grpc_parse_retry_info(buf, n, &d);
		grpc_response_reset(r);
		grpc_response_header(r, buf, n);
		/* the same bytes as a response body: a frame header, then junk */
		memcpy(bytes, buf, n);
		grpc_response_body(r, bytes, n);
		feed(r, (const char *const[]){ i % 2 ? "grpc-encoding: gzip" : "grpc-encoding: x",
					       NULL });
		if (!grpc_response_message(r, &msg, &len))
			free(msg);
		{
			int64_t rej;
			char m[64];

			(void)otlp_partial_success(bytes, n, &rej, m, sizeof(m));
		}
	}
	free(r);
}

/* ==== The exporter's side ==== */

/* An exporter as otlp_start makes it for grpc, without curl: the metrics
 * request slot has its response state. */
static struct otlp_exporter *grpc_exporter(void)
{
	struct otlp_exporter *e = calloc(1, sizeof(*e));
	struct otlp_req *r;

	assert_non_null(e);
	e->epfd = -1;
	snprintf(e->name, sizeof(e->name), "otlp");
	snprintf(e->endpoint, sizeof(e->endpoint), "http://127.0.0.1:4317/");
	snprintf(e->shown, sizeof(e->shown), "%s", e->endpoint);
	e->protocol = OTLP_GRPC;
	e->grpc = true;
	for (int i = 0; i < OTLP_SIG_MAX; i++) {
		e->req[i].e = e;
		e->req[i].signal = (enum otlp_signal)i;
	}
	r = &e->req[OTLP_SIG_METRICS];
	r->grpc = malloc(sizeof(*r->grpc));
	assert_non_null(r->grpc);
	grpc_response_reset(r->grpc);
	return e;
}

static const char *method_url(struct otlp_exporter *e, enum otlp_signal sig)
{
	static char url[640];

	assert_int_equal(grpc_method_url(e, sig, url, sizeof(url)), 0);
	return url;
}

/* ExportMetricsServiceResponse{partial_success{rejected_data_points, error_message}} */
static void put_response(struct otlp_exporter *e, int64_t rejected, const char *message)
{
	uint8_t ps[256], buf[300], *framed = NULL;
	size_t n, m, flen = 0;

	n = rejected ? put_uint(ps, 1, (uint64_t)rejected) : 0;
	if (message[0])
		n += put_bytes(ps + n, 2, message, strlen(message));
	m = put_bytes(buf, 1, ps, n);
	assert_int_equal(grpc_frame(buf, m, false, &framed, &flen), 0);
	grpc_response_reset(e->req[OTLP_SIG_METRICS].grpc);
	grpc_response_body(e->req[OTLP_SIG_METRICS].grpc, framed, flen);
	free(framed);
}

static void test_partial_success(void **state)
{
	struct otlp_exporter *e = grpc_exporter();

	(void)state;
	CHECK_STR(
		"metrics method URL",
		"http://127.0.0.1:4317/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
		method_url(e, OTLP_SIG_METRICS));
	CHECK_STR("logs method URL",
		  "http://127.0.0.1:4317/opentelemetry.proto.collector.logs.v1.LogsService/Export",
		  method_url(e, OTLP_SIG_LOGS));

	put_response(e, 7, "7 points had no name");
	grpc_partial_success(e, &e->req[OTLP_SIG_METRICS], 1000);
	CHECK_INT("rejected points", 7, e->rejected_points);
	assert_false(e->warned); /* a delivery: nothing to recover from */
	CHECK_INT("warned at", 1000, e->last_warn_ns);

	/* a warning only (no rejection), then a plain success: counts unchanged */
	put_response(e, 0, "a warning");
	grpc_partial_success(e, &e->req[OTLP_SIG_METRICS], 2000);
	CHECK_INT("rejected points after a warning", 7, e->rejected_points);
	CHECK_INT("second warning within a minute suppressed", 1, e->suppressed);
	put_response(e, 0, "");
	grpc_partial_success(e, &e->req[OTLP_SIG_METRICS], 3000);
	CHECK_INT("plain success", 1, e->suppressed);
	/* an empty response (what most receivers send) */
	grpc_response_reset(e->req[OTLP_SIG_METRICS].grpc);
	grpc_response_body(e->req[OTLP_SIG_METRICS].grpc, (const uint8_t[]){ 0, 0, 0, 0, 0 }, 5);
	grpc_partial_success(e, &e->req[OTLP_SIG_METRICS], 3500);
	CHECK_INT("empty response", 1, e->suppressed);
	/* no message at all (trailers-only OK): nothing to read */
	grpc_response_reset(e->req[OTLP_SIG_METRICS].grpc);
	grpc_partial_success(e, &e->req[OTLP_SIG_METRICS], 4000);
	CHECK_INT("rejected points", 7, e->rejected_points);
	otlp_stop(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_timeout_values),
		cmocka_unit_test(test_request_headers),
		cmocka_unit_test(test_status_from_trailers),
		cmocka_unit_test(test_trailers_only),
		cmocka_unit_test(test_status_from_http),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_retry_info),
		cmocka_unit_test(test_response_message),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_partial_success),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
