// SPDX-License-Identifier: MIT
/*
 * Configuration: the YAML file the README documents, parsed strictly with
 * libyaml's document API (which keeps the line of every node).
 *
 * Every mistake is reported as one line "NAME:LINE: KEY.PATH: what is wrong"
 * and stops the parse: an unknown or duplicate key, a value of the wrong type
 * (libyaml does not resolve plain scalars, so null/boolean/number are told
 * apart here, the YAML 1.1 way), a value out of range. Nothing half-parsed
 * reaches the caller: the result is built in a local copy and copied out only
 * on success. The walk follows the schema, never the document, so aliases
 * (even cyclic ones) cannot make it recurse or loop.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <yaml.h>

#include "config/config.h"

#define NS_PER_US  1000ULL
#define NS_PER_MS  1000000ULL
#define NS_PER_SEC 1000000000ULL

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

#define DEFAULT_ADDRESS "0.0.0.0"
#define DEFAULT_PORT	8080

#define DEFAULT_DATADOG_HOST	  "localhost:8125"
#define DEFAULT_DATADOG_NAMESPACE "gespann"
#define DEFAULT_OTLP_ENDPOINT	  "http://localhost:4318/v1/metrics"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char config_default_yaml[] =
	"# Gespann configuration (the embedded default).\n"
	"\n"
	"# error | warn | info | debug\n"
	"log_level: info\n"
	"\n"
	"# host: every network namespace; netns: the agent's own namespace;\n"
	"# or a path to a namespace file (/var/run/netns/NAME, /proc/PID/ns/net)\n"
	"scope: host\n"
	"\n"
	"# durations are an integer and a unit: ns, us, ms, s, m, h\n"
	"idle_timeout: 30s\n"
	"\n"
	"# kernel table sizes (16..16777216)\n"
	"max_connections: 65536\n"
	"max_udp_flows: 16384\n"
	"\n"
	"# bytes, a power of two (4096..1073741824)\n"
	"ring_buffer_size: 1048576\n"
	"\n"
	"# how often events are drained and tables refreshed (1ms..10s)\n"
	"poll_interval: 100ms\n"
	"\n"
	"# where metrics go: prometheus (scraped), datadog (DogStatsD push),\n"
	"# otlp (OTLP/HTTP push), e.g.\n"
	"#  - type: datadog\n"
	"#    settings: {host: \"localhost:8125\", flush_interval: 10s}\n"
	"#  - type: otlp\n"
	"#    settings: {endpoint: \"http://localhost:4318/v1/metrics\"}\n"
	"adapters:\n"
	"  - type: prometheus\n"
	"    settings:\n"
	"      address: 0.0.0.0\n"
	"      port: 8080\n"
	"\n"
	"# which attributes (labels) each metric family exports, by a glob over\n"
	"# family names; and a hard cap on series per family (past it, new label\n"
	"# sets are folded into one series labelled \"other\"), e.g.\n"
	"#  select:\n"
	"#    \"gespann_flow_*\": {include: [\"*\"], exclude: [dst_name]}\n"
	"attributes:\n"
	"  max_series: 10000\n"
	"\n"
	"# peer classes and zones (dst_class, dst_zone) by CIDR: the longest\n"
	"# matching prefix here wins; then the built-in localhost, internal\n"
	"# (private ranges) and external. No class: the built-in one. E.g.\n"
	"#  - {cidr: 10.0.0.0/8, zone: corp, class: internal}\n"
	"networks: []\n"
	"\n"
	"# DNS capture: metrics, host names for dst_name, events (none | log);\n"
	"# getaddrinfo: auto | off | /path/to/libc.so.6 (a uprobe on libc)\n"
	"dns:\n"
	"  enabled: true\n"
	"  events: none\n"
	"  max_names: 65536\n"
	"  max_pending: 4096\n"
	"  timeout: 5s\n"
	"  getaddrinfo: auto\n"
	"\n"
	"# process cache entries\n"
	"processes:\n"
	"  max: 32768\n";

/* Only the fields of the adapter's own type are set; the others stay zero. */
static void adapter_set_defaults(struct adapter_config *ad, enum adapter_type type)
{
	memset(ad, 0, sizeof(*ad));
	ad->type = type;
	switch (type) {
	case ADAPTER_PROMETHEUS:
		snprintf(ad->address, sizeof(ad->address), "%s", DEFAULT_ADDRESS);
		ad->port = DEFAULT_PORT;
		break;
	case ADAPTER_DATADOG:
		snprintf(ad->host, sizeof(ad->host), "%s", DEFAULT_DATADOG_HOST);
		ad->flush_interval_ns = 10 * NS_PER_SEC;
		snprintf(ad->metric_namespace, sizeof(ad->metric_namespace), "%s",
			 DEFAULT_DATADOG_NAMESPACE);
		ad->histogram = DATADOG_HIST_DISTRIBUTION;
		break;
	case ADAPTER_OTLP:
		snprintf(ad->endpoint, sizeof(ad->endpoint), "%s", DEFAULT_OTLP_ENDPOINT);
		ad->protocol = OTLP_HTTP_PROTOBUF;
		ad->interval_ns = 10 * NS_PER_SEC;
		ad->timeout_ns = 10 * NS_PER_SEC;
		ad->gzip = 0;
		break;
	}
}

void config_set_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->scope = SCOPE_HOST;
	cfg->idle_timeout_ns = 30 * NS_PER_SEC;
	cfg->max_connections = 65536;
	cfg->max_udp_flows = 16384;
	cfg->ringbuf_bytes = 1024 * 1024;
	cfg->poll_interval_ns = 100 * NS_PER_MS;
	cfg->n_adapters = 1;
	adapter_set_defaults(&cfg->adapters[0], ADAPTER_PROMETHEUS);
	cfg->max_series = 10000;
	cfg->dns_enabled = 1;
	cfg->dns_events = DNS_EVENTS_NONE;
	cfg->dns_max_names = 65536;
	cfg->dns_max_pending = 4096;
	cfg->dns_timeout_ns = 5 * NS_PER_SEC;
	snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "auto");
	cfg->max_processes = 32768;
}

/* ==== Scalars: durations and integers ==== */

static const struct duration_unit {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },	     { "us", NS_PER_US },      { "ms", NS_PER_MS },
	{ "s", NS_PER_SEC }, { "m", 60 * NS_PER_SEC }, { "h", 3600 * NS_PER_SEC },
};

/* As config_parse_duration(), but -ERANGE when the value does not fit. */
static int duration_parse(const char *s, uint64_t *out_ns)
{
	const struct duration_unit *unit = NULL;
	unsigned long long v;
	char *end;
	size_t i;

	/* strtoull alone would take " 5s", "+5s" and "-5s" */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	for (i = 0; i < COUNT_OF(duration_units); i++) {
		if (!strcmp(end, duration_units[i].name)) {
			unit = &duration_units[i];
			break;
		}
	}
	if (!unit)
		return -EINVAL;
	if (errno == ERANGE || v > UINT64_MAX / unit->ns)
		return -ERANGE;
	*out_ns = (uint64_t)v * unit->ns;
	return 0;
}

int config_parse_duration(const char *s, uint64_t *out_ns)
{
	uint64_t ns;

	if (!out_ns || duration_parse(s, &ns))
		return -EINVAL;
	*out_ns = ns;
	return 0;
}

enum uint_result {
	UINT_OK,
	UINT_RANGE, /* an integer, but negative or too big for 64 bits */
	UINT_BAD,   /* not a plain decimal integer */
};

/*
 * Plain decimal only: no sign, no leading zero (YAML 1.1 reads 010 as octal),
 * no hex, exponent, fraction or trailing text.
 */
static enum uint_result uint_parse(const char *s, unsigned long long *out)
{
	const char *digits = s[0] == '-' ? s + 1 : s;
	unsigned long long v;
	char *end;
	size_t i;

	if (!digits[0])
		return UINT_BAD;
	for (i = 0; digits[i]; i++) {
		if (!isdigit((unsigned char)digits[i]))
			return UINT_BAD;
	}
	if (digits[0] == '0' && digits[1])
		return UINT_BAD;
	if (digits != s)
		return UINT_RANGE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return UINT_RANGE;
	if (*end)
		return UINT_BAD;
	*out = v;
	return UINT_OK;
}

/* ==== Node helpers ==== */

