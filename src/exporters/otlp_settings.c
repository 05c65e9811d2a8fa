// SPDX-License-Identifier: MIT
/*
 * The settings of an `otlp` adapter (OTLP/HTTP or OTLP/gRPC push of
 * metrics, and of events as logs when `logs` is on), as config rows with the
 * checks of their odd values: the endpoint URL and the request headers. Each
 * default is written here once (config/schema.h); otlp.c reads them from the
 * parsed adapter config.
 *
 * The endpoint's default depends on the protocol (OTLP's convention: port
 * 4318 and the signal's path for HTTP, port 4317 and no path for gRPC, where
 * the path is the service's). So protocol is the first row: rows are parsed
 * in table order, `protocol: grpc` sets gRPC's default endpoint, and an
 * explicit endpoint, parsed after it, replaces that and is checked against
 * the protocol.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exporters/settings.h"
#include "metrics/eventq.h"

static bool header_name_ok(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	}
	return true;
}

static int parse_otlp_headers(struct config_ctx *ctx, const struct config_row *row,
			      const struct config_entry *e, const char *path, void *base)
{
	const yaml_node_t *key = e->key, *map = e->value;
	struct adapter_config *ad = base;
	const yaml_node_t *names[CONFIG_MAX_HEADERS];
	char sub[384], buf[CONFIG_SHOW_MAX];
	yaml_node_pair_t *pair;
	size_t n, i = 0, j;
	int ret;

	ret = config_expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > CONFIG_MAX_HEADERS)
		return config_error(ctx, config_node_line(key), path,
				    "%zu headers, at most %d are supported", n, CONFIG_MAX_HEADERS);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++, i++) {
		yaml_node_t *k = config_node(ctx, pair->key);
		yaml_node_t *v = config_node(ctx, pair->value);
		const char *name, *value = NULL;

		if (!k || !v)
			return config_error(ctx, config_node_line(map), path, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE)
			return config_error(ctx, config_node_line(k), path,
					    "a key must be a string, got %s", config_describe(k));
		name = config_scalar(k);
		if (config_scalar_has_nul(k) || strlen(name) >= sizeof(ad->headers[i][0]) ||
		    !header_name_ok(name))
			return config_error(ctx, config_node_line(k), path,
					    "%s is not a header name (letters, digits and "
					    "!#$%%&'*+-.^_`|~, at most %zu)",
					    config_show(k, true, buf, sizeof(buf)),
					    sizeof(ad->headers[i][0]) - 1);
		for (j = 0; j < i; j++) {
			if (!strcasecmp(name, config_scalar(names[j])))
				return config_error(ctx, config_node_line(k), path,
						    "duplicate header %s (first on line %zu)",
						    config_show(k, true, buf, sizeof(buf)),
						    config_node_line(names[j]));
		}
		names[i] = k;
		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		ret = config_get_string(ctx, k, v, sub, &value);
		if (ret)
			return ret;
		if (strlen(value) >= sizeof(ad->headers[i][1]))
			return config_error(ctx, config_value_line(k, v), sub,
					    "the value (not shown) is longer than %zu characters",
					    sizeof(ad->headers[i][1]) - 1);
		/* a header value may be a secret (Authorization): never echoed */
		if (strpbrk(value, "\r\n"))
			return config_error(ctx, config_value_line(k, v), sub,
					    "the value (not shown) contains a line break");
		for (j = 0; value[j]; j++) {
			unsigned char c = (unsigned char)value[j];

			if ((c < ' ' && c != '\t') || c == 0x7f)
				return config_error(ctx, config_value_line(k, v), sub,
						    "the value (not shown) contains a control "
						    "character");
		}
		snprintf(ad->headers[i][0], sizeof(ad->headers[i][0]), "%s", name);
		snprintf(ad->headers[i][1], sizeof(ad->headers[i][1]), "%s", value);
	}
	ad->n_headers = n;
	return 0;
}

#define OTLP_GRPC_ENDPOINT "http://localhost:4317"

