// SPDX-License-Identifier: MIT
/*
 * Aggregating families with a hard series cap (see agg.h).
 *
 * The flow metrics take their label values from the traffic, so an address
 * scan or a fork bomb could create a series per packet. Each agg keeps its own
 * table of label sets (selected labels only), at most max_series samples of
 * them plus the `other` series that takes every label set past the cap. A
 * sample is a line of the exposition: a histogram label set costs its buckets
 * plus _sum and _count (29 for the kernel's 26 bounds), so the cap bounds the
 * scrape's size, not just the label sets. Folded label
 * sets are remembered by a 64-bit hash in a bounded set so that
 * gespann_series_dropped_total counts each once.
 *
 * Layout: one allocation per series (struct, histogram buckets, copied
 * values), an open-addressing table of series pointers (linear probing, load
 * at most 1/2, grown with the series so memory follows use, never past what
 * max_series needs). Lookups are O(1) on average.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/agg.h"
#include "util/hashmix.h"

#define AGG_MIN_SLOTS 16

struct agg_series {
	uint64_t hash;
	double value;	   /* counter, gauge */
	double sum;	   /* histogram */
	uint64_t *buckets; /* histogram: n_bounds + 1 non-cumulative counts */
	bool dirty;	   /* changed since the last publish */
	char *values[];	   /* one per selected label */
};

struct agg {
	struct metric_family *fam;
	enum metric_type type;
	size_t n_all;
	size_t n_sel;
	size_t sel[REGISTRY_MAX_LABELS]; /* all_labels index of each selected label */
	double *bounds;
	size_t n_bounds;
	size_t max_series;

	struct agg_series **series; /* creation order */
	size_t n_series, cap_series;
	size_t n_regular;	  /* samples of the series that count against max_series */
	size_t cost;		  /* samples one series renders: 1, or buckets + _sum + _count */
	struct agg_series *other; /* the `other` series, once it exists */
	struct agg_series **slots;
	size_t n_slots;

	uint64_t *folded; /* hashes of folded label sets; 0 = empty slot */
	size_t n_folded, n_folded_slots;
	uint64_t dropped;
};

/* ==== Hashing ==== */

static const char *value_at(const struct agg *a, const char *const *values, size_t i)
{
	const char *v = values[a->sel[i]];

	return v ? v : "";
}

/* FNV-1a over each value with its NUL, then a murmur3 finaliser (as registry.c). */
static uint64_t key_hash(const struct agg *a, const char *const *values)
{
	uint64_t h = FNV1A_INIT;

	for (size_t i = 0; i < a->n_sel; i++)
		h = fnv1a_str(h, value_at(a, values, i));
	return fmix64(h);
}

static bool key_matches(const struct agg *a, const struct agg_series *s, uint64_t h,
			const char *const *values)
{
	size_t i;

	if (s->hash != h)
		return false;
	for (i = 0; i < a->n_sel; i++) {
		if (strcmp(s->values[i], value_at(a, values, i)))
			return false;
	}
	return true;
}

/* ==== Series table ==== */

static size_t slot_find(const struct agg *a, uint64_t h, const char *const *values)
{
	size_t mask = a->n_slots - 1, i;

	for (i = h & mask; a->slots[i]; i = (i + 1) & mask) {
		if (key_matches(a, a->slots[i], h, values))
			return i;
	}
	return i;
}

static int table_reserve(struct agg *a)
{
	struct agg_series **slots, **grown;
	size_t n, i, j;

	if (a->n_series == a->cap_series) {
		n = a->cap_series ? a->cap_series * 2 : 16;
		grown = reallocarray(a->series, n, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		a->series = grown;
		a->cap_series = n;
	}
	if ((a->n_series + 1) * 2 <= a->n_slots)
		return 0;
	n = a->n_slots ? a->n_slots * 2 : AGG_MIN_SLOTS;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < a->n_series; i++) {
		for (j = a->series[i]->hash & (n - 1); slots[j]; j = (j + 1) & (n - 1))
			;
		slots[j] = a->series[i];
	}
	free(a->slots);
	a->slots = slots;
	a->n_slots = n;
	return 0;
}

