// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what an OTLP/gRPC receiver sends back, through the
 * readers of exporters/grpc.c. The input is split into header/trailer lines
 * (grpc-status, grpc-message with percent escapes, grpc-status-details-bin
 * with base64 of a google.rpc.Status and its RetryInfo, grpc-encoding) and a
 * body (length-prefixed messages, gzip'ed or not), as libcurl would hand
 * them over, in pieces. ASan/UBSan catch bad reads; the checks below catch a
 * reader that returns an inconsistent result (a message past the body, a
 * status out of range, an unterminated or unprintable grpc-message).
 * Build and run: make fuzz-smoke (bounded) or make fuzz (FUZZ_TIME per target).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/grpc.h"

static void check_response(const struct grpc_response *r)
{
	int code;
	uint8_t *msg = NULL;
	size_t len = 0;

	if (strnlen(r->message, sizeof(r->message)) == sizeof(r->message))
		abort();
	if (r->body_len > sizeof(r->body))
		abort();
	for (long http = 0; http <= 600; http += 100) {
		code = grpc_response_status(r, http == 0 ? 200 : http);
		if (code < 0 || code > 16)
			abort();
		(void)grpc_code_name(code);
		(void)grpc_classify(code, r->has_retry_info);
	}
	if (!grpc_response_message(r, &msg, &len)) {
		if (!msg && len)
			abort();
		/* the message, read as protobuf fields, ends inside itself */
		const uint8_t *p = msg, *end = msg + len;
		struct grpc_pb_field f;

		while (grpc_pb_next(&p, end, &f) == 1) {
			if (p > end || (f.wire == 2 && (f.bytes < msg || f.bytes + f.len > end)))
				abort();
		}
		free(msg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct grpc_response r;
	const uint8_t *body;
	const uint8_t *sep = memmem(data, size, "\n\n", 2);
	size_t head_len = sep ? (size_t)(sep - data) : size;
	size_t body_len = sep ? size - head_len - 2 : 0;
	const uint8_t *p = data, *end = data + head_len;

	grpc_response_reset(&r);
	/* header lines, each as its own call (CRLF kept when there) */
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		grpc_response_header(&r, (const char *)p, n);
		p += n;
	}
	/* the body in two pieces, as a network read may cut it */
	body = sep ? sep + 2 : data + size;
	grpc_response_body(&r, body, body_len / 2);
	grpc_response_body(&r, body + body_len / 2, body_len - body_len / 2);
	check_response(&r);

	/* the whole input as one message frame, and as protobuf fields */
	{
		const uint8_t *msg;
		size_t msg_len;
		bool compressed;

		if (!grpc_unframe(data, size, &msg, &msg_len, &compressed) &&
		    (msg < data || msg + msg_len > data + size))
			abort();
	}
	{
		char out[64];

		grpc_percent_decode((const char *)data, size, out, sizeof(out));
		if (strnlen(out, sizeof(out)) == sizeof(out))
			abort();
	}
	return 0;
}
