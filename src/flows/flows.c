// SPDX-License-Identifier: MIT
/*
 * Flows: the user-space connection table.
 *
 * Each TCP connection (key: socket address + start time) and UDP flow (key:
 * 5-tuple + netns) gets an entry the first time user space sees it, in a
 * batch read of the kernel map or in its final record. The entry points to
 * an interned label set (owner, peer, service port, names), computed once,
 * and remembers what has been counted so far, so each later reading adds
 * only its growth: the sums over flow series equal the kernel's global
 * counters. Families are `struct agg`: attribute selection and a hard
 * series cap live there.
 *
 * TIME_WAIT sockets have no owner any more; the census tuple is matched
 * against connections that closed actively in the last two minutes to name
 * the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "metrics/agg.h"
#include "metrics/attrsel.h"
#include "metrics/eventq.h"
#include "util/clock.h"
#include "enrich/dns.h"
#include "enrich/dnstrack.h"
#include "flows/event.h"
#include "flows/flows_int.h"
#include "enrich/hostcache.h"
#include "util/log.h"
#include "enrich/netclass.h"
#include "enrich/proccache.h"
#include "flows/twcensus.h"
#include "probes/scope.h"

/* ==== Label values of one flow ==== */

struct owner {
	uint32_t pid;
	uint64_t cgroup_id;
	const char *comm;  /* GS_COMM_LEN bytes, maybe without NUL */
	uint64_t netns;	   /* for dst_name: names known in this namespace */
	uint64_t start_ns; /* ... when the flow began; 0 unknown: no name */
};

/* dst_name: what the flow's process (else its namespace) had looked up for
 * raddr when the flow began, however late its first record is read. */
static const char *flow_name(const struct flows *f, const struct owner *o, uint16_t family,
			     const uint8_t *raddr)
{
	struct hostcache_query q = { .at_ns = o->start_ns, .netns = o->netns, .pid = o->pid };

	if (!o->start_ns)
		return NULL;
	return hostcache_lookup(f->hc, family, raddr, &q);
}

static bool is_ephemeral(const struct flows *f, uint16_t port)
{
	return port >= f->eph_lo && port <= f->eph_hi;
}

/* Build the label set of a flow. local/remote as the kernel stores them. */
static struct lset *labels_for(struct flows *f, const char *protocol, bool server,
			       const struct owner *o, uint16_t family, const uint8_t *laddr,
			       uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	char comm[GS_COMM_LEN + 1], pid[16], port[8], src[EVENT_ADDR_STRLEN],
		dst[EVENT_ADDR_STRLEN];
	const struct proc_info *pi = NULL;
	const char *name, *cls = "", *zone = "", *lzone = "";
	char *v[U_MAX] = { 0 };

	event_copy_str(comm, sizeof(comm), o->comm, GS_COMM_LEN);
	if (o->pid)
		pi = proccache_get(f->pc, o->pid, comm, o->cgroup_id, f->now_ns);
	/* The kernel's name wins: the thread-group leader's comm when the
	 * socket acted (connect, accept, UDP send), what /proc/PID/comm showed
	 * then, renames after exec included. The cache's name (read at exec
	 * or first sight, never refreshed) only fills a record without one. */
	if (!comm[0] && pi && pi->comm[0])
		event_copy_str(comm, sizeof(comm), pi->comm, sizeof(pi->comm));
	if (!comm[0])
		snprintf(comm, sizeof(comm), "unknown");
	snprintf(pid, sizeof(pid), "%" PRIu32, o->pid);
	snprintf(port, sizeof(port), "%u", server ? lport : rport);
	event_addr(family, laddr, src, sizeof(src));
	event_addr(family, raddr, dst, sizeof(dst));
	if (server && !f->cfg->client_address)
		dst[0] = '\0'; /* a public server: one series per service, not per client */
	name = flow_name(f, o, family, raddr);
	netclass_lookup(f->nc, family, raddr, &cls, &zone);
	/* Our side: the networks' zone of the local address, else the zone
	 * this host declares (zone:); the same for both roles. */
	netclass_lookup(f->nc, family, laddr, NULL, &lzone);
	if (!lzone[0])
		lzone = f->cfg->zone;

	v[U_PROTOCOL] = (char *)protocol;
	v[U_ROLE] = server ? "server" : "client";
	v[U_SRC_PROCESS] = comm;
	v[U_SRC_SERVICE] =
		(char *)proc_service(pi ? pi->container_id : "", pi ? pi->unit : "", comm);
	v[U_SRC_PID] = pid;
	v[U_SRC_EXE] = pi ? (char *)pi->exe : "";
	v[U_SRC_CONTAINER] = pi ? (char *)pi->container_id : "";
	v[U_SRC_UNIT] = pi ? (char *)pi->unit : "";
	v[U_SRC_CGROUP] = pi ? (char *)pi->cgroup : "";
	v[U_SRC_ADDRESS] = src;
	v[U_DST_ADDRESS] = dst;
	v[U_DST_PORT] = port;
	v[U_DST_NAME] = name ? (char *)name : "";
	v[U_DST_CLASS] = (char *)cls;
	v[U_SRC_ZONE] = (char *)lzone;
	v[U_DST_ZONE] = (char *)zone;
	return flows_lset_get(f, v);
}

