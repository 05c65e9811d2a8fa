/* SPDX-License-Identifier: MIT */
/*
 * Aggregating metric families with a hard cap on series: the flow, process and
 * DNS metrics whose label values come from the traffic (addresses, process
 * names, host names). Values are accumulated here per label set and published
 * into the registry; past max_series distinct label sets, new ones are folded
 * into one series whose every label value is "other".
 */
#ifndef GESPANN_AGG_H
#define GESPANN_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

/* The label value of the series that takes every label set past the cap. */
#define AGG_OTHER "other"

/* Folded label sets remembered to count each one once in agg_dropped(). */
#define AGG_MAX_FOLDED 65536

struct agg;

/*
 * Register the family `name` in reg with only the selected labels: bit i of
 * selected_mask selects all_labels[i] (NULL-terminated, at most 64 names; at
 * most REGISTRY_MAX_LABELS selected), kept in all_labels order. bounds and
 * n_bounds as for registry_add() (histograms only). max_series >= 1 is the
 * cap on the samples of distinct label sets (the `other` series comes on
 * top): a counter or gauge label set is one sample, a histogram's is its
 * n_bounds + 1 buckets plus _sum and _count (n_bounds + 3), so a histogram
 * family holds max_series / (n_bounds + 3) label sets. Returns NULL
 * with errno EINVAL, EEXIST (see registry_add()) or ENOMEM. The family stays
 * in reg after agg_free(); agg_publish() must not be called after
 * registry_free(reg).
 */
struct agg *agg_new(struct registry *reg, const char *name, const char *help, enum metric_type type,
		    const char *const *all_labels, uint64_t selected_mask, const double *bounds,
		    size_t n_bounds, size_t max_series);

/* Accepts NULL. */
void agg_free(struct agg *a);

/*
 * A reload: the cap becomes max_series (series over a lowered cap stay, new
 * label sets fold into `other`), and when selected_mask (over all_labels, as
 * given to agg_new()) selects other labels than before, every series is
 * dropped and the registry family takes the new label names
 * (registry_family_relabel()): old label sets mean nothing under the new
 * labels. agg_dropped() keeps counting. Returns 1 when the labels changed,
 * 0 when they did not, -EINVAL or -ENOMEM (labels unchanged).
 */
int agg_reconfigure(struct agg *a, const char *const *all_labels, uint64_t selected_mask,
		    size_t max_series);

/*
 * Counter: add delta (>= 0) to the series of `values` (indexed like
 * all_labels; unselected entries are ignored and may be NULL, a NULL selected
 * value counts as ""). Values are copied. Returns 0, -EINVAL (not a counter,
 * negative or NaN delta, NULL argument) or -ENOMEM.
 */
int agg_add(struct agg *a, const char *const *values, double delta);

/* Histogram: one observation of v (not NaN). Same contract as agg_add(). */
int agg_observe(struct agg *a, const char *const *values, double v);

/*
 * Gauge: start a new snapshot (every series of the previous one is dropped
 * here; the registry keeps showing it until the next agg_publish()).
 */
void agg_gauge_begin(struct agg *a);

/* Gauge: add delta (not NaN) to the series of `values` in the current snapshot. */
int agg_gauge_add(struct agg *a, const char *const *values, double delta);

/*
 * Write into the registry: counters and histograms their cumulative values
 * (series changed since the last publish); gauges: clear the family, then
 * every series of the current snapshot. Returns 0 or the first error of
 * registry_set() (-ENOMEM); the rest is still written.
 */
int agg_publish(struct agg *a);

/*
 * Distinct label sets folded into the `other` series so far (for gauges,
 * over every snapshot). Exact up to AGG_MAX_FOLDED distinct sets; past that,
 * a fold of a set not remembered counts every time.
 */
uint64_t agg_dropped(const struct agg *a);

/* Series (label sets) held now, the `other` series included: at most
 * max_series / cost + 1, where cost is 1 or a histogram's n_bounds + 3. */
size_t agg_series(const struct agg *a);

/* The registry family (for tests and for callers rendering the family name). */
struct metric_family *agg_family(const struct agg *a);

#endif
