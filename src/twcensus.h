/* SPDX-License-Identifier: MIT */
/*
 * TIME_WAIT census: list the TIME_WAIT sockets of one network namespace with
 * a sock_diag dump (what `ss -tan state time-wait` shows).
 */
#ifndef GESPANN_TWCENSUS_H
#define GESPANN_TWCENSUS_H

#include <stdint.h>
#include <stdlib.h>

struct twcensus;

/* Open the census for the namespace at netns_path (NULL: the agent's own).
 * Returns NULL (logged) when sock_diag is not available. */
struct twcensus *twcensus_new(const char *netns_path);
void twcensus_free(struct twcensus *t); /* accepts NULL */

/* Addresses as the kernel stores them (IPv4 in the first 4 bytes), ports in
 * host byte order: saddr:sport is the local end. */
typedef void (*twcensus_fn)(uint16_t family, const uint8_t saddr[16], uint16_t sport,
			    const uint8_t daddr[16], uint16_t dport, void *ctx);

/* Call fn for every TIME_WAIT socket (IPv4 then IPv6). Returns their number
 * or a negative errno. */
int twcensus_run(struct twcensus *t, twcensus_fn fn, void *ctx);

#endif
