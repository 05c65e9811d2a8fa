/* SPDX-License-Identifier: MIT */
/*
 * DNS transaction tracker: pairs the queries this host sends with the
 * responses it receives, from the gs_dns_event records the kernel copies off
 * port 53, and reports each transaction once, answered or timed out, to a
 * callback (which feeds gespann_dns_queries_total, the latency histogram,
 * the JSON event log and the host name cache). Client side only: a query
 * is a QR=0 packet sent (egress), its response a QR=1 packet received with
 * the same netns, protocol, client and server address and port, and id.
 * That rule also counts loopback traffic once, although each packet is seen
 * leaving and arriving. Bounded: at most max_pending queries wait; the
 * clock is the records' ts_ns (CLOCK_MONOTONIC), injected for expiry.
 */
#ifndef GESPANN_DNSTRACK_H
#define GESPANN_DNSTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "abi/gespann_abi.h"
#include "enrich/dns.h"

struct dnstrack;

struct dnstrack_result {
	const char *qname; /* as asked, lowercased and escaped (dns.h) */
	uint16_t qtype;
	int rcode; /* response code, -1 = no answer in time */
	uint16_t family;
	uint8_t server[16]; /* AF_INET: first 4 bytes */
	uint16_t server_port;
	uint8_t protocol;    /* IPPROTO_UDP / IPPROTO_TCP */
	uint64_t latency_ns; /* query sent -> response received; on timeout, time waited */
	uint64_t ts_ns;	     /* end: the response's ts_ns, or the clock that expired it */
	uint32_t pid;	     /* of the querying socket's owner, 0 if unknown */
	char comm[16];	     /* NUL-terminated */
	uint64_t cgroup_id;
	uint64_t netns_cookie;		/* the querying socket's namespace (gs_dns_event) */
	const struct dns_msg *response; /* NULL on timeout */
};

/* Called once per transaction, from dnstrack_packet (answered, or timed
 * out while making room) or dnstrack_expire. r and what it points to are
 * valid only during the call. */
typedef void (*dnstrack_fn)(const struct dnstrack_result *r, void *ctx);

struct dnstrack_stats {
	uint64_t packets;      /* records given to dnstrack_packet */
	uint64_t malformed;    /* invalid records and messages that failed to parse */
	uint64_t queries;      /* client queries now tracked */
	uint64_t responses;    /* responses matched to a query */
	uint64_t unmatched;    /* responses received with no pending query (or another question) */
	uint64_t timeouts;     /* queries reported with rcode -1 */
	uint64_t pending_full; /* queries dropped: max_pending were waiting */
	uint64_t retransmits;  /* a query sent again while its first copy waits (not re-tracked) */
	uint64_t ignored;      /* packets of no client transaction (server side, the other
				* copy of a loopback packet) or without payload; not parsed */
	uint64_t pending;      /* queries waiting now */
};

/* A tracker with room for max_pending waiting queries (>= 1), reporting
 * queries unanswered for timeout_ns (> 0) as timeouts. fn is required.
 * NULL on bad arguments or no memory. */
struct dnstrack *dnstrack_new(size_t max_pending, uint64_t timeout_ns, dnstrack_fn fn, void *ctx);

/* Free the tracker, dropping waiting queries without reporting them; NULL
 * is fine. */
void dnstrack_free(struct dnstrack *t);

/*
 * New limits for a running tracker (a reload), the same bounds as
 * dnstrack_new(). Waiting queries stay: over a lowered max_pending, new
 * queries are refused (pending_full) until enough are answered or expire;
 * the next dnstrack_expire() applies the new timeout to all of them.
 * Returns 0 or -EINVAL (nothing changed).
 */
int dnstrack_set_limits(struct dnstrack *t, size_t max_pending, uint64_t timeout_ns);

/* Feed one record. The record is validated first (len <= GS_DNS_MAX, len <=
 * payload_len, family, protocol), then the message parsed (a capture cut
 * short keeps the answers before the cut, dns_msg.partial). Returns 0, or
 * -EINVAL for a malformed record or message (counted in malformed; the
 * reason is kept for dnstrack_last_error). May call fn: a matched response,
 * or timeouts found while making room for a query. */
int dnstrack_packet(struct dnstrack *t, const struct gs_dns_event *ev);

/* Report every query waiting since now_ns - timeout_ns or earlier as timed
 * out (rcode -1) and forget it. Call it about once a second. */
void dnstrack_expire(struct dnstrack *t, uint64_t now_ns);

void dnstrack_get_stats(const struct dnstrack *t, struct dnstrack_stats *out);

/* Why the last record dnstrack_packet rejected was malformed ("" if none
 * yet), for debug logging. */
const char *dnstrack_last_error(const struct dnstrack *t);

/* One JSON object, no newline, describing a result:
 *   {"name":..,"type":"A","rcode":"NOERROR"|"timeout","server":"198.18.0.2",
 *    "server_port":53,"protocol":"udp","latency_ms":1.234,"pid":..,"comm":..,
 *    "truncated":false,"answers":[{"name":..,"type":"A","data":"198.18.0.10","ttl":300},..]}
 * data is the address (A/AAAA), the target name (CNAME, NS, PTR, DNAME, MX,
 * SRV) or "" for other types; answers is [] on timeout; truncated says the
 * answer list is incomplete (dns_msg.partial). Strings are JSON-escaped.
 * Returns the length written (without the NUL), or -ENOSPC when buf is too
 * small (buf then holds a NUL-terminated prefix), -EINVAL on bad arguments. */
int dnstrack_format_json(const struct dnstrack_result *r, char *buf, size_t len);

#endif
