/* SPDX-License-Identifier: MIT */
/*
 * Flows: who talks to whom. The user-space connection table between event
 * decoding and the metrics registry. It gives every TCP connection and UDP
 * flow its labels once (owning process from the process cache, peer name
 * from the DNS host-name cache, peer class and zone and the local zone from
 * the network table, else the host's zone), turns the kernel's
 * per-connection figures into deltas (batch reads of the live maps, then
 * the final record) and adds them to capped, attribute-selected families,
 * the inter-zone bytes among them. DNS packet records, getaddrinfo results and process
 * records come through here too: they feed the caches the labels come from.
 */
#ifndef GESPANN_FLOWS_H
#define GESPANN_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/gespann_abi.h"
#include "config/config.h"
#include "metrics/registry.h"

struct flows;
struct proccache;
struct hostcache;
struct netclass;
struct scope;

/* The enrichment the labels come from, built by the caller from their own
 * config sections (processes, dns, networks); they must outlive the flows.
 * The flows feed process records and DNS answers into pc and hc. */
struct flows_enrich {
	struct proccache *pc;
	struct hostcache *hc;
	struct netclass *nc;
};

/*
 * Declare the flow, process and DNS families in reg, with the attributes the
 * config selects. Returns NULL with a one-line message in err (an unknown
 * attribute in attributes.select, out of memory).
 */
struct flows *flows_new(struct registry *reg, const struct config *cfg,
			const struct flows_enrich *en, char *err, size_t errlen);
void flows_free(struct flows *f); /* accepts NULL */

/* Check attributes.select against the families and attributes that exist,
 * before anything starts: 0, or -EINVAL with one line in err naming the
 * select entry and the unknown name (a configuration error). */
int flows_check_config(const struct config *cfg, char *err, size_t errlen);

/*
 * A reload (SIGHUP) changed the config the flows were given, in place:
 * take attributes.select, attributes.max_series (agg_reconfigure(): a family
 * whose selected labels changed loses its series, the others keep theirs)
 * and dns.max_pending and dns.timeout. dns.events is read where it is used.
 * The names of the families whose labels changed go into changed ("" if
 * none; may be NULL). The config was checked with flows_check_config().
 * Returns 0 or a negative errno (-ENOMEM: some families may be updated).
 */
int flows_reconfigure(struct flows *f, char *changed, size_t len);

/*
 * Label new connections with nc from now on (networks: reloaded); returns
 * the classifier used before, for the caller to free. Label sets made
 * before keep the class and zone they were made with (their strings are
 * copies), so connections open across a reload keep their old dst_class.
 */
struct netclass *flows_set_netclass(struct flows *f, struct netclass *nc);

/* A validated ring-buffer record of any type (event_validate() passed). */
void flows_record(struct flows *f, const void *data, size_t size, uint64_t now_ns);

/* One batch pass over the kernel's connection map: call begin, entry for
 * every (key, value) read, then end. Open connections' byte growth since
 * the last pass is counted; the open-connection gauge is rebuilt. */
void flows_tcp_begin(struct flows *f);
void flows_tcp_entry(struct flows *f, uint64_t key, const struct gs_conn *c, uint64_t now_ns);
void flows_tcp_end(struct flows *f, uint64_t now_ns);

/* The TIME_WAIT census in steps, between two passes' flows_tcp_end (which
 * puts the last census in the gauge and, once begin was called, no longer
 * takes one itself): begin returns true when a census is due and started
 * (the last one forgotten), then step until it returns something else than
 * -EINPROGRESS (the number of TIME_WAIT sockets, or a negative errno). */
bool flows_tw_census_begin(struct flows *f, uint64_t now_ns);
int flows_tw_census_step(struct flows *f);

/* UDP flows read from the kernel's flow map (growth since the last read is
 * counted); final=1 when the flow was removed from the map (its last values). */
void flows_udp(struct flows *f, const struct gs_udp_key *k, const struct gs_udp_flow *v, int final,
	       uint64_t now_ns);

/* After a whole sweep of the UDP flow map: entries it did not see are dropped. */
void flows_udp_end(struct flows *f);

/* Periodic upkeep: DNS timeouts, cache expiry. */
void flows_tick(struct flows *f, uint64_t now_ns);

/* Write every family into the registry. */
void flows_publish(struct flows *f);

/* Listening ports the kernel reported (netns cookie, port): a connection of
 * unknown direction whose local port is one of them is the server side. */
void flows_set_listener_fd(struct flows *f, int listeners_map_fd);

/* The running kernel's names of enum sk_rst_reason (probes.h), n of them,
 * for the reason of a reset in the event a reset connection makes; they
 * must outlive the flows. */
void flows_set_reset_reasons(struct flows *f, const char (*names)[32], unsigned int n);

/* Whether the accept hooks name the process of each accepted connection
 * (feature accept_owner): then a pass leaves the payload of a connection
 * not yet accepted to its accept or its close, which count it under the
 * accepting process. Off by default. */
void flows_set_accept_owner(struct flows *f, bool on);

/* Count TIME_WAIT sockets of the namespaces in scope (probes/scope.h: every
 * namespace for scope host, the agent's own for netns, the one at the path)
 * in every batch pass, with sock_diag dumps. scope is read during the call
 * only. */
void flows_open_census(struct flows *f, const struct scope *scope);

#endif
