// SPDX-License-Identifier: MIT
/*
 * Address -> host name cache. Entries live in one array allocated up front;
 * a chained hash (bucket heads and next links are array indices) finds an
 * address in O(1) on average, and a binary min-heap on expiry time finds the
 * entry to drop when the cache is full: the one that expires first, which is
 * an already expired one whenever there is any. Addresses come from DNS
 * answers, that is from the network, so the hash is keyed with a random
 * seed: a hostile server cannot aim every address at one bucket. Names are
 * copied on put (one small allocation); lookups allocate nothing and change
 * nothing, so a name they return stays put until the next put or expire.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "enrich/dns.h"
#include "enrich/hostcache.h"
#include "util/hashmix.h"

#define HC_NONE	       UINT32_MAX
#define HC_NAME_MAX    255
#define NS_PER_SEC     1000000000ULL
#define HC_MAX_ENTRIES (1u << 24)

struct hc_entry {
	uint64_t expires_ns;
	char *name;
	uint32_t hnext;	   /* next in bucket chain, or next free */
	uint32_t heap_pos; /* index in heap */
	uint16_t family;   /* 0: free */
	uint8_t addr[16];
};

struct hostcache {
	struct hc_entry *entries;
	uint32_t *buckets;
	uint32_t *heap; /* entry indices, min-heap on expires_ns */
	size_t max, count, mask;
	uint32_t free_head;
	uint32_t unused; /* entries [unused, max) never used: not touched yet */
	uint64_t seed;
	struct hostcache_stats stats;
};

/* ==== Keys ==== */

/* Normalise to the stored form: AF_INET with 12 zero bytes after the
 * address, v4-mapped IPv6 as AF_INET. 0 for families we do not keep. */
static uint16_t hc_key(uint16_t family, const uint8_t in[16], uint8_t out[16])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, 16);
	if (family == AF_INET) {
		memcpy(out, in, 4);
		return AF_INET;
	}
	if (family != AF_INET6)
		return 0;
	if (!memcmp(in, v4mapped, sizeof(v4mapped))) {
		memcpy(out, in + 12, 4);
		return AF_INET;
	}
	memcpy(out, in, 16);
	return AF_INET6;
}

static size_t hc_hash(const struct hostcache *h, uint16_t family, const uint8_t a[16])
{
	uint64_t w0, w1;

	memcpy(&w0, a, 8);
	memcpy(&w1, a + 8, 8);
	return (size_t)(hashmix64(hashmix64(w0 ^ h->seed ^ family) ^ w1) & h->mask);
}

static uint32_t hc_find(const struct hostcache *h, uint16_t family, const uint8_t key[16])
{
	uint32_t i = h->buckets[hc_hash(h, family, key)];

	while (i != HC_NONE) {
		const struct hc_entry *e = &h->entries[i];

		if (e->family == family && !memcmp(e->addr, key, 16))
			return i;
		i = e->hnext;
	}
	return HC_NONE;
}

/* ==== Expiry heap ==== */

static void heap_swap(struct hostcache *h, size_t a, size_t b)
{
	uint32_t t = h->heap[a];

	h->heap[a] = h->heap[b];
	h->heap[b] = t;
	h->entries[h->heap[a]].heap_pos = (uint32_t)a;
	h->entries[h->heap[b]].heap_pos = (uint32_t)b;
}

static uint64_t heap_key(const struct hostcache *h, size_t pos)
{
	return h->entries[h->heap[pos]].expires_ns;
}

static void heap_up(struct hostcache *h, size_t pos)
{
	while (pos > 0 && heap_key(h, (pos - 1) / 2) > heap_key(h, pos)) {
		heap_swap(h, pos, (pos - 1) / 2);
		pos = (pos - 1) / 2;
	}
}

static void heap_down(struct hostcache *h, size_t pos)
{
	for (;;) {
		size_t l = 2 * pos + 1, r = l + 1, m = pos;

		if (l < h->count && heap_key(h, l) < heap_key(h, m))
			m = l;
		if (r < h->count && heap_key(h, r) < heap_key(h, m))
			m = r;
		if (m == pos)
			return;
		heap_swap(h, pos, m);
		pos = m;
	}
}

/* Unlink entry i from its bucket and the heap and free it. */
static void hc_remove(struct hostcache *h, uint32_t i)
{
	struct hc_entry *e = &h->entries[i];
	uint32_t *link = &h->buckets[hc_hash(h, e->family, e->addr)];
	size_t pos = e->heap_pos, last = h->count - 1;

	while (*link != i)
		link = &h->entries[*link].hnext;
	*link = e->hnext;
	if (pos != last) {
		heap_swap(h, pos, last);
		h->count--;
		heap_down(h, pos);
		heap_up(h, pos);
	} else {
		h->count--;
	}
	free(e->name);
	e->name = NULL;
	e->family = 0;
	e->hnext = h->free_head;
	h->free_head = i;
}

/* ==== API ==== */

struct hostcache *hostcache_new(size_t max_entries)
{
	struct hostcache *h;
	size_t nb = 1;

	if (max_entries == 0 || max_entries > HC_MAX_ENTRIES)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	while (nb < max_entries)
		nb <<= 1;
	h->entries = calloc(max_entries, sizeof(*h->entries));
	h->buckets = malloc(nb * sizeof(*h->buckets));
	h->heap = malloc(max_entries * sizeof(*h->heap));
	if (!h->entries || !h->buckets || !h->heap) {
		hostcache_free(h);
		return NULL;
	}
	memset(h->buckets, 0xff, nb * sizeof(*h->buckets));
	h->mask = nb - 1;
	h->max = max_entries;
	/* Handed out from `unused` first: untouched pages stay unresident. */
	h->free_head = HC_NONE;
	h->unused = 0;
	h->seed = hashmix_seed(h);
	return h;
}

