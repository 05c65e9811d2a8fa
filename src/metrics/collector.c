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
#include "metrics/collector.h"
#include "flows/event.h"
#include "flows/feed.h"
#include "util/log.h"
#include "probes/readers.h"

enum family_id {
	F_OPEN = 0,
	F_TOTAL_GAUGE,
	F_CONNECTIONS_TOTAL,
	F_TCP_CONNECTIONS,
	F_UDP_CONNECTIONS,
	F_CLOSED,
	F_RESET,
	F_FAILED,
	F_IDLE,
	F_BYTES_SENT,
	F_BYTES_RECEIVED,
	F_BANDWIDTH,
	F_AVG_DURATION_MS,
	F_AVG_RTT_US,
	F_DURATION_HIST,
	F_RTT_HIST,
	F_CONNECT_HIST,
	F_RETRANS,
	F_EVENTS,
	F_FAILURES,
	F_BUILD_INFO,
	F_EVENTS_LOST,
	F_EVENTS_DELIVERED,
	F_EVENTS_INVALID,
	F_MAP_FULL,
	F_TRACKED,
	F_CPU,
	F_RSS,
	F_FEATURE,
	F_RECURSION_MISSES,
	F_UDP_FLOWS_EXPIRED,
	F_UDP_DGRAMS,
	F_EXPORTER_ERRORS,
	F_EXPORTER_DROPPED,
	F_RECORDS_LOST,
	F_RECORDS,
	F_ACCEPT_OWNED,
	F_UDP_UNOWNED,
	F_MAX,
};

struct collector {
	struct probes *probes;
	struct metric_family *f[F_MAX];
	struct probes_sums sums; /* the last read, kept off the stack */
	double hist_bounds_s[GS_HIST_NBOUNDS];
};

static const uint64_t hist_bounds_ns[GS_HIST_NBOUNDS] = GS_HIST_BOUNDS_NS;

static const char *const lbl_none[] = { NULL };
static const char *const lbl_direction_protocol[] = { "direction", "protocol", NULL };
static const char *const lbl_protocol[] = { "protocol", NULL };
static const char *const lbl_direction[] = { "direction", NULL };
static const char *const lbl_events[] = { "type", "protocol", "reset_reason", NULL };
static const char *const lbl_errno[] = { "errno", NULL };
static const char *const lbl_version[] = { "version", NULL };
static const char *const lbl_map[] = { "map", NULL };
static const char *const lbl_feature[] = { "feature", NULL };
static const char *const lbl_program[] = { "program", NULL };
static const char *const lbl_adapter[] = { "adapter", NULL };
static const char *const lbl_record[] = { "record", NULL };

struct family_def {
	const char *name;
	const char *help;
	enum metric_type type;
	const char *const *labels;
	bool histogram;
};

