// SPDX-License-Identifier: MIT
/*
 * The JSON writer pieces of jsonw.h, shared by the OTLP/JSON encoders of
 * metrics and logs.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/jsonw.h"

void jsonw_raw(struct jsonw *j, const char *s)
{
	if (!j->err)
		j->err = strbuf_append(j->sb, s, strlen(s));
}

void jsonw_str(struct jsonw *j, const char *s)
{
	const char *run = s;

	jsonw_raw(j, "\"");
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (!j->err && p > run)
			j->err = strbuf_append(j->sb, run, (size_t)(p - run));
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		jsonw_raw(j, esc);
		run = p + 1;
	}
	if (!j->err && *run)
		j->err = strbuf_append(j->sb, run, strlen(run));
	jsonw_raw(j, "\"");
}

void jsonw_key(struct jsonw *j, const char *key)
{
	jsonw_str(j, key);
	jsonw_raw(j, ":");
}

void jsonw_u64(struct jsonw *j, uint64_t v)
{
	if (!j->err)
		j->err = strbuf_printf(j->sb, "\"%" PRIu64 "\"", v);
}

/* An AnyValue as OTLP/JSON writes it (string, 64-bit integer as a decimal
 * string, double, array of those). */
void jsonw_any_value(struct jsonw *j, const Opentelemetry__Proto__Common__V1__AnyValue *v)
{
	char num[40];

	jsonw_raw(j, "{");
	switch (v->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		jsonw_key(j, "stringValue");
		jsonw_str(j, v->string_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		/* proto3 JSON: a 64-bit integer is a decimal string */
		jsonw_key(j, "intValue");
		if (!j->err)
			j->err = strbuf_printf(j->sb, "\"%" PRId64 "\"", v->int_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		jsonw_key(j, "doubleValue");
		if (!isfinite(v->double_value)) {
			jsonw_raw(j, "0");
			break;
		}
		/* the shortest text that reads back as the same double */
		snprintf(num, sizeof(num), "%.15g", v->double_value);
		if (strtod(num, NULL) != v->double_value)
			snprintf(num, sizeof(num), "%.17g", v->double_value);
		jsonw_raw(j, num);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
		jsonw_key(j, "arrayValue");
		jsonw_raw(j, "{");
		jsonw_key(j, "values");
		jsonw_raw(j, "[");
		for (size_t i = 0; i < v->array_value->n_values; i++) {
			if (i)
				jsonw_raw(j, ",");
			jsonw_any_value(j, v->array_value->values[i]);
		}
		jsonw_raw(j, "]}");
		break;
	default:
		j->err = -EINVAL;
	}
	jsonw_raw(j, "}");
}

void jsonw_attributes(struct jsonw *j, Opentelemetry__Proto__Common__V1__KeyValue *const *kvs,
		      size_t n)
{
	jsonw_key(j, "attributes");
	jsonw_raw(j, "[");
	for (size_t i = 0; i < n; i++) {
		jsonw_raw(j, i ? ",{" : "{");
		jsonw_key(j, "key");
		jsonw_str(j, kvs[i]->key);
		jsonw_raw(j, ",");
		jsonw_key(j, "value");
		jsonw_any_value(j, kvs[i]->value);
		jsonw_raw(j, "}");
	}
	jsonw_raw(j, "]");
}
