/* SPDX-License-Identifier: MIT */
/*
 * Collector: the middle of the pipeline. Drains the ring buffer (records ->
 * log lines), sweeps the UDP flow table, and turns the kernel's per-CPU
 * aggregates and live sums into the metrics registry the exporters read.
 */
#ifndef GESPANN_COLLECTOR_H
#define GESPANN_COLLECTOR_H

#include <stdint.h>

#include "config/config.h"
#include "exporters/exporter.h"
#include "probes/probes.h"
#include "metrics/registry.h"

struct collector;

/* Declares every metric family in reg. Returns NULL on error (logged). */
struct collector *collector_new(struct registry *reg, struct probes *p, const struct config *cfg);
void collector_free(struct collector *c); /* accepts NULL */

/* The ring buffer's epoll fd (readable when the kernel forces a wakeup). */
int collector_events_fd(const struct collector *c);
/* Consume every waiting record. Returns the number consumed or a negative errno. */
int collector_drain(struct collector *c);
/* Periodic work: expire silent UDP flows. now_ns is CLOCK_MONOTONIC. */
void collector_tick(struct collector *c, uint64_t now_ns);
/* The exporters whose error and drop counts are exported (may change later). */
void collector_set_exporters(struct collector *c, const struct exporter *ex, size_t n);
/* Read all kernel state into the registry (called before every export). */
void collector_update(struct collector *c);

#endif
