/* SPDX-License-Identifier: MIT */
/*
 * Config keys as rows, after redis's standardConfig: each key is declared
 * once with its YAML name, type, bounds, default, target (an offset into
 * the struct it fills) and a one-line description. Parsing, defaults, the
 * embedded default YAML and the README check all read the same rows.
 *
 * A table of rows is a section (the top level, dns, an adapter's settings);
 * a row of type CONFIG_SECTION opens a nested one whose targets live in the
 * same struct. Odd keys (CIDRs, tags, headers, attributes.select) keep the
 * row for their name, default and description and bring a parse callback.
 *
 * Adapters register their settings tables the h2o way, from their own files:
 * config_adapter_kinds[] is declared here and defined in
 * src/exporters/settings.c, so the config layer never includes an exporter.
 */
#ifndef GESPANN_CONFIG_SCHEMA_H
#define GESPANN_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/reader.h"

enum config_type {
	CONFIG_STRING,	 /* char[size]; def_str; check() may refuse a value */
	CONFIG_UINT,	 /* uint16/32/64_t by size, in [min, max]; def */
	CONFIG_DURATION, /* uint64_t ns in [min, max]; def */
	CONFIG_BOOL,	 /* int 0/1; def */
	CONFIG_CHOICE,	 /* an int-sized enum: names[] (values[] or the index); def */
	CONFIG_LIST,	 /* parse() only; empty, written [] (def_str: [{type: DEF_STR}]) */
	CONFIG_MAP,	 /* parse() only; empty by default, written {} */
	CONFIG_SECTION,	 /* a nested table: section */
};

struct config_row;
struct config_section;
struct config_out;

/*
 * Parse the value of e (path is the key's full path) into base. Replaces the
 * typed parse of the row, and may call config_row_parse_typed() itself.
 */
typedef int (*config_parse_fn)(struct config_ctx *ctx, const struct config_row *row,
			       const struct config_entry *e, const char *path, void *base);

struct config_row {
	const char *key;
	enum config_type type;
	size_t offset, size; /* the target in base */
	uint64_t min, max;   /* CONFIG_UINT, CONFIG_DURATION */
	const char *range;   /* "VALUE ..." when out of range; NULL: "is out of range (MIN-MAX)" */
	const char *const *names; /* CONFIG_CHOICE: the words, in message order */
	size_t n_names;
	const int *values;   /* CONFIG_CHOICE: the value stored for names[i]; NULL: i */
	const char *what;    /* CONFIG_CHOICE: "VALUE is not WHAT (a, b)" */
	uint64_t def;	     /* the default of CONFIG_UINT/DURATION/BOOL/CHOICE */
	const char *def_str; /* the default of CONFIG_STRING (NULL: "") */
	const char *(*check)(const char *s); /* CONFIG_STRING: NULL, or what is wrong */
	config_parse_fn parse;		     /* the odd keys */
	void (*set_default)(const struct config_row *row, void *base); /* beyond zero */
	void (*emit)(struct config_out *out, const struct config_row *row, int indent,
		     const char *prefix);     /* the default YAML, when not the generic one */
	const struct config_section *section; /* CONFIG_SECTION */
	const char *required; /* set: the key must be there, "missing key \"KEY\" REQUIRED" */
	const char *doc;      /* one line, for the default YAML */
	int reload;	      /* 1: SIGHUP may change it at run time; 0: it needs a restart */
	/* Whether a and b (two whole bases) hold the same value of the key:
	 * for the odd keys whose value is not the target's bytes; NULL: compare
	 * the target by type (a string up to its NUL). */
	int (*same)(const struct config_row *row, const void *a, const void *b);
};

struct config_section {
	const struct config_row *rows;
	size_t n_rows;
	int document_order; /* values in document order (top level), not row order */
};

#define CONFIG_FIELD(st, f) .offset = offsetof(st, f), .size = sizeof(((st *)0)->f)