struct parse_ctx {
	const char *name;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int cfg_error(struct parse_ctx *ctx, size_t line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cfg_error(struct parse_ctx *ctx, size_t line, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ctx->err || !ctx->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && path[0])
		snprintf(ctx->err, ctx->errlen, "%s:%zu: %s: %s", ctx->name, line, path, msg);
	else
		snprintf(ctx->err, ctx->errlen, "%s:%zu: %s", ctx->name, line, msg);
	return -EINVAL;
}

static size_t node_line(const yaml_node_t *node)
{
	return node->start_mark.line + 1;
}

static const char *scalar_str(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static bool scalar_is_plain(const yaml_node_t *node)
{
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool scalar_has_nul(const yaml_node_t *node)
{
	return strlen(scalar_str(node)) != node->data.scalar.length;
}

/*
 * The line to blame for a value: its own, unless it has no text to point at
 * (an empty value) or is a collection (a block one is marked at its first
 * entry, a line below the key): then the key's line.
 */
static size_t value_line(const yaml_node_t *key, const yaml_node_t *value)
{
	if (!key)
		return node_line(value);
	if (value->type == YAML_SCALAR_NODE &&
	    !(scalar_is_plain(value) && value->data.scalar.length == 0))
		return node_line(value);
	return node_line(key);
}

/* Room for show()'s output. */
#define SHOW_MAX 80

/*
 * A scalar for a message: quoted and escaped when `quote`, cut after about 48
 * characters so that one huge value does not swallow the message.
 */
static const char *show(const yaml_node_t *node, bool quote, char *buf, size_t size)
{
	const unsigned char *s = node->data.scalar.value;
	size_t len = node->data.scalar.length;
	size_t o = 0, i;

	if (quote)
		buf[o++] = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (o + 8 >= size || i >= 48) {
			/* do not leave half a UTF-8 sequence behind */
			while (o && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
				o--;
			if (o && (unsigned char)buf[o - 1] >= 0xc0)
				o--;
			o += (size_t)snprintf(buf + o, size - o, "...");
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static bool str_in(const char *s, const char *const *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(s, set[i]))
			return true;
	}
	return false;
}

enum scalar_kind {
	SCALAR_NULL,
	SCALAR_BOOL,
	SCALAR_INT,
	SCALAR_FLOAT,
	SCALAR_STRING,
	SCALAR_UNKNOWN_TAG,
};

static bool looks_like_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

static bool looks_like_float(const char *s)
{
	static const char *const special[] = { ".inf",	".Inf",	 ".INF", "-.inf", "-.Inf",
					       "-.INF", "+.inf", ".nan", ".NaN",  ".NAN" };
	bool digit = false;
	const char *p;
	char *end;

	if (str_in(s, special, COUNT_OF(special)))
		return true;
	for (p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			digit = true;
		else if (!strchr(".eE+-", *p))
			return false;
	}
	if (!digit)
		return false;
	strtod(s, &end);
	return *s && !*end;
}

/*
 * What a scalar is, as a YAML 1.1 reader would resolve it: libyaml leaves
 * untagged scalars as strings, so plain ones are resolved here. (The document
 * API gives "!!str yes" the same tag as a bare "yes": quoting is the way to
 * say "the string yes".)
 */
static enum scalar_kind scalar_kind(const yaml_node_t *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE",
					     "yes",  "Yes",  "YES",  "no",    "No",    "NO",
					     "on",   "On",   "ON",   "off",   "Off",   "OFF" };
	const char *tag = (const char *)node->tag;
	const char *s = scalar_str(node);

	if (tag && strcmp(tag, YAML_STR_TAG)) {
		if (!strcmp(tag, YAML_NULL_TAG))
			return SCALAR_NULL;
		if (!strcmp(tag, YAML_BOOL_TAG))
			return SCALAR_BOOL;
		if (!strcmp(tag, YAML_INT_TAG))
			return SCALAR_INT;
		if (!strcmp(tag, YAML_FLOAT_TAG))
			return SCALAR_FLOAT;
		return SCALAR_UNKNOWN_TAG;
	}
	if (!scalar_is_plain(node))
		return SCALAR_STRING;
	if (str_in(s, nulls, COUNT_OF(nulls)))
		return SCALAR_NULL;
	if (str_in(s, bools, COUNT_OF(bools)))
		return SCALAR_BOOL;
	if (looks_like_int(s))
		return SCALAR_INT;
	if (looks_like_float(s))
		return SCALAR_FLOAT;
	return SCALAR_STRING;
}

static const char *describe(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		break;
	default:
		return "nothing";
	}
	switch (scalar_kind(node)) {
	case SCALAR_NULL:
		return "null";
	case SCALAR_BOOL:
		return "a boolean";
	case SCALAR_INT:
		return "an integer";
	case SCALAR_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}

/* Collections may carry only their default tag; scalars only the core ones. */
static int check_tag(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *node,
		     const char *path)
{
	const char *tag = (const char *)node->tag;
	const char *want = NULL;

	if (node->type == YAML_MAPPING_NODE)
		want = YAML_MAP_TAG;
	else if (node->type == YAML_SEQUENCE_NODE)
		want = YAML_SEQ_TAG;
	if (!tag)
		return 0;
	if (want ? !strcmp(tag, want) : scalar_kind(node) != SCALAR_UNKNOWN_TAG)
		return 0;
	/* "tag:yaml.org,2002:set" is written "!!set" in the file */
	if (!strncmp(tag, "tag:yaml.org,2002:", 18))
		return cfg_error(ctx, value_line(key, node), path,
				 "unsupported YAML tag \"!!%.64s\"", tag + 18);
	return cfg_error(ctx, value_line(key, node), path, "unsupported YAML tag \"%.64s\"", tag);
}

static yaml_node_t *get_node(struct parse_ctx *ctx, int index)
{
	return yaml_document_get_node(ctx->doc, index);
}

/* A string value; null, booleans and collections are refused by name. */
static int get_string(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		      const char *path, const char **out)
{
	char buf[SHOW_MAX];
	size_t line = value_line(key, value);
	int ret;

	ret = check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type != YAML_SCALAR_NODE)
		return cfg_error(ctx, line, path, "expected a string, got %s", describe(value));
	switch (scalar_kind(value)) {
	case SCALAR_NULL:
		return cfg_error(ctx, line, path, "expected a string, got null");
	case SCALAR_BOOL:
		return cfg_error(ctx, line, path, "expected a string, got a boolean (%s)",
				 show(value, false, buf, sizeof(buf)));
	default:
		break;
	}
	if (scalar_has_nul(value))
		return cfg_error(ctx, line, path, "%s contains a NUL byte",
				 show(value, true, buf, sizeof(buf)));
	*out = scalar_str(value);
	return 0;
}

/*
 * A plain decimal integer in [min, max]. `range` completes "VALUE ..." when it
 * is outside, e.g. "is not a port (1-65535)".
 */
static int get_uint(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    const char *path, unsigned long long min, unsigned long long max,
		    const char *range, unsigned long long *out)
{
	char buf[SHOW_MAX];
	size_t line = value_line(key, value);
	unsigned long long v = 0;
	int ret;

	ret = check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type != YAML_SCALAR_NODE)
		return cfg_error(ctx, line, path, "expected an integer, got %s", describe(value));
	switch (scalar_kind(value)) {
	case SCALAR_NULL:
		return cfg_error(ctx, line, path, "expected an integer, got null");
	case SCALAR_BOOL:
		return cfg_error(ctx, line, path, "expected an integer, got a boolean (%s)",
				 show(value, false, buf, sizeof(buf)));
	case SCALAR_STRING:
		if (!scalar_is_plain(value))
			return cfg_error(ctx, line, path,
					 "expected an integer, got a quoted string (%s)",
					 show(value, true, buf, sizeof(buf)));
		break;
	default:
		break;
	}
	switch (scalar_has_nul(value) ? UINT_BAD : uint_parse(scalar_str(value), &v)) {
	case UINT_OK:
		if (v >= min && v <= max)
			break;
		/* fall through */
	case UINT_RANGE:
		return cfg_error(ctx, line, path, "%s %s", show(value, false, buf, sizeof(buf)),
				 range);
	case UINT_BAD:
		return cfg_error(ctx, line, path, "%s is not a decimal integer",
				 show(value, true, buf, sizeof(buf)));
	}
	*out = v;
	return 0;
}

/* A duration in [min_ns, max_ns]; `range` as for get_uint(). */
static int get_duration(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			const char *path, uint64_t min_ns, uint64_t max_ns, const char *range,
			uint64_t *out)
{
	char buf[SHOW_MAX];
	size_t line = value_line(key, value);
	const char *s = NULL;
	uint64_t ns;
	int ret;

	ret = get_string(ctx, key, value, path, &s);
	if (ret)
		return ret;
	ret = duration_parse(s, &ns);
	if (ret == -ERANGE)
		return cfg_error(ctx, line, path, "%s is too large for a duration",
				 show(value, true, buf, sizeof(buf)));
	if (ret)
		return cfg_error(ctx, line, path,
				 "%s is not a duration (write e.g. 30s, 5m, 500ms)",
				 show(value, true, buf, sizeof(buf)));
	if (ns < min_ns || ns > max_ns)
		return cfg_error(ctx, line, path, "%s %s", show(value, false, buf, sizeof(buf)),
				 range);
	*out = ns;
	return 0;
}

static int expect_type(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		       const char *path, yaml_node_type_t type)
{
	int ret;

	ret = check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type == type)
		return 0;
	if (type == YAML_SEQUENCE_NODE && value->type == YAML_SCALAR_NODE &&
	    scalar_kind(value) == SCALAR_NULL)
		return cfg_error(ctx, value_line(key, value), path,
				 "expected a list, got null (write [] for an empty list)");
	return cfg_error(ctx, value_line(key, value), path, "expected %s, got %s",
			 type == YAML_MAPPING_NODE ? "a mapping" : "a list", describe(value));
}