static struct agg_series *series_alloc(const struct agg *a, uint64_t h, const char *const *values)
{
	size_t i, off, n_buckets, raw = 0;
	struct agg_series *s;
	char *p;

	n_buckets = a->type == METRIC_HISTOGRAM ? a->n_bounds + 1 : 0;
	for (i = 0; i < a->n_sel; i++)
		raw += strlen(value_at(a, values, i)) + 1;
	off = sizeof(*s) + a->n_sel * sizeof(char *);
	off = (off + _Alignof(uint64_t) - 1) & ~(_Alignof(uint64_t) - 1);
	s = calloc(1, off + n_buckets * sizeof(uint64_t) + raw);
	if (!s)
		return NULL;
	s->hash = h;
	s->buckets = n_buckets ? (uint64_t *)((char *)s + off) : NULL;
	p = (char *)s + off + n_buckets * sizeof(uint64_t);
	for (i = 0; i < a->n_sel; i++) {
		s->values[i] = p;
		p = stpcpy(p, value_at(a, values, i)) + 1;
	}
	return s;
}

static bool is_other_key(const struct agg *a, const char *const *values)
{
	size_t i;

	for (i = 0; i < a->n_sel; i++) {
		if (strcmp(value_at(a, values, i), AGG_OTHER))
			return false;
	}
	return true;
}

/* Insert a new series for values (known absent) at its slot. */
static int series_insert(struct agg *a, uint64_t h, const char *const *values,
			 struct agg_series **out)
{
	struct agg_series *s;
	int err;

	err = table_reserve(a);
	if (err)
		return err;
	s = series_alloc(a, h, values);
	if (!s)
		return -ENOMEM;
	a->slots[slot_find(a, h, values)] = s;
	a->series[a->n_series++] = s;
	*out = s;
	return 0;
}

/* Remember a folded label set; true when it had not been folded before. */
static bool folded_insert(struct agg *a, uint64_t h)
{
	uint64_t *slots;
	size_t n, i, j;

	h = h ? h : 1; /* 0 marks an empty slot */
	if (a->n_folded_slots) {
		for (i = h & (a->n_folded_slots - 1); a->folded[i];
		     i = (i + 1) & (a->n_folded_slots - 1)) {
			if (a->folded[i] == h)
				return false;
		}
	}
	/*
	 * Full: every fold of a set that is not remembered counts again, so past
	 * AGG_MAX_FOLDED distinct sets agg_dropped() counts folds, not sets.
	 */
	if (a->n_folded >= AGG_MAX_FOLDED)
		return true;
	if ((a->n_folded + 1) * 2 > a->n_folded_slots) {
		n = a->n_folded_slots ? a->n_folded_slots * 2 : 64;
		slots = calloc(n, sizeof(*slots));
		if (!slots)
			return true; /* out of memory: count it anyway */
		for (i = 0; i < a->n_folded_slots; i++) {
			if (!a->folded[i])
				continue;
			for (j = a->folded[i] & (n - 1); slots[j]; j = (j + 1) & (n - 1))
				;
			slots[j] = a->folded[i];
		}
		free(a->folded);
		a->folded = slots;
		a->n_folded_slots = n;
	}
	for (i = h & (a->n_folded_slots - 1); a->folded[i]; i = (i + 1) & (a->n_folded_slots - 1))
		;
	a->folded[i] = h;
	a->n_folded++;
	return true;
}