/* ==== Counting ==== */

static void fam_values(const struct flows *f, int fam, const struct lset *ls, const char *direction,
		       const char *outcome, const char *state, const char **out)
{
	for (int i = 0; i < f->fam_n[fam]; i++) {
		int u = f->fam_idx[fam][i];

		if (u == U_DIRECTION)
			out[i] = direction;
		else if (u == U_OUTCOME)
			out[i] = outcome;
		else if (u == U_STATE)
			out[i] = state;
		else
			out[i] = ls->v[u] ? ls->v[u] : "";
	}
}

static void proc_values(const struct flows *f, const struct lset *ls, const char *direction,
			const char **out)
{
	out[P_PROCESS] = ls->v[U_SRC_PROCESS];
	out[P_SERVICE] = ls->v[U_SRC_SERVICE];
	out[P_DIRECTION] = direction;
	out[P_PROTOCOL] = ls->v[U_PROTOCOL];
	out[P_PID] = ls->v[U_SRC_PID];
	out[P_EXE] = ls->v[U_SRC_EXE];
	out[P_CONTAINER] = ls->v[U_SRC_CONTAINER];
	out[P_UNIT] = ls->v[U_SRC_UNIT];
	out[P_CGROUP] = ls->v[U_SRC_CGROUP];
}

/* Traffic that crosses zones: ours and the peer's both known, and not the
 * same. A peer in no zone (the internet, an unlisted network) is not
 * counted: its cost is not between two zones of ours. */
static bool inter_zone(const struct lset *ls)
{
	const char *src = ls->v[U_SRC_ZONE], *dst = ls->v[U_DST_ZONE];

	return src && dst && src[0] && dst[0] && strcmp(src, dst);
}

static void add_bytes(struct flows *f, const struct lset *ls, uint64_t sent, uint64_t rcvd)
{
	const uint64_t n[2] = { sent, rcvd };
	const char *const dir[2] = { "sent", "received" };
	const char *v[U_MAX];
	bool zones = inter_zone(ls);

	for (int i = 0; i < 2; i++) {
		if (!n[i])
			continue;
		fam_values(f, FF_BYTES, ls, dir[i], NULL, NULL, v);
		agg_add(f->a[FF_BYTES], v, (double)n[i]);
		proc_values(f, ls, dir[i], v);
		agg_add(f->a[FF_PROC_BYTES], v, (double)n[i]);
		if (zones) {
			fam_values(f, FF_ZONE_BYTES, ls, dir[i], NULL, NULL, v);
			agg_add(f->a[FF_ZONE_BYTES], v, (double)n[i]);
		}
	}
}

/* Count growth since the entry's last reading; a reading that went back
 * (the FIN's sequence number seen early) is not subtracted. */
static void count_growth(struct flows *f, struct entry *e, uint64_t sent, uint64_t rcvd,
			 uint32_t retrans)
{
	uint64_t ds = sent > e->sent ? sent - e->sent : 0;
	uint64_t dr = rcvd > e->rcvd ? rcvd - e->rcvd : 0;
	const char *v[U_MAX];

	add_bytes(f, e->ls, ds, dr);
	if (retrans > e->retrans) {
		fam_values(f, FF_RETRANS, e->ls, NULL, NULL, NULL, v);
		agg_add(f->a[FF_RETRANS], v, (double)(retrans - e->retrans));
		e->retrans = retrans;
	}
	if (sent > e->sent)
		e->sent = sent;
	if (rcvd > e->rcvd)
		e->rcvd = rcvd;
}

/* ==== TCP ==== */

static void tcp_key(struct ekey *k, uint64_t sock_id, uint64_t start_ns)
{
	memset(k, 0, sizeof(*k));
	k->kind = K_TCP;
	memcpy(k->b, &sock_id, 8);
	memcpy(k->b + 8, &start_ns, 8);
}

