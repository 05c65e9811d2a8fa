// SPDX-License-Identifier: MIT
/*
 * Configuration: the YAML file the README documents, as tables of rows
 * (config/schema.h) read by the strict reader (config/reader.h).
 *
 * Every key is one row below, or in its adapter's own file under
 * src/exporters/ (*_settings.c): name, type, bounds, default, target and a
 * line of description. config_set_defaults() applies the rows' defaults and
 * config_default_text() writes them out as the embedded default YAML, so a
 * default is written once. Every mistake is one line "NAME:LINE: KEY.PATH:
 * what is wrong" and stops the parse; nothing half-parsed reaches the caller:
 * the result is built in a local copy and copied out only on success.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

/* ==== Top level: log_level, scope, ring_buffer_size ==== */

static int parse_log_level(struct config_ctx *ctx, const struct config_row *row,
			   const struct config_entry *e, const char *path, void *base)
{
	struct config *cfg = base;
	char buf[CONFIG_SHOW_MAX];
	const char *s = NULL;
	int ret;

	/* log_level_parse() also takes "warning" */
	ret = config_get_string(ctx, e->key, e->value, path, &s);
	if (ret)
		return ret;
	if (log_level_parse(s, &cfg->log_level))
		return config_error(ctx, config_value_line(e->key, e->value), path,
				    "%s is not a log level (error, warn, info, debug)",
				    config_show(e->value, true, buf, sizeof(buf)));
	return 0;
}

static int parse_scope(struct config_ctx *ctx, const struct config_row *row,
		       const struct config_entry *e, const char *path, void *base)
{
	size_t line = config_value_line(e->key, e->value);
	struct config *cfg = base;
	char buf[CONFIG_SHOW_MAX];
	const char *s = NULL;
	int ret;

	ret = config_get_string(ctx, e->key, e->value, path, &s);
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
			return config_error(ctx, line, path, "%s is longer than %zu characters",
					    config_show(e->value, true, buf, sizeof(buf)),
					    sizeof(cfg->scope_path) - 1);
		cfg->scope = SCOPE_PATH;
		snprintf(cfg->scope_path, sizeof(cfg->scope_path), "%s", s);
	} else {
		return config_error(
			ctx, line, path,
			"%s is not a scope (host, netns, or a path such as /var/run/netns/NAME)",
			config_show(e->value, true, buf, sizeof(buf)));
	}
	return 0;
}

static int parse_ring_buffer_size(struct config_ctx *ctx, const struct config_row *row,
				  const struct config_entry *e, const char *path, void *base)
{
	struct config *cfg = base;
	char buf[CONFIG_SHOW_MAX];
	int ret;

	ret = config_row_parse_typed(ctx, row, e, path, base);
	if (ret)
		return ret;
	if (cfg->ringbuf_bytes & (cfg->ringbuf_bytes - 1))
		return config_error(ctx, config_value_line(e->key, e->value), path, "%s %s",
				    config_show(e->value, false, buf, sizeof(buf)), row->range);
	return 0;
}

/* ==== Adapters ==== */

/* Only the fields of the adapter's own type are set; the others stay zero. */
static void adapter_set_defaults(struct adapter_config *ad, const struct config_adapter_kind *kind)
{
	memset(ad, 0, sizeof(*ad));
	ad->type = kind->type;
	config_section_defaults(kind->settings, ad);
}

int config_adapter_defaults(struct adapter_config *ad, enum adapter_type type)
{
	const struct config_adapter_kind *kind = config_adapter_kind_of(type);

	if (!kind)
		return -EINVAL;
	adapter_set_defaults(ad, kind);
	return 0;
}

