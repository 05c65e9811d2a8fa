/* SPDX-License-Identifier: MIT */
/*
 * Collector: the kernel's per-CPU aggregates, the feed's counts and the
 * agent's own figures into the metrics registry the exporters read.
 */
#ifndef GESPANN_COLLECTOR_H
#define GESPANN_COLLECTOR_H

#include <stddef.h>

#include "exporters/exporter.h"
#include "flows/feed.h"
#include "metrics/registry.h"
#include "probes/probes.h"

struct collector;

/* Declares the core metric families in reg. p stays the caller's. Returns
 * NULL on error (logged). */
struct collector *collector_new(struct registry *reg, struct probes *p);
void collector_free(struct collector *c); /* accepts NULL */

/* The exporters whose error and drop counts are exported (may change later). */
void collector_set_exporters(struct collector *c, const struct exporter *ex, size_t n);
/* Read all kernel state into the registry (called before every export);
 * drains fd's records after reading the counters. */
void collector_update(struct collector *c, struct feed *fd);

#endif
