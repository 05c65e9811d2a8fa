/* SPDX-License-Identifier: MIT */
/*
 * Metrics registry: families (counter, gauge, histogram) with a fixed label set,
 * series created on first set. The collector writes a snapshot into it; the
 * exporters read it. Single-threaded: it is touched only from the main loop.
 */
#ifndef GESPANN_REGISTRY_H
#define GESPANN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGISTRY_MAX_LABELS 24

enum metric_type {
	METRIC_COUNTER = 1,
	METRIC_GAUGE = 2,
	METRIC_HISTOGRAM = 3,
};

struct registry;
struct metric_family;
struct metric_def; /* metrics/catalogue.h */

/* A growable text buffer; exporters render into it. When buf is not NULL it
 * is NUL-terminated at len. Appends return 0 or -ENOMEM. */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};
void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* Empty the buffer but keep its memory, for reuse by the next render. */
void strbuf_reset(struct strbuf *sb);
/* Make room for `extra` more bytes plus the terminating NUL: 0 or -ENOMEM. */
int strbuf_reserve(struct strbuf *sb, size_t extra);
int strbuf_append(struct strbuf *sb, const char *s, size_t n);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct registry *registry_new(void);
void registry_free(struct registry *r); /* accepts NULL */

/*
 * Declare a family. label_names is NULL-terminated (or NULL for none), at most
 * REGISTRY_MAX_LABELS. For histograms, bounds are the upper bounds (le) in
 * increasing order, without +Inf. Strings are copied. Returns NULL on bad input
 * (duplicate name, invalid metric or label name) or ENOMEM, with errno set:
 * EINVAL, EEXIST (the name, or a histogram's name_bucket/_sum/_count, clashes
 * with a family already added) or ENOMEM. A family named as a catalogue
 * row (metrics/catalogue.h) is linked to that row: exporters take its unit
 * and DogStatsD name from there.
 */
struct metric_family *registry_add(struct registry *r, const char *name, const char *help,
				   enum metric_type type, const char *const *label_names,
				   const double *bounds, size_t n_bounds);

/* The family declared with this name, or NULL. */
struct metric_family *registry_find(const struct registry *r, const char *name);

/*
 * Remove every series of a family (the family itself stays, with its labels
 * and bounds). For gauge families rebuilt on every update: series that are not
 * set again disappear from the exposition, and Prometheus marks them stale.
 * Accepts NULL. Pointers from earlier registry_visit() callbacks into the
 * removed series are invalid afterwards.
 */
void registry_family_clear(struct metric_family *f);

/*
 * Give a family other label names (as registry_add() checks them): its
 * series are removed first (registry_family_clear()), as the old label sets
 * mean nothing under the new names. For a reload that changes which labels
 * a family exports. Returns 0, -EINVAL (f NULL, a bad name) or -ENOMEM;
 * on error the family is unchanged.
 */
int registry_family_relabel(struct metric_family *f, const char *const *label_names);

/*
 * Whether f holds exactly n series, the i-th with the label values
 * values(i, ctx) (one per label name) and, for a counter or gauge, the value
 * value(i, ctx) (bit for bit), in that order. For a caller that rebuilds a
 * gauge family each time (registry_family_clear(), then registry_set()) and
 * can skip the rebuild, and the re-render it would cause, when nothing
 * changed. Histogram families never match.
 */
bool registry_family_holds(const struct metric_family *f, size_t n,
			   const char *const *(*values)(size_t i, void *ctx),
			   double (*value)(size_t i, void *ctx), void *ctx);

/* Set a counter or gauge series. label_values has one entry per label name
 * (NULL when the family has none). Counters must not go down: a lower value is
 * ignored (the exported value stays monotonic); a negative or NaN counter value
 * is -EINVAL. Label values are copied. Returns 0 or negative errno. */
int registry_set(struct metric_family *f, const char *const *label_values, double value);

/* Set a histogram series from non-cumulative bucket counts (n_bounds + 1 entries,
 * the last being the +Inf overflow) and the sum of observations. */
int registry_set_histogram(struct metric_family *f, const char *const *label_values,
			   const uint64_t *buckets, double sum);

