/* SPDX-License-Identifier: MIT */
/*
 * The gRPC pieces an HTTP/2 client needs to make a unary call, independent of
 * the service and of the transport (libcurl in otlp.c): the length-prefixed
 * message framing, the request headers, reading grpc-status, grpc-message and
 * the RetryInfo of grpc-status-details-bin from the response headers or
 * trailers, the response message, and which status codes are worth a retry
 * (the OTLP/gRPC rules). Kept apart so each is tested without a server.
 */
#ifndef GESPANN_EXPORTERS_GRPC_H
#define GESPANN_EXPORTERS_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The gRPC status codes (grpc/doc/statuscodes.md). */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

#define GRPC_FRAME_HEADER 5	      /* compressed flag + 32-bit big-endian length */
#define GRPC_MESSAGE_MAX  256	      /* grpc-message bytes kept (decoded) */
#define GRPC_BODY_MAX	  (64 * 1024) /* response bytes kept; a Response is small */

/* "UNAVAILABLE" for 14; "CODE_<n>" style names are not made: NULL if unknown. */
const char *grpc_code_name(int code);

/*
 * Frame one message: the 5-byte prefix (flag 1 when msg is already compressed
 * with the call's grpc-encoding) and the bytes, into a malloc'ed *out of
 * *out_len bytes. Returns 0, -EFBIG (over 4 GiB) or -ENOMEM.
 */
int grpc_frame(const void *msg, size_t len, bool compressed, uint8_t **out, size_t *out_len);

/*
 * Read the first message of buf: *msg points into buf, *compressed is its flag.
 * Returns 0; -EAGAIN when buf holds less than a whole message; -EBADMSG when
 * the flag byte is neither 0 nor 1.
 */
int grpc_unframe(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msg_len,
		 bool *compressed);

/*
 * The grpc-timeout header value for a timeout of ns: at most 8 digits and the
 * coarsest unit that keeps the value exact when it fits (n u m S M H), rounded
 * up otherwise. Writes e.g. "10000m" into buf. Returns 0 or -ENOSPC.
 */
int grpc_timeout_value(uint64_t ns, char *buf, size_t size);

/*
 * The request header lines of a call, in order, each "name: value" without
 * CRLF, written to line() (which returns 0 or a negative errno, then passed
 * back): content-type application/grpc, te: trailers, grpc-timeout from
 * timeout_ns (none when 0), grpc-encoding gzip when gzip (and
 * grpc-accept-encoding: gzip either way). User headers are the caller's.
 */
int grpc_request_headers(bool gzip, uint64_t timeout_ns, int (*line)(void *ctx, const char *l),
			 void *ctx);

/* Whether a user header must not be sent on a gRPC call (ours, or HTTP/2's). */
bool grpc_header_reserved(const char *name);

/*
 * What a response said, filled from header lines (the initial headers and the
 * trailers go through the same call: a trailers-only response carries the
 * status in its headers) and body bytes.
 */
struct grpc_response {
	int status;			/* grpc-status, -1 until seen */
	char message[GRPC_MESSAGE_MAX]; /* grpc-message, percent-decoded */
	bool has_retry_info;		/* RetryInfo in grpc-status-details-bin */
	uint64_t retry_delay_ns;	/* its retry_delay */
	char encoding[16];		/* grpc-encoding of the response ("" identity) */
	uint8_t body[GRPC_BODY_MAX];	/* the first bytes of the body */
	size_t body_len;
	bool body_truncated; /* more came than body holds */
};

/* Forget the last response (before a new request). */
void grpc_response_reset(struct grpc_response *r);

/* One header or trailer line ("name: value", CRLF or not; others ignored). */
void grpc_response_header(struct grpc_response *r, const char *line, size_t len);

/* Response body bytes; kept up to GRPC_BODY_MAX, the rest only noted. */
void grpc_response_body(struct grpc_response *r, const void *data, size_t len);

/*
 * The status of a finished call: grpc-status when the server sent one;
 * otherwise the gRPC mapping of a non-200 HTTP status (an intermediary
 * answered: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 * 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, others UNKNOWN), and a
 * 200 without a status is INTERNAL (the stream ended without trailers).
 */
int grpc_response_status(const struct grpc_response *r, long http_status);

/*
 * The response message, inflated when compressed with gzip, into a malloc'ed
 * *msg of *len bytes. Returns 0; -ENOMSG when there is none (an error
 * status, or an empty body); -EBADMSG when the body is truncated, misframed
 * or compressed with an encoding other than gzip; -ENOMEM.
 */
int grpc_response_message(const struct grpc_response *r, uint8_t **msg, size_t *len);

/*
 * Decode grpc-status-details-bin (base64 of a google.rpc.Status) and find a
 * google.rpc.RetryInfo in its details: *delay_ns is its retry_delay. Returns
 * true when one is there.
 */
bool grpc_parse_retry_info(const char *b64, size_t len, uint64_t *delay_ns);

/*
 * A protobuf wire-format reader for the few fields read without generated
 * code (google.rpc.Status here, OTLP's partial_success in otlp.c).
 * grpc_pb_next() reads the field at *p (before end) into f and moves *p past
 * it: returns 1, 0 at the end, -1 when malformed (f->bytes points into the
 * buffer for wire type 2).
 */
struct grpc_pb_field {
	uint32_t num;
	int wire;	      /* 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
	uint64_t varint;      /* wire type 0 */
	const uint8_t *bytes; /* wire type 2 */
	size_t len;
};

int grpc_pb_next(const uint8_t **p, const uint8_t *end, struct grpc_pb_field *f);

/* Percent-decode a grpc-message value into out (NUL-terminated, cut to size). */
void grpc_percent_decode(const char *in, size_t len, char *out, size_t size);

enum grpc_verdict {
	GRPC_VERDICT_OK = 0,
	GRPC_VERDICT_RETRY = 1, /* try the same request again after a delay */
	GRPC_VERDICT_ERROR = 2, /* permanent: do not retry */
};

/*
 * The OTLP/gRPC rule: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE and DATA_LOSS are retried; RESOURCE_EXHAUSTED only when the
 * server sent RetryInfo (it says it will recover); all others are errors.
 */
enum grpc_verdict grpc_classify(int code, bool has_retry_info);

#endif
