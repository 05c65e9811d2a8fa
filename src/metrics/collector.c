// SPDX-License-Identifier: MIT
/*
 * Collector: the kernel's counters -> metrics registry.
 *
 * Counters come from the per-CPU `stats` arrays (summed over CPUs, read
 * through probes/readers.h). The payload of open TCP connections is folded
 * into those same counters by the refresh program the feed runs on a timer
 * (not per scrape), so a scrape reads a handful of per-CPU values whatever
 * the number of connections.
 * Adding a metric: a catalogue row (metrics/catalogue.c), then a row in
 * rows[] below naming the counters it adds and subtracts, or a small
 * function when it is computed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abi/gespann_abi.h"
#include "metrics/catalogue.h"
#include "metrics/collector.h"
#include "flows/event.h"
#include "flows/feed.h"
#include "util/log.h"
#include "probes/readers.h"

struct collector {
	struct probes *probes;
	struct metric_family *f[M_CORE_END];
	struct probes_sums sums; /* the last read, kept off the stack */
};

struct collector *collector_new(struct registry *reg, struct probes *p)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->probes = p;
	for (int i = 0; i < M_CORE_END; i++) {
		c->f[i] = catalogue_declare(reg, i);
		if (!c->f[i]) {
			pr_err("failed to declare metric %s", catalogue[i].name);
			free(c);
			return NULL;
		}
	}
	return c;
}

void collector_free(struct collector *c)
{
	free(c);
}

/* ==== Kernel aggregates -> registry ==== */

static void set0(struct collector *c, int f, double v)
{
	registry_set(c->f[f], NULL, v);
}

static void set_hist(struct collector *c, const struct probes_sums *sums, int f, enum gs_hist h)
{
	registry_set_histogram(c->f[f], NULL, (const uint64_t *)sums->tcp.hist[h],
			       (double)sums->tcp.hist_sum_ns[h] / 1e9);
}

void collector_read_self(struct collector_self *self)
{
	struct timespec ts;
	long pages = 0, rss = 0;
	FILE *f;

	memset(self, 0, sizeof(*self));
	if (!clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)) {
		self->cpu_seconds = ts.tv_sec + ts.tv_nsec / 1e9;
		self->have_cpu = true;
	}
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) == 2) {
			self->rss_bytes = (double)rss * sysconf(_SC_PAGESIZE);
			self->have_rss = true;
		}
		fclose(f);
	}
}

static void publish_self(struct collector *c, const struct collector_self *self)
{
	if (self->have_cpu)
		set0(c, M_CPU, self->cpu_seconds);
	if (self->have_rss)
		set0(c, M_RSS, self->rss_bytes);
}

static void set_recursion_misses(void *ctx, const char *program, uint64_t misses)
{
	struct collector *c = ctx;
	const char *lv[2] = { program, NULL };

	registry_set(c->f[M_RECURSION_MISSES], lv, (double)misses);
}

/*
 * Open TCP connections from monotonic per-CPU counters. Tracked connections
 * (with a map entry) are exact: established minus closed. Closes of
 * untracked sockets mix connections that found the map full (their
 * establishment was counted) with connections opened before the agent
 * attached and not seeded (it was not), so they are matched against the
 * untracked establishments only, never against tracked ones: pre-existing
 * connections closing cannot pull the gauge below what is really open.
 * Connections open at start are seeded (GS_C_TCP_SEEDED) and tracked.
 */
static uint64_t tcp_open_connections(const __u64 *k)
{
	uint64_t est_tracked, closed_tracked, open;

	est_tracked =
		k[GS_C_TCP_ESTABLISHED] - k[GS_C_TCP_ESTABLISHED_UNTRACKED] + k[GS_C_TCP_SEEDED];
	closed_tracked = k[GS_C_TCP_CLOSED] - k[GS_C_TCP_CLOSED_UNTRACKED];
	open = est_tracked > closed_tracked ? est_tracked - closed_tracked : 0;
	if (k[GS_C_TCP_ESTABLISHED_UNTRACKED] > k[GS_C_TCP_CLOSED_UNTRACKED])
		open += k[GS_C_TCP_ESTABLISHED_UNTRACKED] - k[GS_C_TCP_CLOSED_UNTRACKED];
	return open;
}

