// SPDX-License-Identifier: MIT
/*
 * The adapter types the config layer knows, each with the table of its
 * `settings:`. Adding an adapter is a row here and a *_settings.c file of its
 * own; the order is that of "(supported: ...)" in messages.
 */
#include <string.h>

#include "exporters/settings.h"

const struct config_adapter_kind config_adapter_kinds[] = {
	{ "prometheus", ADAPTER_PROMETHEUS, &prometheus_settings },
	{ "datadog", ADAPTER_DATADOG, &datadog_settings },
	{ "otlp", ADAPTER_OTLP, &otlp_settings },
	{ "remote_write", ADAPTER_REMOTE_WRITE, &remote_write_settings },
	{ NULL, 0, NULL },
};

/* An adapter's endpoint: http:// or https://, then a host: no space or control character anywhere. */
const char *settings_url_problem(const char *s)
{
	static const char why[] = "is not an http:// or https:// URL";
	const char *rest;

	if (!strncmp(s, "http://", 7))
		rest = s + 7;
	else if (!strncmp(s, "https://", 8))
		rest = s + 8;
	else
		return why;
	if (!rest[0] || rest[0] == '/' || rest[0] == ':' || rest[0] == '?' || rest[0] == '#')
		return why;
	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return why;
	}
	return NULL;
}
