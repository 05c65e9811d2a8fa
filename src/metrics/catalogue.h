/* SPDX-License-Identifier: MIT */
/*
 * The metric catalogue: one row per family the agent exports, the one place
 * a family's Prometheus name, type, help, OpenTelemetry unit, labels,
 * histogram bounds and DogStatsD name are written. The collector and the
 * flows declare their families from these rows (by id), the registry keeps
 * a pointer to the row, and the exporters name and describe what they send
 * from it. Adding a metric: a row here (and its id), then set it where its
 * figures are; README's metric tables list every row (a unit test checks).
 */
#ifndef GESPANN_METRICS_CATALOGUE_H
#define GESPANN_METRICS_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

/* Rows in the order the agent declares them (the order of /metrics). */
enum metric_id {
	/* core: kernel counters, the feed, the agent itself (collector.c) */
	M_OPEN = 0,
	M_TOTAL_GAUGE,
	M_CONNECTIONS_TOTAL,
	M_TCP_CONNECTIONS,
	M_UDP_CONNECTIONS,
	M_CLOSED,
	M_RESET,
	M_FAILED,
	M_IDLE,
	M_BYTES_SENT,
	M_BYTES_RECEIVED,
	M_BANDWIDTH,
	M_AVG_DURATION_MS,
	M_AVG_RTT_US,
	M_DURATION_HIST,
	M_RTT_HIST,
	M_CONNECT_HIST,
	M_RETRANS,
	M_EVENTS,
	M_FAILURES,
	M_BUILD_INFO,
	M_EVENTS_LOST,
	M_EVENTS_DELIVERED,
	M_EVENTS_INVALID,
	M_MAP_FULL,
	M_TRACKED,
	M_CPU,
	M_RSS,
	M_FEATURE,
	M_RECURSION_MISSES,
	M_TRANSITIONS_RECOVERED,
	M_UDP_FLOWS_EXPIRED,
	M_UDP_DGRAMS,
	M_EXPORTER_ERRORS, /* set by the exporters (exporters_publish) */
	M_EXPORTER_DROPPED,
	M_EXPORTER_REJECTED,
	M_RECORDS_LOST,
	M_RECORDS,
	M_ACCEPT_OWNED,
	M_UDP_UNOWNED,
	M_PASS_DURATION, /* the passes over kernel maps (flows/feed.c) */
	M_PASS_SLICE_MAX,
	M_PASS_SLICES,
	M_PASS_CPU,
	M_PASS_ENTRIES,
	M_LOOP_STALL,
	M_CORE_END, /* the collector declares [0, M_CORE_END) */
	/* flow, process and DNS families, attribute-selected (families.c) */
	M_FLOW_BYTES = M_CORE_END,
	M_FLOW_CONNS,
	M_FLOW_RETRANS,
	M_FLOW_RTT,
	M_FLOW_OPEN,
	M_ZONE_BYTES,
	M_PROC_BYTES,
	M_DNS_QUERIES,
	M_DNS_LATENCY,
	/* plain families of the flows */
	M_SERIES_DROPPED,
	M_DNS_MALFORMED,
	M_DNS_NAMES,
	M_DNS_NAMES_EVICTED,
	M_FLOW_ENTRIES_LOST,
	/* the Prometheus endpoint's guard, declared on its first refusal (httpguard.c) */
	M_HTTP_REJECTED,
	M_SCRAPERS_FORGOTTEN,
	/* the event queue of OTLP logs, declared once logs are on (eventq.c) */
	M_LOG_RECORDS,
	M_LOG_RECORDS_DROPPED,
	M_MAX,
};

/* Histogram bounds of a family. */
enum metric_bounds {
	MB_NONE = 0,
	MB_KERNEL, /* GS_HIST_BOUNDS_NS in seconds: the kernel's buckets */
	MB_DNS,	   /* DNS latency, 0.5 ms to 10 s */
};

struct metric_def {
	const char *name; /* Prometheus */
	enum metric_type type;
	const char *help;
	const char *unit;	   /* UCUM, for OTLP */
	const char *const *labels; /* NULL-terminated; every label the family can have */
	uint64_t defaults; /* attribute-selected families: bit i = labels[i] on by default */
	enum metric_bounds bounds;
	const char *dsd_name; /* DogStatsD, after the namespace */
};

extern const struct metric_def catalogue[M_MAX];

/* The row named name, or NULL. */
const struct metric_def *catalogue_find(const char *name);

/* The upper bounds of a histogram family's buckets (without +Inf) and their
 * number; NULL and 0 for MB_NONE. */
const double *catalogue_bounds(enum metric_bounds b, size_t *n);

/* Declare the row's family in reg with all its labels and bounds: the
 * registry_add() contract (NULL with errno set on error). */
struct metric_family *catalogue_declare(struct registry *reg, enum metric_id id);

#endif
