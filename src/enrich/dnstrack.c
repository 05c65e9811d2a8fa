// SPDX-License-Identifier: MIT
/*
 * DNS transaction tracker. Waiting queries are found by a uthash table on
 * (netns, protocol, client, server, id), hashed with a random seed (the
 * addresses and ids come from the network), and the table's own insertion
 * order is the order they were sent, so expiry walks only what has timed
 * out. A record is checked, its header peeked to see whether it belongs to a
 * client transaction (a query leaving, a response arriving), and only then
 * parsed; the other copy of a loopback packet and server-side traffic are
 * counted as ignored, so a malformed packet on loopback counts once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/dnstrack.h"
#include "util/hashmix.h"
#include "flows/event.h"

static uint64_t dt_seed; /* hashmix_seed_once, by dnstrack_new */
#define HASH_FUNCTION(key, len, hv) \
	((hv) = hashmix_key(__atomic_load_n(&dt_seed, __ATOMIC_RELAXED), key, len))
#define HASH_NONFATAL_OOM 1 /* a query that cannot be indexed is not tracked */
#include <uthash.h>

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
	uint16_t qtype, qclass;
	char comm[GS_COMM_LEN];
	char qname[DNS_NAME_MAX];
	UT_hash_handle hh; /* by key; the table's order is the age order */
};

struct dnstrack {
	struct dt_entry *pending; /* uthash head: the oldest query */
	size_t max, count;
	uint64_t timeout_ns;
	dnstrack_fn fn;
	void *ctx;
	struct dnstrack_stats stats;
	struct dns_msg msg; /* scratch: too big for the stack of a hot path */
	char err[160];
};

/* ==== Table ==== */

static struct dt_entry *dt_find(struct dnstrack *t, const struct dt_key *k)
{
	struct dt_entry *e;

	HASH_FIND(hh, t->pending, k, sizeof(*k), e);
	return e;
}

static void dt_remove(struct dnstrack *t, struct dt_entry *e)
{
	HASH_DELETE(hh, t->pending, e);
	free(e);
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
	r.netns_cookie = e->key.netns_cookie;
	r.cgroup_id = e->cgroup_id;
	memcpy(r.comm, e->comm, sizeof(r.comm));
	r.response = resp;
	t->fn(&r, t->ctx);
}

/* ==== API ==== */

struct dnstrack *dnstrack_new(size_t max_pending, uint64_t timeout_ns, dnstrack_fn fn, void *ctx)
{
	struct dnstrack *t;

	if (!fn || max_pending == 0 || max_pending > DT_MAX_PENDING || timeout_ns == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max = max_pending;
	t->timeout_ns = timeout_ns;
	t->fn = fn;
	t->ctx = ctx;
	hashmix_seed_once(&dt_seed);
	return t;
}

int dnstrack_set_limits(struct dnstrack *t, size_t max_pending, uint64_t timeout_ns)
{
	if (!t || max_pending == 0 || max_pending > DT_MAX_PENDING || timeout_ns == 0)
		return -EINVAL;
	t->max = max_pending;
	t->timeout_ns = timeout_ns;
	return 0;
}

void dnstrack_free(struct dnstrack *t)
{
	struct dt_entry *e, *tmp;

	if (!t)
		return;
	HASH_ITER(hh, t->pending, e, tmp)
	{
		HASH_DELETE(hh, t->pending, e);
		free(e);
	}
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

	make_key(&k, ev, 1);
	k.id = m->id;
	if (dt_find(t, &k)) {
		t->stats.retransmits++;
		return;
	}
	if (t->count >= t->max)
		dnstrack_expire(t, ev->ts_ns);
	if (t->count >= t->max) {
		t->stats.pending_full++;
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = k;
	e->ts_ns = ev->ts_ns;
	e->cgroup_id = ev->cgroup_id;
	e->pid = ev->pid;
	e->qtype = m->qtype;
	e->qclass = m->qclass;
	copy_comm(e->comm, ev->comm);
	memcpy(e->qname, m->qname, sizeof(e->qname));
	HASH_ADD(hh, t->pending, key, sizeof(e->key), e);
	if (!e->hh.tbl) { /* no memory for the table: not tracked */
		free(e);
		return;
	}
	t->count++;
	t->stats.queries++;
}

static void match_response(struct dnstrack *t, const struct gs_dns_event *ev,
			   const struct dns_msg *m)
{
	struct dt_key k;
	struct dt_entry *e;

	make_key(&k, ev, 0);
	k.id = m->id;
	e = dt_find(t, &k);
	if (!e) {
		t->stats.unmatched++;
		return;
	}
	/* Same id, other question: not the answer to this query (RFC 5452
	 * 9.1); the query keeps waiting. */
	if (e->qtype != m->qtype || e->qclass != m->qclass || strcmp(e->qname, m->qname)) {
		t->stats.unmatched++;
		return;
	}
	t->stats.responses++;
	report(t, e, m->rcode, ev->ts_ns, m);
	dt_remove(t, e);
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
	while (t->pending) {
		struct dt_entry *e = t->pending;

		if (now_ns < e->ts_ns || now_ns - e->ts_ns < t->timeout_ns)
			break;
		t->stats.timeouts++;
		report(t, e, -1, now_ns, NULL);
		dt_remove(t, e);
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