static const struct family_def defs[F_MAX] = {
	[F_OPEN] = { "gespann_open_connections",
		     "TCP connections currently established plus UDP flows currently active.",
		     METRIC_GAUGE, lbl_none },
	[F_TOTAL_GAUGE] = { "gespann_total_connections",
			    "Every connection seen since start: TCP attempts (active and passive) "
			    "plus UDP flows. Gauge for compatibility; see gespann_connections_total.",
			    METRIC_GAUGE, lbl_none },
	[F_CONNECTIONS_TOTAL] = { "gespann_connections_total",
				  "Every connection seen: TCP attempts (active and passive) plus "
				  "UDP flows.",
				  METRIC_COUNTER, lbl_none },
	[F_TCP_CONNECTIONS] = { "gespann_tcp_connections_total",
				"TCP connection attempts seen, active (connect) and passive (accept).",
				METRIC_COUNTER, lbl_none },
	[F_UDP_CONNECTIONS] = { "gespann_udp_connections_total", "UDP flows (5-tuples) seen.",
				METRIC_COUNTER, lbl_none },
	[F_CLOSED] = { "gespann_closed_connections_total",
		       "Established TCP connections that ended, whatever the way (resets included), "
		       "plus UDP flows expired after idle_timeout.",
		       METRIC_COUNTER, lbl_none },
	[F_RESET] = { "gespann_reset_connections_total",
		      "Established TCP connections ended by a RST sent or received.",
		      METRIC_COUNTER, lbl_none },
	[F_FAILED] = { "gespann_failed_connections_total",
		       "Active TCP opens that never reached ESTABLISHED.", METRIC_COUNTER,
		       lbl_none },
	[F_IDLE] = { "gespann_idle_connections",
		     "Open TCP connections with no payload either way for idle_timeout.",
		     METRIC_GAUGE, lbl_none },
	[F_BYTES_SENT] = { "gespann_bytes_sent_total",
			   "Application payload bytes sent, TCP (without retransmissions) and UDP.",
			   METRIC_COUNTER, lbl_none },
	[F_BYTES_RECEIVED] = { "gespann_bytes_received_total",
			       "Application payload bytes received, TCP and UDP.", METRIC_COUNTER,
			       lbl_none },
	[F_BANDWIDTH] = { "gespann_connection_bandwidth_bytes_total",
			  "Application payload bytes by direction and protocol.", METRIC_COUNTER,
			  lbl_direction_protocol },
	[F_AVG_DURATION_MS] = { "gespann_avg_connection_duration_ms",
				"Mean duration of closed TCP connections in milliseconds "
				"(compatibility; prefer gespann_connection_duration_seconds).",
				METRIC_GAUGE, lbl_none },
	[F_AVG_RTT_US] = { "gespann_avg_rtt_microseconds",
			   "Mean smoothed RTT of closed TCP connections in microseconds "
			   "(compatibility; prefer gespann_rtt_seconds).",
			   METRIC_GAUGE, lbl_none },
	[F_DURATION_HIST] = { "gespann_connection_duration_seconds",
			      "Duration of closed TCP connections, ESTABLISHED to CLOSE.",
			      METRIC_HISTOGRAM, lbl_none, true },
	[F_RTT_HIST] = { "gespann_rtt_seconds", "Smoothed RTT of each TCP connection at its close.",
			 METRIC_HISTOGRAM, lbl_none, true },
	[F_CONNECT_HIST] = { "gespann_connect_duration_seconds",
			     "TCP handshake latency of active opens, SYN_SENT to ESTABLISHED.",
			     METRIC_HISTOGRAM, lbl_none, true },
	[F_RETRANS] = { "gespann_retransmits_total", "Retransmitted TCP segments.", METRIC_COUNTER,
			lbl_protocol },
	[F_EVENTS] = { "gespann_connection_events_total",
		       "Connection lifecycle events by type (open, accept, established, close, "
		       "reset_sent, reset_received, failed).",
		       METRIC_COUNTER, lbl_events },
	[F_FAILURES] = { "gespann_connection_failures_total", "Failed TCP connects by errno.",
			 METRIC_COUNTER, lbl_errno },
	[F_BUILD_INFO] = { "gespann_build_info", "Build information; always 1.", METRIC_GAUGE,
			   lbl_version },
	[F_EVENTS_LOST] = { "gespann_events_lost_total",
			    "Per-connection records dropped because the ring buffer was full.",
			    METRIC_COUNTER, lbl_none },
	[F_EVENTS_DELIVERED] = { "gespann_events_delivered_total",
				 "Per-connection records read from the ring buffer.",
				 METRIC_COUNTER, lbl_none },
	[F_EVENTS_INVALID] = { "gespann_events_invalid_total",
			       "Ring buffer records rejected as malformed.", METRIC_COUNTER,
			       lbl_none },
	[F_MAP_FULL] = { "gespann_map_full_total",
			 "Kernel map inserts that failed because the map was full.", METRIC_COUNTER,
			 lbl_map },
	[F_TRACKED] = { "gespann_tracked_connections",
			"Entries in the kernel connection and UDP flow maps.", METRIC_GAUGE,
			lbl_none },
	[F_CPU] = { "gespann_process_cpu_seconds_total",
		    "CPU time of the agent process, user plus system.", METRIC_COUNTER, lbl_none },
	[F_RSS] = { "gespann_process_resident_memory_bytes",
		    "Resident memory of the agent process.", METRIC_GAUGE, lbl_none },
	[F_FEATURE] = { "gespann_feature_enabled",
			"Kernel hooks and capabilities probed at start: 1 in use, 0 not.",
			METRIC_GAUGE, lbl_feature },
	[F_RECURSION_MISSES] = { "gespann_bpf_recursion_misses_total",
				 "Kernel program runs skipped because the program was already "
				 "running on that CPU (events missed).",
				 METRIC_COUNTER, lbl_program },
	[F_UDP_FLOWS_EXPIRED] = { "gespann_udp_flows_expired_total",
				  "UDP flows removed after idle_timeout of silence.",
				  METRIC_COUNTER, lbl_none },
	[F_UDP_DGRAMS] = { "gespann_udp_datagrams_total", "UDP datagrams by direction.",
			   METRIC_COUNTER, lbl_direction },
	[F_EXPORTER_ERRORS] = { "gespann_exporter_errors_total",
				"Failed sends or requests per adapter.", METRIC_COUNTER,
				lbl_adapter },
	[F_EXPORTER_DROPPED] = { "gespann_exporter_dropped_total",
				 "Snapshots or datagrams an adapter dropped (backend slow or down).",
				 METRIC_COUNTER, lbl_adapter },
	[F_RECORDS_LOST] = { "gespann_records_lost_total",
			     "Ring-buffer records of other kinds than connections dropped because "
			     "the buffer was full, by record: process, dns, resolve.",
			     METRIC_COUNTER, lbl_record },
	[F_RECORDS] = { "gespann_records_total",
			"Ring-buffer records of other kinds than connections submitted, by "
			"record: process (exec, fork, exit), dns (packets on port 53), resolve "
			"(getaddrinfo results).",
			METRIC_COUNTER, lbl_record },
	[F_ACCEPT_OWNED] = { "gespann_accept_owner_total",
			     "Accepted TCP connections handed to the process whose accept() "
			     "returned them (the rest keep the listening process).",
			     METRIC_COUNTER, lbl_none },
	[F_UDP_UNOWNED] = { "gespann_udp_flows_unowned_total",
			    "UDP flows created without a known owner process.", METRIC_COUNTER,
			    lbl_none },
};

