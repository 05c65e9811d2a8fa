/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Kernel-only helpers shared by the probe families: per-CPU statistics,
 * histogram slots, netns scoping. Header-only, static __always_inline.
 */
#ifndef GESPANN_MAPS_BPF_H
#define GESPANN_MAPS_BPF_H

#include "abi/gespann_abi.h"
#include "abi/gespann_hist.h"

/* Network namespace cookie the agent is scoped to; 0 = every namespace.
 * Set by user space before load. */
const volatile __u64 target_netns = 0;

/* Counters may be bumped by two different programs nesting on one CPU (a
 * softirq tracepoint inside a process-context one), so adds are atomic even
 * though the memory is per-CPU: an uncontended local lock add is cheap. */
#define STAT_ADD(st, idx, v) __sync_fetch_and_add(&(st)->counters[(idx)], (v))
#define STAT_INC(st, idx)    STAT_ADD(st, idx, 1)

/* Keep the compiler from folding a bounds check into a form the verifier
 * cannot follow. */
#define gs_barrier_var(v) asm volatile("" : "+r"(v))

/* A family's counters: one struct gs_stats per CPU in a one-slot per-CPU
 * array, summed over CPUs by user space (probes/readers.c). */
#define GS_STATS_MAP(name)                               \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, 1);                  \
		__type(key, __u32);                      \
		__type(value, struct gs_stats);          \
	} name SEC(".maps")

/* The records' ring buffer, `events` in every family. The tcp family's is
 * sized from the config; the others point theirs at it before load
 * (bpf_map__reuse_fd), so one reader drains every record. */
#define GS_EVENTS_MAP()                             \
	struct {                                    \
		__uint(type, BPF_MAP_TYPE_RINGBUF); \
		__uint(max_entries, 1 << 20);       \
	} events SEC(".maps")

/* This CPU's counters in a GS_STATS_MAP (NULL only if the lookup fails). */
static __always_inline struct gs_stats *gs_stats_this_cpu(void *stats_map)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(stats_map, &zero);
}

static __always_inline bool gs_in_scope(__u64 cookie)
{
	return target_netns == 0 || cookie == target_netns;
}

static __always_inline void gs_hist_observe(struct gs_stats *st, __u32 h, __u64 v)
{
	__u32 slot = gs_hist_slot(v);

	if (h >= GS_H_MAX || slot >= GS_HIST_NBUCKETS)
		return;
	__sync_fetch_and_add(&st->hist[h][slot], 1);
	__sync_fetch_and_add(&st->hist_sum_ns[h], v);
}

#endif