/* ==== Mappings: known keys, no duplicates ==== */

struct map_entry {
	yaml_node_t *key;
	yaml_node_t *value;
};

static int key_index(const yaml_node_t *key, const char *const *keys, size_t n)
{
	size_t i;

	if (scalar_has_nul(key))
		return -1;
	for (i = 0; i < n; i++) {
		if (!strcmp(scalar_str(key), keys[i]))
			return (int)i;
	}
	return -1;
}

/*
 * Check every key of `map` (a mapping node) against `keys`; fill found[i] with
 * the pair for keys[i]. Stops at the first unknown key, so the duplicate scan
 * stays bounded by the number of known keys.
 */
static int map_collect(struct parse_ctx *ctx, const yaml_node_t *map, const char *path,
		       const char *const *keys, size_t n, struct map_entry *found)
{
	yaml_node_pair_t *pair;
	char known[256], buf[SHOW_MAX];
	size_t i, o = 0;

	memset(found, 0, n * sizeof(*found));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = get_node(ctx, pair->key);
		yaml_node_t *value = get_node(ctx, pair->value);
		int k;

		if (!key || !value)
			return cfg_error(ctx, node_line(map), path, "malformed mapping");
		if (key->type != YAML_SCALAR_NODE)
			return cfg_error(ctx, node_line(key), path,
					 "a key must be a string, got %s", describe(key));
		k = key_index(key, keys, n);
		if (k < 0) {
			for (i = 0; i < n && o < sizeof(known); i++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      i ? ", " : "", keys[i]);
			return cfg_error(ctx, node_line(key), path, "unknown key %s (known: %s)",
					 show(key, true, buf, sizeof(buf)), known);
		}
		if (found[k].key)
			return cfg_error(ctx, node_line(key), path,
					 "duplicate key \"%s\" (first on line %zu)", keys[k],
					 node_line(found[k].key));
		found[k].key = key;
		found[k].value = value;
	}
	return 0;
}

/* ==== Adapters ==== */

static const char *const supported_adapters = "prometheus, datadog, otlp";

/*
 * A string setting: path.NAME into sub, then the value, at most max_len
 * characters long.
 */
static int setting_string(struct parse_ctx *ctx, const struct map_entry *e, const char *path,
			  const char *name, char *sub, size_t sublen, size_t max_len,
			  const char **out)
{
	char buf[SHOW_MAX];
	int ret;

	snprintf(sub, sublen, "%s.%s", path, name);
	ret = get_string(ctx, e->key, e->value, sub, out);
	if (ret)
		return ret;
	if (strlen(*out) > max_len)
		return cfg_error(ctx, value_line(e->key, e->value), sub,
				 "%s is longer than %zu characters",
				 show(e->value, true, buf, sizeof(buf)), max_len);
	return 0;
}

/* One word of a fixed set: its index, or a "VALUE is not a WHAT (a, b)" error. */
static int setting_choice(struct parse_ctx *ctx, const struct map_entry *e, const char *path,
			  const char *name, const char *what, const char *const *choices, size_t n,
			  int *out)
{
	char sub[96], buf[SHOW_MAX], list[96];
	const char *s = NULL;
	size_t i, o = 0;
	int ret;

	ret = setting_string(ctx, e, path, name, sub, sizeof(sub), SIZE_MAX, &s);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (!strcmp(s, choices[i])) {
			*out = (int)i;
			return 0;
		}
	}
	for (i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
				      choices[i]);
	return cfg_error(ctx, value_line(e->key, e->value), sub, "%s is not %s (%s)",
			 show(e->value, true, buf, sizeof(buf)), what, list);
}

/* A port in "...:PORT": decimal, no sign or leading zero, 1-65535. */
static bool port_text_ok(const char *s)
{
	unsigned long long v;

	return s[0] != '0' && strlen(s) <= 5 && uint_parse(s, &v) == UINT_OK && v >= 1 &&
	       v <= 65535;
}

/* A host name as getaddrinfo() takes it, or a dotted IPv4 address. */
static bool host_name_ok(const char *s, size_t len)
{
	bool only_digits_dots = true;
	char ip[16];
	size_t i;

	if (!len || len > 253 || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
		if (!isdigit(c) && c != '.')
			only_digits_dots = false;
	}
	if (!only_digits_dots)
		return true;
	/* looks like an IPv4 address: then it must be one */
	if (len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	return inet_pton(AF_INET, ip, &(struct in_addr){ 0 }) == 1;
}

/*
 * What is wrong with a DogStatsD address ("HOST:PORT", "[IPV6]:PORT",
 * "unix:///PATH"), as the end of "VALUE ...", or NULL when it is fine.
 */
static const char *datadog_host_problem(const char *s)
{
	static const char form[] =
		"is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)";
	const char *colon, *close;
	char ip6[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];

	if (!strncmp(s, "unix://", 7)) {
		if (s[7] != '/')
			return "is not a DogStatsD address (unix:// needs an absolute path, "
			       "e.g. unix:///var/run/datadog/dsd.socket)";
		if (strlen(s + 7) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return "has a socket path longer than 107 characters";
		return NULL;
	}
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(ip6))
			return form;
		memcpy(ip6, s + 1, (size_t)(close - s - 1));
		ip6[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, ip6, bin) != 1)
			return "is not a DogStatsD address (no IPv6 address in the brackets)";
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return form;
		if (memchr(s, ':', (size_t)(colon - s)))
			return "is not a DogStatsD address (write an IPv6 address in brackets, "
			       "e.g. [::1]:8125)";
		if (!host_name_ok(s, (size_t)(colon - s)))
			return form;
	}
	if (!port_text_ok(colon + 1))
		return "has no valid port (1-65535)";
	return NULL;
}

/* Letters, digits, '_' and '.', a letter first: a DogStatsD name prefix. */
static bool metric_namespace_ok(const char *s)
{
	if (!isalpha((unsigned char)s[0]))
		return false;
	for (s++; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.')
			return false;
	}
	return true;
}

/* "key:value" or "key": no character DogStatsD uses as a separator, no space. */
static bool tag_ok(const char *s)
{
	if (!s[0] || s[0] == ':')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '|' || c == ',' || c == '#')
			return false;
	}
	return true;
}

