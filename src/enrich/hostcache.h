/* SPDX-License-Identifier: MIT */
/*
 * Address -> host name cache filled from DNS answers and getaddrinfo
 * results, read when a flow is labelled (dst_name). Bounded and
 * TTL-respecting: an entry is visible until its TTL runs out; when the
 * cache is full, the entry that expires first goes (an already expired one
 * if any). IPv4-mapped IPv6 addresses are stored and looked up as IPv4.
 * Single-threaded; clock injected (CLOCK_MONOTONIC ns) so tests need no
 * sleeping.
 */
#ifndef GESPANN_HOSTCACHE_H
#define GESPANN_HOSTCACHE_H

#include <stddef.h>
#include <stdint.h>

struct hostcache;
struct dns_msg;

struct hostcache_stats {
	uint64_t entries;   /* current */
	uint64_t evictions; /* live entries pushed out because the cache was full */
	uint64_t expired;   /* entries dropped because their TTL ran out */
};

/* A cache holding at most max_entries addresses (>= 1). NULL on bad
 * arguments or no memory. */
struct hostcache *hostcache_new(size_t max_entries);

/* Free the cache; NULL is fine. */
void hostcache_free(struct hostcache *h);

/* Remember that addr (AF_INET: first 4 bytes; AF_INET6) is name for ttl_s
 * seconds from now_ns. A later put for the same address wins (name and
 * expiry). TTLs with the top bit set count as 0 (RFC 2181 8); a TTL of 0
 * stores nothing visible. Unknown families, NULL or empty names are
 * ignored. The name is copied (at most 255 characters). */
void hostcache_put(struct hostcache *h, uint16_t family, const uint8_t addr[16], const char *name,
		   uint32_t ttl_s, uint64_t now_ns);

/* The name for addr at now_ns, or NULL when unknown or expired. Changes
 * nothing: the pointer stays valid until the next put, expire or free. */
const char *hostcache_get(const struct hostcache *h, uint16_t family, const uint8_t addr[16],
			  uint64_t now_ns);

/* Drop every entry expired at now_ns (counted in expired). Call it about
 * once a second; a full cache also drops expired entries first on put. */
void hostcache_expire(struct hostcache *h, uint64_t now_ns);

/* Put the addresses a DNS response gives for the name it was asked: each A
 * or AAAA answer reachable from the question's name through the CNAME
 * chain, under the question's name (not the CNAME target), for the
 * smallest TTL along its chain. Answers for names outside the chain are
 * ignored (a response cannot plant names for unrelated addresses). Returns
 * the number of addresses put. */
int hostcache_put_response(struct hostcache *h, const struct dns_msg *m, uint64_t now_ns);

void hostcache_get_stats(const struct hostcache *h, struct hostcache_stats *out);

#endif