void hostcache_free(struct hostcache *h)
{
	if (!h)
		return;
	if (h->entries)
		for (size_t i = 0; i < h->unused; i++)
			free(h->entries[i].name);
	free(h->entries);
	free(h->buckets);
	free(h->heap);
	free(h);
}

void hostcache_put(struct hostcache *h, uint16_t family, const uint8_t addr[16], const char *name,
		   uint32_t ttl_s, uint64_t now_ns)
{
	uint8_t key[16];
	uint64_t expires;
	struct hc_entry *e;
	uint32_t i;
	size_t b;

	if (!h || !addr || !name || !name[0])
		return;
	family = hc_key(family, addr, key);
	if (!family)
		return;
	if (ttl_s & 0x80000000u)
		ttl_s = 0;
	i = hc_find(h, family, key);
	if (ttl_s == 0) { /* replaces what was known, and is itself not kept */
		if (i != HC_NONE)
			hc_remove(h, i);
		return;
	}
	expires = now_ns + (uint64_t)ttl_s * NS_PER_SEC;
	if (expires < now_ns)
		expires = UINT64_MAX;

	if (i != HC_NONE) {
		e = &h->entries[i];
		size_t nlen = strnlen(name, HC_NAME_MAX);

		if (strlen(e->name) != nlen || memcmp(e->name, name, nlen) != 0) {
			char *copy = strndup(name, HC_NAME_MAX);

			if (!copy) {
				hc_remove(h, i);
				return;
			}
			free(e->name);
			e->name = copy;
		}
		e->expires_ns = expires;
		heap_down(h, e->heap_pos);
		heap_up(h, e->heap_pos);
		return;
	}

	if (h->count == h->max) {
		uint32_t victim = h->heap[0];

		if (h->entries[victim].expires_ns <= now_ns)
			h->stats.expired++;
		else
			h->stats.evictions++;
		hc_remove(h, victim);
	}
	i = h->free_head != HC_NONE ? h->free_head : h->unused;
	e = &h->entries[i];
	e->name = strndup(name, HC_NAME_MAX);
	if (!e->name)
		return;
	if (i == h->free_head)
		h->free_head = e->hnext;
	else
		h->unused++;
	e->family = family;
	memcpy(e->addr, key, 16);
	e->expires_ns = expires;
	b = hc_hash(h, family, key);
	e->hnext = h->buckets[b];
	h->buckets[b] = i;
	e->heap_pos = (uint32_t)h->count;
	h->heap[h->count++] = i;
	heap_up(h, e->heap_pos);
}

const char *hostcache_get(const struct hostcache *h, uint16_t family, const uint8_t addr[16],
			  uint64_t now_ns)
{
	uint8_t key[16];
	uint32_t i;

	if (!h || !addr)
		return NULL;
	family = hc_key(family, addr, key);
	if (!family)
		return NULL;
	i = hc_find(h, family, key);
	if (i == HC_NONE || h->entries[i].expires_ns <= now_ns)
		return NULL; /* an expired entry stays until expire or put drop it */
	return h->entries[i].name;
}

void hostcache_expire(struct hostcache *h, uint64_t now_ns)
{
	if (!h)
		return;
	while (h->count > 0 && h->entries[h->heap[0]].expires_ns <= now_ns) {
		h->stats.expired++;
		hc_remove(h, h->heap[0]);
	}
}

static int chain_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}

int hostcache_put_response(struct hostcache *h, const struct dns_msg *m, uint64_t now_ns)
{
	const char *names[DNS_MAX_ANSWERS + 1];
	uint32_t ttls[DNS_MAX_ANSWERS + 1];
	size_t n = 1, n_ans;
	int grew = 1, put = 0;

	if (!h || !m || !m->qr || m->rcode != 0 || !m->qname[0])
		return 0;
	n_ans = m->n_answers < DNS_MAX_ANSWERS ? m->n_answers : DNS_MAX_ANSWERS;
	names[0] = m->qname;
	ttls[0] = UINT32_MAX;
	/* CNAMEs may come in any order: grow the chain until it stops. */
	while (grew) {
		grew = 0;
		for (size_t i = 0; i < n_ans && n < DNS_MAX_ANSWERS + 1; i++) {
			const struct dns_answer *a = &m->answers[i];
			int from;

			if (a->type != DNS_T_CNAME || !a->target[0])
				continue;
			from = chain_index(names, n, a->name);
			if (from < 0 || chain_index(names, n, a->target) >= 0)
				continue;
			names[n] = a->target;
			ttls[n] = a->ttl < ttls[from] ? a->ttl : ttls[from];
			n++;
			grew = 1;
		}
	}
	for (size_t i = 0; i < n_ans; i++) {
		const struct dns_answer *a = &m->answers[i];
		int at;

		if (a->family != AF_INET && a->family != AF_INET6)
			continue;
		at = chain_index(names, n, a->name);
		if (at < 0)
			continue;
		hostcache_put(h, a->family, a->addr, m->qname,
			      a->ttl < ttls[at] ? a->ttl : ttls[at], now_ns);
		put++;
	}
	return put;
}

void hostcache_get_stats(const struct hostcache *h, struct hostcache_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	*out = h->stats;
	out->entries = h->count;
}
