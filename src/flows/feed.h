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

#include <stdbool.h>
#include <stdint.h>

#include "abi/gespann_abi.h"
#include "flows/flows.h"
#include "probes/probes.h"

struct feed;

/* The passes over kernel maps, each done in slices over loop turns. */
enum feed_pass {
	FEED_PASS_REFRESH = 0, /* open TCP connections (refresh + flow table) */
	FEED_PASS_CENSUS,      /* TIME_WAIT sockets (sock_diag), within a refresh pass */
	FEED_PASS_UDP,	       /* the UDP flow map (counts and expiry) */
	FEED_PASS_MAX
};

/* What the passes of one kind cost. Wall and slice times are CLOCK_MONOTONIC,
 * cpu the thread's CPU time (user + kernel: refresh_live and the batch
 * reads run in system calls). */
struct feed_pass_stats {
	uint64_t passes;	    /* complete passes */
	uint64_t slices;	    /* slices, every pass */
	uint64_t cpu_ns;	    /* CPU time in slices, every pass */
	uint64_t last_wall_ns;	    /* the last complete pass: first slice to last */
	uint64_t last_work_ns;	    /* its slices' time added up */
	uint64_t last_max_slice_ns; /* its longest slice */
	uint64_t last_entries;	    /* map entries it handled */
	uint64_t max_slice_ns;	    /* the longest slice of any pass */
};

struct feed_stats {
	uint64_t delivered;   /* connection records (close, failed) read */
	uint64_t invalid;     /* records rejected as malformed */
	uint64_t udp_expired; /* UDP flows removed after idle_timeout */
	uint64_t udp_active;  /* UDP flows in the map at the last sweep */
	struct gs_live live;  /* the last refresh pass */
	struct feed_pass_stats pass[FEED_PASS_MAX];
	uint64_t loop_turn_max_ns; /* the longest loop turn (feed_loop_turn) */
	uint64_t loop_turns;
};

/* Name of a pass as exported (the `pass` label). */
const char *feed_pass_name(enum feed_pass p);

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
/* A pass is in progress: the caller should call feed_work on its next
 * loop turn without waiting (epoll timeout 0). */
bool feed_busy(const struct feed *fd);
/* The next slices of the passes in progress, for about 1 ms (a slice,
 * one batch of up to 1024 map entries, is the unit), then back to the loop. */
void feed_work(struct feed *fd);
/* A loop turn took turn_ns (from epoll_wait's return to the end of the
 * turn): kept as the longest turn, the loop's worst stall. */
void feed_loop_turn(struct feed *fd, uint64_t turn_ns);
/* Drain, then the counts above. */
const struct feed_stats *feed_stats(struct feed *fd);

#endif
