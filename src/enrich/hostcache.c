// SPDX-License-Identifier: MIT
/*
 * Address -> host name cache. A uthash table on (address, namespace) finds
 * a slot, the list of bindings known for that address there; a binary
 * min-heap on expiry time over all bindings (an array of pointers,
 * allocated up front) finds the binding to drop when the cache is full:
 * the one that expires first, which is an already expired one whenever
 * there is any. Addresses come from DNS answers, that is from the network,
 * so the table hashes with a random seed: a hostile server cannot aim every
 * address at one bucket, and a slot holds at most HOSTCACHE_PER_ADDR
 * bindings, so a lookup walks a short list. A binding and its name are one
 * allocation; lookups allocate nothing and change nothing, so a name they
 * return stays put until the next put or expire.
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
	uint64_t netns;
	uint16_t family;
	uint16_t pad[3];
};

struct hc_slot;

/* One answer: name valid for addr in the slot's namespace from first_ns
 * until expires_ns (a continuous interval: an answer seen again is merged
 * only while the binding is still valid). */
struct hc_bind {
	struct hc_slot *slot;
	struct hc_bind *next; /* in the slot */
	uint64_t first_ns, expires_ns;
	size_t heap_pos; /* index in heap */
	uint32_t pid;
	bool own;
	char name[]; /* NUL-terminated, at most HC_NAME_MAX */
};

struct hc_slot {
	struct hc_key key;
	struct hc_bind *binds;
	unsigned n;
	UT_hash_handle hh;
};

struct hostcache {
	struct hc_slot *by_addr; /* uthash head */
	struct hc_bind **heap;	 /* min-heap on expires_ns */
	size_t max, count;
	struct hostcache_stats stats;
};

/* ==== Keys ==== */

/* Normalise to the stored form: AF_INET with 12 zero bytes after the
 * address, v4-mapped IPv6 as AF_INET. Family 0 for families we do not keep. */
static uint16_t hc_key(uint16_t family, const uint8_t in[16], uint64_t netns, struct hc_key *k)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(k, 0, sizeof(*k));
	k->netns = netns;
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

static struct hc_slot *hc_find(const struct hostcache *h, const struct hc_key *k)
{
	struct hc_slot *s;

	HASH_FIND(hh, h->by_addr, k, sizeof(*k), s);
	return s;
}

/* ==== Expiry heap ==== */

static void heap_swap(struct hostcache *h, size_t a, size_t b)
{
	struct hc_bind *t = h->heap[a];

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

static void heap_fix(struct hostcache *h, struct hc_bind *b)
{
	heap_down(h, b->heap_pos);
	heap_up(h, b->heap_pos);
}

/* Take b out of its slot (the slot too when it was the last) and the heap,
 * and free it. */
static void hc_remove(struct hostcache *h, struct hc_bind *b)
{
	struct hc_slot *s = b->slot;
	size_t pos = b->heap_pos, last = h->count - 1;

	for (struct hc_bind **pp = &s->binds; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			s->n--;
			break;
		}
	}
	if (!s->binds) {
		HASH_DELETE(hh, h->by_addr, s);
		free(s);
	}
	if (pos != last) {
		heap_swap(h, pos, last);
		h->count--;
		heap_fix(h, h->heap[pos]);
	} else {
		h->count--;
	}
	free(b);
}

