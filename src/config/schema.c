// SPDX-License-Identifier: MIT
/*
 * The generic half of the config tables (schema.h): one walker that parses a
 * mapping through a section's rows, one that applies the rows' defaults and
 * one that writes them out as YAML. The typed parse of a row is the only
 * place a string, an integer, a duration, a boolean or a choice is read, so
 * every key of a type gets the same checks and the same messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/schema.h"

/* The most rows a section may have (map_collect's found[] is on the stack). */
#define CONFIG_MAX_ROWS 32

/* ==== Targets ==== */

static void *row_target(const struct config_row *row, void *base)
{
	return (char *)base + row->offset;
}

static void store_uint(const struct config_row *row, void *base, uint64_t v)
{
	void *t = row_target(row, base);

	switch (row->size) {
	case sizeof(uint16_t):
		*(uint16_t *)t = (uint16_t)v;
		break;
	case sizeof(uint32_t):
		*(uint32_t *)t = (uint32_t)v;
		break;
	default:
		*(uint64_t *)t = v;
		break;
	}
}

/* Booleans and choices are int-sized (int or an enum). */
static void store_int(const struct config_row *row, void *base, int v)
{
	memcpy(row_target(row, base), &v, sizeof(v));
}

static int choice_value(const struct config_row *row, size_t i)
{
	return row->values ? row->values[i] : (int)i;
}

/* ==== Parsing ==== */

static int parse_choice(struct config_ctx *ctx, const struct config_row *row,
			const struct config_entry *e, const char *path, void *base)
{
	char buf[CONFIG_SHOW_MAX], list[96];
	const char *s = NULL;
	size_t i, o = 0;
	int ret;

	ret = config_get_string(ctx, e->key, e->value, path, &s);
	if (ret)
		return ret;
	for (i = 0; i < row->n_names; i++) {
		if (!strcmp(s, row->names[i])) {
			store_int(row, base, choice_value(row, i));
			return 0;
		}
	}
	for (i = 0; i < row->n_names && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
				      row->names[i]);
	return config_error(ctx, config_value_line(e->key, e->value), path, "%s is not %s (%s)",
			    config_show(e->value, true, buf, sizeof(buf)), row->what, list);
}

static int parse_string(struct config_ctx *ctx, const struct config_row *row,
			const struct config_entry *e, const char *path, void *base)
{
	size_t line = config_value_line(e->key, e->value);
	char buf[CONFIG_SHOW_MAX];
	const char *s = NULL, *why;
	int ret;

	ret = config_get_string(ctx, e->key, e->value, path, &s);
	if (ret)
		return ret;
	if (strlen(s) >= row->size)
		return config_error(ctx, line, path, "%s is longer than %zu characters",
				    config_show(e->value, true, buf, sizeof(buf)), row->size - 1);
	why = row->check ? row->check(s) : NULL;
	if (why)
		return config_error(ctx, line, path, "%s %s",
				    config_show(e->value, true, buf, sizeof(buf)), why);
	snprintf(row_target(row, base), row->size, "%s", s);
	return 0;
}

int config_row_parse_typed(struct config_ctx *ctx, const struct config_row *row,
			   const struct config_entry *e, const char *path, void *base)
{
	char range[96], lo[24], hi[24];
	unsigned long long v;
	uint64_t ns;
	int ret, b;

	switch (row->type) {
	case CONFIG_STRING:
		return parse_string(ctx, row, e, path, base);
	case CONFIG_UINT:
		snprintf(range, sizeof(range), "is out of range (%llu-%llu)",
			 (unsigned long long)row->min, (unsigned long long)row->max);
		ret = config_get_uint(ctx, e->key, e->value, path, row->min, row->max,
				      row->range ? row->range : range, &v);
		if (!ret)
			store_uint(row, base, v);
		return ret;
	case CONFIG_DURATION:
		config_duration_format(row->min, lo, sizeof(lo));
		config_duration_format(row->max, hi, sizeof(hi));
		snprintf(range, sizeof(range), "is out of range (%s-%s)", lo, hi);
		ret = config_get_duration(ctx, e->key, e->value, path, row->min, row->max,
					  row->range ? row->range : range, &ns);
		if (!ret)
			store_uint(row, base, ns);
		return ret;
	case CONFIG_BOOL:
		ret = config_get_bool(ctx, e->key, e->value, path, &b);
		if (!ret)
			store_int(row, base, b);
		return ret;
	case CONFIG_CHOICE:
		return parse_choice(ctx, row, e, path, base);
	case CONFIG_SECTION:
		return config_section_parse(ctx, row->section, e->key, e->value, path, base);
	default:
		/* a list or map row without its parse(): a bug in the table */
		return config_error(ctx, config_node_line(e->key), path, "no parser for this key");
	}
}

