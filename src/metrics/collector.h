/* SPDX-License-Identifier: MIT */
/*
 * Collector: the kernel's per-CPU aggregates, the feed's counts and the
 * agent's own figures into the metrics registry the exporters read.
 */
#ifndef GESPANN_COLLECTOR_H
#define GESPANN_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "flows/feed.h"
#include "metrics/registry.h"
#include "probes/probes.h"
#include "probes/readers.h"

struct collector;

/* Declares the core metric families in reg. p stays the caller's. Returns
 * NULL on error (logged). */
struct collector *collector_new(struct registry *reg, struct probes *p);
void collector_free(struct collector *c); /* accepts NULL */

/* The agent's own CPU time and resident memory (have_*: read). */
struct collector_self {
	double cpu_seconds;
	double rss_bytes;
	bool have_cpu, have_rss;
};
void collector_read_self(struct collector_self *self);

/* Read all kernel state into the registry (called before every export):
 * probes_read_sums, then feed_stats (which drains fd's records), then
 * collector_publish. */
void collector_update(struct collector *c, struct feed *fd);
/* The pure part: sums, the feed's counts and the agent's own figures into
 * the core families. Reset reason names and features come from the probes
 * given to collector_new; nothing else is read. */
void collector_publish(struct collector *c, const struct probes_sums *sums,
		       const struct feed_stats *st, const struct collector_self *self);

#endif
