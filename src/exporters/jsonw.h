/* SPDX-License-Identifier: MIT */
/*
 * The few pieces of a JSON writer the OTLP/JSON encoders share (metrics in
 * otlp_encode.c, logs in otlp_logs.c): text appended to a strbuf, the first
 * error kept so that a caller checks once at the end.
 */
#ifndef GESPANN_EXPORTERS_JSONW_H
#define GESPANN_EXPORTERS_JSONW_H

#include <stdint.h>

#include "metrics/registry.h"

struct jsonw {
	struct strbuf *sb;
	int err; /* the first strbuf error; nothing is written after it */
};

/* s as it is. */
void jsonw_raw(struct jsonw *j, const char *s);
/* s as a JSON string: quotes, backslashes and control characters escaped. */
void jsonw_str(struct jsonw *j, const char *s);
/* "key": */
void jsonw_key(struct jsonw *j, const char *key);
/* A 64-bit integer as proto3 JSON writes it: a decimal string. */
void jsonw_u64(struct jsonw *j, uint64_t v);

#endif