static int parse_row(struct config_ctx *ctx, const struct config_row *row,
		     const struct config_entry *e, const char *parent, void *base)
{
	char path[384];

	if (parent && parent[0])
		snprintf(path, sizeof(path), "%s.%s", parent, row->key);
	else
		snprintf(path, sizeof(path), "%s", row->key);
	if (row->parse)
		return row->parse(ctx, row, e, path, base);
	return config_row_parse_typed(ctx, row, e, path, base);
}

int config_section_parse(struct config_ctx *ctx, const struct config_section *sec,
			 const yaml_node_t *key, const yaml_node_t *map, const char *path,
			 void *base)
{
	struct config_entry found[CONFIG_MAX_ROWS];
	const char *keys[CONFIG_MAX_ROWS];
	yaml_node_pair_t *pair;
	size_t i, n = sec->n_rows < CONFIG_MAX_ROWS ? sec->n_rows : CONFIG_MAX_ROWS;
	int ret;

	ret = config_expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		keys[i] = sec->rows[i].key;
	ret = config_map_collect(ctx, map, path, keys, n, found);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (sec->rows[i].required && !found[i].key)
			return config_error(ctx, config_node_line(map), path,
					    "missing key \"%s\" %s", keys[i],
					    sec->rows[i].required);
	}
	if (!sec->document_order) {
		for (i = 0; i < n; i++) {
			if (!found[i].key)
				continue;
			ret = parse_row(ctx, &sec->rows[i], &found[i], path, base);
			if (ret)
				return ret;
		}
		return 0;
	}
	/* keys were all checked above; values go in document order, top error first */
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		struct config_entry e = { config_node(ctx, pair->key),
					  config_node(ctx, pair->value) };
		int k = config_key_index(e.key, keys, n);

		if (k < 0) /* cannot happen: config_map_collect() checked every key */
			return -EINVAL;
		ret = parse_row(ctx, &sec->rows[k], &e, path, base);
		if (ret)
			return ret;
	}
	return 0;
}

/* ==== Defaults ==== */

void config_section_defaults(const struct config_section *sec, void *base)
{
	size_t i;

	for (i = 0; i < sec->n_rows; i++) {
		const struct config_row *row = &sec->rows[i];

		switch (row->type) {
		case CONFIG_STRING:
			snprintf(row_target(row, base), row->size, "%s",
				 row->def_str ? row->def_str : "");
			break;
		case CONFIG_UINT:
		case CONFIG_DURATION:
			store_uint(row, base, row->def);
			break;
		case CONFIG_BOOL:
		case CONFIG_CHOICE:
			store_int(row, base, (int)row->def);
			break;
		case CONFIG_SECTION:
			config_section_defaults(row->section, base);
			break;
		default: /* lists and maps start empty: the caller zeroed base */
			break;
		}
		if (row->set_default)
			row->set_default(row, base);
	}
}

/* ==== Comparing two configs ==== */

static int row_same(const struct config_row *row, const void *a, const void *b)
{
	const void *ta = (const char *)a + row->offset, *tb = (const char *)b + row->offset;

	if (row->same)
		return row->same(row, a, b);
	switch (row->type) {
	case CONFIG_STRING:
		return !strncmp(ta, tb, row->size);
	case CONFIG_UINT:
	case CONFIG_DURATION:
		return !memcmp(ta, tb, row->size);
	case CONFIG_BOOL:
	case CONFIG_CHOICE:
		return !memcmp(ta, tb, sizeof(int));
	default: /* a list or a map without same(): a bug in the table */
		return 0;
	}
}

static void diff_add(char *text, size_t *n, const char *key)
{
	size_t len = strlen(text);

	snprintf(text + len, CONFIG_DIFF_TEXT - len, "%s%s", *n ? ", " : "", key);
	(*n)++;
}

void config_section_diff(const struct config_section *sec, const char *prefix, const void *a,
			 const void *b, struct config_diff *d)
{
	char path[128];
	size_t i;

	for (i = 0; i < sec->n_rows; i++) {
		const struct config_row *row = &sec->rows[i];

		if (prefix)
			snprintf(path, sizeof(path), "%s.%s", prefix, row->key);
		else
			snprintf(path, sizeof(path), "%s", row->key);
		if (row->type == CONFIG_SECTION && !row->same) {
			config_section_diff(row->section, path, a, b, d);
			continue;
		}
		if (row_same(row, a, b))
			continue;
		diff_add(d->changed, &d->n_changed, path);
		if (!row->reload)
			diff_add(d->restart, &d->n_restart, path);
	}
}