static int parse_datadog_tags(struct parse_ctx *ctx, const yaml_node_t *key,
			      const yaml_node_t *list, const char *path, struct adapter_config *ad)
{
	char sub[128], buf[SHOW_MAX];
	yaml_node_item_t *item;
	size_t n, i = 0;
	int ret;

	ret = expect_type(ctx, key, list, path, YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (n > CONFIG_MAX_TAGS)
		return cfg_error(ctx, node_line(key), path, "%zu tags, at most %d are supported", n,
				 CONFIG_MAX_TAGS);
	for (item = list->data.sequence.items.start; item < list->data.sequence.items.top;
	     item++, i++) {
		yaml_node_t *node = get_node(ctx, *item);
		const char *s = NULL;

		if (!node)
			return cfg_error(ctx, node_line(list), path, "malformed list");
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		ret = get_string(ctx, NULL, node, sub, &s);
		if (ret)
			return ret;
		if (strlen(s) >= sizeof(ad->tags[i]))
			return cfg_error(
				ctx, node_line(node), sub, "%s is longer than %zu characters",
				show(node, true, buf, sizeof(buf)), sizeof(ad->tags[i]) - 1);
		if (!tag_ok(s))
			return cfg_error(ctx, node_line(node), sub,
					 "%s is not a tag (key:value or key, without '|', ',', "
					 "'#' or whitespace)",
					 show(node, true, buf, sizeof(buf)));
		snprintf(ad->tags[i], sizeof(ad->tags[i]), "%s", s);
	}
	ad->n_tags = n;
	return 0;
}

static int parse_datadog_settings(struct parse_ctx *ctx, const yaml_node_t *key,
				  const yaml_node_t *map, const char *path,
				  struct adapter_config *ad)
{
	static const char *const keys[] = { "host", "flush_interval", "namespace", "tags",
					    "histogram" };
	static const char *const hist_kinds[] = {
		[DATADOG_HIST_DISTRIBUTION] = "distribution", [DATADOG_HIST_HISTOGRAM] = "histogram"
	};
	struct map_entry found[COUNT_OF(keys)];
	char sub[96], buf[SHOW_MAX];
	const char *s = NULL, *why;
	int ret, kind;

	ret = expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, map, path, keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (found[0].key) {
		ret = setting_string(ctx, &found[0], path, "host", sub, sizeof(sub),
				     sizeof(ad->host) - 1, &s);
		if (ret)
			return ret;
		why = datadog_host_problem(s);
		if (why)
			return cfg_error(ctx, value_line(found[0].key, found[0].value), sub,
					 "%s %s", show(found[0].value, true, buf, sizeof(buf)),
					 why);
		snprintf(ad->host, sizeof(ad->host), "%s", s);
	}
	if (found[1].key) {
		snprintf(sub, sizeof(sub), "%s.flush_interval", path);
		ret = get_duration(ctx, found[1].key, found[1].value, sub, 100 * NS_PER_MS,
				   3600 * NS_PER_SEC, "is out of range (100ms-1h)",
				   &ad->flush_interval_ns);
		if (ret)
			return ret;
	}
	if (found[2].key) {
		ret = setting_string(ctx, &found[2], path, "namespace", sub, sizeof(sub),
				     sizeof(ad->metric_namespace) - 1, &s);
		if (ret)
			return ret;
		if (!metric_namespace_ok(s))
			return cfg_error(
				ctx, value_line(found[2].key, found[2].value), sub,
				"%s is not a metric namespace (a letter, then letters, digits, '_' or '.')",
				show(found[2].value, true, buf, sizeof(buf)));
		snprintf(ad->metric_namespace, sizeof(ad->metric_namespace), "%s", s);
	}
	if (found[3].key) {
		snprintf(sub, sizeof(sub), "%s.tags", path);
		ret = parse_datadog_tags(ctx, found[3].key, found[3].value, sub, ad);
		if (ret)
			return ret;
	}
	if (found[4].key) {
		ret = setting_choice(ctx, &found[4], path, "histogram", "a histogram type",
				     hist_kinds, COUNT_OF(hist_kinds), &kind);
		if (ret)
			return ret;
		ad->histogram = (enum datadog_histogram)kind;
	}
	return 0;
}

/* RFC 9110 token characters. */
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

static int parse_otlp_headers(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *map,
			      const char *path, struct adapter_config *ad)
{
	const yaml_node_t *names[CONFIG_MAX_HEADERS];
	char sub[384], buf[SHOW_MAX];
	yaml_node_pair_t *pair;
	size_t n, i = 0, j;
	int ret;

	ret = expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > CONFIG_MAX_HEADERS)
		return cfg_error(ctx, node_line(key), path, "%zu headers, at most %d are supported",
				 n, CONFIG_MAX_HEADERS);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++, i++) {
		yaml_node_t *k = get_node(ctx, pair->key);
		yaml_node_t *v = get_node(ctx, pair->value);
		const char *name, *value = NULL;

		if (!k || !v)
			return cfg_error(ctx, node_line(map), path, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE)
			return cfg_error(ctx, node_line(k), path, "a key must be a string, got %s",
					 describe(k));
		name = scalar_str(k);
		if (scalar_has_nul(k) || strlen(name) >= sizeof(ad->headers[i][0]) ||
		    !header_name_ok(name))
			return cfg_error(ctx, node_line(k), path,
					 "%s is not a header name (letters, digits and "
					 "!#$%%&'*+-.^_`|~, at most %zu)",
					 show(k, true, buf, sizeof(buf)),
					 sizeof(ad->headers[i][0]) - 1);
		for (j = 0; j < i; j++) {
			if (!strcasecmp(name, scalar_str(names[j])))
				return cfg_error(ctx, node_line(k), path,
						 "duplicate header %s (first on line %zu)",
						 show(k, true, buf, sizeof(buf)),
						 node_line(names[j]));
		}
		names[i] = k;
		snprintf(sub, sizeof(sub), "%s.%s", path, name);
		ret = get_string(ctx, k, v, sub, &value);
		if (ret)
			return ret;
		if (strlen(value) >= sizeof(ad->headers[i][1]))
			return cfg_error(
				ctx, value_line(k, v), sub, "%s is longer than %zu characters",
				show(v, true, buf, sizeof(buf)), sizeof(ad->headers[i][1]) - 1);
		if (strpbrk(value, "\r\n"))
			return cfg_error(ctx, value_line(k, v), sub, "%s contains a line break",
					 show(v, true, buf, sizeof(buf)));
		for (j = 0; value[j]; j++) {
			unsigned char c = (unsigned char)value[j];

			if ((c < ' ' && c != '\t') || c == 0x7f)
				return cfg_error(ctx, value_line(k, v), sub,
						 "%s contains a control character",
						 show(v, true, buf, sizeof(buf)));
		}
		snprintf(ad->headers[i][0], sizeof(ad->headers[i][0]), "%s", name);
		snprintf(ad->headers[i][1], sizeof(ad->headers[i][1]), "%s", value);
	}
	ad->n_headers = n;
	return 0;
}

/* http:// or https://, then a host: no space or control character anywhere. */
static bool otlp_endpoint_ok(const char *s)
{
	const char *rest;

	if (!strncmp(s, "http://", 7))
		rest = s + 7;
	else if (!strncmp(s, "https://", 8))
		rest = s + 8;
	else
		return false;
	if (!rest[0] || rest[0] == '/' || rest[0] == ':' || rest[0] == '?' || rest[0] == '#')
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	}
	return true;
}

static int parse_otlp_settings(struct parse_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *map, const char *path, struct adapter_config *ad)
{
	static const char *const keys[] = { "endpoint", "protocol", "headers",
					    "interval", "timeout",  "compression" };
	static const char *const protocols[] = {
		[OTLP_HTTP_PROTOBUF] = "http/protobuf", [OTLP_HTTP_JSON] = "http/json"
	};
	static const char *const compressions[] = { "gzip", "none" };
	struct map_entry found[COUNT_OF(keys)];
	char sub[96], buf[SHOW_MAX];
	const char *s = NULL;
	int ret, choice;

	ret = expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, map, path, keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (found[0].key) {
		ret = setting_string(ctx, &found[0], path, "endpoint", sub, sizeof(sub),
				     sizeof(ad->endpoint) - 1, &s);
		if (ret)
			return ret;
		if (!otlp_endpoint_ok(s))
			return cfg_error(ctx, value_line(found[0].key, found[0].value), sub,
					 "%s is not an http:// or https:// URL",
					 show(found[0].value, true, buf, sizeof(buf)));
		snprintf(ad->endpoint, sizeof(ad->endpoint), "%s", s);
	}
	if (found[1].key) {
		ret = setting_choice(ctx, &found[1], path, "protocol", "an OTLP protocol",
				     protocols, COUNT_OF(protocols), &choice);
		if (ret)
			return ret;
		ad->protocol = (enum otlp_protocol)choice;
	}
	if (found[2].key) {
		snprintf(sub, sizeof(sub), "%s.headers", path);
		ret = parse_otlp_headers(ctx, found[2].key, found[2].value, sub, ad);
		if (ret)
			return ret;
	}
	if (found[3].key) {
		snprintf(sub, sizeof(sub), "%s.interval", path);
		ret = get_duration(ctx, found[3].key, found[3].value, sub, 100 * NS_PER_MS,
				   3600 * NS_PER_SEC, "is out of range (100ms-1h)",
				   &ad->interval_ns);
		if (ret)
			return ret;
	}
	if (found[4].key) {
		snprintf(sub, sizeof(sub), "%s.timeout", path);
		ret = get_duration(ctx, found[4].key, found[4].value, sub, 100 * NS_PER_MS,
				   300 * NS_PER_SEC, "is out of range (100ms-5m)", &ad->timeout_ns);
		if (ret)
			return ret;
	}
	if (found[5].key) {
		ret = setting_choice(ctx, &found[5], path, "compression", "a compression",
				     compressions, COUNT_OF(compressions), &choice);
		if (ret)
			return ret;
		ad->gzip = choice == 0;
	}
	return 0;
}