static bool tcp_is_server(const struct flows *f, const struct gs_conn *c)
{
	if (c->flags & GS_CF_PASSIVE)
		return true;
	if (c->flags & GS_CF_ACTIVE)
		return false;
	/* Seeded: open before the agent started. A listener on the local
	 * port makes it the server side; otherwise an ephemeral local port
	 * says client. */
	if (f->listeners_fd >= 0) {
		struct {
			__u64 netns_cookie;
			__u16 port;
			__u16 pad[3];
		} lk = { .netns_cookie = c->netns_cookie, .port = c->sport };
		uint8_t val[64];

		if (!bpf_map_lookup_elem(f->listeners_fd, &lk, val))
			return true;
	}
	return !is_ephemeral(f, c->sport) && is_ephemeral(f, c->dport);
}

static struct lset *tcp_labels(struct flows *f, const struct gs_conn *c)
{
	struct owner o = { .pid = c->pid,
			   .cgroup_id = c->cgroup_id,
			   .comm = c->comm,
			   .netns = c->netns_cookie,
			   .start_ns = c->start_ns };

	return labels_for(f, "tcp", tcp_is_server(f, c), &o, c->family, c->saddr, c->sport,
			  c->daddr, c->dport);
}

/* The kernel fills a connection's addresses and ports for good at
 * ESTABLISHED (the record's tuple is read again there) or at a failed close. */
static bool tcp_tuple_final(const struct gs_conn *c)
{
	return c->flags & (GS_CF_ESTABLISHED | GS_CF_CLOSED);
}

static struct entry *tcp_entry(struct flows *f, uint64_t sock_id, const struct gs_conn *c,
			       bool create)
{
	struct ekey k;
	struct entry *e;

	tcp_key(&k, sock_id, c->start_ns);
	e = ftable_find(&f->tcp, &k);
	if (e) {
		/* Label anew when accept() handed it to another process since,
		 * or when a pass labelled a child in SYN_RECV: the kernel
		 * fills its peer address only on the way to ESTABLISHED (a
		 * v4-mapped peer read there is ::). */
		if ((e->pid != c->pid && c->pid) || (!e->final && tcp_tuple_final(c))) {
			struct lset *ls = tcp_labels(f, c);

			if (ls) {
				flows_lset_put(f, e->ls);
				e->ls = ls;
				e->pid = c->pid;
				e->final = tcp_tuple_final(c);
			}
		}
		return e;
	}
	if (!create || !c->family)
		return NULL;
	e = ftable_add(&f->tcp, &k);
	if (!e)
		return NULL;
	e->ls = tcp_labels(f, c);
	if (!e->ls) {
		ftable_del(f, &f->tcp, e);
		return NULL;
	}
	e->pid = c->pid;
	e->final = tcp_tuple_final(c);
	/* Open before the agent started: what moved before is not ours to
	 * count (the kernel counters start there too). */
	if (c->flags & GS_CF_SEEDED) {
		e->sent = c->seed_sent;
		e->rcvd = c->seed_rcvd;
		e->retrans = c->seed_retrans;
	}
	return e;
}

static const char *tcp_outcome(const struct gs_event *ev)
{
	const struct gs_conn *c = &ev->conn;

	if (ev->hdr.type == GS_EV_FAILED) {
		switch (c->err) {
		case ECONNREFUSED:
			return "refused";
		case ETIMEDOUT:
			return "timeout";
		case EHOSTUNREACH:
		case ENETUNREACH:
			return "unreachable";
		case ECONNRESET:
			return "reset";
		default:
			return "error";
		}
	}
	if (c->flags & (GS_CF_RST_SENT | GS_CF_RST_RECEIVED | GS_CF_ABORTED))
		return "reset";
	return "ok";
}

/* Remember who owned a connection that will sit in TIME_WAIT. */
static void tw_remember(struct flows *f, const struct gs_conn *c, struct lset *ls)
{
	struct ekey k = { .kind = K_TW };
	struct entry *e;

	/* FIN_WAIT1 (4), FIN_WAIT2 (5), CLOSING (11): we closed first. */
	if (c->close_oldstate != 4 && c->close_oldstate != 5 && c->close_oldstate != 11)
		return;
	memcpy(k.b, c->saddr, 16);
	memcpy(k.b + 16, c->daddr, 16);
	memcpy(k.b + 32, &c->sport, 2);
	memcpy(k.b + 34, &c->dport, 2);
	memcpy(k.b + 36, &c->family, 2);
	e = ftable_find(&f->tws, &k);
	if (!e)
		e = ftable_add(&f->tws, &k);
	if (!e)
		return;
	ls->refs++;
	flows_lset_put(f, e->ls);
	e->ls = ls;
	e->expire_ns = f->now_ns + TW_REMEMBER_NS;
}