/* "prometheus, datadog, otlp" */
static const char *supported_adapters(char *buf, size_t size)
{
	const struct config_adapter_kind *k;
	size_t o = 0;

	buf[0] = '\0';
	for (k = config_adapter_kinds; k->name && o < size; k++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", k->name);
	return buf;
}

static int parse_adapter(struct config_ctx *ctx, const yaml_node_t *item, size_t idx,
			 struct adapter_config *ad)
{
	static const char *const keys[] = { "type", "settings" };
	struct config_entry found[CONFIG_COUNT_OF(keys)];
	const struct config_adapter_kind *kind;
	char path[32], sub[64], buf[CONFIG_SHOW_MAX], kinds[96];
	const char *type = NULL;
	int ret;

	snprintf(path, sizeof(path), "adapters[%zu]", idx);
	ret = config_expect_type(ctx, NULL, item, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = config_map_collect(ctx, item, path, keys, CONFIG_COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (!found[0].key)
		return config_error(ctx, config_node_line(item), path,
				    "missing key \"type\" (supported: %s)",
				    supported_adapters(kinds, sizeof(kinds)));

	snprintf(sub, sizeof(sub), "%s.type", path);
	ret = config_get_string(ctx, found[0].key, found[0].value, sub, &type);
	if (ret)
		return ret;
	kind = config_adapter_kind_find(type);
	if (!kind)
		return config_error(ctx, config_value_line(found[0].key, found[0].value), sub,
				    "unknown adapter type %s (supported: %s)",
				    config_show(found[0].value, true, buf, sizeof(buf)),
				    supported_adapters(kinds, sizeof(kinds)));
	adapter_set_defaults(ad, kind);
	if (!found[1].key)
		return 0;
	snprintf(sub, sizeof(sub), "%s.settings", path);
	return config_section_parse(ctx, kind->settings, found[1].key, found[1].value, sub, ad);
}

static int parse_adapters(struct config_ctx *ctx, const struct config_row *row,
			  const struct config_entry *e, const char *path, void *base)
{
	struct config *cfg = base;
	yaml_node_item_t *item;
	size_t n = 0;
	int ret;

	ret = config_expect_type(ctx, e->key, e->value, path, YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(e->value->data.sequence.items.top - e->value->data.sequence.items.start);
	if (n > CONFIG_MAX_ADAPTERS)
		return config_error(ctx, config_node_line(e->key), path,
				    "%zu entries, at most %d are supported", n,
				    CONFIG_MAX_ADAPTERS);
	n = 0;
	for (item = e->value->data.sequence.items.start; item < e->value->data.sequence.items.top;
	     item++, n++) {
		yaml_node_t *node = config_node(ctx, *item);

		if (!node)
			return config_error(ctx, config_node_line(e->value), path,
					    "malformed list");
		ret = parse_adapter(ctx, node, n, &cfg->adapters[n]);
		if (ret)
			return ret;
	}
	cfg->n_adapters = n;
	return 0;
}

/* The default list: one adapter of the type the row names. */
static void adapters_default(const struct config_row *row, void *base)
{
	struct config *cfg = base;

	cfg->n_adapters = 1;
	adapter_set_defaults(&cfg->adapters[0], config_adapter_kind_find(row->def_str));
}

/* The default adapter with its settings, then the other types as comments. */
static void adapters_emit(struct config_out *out, const struct config_row *row, int indent,
			  const char *prefix)
{
	const struct config_adapter_kind *k;

	config_out_printf(out, "%s%*s%s:\n", prefix, indent, "", row->key);
	config_out_printf(out, "%s%*s  - type: %s\n%s%*s    settings:\n", prefix, indent, "",
			  row->def_str, prefix, indent, "");
	config_section_emit(out, config_adapter_kind_find(row->def_str)->settings, indent + 6,
			    prefix);
	/* commented out whole, so that deleting the leading '#'s enables one */
	config_out_printf(out,
			  "%s%*s# Several adapters run at once, two of a type too. The others,\n"
			  "%s%*s# with their defaults (remove the leading '#' to enable one):\n",
			  prefix, indent + 2, "", prefix, indent + 2, "");
	for (k = config_adapter_kinds; k->name; k++) {
		if (!strcmp(k->name, row->def_str))
			continue;
		config_out_printf(out, "#%*s  - type: %s\n#%*s    settings:\n", indent, "", k->name,
				  indent, "");
		config_section_emit(out, k->settings, indent + 6, "#");
	}
}

/* ==== attributes.select ==== */

/* "*" or a label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static const char *attr_name_problem(const char *s)
{
	static const char why[] = "is not an attribute name (letters, digits and '_', "
				  "not starting with a digit; or \"*\")";
	size_t i;

	if (!strcmp(s, "*"))
		return NULL;
	if (!s[0] || isdigit((unsigned char)s[0]))
		return why;
	for (i = 0; s[i]; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return why;
	}
	return NULL;
}

static const struct config_string_list attr_list = {
	.plural = "attributes",
	.singular = "attribute",
	.empty = "empty list (name at least one attribute, or \"*\" for all)",
	.check = attr_name_problem,
};

/* attributes.select.PATTERN: {include: [...], exclude: [...]}, one or both. */
static int parse_select_entry(struct config_ctx *ctx, const yaml_node_t *k, const yaml_node_t *v,
			      const char *path, struct config_select *sel)
{
	static const char *const keys[] = { "include", "exclude" };
	struct config_entry found[CONFIG_COUNT_OF(keys)];
	char sub[224];
	int ret;

	ret = config_expect_type(ctx, k, v, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	ret = config_map_collect(ctx, v, path, keys, CONFIG_COUNT_OF(keys), found);
	if (ret)
		return ret;
	if (!found[0].key && !found[1].key)
		return config_error(ctx, config_node_line(k), path,
				    "expected \"include\", \"exclude\" or both");
	if (found[0].key) {
		snprintf(sub, sizeof(sub), "%s.include", path);
		ret = config_get_string_list(ctx, found[0].key, found[0].value, sub, &attr_list,
					     sel->include[0], sizeof(sel->include[0]),
					     CONFIG_MAX_ATTRS, &sel->n_include);
		if (ret)
			return ret;
		sel->has_include = 1;
	}
	if (found[1].key) {
		snprintf(sub, sizeof(sub), "%s.exclude", path);
		ret = config_get_string_list(ctx, found[1].key, found[1].value, sub, &attr_list,
					     sel->exclude[0], sizeof(sel->exclude[0]),
					     CONFIG_MAX_ATTRS, &sel->n_exclude);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_select(struct config_ctx *ctx, const struct config_row *row,
			const struct config_entry *e, const char *path, void *base)
{
	const yaml_node_t *patterns[CONFIG_MAX_SELECT];
	const yaml_node_t *map = e->value;
	char sub[192], buf[CONFIG_SHOW_MAX];
	struct config *cfg = base;
	yaml_node_pair_t *pair;
	size_t n, i = 0, j;
	int ret;

	ret = config_expect_type(ctx, e->key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > CONFIG_MAX_SELECT)
		return config_error(ctx, config_node_line(e->key), path,
				    "%zu patterns, at most %d are supported", n, CONFIG_MAX_SELECT);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++, i++) {
		yaml_node_t *k = config_node(ctx, pair->key);
		yaml_node_t *v = config_node(ctx, pair->value);
		struct config_select *sel = &cfg->select[i];
		const char *pattern = NULL;

		if (!k || !v)
			return config_error(ctx, config_node_line(map), path, "malformed mapping");
		ret = config_get_string(ctx, NULL, k, path, &pattern);
		if (ret)
			return ret;
		if (!pattern[0])
			return config_error(ctx, config_node_line(k), path,
					    "empty pattern (write e.g. \"gespann_flow_*\")");
		if (strlen(pattern) >= sizeof(sel->pattern))
			return config_error(ctx, config_node_line(k), path,
					    "pattern %s is longer than %zu characters",
					    config_show(k, true, buf, sizeof(buf)),
					    sizeof(sel->pattern) - 1);
		for (j = 0; j < i; j++) {
			if (!strcmp(config_scalar(patterns[j]), pattern))
				return config_error(ctx, config_node_line(k), path,
						    "duplicate pattern %s (first on line %zu)",
						    config_show(k, true, buf, sizeof(buf)),
						    config_node_line(patterns[j]));
		}
		patterns[i] = k;
		memset(sel, 0, sizeof(*sel));
		snprintf(sel->where, sizeof(sel->where), "%s:%zu", ctx->name, config_node_line(k));
		snprintf(sel->pattern, sizeof(sel->pattern), "%s", pattern);
		snprintf(sub, sizeof(sub), "%s.%s", path, pattern);
		ret = parse_select_entry(ctx, k, v, sub, sel);
		if (ret)
			return ret;
	}
	cfg->n_select = n;
	return 0;
}

/* ==== networks ==== */

/*
 * One entry while it is parsed: the network first (the rows' offsets are
 * into it), then what the cidr row needs to refuse a duplicate.
 */
struct network_entry {
	struct config_network net;
	const struct config_network *prev; /* the entries before this one */
	const size_t *prev_lines;	   /* the lines of their cidr values */
	size_t idx;
	size_t line;
};

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
		    config_uint_parse(slash + 1, &prefix) != CONFIG_UINT_OK)
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

static bool net_label_ok(const char *s)
{
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	}
	return true;
}

static const char *zone_problem(const char *s)
{
	return s[0] && net_label_ok(s) ? NULL :
					 "is not a zone name (letters, digits, '_', '-' and '.')";
}

/* The host's own zone: empty (none) or a zone name. */
static const char *host_zone_problem(const char *s)
{
	return s[0] ? zone_problem(s) : NULL;
}

static const char *class_problem(const char *s)
{
	return s[0] && net_label_ok(s) ? NULL :
					 "is not a class name (letters, digits, '_', '-' and '.')";
}

static int parse_cidr(struct config_ctx *ctx, const struct config_row *row,
		      const struct config_entry *e, const char *path, void *base)
{
	struct network_entry *ent = base;
	struct config_network *net = &ent->net;
	char buf[CONFIG_SHOW_MAX], text[INET6_ADDRSTRLEN];
	const char *s = NULL, *why;
	size_t j;
	int ret;

	ret = config_get_string(ctx, e->key, e->value, path, &s);
	if (ret)
		return ret;
	ent->line = config_value_line(e->key, e->value);
	why = cidr_parse(s, net);
	if (why)
		return config_error(ctx, ent->line, path, "%s %s",
				    config_show(e->value, true, buf, sizeof(buf)), why);
	for (j = 0; j < ent->idx; j++) {
		const struct config_network *o = &ent->prev[j];

		if (o->family != net->family || o->prefix != net->prefix ||
		    memcmp(o->addr, net->addr, sizeof(o->addr)))
			continue;
		inet_ntop(net->family, net->addr, text, sizeof(text));
		return config_error(ctx, ent->line, path,
				    "duplicate network %s/%u (first on line %zu)", text,
				    net->prefix, ent->prev_lines[j]);
	}
	return 0;
}

/* clang-format off */
static const struct config_row network_rows[] = {
	{ .key = "cidr", .type = CONFIG_STRING, .parse = parse_cidr,
	  .required = "(e.g. cidr: 10.0.0.0/8)",
	  .doc = "ADDRESS/PREFIX or an address, IPv4 or IPv6" },
	CONFIG_STRING_ROW("zone", struct config_network, zone, NULL,
			  "the zone of its addresses: dst_zone of peers, src_zone of local ones",
			  .check = zone_problem),
	CONFIG_STRING_ROW("class", struct config_network, class_name, NULL,
			  "their dst_class (none: the built-in one)", .check = class_problem),
};
/* clang-format on */

static const struct config_section network_section = CONFIG_SECTION_OF(network_rows);

static int parse_networks(struct config_ctx *ctx, const struct config_row *row,
			  const struct config_entry *e, const char *path, void *base)
{
	size_t lines[CONFIG_MAX_NETWORKS];
	struct config *cfg = base;
	yaml_node_item_t *item;
	size_t n, i = 0;
	int ret;

	ret = config_expect_type(ctx, e->key, e->value, path, YAML_SEQUENCE_NODE);
	if (ret)
		return ret;
	n = (size_t)(e->value->data.sequence.items.top - e->value->data.sequence.items.start);
	if (n > CONFIG_MAX_NETWORKS)
		return config_error(ctx, config_node_line(e->key), path,
				    "%zu entries, at most %d are supported", n,
				    CONFIG_MAX_NETWORKS);
	for (item = e->value->data.sequence.items.start; item < e->value->data.sequence.items.top;
	     item++, i++) {
		yaml_node_t *node = config_node(ctx, *item);
		struct network_entry ent = { .prev = cfg->networks, .prev_lines = lines, .idx = i };
		char sub[32];

		if (!node)
			return config_error(ctx, config_node_line(e->value), path,
					    "malformed list");
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		ret = config_section_parse(ctx, &network_section, NULL, node, sub, &ent);
		if (ret)
			return ret;
		cfg->networks[i] = ent.net;
		lines[i] = ent.line;
	}
	cfg->n_networks = n;
	return 0;
}

/* ==== dns ==== */

static int parse_getaddrinfo(struct config_ctx *ctx, const struct config_row *row,
			     const struct config_entry *e, const char *path, void *base)
{
	size_t line = config_value_line(e->key, e->value);
	struct config *cfg = base;
	char buf[CONFIG_SHOW_MAX];
	const char *s = NULL;
	int on, ret;

	/* a bare off (or false) is a YAML boolean: take it to mean "off" */
	if (e->value->type == YAML_SCALAR_NODE &&
	    config_scalar_kind(e->value) == CONFIG_SCALAR_BOOL) {
		ret = config_get_bool(ctx, e->key, e->value, path, &on);
		if (ret)
			return ret;
		snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "%s", on ? "auto" : "off");
		return 0;
	}
	ret = config_get_string(ctx, e->key, e->value, path, &s);
	if (ret)
		return ret;
	if (strcmp(s, "auto") && strcmp(s, "off") && s[0] != '/')
		return config_error(ctx, line, path,
				    "%s is not auto, off or an absolute path to libc "
				    "(e.g. /lib/x86_64-linux-gnu/libc.so.6)",
				    config_show(e->value, true, buf, sizeof(buf)));
	if (strlen(s) >= sizeof(cfg->getaddrinfo))
		return config_error(ctx, line, path, "%s is longer than %zu characters",
				    config_show(e->value, true, buf, sizeof(buf)),
				    sizeof(cfg->getaddrinfo) - 1);
	snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "%s", s);
	return 0;
}

/* ==== Comparing (config_diff) ==== */

static int same_scope(const struct config_row *row, const void *a, const void *b)
{
	const struct config *x = a, *y = b;

	return x->scope == y->scope && !strcmp(x->scope_path, y->scope_path);
}

/*
 * Each adapter starts zeroed with its defaults written (adapter_set_defaults)
 * and every key given is written once over them, so equal settings are equal
 * bytes: the whole list compares with memcmp.
 */
static int same_adapters(const struct config_row *row, const void *a, const void *b)
{
	const struct config *x = a, *y = b;

	return x->n_adapters == y->n_adapters &&
	       !memcmp(x->adapters, y->adapters, x->n_adapters * sizeof(x->adapters[0]));
}

static int same_names(const char (*a)[40], size_t na, const char (*b)[40], size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]))
			return 0;
	}
	return 1;
}

