// SPDX-License-Identifier: MIT
/*
 * The adapter types the config layer knows, each with the table of its
 * `settings:`. Adding an adapter is a row here and a *_settings.c file of its
 * own; the order is that of "(supported: ...)" in messages.
 */
#include "exporters/settings.h"

const struct config_adapter_kind config_adapter_kinds[] = {
	{ "prometheus", ADAPTER_PROMETHEUS, &prometheus_settings },
	{ "datadog", ADAPTER_DATADOG, &datadog_settings },
	{ "otlp", ADAPTER_OTLP, &otlp_settings },
	{ "remote_write", ADAPTER_REMOTE_WRITE, &remote_write_settings },
	{ NULL, 0, NULL },
};