/*
 * A child socket that closed before ESTABLISHED without an error or a RST
 * and was never accepted is not a connection of its own: the kernel's clone
 * that lost the race to create one (two packets of one handshake on two
 * CPUs; inet_ehash_nolisten() finds the winner's socket and drops this one),
 * or one the listener, closing, could no longer queue (its client gets the
 * RST and counts it). The winner is counted. The kernel counted it in
 * PassiveOpens, and so do the connection totals.
 */
static bool tcp_dropped_child(const struct gs_event *ev)
{
	const struct gs_conn *c = &ev->conn;

	return ev->hdr.type == GS_EV_FAILED && (c->flags & GS_CF_PASSIVE) && !c->err &&
	       !(c->flags & (GS_CF_RST_SENT | GS_CF_RST_RECEIVED | GS_CF_ACCEPTED));
}

/* ==== Events for the OTLP logs (metrics/eventq.h) ==== */

/* A CLOCK_MONOTONIC time of a record as Unix time (the agent's reading of
 * both clocks now). */
static uint64_t mono_to_unix(uint64_t t, uint64_t mono_now, uint64_t unix_now)
{
	if (!t || t > mono_now || mono_now - t > unix_now)
		return unix_now;
	return unix_now - (mono_now - t);
}

/* The local process's facts of a label set. */
static void event_owner(struct eventq_rec *r, const struct lset *ls, uint32_t pid)
{
	r->pid = pid;
	snprintf(r->process, sizeof(r->process), "%s",
		 ls->v[U_SRC_PROCESS] ? ls->v[U_SRC_PROCESS] : "unknown");
	snprintf(r->service, sizeof(r->service), "%s",
		 ls->v[U_SRC_SERVICE] ? ls->v[U_SRC_SERVICE] : "");
}

/* A failed connection or a reset one, with its process and peer, to the
 * event queue when one is attached (an `otlp` adapter with logs: true). */
static void tcp_event(struct flows *f, const struct gs_event *ev, const struct lset *ls)
{
	const struct gs_conn *c = &ev->conn;
	struct eventq *q = eventq_current();
	uint64_t mono_now, unix_now;
	struct eventq_rec r;

	if (!q)
		return;
	memset(&r, 0, sizeof(r));
	if (ev->hdr.type == GS_EV_FAILED)
		r.kind = EVENTQ_CONN_FAILED;
	else if (c->flags & (GS_CF_RST_SENT | GS_CF_RST_RECEIVED | GS_CF_ABORTED))
		r.kind = EVENTQ_CONN_RESET;
	else
		return;
	mono_now = mono_ns();
	unix_now = unix_ns();
	r.time_unix_ns = mono_to_unix(c->end_ns, mono_now, unix_now);
	r.observed_unix_ns = unix_now;
	event_owner(&r, ls, c->pid);
	snprintf(r.transport, sizeof(r.transport), "tcp");
	snprintf(r.role, sizeof(r.role), "%s", tcp_is_server(f, c) ? "server" : "client");
	r.ipv6 = c->family == AF_INET6;
	event_addr(c->family, c->saddr, r.local_addr, sizeof(r.local_addr));
	event_addr(c->family, c->daddr, r.peer_addr, sizeof(r.peer_addr));
	r.local_port = c->sport;
	r.peer_port = c->dport;
	if (ls->v[U_DST_NAME])
		snprintf(r.peer_name, sizeof(r.peer_name), "%s", ls->v[U_DST_NAME]);
	if (c->err)
		event_errno_label(c->err, r.error, sizeof(r.error));
	if (c->flags & GS_CF_RST_SENT) {
		snprintf(r.reset_dir, sizeof(r.reset_dir), "sent");
		if (f->rst_names && c->reset_reason < f->n_rst_names &&
		    f->rst_names[c->reset_reason][0])
			snprintf(r.reset_reason, sizeof(r.reset_reason), "%s",
				 f->rst_names[c->reset_reason]);
	} else if (c->flags & GS_CF_RST_RECEIVED) {
		snprintf(r.reset_dir, sizeof(r.reset_dir), "received");
	} else if (c->flags & GS_CF_ABORTED) {
		/* close() or disconnect() aborted it: its RST (and the
		 * kernel's reason for it) follows the record */
		snprintf(r.reset_dir, sizeof(r.reset_dir), "sent");
	}
	eventq_push(q, &r, mono_now);
}

