// SPDX-License-Identifier: MIT
/*
 * The JSON writer pieces of jsonw.h, shared by the OTLP/JSON encoders of
 * metrics and logs.
 */
#include <inttypes.h>
#include <stdio.h>
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
