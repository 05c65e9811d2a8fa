// SPDX-License-Identifier: MIT
/*
 * The strict YAML reader under the config tables (see reader.h): libyaml's
 * document API, which keeps the line of every node, and one error format.
 *
 * libyaml does not resolve plain scalars, so null, booleans and numbers are
 * told apart here, the YAML 1.1 way, and a getter refuses the wrong one by
 * name ("expected an integer, got a boolean (yes)"). Nothing here follows an
 * alias on its own: callers walk their tables, never the document, so even
 * a cyclic alias cannot make a parse recurse or loop.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/reader.h"
#include "util/redact.h"

/* ==== Scalars: durations and integers ==== */

static const struct duration_unit {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", CONFIG_NS_PER_US },
	{ "ms", CONFIG_NS_PER_MS },
	{ "s", CONFIG_NS_PER_SEC },
	{ "m", 60 * CONFIG_NS_PER_SEC },
	{ "h", 3600 * CONFIG_NS_PER_SEC },
};

int config_duration_parse(const char *s, uint64_t *out_ns)
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
	for (i = 0; i < CONFIG_COUNT_OF(duration_units); i++) {
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

	if (!out_ns || config_duration_parse(s, &ns))
		return -EINVAL;
	*out_ns = ns;
	return 0;
}

/*
 * Plain decimal only: no sign, no leading zero (YAML 1.1 reads 010 as octal),
 * no hex, exponent, fraction or trailing text.
 */
enum config_uint_result config_uint_parse(const char *s, unsigned long long *out)
{
	const char *digits = s[0] == '-' ? s + 1 : s;
	unsigned long long v;
	char *end;
	size_t i;

	if (!digits[0])
		return CONFIG_UINT_BAD;
	for (i = 0; digits[i]; i++) {
		if (!isdigit((unsigned char)digits[i]))
			return CONFIG_UINT_BAD;
	}
	if (digits[0] == '0' && digits[1])
		return CONFIG_UINT_BAD;
	if (digits != s)
		return CONFIG_UINT_RANGE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return CONFIG_UINT_RANGE;
	if (*end)
		return CONFIG_UINT_BAD;
	*out = v;
	return CONFIG_UINT_OK;
}

/* ==== Node helpers ==== */

int config_error(struct config_ctx *ctx, size_t line, const char *path, const char *fmt, ...)
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

size_t config_node_line(const yaml_node_t *node)
{
	return node->start_mark.line + 1;
}