void collector_update(struct collector *c, struct feed *fd)
{
	struct collector_self self;

	probes_read_sums(c->probes, &c->sums);
	collector_read_self(&self);
	collector_publish(c, &c->sums, feed_stats(fd) /* drains the records first */, &self);
}

/* ==== Counters -> families ==== */

/* Where a term of a row is read: a kernel family's counter (GS_C_*) or one
 * of the feed's counts. */
enum src { SRC_NONE = 0, SRC_TCP, SRC_UDP, SRC_PROC, SRC_FEED };
enum feed_count { FC_DELIVERED, FC_INVALID, FC_UDP_EXPIRED, FC_UDP_ACTIVE, FC_IDLE, FC_ENTRIES };

struct term {
	enum src src;
	int idx;
};

/* One series: the sum of add[] minus the sum of sub[] (modulo 2^64, as the
 * kernel's counters wrap), or what fn sets (the computed ones). */
struct counter_row {
	enum metric_id id;
	const char *lv[3];
	struct term add[3], sub[2];
	void (*fn)(struct collector *c, const struct probes_sums *sums,
		   const struct feed_stats *st);
};

#define TCP(x)                    \
	{                         \
		SRC_TCP, GS_C_##x \
	}
#define UDP(x)                    \
	{                         \
		SRC_UDP, GS_C_##x \
	}
#define PROC(x)                    \
	{                          \
		SRC_PROC, GS_C_##x \
	}
#define FEED(x)                  \
	{                        \
		SRC_FEED, FC_##x \
	}

static uint64_t term_value(const struct term *t, const struct probes_sums *sums,
			   const struct feed_stats *st)
{
	switch (t->src) {
	case SRC_TCP:
		return sums->tcp.counters[t->idx];
	case SRC_UDP:
		return sums->udp.counters[t->idx];
	case SRC_PROC:
		return sums->proc.counters[t->idx];
	case SRC_FEED: {
		const uint64_t feed[] = { st->delivered,  st->invalid,	 st->udp_expired,
					  st->udp_active, st->live.idle, st->live.entries };

		return feed[t->idx];
	}
	default:
		return 0;
	}
}

static void pub_open(struct collector *c, const struct probes_sums *sums,
		     const struct feed_stats *st)
{
	set0(c, M_OPEN, (double)(tcp_open_connections(sums->tcp.counters) + st->udp_active));
}

static void pub_averages(struct collector *c, const struct probes_sums *sums,
			 const struct feed_stats *st)
{
	const __u64 *k = sums->tcp.counters;
	uint64_t closed_dur = 0;

	for (int i = 0; i < GS_HIST_NBUCKETS; i++)
		closed_dur += sums->tcp.hist[GS_H_DURATION][i];
	set0(c, M_AVG_DURATION_MS,
	     closed_dur ? (double)sums->tcp.hist_sum_ns[GS_H_DURATION] / closed_dur / 1e6 : 0);
	set0(c, M_AVG_RTT_US,
	     k[GS_C_RTT_SAMPLES] ?
		     (double)sums->tcp.hist_sum_ns[GS_H_RTT] / k[GS_C_RTT_SAMPLES] / 1e3 :
		     0);
	set_hist(c, sums, M_DURATION_HIST, GS_H_DURATION);
	set_hist(c, sums, M_RTT_HIST, GS_H_RTT);
	set_hist(c, sums, M_CONNECT_HIST, GS_H_CONNECT);
}

/* RSTs sent by the kernel's reason, named as the running kernel names it. */
static void pub_reset_reasons(struct collector *c, const struct probes_sums *sums,
			      const struct feed_stats *st)
{
	const char *lv[3] = { "reset_sent", "tcp", NULL };

	for (unsigned int r = 0; r < GS_MAX_RST_REASON; r++) {
		char other[16];

		if (!sums->tcp.rst_sent_reason[r])
			continue;
		if (r < c->probes->n_reset_reasons && c->probes->reset_reason_names[r][0]) {
			lv[2] = c->probes->reset_reason_names[r];
		} else {
			snprintf(other, sizeof(other), "reason_%u", r);
			lv[2] = other;
		}
		registry_set(c->f[M_EVENTS], lv, (double)sums->tcp.rst_sent_reason[r]);
	}
}

