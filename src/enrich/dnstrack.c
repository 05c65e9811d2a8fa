// SPDX-License-Identifier: MIT
/*
 * DNS transaction tracker. Waiting queries live in one array allocated up
 * front, found by a seeded chained hash on (netns, protocol, client,
 * server, id) and kept on a list in the order they were sent, so expiry
 * walks only what has timed out. A record is checked, its header peeked to
 * see whether it belongs to a client transaction (a query leaving, a
 * response arriving), and only then parsed; the other copy of a loopback
 * packet and server-side traffic are counted as ignored, so a malformed
 * packet on loopback counts once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "enrich/dnstrack.h"
#include "util/hashmix.h"
#include "flows/event.h"

#define DT_NONE	       UINT32_MAX
#define DT_MAX_PENDING (1u << 24)

/* Memory-compared: always memset before filling. */
struct dt_key {
	uint64_t netns_cookie;
	uint8_t client[16];
	uint8_t server[16];
	uint16_t client_port;
	uint16_t server_port;
	uint16_t family;
	uint16_t id;
	uint8_t protocol;
	uint8_t pad[7];
};

struct dt_entry {
	struct dt_key key;
	uint64_t ts_ns;
	uint64_t cgroup_id;
	uint32_t pid;
	uint32_t hnext;	     /* bucket chain, or free list */
	uint32_t prev, next; /* age list, oldest first */
	uint16_t qtype, qclass;
	int used;
	char comm[GS_COMM_LEN];
	char qname[DNS_NAME_MAX];
};

struct dnstrack {
	struct dt_entry *entries;
	uint32_t *buckets;
	size_t max, count, mask;
	uint32_t free_head, oldest, newest;
	uint32_t unused; /* entries [unused, max) never used: not touched yet */
	uint64_t timeout_ns, seed;
	dnstrack_fn fn;
	void *ctx;
	struct dnstrack_stats stats;
	struct dns_msg msg; /* scratch: too big for the stack of a hot path */
	char err[160];
};

/* ==== Table ==== */

static size_t dt_hash(const struct dnstrack *t, const struct dt_key *k)
{
	uint64_t h = t->seed, w;

	for (size_t i = 0; i < sizeof(*k); i += 8) {
		memcpy(&w, (const uint8_t *)k + i, 8);
		h = hashmix64(h ^ w);
	}
	return (size_t)(h & t->mask);
}

static uint32_t dt_find(const struct dnstrack *t, const struct dt_key *k)
{
	uint32_t i = t->buckets[dt_hash(t, k)];

	while (i != DT_NONE) {
		if (!memcmp(&t->entries[i].key, k, sizeof(*k)))
			return i;
		i = t->entries[i].hnext;
	}
	return DT_NONE;
}

static void dt_remove(struct dnstrack *t, uint32_t i)
{
	struct dt_entry *e = &t->entries[i];
	uint32_t *link = &t->buckets[dt_hash(t, &e->key)];

	while (*link != i)
		link = &t->entries[*link].hnext;
	*link = e->hnext;
	if (e->prev != DT_NONE)
		t->entries[e->prev].next = e->next;
	else
		t->oldest = e->next;
	if (e->next != DT_NONE)
		t->entries[e->next].prev = e->prev;
	else
		t->newest = e->prev;
	e->used = 0;
	e->hnext = t->free_head;
	t->free_head = i;
	t->count--;
}

static void make_key(struct dt_key *k, const struct gs_dns_event *ev, int from_client)
{
	size_t alen = ev->family == AF_INET ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->netns_cookie = ev->netns_cookie;
	k->family = ev->family;
	k->protocol = ev->protocol;
	if (from_client) { /* query: client -> server */
		memcpy(k->client, ev->saddr, alen);
		memcpy(k->server, ev->daddr, alen);
		k->client_port = ev->sport;
		k->server_port = ev->dport;
	} else { /* response: server -> client */
		memcpy(k->client, ev->daddr, alen);
		memcpy(k->server, ev->saddr, alen);
		k->client_port = ev->dport;
		k->server_port = ev->sport;
	}
}