static int parse_prometheus_settings(struct parse_ctx *ctx, const yaml_node_t *key,
				     const yaml_node_t *map, const char *path,
				     struct adapter_config *ad)
{
	static const char *const keys[] = { "port", "address" };
	struct map_entry found[COUNT_OF(keys)];
	char sub[96], buf[SHOW_MAX];
	unsigned long long port;
	const char *addr = NULL;
	unsigned char bin[sizeof(struct in6_addr)];
	int ret;

	ret = expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, map, path, keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (found[0].key) {
		snprintf(sub, sizeof(sub), "%s.port", path);
		/* 0 asks the kernel for a free port: tests use it */
		ret = get_uint(ctx, found[0].key, found[0].value, sub, 0, 65535,
			       "is not a port (1-65535)", &port);
		if (ret)
			return ret;
		ad->port = (uint16_t)port;
	}
	if (found[1].key) {
		size_t line = value_line(found[1].key, found[1].value);

		snprintf(sub, sizeof(sub), "%s.address", path);
		ret = get_string(ctx, found[1].key, found[1].value, sub, &addr);
		if (ret)
			return ret;
		if (strlen(addr) >= sizeof(ad->address))
			return cfg_error(ctx, line, sub, "%s is longer than %zu characters",
					 show(found[1].value, true, buf, sizeof(buf)),
					 sizeof(ad->address) - 1);
		if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
			return cfg_error(ctx, line, sub, "%s is not an IPv4 or IPv6 address",
					 show(found[1].value, true, buf, sizeof(buf)));
		snprintf(ad->address, sizeof(ad->address), "%s", addr);
	}
	return 0;
}

typedef int (*settings_parse_fn)(struct parse_ctx *ctx, const yaml_node_t *key,
				 const yaml_node_t *map, const char *path,
				 struct adapter_config *ad);

static const struct adapter_kind {
	const char *name;
	enum adapter_type type;
	settings_parse_fn parse;
} adapter_kinds[] = {
	{ "prometheus", ADAPTER_PROMETHEUS, parse_prometheus_settings },
	{ "datadog", ADAPTER_DATADOG, parse_datadog_settings },
	{ "otlp", ADAPTER_OTLP, parse_otlp_settings },
};

static int parse_adapter(struct parse_ctx *ctx, const yaml_node_t *item, size_t idx,
			 struct adapter_config *ad)
{
	static const char *const keys[] = { "type", "settings" };
	struct map_entry found[COUNT_OF(keys)];
	const struct adapter_kind *kind = NULL;
	char path[32], sub[64], buf[SHOW_MAX];
	const char *type = NULL;
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "adapters[%zu]", idx);
	ret = expect_type(ctx, NULL, item, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, item, path, keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (!found[0].key)
		return cfg_error(ctx, node_line(item), path, "missing key \"type\" (supported: %s)",
				 supported_adapters);

	snprintf(sub, sizeof(sub), "%s.type", path);
	ret = get_string(ctx, found[0].key, found[0].value, sub, &type);
	if (ret)
		return ret;
	for (i = 0; i < COUNT_OF(adapter_kinds); i++) {
		if (!strcmp(type, adapter_kinds[i].name))
			kind = &adapter_kinds[i];
	}
	if (!kind)
		return cfg_error(ctx, value_line(found[0].key, found[0].value), sub,
				 "unknown adapter type %s (supported: %s)",
				 show(found[0].value, true, buf, sizeof(buf)), supported_adapters);
	adapter_set_defaults(ad, kind->type);
	if (!found[1].key)
		return 0;
	snprintf(sub, sizeof(sub), "%s.settings", path);
	return kind->parse(ctx, found[1].key, found[1].value, sub, ad);
}

/* ==== Attributes, networks, dns, processes ==== */

/* A YAML 1.1 boolean (true/false, yes/no, on/off in three spellings). */
static int get_bool(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    const char *path, int *out)
{
	static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes",
					     "YES",  "on",   "On",   "ON" };
	char buf[SHOW_MAX];
	int ret;

	ret = check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type != YAML_SCALAR_NODE)
		return cfg_error(ctx, value_line(key, value), path,
				 "expected true or false, got %s", describe(value));
	if (scalar_kind(value) != SCALAR_BOOL)
		return cfg_error(ctx, value_line(key, value), path,
				 "expected true or false, got %s (%s)", describe(value),
				 show(value, true, buf, sizeof(buf)));
	*out = str_in(scalar_str(value), trues, COUNT_OF(trues));
	return 0;
}

/* "*" or a label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool attr_name_ok(const char *s)
{
	size_t i;

	if (!strcmp(s, "*"))
		return true;
	if (!s[0] || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

/* attributes.select.PATTERN.include or .exclude: a non-empty list of names. */
static int parse_attr_list(struct parse_ctx *ctx, const struct map_entry *e, const char *path,
			   char (*names)[40], size_t *n_out)
{
	char sub[320], buf[SHOW_MAX];
	yaml_node_item_t *item;
	size_t n, i = 0, j;
	int ret;

	ret = expect_type(ctx, e->key, e->value, path, YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(e->value->data.sequence.items.top - e->value->data.sequence.items.start);
	if (!n)
		return cfg_error(ctx, node_line(e->key), path,
				 "empty list (name at least one attribute, or \"*\" for all)");
	if (n > CONFIG_MAX_ATTRS)
		return cfg_error(ctx, node_line(e->key), path,
				 "%zu attributes, at most %d are supported", n, CONFIG_MAX_ATTRS);
	for (item = e->value->data.sequence.items.start; item < e->value->data.sequence.items.top;
	     item++, i++) {
		yaml_node_t *node = get_node(ctx, *item);
		const char *s = NULL;

		if (!node)
			return cfg_error(ctx, node_line(e->value), path, "malformed list");
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		ret = get_string(ctx, NULL, node, sub, &s);
		if (ret)
			return ret;
		if (strlen(s) >= sizeof(names[i]))
			return cfg_error(ctx, node_line(node), sub,
					 "%s is longer than %zu characters",
					 show(node, true, buf, sizeof(buf)), sizeof(names[i]) - 1);
		if (!attr_name_ok(s))
			return cfg_error(ctx, node_line(node), sub,
					 "%s is not an attribute name (letters, digits and '_', "
					 "not starting with a digit; or \"*\")",
					 show(node, true, buf, sizeof(buf)));
		for (j = 0; j < i; j++) {
			if (!strcmp(names[j], s))
				return cfg_error(ctx, node_line(node), sub,
						 "duplicate attribute %s",
						 show(node, true, buf, sizeof(buf)));
		}
		snprintf(names[i], sizeof(names[i]), "%s", s);
	}
	*n_out = n;
	return 0;
}

static int parse_select(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *map,
			struct config *cfg)
{
	static const char *const keys[] = { "include", "exclude" };
	const yaml_node_t *patterns[CONFIG_MAX_SELECT];
	char path[192], sub[224], buf[SHOW_MAX];
	yaml_node_pair_t *pair;
	size_t n, i = 0, j;
	int ret;

	ret = expect_type(ctx, key, map, "attributes.select", YAML_MAPPING_NODE);
	if (ret)
		return ret;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > CONFIG_MAX_SELECT)
		return cfg_error(ctx, node_line(key), "attributes.select",
				 "%zu patterns, at most %d are supported", n, CONFIG_MAX_SELECT);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++, i++) {
		yaml_node_t *k = get_node(ctx, pair->key);
		yaml_node_t *v = get_node(ctx, pair->value);
		struct config_select *sel = &cfg->select[i];
		struct map_entry found[COUNT_OF(keys)];
		const char *pattern = NULL;

		if (!k || !v)
			return cfg_error(ctx, node_line(map), "attributes.select",
					 "malformed mapping");
		ret = get_string(ctx, NULL, k, "attributes.select", &pattern);
		if (ret)
			return ret;
		if (!pattern[0])
			return cfg_error(ctx, node_line(k), "attributes.select",
					 "empty pattern (write e.g. \"gespann_flow_*\")");
		if (strlen(pattern) >= sizeof(sel->pattern))
			return cfg_error(ctx, node_line(k), "attributes.select",
					 "pattern %s is longer than %zu characters",
					 show(k, true, buf, sizeof(buf)), sizeof(sel->pattern) - 1);
		for (j = 0; j < i; j++) {
			if (!strcmp(scalar_str(patterns[j]), pattern))
				return cfg_error(ctx, node_line(k), "attributes.select",
						 "duplicate pattern %s (first on line %zu)",
						 show(k, true, buf, sizeof(buf)),
						 node_line(patterns[j]));
		}
		patterns[i] = k;
		memset(sel, 0, sizeof(*sel));
		snprintf(sel->pattern, sizeof(sel->pattern), "%s", pattern);
		snprintf(path, sizeof(path), "attributes.select.%s", pattern);
		ret = expect_type(ctx, k, v, path, YAML_MAPPING_NODE);
		if (ret)
			return ret;
		ret = map_collect(ctx, v, path, keys, COUNT_OF(keys), found);
		if (ret)
			return ret;
		if (!found[0].key && !found[1].key)
			return cfg_error(ctx, node_line(k), path,
					 "expected \"include\", \"exclude\" or both");
		if (found[0].key) {
			snprintf(sub, sizeof(sub), "%s.include", path);
			ret = parse_attr_list(ctx, &found[0], sub, sel->include, &sel->n_include);
			if (ret)
				return ret;
			sel->has_include = 1;
		}
		if (found[1].key) {
			snprintf(sub, sizeof(sub), "%s.exclude", path);
			ret = parse_attr_list(ctx, &found[1], sub, sel->exclude, &sel->n_exclude);
			if (ret)
				return ret;
		}
	}
	cfg->n_select = n;
	return 0;
}