static void tcp_record(struct flows *f, const struct gs_event *ev)
{
	const struct gs_conn *c = &ev->conn;
	bool dropped = tcp_dropped_child(ev);
	struct entry *e = tcp_entry(f, ev->sock_id, c, !dropped);
	const char *v[U_MAX];

	if (!e)
		return;
	if (dropped) { /* seen open by a pass: forget it */
		ftable_del(f, &f->tcp, e);
		return;
	}
	count_growth(f, e, c->bytes_sent, c->bytes_received, c->total_retrans);
	fam_values(f, FF_CONNS, e->ls, NULL, tcp_outcome(ev), NULL, v);
	agg_add(f->a[FF_CONNS], v, 1);
	if (ev->hdr.type == GS_EV_CLOSE && c->srtt_us) {
		fam_values(f, FF_RTT, e->ls, NULL, NULL, NULL, v);
		agg_observe(f->a[FF_RTT], v, c->srtt_us / 1e6);
	}
	if (ev->hdr.type == GS_EV_CLOSE)
		tw_remember(f, c, e->ls);
	tcp_event(f, ev, e->ls);
	ftable_del(f, &f->tcp, e);
}

void flows_tcp_begin(struct flows *f)
{
	f->pass++;
	agg_gauge_begin(f->a[FF_OPEN]);
	f->tcp_pass_open = true;
}

/*
 * Payload that reached a passive connection before accept() returned it
 * belongs to the process that accepts it: while the kernel entry still
 * carries the listener's owner, a pass leaves its growth to the accept
 * (the next pass, relabelled) or to the close record. An io_uring accept
 * passes no syscall exit: such a connection is counted at its close.
 */
static bool tcp_growth_deferred(const struct flows *f, const struct gs_conn *c)
{
	return f->accept_owner &&
	       (c->flags & (GS_CF_PASSIVE | GS_CF_ACCEPTED | GS_CF_SEEDED)) == GS_CF_PASSIVE;
}

void flows_tcp_entry(struct flows *f, uint64_t key, const struct gs_conn *c, uint64_t now_ns)
{
	const char *state, *v[U_MAX];
	struct entry *e;

	f->now_ns = now_ns;
	/* A closing entry: its record is on the way and counts it. */
	if (c->flags & GS_CF_CLOSED)
		return;
	e = tcp_entry(f, key, c, true);
	if (!e)
		return;
	e->seen_pass = f->pass;
	if (!tcp_growth_deferred(f, c))
		count_growth(f, e, c->bytes_sent, c->bytes_received, c->total_retrans);
	if (c->flags & GS_CF_ESTABLISHED)
		state = "established";
	else if (c->flags & GS_CF_PASSIVE)
		state = "syn_recv";
	else
		state = "syn_sent";
	fam_values(f, FF_OPEN, e->ls, NULL, NULL, state, v);
	agg_gauge_add(f->a[FF_OPEN], v, 1);
}

static void tw_seen(uint16_t family, const uint8_t saddr[16], uint16_t sport,
		    const uint8_t daddr[16], uint16_t dport, void *ctx)
{
	struct flows *f = ctx;
	struct ekey k = { .kind = K_TW };
	struct lset *ls = NULL;
	struct entry *e;

	memcpy(k.b, saddr, 16);
	memcpy(k.b + 16, daddr, 16);
	memcpy(k.b + 32, &sport, 2);
	memcpy(k.b + 34, &dport, 2);
	memcpy(k.b + 36, &family, 2);
	e = ftable_find(&f->tws, &k);
	if (e) {
		ls = e->ls;
		ls->refs++;
	} else {
		struct owner o = { .comm = "" };

		ls = labels_for(f, "tcp", !is_ephemeral(f, sport) && is_ephemeral(f, dport), &o,
				family, saddr, sport, daddr, dport);
	}
	if (!ls)
		return;
	if (ls->tw_n++ == 0) {
		ls->tw_next = f->tw_sets; /* the list keeps this reference */
		f->tw_sets = ls;
	} else {
		flows_lset_put(f, ls);
	}
}

/* Forget the last census (the sets' references with it). */
void flows_tw_forget(struct flows *f)
{
	struct lset *ls = f->tw_sets, *next;

	for (; ls; ls = next) {
		next = ls->tw_next;
		ls->tw_n = 0;
		ls->tw_next = NULL;
		flows_lset_put(f, ls);
	}
	f->tw_sets = NULL;
}