/* clang-format off */
#define CONFIG_STRING_ROW(k, st, f, d, doc_, ...) \
	{ .key = k, .type = CONFIG_STRING, CONFIG_FIELD(st, f), .def_str = d, .doc = doc_, __VA_ARGS__ }
#define CONFIG_UINT_ROW(k, st, f, lo, hi, d, doc_, ...) \
	{ .key = k, .type = CONFIG_UINT, CONFIG_FIELD(st, f), .min = lo, .max = hi, .def = d, \
	  .doc = doc_, __VA_ARGS__ }
#define CONFIG_DURATION_ROW(k, st, f, lo, hi, d, doc_, ...) \
	{ .key = k, .type = CONFIG_DURATION, CONFIG_FIELD(st, f), .min = lo, .max = hi, .def = d, \
	  .doc = doc_, __VA_ARGS__ }
#define CONFIG_BOOL_ROW(k, st, f, d, doc_, ...) \
	{ .key = k, .type = CONFIG_BOOL, CONFIG_FIELD(st, f), .def = d, .doc = doc_, __VA_ARGS__ }
#define CONFIG_CHOICE_ROW(k, st, f, names_, what_, d, doc_, ...) \
	{ .key = k, .type = CONFIG_CHOICE, CONFIG_FIELD(st, f), .names = names_, \
	  .n_names = CONFIG_COUNT_OF(names_), .what = what_, .def = d, .doc = doc_, __VA_ARGS__ }
#define CONFIG_SECTION_ROW(k, sec, doc_) \
	{ .key = k, .type = CONFIG_SECTION, .section = &sec, .doc = doc_ }
/* A row SIGHUP may change (config_diff()): append to a row's arguments. */
#define CONFIG_RELOAD .reload = 1
#define CONFIG_SECTION_OF(rows_) { .rows = rows_, .n_rows = CONFIG_COUNT_OF(rows_) }
/* clang-format on */

/* An adapter type: its name in `type:`, and the table of its `settings:`. */
struct config_adapter_kind {
	const char *name;
	enum adapter_type type;
	const struct config_section *settings;
};

/* Defined by src/exporters/settings.c; ends with a { NULL } row. */
extern const struct config_adapter_kind config_adapter_kinds[];

/* The kind named `name` or of type `type`; NULL when there is none. */
const struct config_adapter_kind *config_adapter_kind_find(const char *name);
const struct config_adapter_kind *config_adapter_kind_of(enum adapter_type type);

/* The top-level table of struct config (for the tests and the README check). */
const struct config_section *config_top_section(void);

/* Walk a mapping node through a section's rows into base. */
int config_section_parse(struct config_ctx *ctx, const struct config_section *sec,
			 const yaml_node_t *key, const yaml_node_t *map, const char *path,
			 void *base);

/* The typed parse of one row (what parse() callbacks build on). */
int config_row_parse_typed(struct config_ctx *ctx, const struct config_row *row,
			   const struct config_entry *e, const char *path, void *base);

/* Set every row's default in base (nested sections included). */
void config_section_defaults(const struct config_section *sec, void *base);

/*
 * The default of a scalar row as YAML text ("30s", "0.0.0.0", "[]"): what the
 * default YAML writes and the README's settings table shows.
 */
void config_row_default_text(const struct config_row *row, char *buf, size_t size);

/*
 * Compare two bases row by row (nested sections too, their keys written
 * "dns.timeout"): every key whose value differs is added to d (config.h).
 */
void config_section_diff(const struct config_section *sec, const char *prefix, const void *a,
			 const void *b, struct config_diff *d);

/* A growing text for the default YAML. */
struct config_out {
	char *buf;
	size_t len, cap;
	int overflow;
};

void config_out_printf(struct config_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Write a section's defaults as YAML at `indent`, each row after its doc
 * as a comment; every line starts with prefix ("" or "#" for an example).
 */
void config_section_emit(struct config_out *out, const struct config_section *sec, int indent,
			 const char *prefix);

#endif