/* Drop b to make room at now_ns: an expired binding or an eviction. */
static void hc_drop(struct hostcache *h, struct hc_bind *b, uint64_t now_ns)
{
	if (b->expires_ns <= now_ns)
		h->stats.expired++;
	else
		h->stats.evictions++;
	hc_remove(h, b);
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

/*
 * Fit the new answer (name, pid, [seen, *expires)) in among the same
 * asker's bindings of slot s (a getaddrinfo result and a DNS answer for the
 * same name stay apart: only the latter serves the namespace): the same
 * name from the same source still valid at seen absorbs it
 * (returns true: nothing to add); another name valid at seen ends there; a
 * binding seen later (records read out of order) ends the new one at its
 * own start. May free bindings, and s with its last one.
 */
static bool hc_merge(struct hostcache *h, struct hc_slot *s, const char *name,
		     const struct hostcache_origin *o, uint64_t *expires)
{
	uint64_t seen = o->seen_ns;
	struct hc_bind *b, *next;
	bool absorbed = false;

	for (b = s->binds; b; b = next) {
		bool same = !strncmp(b->name, name, HC_NAME_MAX);

		next = b->next;
		if (b->pid != o->pid || (same && b->own != o->own))
			continue; /* another asker; or the same name from the other source */
		if (b->first_ns > seen) { /* seen after this answer */
			if (same && *expires >= b->first_ns) {
				b->first_ns = seen;
				absorbed = true;
			} else if (*expires > b->first_ns) {
				*expires = b->first_ns;
			}
			continue;
		}
		if (b->expires_ns <= seen)
			continue; /* over before this answer */
		if (same && !absorbed) {
			b->expires_ns = *expires; /* the later TTL counts */
			absorbed = true;
		} else {
			b->expires_ns = seen;
		}
		if (b->expires_ns <= b->first_ns)
			hc_remove(h, b); /* valid for no time */
		else
			heap_fix(h, b);
	}
	return absorbed;
}

void hostcache_put(struct hostcache *h, uint16_t family, const uint8_t addr[16], const char *name,
		   uint32_t ttl_s, const struct hostcache_origin *o)
{
	struct hc_key key;
	uint64_t expires;
	struct hc_slot *s;
	struct hc_bind *b;
	size_t nlen;

	if (!h || !addr || !name || !name[0] || !o)
		return;
	if (!hc_key(family, addr, o->netns, &key))
		return;
	if (ttl_s & 0x80000000u)
		ttl_s = 0;
	if (ttl_s < o->min_ttl_s)
		ttl_s = o->min_ttl_s;
	expires = o->seen_ns + (uint64_t)ttl_s * NS_PER_SEC;
	if (expires < o->seen_ns)
		expires = UINT64_MAX;

	s = hc_find(h, &key);
	if (s && hc_merge(h, s, name, o, &expires))
		return;
	if (expires <= o->seen_ns)
		return; /* valid for no time: it only ended the others */

	if (h->count == h->max)
		hc_drop(h, h->heap[0], o->seen_ns);
	s = hc_find(h, &key); /* the drop may have freed it */
	if (s && s->n >= HOSTCACHE_PER_ADDR) {
		struct hc_bind *first = s->binds;

		for (b = s->binds; b; b = b->next)
			if (b->expires_ns < first->expires_ns)
				first = b;
		hc_drop(h, first, o->seen_ns);
		s = hc_find(h, &key);
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		s->key = key;
		HASH_ADD(hh, h->by_addr, key, sizeof(s->key), s);
		if (!s->hh.tbl) { /* no memory: not kept */
			free(s);
			return;
		}
	}
	nlen = strnlen(name, HC_NAME_MAX);
	b = calloc(1, sizeof(*b) + nlen + 1);
	if (!b) {
		if (!s->binds) {
			HASH_DELETE(hh, h->by_addr, s);
			free(s);
		}
		return;
	}
	memcpy(b->name, name, nlen);
	b->slot = s;
	b->first_ns = o->seen_ns;
	b->expires_ns = expires;
	b->pid = o->pid;
	b->own = o->own;
	b->next = s->binds;
	s->binds = b;
	s->n++;
	b->heap_pos = h->count;
	h->heap[h->count++] = b;
	heap_up(h, b->heap_pos);
}

static const struct hc_bind *later(const struct hc_bind *best, const struct hc_bind *b)
{
	return !best || b->first_ns > best->first_ns ? b : best;
}

const char *hostcache_lookup(const struct hostcache *h, uint16_t family, const uint8_t addr[16],
			     const struct hostcache_query *q)
{
	const struct hc_bind *own = NULL, *any = NULL;
	const struct hc_slot *s;
	struct hc_key key;

	if (!h || !addr || !q)
		return NULL;
	if (!hc_key(family, addr, q->netns, &key))
		return NULL;
	s = hc_find(h, &key);
	for (const struct hc_bind *b = s ? s->binds : NULL; b; b = b->next) {
		if (b->first_ns > q->at_ns || b->expires_ns <= q->at_ns)
			continue; /* not known yet, or no longer */
		if (q->pid && b->pid == q->pid)
			own = later(own, b);
		else if (!b->own)
			any = later(any, b);
	}
	if (own)
		return own->name;
	return any ? any->name : NULL;
}

void hostcache_expire(struct hostcache *h, uint64_t now_ns)
{
	if (!h || now_ns < HOSTCACHE_LATE_NS)
		return;
	while (h->count > 0 && h->heap[0]->expires_ns <= now_ns - HOSTCACHE_LATE_NS) {
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

int hostcache_put_response(struct hostcache *h, const struct dns_msg *m,
			   const struct hostcache_origin *o)
{
	const char *names[DNS_MAX_ANSWERS + 1];
	uint32_t ttls[DNS_MAX_ANSWERS + 1];
	size_t n = 1, n_ans;
	int grew = 1, put = 0;

	if (!h || !m || !o || !m->qr || m->rcode != 0 || !m->qname[0])
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
			      a->ttl < ttls[at] ? a->ttl : ttls[at], o);
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
