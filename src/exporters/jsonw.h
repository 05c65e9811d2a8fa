/* SPDX-License-Identifier: MIT */
/*
 * The pieces of a JSON writer the OTLP/JSON encoders share (metrics in
 * otlp_encode.c, logs in otlp_logs.c): text appended to a strbuf, the first
 * error kept so that a caller checks once at the end, and OTLP's attributes.
 */
#ifndef GESPANN_EXPORTERS_JSONW_H
#define GESPANN_EXPORTERS_JSONW_H

#include <stdint.h>

#include "metrics/registry.h"
#include "opentelemetry/proto/common/v1/common.pb-c.h"

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

/* An AnyValue: {"stringValue":..}, {"intValue":".."}, {"doubleValue":..}
 * (0 when not finite) or {"arrayValue":{"values":[..]}}; another kind is
 * -EINVAL in j->err. */
void jsonw_any_value(struct jsonw *j, const Opentelemetry__Proto__Common__V1__AnyValue *v);
/* "attributes":[{"key":..,"value":AnyValue},..] */
void jsonw_attributes(struct jsonw *j, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
		      size_t n);

#endif
