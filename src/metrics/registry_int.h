/* SPDX-License-Identifier: MIT */
/*
 * The registry's insides, shared by registry.c (families, series, lookup)
 * and render.c (the exposition formats) only. Exporters use registry.h.
 */
#ifndef GESPANN_REGISTRY_INT_H
#define GESPANN_REGISTRY_INT_H

#include <stdint.h>

#include "metrics/registry.h"

/* Series per piece of a family's cached rendering (render.c). */
#define SEGMENT_SERIES 256

/* Longest rendered number: "-1.2345678901234567e-308" plus NUL. */
#define NUM_MAX 32

struct series {
	struct metric_family *family;
	uint64_t hash;
	uint64_t born;	    /* the registry's generation that created it (1, 2, ...) */
	int64_t created_ns; /* CLOCK_REALTIME at creation: OpenMetrics _created, OTLP start */
	uint64_t changed;   /* the family's version at its creation or last change */
	double value;	    /* counter, gauge */
	double sum;	    /* histogram */
	uint64_t *buckets;  /* histogram: n_bounds + 1 non-cumulative counts */
	char *labels;	    /* escaped `a="x",b="y"`; "" for a family without labels */
	char *values[];	    /* raw label values, one per label name */
};

/* A family's rendering kept between scrapes (render.c), per format. */
struct family_cache;

struct metric_family {
	struct registry *reg;
	struct metric_family *next;
	const struct metric_def *def;
	char *name;
	char *help; /* escaped */
	enum metric_type type;
	unsigned int id;
	size_t n_labels;
	char *label_names[REGISTRY_MAX_LABELS];
	size_t n_bounds;
	double *bounds;
	char (*le)[NUM_MAX];	/* bounds rendered once, for the le label */
	struct series **series; /* creation order, so born increases along it */
	size_t n_series;
	size_t cap_series;
	uint64_t version;	       /* bumped by every change a render would show */
	uint64_t layout;	       /* bumped when series are removed (indices change) */
	struct family_cache *cache[2]; /* by enum registry_format; NULL until cached */
};

struct registry {
	struct metric_family *head;
	struct metric_family *tail;
	unsigned int n_families;
	struct series **slots; /* open addressing, linear probing, power of 2 */
	size_t n_slots;
	size_t n_used;
	uint64_t generation; /* series created so far, removed ones included */
	uint64_t changes;    /* sum of every family's version bumps */
};

/* Frees a family's render caches (render.c); accepts NULLs. */
void family_cache_free(struct metric_family *f);

#endif
