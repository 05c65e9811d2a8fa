/* SPDX-License-Identifier: MIT */
/*
 * Connection table, user-space side. The kernel maps hold the live state; this
 * module decides what user space does with a batch read of them: which UDP
 * flows expired (silent for idle_timeout) and how many stay active. Pure
 * logic with the clock passed in, so it is tested without BPF.
 */
#ifndef GESPANN_CONNTAB_H
#define GESPANN_CONNTAB_H

#include <stddef.h>
#include <stdint.h>

#include "abi/gespann_abi.h"

struct conntab_udp_sweep {
	uint64_t active;   /* flows that stay */
	uint64_t expired;  /* flows whose keys were written to expired[] */
	uint64_t overflow; /* expired flows that did not fit; retried next sweep */
};

/*
 * Sort a batch of UDP flows into active and expired at time now_ns (same
 * clock as the kernel's bpf_ktime_get_ns: CLOCK_MONOTONIC). A flow is expired
 * when now_ns - last_ns >= idle_ns; a last_ns in the future (the flow moved
 * after `now` was read) counts as active. Expired keys are copied to
 * expired[0..cap). Adds to *out (callers sum several batches).
 */
void conntab_sweep_udp(const struct gs_udp_key *keys, const struct gs_udp_flow *flows, size_t n,
		       uint64_t now_ns, uint64_t idle_ns, struct gs_udp_key *expired, size_t cap,
		       struct conntab_udp_sweep *out);

#endif
