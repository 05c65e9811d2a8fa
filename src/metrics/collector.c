// SPDX-License-Identifier: MIT
/*
 * Collector: the kernel's counters -> metrics registry.
 *
 * Counters come from the per-CPU `stats` arrays (summed over CPUs, read
 * through probes/readers.h). The payload of open TCP connections is folded
 * into those same counters by the refresh program the feed runs on a timer
 * (not per scrape), so a scrape reads a handful of per-CPU values whatever
 * the number of connections.
 * Adding a metric: declare its family in collector_new(), set it in
 * collector_update().
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

void collector_publish(struct collector *c, const struct probes_sums *sums,
		       const struct feed_stats *st, const struct collector_self *self)
{
	const __u64 *k = sums->tcp.counters;
	const __u64 *u = sums->udp.counters;
	const __u64 *pr = sums->proc.counters;
	const char *lv[4];
	char errname[32];
	uint64_t tcp_open, closed_dur, bytes_sent_tcp, bytes_rcvd_tcp;
	struct gs_live live = st->live;

	tcp_open = tcp_open_connections(k);
	set0(c, M_OPEN, (double)(tcp_open + st->udp_active));
	set0(c, M_TOTAL_GAUGE,
	     (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS] + u[GS_C_UDP_FLOWS]));
	set0(c, M_CONNECTIONS_TOTAL,
	     (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS] + u[GS_C_UDP_FLOWS]));
	set0(c, M_TCP_CONNECTIONS, (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS]));
	set0(c, M_UDP_CONNECTIONS, (double)u[GS_C_UDP_FLOWS]);
	set0(c, M_CLOSED, (double)(k[GS_C_TCP_CLOSED] + st->udp_expired));
	set0(c, M_RESET, (double)k[GS_C_TCP_RESET_CLOSED]);
	set0(c, M_FAILED, (double)k[GS_C_TCP_FAILED]);
	set0(c, M_IDLE, (double)live.idle);

	bytes_sent_tcp = k[GS_C_TCP_BYTES_SENT] - k[GS_C_TCP_BYTES_SENT_CORR];
	bytes_rcvd_tcp = k[GS_C_TCP_BYTES_RECEIVED] - k[GS_C_TCP_BYTES_RECEIVED_CORR];
	set0(c, M_BYTES_SENT, (double)(bytes_sent_tcp + u[GS_C_UDP_BYTES_SENT]));
	set0(c, M_BYTES_RECEIVED, (double)(bytes_rcvd_tcp + u[GS_C_UDP_BYTES_RECEIVED]));
	lv[0] = "sent", lv[1] = "tcp";
	registry_set(c->f[M_BANDWIDTH], lv, (double)bytes_sent_tcp);
	lv[0] = "received", lv[1] = "tcp";
	registry_set(c->f[M_BANDWIDTH], lv, (double)bytes_rcvd_tcp);
	lv[0] = "sent", lv[1] = "udp";
	registry_set(c->f[M_BANDWIDTH], lv, (double)u[GS_C_UDP_BYTES_SENT]);
	lv[0] = "received", lv[1] = "udp";
	registry_set(c->f[M_BANDWIDTH], lv, (double)u[GS_C_UDP_BYTES_RECEIVED]);

	closed_dur = 0;
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
	lv[0] = "tcp";
	registry_set(c->f[M_RETRANS], lv, (double)k[GS_C_TCP_RETRANS]);

	lv[1] = "tcp", lv[2] = "";
	lv[0] = "open";
	registry_set(c->f[M_EVENTS], lv, (double)k[GS_C_TCP_ACTIVE_OPENS]);
	lv[0] = "accept";
	registry_set(c->f[M_EVENTS], lv, (double)k[GS_C_TCP_PASSIVE_OPENS]);
	lv[0] = "established";
	registry_set(c->f[M_EVENTS], lv, (double)k[GS_C_TCP_ESTABLISHED]);
	lv[0] = "close";
	registry_set(c->f[M_EVENTS], lv, (double)k[GS_C_TCP_CLOSED]);
	lv[0] = "reset_received";
	registry_set(c->f[M_EVENTS], lv, (double)k[GS_C_TCP_RST_RECEIVED]);
	lv[0] = "failed";
	registry_set(c->f[M_EVENTS], lv, (double)k[GS_C_TCP_FAILED]);
	lv[0] = "reset_sent";
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
	lv[1] = "udp", lv[2] = "";
	lv[0] = "open";
	registry_set(c->f[M_EVENTS], lv, (double)u[GS_C_UDP_FLOWS]);
	lv[0] = "close";
	registry_set(c->f[M_EVENTS], lv, (double)st->udp_expired);

	for (int e = 0; e < GS_MAX_ERRNO; e++) {
		if (!sums->tcp.failed_errno[e])
			continue;
		lv[0] = event_errno_label(e, errname, sizeof(errname));
		registry_set(c->f[M_FAILURES], lv, (double)sums->tcp.failed_errno[e]);
	}

	lv[0] = GESPANN_VERSION;
	registry_set(c->f[M_BUILD_INFO], lv, 1);
	set0(c, M_EVENTS_LOST, (double)k[GS_C_EVENTS_LOST]);
	set0(c, M_EVENTS_DELIVERED, (double)st->delivered);
	set0(c, M_EVENTS_INVALID, (double)st->invalid);
	lv[0] = "conns";
	registry_set(c->f[M_MAP_FULL], lv, (double)k[GS_C_CONN_MAP_FULL]);
	lv[0] = "listeners";
	registry_set(c->f[M_MAP_FULL], lv, (double)k[GS_C_LISTEN_MAP_FULL]);
	lv[0] = "udp_flows";
	registry_set(c->f[M_MAP_FULL], lv, (double)u[GS_C_UDP_FLOW_MAP_FULL]);
	set0(c, M_TRACKED, (double)(live.entries + st->udp_active));
	set0(c, M_UDP_FLOWS_EXPIRED, (double)st->udp_expired);
	lv[0] = "sent";
	registry_set(c->f[M_UDP_DGRAMS], lv, (double)u[GS_C_UDP_DGRAMS_SENT]);
	lv[0] = "received";
	registry_set(c->f[M_UDP_DGRAMS], lv, (double)u[GS_C_UDP_DGRAMS_RECEIVED]);
	publish_self(c, self);
	for (int i = 0; i < FEAT_MAX; i++) {
		lv[0] = feature_name(i);
		registry_set(c->f[M_FEATURE], lv, c->probes->features[i] ? 1 : 0);
	}
	probes_recursion_misses(c->probes, set_recursion_misses, c);
	lv[0] = "process";
	registry_set(c->f[M_RECORDS], lv, (double)pr[GS_C_PROC_EVENTS]);
	registry_set(c->f[M_RECORDS_LOST], lv, (double)pr[GS_C_PROC_LOST]);
	lv[0] = "dns";
	registry_set(c->f[M_RECORDS], lv, (double)u[GS_C_DNS_PACKETS]);
	registry_set(c->f[M_RECORDS_LOST], lv, (double)u[GS_C_DNS_LOST]);
	lv[0] = "resolve";
	registry_set(c->f[M_RECORDS], lv, (double)pr[GS_C_RESOLVE_EVENTS]);
	registry_set(c->f[M_RECORDS_LOST], lv, (double)pr[GS_C_RESOLVE_LOST]);
	set0(c, M_ACCEPT_OWNED, (double)k[GS_C_ACCEPT_OWNED]);
	set0(c, M_UDP_UNOWNED, (double)u[GS_C_UDP_OWNER_UNKNOWN]);
}