/* Take a new census when it is due, then put the last one in the gauge. */
static void tw_census(struct flows *f, uint64_t now_ns)
{
	const char *v[U_MAX];

	if (f->tw && !f->tw_sliced && now_ns >= f->next_census_ns) {
		uint64_t t0 = mono_ns(), took;

		flows_tw_forget(f);
		twcensus_run(f->tw, tw_seen, f);
		/* One namespace costs little: census every pass. Many (scope
		 * host) are spaced by what they cost. */
		if (twcensus_namespaces(f->tw) > 1) {
			took = (mono_ns() - t0) * TW_CENSUS_SPACING;
			f->next_census_ns =
				now_ns + (took < TW_CENSUS_MAX_NS ? took : TW_CENSUS_MAX_NS);
		}
	}
	for (struct lset *ls = f->tw_sets; ls; ls = ls->tw_next) {
		fam_values(f, FF_OPEN, ls, NULL, NULL, "time_wait", v);
		agg_gauge_add(f->a[FF_OPEN], v, ls->tw_n);
	}
}

bool flows_tw_census_begin(struct flows *f, uint64_t now_ns)
{
	f->tw_sliced = true;
	if (!f->tw || now_ns < f->next_census_ns)
		return false;
	f->tw_work_ns = 0;
	flows_tw_forget(f);
	twcensus_begin(f->tw);
	return true;
}

int flows_tw_census_step(struct flows *f)
{
	uint64_t t0 = mono_ns(), took;
	int r = twcensus_step(f->tw, tw_seen, f);

	f->tw_work_ns += mono_ns() - t0;
	if (r == -EINPROGRESS)
		return r;
	/* spaced as tw_census spaces them */
	if (twcensus_namespaces(f->tw) > 1) {
		took = f->tw_work_ns * TW_CENSUS_SPACING;
		f->next_census_ns = mono_ns() + (took < TW_CENSUS_MAX_NS ? took : TW_CENSUS_MAX_NS);
	}
	return r;
}

static void sweep_table(struct flows *f, struct table *t,
			bool (*stale)(const struct flows *, const struct entry *))
{
	struct entry *e, *tmp;

	HASH_ITER(hh, t->head, e, tmp)
	{
		if (stale(f, e))
			ftable_del(f, t, e);
	}
}

/* Seen by no pass twice and closed by no record: the record was lost (ring
 * buffer full). The growth counted so far stays. */
static bool tcp_stale(const struct flows *f, const struct entry *e)
{
	return f->pass - e->seen_pass >= 2;
}

static bool tw_stale(const struct flows *f, const struct entry *e)
{
	return e->expire_ns <= f->now_ns;
}

/* Left the map without a final reading (deleted meanwhile). */
static bool udp_stale(const struct flows *f, const struct entry *e)
{
	return e->seen_pass != f->udp_pass;
}

void flows_tcp_end(struct flows *f, uint64_t now_ns)
{
	size_t before = ftable_count(&f->tcp);

	f->now_ns = now_ns;
	tw_census(f, now_ns);
	sweep_table(f, &f->tcp, tcp_stale);
	f->lost_tcp += before - ftable_count(&f->tcp);
	sweep_table(f, &f->tws, tw_stale);
	f->tcp_pass_open = false;
}

/* ==== UDP ==== */

void flows_udp(struct flows *f, const struct gs_udp_key *k, const struct gs_udp_flow *v, int final,
	       uint64_t now_ns)
{
	struct ekey key = { .kind = K_UDP };
	const char *lv[U_MAX];
	struct entry *e;

	f->now_ns = now_ns;
	memcpy(key.b, k, sizeof(*k));
	e = ftable_find(&f->udp, &key);
	if (!e) {
		struct owner o = { .pid = v->pid,
				   .cgroup_id = v->cgroup_id,
				   .comm = v->comm,
				   .netns = k->netns_cookie,
				   .start_ns = v->first_ns };
		bool server = !(v->flags & GS_UF_EGRESS_FIRST);

		e = ftable_add(&f->udp, &key);
		if (!e)
			return;
		e->ls = labels_for(f, "udp", server, &o, k->family, k->laddr, k->lport, k->raddr,
				   k->rport);
		if (!e->ls) {
			ftable_del(f, &f->udp, e);
			return;
		}
		e->pid = v->pid;
		fam_values(f, FF_CONNS, e->ls, NULL, "ok", NULL, lv);
		agg_add(f->a[FF_CONNS], lv, 1);
	}
	e->seen_pass = f->udp_pass;
	count_growth(f, e, v->bytes_sent, v->bytes_received, 0);
	if (final)
		ftable_del(f, &f->udp, e);
}

