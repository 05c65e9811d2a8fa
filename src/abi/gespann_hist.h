/* SPDX-License-Identifier: MIT */
/*
 * Histogram slot search, shared by the kernel programs (which bucket an
 * observation into) and the unit tests (which check it against a linear
 * search over the same bounds). Pure C, no helpers.
 */
#ifndef GESPANN_HIST_H
#define GESPANN_HIST_H

#include "gespann_abi.h"

static const __u64 gs_hist_bounds[GS_HIST_NBOUNDS] = GS_HIST_BOUNDS_NS;

/* Index of the first bound >= v, or GS_HIST_NBOUNDS (the +Inf bucket).
 * Binary search in 5 fixed steps: 2^5 > GS_HIST_NBOUNDS + 1. */
static inline __attribute__((always_inline)) __u32 gs_hist_slot(__u64 v)
{
	__u32 lo = 0, hi = GS_HIST_NBOUNDS;

#ifdef __bpf__
#pragma unroll
#endif
	for (int i = 0; i < 5; i++) {
		__u32 mid = (lo + hi) / 2;

		if (lo >= hi || mid >= GS_HIST_NBOUNDS)
			break;
		if (v <= gs_hist_bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo > GS_HIST_NBOUNDS ? GS_HIST_NBOUNDS : lo;
}

#endif