const char *config_scalar(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static bool config_scalar_is_plain(const yaml_node_t *node)
{
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool config_scalar_has_nul(const yaml_node_t *node)
{
	return strlen(config_scalar(node)) != node->data.scalar.length;
}

/*
 * The line to blame for a value: its own, unless it has no text to point at
 * (an empty value) or is a collection (a block one is marked at its first
 * entry, a line below the key): then the key's line.
 */
size_t config_value_line(const yaml_node_t *key, const yaml_node_t *value)
{
	if (!key)
		return config_node_line(value);
	if (value->type == YAML_SCALAR_NODE &&
	    !(config_scalar_is_plain(value) && value->data.scalar.length == 0))
		return config_node_line(value);
	return config_node_line(key);
}

/* Room for config_show()'s output. */
#define CONFIG_SHOW_MAX 80

/*
 * A scalar for a message: quoted and escaped when `quote`, cut after about 48
 * characters so that one huge value does not swallow the message.
 */
const char *config_show(const yaml_node_t *node, bool quote, char *buf, size_t size)
{
	const unsigned char *s = node->data.scalar.value;
	size_t len = node->data.scalar.length;
	size_t o = 0, i;
	char safe[CONFIG_SHOW_MAX];

	/* a URL's password is not echoed (util/redact.h) */
	if (strstr((const char *)s, "://") && memchr(s, '@', len)) {
		redact_url((const char *)s, safe, sizeof(safe));
		s = (const unsigned char *)safe;
		len = strlen(safe);
	}

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

	if (str_in(s, special, CONFIG_COUNT_OF(special)))
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
enum config_scalar_kind config_scalar_kind(const yaml_node_t *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE",
					     "yes",  "Yes",  "YES",  "no",    "No",    "NO",
					     "on",   "On",   "ON",   "off",   "Off",   "OFF" };
	const char *tag = (const char *)node->tag;
	const char *s = config_scalar(node);

	if (tag && strcmp(tag, YAML_STR_TAG)) {
		if (!strcmp(tag, YAML_NULL_TAG))
			return CONFIG_SCALAR_NULL;
		if (!strcmp(tag, YAML_BOOL_TAG))
			return CONFIG_SCALAR_BOOL;
		if (!strcmp(tag, YAML_INT_TAG))
			return CONFIG_SCALAR_INT;
		if (!strcmp(tag, YAML_FLOAT_TAG))
			return CONFIG_SCALAR_FLOAT;
		return CONFIG_SCALAR_UNKNOWN_TAG;
	}
	if (!config_scalar_is_plain(node))
		return CONFIG_SCALAR_STRING;
	if (str_in(s, nulls, CONFIG_COUNT_OF(nulls)))
		return CONFIG_SCALAR_NULL;
	if (str_in(s, bools, CONFIG_COUNT_OF(bools)))
		return CONFIG_SCALAR_BOOL;
	if (looks_like_int(s))
		return CONFIG_SCALAR_INT;
	if (looks_like_float(s))
		return CONFIG_SCALAR_FLOAT;
	return CONFIG_SCALAR_STRING;
}

const char *config_describe(const yaml_node_t *node)
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
	switch (config_scalar_kind(node)) {
	case CONFIG_SCALAR_NULL:
		return "null";
	case CONFIG_SCALAR_BOOL:
		return "a boolean";
	case CONFIG_SCALAR_INT:
		return "an integer";
	case CONFIG_SCALAR_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}

/* Collections may carry only their default tag; scalars only the core ones. */
static int config_check_tag(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *node,
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
	if (want ? !strcmp(tag, want) : config_scalar_kind(node) != CONFIG_SCALAR_UNKNOWN_TAG)
		return 0;
	/* "tag:yaml.org,2002:set" is written "!!set" in the file */
	if (!strncmp(tag, "tag:yaml.org,2002:", 18))
		return config_error(ctx, config_value_line(key, node), path,
				    "unsupported YAML tag \"!!%.64s\"", tag + 18);
	return config_error(ctx, config_value_line(key, node), path,
			    "unsupported YAML tag \"%.64s\"", tag);
}

yaml_node_t *config_node(struct config_ctx *ctx, int index)
{
	return yaml_document_get_node(ctx->doc, index);
}

/*
 * A scalar that should be `want` ("a string", "an integer"): a tag, a
 * collection, null or a boolean is refused by name.
 */
static int expect_scalar(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			 const char *path, const char *want)
{
	char buf[CONFIG_SHOW_MAX];
	size_t line = config_value_line(key, value);
	int ret;

	ret = config_check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type != YAML_SCALAR_NODE)
		return config_error(ctx, line, path, "expected %s, got %s", want,
				    config_describe(value));
	switch (config_scalar_kind(value)) {
	case CONFIG_SCALAR_NULL:
		return config_error(ctx, line, path, "expected %s, got null", want);
	case CONFIG_SCALAR_BOOL:
		return config_error(ctx, line, path, "expected %s, got a boolean (%s)", want,
				    config_show(value, false, buf, sizeof(buf)));
	default:
		return 0;
	}
}

/* A string value; null, booleans and collections are refused by name. */
int config_get_string(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		      const char *path, const char **out)
{
	char buf[CONFIG_SHOW_MAX];
	size_t line = config_value_line(key, value);
	int ret;

	ret = expect_scalar(ctx, key, value, path, "a string");
	if (ret)
		return ret;
	if (config_scalar_has_nul(value))
		return config_error(ctx, line, path, "%s contains a NUL byte",
				    config_show(value, true, buf, sizeof(buf)));
	*out = config_scalar(value);
	return 0;
}

/*
 * A plain decimal integer in [min, max]. `range` completes "VALUE ..." when it
 * is outside, e.g. "is not a port (1-65535)".
 *
 * A quoted number ("8080") is taken as the number: users (and the seed's own
 * example) quote ports, and nothing is gained by refusing them. The quotes
 * change nothing else: "70000" is out of range and "abc" is not a decimal
 * integer exactly as their bare spellings are.
 */
int config_get_uint(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    const char *path, unsigned long long min, unsigned long long max,
		    const char *range, unsigned long long *out)
{
	char buf[CONFIG_SHOW_MAX];
	size_t line = config_value_line(key, value);
	unsigned long long v = 0;
	int ret;

	ret = expect_scalar(ctx, key, value, path, "an integer");
	if (ret)
		return ret;
	switch (config_scalar_has_nul(value) ? CONFIG_UINT_BAD :
					       config_uint_parse(config_scalar(value), &v)) {
	case CONFIG_UINT_OK:
		if (v >= min && v <= max)
			break;
		/* fall through */
	case CONFIG_UINT_RANGE:
		return config_error(ctx, line, path, "%s %s",
				    config_show(value, false, buf, sizeof(buf)), range);
	case CONFIG_UINT_BAD:
		return config_error(ctx, line, path, "%s is not a decimal integer",
				    config_show(value, true, buf, sizeof(buf)));
	}
	*out = v;
	return 0;
}

/* A duration in [min_ns, max_ns]; `range` as for config_get_uint(). */
int config_get_duration(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			const char *path, uint64_t min_ns, uint64_t max_ns, const char *range,
			uint64_t *out)
{
	char buf[CONFIG_SHOW_MAX];
	size_t line = config_value_line(key, value);
	const char *s = NULL;
	uint64_t ns;
	int ret;

	ret = config_get_string(ctx, key, value, path, &s);
	if (ret)
		return ret;
	ret = config_duration_parse(s, &ns);
	if (ret == -ERANGE)
		return config_error(ctx, line, path, "%s is too large for a duration",
				    config_show(value, true, buf, sizeof(buf)));
	if (ret)
		return config_error(ctx, line, path,
				    "%s is not a duration (write e.g. 30s, 5m, 500ms)",
				    config_show(value, true, buf, sizeof(buf)));
	if (ns < min_ns || ns > max_ns)
		return config_error(ctx, line, path, "%s %s",
				    config_show(value, false, buf, sizeof(buf)), range);
	*out = ns;
	return 0;
}

int config_expect_type(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		       const char *path, yaml_node_type_t type)
{
	int ret;

	ret = config_check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type == type)
		return 0;
	if (type == YAML_SEQUENCE_NODE && value->type == YAML_SCALAR_NODE &&
	    config_scalar_kind(value) == CONFIG_SCALAR_NULL)
		return config_error(ctx, config_value_line(key, value), path,
				    "expected a list, got null (write [] for an empty list)");
	return config_error(ctx, config_value_line(key, value), path, "expected %s, got %s",
			    type == YAML_MAPPING_NODE ? "a mapping" : "a list",
			    config_describe(value));
}