static int same_select(const struct config_row *row, const void *a, const void *b)
{
	const struct config *x = a, *y = b;

	if (x->n_select != y->n_select)
		return 0;
	for (size_t i = 0; i < x->n_select; i++) {
		const struct config_select *p = &x->select[i], *q = &y->select[i];

		if (strcmp(p->pattern, q->pattern) || p->has_include != q->has_include ||
		    !same_names(p->include, p->n_include, q->include, q->n_include) ||
		    !same_names(p->exclude, p->n_exclude, q->exclude, q->n_exclude))
			return 0;
	}
	return 1;
}

static int same_networks(const struct config_row *row, const void *a, const void *b)
{
	const struct config *x = a, *y = b;

	if (x->n_networks != y->n_networks)
		return 0;
	for (size_t i = 0; i < x->n_networks; i++) {
		const struct config_network *p = &x->networks[i], *q = &y->networks[i];

		if (p->family != q->family || p->prefix != q->prefix ||
		    memcmp(p->addr, q->addr, sizeof(p->addr)) || strcmp(p->zone, q->zone) ||
		    strcmp(p->class_name, q->class_name))
			return 0;
	}
	return 1;
}

/* ==== The tables ==== */

/* clang-format off */
static const char *const log_level_names[] = { "error", "warn", "info", "debug" };
static const char *const scope_names[] = { [SCOPE_HOST] = "host", [SCOPE_NETNS] = "netns" };
static const char *const dns_event_names[] = {
	[DNS_EVENTS_NONE] = "none", [DNS_EVENTS_LOG] = "log"
};

