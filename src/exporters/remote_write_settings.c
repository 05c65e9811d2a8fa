// SPDX-License-Identifier: MIT
/*
 * The settings of a `remote_write` adapter (Prometheus remote write 1.0
 * push), as config rows with the checks of their odd values: the endpoint
 * URL, the external labels and the credentials, of which basic auth and a
 * bearer token exclude each other. Each default is written here once
 * (config/schema.h); remote_write.c reads them from the parsed adapter config.
 *
 * Adapter rows are parsed in row order, so a row's parse() sees the rows
 * above it already set: the credential rows check their neighbours that way.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "exporters/settings.h"

/* Prometheus label names, [a-zA-Z_][a-zA-Z0-9_]*; "__" names are reserved. */
static const char *ext_label_name_problem(const char *s)
{
	if (!s[0] || isdigit((unsigned char)s[0]))
		return "is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)";
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_')
			return "is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)";
	}
	if (!strncmp(s, "__", 2))
		return "is a reserved label name (names starting with __ are Prometheus' own)";
	return NULL;
}

static int parse_external_labels(struct config_ctx *ctx, const struct config_row *row,
				 const struct config_entry *e, const char *path, void *base)
{
	const yaml_node_t *key = e->key, *map = e->value;
	struct adapter_config *ad = base;
	const yaml_node_t *names[CONFIG_MAX_EXT_LABELS];
	char sub[384], buf[CONFIG_SHOW_MAX];
	yaml_node_pair_t *pair;
	size_t n, i = 0, j;
	const char *why;
	int ret;

	ret = config_expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > CONFIG_MAX_EXT_LABELS)
		return config_error(ctx, config_node_line(key), path,
				    "%zu labels, at most %d are supported", n,
				    CONFIG_MAX_EXT_LABELS);
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
		why = config_scalar_has_nul(k) ? "is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)" :
						 ext_label_name_problem(name);
		if (!why && strlen(name) >= sizeof(ad->ext_labels[i][0]))
			why = "is too long";
		if (why)
			return config_error(ctx, config_node_line(k), path, "%s %s",
					    config_show(k, true, buf, sizeof(buf)), why);
		for (j = 0; j < i; j++) {
			if (!strcmp(name, config_scalar(names[j])))
				return config_error(ctx, config_node_line(k), path,
						    "duplicate label %s (first on line %zu)",
						    config_show(k, true, buf, sizeof(buf)),
						    config_node_line(names[j]));
		}
		names[i] = k;
		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		ret = config_get_string(ctx, k, v, sub, &value);
		if (ret)
			return ret;
		/* an empty value means "no such label" to Prometheus: refuse it */
		if (!value[0])
			return config_error(ctx, config_value_line(k, v), sub,
					    "a label value must not be empty");
		if (strlen(value) >= sizeof(ad->ext_labels[i][1]))
			return config_error(ctx, config_value_line(k, v), sub,
					    "the value is longer than %zu characters",
					    sizeof(ad->ext_labels[i][1]) - 1);
		snprintf(ad->ext_labels[i][0], sizeof(ad->ext_labels[i][0]), "%s", name);
		snprintf(ad->ext_labels[i][1], sizeof(ad->ext_labels[i][1]), "%s", value);
	}
	ad->n_ext_labels = n;
	return 0;
}

/* RFC 7617: the user-id of basic auth cannot hold a colon. */
static const char *username_problem(const char *s)
{
	for (; *s; s++) {
		if (*s == ':')
			return "cannot hold a colon (basic auth joins user:password)";
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return "contains a control character";
	}
	return NULL;
}

/*
 * A secret's row: parsed as a string (never echoed in an error), then
 * checked against the credential rows above it. which: 'p' password,
 * 'f' password_file, 't' bearer_token, 'b' bearer_token_file.
 */