int config_diff_has(const struct config_diff *d, const char *key)
{
	size_t n = strlen(key);
	const char *p;

	for (p = d->changed; (p = strstr(p, key)); p += n) {
		if ((p == d->changed || p[-1] == ' ') && (p[n] == ',' || !p[n]))
			return 1;
	}
	return 0;
}

/* ==== The default YAML ==== */

void config_out_printf(struct config_out *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (out->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out->buf + out->len, out->cap - out->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= out->cap - out->len) {
		out->overflow = 1;
		out->buf[out->len] = '\0';
		return;
	}
	out->len += (size_t)n;
}

/* A string that a YAML 1.1 reader takes back as the same string, unquoted. */
static int plain_ok(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "null" };
	size_t i;
	char *end;

	if (!s[0] ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/", s[0]))
		return 0;
	for (i = 0; s[i]; i++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:-",
			    s[i]))
			return 0;
	}
	for (i = 0; i < CONFIG_COUNT_OF(words); i++) {
		if (!strcasecmp(s, words[i]))
			return 0;
	}
	strtod(s, &end);
	return *end != '\0';
}

void config_row_default_text(const struct config_row *row, char *buf, size_t size)
{
	const char *s = row->def_str ? row->def_str : "";
	size_t i;

	switch (row->type) {
	case CONFIG_STRING:
		snprintf(buf, size, plain_ok(s) ? "%s" : "\"%s\"", s);
		return;
	case CONFIG_UINT:
		snprintf(buf, size, "%llu", (unsigned long long)row->def);
		return;
	case CONFIG_DURATION:
		config_duration_format(row->def, buf, size);
		return;
	case CONFIG_BOOL:
		snprintf(buf, size, "%s", row->def ? "true" : "false");
		return;
	case CONFIG_CHOICE:
		for (i = 0; i < row->n_names; i++) {
			if ((uint64_t)choice_value(row, i) == row->def)
				break;
		}
		snprintf(buf, size, "%s", i < row->n_names ? row->names[i] : "?");
		return;
	case CONFIG_LIST:
		/* def_str: the type of the one entry a list holds by default */
		if (row->def_str)
			snprintf(buf, size, "[{type: %s}]", row->def_str);
		else
			snprintf(buf, size, "[]");
		return;
	case CONFIG_MAP:
		snprintf(buf, size, "{}");
		return;
	default:
		snprintf(buf, size, "%s", "");
		return;
	}
}

/* The doc line, with the bounds or the choices the table knows. */
static void emit_doc(struct config_out *out, const struct config_row *row, int indent,
		     const char *prefix)
{
	char lo[24], hi[24];
	size_t i;

	config_out_printf(out, "%s%*s# %s", prefix, indent, "", row->doc);
	if (row->type == CONFIG_UINT && !row->range) {
		config_out_printf(out, " (%llu..%llu)", (unsigned long long)row->min,
				  (unsigned long long)row->max);
	} else if (row->type == CONFIG_DURATION && !row->range) {
		config_duration_format(row->min, lo, sizeof(lo));
		config_duration_format(row->max, hi, sizeof(hi));
		config_out_printf(out, " (%s..%s)", lo, hi);
	} else if (row->type == CONFIG_CHOICE && !row->parse) {
		for (i = 0; i < row->n_names; i++)
			config_out_printf(out, "%s%s", i ? " | " : " (", row->names[i]);
		config_out_printf(out, ")");
	}
	config_out_printf(out, "\n");
}

void config_section_emit(struct config_out *out, const struct config_section *sec, int indent,
			 const char *prefix)
{
	char text[160];
	size_t i;

	for (i = 0; i < sec->n_rows; i++) {
		const struct config_row *row = &sec->rows[i];

		if (!indent && i)
			config_out_printf(out, "%s\n", prefix);
		if (row->doc)
			emit_doc(out, row, indent, prefix);
		if (row->emit) {
			row->emit(out, row, indent, prefix);
		} else if (row->type == CONFIG_SECTION) {
			config_out_printf(out, "%s%*s%s:\n", prefix, indent, "", row->key);
			config_section_emit(out, row->section, indent + 2, prefix);
		} else {
			config_row_default_text(row, text, sizeof(text));
			config_out_printf(out, "%s%*s%s: %s\n", prefix, indent, "", row->key, text);
		}
	}
}

/* ==== Adapter kinds ==== */

const struct config_adapter_kind *config_adapter_kind_find(const char *name)
{
	const struct config_adapter_kind *k;

	for (k = config_adapter_kinds; k->name; k++) {
		if (!strcmp(k->name, name))
			return k;
	}
	return NULL;
}

const struct config_adapter_kind *config_adapter_kind_of(enum adapter_type type)
{
	const struct config_adapter_kind *k;

	for (k = config_adapter_kinds; k->name; k++) {
		if (k->type == type)
			return k;
	}
	return NULL;
}