/* ==== Mappings: known keys, no duplicates ==== */

int config_key_index(const yaml_node_t *key, const char *const *keys, size_t n)
{
	size_t i;

	if (config_scalar_has_nul(key))
		return -1;
	for (i = 0; i < n; i++) {
		if (!strcmp(config_scalar(key), keys[i]))
			return (int)i;
	}
	return -1;
}

/*
 * Check every key of `map` (a mapping node) against `keys`; fill found[i] with
 * the pair for keys[i]. Stops at the first unknown key, so the duplicate scan
 * stays bounded by the number of known keys.
 */
int config_map_collect(struct config_ctx *ctx, const yaml_node_t *map, const char *path,
		       const char *const *keys, size_t n, struct config_entry *found)
{
	yaml_node_pair_t *pair;
	char known[256], buf[CONFIG_SHOW_MAX];
	size_t i, o = 0;

	memset(found, 0, n * sizeof(*found));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = config_node(ctx, pair->key);
		yaml_node_t *value = config_node(ctx, pair->value);
		int k;

		if (!key || !value)
			return config_error(ctx, config_node_line(map), path, "malformed mapping");
		if (key->type != YAML_SCALAR_NODE)
			return config_error(ctx, config_node_line(key), path,
					    "a key must be a string, got %s", config_describe(key));
		k = config_key_index(key, keys, n);
		if (k < 0) {
			for (i = 0; i < n && o < sizeof(known); i++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      i ? ", " : "", keys[i]);
			return config_error(ctx, config_node_line(key), path,
					    "unknown key %s (known: %s)",
					    config_show(key, true, buf, sizeof(buf)), known);
		}
		if (found[k].key)
			return config_error(ctx, config_node_line(key), path,
					    "duplicate key \"%s\" (first on line %zu)", keys[k],
					    config_node_line(found[k].key));
		found[k].key = key;
		found[k].value = value;
	}
	return 0;
}