static int parse_secret(struct config_ctx *ctx, const struct config_row *row,
			const struct config_entry *e, const char *path, void *base, char which)
{
	const struct adapter_config *ad = base;
	size_t line = config_value_line(e->key, e->value);
	const char *value = NULL;
	int ret;

	ret = config_get_string(ctx, e->key, e->value, path, &value);
	if (ret)
		return ret;
	/* "" is the default, none: what the example file writes */
	if (!value[0])
		return 0;
	if (strlen(value) >= row->size)
		return config_error(ctx, line, path,
				    "the value (not shown) is longer than %zu characters",
				    row->size - 1);
	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return config_error(ctx, line, path,
					    "the value (not shown) contains a control character");
	}
	switch (which) {
	case 'p':
	case 'f':
		if (!ad->username[0])
			return config_error(ctx, line, path, "needs a username");
		if (which == 'f' && ad->password[0])
			return config_error(ctx, line, path,
					    "password and password_file exclude each other");
		break;
	case 't':
	case 'b':
		if (ad->username[0])
			return config_error(ctx, line, path,
					    "basic auth (username) and a bearer token exclude each "
					    "other");
		if (which == 'b' && ad->bearer_token[0])
			return config_error(
				ctx, line, path,
				"bearer_token and bearer_token_file exclude each other");
		break;
	}
	if (which == 'f' || which == 'b') {
		if (value[0] != '/')
			return config_error(ctx, line, path, "\"%s\" is not an absolute path",
					    value);
	}
	memcpy((char *)base + row->offset, value, strlen(value) + 1);
	return 0;
}

static int parse_password(struct config_ctx *ctx, const struct config_row *row,
			  const struct config_entry *e, const char *path, void *base)
{
	return parse_secret(ctx, row, e, path, base, 'p');
}

static int parse_password_file(struct config_ctx *ctx, const struct config_row *row,
			       const struct config_entry *e, const char *path, void *base)
{
	return parse_secret(ctx, row, e, path, base, 'f');
}

static int parse_bearer_token(struct config_ctx *ctx, const struct config_row *row,
			      const struct config_entry *e, const char *path, void *base)
{
	return parse_secret(ctx, row, e, path, base, 't');
}

static int parse_bearer_token_file(struct config_ctx *ctx, const struct config_row *row,
				   const struct config_entry *e, const char *path, void *base)
{
	return parse_secret(ctx, row, e, path, base, 'b');
}

/* "" (the system's CAs) or an absolute path. */
static const char *ca_file_problem(const char *s)
{
	return s[0] && s[0] != '/' ? "is not an absolute path" : NULL;
}

/* clang-format off */
static const struct config_row remote_write_rows[] = {
	CONFIG_STRING_ROW("endpoint", struct adapter_config, endpoint,
			  "http://localhost:9090/api/v1/write", "http:// or https://, full path",
			  .check = settings_url_problem),
	CONFIG_DURATION_ROW("interval", struct adapter_config, interval_ns,
			    100 * CONFIG_NS_PER_MS, 3600 * CONFIG_NS_PER_SEC,
			    15 * CONFIG_NS_PER_SEC, "how often a snapshot is taken and queued"),
	CONFIG_DURATION_ROW("timeout", struct adapter_config, timeout_ns,
			    100 * CONFIG_NS_PER_MS, 300 * CONFIG_NS_PER_SEC,
			    10 * CONFIG_NS_PER_SEC, "per request, connecting included"),
	CONFIG_UINT_ROW("queue", struct adapter_config, queue, 1, 1024, 8,
			"snapshots waiting to be sent; when full the oldest is dropped"),
	CONFIG_UINT_ROW("queue_bytes", struct adapter_config, queue_bytes, 65536, 1073741824,
			16777216, "their compressed bytes, at most; past it the oldest is dropped"),
	{ .key = "external_labels", .type = CONFIG_MAP, .parse = parse_external_labels,
	  .doc = "added to every series, e.g. {cluster: eu1}; a series' own label wins" },
	CONFIG_STRING_ROW("username", struct adapter_config, username, "",
			  "basic auth user (\"\": no basic auth)", .check = username_problem),
	CONFIG_STRING_ROW("password", struct adapter_config, password, "",
			  "basic auth password", .parse = parse_password),
	CONFIG_STRING_ROW("password_file", struct adapter_config, password_file, "",
			  "basic auth password from this file, read before every snapshot",
			  .parse = parse_password_file),
	CONFIG_STRING_ROW("bearer_token", struct adapter_config, bearer_token, "",
			  "Authorization: Bearer token", .parse = parse_bearer_token),
	CONFIG_STRING_ROW("bearer_token_file", struct adapter_config, bearer_token_file, "",
			  "the token from this file, read before every snapshot",
			  .parse = parse_bearer_token_file),
	CONFIG_STRING_ROW("ca_file", struct adapter_config, ca_file, "",
			  "PEM CA certificates to verify an https:// endpoint (\"\": the system's)",
			  .check = ca_file_problem),
};
/* clang-format on */

const struct config_section remote_write_settings = CONFIG_SECTION_OF(remote_write_rows);