/* The series for values: found, created, or (past the cap) the `other` one. */
static int series_get(struct agg *a, const char *const *values, struct agg_series **out)
{
	const char *other_values[64];
	struct agg_series *s;
	uint64_t h;
	size_t i;
	int err;

	h = key_hash(a, values);
	s = a->slots[slot_find(a, h, values)];
	if (s) {
		*out = s;
		return 0;
	}
	if (is_other_key(a, values)) {
		err = series_insert(a, h, values, &a->other);
		if (!err)
			*out = a->other;
		return err;
	}
	if (a->n_regular + a->cost <= a->max_series) {
		err = series_insert(a, h, values, out);
		if (!err)
			a->n_regular += a->cost;
		return err;
	}
	if (folded_insert(a, h))
		a->dropped++;
	if (a->other) {
		*out = a->other;
		return 0;
	}
	for (i = 0; i < a->n_all; i++)
		other_values[i] = AGG_OTHER;
	h = key_hash(a, other_values);
	err = series_insert(a, h, other_values, &a->other);
	if (!err)
		*out = a->other;
	return err;
}

/* ==== Public API ==== */

struct agg *agg_new(struct registry *reg, const char *name, const char *help, enum metric_type type,
		    const char *const *all_labels, uint64_t selected_mask, const double *bounds,
		    size_t n_bounds, size_t max_series)
{
	const char *names[REGISTRY_MAX_LABELS + 1];
	struct agg *a;
	size_t n = 0, i;

	if (!reg || !name || !max_series || (n_bounds && !bounds)) {
		errno = EINVAL;
		return NULL;
	}
	while (all_labels && all_labels[n]) {
		if (++n > 64) {
			errno = EINVAL;
			return NULL;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->type = type;
	a->n_all = n;
	a->max_series = max_series;
	/* a histogram label set is n_bounds + 1 buckets, _sum and _count on the wire */
	a->cost = type == METRIC_HISTOGRAM ? n_bounds + 3 : 1;
	for (i = 0; i < n; i++) {
		if (!(selected_mask & (UINT64_C(1) << i)))
			continue;
		if (a->n_sel == REGISTRY_MAX_LABELS) {
			free(a);
			errno = EINVAL;
			return NULL;
		}
		names[a->n_sel] = all_labels[i];
		a->sel[a->n_sel++] = i;
	}
	names[a->n_sel] = NULL;
	if (n_bounds) {
		a->bounds = calloc(n_bounds, sizeof(*a->bounds));
		if (!a->bounds) {
			free(a);
			errno = ENOMEM;
			return NULL;
		}
		memcpy(a->bounds, bounds, n_bounds * sizeof(*bounds));
		a->n_bounds = n_bounds;
	}
	a->slots = calloc(AGG_MIN_SLOTS, sizeof(*a->slots));
	if (!a->slots) {
		agg_free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->n_slots = AGG_MIN_SLOTS;
	/* registry_add() checks the type, names and bounds and sets errno */
	a->fam = registry_add(reg, name, help, type, names, bounds, n_bounds);
	if (!a->fam) {
		int err = errno;

		agg_free(a);
		errno = err;
		return NULL;
	}
	return a;
}

static void series_free_all(struct agg *a)
{
	size_t i;

	for (i = 0; i < a->n_series; i++)
		free(a->series[i]);
	a->n_series = 0;
	a->n_regular = 0;
	a->other = NULL;
	if (a->slots)
		memset(a->slots, 0, a->n_slots * sizeof(*a->slots));
}

void agg_free(struct agg *a)
{
	if (!a)
		return;
	series_free_all(a);
	free(a->series);
	free(a->slots);
	free(a->folded);
	free(a->bounds);
	free(a);
}

int agg_reconfigure(struct agg *a, const char *const *all_labels, uint64_t selected_mask,
		    size_t max_series)
{
	const char *names[REGISTRY_MAX_LABELS + 1];
	size_t sel[REGISTRY_MAX_LABELS], n_sel = 0, i;
	int err;

	if (!a || !all_labels || !max_series)
		return -EINVAL;
	for (i = 0; i < a->n_all; i++) {
		if (!(selected_mask & (UINT64_C(1) << i)))
			continue;
		if (n_sel == REGISTRY_MAX_LABELS)
			return -EINVAL;
		names[n_sel] = all_labels[i];
		sel[n_sel++] = i;
	}
	names[n_sel] = NULL;
	a->max_series = max_series;
	if (n_sel == a->n_sel && !memcmp(sel, a->sel, n_sel * sizeof(sel[0])))
		return 0;
	err = registry_family_relabel(a->fam, names);
	if (err)
		return err;
	series_free_all(a);
	memcpy(a->sel, sel, sizeof(sel));
	a->n_sel = n_sel;
	/* folded label sets of the old labels: forgotten; dropped counts on */
	free(a->folded);
	a->folded = NULL;
	a->n_folded = a->n_folded_slots = 0;
	return 1;
}

int agg_add(struct agg *a, const char *const *values, double delta)
{
	struct agg_series *s;
	int err;

	if (!a || a->type != METRIC_COUNTER || (a->n_sel && !values) || isnan(delta) || delta < 0)
		return -EINVAL;
	err = series_get(a, values, &s);
	if (err)
		return err;
	s->value += delta;
	s->dirty = true;
	return 0;
}

int agg_observe(struct agg *a, const char *const *values, double v)
{
	struct agg_series *s;
	size_t lo = 0, hi;
	int err;

	if (!a || a->type != METRIC_HISTOGRAM || (a->n_sel && !values) || isnan(v))
		return -EINVAL;
	err = series_get(a, values, &s);
	if (err)
		return err;
	/* the first bucket whose upper bound holds v; n_bounds is +Inf */
	hi = a->n_bounds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v <= a->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	s->buckets[lo]++;
	s->sum += v;
	s->dirty = true;
	return 0;
}

void agg_gauge_begin(struct agg *a)
{
	if (!a || a->type != METRIC_GAUGE)
		return;
	series_free_all(a);
}

int agg_gauge_add(struct agg *a, const char *const *values, double delta)
{
	struct agg_series *s;
	int err;

	if (!a || a->type != METRIC_GAUGE || (a->n_sel && !values) || isnan(delta))
		return -EINVAL;
	err = series_get(a, values, &s);
	if (err)
		return err;
	s->value += delta;
	s->dirty = true;
	return 0;
}

static const char *const *snapshot_values(size_t i, void *ctx)
{
	const struct agg *a = ctx;

	return (const char *const *)a->series[i]->values;
}

static double snapshot_value(size_t i, void *ctx)
{
	const struct agg *a = ctx;

	return a->series[i]->value;
}

int agg_publish(struct agg *a)
{
	int ret = 0, err;
	size_t i;

	if (!a)
		return -EINVAL;
	/*
	 * A gauge snapshot equal to the one the registry shows (same label sets
	 * in the same order, same values) is left as it is: rebuilding it would
	 * cost a series allocation each and make the scrape render it again.
	 */
	if (a->type == METRIC_GAUGE &&
	    registry_family_holds(a->fam, a->n_series, snapshot_values, snapshot_value, a)) {
		for (i = 0; i < a->n_series; i++)
			a->series[i]->dirty = false;
		return 0;
	}
	if (a->type == METRIC_GAUGE)
		registry_family_clear(a->fam);
	for (i = 0; i < a->n_series; i++) {
		struct agg_series *s = a->series[i];
		const char *const *v = (const char *const *)s->values;

		if (!s->dirty && a->type != METRIC_GAUGE)
			continue;
		if (a->type == METRIC_HISTOGRAM)
			err = registry_set_histogram(a->fam, v, s->buckets, s->sum);
		else
			err = registry_set(a->fam, v, s->value);
		if (err) {
			if (!ret)
				ret = err;
			continue; /* stays dirty: the next publish tries again */
		}
		s->dirty = false;
	}
	return ret;
}

uint64_t agg_dropped(const struct agg *a)
{
	return a ? a->dropped : 0;
}

size_t agg_series(const struct agg *a)
{
	return a ? a->n_series : 0;
}

struct metric_family *agg_family(const struct agg *a)
{
	return a ? a->fam : NULL;
}