static int parse_attributes(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			    struct config *cfg)
{
	static const char *const keys[] = { "select", "max_series" };
	struct map_entry found[COUNT_OF(keys)];
	unsigned long long v;
	int ret;

	ret = expect_type(ctx, key, value, "attributes", YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, value, "attributes", keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (found[0].key) {
		ret = parse_select(ctx, found[0].key, found[0].value, cfg);
		if (ret)
			return ret;
	}
	if (found[1].key) {
		ret = get_uint(ctx, found[1].key, found[1].value, "attributes.max_series", 1,
			       10000000, "is out of range (1-10000000)", &v);
		if (ret)
			return ret;
		cfg->max_series = v;
	}
	return 0;
}

/*
 * "ADDRESS/PREFIX" or a bare address (a host network), IPv4 or IPv6, into
 * *net: host bits cleared, v4-mapped IPv6 networks turned into IPv4 ones.
 * Returns NULL, or what is wrong as the end of "VALUE ...".
 */
static const char *cidr_parse(const char *s, struct config_network *net)
{
	static const char form[] = "is not a network (write e.g. 10.0.0.0/8 or fd00::/8)";
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const char *slash = strchr(s, '/');
	char ip[INET6_ADDRSTRLEN];
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long long prefix;
	unsigned int max, i;

	if (len >= sizeof(ip))
		return form;
	memcpy(ip, s, len);
	ip[len] = '\0';
	memset(net->addr, 0, sizeof(net->addr));
	if (inet_pton(AF_INET, ip, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return form;
	}
	prefix = max;
	if (slash) {
		/* a leading zero or a sign would be read differently elsewhere */
		if (!slash[1] || (slash[1] == '0' && slash[2]) ||
		    uint_parse(slash + 1, &prefix) != UINT_OK)
			return form;
		if (prefix > max)
			return max == 32 ? "is not a network (IPv4 prefix length 0-32)" :
					   "is not a network (IPv6 prefix length 0-128)";
	}
	for (i = 0; i < max / 8; i++) {
		if (i * 8 >= prefix)
			net->addr[i] = 0;
		else if (i * 8 + 8 > prefix)
			net->addr[i] &= (uint8_t)(0xff00 >> (prefix - i * 8));
	}
	if (net->family == AF_INET6 && prefix >= 96 && !memcmp(net->addr, mapped, 12)) {
		memmove(net->addr, net->addr + 12, 4);
		memset(net->addr + 4, 0, 12);
		net->family = AF_INET;
		prefix -= 96;
	}
	net->prefix = (uint8_t)prefix;
	return NULL;
}

/* A zone or class name: letters, digits, '_', '-', '.'. */
static bool net_label_ok(const char *s)
{
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	}
	return true;
}

static int parse_net_label(struct parse_ctx *ctx, const struct map_entry *e, const char *path,
			   const char *name, char *out, size_t outlen)
{
	char sub[64], buf[SHOW_MAX];
	const char *s = NULL;
	int ret;

	ret = setting_string(ctx, e, path, name, sub, sizeof(sub), outlen - 1, &s);
	if (ret)
		return ret;
	if (!s[0] || !net_label_ok(s))
		return cfg_error(ctx, value_line(e->key, e->value), sub,
				 "%s is not a %s name (letters, digits, '_', '-' and '.')",
				 show(e->value, true, buf, sizeof(buf)), name);
	snprintf(out, outlen, "%s", s);
	return 0;
}

static int parse_networks(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			  struct config *cfg)
{
	static const char *const keys[] = { "cidr", "zone", "class" };
	size_t lines[CONFIG_MAX_NETWORKS];
	yaml_node_item_t *item;
	size_t n, i = 0, j;
	int ret;

	ret = expect_type(ctx, key, value, "networks", YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
	if (n > CONFIG_MAX_NETWORKS)
		return cfg_error(ctx, node_line(key), "networks",
				 "%zu entries, at most %d are supported", n, CONFIG_MAX_NETWORKS);
	for (item = value->data.sequence.items.start; item < value->data.sequence.items.top;
	     item++, i++) {
		yaml_node_t *node = get_node(ctx, *item);
		struct config_network *net = &cfg->networks[i];
		struct map_entry found[COUNT_OF(keys)];
		char path[32], sub[64], buf[SHOW_MAX], text[INET6_ADDRSTRLEN];
		const char *s = NULL, *why;

		if (!node)
			return cfg_error(ctx, node_line(value), "networks", "malformed list");
		snprintf(path, sizeof(path), "networks[%zu]", i);
		ret = expect_type(ctx, NULL, node, path, YAML_MAPPING_NODE);
		if (ret)
			return ret;
		ret = map_collect(ctx, node, path, keys, COUNT_OF(keys), found);
		if (ret)
			return ret;
		if (!found[0].key)
			return cfg_error(ctx, node_line(node), path,
					 "missing key \"cidr\" (e.g. cidr: 10.0.0.0/8)");
		memset(net, 0, sizeof(*net));
		ret = setting_string(ctx, &found[0], path, "cidr", sub, sizeof(sub), SIZE_MAX, &s);
		if (ret)
			return ret;
		why = cidr_parse(s, net);
		if (why)
			return cfg_error(ctx, value_line(found[0].key, found[0].value), sub,
					 "%s %s", show(found[0].value, true, buf, sizeof(buf)),
					 why);
		lines[i] = value_line(found[0].key, found[0].value);
		for (j = 0; j < i; j++) {
			const struct config_network *o = &cfg->networks[j];

			if (o->family != net->family || o->prefix != net->prefix ||
			    memcmp(o->addr, net->addr, sizeof(o->addr)))
				continue;
			inet_ntop(net->family, net->addr, text, sizeof(text));
			return cfg_error(ctx, lines[i], sub,
					 "duplicate network %s/%u (first on line %zu)", text,
					 net->prefix, lines[j]);
		}
		if (found[1].key) {
			ret = parse_net_label(ctx, &found[1], path, "zone", net->zone,
					      sizeof(net->zone));
			if (ret)
				return ret;
		}
		if (found[2].key) {
			ret = parse_net_label(ctx, &found[2], path, "class", net->class_name,
					      sizeof(net->class_name));
			if (ret)
				return ret;
		}
	}
	cfg->n_networks = n;
	return 0;
}

static int parse_getaddrinfo(struct parse_ctx *ctx, const struct map_entry *e, struct config *cfg)
{
	static const char path[] = "dns.getaddrinfo";
	size_t line = value_line(e->key, e->value);
	char buf[SHOW_MAX];
	const char *s = NULL;
	int on, ret;

	/* a bare off (or false) is a YAML boolean: take it to mean "off" */
	if (e->value->type == YAML_SCALAR_NODE && scalar_kind(e->value) == SCALAR_BOOL) {
		ret = get_bool(ctx, e->key, e->value, path, &on);
		if (ret)
			return ret;
		snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "%s", on ? "auto" : "off");
		return 0;
	}
	ret = get_string(ctx, e->key, e->value, path, &s);
	if (ret)
		return ret;
	if (strcmp(s, "auto") && strcmp(s, "off") && s[0] != '/')
		return cfg_error(ctx, line, path,
				 "%s is not auto, off or an absolute path to libc "
				 "(e.g. /lib/x86_64-linux-gnu/libc.so.6)",
				 show(e->value, true, buf, sizeof(buf)));
	if (strlen(s) >= sizeof(cfg->getaddrinfo))
		return cfg_error(ctx, line, path, "%s is longer than %zu characters",
				 show(e->value, true, buf, sizeof(buf)),
				 sizeof(cfg->getaddrinfo) - 1);
	snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "%s", s);
	return 0;
}

