/* SPDX-License-Identifier: MIT */
/*
 * The strict YAML reader under the config tables: libyaml's document API
 * (which keeps the line of every node), YAML 1.1 typing of plain scalars,
 * typed getters that refuse the wrong type by name, and one error format,
 * "NAME:LINE: KEY.PATH: what is wrong". It knows no key of Gespann's: the
 * schema (config/schema.h) and the custom parsers of odd keys call it.
 *
 * Who may include it: src/config/ and the *_settings.c files of
 * src/exporters/ that parse an adapter's odd settings.
 */
#ifndef GESPANN_CONFIG_READER_H
#define GESPANN_CONFIG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#define CONFIG_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define CONFIG_NS_PER_US  1000ULL
#define CONFIG_NS_PER_MS  1000000ULL
#define CONFIG_NS_PER_SEC 1000000000ULL

/* One parse: the file name for messages, the document, the error buffer. */
struct config_ctx {
	const char *name;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

/* A key and its value in a mapping (both NULL when the key is absent). */
struct config_entry {
	yaml_node_t *key;
	yaml_node_t *value;
};

/*
 * Write "NAME:LINE: PATH: MSG" (or "NAME:LINE: MSG" when path is NULL or
 * empty) into ctx->err. Always returns -EINVAL, so that callers can
 * `return config_error(...)`.
 */
int config_error(struct config_ctx *ctx, size_t line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The 1-based line of a node. */
size_t config_node_line(const yaml_node_t *node);

/*
 * The line to blame for a value: its own, or its key's when the value has no
 * text to point at (empty, or a collection). key may be NULL.
 */
size_t config_value_line(const yaml_node_t *key, const yaml_node_t *value);

/* A node of the document by index; NULL when out of range. */
yaml_node_t *config_node(struct config_ctx *ctx, int index);

/* The text of a scalar node, and whether it holds a NUL byte before its end. */
const char *config_scalar(const yaml_node_t *node);
bool config_scalar_has_nul(const yaml_node_t *node);

/* Room for config_show()'s output. */
#define CONFIG_SHOW_MAX 80

/*
 * A scalar for a message into buf: quoted and escaped when `quote`, cut
 * after about 48 characters. Returns buf.
 */
const char *config_show(const yaml_node_t *node, bool quote, char *buf, size_t size);

enum config_scalar_kind {
	CONFIG_SCALAR_NULL,
	CONFIG_SCALAR_BOOL,
	CONFIG_SCALAR_INT,
	CONFIG_SCALAR_FLOAT,
	CONFIG_SCALAR_STRING,
	CONFIG_SCALAR_UNKNOWN_TAG,
};

/* What a scalar is, as a YAML 1.1 reader would resolve it. */
enum config_scalar_kind config_scalar_kind(const yaml_node_t *node);

/* "a mapping", "a list", "null", "a boolean", ... for "expected X, got Y". */
const char *config_describe(const yaml_node_t *node);

/*
 * Typed getters. Each checks the node's tag and type and writes the error
 * itself ("expected a string, got null", "70000 is not a port (1-65535)"),
 * blaming config_value_line(key, value) under `path`. key may be NULL (list
 * items). They return 0 or -EINVAL.
 */
int config_get_string(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		      const char *path, const char **out);
/*
 * A decimal integer in [min, max], bare or quoted ("8080" reads as 8080);
 * `range` ends "VALUE ..." when outside.
 */
int config_get_uint(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    const char *path, unsigned long long min, unsigned long long max,
		    const char *range, unsigned long long *out);
/* A duration (30s or "30s") in [min_ns, max_ns]; `range` as for config_get_uint(). */
int config_get_duration(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
			const char *path, uint64_t min_ns, uint64_t max_ns, const char *range,
			uint64_t *out);
/* A YAML 1.1 boolean into *out (1 or 0). */
int config_get_bool(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		    const char *path, int *out);
/* The node is a mapping or a list (type), with no tag but its default. */
int config_expect_type(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *value,
		       const char *path, yaml_node_type_t type);

/* The index of key's text in keys[0..n), or -1. */
int config_key_index(const yaml_node_t *key, const char *const *keys, size_t n);

/*
 * Check every key of `map` (a mapping node) against `keys`: an unknown or a
 * duplicate key is an error. found[i] gets the pair for keys[i].
 */
int config_map_collect(struct config_ctx *ctx, const yaml_node_t *map, const char *path,
		       const char *const *keys, size_t n, struct config_entry *found);

/* A list of strings into out[i] (stride bytes each, at most max): its rules. */
struct config_string_list {
	const char *plural;   /* "tags": "%zu tags, at most %d are supported" */
	const char *singular; /* "attribute": "duplicate attribute \"x\"" (NULL: allowed) */
	const char *empty;    /* the error for [], or NULL when [] is fine */
	const char *(*check)(const char *s); /* NULL, or what is wrong with s */
};

int config_get_string_list(struct config_ctx *ctx, const yaml_node_t *key, const yaml_node_t *list,
			   const char *path, const struct config_string_list *spec, char *out,
			   size_t stride, size_t max, size_t *n_out);

enum config_uint_result {
	CONFIG_UINT_OK,
	CONFIG_UINT_RANGE, /* an integer, but negative or too big for 64 bits */
	CONFIG_UINT_BAD,   /* not a plain decimal integer */
};

/* Plain decimal only: no sign, no leading zero, no trailing text. */
enum config_uint_result config_uint_parse(const char *s, unsigned long long *out);

/* As config_parse_duration(), but -ERANGE when the value does not fit. */
int config_duration_parse(const char *s, uint64_t *out_ns);

/* ns as the shortest duration text that reads back the same ("100ms", "5m"). */
void config_duration_format(uint64_t ns, char *buf, size_t size);

/* Collections nested deeper than this are refused before the load. */
#define CONFIG_MAX_DEPTH 64

/*
 * Load the one YAML document of text and hand its root (NULL when empty) to
 * walk(ctx, root, arg). A syntax error, a second document, or a collection
 * nested deeper than CONFIG_MAX_DEPTH ("FILE:LINE: YAML nested deeper than
 * 64 levels", found in a first pass over the events, before the slow load)
 * is reported as a one-line error. Returns walk's result, -EINVAL or -ENOMEM.
 */
int config_read_document(const char *text, size_t len, const char *name,
			 int (*walk)(struct config_ctx *ctx, yaml_node_t *root, void *arg),
			 void *arg, char *err, size_t errlen);

/*
 * Read a whole regular file, at most max bytes, into a malloc'd *buf (the
 * caller frees it). Errors name the file: -errno, -EISDIR for a directory,
 * -EINVAL for any other non-regular file ("not a regular file": a FIFO, a
 * device such as /dev/null), or -EFBIG when it is too large.
 */
int config_read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
		     size_t errlen);

/* printf into err (when err and errlen allow it). */
void config_set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Turn line breaks in err into spaces: the contract is one line. */
void config_error_one_line(char *err, size_t errlen);

#endif