/* A YAML 1.1 boolean (true/false, yes/no, on/off in three spellings). */
int config_get_bool(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    const char *path, int *out)
{
	static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes",
					     "YES",  "on",   "On",   "ON" };
	char buf[CONFIG_SHOW_MAX];
	int ret;

	ret = config_check_tag(ctx, key, value, path);
	if (ret)
		return ret;
	if (value->type != YAML_SCALAR_NODE)
		return config_error(ctx, config_value_line(key, value), path,
				    "expected true or false, got %s", config_describe(value));
	if (config_scalar_kind(value) != CONFIG_SCALAR_BOOL)
		return config_error(ctx, config_value_line(key, value), path,
				    "expected true or false, got %s (%s)", config_describe(value),
				    config_show(value, true, buf, sizeof(buf)));
	*out = str_in(config_scalar(value), trues, CONFIG_COUNT_OF(trues));
	return 0;
}

int config_get_string_list(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *list,
			   const char *path, const struct config_string_list *spec, char *out,
			   size_t stride, size_t max, size_t *n_out)
{
	char sub[320], buf[CONFIG_SHOW_MAX];
	yaml_node_item_t *item;
	const char *why;
	size_t n, i = 0, j;
	int ret;

	ret = config_expect_type(ctx, key, list, path, YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	if (!n && spec->empty)
		return config_error(ctx, config_node_line(key), path, "%s", spec->empty);
	if (n > max)
		return config_error(ctx, config_node_line(key), path,
				    "%zu %s, at most %zu are supported", n, spec->plural, max);
	for (item = list->data.sequence.items.start; item < list->data.sequence.items.top;
	     item++, i++) {
		yaml_node_t *node = config_node(ctx, *item);
		const char *s = NULL;

		if (!node)
			return config_error(ctx, config_node_line(list), path, "malformed list");
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		ret = config_get_string(ctx, NULL, node, sub, &s);
		if (ret)
			return ret;
		if (strlen(s) >= stride)
			return config_error(ctx, config_node_line(node), sub,
					    "%s is longer than %zu characters",
					    config_show(node, true, buf, sizeof(buf)), stride - 1);
		why = spec->check ? spec->check(s) : NULL;
		if (why)
			return config_error(ctx, config_node_line(node), sub, "%s %s",
					    config_show(node, true, buf, sizeof(buf)), why);
		for (j = 0; spec->singular && j < i; j++) {
			if (!strcmp(out + j * stride, s))
				return config_error(ctx, config_node_line(node), sub,
						    "duplicate %s %s", spec->singular,
						    config_show(node, true, buf, sizeof(buf)));
		}
		snprintf(out + i * stride, stride, "%s", s);
	}
	*n_out = n;
	return 0;
}

void config_duration_format(uint64_t ns, char *buf, size_t size)
{
	size_t i = CONFIG_COUNT_OF(duration_units);

	/* the largest unit that divides ns; "ns" divides everything */
	while (--i > 0 && (!ns || ns % duration_units[i].ns))
		;
	snprintf(buf, size, "%llu%s", (unsigned long long)(ns / duration_units[i].ns),
		 duration_units[i].name);
}

/* ==== Documents and files ==== */

void config_set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void config_error_one_line(char *err, size_t errlen)
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
		config_set_error(err, errlen, "%s: out of memory while parsing", name);
		return -ENOMEM;
	}
	if (parser->error == YAML_READER_ERROR) {
		/* the reader reports a byte offset, not a mark */
		line = 1;
		for (i = 0; i < parser->problem_offset && i < len; i++)
			line += text[i] == '\n';
		if (parser->problem_value != -1)
			config_set_error(err, errlen, "%s:%zu: YAML syntax error: %s (#x%X)", name,
					 line, problem, (unsigned)parser->problem_value);
		else
			config_set_error(err, errlen, "%s:%zu: YAML syntax error: %s", name, line,
					 problem);
		return -EINVAL;
	}
	if (parser->context)
		config_set_error(err, errlen, "%s:%zu: YAML syntax error: %s %s", name, line,
				 problem, parser->context);
	else
		config_set_error(err, errlen, "%s:%zu: YAML syntax error: %s", name, line, problem);
	return -EINVAL;
}