static int parse_dns(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		     struct config *cfg)
{
	static const char *const keys[] = { "enabled",	   "events",  "max_names",
					    "max_pending", "timeout", "getaddrinfo" };
	static const char *const events[] = {
		[DNS_EVENTS_NONE] = "none", [DNS_EVENTS_LOG] = "log"
	};
	struct map_entry found[COUNT_OF(keys)];
	unsigned long long v;
	int ret, choice;

	ret = expect_type(ctx, key, value, "dns", YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, value, "dns", keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (found[0].key) {
		ret = get_bool(ctx, found[0].key, found[0].value, "dns.enabled", &cfg->dns_enabled);
		if (ret)
			return ret;
	}
	if (found[1].key) {
		ret = setting_choice(ctx, &found[1], "dns", "events", "a DNS event output", events,
				     COUNT_OF(events), &choice);
		if (ret)
			return ret;
		cfg->dns_events = (enum dns_events)choice;
	}
	if (found[2].key) {
		ret = get_uint(ctx, found[2].key, found[2].value, "dns.max_names", 16, 16777216,
			       "is out of range (16-16777216)", &v);
		if (ret)
			return ret;
		cfg->dns_max_names = (uint32_t)v;
	}
	if (found[3].key) {
		ret = get_uint(ctx, found[3].key, found[3].value, "dns.max_pending", 16, 1048576,
			       "is out of range (16-1048576)", &v);
		if (ret)
			return ret;
		cfg->dns_max_pending = (uint32_t)v;
	}
	if (found[4].key) {
		ret = get_duration(ctx, found[4].key, found[4].value, "dns.timeout", NS_PER_MS,
				   600 * NS_PER_SEC, "is out of range (1ms-10m)",
				   &cfg->dns_timeout_ns);
		if (ret)
			return ret;
	}
	if (found[5].key) {
		ret = parse_getaddrinfo(ctx, &found[5], cfg);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_processes(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			   struct config *cfg)
{
	static const char *const keys[] = { "max" };
	struct map_entry found[COUNT_OF(keys)];
	unsigned long long v;
	int ret;

	ret = expect_type(ctx, key, value, "processes", YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = map_collect(ctx, value, "processes", keys, COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (found[0].key) {
		ret = get_uint(ctx, found[0].key, found[0].value, "processes.max", 16, 16777216,
			       "is out of range (16-16777216)", &v);
		if (ret)
			return ret;
		cfg->max_processes = (uint32_t)v;
	}
	return 0;
}

/* ==== Top level ==== */

static int parse_log_level(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			   struct config *cfg)
{
	char buf[SHOW_MAX];
	const char *s = NULL;
	int ret;

	ret = get_string(ctx, key, value, "log_level", &s);
	if (ret)
		return ret;
	if (log_level_parse(s, &cfg->log_level))
		return cfg_error(ctx, value_line(key, value), "log_level",
				 "%s is not a log level (error, warn, info, debug)",
				 show(value, true, buf, sizeof(buf)));
	return 0;
}

static int parse_scope(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		       struct config *cfg)
{
	size_t line = value_line(key, value);
	char buf[SHOW_MAX];
	const char *s = NULL;
	int ret;

	ret = get_string(ctx, key, value, "scope", &s);
	if (ret)
		return ret;
	if (!strcmp(s, "host")) {
		cfg->scope = SCOPE_HOST;
		cfg->scope_path[0] = '\0';
	} else if (!strcmp(s, "netns")) {
		cfg->scope = SCOPE_NETNS;
		cfg->scope_path[0] = '\0';
	} else if (s[0] == '/') {
		if (strlen(s) >= sizeof(cfg->scope_path))
			return cfg_error(ctx, line, "scope", "%s is longer than %zu characters",
					 show(value, true, buf, sizeof(buf)),
					 sizeof(cfg->scope_path) - 1);
		cfg->scope = SCOPE_PATH;
		snprintf(cfg->scope_path, sizeof(cfg->scope_path), "%s", s);
	} else {
		return cfg_error(
			ctx, line, "scope",
			"%s is not a scope (host, netns, or a path such as /var/run/netns/NAME)",
			show(value, true, buf, sizeof(buf)));
	}
	return 0;
}

static int parse_idle_timeout(struct parse_ctx *ctx, const yaml_node_t *key,
			      const yaml_node_t *value, struct config *cfg)
{
	return get_duration(ctx, key, value, "idle_timeout", 1, UINT64_MAX,
			    "is out of range (must be greater than 0)", &cfg->idle_timeout_ns);
}

static int parse_poll_interval(struct parse_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *value, struct config *cfg)
{
	return get_duration(ctx, key, value, "poll_interval", NS_PER_MS, 10 * NS_PER_SEC,
			    "is out of range (1ms-10s)", &cfg->poll_interval_ns);
}

static int parse_map_size(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			  const char *path, uint32_t *out)
{
	unsigned long long v;
	int ret;

	ret = get_uint(ctx, key, value, path, 16, 16777216, "is out of range (16-16777216)", &v);
	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

static int parse_max_connections(struct parse_ctx *ctx, const yaml_node_t *key,
				 const yaml_node_t *value, struct config *cfg)
{
	return parse_map_size(ctx, key, value, "max_connections", &cfg->max_connections);
}

static int parse_max_udp_flows(struct parse_ctx *ctx, const yaml_node_t *key,
			       const yaml_node_t *value, struct config *cfg)
{
	return parse_map_size(ctx, key, value, "max_udp_flows", &cfg->max_udp_flows);
}

static int parse_ring_buffer_size(struct parse_ctx *ctx, const yaml_node_t *key,
				  const yaml_node_t *value, struct config *cfg)
{
	static const char range[] = "is not a power of two between 4096 and 1073741824";
	unsigned long long v;
	char buf[SHOW_MAX];
	int ret;

	ret = get_uint(ctx, key, value, "ring_buffer_size", 4096, 1073741824, range, &v);
	if (ret)
		return ret;
	if (v & (v - 1))
		return cfg_error(ctx, value_line(key, value), "ring_buffer_size", "%s %s",
				 show(value, false, buf, sizeof(buf)), range);
	cfg->ringbuf_bytes = (uint32_t)v;
	return 0;
}

static int parse_adapters(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			  struct config *cfg)
{
	yaml_node_item_t *item;
	size_t n = 0;
	int ret;

	ret = expect_type(ctx, key, value, "adapters", YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
	if (n > CONFIG_MAX_ADAPTERS)
		return cfg_error(ctx, node_line(key), "adapters",
				 "%zu entries, at most %d are supported", n, CONFIG_MAX_ADAPTERS);
	n = 0;
	for (item = value->data.sequence.items.start; item < value->data.sequence.items.top;
	     item++, n++) {
		yaml_node_t *node = get_node(ctx, *item);

		if (!node)
			return cfg_error(ctx, node_line(value), "adapters", "malformed list");
		ret = parse_adapter(ctx, node, n, &cfg->adapters[n]);
		if (ret)
			return ret;
	}
	cfg->n_adapters = n;
	return 0;
}

typedef int (*top_parse_fn)(struct parse_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			    struct config *cfg);

/* The order is also that of the "known:" list in messages. */
enum top_key {
	TOP_LOG_LEVEL,
	TOP_SCOPE,
	TOP_IDLE_TIMEOUT,
	TOP_MAX_CONNECTIONS,
	TOP_MAX_UDP_FLOWS,
	TOP_RING_BUFFER_SIZE,
	TOP_POLL_INTERVAL,
	TOP_ADAPTERS,
	TOP_ATTRIBUTES,
	TOP_NETWORKS,
	TOP_DNS,
	TOP_PROCESSES,
	TOP_COUNT,
};

/* One key per line reads better than the table clang-format would pack. */
/* clang-format off */
static const char *const top_keys[TOP_COUNT] = {
	[TOP_LOG_LEVEL] = "log_level",
	[TOP_SCOPE] = "scope",
	[TOP_IDLE_TIMEOUT] = "idle_timeout",
	[TOP_MAX_CONNECTIONS] = "max_connections",
	[TOP_MAX_UDP_FLOWS] = "max_udp_flows",
	[TOP_RING_BUFFER_SIZE] = "ring_buffer_size",
	[TOP_POLL_INTERVAL] = "poll_interval",
	[TOP_ADAPTERS] = "adapters",
	[TOP_ATTRIBUTES] = "attributes",
	[TOP_NETWORKS] = "networks",
	[TOP_DNS] = "dns",
	[TOP_PROCESSES] = "processes",
};

static const top_parse_fn top_parsers[TOP_COUNT] = {
	[TOP_LOG_LEVEL] = parse_log_level,
	[TOP_SCOPE] = parse_scope,
	[TOP_IDLE_TIMEOUT] = parse_idle_timeout,
	[TOP_MAX_CONNECTIONS] = parse_max_connections,
	[TOP_MAX_UDP_FLOWS] = parse_max_udp_flows,
	[TOP_RING_BUFFER_SIZE] = parse_ring_buffer_size,
	[TOP_POLL_INTERVAL] = parse_poll_interval,
	[TOP_ADAPTERS] = parse_adapters,
	[TOP_ATTRIBUTES] = parse_attributes,
	[TOP_NETWORKS] = parse_networks,
	[TOP_DNS] = parse_dns,
	[TOP_PROCESSES] = parse_processes,
};
/* clang-format on */

static int parse_root(struct parse_ctx *ctx, struct config *cfg)
{
	struct map_entry found[COUNT_OF(top_keys)];
	yaml_node_t *root = yaml_document_get_root_node(ctx->doc);
	yaml_node_pair_t *pair;
	int ret;

	/* an empty file, only comments, or "---" alone: all defaults */
	if (!root || (root->type == YAML_SCALAR_NODE && scalar_kind(root) == SCALAR_NULL))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return cfg_error(ctx, node_line(root), NULL,
				 "expected a mapping at the top level, got %s", describe(root));
	ret = check_tag(ctx, NULL, root, NULL);
	if (ret)
		return ret;
	ret = map_collect(ctx, root, NULL, top_keys, COUNT_OF(top_keys), found);
	if (ret)
		return ret;
	/* keys were all checked above; values go in document order, top error first */
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = get_node(ctx, pair->key);
		int k = key_index(key, top_keys, COUNT_OF(top_keys));

		if (k < 0) /* cannot happen: map_collect() checked every key */
			return -EINVAL;
		ret = top_parsers[k](ctx, key, get_node(ctx, pair->value), cfg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ==== Entry points ==== */

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The contract is one line: a file name or a libyaml text must not break it. */
static void error_one_line(char *err, size_t errlen)
{
	size_t i;

	if (!err || !errlen)
		return;
	for (i = 0; err[i]; i++) {
		if (err[i] == '\n' || err[i] == '\r')
			err[i] = ' ';
	}
}

static int syntax_error(const yaml_parser_t *parser, const char *text, size_t len, const char *name,
			char *err, size_t errlen)
{
	const char *problem = parser->problem ? parser->problem : "unknown error";
	size_t line = parser->problem_mark.line + 1;
	size_t i;

	if (parser->error == YAML_MEMORY_ERROR) {
		set_error(err, errlen, "%s: out of memory while parsing", name);
		return -ENOMEM;
	}
	if (parser->error == YAML_READER_ERROR) {
		/* the reader reports a byte offset, not a mark */
		line = 1;
		for (i = 0; i < parser->problem_offset && i < len; i++)
			line += text[i] == '\n';
		if (parser->problem_value != -1)
			set_error(err, errlen, "%s:%zu: YAML syntax error: %s (#x%X)", name, line,
				  problem, (unsigned)parser->problem_value);
		else
			set_error(err, errlen, "%s:%zu: YAML syntax error: %s", name, line,
				  problem);
		return -EINVAL;
	}
	if (parser->context)
		set_error(err, errlen, "%s:%zu: YAML syntax error: %s %s", name, line, problem,
			  parser->context);
	else
		set_error(err, errlen, "%s:%zu: YAML syntax error: %s", name, line, problem);
	return -EINVAL;
}

int config_parse(const char *text, size_t len, const char *name, struct config *cfg, char *err,
		 size_t errlen)
{
	struct parse_ctx ctx = { .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	struct config *tmp; /* ~190 KB with the select and network tables: not on the stack */
	yaml_node_t *extra;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ctx.name = name ? name : "config";
	if (!cfg || (!text && len)) {
		set_error(err, errlen, "%s: no configuration given", ctx.name);
		return -EINVAL;
	}
	if (!text)
		text = "";
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		set_error(err, errlen, "%s: out of memory while parsing", ctx.name);
		return -ENOMEM;
	}
	config_set_defaults(tmp);

	if (!yaml_parser_initialize(&parser)) {
		free(tmp);
		set_error(err, errlen, "%s: out of memory while parsing", ctx.name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* yaml_parser_load() has already freed the partial document */
		ret = syntax_error(&parser, text, len, ctx.name, err, errlen);
		goto out_parser;
	}
	ctx.doc = &doc;
	ret = parse_root(&ctx, tmp);
	yaml_document_delete(&doc);
	if (ret)
		goto out_parser;

	/* a second document would be silently ignored: refuse it */
	if (!yaml_parser_load(&parser, &doc)) {
		ret = syntax_error(&parser, text, len, ctx.name, err, errlen);
		goto out_parser;
	}
	extra = yaml_document_get_root_node(&doc);
	if (extra)
		ret = cfg_error(&ctx, node_line(extra), NULL,
				"expected one YAML document, found a second one");
	yaml_document_delete(&doc);

out_parser:
	yaml_parser_delete(&parser);
	error_one_line(err, errlen);
	if (!ret)
		*cfg = *tmp;
	free(tmp);
	return ret;
}

int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, ret;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !cfg) {
		set_error(err, errlen, "config: no file given");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		set_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		goto out;
	}
	/* one byte more than allowed tells "too large" from "exactly the limit" */
	buf = malloc(CONFIG_MAX_FILE_BYTES + 1);
	if (!buf) {
		ret = -ENOMEM;
		set_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		goto out;
	}
	while (len < CONFIG_MAX_FILE_BYTES + 1) {
		ssize_t r = read(fd, buf + len, CONFIG_MAX_FILE_BYTES + 1 - len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			set_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONFIG_MAX_FILE_BYTES) {
		ret = -EFBIG;
		if (!fstat(fd, &st) && S_ISREG(st.st_mode))
			set_error(err, errlen,
				  "%s: file is too large (%lld bytes, the limit is %d)", path,
				  (long long)st.st_size, CONFIG_MAX_FILE_BYTES);
		else
			set_error(err, errlen, "%s: file is too large (more than %d bytes)", path,
				  CONFIG_MAX_FILE_BYTES);
		goto out;
	}
	ret = config_parse(buf, len, path, cfg, err, errlen);
out:
	error_one_line(err, errlen);
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}
