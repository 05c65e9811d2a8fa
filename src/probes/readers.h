/* SPDX-License-Identifier: MIT */
/*
 * Readers: the only way out of the kernel maps the probe families own. The
 * rest of the pipeline (flows, metrics) reads per-CPU counters, connection
 * and UDP flow entries, the live sums, the records of the ring buffer and
 * the programs' own statistics through these calls, never through a
 * skeleton, so a map can change shape in one place.
 */
#ifndef GESPANN_PROBES_READERS_H
#define GESPANN_PROBES_READERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/gespann_abi.h"
#include "probes/probes.h"

/* The families' per-CPU `stats` arrays, summed over CPUs. A family that is
 * not loaded reads as zeros. */
struct probes_sums {
	struct gs_stats tcp;
	struct gs_stats udp;
	struct gs_stats proc;
};
void probes_read_sums(struct probes *p, struct probes_sums *out);

/* Ring buffer of per-connection, process, DNS and getaddrinfo records.
 * fn gets every record as the kernel wrote it (validate before use). */
typedef void (*probes_record_fn)(void *ctx, const void *data, size_t size);
/* Open the reader (once, after probes_start). Returns 0 or a negative errno;
 * without the tcp family there is nothing to read and 0 is returned. */
int probes_events_open(struct probes *p, probes_record_fn fn, void *ctx);
/* The ring buffer's epoll fd, readable when the kernel forces a wakeup; -1 when none. */
int probes_events_fd(const struct probes *p);
/* Hand every waiting record to fn. Returns the number consumed or a negative errno. */
int probes_events_drain(struct probes *p);

/* Batches of n map entries, handed to the caller. */
typedef void (*probes_conn_fn)(void *ctx, const __u64 *keys, const struct gs_conn *vals, __u32 n);
typedef void (*probes_udp_fn)(void *ctx, const struct gs_udp_key *keys,
			      const struct gs_udp_flow *vals, __u32 n);

/* The UDP flow map one batch (up to 1024 entries) a call,
 * from where cur left it (zeroed: from the start), for passes spread over
 * loop turns. Returns 1 when more may follow, 0 when the map was read to its
 * end, or a negative errno (logged). An entry present for the whole walk is
 * handed once; one added meanwhile may be missed until the next walk. */
struct probes_batch_cursor {
	__u64 in_batch, out_batch;
	bool started;
};
int probes_read_udp_step(struct probes *p, struct probes_batch_cursor *cur, probes_udp_fn fn,
			 void *ctx);

/* The same for the connection map, each batch first refreshed in the kernel
 * when sum is not NULL and the kernel can (refresh_batch: payload folded,
 * idle counted, as refresh_live does for the whole map), fn getting the
 * values after the refresh and the batch's sums added to sum->live. A batch
 * whose refresh fails is handed as read and counted in sum->failed (logged
 * once): the sums of that walk are short. */
struct probes_refresh_sums {
	struct gs_live live;
	uint64_t failed; /* batches handed without their refresh */
};
int probes_refresh_conns_step(struct probes *p, struct probes_batch_cursor *cur,
			      struct probes_refresh_sums *sum, probes_conn_fn fn, void *ctx);

/* Remove a UDP flow, atomically with its last values where the kernel can
 * (hash lookup-and-delete, 5.14+): datagrams counted after a read are in
 * *last, none is lost between reading and deleting. Returns 1 when removed
 * with *last filled, 0 when removed without them (older kernels: the flow
 * table drops its entry at the end of the next sweep), -ENOENT when it was
 * gone already. */
int probes_udp_take(struct probes *p, const struct gs_udp_key *k, struct gs_udp_flow *last);

/* The kernel's recursion-miss count of every attached tcp program. */
typedef void (*probes_prog_fn)(void *ctx, const char *program, uint64_t recursion_misses);
void probes_recursion_misses(struct probes *p, probes_prog_fn fn, void *ctx);

/* The fd of the tcp family's `listeners` map (local listening ports), or -1. */
int probes_listeners_fd(const struct probes *p);

/* Free the readers' buffers (probes_stop calls it). */
void probes_readers_free(struct probes *p);

#endif