/*
 * libyaml's document loader (and its scanner's simple-key scan) take time
 * quadratic in the nesting depth: 50,000 nested flow sequences took 9.8 s.
 * A first pass over the events stops at the first collection deeper than
 * CONFIG_MAX_DEPTH, so such a document costs a few dozen events. A syntax
 * error ends this pass quietly: the load that follows reports it.
 */
static int check_depth(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser)) {
		config_set_error(err, errlen, "%s: out of memory while parsing", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && yaml_parser_parse(&parser, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CONFIG_MAX_DEPTH) {
				config_set_error(err, errlen,
						 "%s:%zu: YAML nested deeper than %d levels", name,
						 ev.start_mark.line + 1, CONFIG_MAX_DEPTH);
				ret = -EINVAL;
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

int config_read_document(const char *text, size_t len, const char *name,
			 int (*walk)(struct config_ctx *ctx, yaml_node_t *root, void *arg),
			 void *arg, char *err, size_t errlen)
{
	struct config_ctx ctx = { .name = name, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *extra;
	int ret;

	ret = check_depth(text, len, name, err, errlen);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&parser)) {
		config_set_error(err, errlen, "%s: out of memory while parsing", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* yaml_parser_load() has already freed the partial document */
		ret = syntax_error(&parser, text, len, name, err, errlen);
		goto out_parser;
	}
	ctx.doc = &doc;
	ret = walk(&ctx, yaml_document_get_root_node(&doc), arg);
	yaml_document_delete(&doc);
	if (ret)
		goto out_parser;

	/* a second document would be silently ignored: refuse it */
	if (!yaml_parser_load(&parser, &doc)) {
		ret = syntax_error(&parser, text, len, name, err, errlen);
		goto out_parser;
	}
	extra = yaml_document_get_root_node(&doc);
	if (extra)
		ret = config_error(&ctx, config_node_line(extra), NULL,
				   "expected one YAML document, found a second one");
	yaml_document_delete(&doc);

out_parser:
	yaml_parser_delete(&parser);
	return ret;
}

int config_read_file(const char *path, size_t max, char **out, size_t *out_len, char *err,
		     size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, ret = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		config_set_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		goto out;
	}
	/*
	 * A config is a file: a FIFO or a device (/dev/null, /dev/zero) would
	 * read as nothing, the defaults, or never end; a directory says so.
	 */
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		config_set_error(err, errlen, "%s: cannot read: %s", path,
				 S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
		goto out;
	}
	/* one byte more than allowed tells "too large" from "exactly the limit" */
	buf = malloc(max + 1);
	if (!buf) {
		ret = -ENOMEM;
		config_set_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
		goto out;
	}
	while (len < max + 1) {
		ssize_t r = read(fd, buf + len, max + 1 - len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			config_set_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		ret = -EFBIG;
		/* the size it has now: it may have grown since the open */
		if (!fstat(fd, &st))
			config_set_error(err, errlen,
					 "%s: file is too large (%lld bytes, the limit is %zu)",
					 path, (long long)st.st_size, max);
		else
			config_set_error(err, errlen, "%s: file is too large (more than %zu bytes)",
					 path, max);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*out_len = len;
	return 0;
}