void flows_udp_end(struct flows *f)
{
	size_t before = ftable_count(&f->udp);

	sweep_table(f, &f->udp, udp_stale);
	f->lost_udp += before - ftable_count(&f->udp);
	f->udp_pass++;
}

/* ==== DNS, getaddrinfo, processes ==== */

static uint32_t flows_min_ttl_s(const struct flows *f)
{
	return (uint32_t)((f->cfg->dns_min_ttl_ns + 999999999ULL) / 1000000000ULL);
}

/* An answered query of a local process to the event queue, when one is
 * attached: the name, type, response code, answers, server and latency. */
static void dns_event(struct flows *f, const struct dnstrack_result *d, const char *qtype,
		      const char *rcode, const char *server, const char *comm)
{
	struct eventq *q = eventq_current();
	const struct proc_info *pi = NULL;
	const struct dns_msg *m = d->response;
	uint64_t mono_now, unix_now;
	struct eventq_rec r;

	if (!q || !m || d->rcode < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.kind = EVENTQ_DNS_ANSWER;
	mono_now = mono_ns();
	unix_now = unix_ns();
	r.time_unix_ns = mono_to_unix(d->ts_ns, mono_now, unix_now);
	r.observed_unix_ns = unix_now;
	r.pid = d->pid;
	snprintf(r.process, sizeof(r.process), "%s", comm);
	if (d->pid)
		pi = proccache_get(f->pc, d->pid, comm, d->cgroup_id, f->now_ns);
	snprintf(r.service, sizeof(r.service), "%s",
		 proc_service(pi ? pi->container_id : "", pi ? pi->unit : "", comm));
	snprintf(r.transport, sizeof(r.transport), "%s",
		 d->protocol == IPPROTO_TCP ? "tcp" : "udp");
	snprintf(r.role, sizeof(r.role), "client");
	r.ipv6 = d->family == AF_INET6;
	snprintf(r.peer_addr, sizeof(r.peer_addr), "%s", server);
	r.peer_port = d->server_port;
	snprintf(r.qname, sizeof(r.qname), "%s", d->qname ? d->qname : "");
	snprintf(r.qtype, sizeof(r.qtype), "%s", qtype);
	snprintf(r.rcode, sizeof(r.rcode), "%s", rcode);
	r.latency_ns = d->latency_ns;
	for (size_t i = 0; i < m->n_answers && i < DNS_MAX_ANSWERS; i++) {
		const struct dns_answer *a = &m->answers[i];
		char *out;

		if (r.n_answers == EVENTQ_ANSWERS)
			break;
		out = r.answers[r.n_answers];
		if (a->family == AF_INET || a->family == AF_INET6)
			event_addr(a->family, a->addr, out, EVENTQ_ANSWER_LEN);
		else if (a->target[0])
			snprintf(out, EVENTQ_ANSWER_LEN, "%s", a->target);
		else
			continue;
		r.n_answers++;
	}
	eventq_push(q, &r, mono_now);
}

void flows_dns_result(const struct dnstrack_result *r, void *ctx)
{
	struct flows *f = ctx;
	char qtype[16], rcode[16], server[EVENT_ADDR_STRLEN], comm[GS_COMM_LEN + 1];
	const char *qt = dns_type_name(r->qtype, qtype, sizeof(qtype));
	const char *rc =
		r->rcode < 0 ? "timeout" : dns_rcode_name((unsigned)r->rcode, rcode, sizeof(rcode));
	const char *v[Q_MAX];
	uint8_t addr[16] = { 0 };

	memcpy(addr, r->server, 16);
	event_addr(r->family, addr, server, sizeof(server));
	event_copy_str(comm, sizeof(comm), r->comm, GS_COMM_LEN);
	v[Q_QTYPE] = qt;
	v[Q_RCODE] = rc;
	v[Q_SERVER] = server;
	v[Q_SRC_PROCESS] = comm[0] ? comm : "unknown";
	v[Q_NAME] = r->qname ? r->qname : "";
	agg_add(f->a[FF_DNS_QUERIES], v, 1);
	if (r->rcode >= 0) {
		const char *lv[LL_MAX] = { server, qt, v[Q_SRC_PROCESS] };

		agg_observe(f->a[FF_DNS_LATENCY], lv, r->latency_ns / 1e9);
	}
	/* A/AAAA answers name their addresses by the queried name, through
	 * CNAME chains, for the chain's smallest TTL (at least dns.min_ttl),
	 * from the answer's arrival on, in the querying socket's namespace. */
	if (r->response) {
		struct hostcache_origin o = { .seen_ns = r->ts_ns,
					      .netns = r->netns_cookie,
					      .pid = r->pid,
					      .min_ttl_s = flows_min_ttl_s(f) };

		hostcache_put_response(f->hc, r->response, &o);
	}
	dns_event(f, r, qt, rc, server, v[Q_SRC_PROCESS]);
	if (f->cfg->dns_events == DNS_EVENTS_LOG) {
		char json[2048];

		if (dnstrack_format_json(r, json, sizeof(json)) > 0)
			pr_info("dns %s", json);
	}
}

/* getaddrinfo() on an address literal (what socket.create_connection, Go's
 * dialer and many clients pass) resolves nothing: not a name. IPv4 as
 * inet_aton reads it (getaddrinfo accepts "127.1"), IPv6 with or without
 * a %scope. */
static bool numeric_host(const char *name)
{
	char v6[GS_NAME_LEN + 1];
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_aton(name, &a4))
		return true;
	snprintf(v6, sizeof(v6), "%s", name);
	v6[strcspn(v6, "%")] = '\0';
	return inet_pton(AF_INET6, v6, &a6) == 1;
}

