// SPDX-License-Identifier: MIT
/*
 * Address -> host name cache. Entries are found by a uthash table on the
 * address, and a binary min-heap on expiry time (an array of entry
 * pointers, allocated up front) finds the entry to drop when the cache is
 * full: the one that expires first, which is an already expired one
 * whenever there is any. Addresses come from DNS answers, that is from the
 * network, so the table hashes with a random seed: a hostile server cannot
 * aim every address at one bucket. An entry and its name are allocated on
 * put; lookups allocate nothing and change nothing, so a name they return
 * stays put until the next put or expire.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/dns.h"
#include "enrich/hostcache.h"
#include "util/hashmix.h"

static uint64_t hc_seed; /* hashmix_seed_once, by hostcache_new */
#define HASH_FUNCTION(key, len, hv) \
	((hv) = hashmix_key(__atomic_load_n(&hc_seed, __ATOMIC_RELAXED), key, len))
#define HASH_NONFATAL_OOM 1 /* an address that cannot be indexed is not kept */
#include <uthash.h>

#define HC_NAME_MAX    255
#define NS_PER_SEC     1000000000ULL
#define HC_MAX_ENTRIES (1u << 24)

/* Memory-compared: always zeroed before filling. */
struct hc_key {
	uint8_t addr[16]; /* AF_INET: 4 bytes, then zeros */
	uint16_t family;
};

struct hc_entry {
	struct hc_key key;
	uint64_t expires_ns;
	char *name;
	size_t heap_pos; /* index in heap */
	UT_hash_handle hh;
};

struct hostcache {
	struct hc_entry *by_addr; /* uthash head */
	struct hc_entry **heap;	  /* min-heap on expires_ns */
	size_t max, count;
	struct hostcache_stats stats;
};

/* ==== Keys ==== */

/* Normalise to the stored form: AF_INET with 12 zero bytes after the
 * address, v4-mapped IPv6 as AF_INET. Family 0 for families we do not keep. */
static uint16_t hc_key(uint16_t family, const uint8_t in[16], struct hc_key *k)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(k, 0, sizeof(*k));
	if (family == AF_INET) {
		memcpy(k->addr, in, 4);
		k->family = AF_INET;
	} else if (family == AF_INET6 && !memcmp(in, v4mapped, sizeof(v4mapped))) {
		memcpy(k->addr, in + 12, 4);
		k->family = AF_INET;
	} else if (family == AF_INET6) {
		memcpy(k->addr, in, 16);
		k->family = AF_INET6;
	}
	return k->family;
}

static struct hc_entry *hc_find(const struct hostcache *h, const struct hc_key *k)
{
	struct hc_entry *e;

	HASH_FIND(hh, h->by_addr, k, sizeof(*k), e);
	return e;
}

/* ==== Expiry heap ==== */

static void heap_swap(struct hostcache *h, size_t a, size_t b)
{
	struct hc_entry *t = h->heap[a];

	h->heap[a] = h->heap[b];
	h->heap[b] = t;
	h->heap[a]->heap_pos = a;
	h->heap[b]->heap_pos = b;
}

static uint64_t heap_key(const struct hostcache *h, size_t pos)
{
	return h->heap[pos]->expires_ns;
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

/* Take e out of the table and the heap and free it. */
static void hc_remove(struct hostcache *h, struct hc_entry *e)
{
	size_t pos = e->heap_pos, last = h->count - 1;

	HASH_DELETE(hh, h->by_addr, e);
	if (pos != last) {
		heap_swap(h, pos, last);
		h->count--;
		heap_down(h, pos);
		heap_up(h, pos);
	} else {
		h->count--;
	}
	free(e->name);
	free(e);
}

/* ==== API ==== */

struct hostcache *hostcache_new(size_t max_entries)
{
	struct hostcache *h;

	if (max_entries == 0 || max_entries > HC_MAX_ENTRIES)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	/* Untouched pages of the heap stay unresident. */
	h->heap = malloc(max_entries * sizeof(*h->heap));
	if (!h->heap) {
		hostcache_free(h);
		return NULL;
	}
	h->max = max_entries;
	hashmix_seed_once(&hc_seed);
	return h;
}

void hostcache_free(struct hostcache *h)
{
	if (!h)
		return;
	while (h->count)
		hc_remove(h, h->heap[h->count - 1]);
	free(h->heap);
	free(h);
}

void hostcache_put(struct hostcache *h, uint16_t family, const uint8_t addr[16], const char *name,
		   uint32_t ttl_s, uint64_t now_ns)
{
	struct hc_key key;
	uint64_t expires;
	struct hc_entry *e;

	if (!h || !addr || !name || !name[0])
		return;
	if (!hc_key(family, addr, &key))
		return;
	if (ttl_s & 0x80000000u)
		ttl_s = 0;
	e = hc_find(h, &key);
	if (ttl_s == 0) { /* replaces what was known, and is itself not kept */
		if (e)
			hc_remove(h, e);
		return;
	}
	expires = now_ns + (uint64_t)ttl_s * NS_PER_SEC;
	if (expires < now_ns)
		expires = UINT64_MAX;

	if (e) {
		size_t nlen = strnlen(name, HC_NAME_MAX);

		if (strlen(e->name) != nlen || memcmp(e->name, name, nlen) != 0) {
			char *copy = strndup(name, HC_NAME_MAX);

			if (!copy) {
				hc_remove(h, e);
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
		struct hc_entry *victim = h->heap[0];

		if (victim->expires_ns <= now_ns)
			h->stats.expired++;
		else
			h->stats.evictions++;
		hc_remove(h, victim);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->name = strndup(name, HC_NAME_MAX);
	e->key = key;
	e->expires_ns = expires;
	if (e->name)
		HASH_ADD(hh, h->by_addr, key, sizeof(e->key), e);
	if (!e->name || !e->hh.tbl) { /* no memory: not kept */
		free(e->name);
		free(e);
		return;
	}
	e->heap_pos = h->count;
	h->heap[h->count++] = e;
	heap_up(h, e->heap_pos);
}

const char *hostcache_get(const struct hostcache *h, uint16_t family, const uint8_t addr[16],
			  uint64_t now_ns)
{
	struct hc_key key;
	const struct hc_entry *e;

	if (!h || !addr)
		return NULL;
	if (!hc_key(family, addr, &key))
		return NULL;
	e = hc_find(h, &key);
	if (!e || e->expires_ns <= now_ns)
		return NULL; /* an expired entry stays until expire or put drop it */
	return e->name;
}

void hostcache_expire(struct hostcache *h, uint64_t now_ns)
{
	if (!h)
		return;
	while (h->count > 0 && h->heap[0]->expires_ns <= now_ns) {
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