static const struct config_row attribute_rows[] = {
	{ .key = "select", .type = CONFIG_MAP, .parse = parse_select, .same = same_select,
	  CONFIG_RELOAD, .doc = "by glob: \"gespann_flow_*\": {include: [\"*\"], exclude: [dst_name]}" },
	CONFIG_UINT_ROW("max_series", struct config, max_series, 1, 10000000, 2000,
			"samples per family (a histogram label set is its buckets + 2); past it "
			"new label sets are folded into \"other\"",
			CONFIG_RELOAD),
	CONFIG_BOOL_ROW("client_address", struct config, client_address, 0,
			"role=\"server\" flows carry the remote client's address in dst_address "
			"(off: empty, one series per service instead of one per client)"),
};

static const struct config_row dns_rows[] = {
	CONFIG_BOOL_ROW("enabled", struct config, dns_enabled, 1,
			"DNS capture: metrics and host names for dst_name"),
	CONFIG_CHOICE_ROW("events", struct config, dns_events, dns_event_names,
			  "a DNS event output", DNS_EVENTS_NONE,
			  "log: a JSON line per answered or timed-out query", CONFIG_RELOAD),
	CONFIG_UINT_ROW("max_names", struct config, dns_max_names, 16, 16777216, 65536,
			"host name cache entries"),
	CONFIG_UINT_ROW("max_pending", struct config, dns_max_pending, 16, 1048576, 4096,
			"queries waiting for an answer", CONFIG_RELOAD),
	CONFIG_DURATION_ROW("timeout", struct config, dns_timeout_ns, CONFIG_NS_PER_MS,
			    600 * CONFIG_NS_PER_SEC, 5 * CONFIG_NS_PER_SEC,
			    "unanswered this long: rcode \"timeout\"", CONFIG_RELOAD),
	CONFIG_STRING_ROW("getaddrinfo", struct config, getaddrinfo, "auto",
			  "auto | off | /path/to/libc.so.6 (a uprobe on libc)",
			  .parse = parse_getaddrinfo),
	CONFIG_DURATION_ROW("min_ttl", struct config, dns_min_ttl_ns, 0, 86400 * CONFIG_NS_PER_SEC,
			    60 * CONFIG_NS_PER_SEC,
			    "a name lasts at least this long, whatever its TTL (0: the TTL)",
			    CONFIG_RELOAD),
};

