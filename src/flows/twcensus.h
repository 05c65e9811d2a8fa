/* SPDX-License-Identifier: MIT */
/*
 * TIME_WAIT census: list the TIME_WAIT sockets of one network namespace, or
 * of all of them, with sock_diag dumps (what `ss -tan state time-wait` shows
 * in each).
 */
#ifndef GESPANN_TWCENSUS_H
#define GESPANN_TWCENSUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct twcensus;

/* Open the census for the namespace at netns_path (NULL: the agent's own),
 * or with all_namespaces for every namespace on the host (netns_path unused).
 * Returns NULL (logged) when sock_diag is not available. */
struct twcensus *twcensus_new(const char *netns_path, bool all_namespaces);
void twcensus_free(struct twcensus *t); /* accepts NULL */

/* Addresses as the kernel stores them (IPv4 in the first 4 bytes), ports in
 * host byte order: saddr:sport is the local end. */
typedef void (*twcensus_fn)(uint16_t family, const uint8_t saddr[16], uint16_t sport,
			    const uint8_t daddr[16], uint16_t dport, void *ctx);

/* Call fn for every TIME_WAIT socket (per namespace, IPv4 then IPv6); with
 * all_namespaces, looks for new and vanished namespaces every 10 s first.
 * Returns their number, or the first negative errno (the other namespaces
 * are still dumped). */
int twcensus_run(struct twcensus *t, twcensus_fn fn, void *ctx);

/* The same in steps: begin (the namespace rescan, when due), then step
 * until it returns something else than -EINPROGRESS: each step reads one
 * chunk (at most 32 KB, ~370 sockets) of one namespace's dump and calls fn
 * for its sockets; the last returns what twcensus_run would. Beginning
 * again drops the census in progress. */
void twcensus_begin(struct twcensus *t);
int twcensus_step(struct twcensus *t, twcensus_fn fn, void *ctx);

/* How many namespaces the census dumps (1 unless all_namespaces). */
size_t twcensus_namespaces(const struct twcensus *t);

#endif