static void copy_comm(char *dst, const char *src)
{
	size_t n = strnlen(src, GS_COMM_LEN - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void report(struct dnstrack *t, const struct dt_entry *e, int rcode, uint64_t now_ns,
		   const struct dns_msg *resp)
{
	struct dnstrack_result r;

	memset(&r, 0, sizeof(r));
	r.qname = e->qname;
	r.qtype = e->qtype;
	r.rcode = rcode;
	r.family = e->key.family;
	memcpy(r.server, e->key.server, sizeof(r.server));
	r.server_port = e->key.server_port;
	r.protocol = e->key.protocol;
	r.latency_ns = now_ns > e->ts_ns ? now_ns - e->ts_ns : 0;
	r.ts_ns = now_ns;
	r.pid = e->pid;
	r.cgroup_id = e->cgroup_id;
	memcpy(r.comm, e->comm, sizeof(r.comm));
	r.response = resp;
	t->fn(&r, t->ctx);
}

/* ==== API ==== */

struct dnstrack *dnstrack_new(size_t max_pending, uint64_t timeout_ns, dnstrack_fn fn, void *ctx)
{
	struct dnstrack *t;
	size_t nb = 1;

	if (!fn || max_pending == 0 || max_pending > DT_MAX_PENDING || timeout_ns == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	while (nb < max_pending)
		nb <<= 1;
	t->entries = calloc(max_pending, sizeof(*t->entries));
	t->buckets = malloc(nb * sizeof(*t->buckets));
	if (!t->entries || !t->buckets) {
		dnstrack_free(t);
		return NULL;
	}
	memset(t->buckets, 0xff, nb * sizeof(*t->buckets));
	t->mask = nb - 1;
	t->max = max_pending;
	/* Handed out from `unused` first: untouched pages stay unresident. */
	t->free_head = DT_NONE;
	t->unused = 0;
	t->oldest = t->newest = DT_NONE;
	t->timeout_ns = timeout_ns;
	t->fn = fn;
	t->ctx = ctx;
	t->seed = hashmix_seed(t);
	return t;
}

void dnstrack_free(struct dnstrack *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->buckets);
	free(t);
}

static int malformed(struct dnstrack *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	t->stats.malformed++;
	return -EINVAL;
}

static void track_query(struct dnstrack *t, const struct gs_dns_event *ev, const struct dns_msg *m)
{
	struct dt_key k;
	struct dt_entry *e;
	uint32_t i;
	size_t b;

	make_key(&k, ev, 1);
	k.id = m->id;
	if (dt_find(t, &k) != DT_NONE) {
		t->stats.retransmits++;
		return;
	}
	if (t->count == t->max)
		dnstrack_expire(t, ev->ts_ns);
	if (t->count == t->max) {
		t->stats.pending_full++;
		return;
	}
	if (t->free_head != DT_NONE) {
		i = t->free_head;
		t->free_head = t->entries[i].hnext;
	} else {
		i = t->unused++;
	}
	e = &t->entries[i];
	memset(e, 0, sizeof(*e));
	e->key = k;
	e->ts_ns = ev->ts_ns;
	e->cgroup_id = ev->cgroup_id;
	e->pid = ev->pid;
	e->qtype = m->qtype;
	e->qclass = m->qclass;
	e->used = 1;
	copy_comm(e->comm, ev->comm);
	memcpy(e->qname, m->qname, sizeof(e->qname));
	b = dt_hash(t, &k);
	e->hnext = t->buckets[b];
	t->buckets[b] = i;
	e->next = DT_NONE;
	e->prev = t->newest;
	if (t->newest != DT_NONE)
		t->entries[t->newest].next = i;
	else
		t->oldest = i;
	t->newest = i;
	t->count++;
	t->stats.queries++;
}

static void match_response(struct dnstrack *t, const struct gs_dns_event *ev,
			   const struct dns_msg *m)
{
	struct dt_key k;
	struct dt_entry *e;
	uint32_t i;

	make_key(&k, ev, 0);
	k.id = m->id;
	i = dt_find(t, &k);
	if (i == DT_NONE) {
		t->stats.unmatched++;
		return;
	}
	e = &t->entries[i];
	/* Same id, other question: not the answer to this query (RFC 5452
	 * 9.1); the query keeps waiting. */
	if (e->qtype != m->qtype || e->qclass != m->qclass || strcmp(e->qname, m->qname)) {
		t->stats.unmatched++;
		return;
	}
	t->stats.responses++;
	report(t, e, m->rcode, ev->ts_ns, m);
	dt_remove(t, i);
}

int dnstrack_packet(struct dnstrack *t, const struct gs_dns_event *ev)
{
	size_t off;
	int qr, r;

	if (!t || !ev)
		return -EINVAL;
	t->stats.packets++;
	if (ev->len > GS_DNS_MAX)
		return malformed(t, "record of %u bytes, more than %d", ev->len, GS_DNS_MAX);
	if (ev->len > ev->payload_len)
		return malformed(t, "record of %u bytes from a payload of %u", ev->len,
				 ev->payload_len);
	if (ev->family != AF_INET && ev->family != AF_INET6)
		return malformed(t, "address family %u", ev->family);
	if (ev->protocol != IPPROTO_UDP && ev->protocol != IPPROTO_TCP)
		return malformed(t, "protocol %u", ev->protocol);

	/* A segment without payload (a bare TCP ACK, if one gets here) is no
	 * DNS message at all, malformed or not. */
	if (ev->payload_len == 0) {
		t->stats.ignored++;
		return 0;
	}
	/* Peek at QR: only a query leaving or a response arriving is ours. */
	off = ev->protocol == IPPROTO_TCP ? 2 : 0;
	if (ev->len < off + DNS_HEADER_LEN)
		return malformed(t, "%s message of %u bytes, shorter than a header",
				 off ? "tcp" : "udp", ev->len);
	qr = ev->data[off + 2] >> 7;
	if (qr == ev->egress) {
		t->stats.ignored++;
		return 0;
	}

	if (ev->protocol == IPPROTO_TCP)
		r = dns_parse_tcp(ev->data, ev->len, &t->msg, t->err, sizeof(t->err));
	else
		r = dns_parse_capture(ev->data, ev->len, ev->payload_len, &t->msg, t->err,
				      sizeof(t->err));
	if (r) {
		t->stats.malformed++;
		return -EINVAL;
	}
	if (ev->egress)
		track_query(t, ev, &t->msg);
	else
		match_response(t, ev, &t->msg);
	return 0;
}

void dnstrack_expire(struct dnstrack *t, uint64_t now_ns)
{
	if (!t)
		return;
	while (t->oldest != DT_NONE) {
		uint32_t i = t->oldest;
		const struct dt_entry *e = &t->entries[i];

		if (now_ns < e->ts_ns || now_ns - e->ts_ns < t->timeout_ns)
			break;
		t->stats.timeouts++;
		report(t, e, -1, now_ns, NULL);
		dt_remove(t, i);
	}
}

void dnstrack_get_stats(const struct dnstrack *t, struct dnstrack_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	*out = t->stats;
	out->pending = t->count;
}

const char *dnstrack_last_error(const struct dnstrack *t)
{
	return t ? t->err : "";
}

/* ==== JSON ==== */

struct jbuf {
	char *buf;
	size_t len, pos;
	int over;
};

__attribute__((format(printf, 2, 3))) static void jprintf(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->pos, j->len - j->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->len - j->pos) {
		j->over = 1;
		j->buf[j->pos] = '\0'; /* whole items only */
		return;
	}
	j->pos += (size_t)n;
}

/* A JSON string: quotes, backslashes and control characters escaped, bytes
 * above 0x7e as \u00XX so the output is ASCII whatever comm holds. */
static void jstr(struct jbuf *j, const char *s)
{
	size_t start = j->pos;

	jprintf(j, "\"");
	for (; *s && !j->over; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			jprintf(j, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			jprintf(j, "\\u%04x", c);
		else
			jprintf(j, "%c", c);
	}
	jprintf(j, "\"");
	if (j->over && start < j->len)
		j->buf[start] = '\0';
}

int dnstrack_format_json(const struct dnstrack_result *r, char *buf, size_t len)
{
	struct jbuf j = { .buf = buf, .len = len };
	char tmp[64], addr[64];
	const struct dns_msg *m;

	if (!r || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	m = r->response;
	jprintf(&j, "{\"name\":");
	jstr(&j, r->qname ? r->qname : "");
	jprintf(&j, ",\"type\":\"%s\",\"rcode\":\"%s\",\"server\":\"%s\",\"server_port\":%u",
		dns_type_name(r->qtype, tmp, sizeof(tmp)),
		r->rcode < 0 ? "timeout" : dns_rcode_name((unsigned)r->rcode, tmp + 32, 32),
		event_addr(r->family, r->server, addr, sizeof(addr)), r->server_port);
	jprintf(&j, ",\"protocol\":\"%s\",\"latency_ms\":%.3f,\"pid\":%u,\"comm\":",
		r->protocol == IPPROTO_TCP ? "tcp" : "udp", (double)r->latency_ns / 1e6, r->pid);
	jstr(&j, r->comm);
	jprintf(&j, ",\"truncated\":%s,\"answers\":[", m && m->partial ? "true" : "false");
	for (size_t i = 0; m && i < m->n_answers && i < DNS_MAX_ANSWERS; i++) {
		const struct dns_answer *a = &m->answers[i];

		jprintf(&j, "%s{\"name\":", i ? "," : "");
		jstr(&j, a->name);
		jprintf(&j, ",\"type\":\"%s\",\"data\":", dns_type_name(a->type, tmp, sizeof(tmp)));
		if (a->family == AF_INET || a->family == AF_INET6)
			jstr(&j, event_addr(a->family, a->addr, addr, sizeof(addr)));
		else
			jstr(&j, a->target);
		jprintf(&j, ",\"ttl\":%u}", a->ttl);
	}
	jprintf(&j, "]}");
	return j.over ? -ENOSPC : (int)j.pos;
}