static const struct config_row process_rows[] = {
	CONFIG_UINT_ROW("max", struct config, max_processes, 16, 16777216, 32768,
			"process cache entries"),
};

static const struct config_section attribute_section = CONFIG_SECTION_OF(attribute_rows);
static const struct config_section dns_section = CONFIG_SECTION_OF(dns_rows);
static const struct config_section process_section = CONFIG_SECTION_OF(process_rows);

/* The order is also that of the "known:" list in messages. */
static const struct config_row top_rows[] = {
	CONFIG_CHOICE_ROW("log_level", struct config, log_level, log_level_names, "a log level",
			  LOG_LEVEL_INFO, "error | warn | info | debug", .parse = parse_log_level,
			  CONFIG_RELOAD),
	CONFIG_CHOICE_ROW("scope", struct config, scope, scope_names, "a scope", SCOPE_HOST,
			  "host (every netns), netns (our own) or a file: /var/run/netns/NAME", .parse = parse_scope,
			  .same = same_scope),
	CONFIG_DURATION_ROW("idle_timeout", struct config, idle_timeout_ns, 1, UINT64_MAX,
			    30 * CONFIG_NS_PER_SEC,
			    "silent UDP flows end, TCP connections count as idle (units: ns us ms s m h)",
			    .range = "is out of range (must be greater than 0)"),
	CONFIG_UINT_ROW("max_connections", struct config, max_connections, 16, 16777216, 65536,
			"kernel connection map size"),
	CONFIG_UINT_ROW("max_udp_flows", struct config, max_udp_flows, 16, 16777216, 16384,
			"kernel UDP flow map size"),
	CONFIG_UINT_ROW("ring_buffer_size", struct config, ringbuf_bytes, 4096, 1073741824,
			1048576, "ring buffer bytes, a power of two (4096..1073741824)",
			.range = "is not a power of two between 4096 and 1073741824",
			.parse = parse_ring_buffer_size),
	CONFIG_DURATION_ROW("poll_interval", struct config, poll_interval_ns, CONFIG_NS_PER_MS,
			    10 * CONFIG_NS_PER_SEC, 100 * CONFIG_NS_PER_MS,
			    "how often events are drained and tables refreshed", CONFIG_RELOAD),
	{ .key = "adapters", .type = CONFIG_LIST, .def_str = "prometheus",
	  .parse = parse_adapters, .set_default = adapters_default, .emit = adapters_emit,
	  .same = same_adapters, CONFIG_RELOAD,
	  .doc = "where metrics go: prometheus (scraped), datadog (DogStatsD), otlp (OTLP/HTTP or gRPC)" },
	CONFIG_SECTION_ROW("attributes", attribute_section,
			   "which attributes (labels) each metric family exports, and a cap"),
	{ .key = "networks", .type = CONFIG_LIST, .parse = parse_networks,
	  .same = same_networks, CONFIG_RELOAD,
	  .doc = "dst_class, dst_zone (src_zone) by CIDR: [{cidr: 10.0.0.0/8, zone: corp, class: internal}]" },
	CONFIG_STRING_ROW("zone", struct config, zone, "",
			  "this host's zone: the src_zone of local addresses no networks entry "
			  "gives a zone (\"\": none)",
			  .check = host_zone_problem, CONFIG_RELOAD),
	CONFIG_SECTION_ROW("dns", dns_section, "DNS capture"),
	CONFIG_SECTION_ROW("processes", process_section, "the process cache"),
	CONFIG_BOOL_ROW("seccomp", struct config, seccomp, 0,
			"after start, a system-call allow-list (others fail with EPERM)"),
};
/* clang-format on */