static void pub_failures(struct collector *c, const struct probes_sums *sums,
			 const struct feed_stats *st)
{
	char errname[32];
	const char *lv[1];

	for (int e = 0; e < GS_MAX_ERRNO; e++) {
		if (!sums->tcp.failed_errno[e])
			continue;
		lv[0] = event_errno_label(e, errname, sizeof(errname));
		registry_set(c->f[M_FAILURES], lv, (double)sums->tcp.failed_errno[e]);
	}
}

static void pub_build_info(struct collector *c, const struct probes_sums *sums,
			   const struct feed_stats *st)
{
	const char *lv[1] = { GESPANN_VERSION };

	registry_set(c->f[M_BUILD_INFO], lv, 1);
}

static void pub_features(struct collector *c, const struct probes_sums *sums,
			 const struct feed_stats *st)
{
	const char *lv[1];

	for (int i = 0; i < FEAT_MAX; i++) {
		lv[0] = feature_name(i);
		registry_set(c->f[M_FEATURE], lv, c->probes->features[i] ? 1 : 0);
	}
	probes_recursion_misses(c->probes, set_recursion_misses, c);
}

/* The passes over kernel maps, once each has run (feed.c). */
static void pub_passes(struct collector *c, const struct probes_sums *sums,
		       const struct feed_stats *st)
{
	const char *lv[1];

	for (int k = 0; k < FEED_PASS_MAX; k++) {
		const struct feed_pass_stats *ps = &st->pass[k];

		if (!ps->slices)
			continue;
		lv[0] = feed_pass_name(k);
		registry_set(c->f[M_PASS_DURATION], lv, ps->last_wall_ns / 1e9);
		registry_set(c->f[M_PASS_SLICE_MAX], lv, ps->max_slice_ns / 1e9);
		registry_set(c->f[M_PASS_SLICES], lv, (double)ps->slices);
		registry_set(c->f[M_PASS_CPU], lv, ps->cpu_ns / 1e9);
		registry_set(c->f[M_PASS_ENTRIES], lv, (double)ps->last_entries);
	}
	if (st->loop_turns)
		set0(c, M_LOOP_STALL, st->loop_turn_max_ns / 1e9);
}