/* One series as push exporters see it. For histograms, buckets has
 * n_bounds + 1 non-cumulative counts (the last is +Inf) and count is their
 * sum; value is unused. Pointers are valid during the callback only. */
struct registry_sample {
	const struct metric_def *def; /* the family's catalogue row, NULL if it has none */
	const char *name;
	const char *help; /* as given to registry_add (our help texts need no escaping) */
	enum metric_type type;
	size_t n_labels;
	const char *const *label_names;
	const char *const *label_values;
	double value;
	size_t n_bounds;
	const double *bounds;
	const uint64_t *buckets;
	uint64_t count;
	double sum;
	int64_t created_ns; /* unix ns (CLOCK_REALTIME) when the series was created */
};

typedef void (*registry_visit_fn)(const struct registry_sample *s, void *ctx);

/* Call fn for every series, families in the order added, series in the order
 * created. Families without series are skipped. */
void registry_visit(const struct registry *r, registry_visit_fn fn, void *ctx);

/* Render in the Prometheus text exposition format 0.0.4: HELP and TYPE for
 * every family, families in the order added, series in the order created.
 * Appends to out (reset it first to reuse it). Returns 0 or -ENOMEM. */
int registry_render_prometheus(const struct registry *r, struct strbuf *out);

/*
 * Series created so far in r: every new series takes the next number (its
 * generation, from 1). Removing series does not lower it. A scraper that
 * remembers the generation of its last render can be shown what is new.
 */
uint64_t registry_generation(const struct registry *r);

enum registry_format {
	REGISTRY_TEXT = 0,	  /* Prometheus text 0.0.4 */
	REGISTRY_OPENMETRICS = 1, /* OpenMetrics 1.0.0 text */
};

struct registry_render_opts {
	enum registry_format format;
	/*
	 * Counter and histogram series of a generation above shown_upto are
	 * rendered at 0 (value; every bucket, _sum and _count), so a consumer
	 * that computes increases from consecutive samples (Prometheus' rate())
	 * sees 0 then the value instead of a series born at its value. Gauges
	 * always show their value. UINT64_MAX: no series is new.
	 */
	uint64_t shown_upto;
};

/*
 * Render r with opts (NULL: text 0.0.4, nothing new, as
 * registry_render_prometheus()). OpenMetrics: a counter family is named
 * without its _total suffix in HELP and TYPE (unknown type when the name has
 * no _total); counters and histograms add NAME_created{labels} (the series'
 * creation time, unix seconds with milliseconds); HELP escapes double quotes;
 * "# EOF" ends the text. Appends to out. Returns 0, -EINVAL or -ENOMEM.
 */
int registry_render(const struct registry *r, const struct registry_render_opts *opts,
		    struct strbuf *out);

/*
 * Changes a render would show, so far: a family added, a series created or
 * removed, a value that changed. Two renders with the same options of a registry at the same
 * count are the same bytes (unless registry_has_new() says a scraper is
 * shown series at 0 first).
 */
uint64_t registry_changes(const struct registry *r);

/* Whether some counter or histogram series is of a generation above
 * shown_upto, i.e. a render with that shown_upto shows a series at 0. */
bool registry_has_new(const struct registry *r, uint64_t shown_upto);

/*
 * registry_render() from a cache kept per family and format: a family that
 * did not change since its last cached render is copied, not rendered; the
 * series a scraper is shown at 0 first are rendered after the cached lines
 * of the ones it has seen (they are the family's newest). The bytes appended
 * to out are those registry_render() would append. When gz is not NULL, the
 * gzip form of exactly those bytes is appended to it, from deflated pieces
 * kept per family as well (level 1; each family's piece compressed alone).
 * The caches cost about one rendering per format in use, freed with the
 * family. Returns 0, -EINVAL, -ENOMEM or -EIO (zlib); on error out and gz
 * hold partial output.
 */
int registry_render_cached(struct registry *r, const struct registry_render_opts *opts,
			   struct strbuf *out, struct strbuf *gz);

/* A histogram bound as it is written in le: the fewest significant digits
 * that read back as the same double, laid out as Go's client library does
 * (exponent form below 1e-4 and from 1e6 on). Every exporter writes le so. */
void registry_format_bound(char *buf, size_t len, double v);

#endif