/* grpc: the typed value, then the gRPC default endpoint (an explicit one follows). */
static int parse_protocol(struct config_ctx *ctx, const struct config_row *row,
			  const struct config_entry *e, const char *path, void *base)
{
	struct adapter_config *ad = base;
	int ret = config_row_parse_typed(ctx, row, e, path, base);

	if (!ret && ad->protocol == OTLP_GRPC)
		snprintf(ad->endpoint, sizeof(ad->endpoint), "%s", OTLP_GRPC_ENDPOINT);
	return ret;
}

/* A gRPC endpoint is scheme://host[:port][/]: the path is the service's. */
static int parse_endpoint(struct config_ctx *ctx, const struct config_row *row,
			  const struct config_entry *e, const char *path, void *base)
{
	struct adapter_config *ad = base;
	const char *rest;
	int ret = config_row_parse_typed(ctx, row, e, path, base);

	if (ret || ad->protocol != OTLP_GRPC)
		return ret;
	rest = strstr(ad->endpoint, "://");
	rest = rest ? strpbrk(rest + 3, "/?#") : NULL;
	if (rest && strcmp(rest, "/"))
		return config_error(
			ctx, config_value_line(e->key, e->value), path,
			"a grpc endpoint has no path (\"%s\"): the service is "
			"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
			rest);
	return 0;
}

/* clang-format off */
static const char *const protocol_names[] = {
	[OTLP_HTTP_PROTOBUF] = "http/protobuf", [OTLP_HTTP_JSON] = "http/json", [OTLP_GRPC] = "grpc"
};
/* the message lists gzip first; gzip is stored as 1 */
static const char *const compression_names[] = { "gzip", "none" };
static const int compression_values[] = { 1, 0 };

static const struct config_row otlp_rows[] = {
	CONFIG_CHOICE_ROW("protocol", struct adapter_config, protocol, protocol_names,
			  "an OTLP protocol", OTLP_HTTP_PROTOBUF,
			  "the body encoding; grpc: HTTP/2, default endpoint " OTLP_GRPC_ENDPOINT,
			  .parse = parse_protocol),
	CONFIG_STRING_ROW("endpoint", struct adapter_config, endpoint,
			  "http://localhost:4318/v1/metrics",
			  "http:// or https://, full path (grpc: none, h2c for http://)",
			  .check = settings_url_problem, .parse = parse_endpoint),
	{ .key = "headers", .type = CONFIG_MAP, .parse = parse_otlp_headers,
	  .doc = "added to every request, e.g. {Authorization: \"Bearer s3cr3t\"}" },
	CONFIG_DURATION_ROW("interval", struct adapter_config, interval_ns,
			    100 * CONFIG_NS_PER_MS, 3600 * CONFIG_NS_PER_SEC,
			    10 * CONFIG_NS_PER_SEC, "how often metrics are sent"),
	CONFIG_DURATION_ROW("timeout", struct adapter_config, timeout_ns,
			    100 * CONFIG_NS_PER_MS, 300 * CONFIG_NS_PER_SEC,
			    10 * CONFIG_NS_PER_SEC, "per request, connecting included"),
	CONFIG_CHOICE_ROW("compression", struct adapter_config, gzip, compression_names,
			  "a compression", 0, "the request body", .values = compression_values),
	CONFIG_BOOL_ROW("logs", struct adapter_config, logs, 0,
			"events as OTLP logs to the endpoint's /v1/logs: failed and reset "
			"connections, DNS answers"),
	CONFIG_UINT_ROW("logs_rate", struct adapter_config, logs_rate, 1, EVENTQ_RATE_MAX, 100,
			"log records a second at most (bursts of a second's worth), the rest "
			"dropped and counted"),
	CONFIG_UINT_ROW("logs_queue", struct adapter_config, logs_queue, 1, EVENTQ_CAP_MAX, 1024,
			"log records waiting to be sent at most (about 1.7 KB each), the rest "
			"dropped and counted"),
	CONFIG_UINT_ROW("logs_sample", struct adapter_config, logs_sample, 1, EVENTQ_SAMPLE_MAX, 1,
			"keep one event of every N of each kind, before the rate limit (the "
			"others dropped and counted as sampled)"),
};
/* clang-format on */

const struct config_section otlp_settings = CONFIG_SECTION_OF(otlp_rows);
