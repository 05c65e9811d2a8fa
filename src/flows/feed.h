/* SPDX-License-Identifier: MIT */
/*
 * Feed: probes -> flows. Drains the ring buffer (records -> debug lines ->
 * the flow table), runs the refresh pass over open TCP connections on a
 * timer and sweeps the UDP flow map, expiring silent flows. It keeps the
 * counts the metrics layer exports about that traffic (records delivered
 * and rejected, UDP flows expired and active, the last live sums).
 */
#ifndef GESPANN_FLOWS_FEED_H
#define GESPANN_FLOWS_FEED_H

#include <stdint.h>

#include "abi/gespann_abi.h"
#include "flows/flows.h"
#include "probes/probes.h"

struct feed;

struct feed_stats {
	uint64_t delivered;   /* connection records (close, failed) read */
	uint64_t invalid;     /* records rejected as malformed */
	uint64_t udp_expired; /* UDP flows removed after idle_timeout */
	uint64_t udp_active;  /* UDP flows in the map at the last sweep */
	struct gs_live live;  /* the last refresh pass */
};

/* Start reading p's records into f and open f's TIME_WAIT census of the
 * namespaces in scope (probes_resolve_scope; read during the call only).
 * idle_timeout_ns (the config's idle_timeout, as the tcp programs get it)
 * expires UDP flows. Returns NULL on error (logged). p and f stay the
 * caller's. */
struct feed *feed_new(struct probes *p, struct flows *f, const struct scope *scope,
		      uint64_t idle_timeout_ns);
void feed_free(struct feed *fd); /* accepts NULL */

/* The ring buffer's epoll fd (readable when the kernel forces a wakeup), or -1. */
int feed_events_fd(const struct feed *fd);
/* Consume every waiting record. Returns the number consumed or a negative errno. */
int feed_drain(struct feed *fd);
/* Periodic work (about once a second): the refresh pass when due, the UDP
 * sweep, the flow table's upkeep. now_ns is CLOCK_MONOTONIC. */
void feed_tick(struct feed *fd, uint64_t now_ns);
/* Drain, then the counts above. */
const struct feed_stats *feed_stats(struct feed *fd);

#endif