/* Every core series in the order they were first exported. */
static const struct counter_row rows[] = {
	{ M_OPEN, .fn = pub_open },
	{ M_TOTAL_GAUGE, .add = { TCP(TCP_ACTIVE_OPENS), TCP(TCP_PASSIVE_OPENS), UDP(UDP_FLOWS) } },
	{ M_CONNECTIONS_TOTAL,
	  .add = { TCP(TCP_ACTIVE_OPENS), TCP(TCP_PASSIVE_OPENS), UDP(UDP_FLOWS) } },
	{ M_TCP_CONNECTIONS, .add = { TCP(TCP_ACTIVE_OPENS), TCP(TCP_PASSIVE_OPENS) } },
	{ M_UDP_CONNECTIONS, .add = { UDP(UDP_FLOWS) } },
	{ M_CLOSED, .add = { TCP(TCP_CLOSED), FEED(UDP_EXPIRED) } },
	{ M_RESET, .add = { TCP(TCP_RESET_CLOSED) } },
	{ M_FAILED, .add = { TCP(TCP_FAILED) } },
	{ M_IDLE, .add = { FEED(IDLE) } },
	{ M_BYTES_SENT, .add = { TCP(TCP_BYTES_SENT), UDP(UDP_BYTES_SENT) },
	  .sub = { TCP(TCP_BYTES_SENT_CORR) } },
	{ M_BYTES_RECEIVED, .add = { TCP(TCP_BYTES_RECEIVED), UDP(UDP_BYTES_RECEIVED) },
	  .sub = { TCP(TCP_BYTES_RECEIVED_CORR) } },
	{ M_BANDWIDTH,
	  { "sent", "tcp" },
	  .add = { TCP(TCP_BYTES_SENT) },
	  .sub = { TCP(TCP_BYTES_SENT_CORR) } },
	{ M_BANDWIDTH,
	  { "received", "tcp" },
	  .add = { TCP(TCP_BYTES_RECEIVED) },
	  .sub = { TCP(TCP_BYTES_RECEIVED_CORR) } },
	{ M_BANDWIDTH, { "sent", "udp" }, .add = { UDP(UDP_BYTES_SENT) } },
	{ M_BANDWIDTH, { "received", "udp" }, .add = { UDP(UDP_BYTES_RECEIVED) } },
	{ M_AVG_DURATION_MS, .fn = pub_averages },
	{ M_RETRANS, { "tcp" }, .add = { TCP(TCP_RETRANS) } },
	{ M_EVENTS, { "open", "tcp", "" }, .add = { TCP(TCP_ACTIVE_OPENS) } },
	{ M_EVENTS, { "accept", "tcp", "" }, .add = { TCP(TCP_PASSIVE_OPENS) } },
	{ M_EVENTS, { "established", "tcp", "" }, .add = { TCP(TCP_ESTABLISHED) } },
	{ M_EVENTS, { "close", "tcp", "" }, .add = { TCP(TCP_CLOSED) } },
	{ M_EVENTS, { "reset_received", "tcp", "" }, .add = { TCP(TCP_RST_RECEIVED) } },
	{ M_EVENTS, { "failed", "tcp", "" }, .add = { TCP(TCP_FAILED) } },
	{ M_EVENTS, .fn = pub_reset_reasons },
	{ M_EVENTS, { "open", "udp", "" }, .add = { UDP(UDP_FLOWS) } },
	{ M_EVENTS, { "close", "udp", "" }, .add = { FEED(UDP_EXPIRED) } },
	{ M_FAILURES, .fn = pub_failures },
	{ M_BUILD_INFO, .fn = pub_build_info },
	{ M_EVENTS_LOST, .add = { TCP(EVENTS_LOST) } },
	{ M_EVENTS_DELIVERED, .add = { FEED(DELIVERED) } },
	{ M_EVENTS_INVALID, .add = { FEED(INVALID) } },
	{ M_MAP_FULL, { "conns" }, .add = { TCP(CONN_MAP_FULL) } },
	{ M_TRANSITIONS_RECOVERED, { "close" }, .add = { TCP(TCP_CLOSE_RECOVERED) } },
	{ M_TRANSITIONS_RECOVERED, { "established" }, .add = { TCP(TCP_ESTABLISHED_RECOVERED) } },
	{ M_MAP_FULL, { "listeners" }, .add = { TCP(LISTEN_MAP_FULL) } },
	{ M_MAP_FULL, { "udp_flows" }, .add = { UDP(UDP_FLOW_MAP_FULL) } },
	{ M_TRACKED, .add = { FEED(ENTRIES), FEED(UDP_ACTIVE) } },
	{ M_UDP_FLOWS_EXPIRED, .add = { FEED(UDP_EXPIRED) } },
	{ M_UDP_DGRAMS, { "sent" }, .add = { UDP(UDP_DGRAMS_SENT) } },
	{ M_UDP_DGRAMS, { "received" }, .add = { UDP(UDP_DGRAMS_RECEIVED) } },
	{ M_FEATURE, .fn = pub_features },
	{ M_RECORDS, { "process" }, .add = { PROC(PROC_EVENTS) } },
	{ M_RECORDS_LOST, { "process" }, .add = { PROC(PROC_LOST) } },
	{ M_RECORDS, { "dns" }, .add = { UDP(DNS_PACKETS) } },
	{ M_RECORDS_LOST, { "dns" }, .add = { UDP(DNS_LOST) } },
	{ M_RECORDS, { "resolve" }, .add = { PROC(RESOLVE_EVENTS) } },
	{ M_RECORDS_LOST, { "resolve" }, .add = { PROC(RESOLVE_LOST) } },
	{ M_ACCEPT_OWNED, .add = { TCP(ACCEPT_OWNED) } },
	{ M_UDP_UNOWNED, .add = { UDP(UDP_OWNER_UNKNOWN) } },
	{ M_PASS_DURATION, .fn = pub_passes },
};

void collector_publish(struct collector *c, const struct probes_sums *sums,
		       const struct feed_stats *st, const struct collector_self *self)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct counter_row *r = &rows[i];
		uint64_t v = 0;

		if (r->fn) {
			r->fn(c, sums, st);
			continue;
		}
		for (size_t t = 0; t < 3; t++)
			v += term_value(&r->add[t], sums, st);
		for (size_t t = 0; t < 2; t++)
			v -= term_value(&r->sub[t], sums, st);
		registry_set(c->f[r->id], r->lv[0] ? r->lv : NULL, (double)v);
	}
	publish_self(c, self);
}