static const struct config_section top_section = {
	.rows = top_rows,
	.n_rows = CONFIG_COUNT_OF(top_rows),
	.document_order = 1,
};

/* For the tests and the README check: the top-level table. */
const struct config_section *config_top_section(void)
{
	return &top_section;
}

/* ==== Entry points ==== */

void config_diff(const struct config *old, const struct config *new_cfg, struct config_diff *d)
{
	memset(d, 0, sizeof(*d));
	config_section_diff(&top_section, NULL, old, new_cfg, d);
}

void config_set_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	config_section_defaults(&top_section, cfg);
}

/*
 * What a user who opens the example needs before the keys: what the file is,
 * how to check and run it, and the two rules that surprise (absent keys take
 * these values; numbers and durations may be quoted).
 */
static const char default_text_header[] =
	"# Gespann configuration: every key, set to its default, with what it does.\n"
	"#\n"
	"# This is the embedded default: gespann runs it when no -config is given,\n"
	"# `gespann -print-config` writes it (the repository's gespann.yaml is that\n"
	"# output). Copy it, change what you need, drop what you do not (an absent\n"
	"# key takes the value shown), then\n"
	"#   gespann -check-config gespann.yaml   # exit 0, or 2 and the error\n"
	"#   sudo gespann -config gespann.yaml\n"
	"# Numbers may be quoted (port: \"8080\"); durations take ns, us, ms, s, m, h.\n"
	"\n";