struct collector *collector_new(struct registry *reg, struct probes *p)
{
	struct collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->probes = p;
	for (int i = 0; i < GS_HIST_NBOUNDS; i++)
		c->hist_bounds_s[i] = (double)hist_bounds_ns[i] / 1e9;
	for (int i = 0; i < F_MAX; i++) {
		const struct family_def *d = &defs[i];

		c->f[i] = registry_add(reg, d->name, d->help, d->type, d->labels,
				       d->histogram ? c->hist_bounds_s : NULL,
				       d->histogram ? GS_HIST_NBOUNDS : 0);
		if (!c->f[i]) {
			pr_err("failed to declare metric %s", d->name);
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
		set0(c, F_CPU, self->cpu_seconds);
	if (self->have_rss)
		set0(c, F_RSS, self->rss_bytes);
}

static void set_recursion_misses(void *ctx, const char *program, uint64_t misses)
{
	struct collector *c = ctx;
	const char *lv[2] = { program, NULL };

	registry_set(c->f[F_RECURSION_MISSES], lv, (double)misses);
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
	set0(c, F_OPEN, (double)(tcp_open + st->udp_active));
	set0(c, F_TOTAL_GAUGE,
	     (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS] + u[GS_C_UDP_FLOWS]));
	set0(c, F_CONNECTIONS_TOTAL,
	     (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS] + u[GS_C_UDP_FLOWS]));
	set0(c, F_TCP_CONNECTIONS, (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS]));
	set0(c, F_UDP_CONNECTIONS, (double)u[GS_C_UDP_FLOWS]);
	set0(c, F_CLOSED, (double)(k[GS_C_TCP_CLOSED] + st->udp_expired));
	set0(c, F_RESET, (double)k[GS_C_TCP_RESET_CLOSED]);
	set0(c, F_FAILED, (double)k[GS_C_TCP_FAILED]);
	set0(c, F_IDLE, (double)live.idle);

	bytes_sent_tcp = k[GS_C_TCP_BYTES_SENT] - k[GS_C_TCP_BYTES_SENT_CORR];
	bytes_rcvd_tcp = k[GS_C_TCP_BYTES_RECEIVED] - k[GS_C_TCP_BYTES_RECEIVED_CORR];
	set0(c, F_BYTES_SENT, (double)(bytes_sent_tcp + u[GS_C_UDP_BYTES_SENT]));
	set0(c, F_BYTES_RECEIVED, (double)(bytes_rcvd_tcp + u[GS_C_UDP_BYTES_RECEIVED]));
	lv[0] = "sent", lv[1] = "tcp";
	registry_set(c->f[F_BANDWIDTH], lv, (double)bytes_sent_tcp);
	lv[0] = "received", lv[1] = "tcp";
	registry_set(c->f[F_BANDWIDTH], lv, (double)bytes_rcvd_tcp);
	lv[0] = "sent", lv[1] = "udp";
	registry_set(c->f[F_BANDWIDTH], lv, (double)u[GS_C_UDP_BYTES_SENT]);
	lv[0] = "received", lv[1] = "udp";
	registry_set(c->f[F_BANDWIDTH], lv, (double)u[GS_C_UDP_BYTES_RECEIVED]);

	closed_dur = 0;
	for (int i = 0; i < GS_HIST_NBUCKETS; i++)
		closed_dur += sums->tcp.hist[GS_H_DURATION][i];
	set0(c, F_AVG_DURATION_MS,
	     closed_dur ? (double)sums->tcp.hist_sum_ns[GS_H_DURATION] / closed_dur / 1e6 : 0);
	set0(c, F_AVG_RTT_US,
	     k[GS_C_RTT_SAMPLES] ?
		     (double)sums->tcp.hist_sum_ns[GS_H_RTT] / k[GS_C_RTT_SAMPLES] / 1e3 :
		     0);
	set_hist(c, sums, F_DURATION_HIST, GS_H_DURATION);
	set_hist(c, sums, F_RTT_HIST, GS_H_RTT);
	set_hist(c, sums, F_CONNECT_HIST, GS_H_CONNECT);
	lv[0] = "tcp";
	registry_set(c->f[F_RETRANS], lv, (double)k[GS_C_TCP_RETRANS]);

	lv[1] = "tcp", lv[2] = "";
	lv[0] = "open";
	registry_set(c->f[F_EVENTS], lv, (double)k[GS_C_TCP_ACTIVE_OPENS]);
	lv[0] = "accept";
	registry_set(c->f[F_EVENTS], lv, (double)k[GS_C_TCP_PASSIVE_OPENS]);
	lv[0] = "established";
	registry_set(c->f[F_EVENTS], lv, (double)k[GS_C_TCP_ESTABLISHED]);
	lv[0] = "close";
	registry_set(c->f[F_EVENTS], lv, (double)k[GS_C_TCP_CLOSED]);
	lv[0] = "reset_received";
	registry_set(c->f[F_EVENTS], lv, (double)k[GS_C_TCP_RST_RECEIVED]);
	lv[0] = "failed";
	registry_set(c->f[F_EVENTS], lv, (double)k[GS_C_TCP_FAILED]);
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
		registry_set(c->f[F_EVENTS], lv, (double)sums->tcp.rst_sent_reason[r]);
	}
	lv[1] = "udp", lv[2] = "";
	lv[0] = "open";
	registry_set(c->f[F_EVENTS], lv, (double)u[GS_C_UDP_FLOWS]);
	lv[0] = "close";
	registry_set(c->f[F_EVENTS], lv, (double)st->udp_expired);

	for (int e = 0; e < GS_MAX_ERRNO; e++) {
		if (!sums->tcp.failed_errno[e])
			continue;
		lv[0] = event_errno_label(e, errname, sizeof(errname));
		registry_set(c->f[F_FAILURES], lv, (double)sums->tcp.failed_errno[e]);
	}

	lv[0] = GESPANN_VERSION;
	registry_set(c->f[F_BUILD_INFO], lv, 1);
	set0(c, F_EVENTS_LOST, (double)k[GS_C_EVENTS_LOST]);
	set0(c, F_EVENTS_DELIVERED, (double)st->delivered);
	set0(c, F_EVENTS_INVALID, (double)st->invalid);
	lv[0] = "conns";
	registry_set(c->f[F_MAP_FULL], lv, (double)k[GS_C_CONN_MAP_FULL]);
	lv[0] = "listeners";
	registry_set(c->f[F_MAP_FULL], lv, (double)k[GS_C_LISTEN_MAP_FULL]);
	lv[0] = "udp_flows";
	registry_set(c->f[F_MAP_FULL], lv, (double)u[GS_C_UDP_FLOW_MAP_FULL]);
	set0(c, F_TRACKED, (double)(live.entries + st->udp_active));
	set0(c, F_UDP_FLOWS_EXPIRED, (double)st->udp_expired);
	lv[0] = "sent";
	registry_set(c->f[F_UDP_DGRAMS], lv, (double)u[GS_C_UDP_DGRAMS_SENT]);
	lv[0] = "received";
	registry_set(c->f[F_UDP_DGRAMS], lv, (double)u[GS_C_UDP_DGRAMS_RECEIVED]);
	publish_self(c, self);
	for (int i = 0; i < FEAT_MAX; i++) {
		lv[0] = feature_name(i);
		registry_set(c->f[F_FEATURE], lv, c->probes->features[i] ? 1 : 0);
	}
	probes_recursion_misses(c->probes, set_recursion_misses, c);
	lv[0] = "process";
	registry_set(c->f[F_RECORDS], lv, (double)pr[GS_C_PROC_EVENTS]);
	registry_set(c->f[F_RECORDS_LOST], lv, (double)pr[GS_C_PROC_LOST]);
	lv[0] = "dns";
	registry_set(c->f[F_RECORDS], lv, (double)u[GS_C_DNS_PACKETS]);
	registry_set(c->f[F_RECORDS_LOST], lv, (double)u[GS_C_DNS_LOST]);
	lv[0] = "resolve";
	registry_set(c->f[F_RECORDS], lv, (double)pr[GS_C_RESOLVE_EVENTS]);
	registry_set(c->f[F_RECORDS_LOST], lv, (double)pr[GS_C_RESOLVE_LOST]);
	set0(c, F_ACCEPT_OWNED, (double)k[GS_C_ACCEPT_OWNED]);
	set0(c, F_UDP_UNOWNED, (double)u[GS_C_UDP_OWNER_UNKNOWN]);
}
