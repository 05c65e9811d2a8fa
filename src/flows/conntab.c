// SPDX-License-Identifier: MIT
/*
 * Connection table logic: UDP flow expiry. The kernel has no notion of a UDP
 * flow ending, so silence for idle_timeout ends it; user space deletes the
 * expired keys from the kernel map after a sweep.
 */
#include <string.h>

#include "flows/conntab.h"

void conntab_sweep_udp(const struct gs_udp_key *keys, const struct gs_udp_flow *flows, size_t n,
		       uint64_t now_ns, uint64_t idle_ns, struct gs_udp_key *expired, size_t cap,
		       struct conntab_udp_sweep *out)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t last = flows[i].last_ns;

		if (last > now_ns || now_ns - last < idle_ns) {
			out->active++;
			continue;
		}
		if (out->expired < cap) {
			memcpy(&expired[out->expired], &keys[i], sizeof(keys[i]));
			out->expired++;
		} else {
			/* Stays in the kernel map; the next sweep takes it. */
			out->overflow++;
			out->active++;
		}
	}
}
