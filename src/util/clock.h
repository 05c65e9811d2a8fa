/* SPDX-License-Identifier: MIT */
/*
 * Clocks, in nanoseconds as uint64_t: CLOCK_MONOTONIC for intervals,
 * deadlines and the kernel's bpf_ktime_get_ns() timestamps; CLOCK_REALTIME
 * for what leaves the agent with a wall-clock time.
 */
#ifndef GESPANN_CLOCK_H
#define GESPANN_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t unix_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

#endif