static void resolve_record(struct flows *f, const struct gs_resolve_event *ev)
{
	char name[GS_NAME_LEN + 1];
	struct hostcache_origin o = { .seen_ns = ev->ts_ns,
				      .netns = ev->netns_cookie,
				      .pid = ev->pid,
				      .min_ttl_s = flows_min_ttl_s(f),
				      .own = true };
	size_t n;

	event_copy_str(name, sizeof(name), ev->name, GS_NAME_LEN);
	if (numeric_host(name))
		return;
	/* As the DNS parser spells names: lower case, no root dot (a
	 * program may ask for "api.example.com."). */
	n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
	if (!name[0])
		return;
	for (uint32_t i = 0; i < ev->n_addrs && i < GS_RESOLVE_MAX; i++)
		hostcache_put(f->hc, ev->addrs[i].family, ev->addrs[i].addr, name, RESOLVE_TTL_S,
			      &o);
}

void flows_record(struct flows *f, const void *data, size_t size, uint64_t now_ns)
{
	const struct gs_event_hdr *hdr = data;

	f->now_ns = now_ns;
	if (size < sizeof(*hdr))
		return;
	switch (hdr->type) {
	case GS_EV_CLOSE:
	case GS_EV_FAILED:
		tcp_record(f, data);
		break;
	case GS_EV_EXEC:
	case GS_EV_FORK:
	case GS_EV_EXIT:
		proccache_event(f->pc, data, now_ns);
		break;
	case GS_EV_DNS:
		if (f->dt)
			dnstrack_packet(f->dt, data);
		break;
	case GS_EV_RESOLVE:
		resolve_record(f, data);
		break;
	default:
		break;
	}
}

void flows_tick(struct flows *f, uint64_t now_ns)
{
	f->now_ns = now_ns;
	if (f->dt)
		dnstrack_expire(f->dt, now_ns);
	proccache_expire(f->pc, now_ns);
	hostcache_expire(f->hc, now_ns);
}

void flows_set_listener_fd(struct flows *f, int fd)
{
	f->listeners_fd = fd;
}

void flows_set_reset_reasons(struct flows *f, const char (*names)[32], unsigned int n)
{
	f->rst_names = names;
	f->n_rst_names = n;
}

void flows_set_accept_owner(struct flows *f, bool on)
{
	f->accept_owner = on;
}

void flows_open_census(struct flows *f, const struct scope *scope)
{
	if (!f->tw)
		f->tw = twcensus_new(scope->kind == SCOPE_PATH ? scope->path : NULL,
				     scope->kind == SCOPE_HOST);
}

void flows_free(struct flows *f)
{
	if (!f)
		return;
	ftable_free(&f->tcp);
	ftable_free(&f->udp);
	ftable_free(&f->tws);
	flows_tw_forget(f);
	flows_lsets_free(f);
	for (int i = 0; i < FF_MAX; i++)
		agg_free(f->a[i]);
	dnstrack_free(f->dt);
	twcensus_free(f->tw);
	attrsel_free(f->sel);
	free(f);
}