const char *config_default_text(void)
{
	static char text[16384];
	struct config_out out = { .buf = text, .cap = sizeof(text) };

	if (text[0])
		return text;
	config_out_printf(&out, "%s", default_text_header);
	config_section_emit(&out, &top_section, 0, "");
	return text;
}

static int parse_root(struct config_ctx *ctx, yaml_node_t *root, void *cfg)
{
	/* an empty file, only comments, or "---" alone: all defaults */
	if (!root ||
	    (root->type == YAML_SCALAR_NODE && config_scalar_kind(root) == CONFIG_SCALAR_NULL))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return config_error(ctx, config_node_line(root), NULL,
				    "expected a mapping at the top level, got %s",
				    config_describe(root));
	return config_section_parse(ctx, &top_section, NULL, root, NULL, cfg);
}

int config_parse(const char *text, size_t len, const char *name, struct config *cfg, char *err,
		 size_t errlen)
{
	struct config *tmp; /* ~190 KB with the select and network tables: not on the stack */
	int ret;

	if (err && errlen)
		err[0] = '\0';
	name = name ? name : "config";
	if (!cfg || (!text && len)) {
		config_set_error(err, errlen, "%s: no configuration given", name);
		return -EINVAL;
	}
	if (!text)
		text = "";
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		config_set_error(err, errlen, "%s: out of memory while parsing", name);
		return -ENOMEM;
	}
	config_set_defaults(tmp);
	ret = config_read_document(text, len, name, parse_root, tmp, err, errlen);
	config_error_one_line(err, errlen);
	if (!ret)
		*cfg = *tmp;
	free(tmp);
	return ret;
}

int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !cfg) {
		config_set_error(err, errlen, "config: no file given");
		return -EINVAL;
	}
	ret = config_read_file(path, CONFIG_MAX_FILE_BYTES, &buf, &len, err, errlen);
	if (!ret)
		ret = config_parse(buf, len, path, cfg, err, errlen);
	config_error_one_line(err, errlen);
	free(buf);
	return ret;
}
