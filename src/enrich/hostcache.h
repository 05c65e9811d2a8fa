/* SPDX-License-Identifier: MIT */
/*
 * Address -> host name cache filled from DNS answers and getaddrinfo
 * results, asked when a flow is first labelled (dst_name).
 *
 * Time-ordered: each answer is kept as a binding (address, namespace, the
 * asking process, name) valid from the moment it was seen until its TTL
 * ran out, and a lookup asks which name was known for an address at a given
 * time (the flow's start), in the flow's network namespace, preferring what
 * the flow's own process looked up. So the order in which user space reads
 * records no longer matters: a flow read late gets the name its process
 * had when it connected, never one resolved afterwards. A newer answer for
 * the same address and asker ends the older one's validity at its own
 * time. getaddrinfo results belong to their process alone; DNS answers
 * also serve the rest of the namespace (a caching resolver asks on behalf
 * of others).
 *
 * Bounded: at most max_entries bindings, at most HOSTCACHE_PER_ADDR per
 * (address, namespace); when full, the binding that expires first goes
 * (counted as expired when its TTL had run out, else as an eviction).
 * Expired bindings stay HOSTCACHE_LATE_NS past their expiry, so flows that
 * began before it and are read a little later still find them. IPv4-mapped
 * IPv6 addresses are stored and looked up as IPv4. Single-threaded; clock
 * injected (CLOCK_MONOTONIC ns, the kernel records' clock).
 */
#ifndef GESPANN_HOSTCACHE_H
#define GESPANN_HOSTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTCACHE_PER_ADDR 16
#define HOSTCACHE_LATE_NS  (30 * 1000000000ULL)

struct hostcache;
struct dns_msg;

struct hostcache_stats {
	uint64_t entries;   /* bindings now */
	uint64_t evictions; /* live bindings pushed out because the cache (or an
			     * address's HOSTCACHE_PER_ADDR) was full */
	uint64_t expired;   /* bindings dropped after their TTL ran out */
};

/* Who saw an answer, and when. */
struct hostcache_origin {
	uint64_t seen_ns;   /* the answer's record time (CLOCK_MONOTONIC) */
	uint64_t netns;	    /* namespace identity (netns cookie, or inode), 0 unknown */
	uint32_t pid;	    /* the process that asked, 0 unknown */
	uint32_t min_ttl_s; /* keep the name at least this long (dns.min_ttl) */
	bool own;	    /* the process's alone (getaddrinfo), not the namespace's */
};

/* What a flow asks. */
struct hostcache_query {
	uint64_t at_ns; /* the flow's start (CLOCK_MONOTONIC) */
	uint64_t netns;
	uint32_t pid; /* the flow's process, 0 unknown */
};

/* A cache holding at most max_entries bindings (>= 1). NULL on bad
 * arguments or no memory. */
struct hostcache *hostcache_new(size_t max_entries);

/* Free the cache; NULL is fine. */
void hostcache_free(struct hostcache *h);

/*
 * Remember that addr (AF_INET: first 4 bytes; AF_INET6) was name for ttl_s
 * seconds (at least o->min_ttl_s) from o->seen_ns, as seen by o->pid in
 * o->netns. TTLs with the top bit set count as 0 (RFC 2181 8). An answer
 * ends the validity of the same asker's earlier bindings for another name
 * at o->seen_ns; the same name seen again while valid extends it (the later
 * TTL counts). An answer valid for no time (TTL 0, min_ttl_s 0) is not
 * kept but still ends the earlier ones. Unknown families, NULL or empty
 * names are ignored. The name is copied (at most 255 characters).
 */
void hostcache_put(struct hostcache *h, uint16_t family, const uint8_t addr[16], const char *name,
		   uint32_t ttl_s, const struct hostcache_origin *o);

/*
 * The name known for addr at q->at_ns in q->netns: among the bindings valid
 * then (seen at or before it, not yet expired), the latest seen by q->pid
 * when there is one (q->pid != 0), else the latest DNS answer of the
 * namespace (getaddrinfo results of other processes do not count). NULL
 * when none. Changes nothing: the pointer stays valid until the next put,
 * expire or free.
 */
const char *hostcache_lookup(const struct hostcache *h, uint16_t family, const uint8_t addr[16],
			     const struct hostcache_query *q);

/* Drop every binding expired HOSTCACHE_LATE_NS or more before now_ns
 * (counted in expired). Call it about once a second. */
void hostcache_expire(struct hostcache *h, uint64_t now_ns);

/* Put the addresses a DNS response gives for the name it was asked: each A
 * or AAAA answer reachable from the question's name through the CNAME
 * chain, under the question's name (not the CNAME target), for the
 * smallest TTL along its chain. Answers for names outside the chain are
 * ignored (a response cannot plant names for unrelated addresses). Returns
 * the number of addresses put. */
int hostcache_put_response(struct hostcache *h, const struct dns_msg *m,
			   const struct hostcache_origin *o);

void hostcache_get_stats(const struct hostcache *h, struct hostcache_stats *out);

#endif
