// SPDX-License-Identifier: MIT
/*
 * Collector: kernel maps -> metrics registry.
 *
 * Counters come from the per-CPU `stats` arrays (summed over CPUs). The
 * payload of open TCP connections is folded into those same counters by the
 * refresh program, run here on a timer (not per scrape), so a scrape reads a
 * handful of per-CPU values whatever the number of connections.
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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "abi/gespann_abi.h"
#include "util/clock.h"
#include "metrics/collector.h"
#include "flows/conntab.h"
#include "flows/event.h"
#include "flows/flows.h"
#include "util/log.h"
#include "tcp.skel.h"
#include "udp.skel.h"
#include "proc.skel.h"

#define UDP_BATCH  1024
#define CONN_BATCH 1024

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
	struct registry *reg;
	struct probes *probes;
	const struct config *cfg;
	struct metric_family *f[F_MAX];
	struct ring_buffer *rb;
	int ncpus;
	struct gs_stats *percpu; /* ncpus values, for one lookup */
	struct gs_stats sum;
	struct gs_stats udp_sum;
	struct gs_stats proc_sum;
	uint64_t delivered;
	uint64_t invalid;
	uint64_t udp_expired;
	uint64_t udp_active;
	struct gs_udp_key *udp_keys;
	struct gs_udp_flow *udp_vals;
	struct gs_udp_key *udp_expired_keys;
	struct conntab_udp_sweep udp_sweep; /* the sweep in progress */
	double hist_bounds_s[GS_HIST_NBOUNDS];
	const struct exporter *exporters;
	size_t n_exporters;
	struct flows *flows;
	__u64 *conn_keys; /* CONN_BATCH, for batch reads of `conns` */
	struct gs_conn *conn_vals;
	uint64_t drain_now_ns;
	struct gs_live live;	  /* the last refresh pass */
	uint64_t next_refresh_ns; /* CLOCK_MONOTONIC */
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

/* Debug line for a DNS packet record. Checks the record itself (the parser
 * that consumes these validates again): exact size, len within data. comm is
 * copied without trusting NUL termination. */
static void log_dns_record(const void *data, size_t size)
{
	const struct gs_dns_event *ev = data;
	char sa[EVENT_ADDR_STRLEN], da[EVENT_ADDR_STRLEN], comm[GS_COMM_LEN];
	char src[EVENT_ADDR_STRLEN + 2], dst[EVENT_ADDR_STRLEN + 2];
	const char *fmt;
	unsigned int id = 0, idoff;
	size_t i;

	if (size != sizeof(*ev) || ev->hdr.size != sizeof(*ev) || ev->len > GS_DNS_MAX ||
	    (ev->family != AF_INET && ev->family != AF_INET6)) {
		pr_debug("dns record invalid (size %zu)", size);
		return;
	}
	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	for (i = 0; i < GS_COMM_LEN - 1 && ev->comm[i]; i++)
		comm[i] = (ev->comm[i] > 0x20 && ev->comm[i] < 0x7f) ? ev->comm[i] : '?';
	comm[i] = '\0';
	/* The message id: after the 2-byte length prefix for TCP. */
	idoff = ev->protocol == IPPROTO_TCP ? 2 : 0;
	if (ev->len >= idoff + 2)
		id = (unsigned int)ev->data[idoff] << 8 | ev->data[idoff + 1];
	fmt = ev->family == AF_INET6 ? "[%s]" : "%s"; /* [v6]:port */
	snprintf(src, sizeof(src), fmt, event_addr(ev->family, ev->saddr, sa, sizeof(sa)));
	snprintf(dst, sizeof(dst), fmt, event_addr(ev->family, ev->daddr, da, sizeof(da)));
	pr_debug("dns %s %s %s:%u -> %s:%u pid=%u comm=%s len=%u payload=%u id=0x%04x",
		 ev->egress ? "egress" : "ingress", ev->protocol == IPPROTO_TCP ? "tcp" : "udp",
		 src, ev->sport, dst, ev->dport, ev->pid, comm[0] ? comm : "-", ev->len,
		 ev->payload_len, id);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	char line[1024]; /* a getaddrinfo record with 8 IPv6 addresses */

	if (event_validate(data, size)) {
		c->invalid++;
		return 0;
	}
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		switch (event_type(data)) {
		case GS_EV_EXEC:
		case GS_EV_FORK:
		case GS_EV_EXIT:
			event_format_proc(data, line, sizeof(line));
			pr_debug("%s", line);
			break;
		case GS_EV_RESOLVE:
			event_format_resolve(data, line, sizeof(line));
			pr_debug("%s", line);
			break;
		case GS_EV_DNS:
			log_dns_record(data, size);
			break;
		default:
			event_format(data, (const char(*)[32])c->probes->reset_reason_names,
				     c->probes->n_reset_reasons, line, sizeof(line));
			pr_debug("%s", line);
			break;
		}
	}
	if (event_type(data) == GS_EV_CLOSE || event_type(data) == GS_EV_FAILED)
		c->delivered++;
	flows_record(c->flows, data, size, c->drain_now_ns);
	return 0;
}

struct collector *collector_new(struct registry *reg, struct probes *p, const struct config *cfg)
{
	struct collector *c = calloc(1, sizeof(*c));
	char errbuf[512];
	int err;

	if (!c)
		return NULL;
	c->reg = reg;
	c->probes = p;
	c->cfg = cfg;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0)
		goto fail;
	c->percpu = calloc(c->ncpus, sizeof(*c->percpu));
	c->udp_keys = calloc(UDP_BATCH, sizeof(*c->udp_keys));
	c->udp_vals = calloc(UDP_BATCH, sizeof(*c->udp_vals));
	c->udp_expired_keys = calloc(UDP_BATCH, sizeof(*c->udp_expired_keys));
	c->conn_keys = calloc(CONN_BATCH, sizeof(*c->conn_keys));
	c->conn_vals = calloc(CONN_BATCH, sizeof(*c->conn_vals));
	if (!c->percpu || !c->udp_keys || !c->udp_vals || !c->udp_expired_keys || !c->conn_keys ||
	    !c->conn_vals)
		goto fail;
	for (int i = 0; i < GS_HIST_NBOUNDS; i++)
		c->hist_bounds_s[i] = (double)hist_bounds_ns[i] / 1e9;
	for (int i = 0; i < F_MAX; i++) {
		const struct family_def *d = &defs[i];

		c->f[i] = registry_add(reg, d->name, d->help, d->type, d->labels,
				       d->histogram ? c->hist_bounds_s : NULL,
				       d->histogram ? GS_HIST_NBOUNDS : 0);
		if (!c->f[i]) {
			pr_err("failed to declare metric %s", d->name);
			goto fail;
		}
	}
	c->flows = flows_new(reg, cfg, errbuf, sizeof(errbuf));
	if (!c->flows) {
		pr_err("%s", errbuf);
		goto fail;
	}
	flows_open_census(c->flows);
	if (p->tcp)
		flows_set_listener_fd(c->flows, bpf_map__fd(p->tcp->maps.listeners));
	if (p->tcp) {
		c->rb = ring_buffer__new(bpf_map__fd(p->tcp->maps.events), handle_record, c, NULL);
		if (!c->rb) {
			err = -errno;
			pr_err("failed to open the ring buffer: %s", strerror(-err));
			goto fail;
		}
	}
	return c;
fail:
	collector_free(c);
	return NULL;
}

void collector_free(struct collector *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	flows_free(c->flows);
	free(c->conn_keys);
	free(c->conn_vals);
	free(c->percpu);
	free(c->udp_keys);
	free(c->udp_vals);
	free(c->udp_expired_keys);
	free(c);
}

void collector_set_exporters(struct collector *c, const struct exporter *ex, size_t n)
{
	c->exporters = ex;
	c->n_exporters = n;
}

int collector_events_fd(const struct collector *c)
{
	return c->rb ? ring_buffer__epoll_fd(c->rb) : -1;
}

int collector_drain(struct collector *c)
{
	int n;

	if (!c->rb)
		return 0;
	c->drain_now_ns = mono_ns();
	n = ring_buffer__consume(c->rb);
	if (n < 0 && n != -EINTR)
		pr_warn("ring buffer consume failed: %s", strerror(-n));
	return n;
}

/* ==== Live refresh of open TCP connections ==== */

/* Refresh at most once a second, and never more than 2% of the time: the
 * pass walks the whole connection map (about 150 ns an entry, plus the empty
 * buckets), so with 100k connections it runs every ~1 s for ~15 ms. */
#define REFRESH_MIN_INTERVAL_NS 1000000000ULL
#define REFRESH_MAX_DUTY	50

/* Read a whole hash map in batches of up to cap entries into keys/vals,
 * handing each batch to fn. Returns true when the map was read to its end,
 * false when a read failed (logged, naming what). */
typedef void (*batch_fn)(struct collector *c, __u32 n, uint64_t now_ns);

static bool read_map_batches(struct collector *c, int fd, void *keys, void *vals, __u32 cap,
			     const char *what, batch_fn fn, uint64_t now_ns)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in_batch = 0, out_batch = 0;
	bool first = true;
	int err;

	for (;;) {
		__u32 count = cap;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals,
					   &count, &opts);
		err = err ? -errno : 0;
		if (err && err != -ENOENT) {
			pr_warn("reading the %s map failed: %s", what, strerror(-err));
			return false;
		}
		fn(c, count, now_ns);
		if (err == -ENOENT)
			return true;
		in_batch = out_batch;
		first = false;
	}
}

static void conn_batch(struct collector *c, __u32 n, uint64_t now_ns)
{
	for (__u32 i = 0; i < n; i++)
		flows_tcp_entry(c->flows, c->conn_keys[i], &c->conn_vals[i], now_ns);
}

/* Every connection entry into the flow table: growth of open connections
 * and the open-connection gauge. Records drained first, so a connection
 * whose record was consumed is not read back from a map entry. */
static void conn_pass(struct collector *c, uint64_t now_ns)
{
	collector_drain(c);
	flows_tcp_begin(c->flows);
	read_map_batches(c, bpf_map__fd(c->probes->tcp->maps.conns), c->conn_keys, c->conn_vals,
			 CONN_BATCH, "connection", conn_batch, now_ns);
	flows_tcp_end(c->flows, now_ns);
}

static void refresh_live(struct collector *c, uint64_t now_ns)
{
	uint64_t took, wait;
	__u32 zero = 0;

	if (!c->probes->tcp || now_ns < c->next_refresh_ns)
		return;
	if (c->probes->features[FEAT_LIVE_REFRESH]) {
		if (probes_refresh_live(c->probes)) {
			c->next_refresh_ns = now_ns + REFRESH_MIN_INTERVAL_NS;
			return;
		}
		bpf_map_lookup_elem(bpf_map__fd(c->probes->tcp->maps.live), &zero, &c->live);
	}
	conn_pass(c, now_ns);
	took = mono_ns() - now_ns;
	wait = took * REFRESH_MAX_DUTY;
	c->next_refresh_ns =
		now_ns + (wait > REFRESH_MIN_INTERVAL_NS ? wait : REFRESH_MIN_INTERVAL_NS);
}

/* ==== UDP flow expiry ==== */

static void sweep_udp(struct collector *c, uint64_t now_ns);

void collector_tick(struct collector *c, uint64_t now_ns)
{
	refresh_live(c, now_ns);
	sweep_udp(c, now_ns);
	flows_tick(c->flows, now_ns);
}

static void udp_batch(struct collector *c, __u32 n, uint64_t now_ns)
{
	for (__u32 i = 0; i < n; i++)
		flows_udp(c->flows, &c->udp_keys[i], &c->udp_vals[i], 0, now_ns);
	conntab_sweep_udp(c->udp_keys, c->udp_vals, n, now_ns, c->cfg->idle_timeout_ns,
			  c->udp_expired_keys, UDP_BATCH, &c->udp_sweep);
}

static void sweep_udp(struct collector *c, uint64_t now_ns)
{
	struct conntab_udp_sweep sw;
	bool complete;
	int fd;

	if (!c->probes->udp)
		return;
	fd = bpf_map__fd(c->probes->udp->maps.udp_flows);
	memset(&c->udp_sweep, 0, sizeof(c->udp_sweep));
	complete = read_map_batches(c, fd, c->udp_keys, c->udp_vals, UDP_BATCH, "UDP flow",
				    udp_batch, now_ns);
	sw = c->udp_sweep;
	for (uint64_t i = 0; i < sw.expired; i++) {
		struct gs_udp_flow last;

		/* Atomically: datagrams counted after the read above are in
		 * the last values, none is lost between reading and deleting. */
		if (!bpf_map_lookup_and_delete_elem(fd, &c->udp_expired_keys[i], &last)) {
			flows_udp(c->flows, &c->udp_expired_keys[i], &last, 1, now_ns);
			c->udp_expired++;
		} else if (errno != ENOENT && !bpf_map_delete_elem(fd, &c->udp_expired_keys[i])) {
			/* Hash lookup-and-delete is 5.14+: the flow table drops
			 * the entry at the end of the next sweep. */
			c->udp_expired++;
		} else {
			sw.active++; /* gone already */
		}
	}
	if (complete)
		flows_udp_end(c->flows);
	c->udp_active = sw.active;
}

/* ==== Kernel aggregates -> registry ==== */

static void sum_stats(struct collector *c, int map_fd, struct gs_stats *out)
{
	__u32 zero = 0;
	const __u64 *src;
	__u64 *dst = (__u64 *)out;
	size_t words = sizeof(*out) / sizeof(__u64);

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(map_fd, &zero, c->percpu))
		return;
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		src = (const __u64 *)&c->percpu[cpu];
		for (size_t w = 0; w < words; w++)
			dst[w] += src[w];
	}
}

static void set0(struct collector *c, int f, double v)
{
	registry_set(c->f[f], NULL, v);
}

static void set_hist(struct collector *c, int f, enum gs_hist h)
{
	registry_set_histogram(c->f[f], NULL, (const uint64_t *)c->sum.hist[h],
			       (double)c->sum.hist_sum_ns[h] / 1e9);
}

static void update_self(struct collector *c)
{
	struct timespec ts;
	long pages = 0, rss = 0;
	FILE *f;

	if (!clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		set0(c, F_CPU, ts.tv_sec + ts.tv_nsec / 1e9);
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) == 2)
			set0(c, F_RSS, (double)rss * sysconf(_SC_PAGESIZE));
		fclose(f);
	}
}

static void update_recursion_misses(struct collector *c)
{
	struct bpf_program *prog;
	const char *lv[2] = { NULL, NULL };

	if (!c->probes->tcp)
		return;
	bpf_object__for_each_program(prog, c->probes->tcp->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || !bpf_program__autoattach(prog))
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		lv[0] = bpf_program__name(prog);
		registry_set(c->f[F_RECURSION_MISSES], lv, (double)info.recursion_misses);
	}
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

void collector_update(struct collector *c)
{
	const struct gs_live live = c->live;
	const __u64 *k = c->sum.counters;
	const __u64 *u = c->udp_sum.counters;
	const __u64 *pr = c->proc_sum.counters;
	const char *lv[4];
	char errname[32];
	uint64_t tcp_open, closed_dur, bytes_sent_tcp, bytes_rcvd_tcp;

	if (c->probes->tcp)
		sum_stats(c, bpf_map__fd(c->probes->tcp->maps.stats), &c->sum);
	if (c->probes->udp)
		sum_stats(c, bpf_map__fd(c->probes->udp->maps.udp_stats), &c->udp_sum);
	if (c->probes->proc)
		sum_stats(c, bpf_map__fd(c->probes->proc->maps.proc_stats), &c->proc_sum);
	collector_drain(c);

	tcp_open = tcp_open_connections(k);
	set0(c, F_OPEN, (double)(tcp_open + c->udp_active));
	set0(c, F_TOTAL_GAUGE,
	     (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS] + u[GS_C_UDP_FLOWS]));
	set0(c, F_CONNECTIONS_TOTAL,
	     (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS] + u[GS_C_UDP_FLOWS]));
	set0(c, F_TCP_CONNECTIONS, (double)(k[GS_C_TCP_ACTIVE_OPENS] + k[GS_C_TCP_PASSIVE_OPENS]));
	set0(c, F_UDP_CONNECTIONS, (double)u[GS_C_UDP_FLOWS]);
	set0(c, F_CLOSED, (double)(k[GS_C_TCP_CLOSED] + c->udp_expired));
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
		closed_dur += c->sum.hist[GS_H_DURATION][i];
	set0(c, F_AVG_DURATION_MS,
	     closed_dur ? (double)c->sum.hist_sum_ns[GS_H_DURATION] / closed_dur / 1e6 : 0);
	set0(c, F_AVG_RTT_US,
	     k[GS_C_RTT_SAMPLES] ?
		     (double)c->sum.hist_sum_ns[GS_H_RTT] / k[GS_C_RTT_SAMPLES] / 1e3 :
		     0);
	set_hist(c, F_DURATION_HIST, GS_H_DURATION);
	set_hist(c, F_RTT_HIST, GS_H_RTT);
	set_hist(c, F_CONNECT_HIST, GS_H_CONNECT);
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

		if (!c->sum.rst_sent_reason[r])
			continue;
		if (r < c->probes->n_reset_reasons && c->probes->reset_reason_names[r][0]) {
			lv[2] = c->probes->reset_reason_names[r];
		} else {
			snprintf(other, sizeof(other), "reason_%u", r);
			lv[2] = other;
		}
		registry_set(c->f[F_EVENTS], lv, (double)c->sum.rst_sent_reason[r]);
	}
	lv[1] = "udp", lv[2] = "";
	lv[0] = "open";
	registry_set(c->f[F_EVENTS], lv, (double)u[GS_C_UDP_FLOWS]);
	lv[0] = "close";
	registry_set(c->f[F_EVENTS], lv, (double)c->udp_expired);

	for (int e = 0; e < GS_MAX_ERRNO; e++) {
		if (!c->sum.failed_errno[e])
			continue;
		lv[0] = event_errno_label(e, errname, sizeof(errname));
		registry_set(c->f[F_FAILURES], lv, (double)c->sum.failed_errno[e]);
	}

	lv[0] = GESPANN_VERSION;
	registry_set(c->f[F_BUILD_INFO], lv, 1);
	set0(c, F_EVENTS_LOST, (double)k[GS_C_EVENTS_LOST]);
	set0(c, F_EVENTS_DELIVERED, (double)c->delivered);
	set0(c, F_EVENTS_INVALID, (double)c->invalid);
	lv[0] = "conns";
	registry_set(c->f[F_MAP_FULL], lv, (double)k[GS_C_CONN_MAP_FULL]);
	lv[0] = "listeners";
	registry_set(c->f[F_MAP_FULL], lv, (double)k[GS_C_LISTEN_MAP_FULL]);
	lv[0] = "udp_flows";
	registry_set(c->f[F_MAP_FULL], lv, (double)u[GS_C_UDP_FLOW_MAP_FULL]);
	set0(c, F_TRACKED, (double)(live.entries + c->udp_active));
	set0(c, F_UDP_FLOWS_EXPIRED, (double)c->udp_expired);
	lv[0] = "sent";
	registry_set(c->f[F_UDP_DGRAMS], lv, (double)u[GS_C_UDP_DGRAMS_SENT]);
	lv[0] = "received";
	registry_set(c->f[F_UDP_DGRAMS], lv, (double)u[GS_C_UDP_DGRAMS_RECEIVED]);
	update_self(c);
	for (int i = 0; i < FEAT_MAX; i++) {
		lv[0] = feature_name(i);
		registry_set(c->f[F_FEATURE], lv, c->probes->features[i] ? 1 : 0);
	}
	update_recursion_misses(c);
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
	flows_publish(c->flows);
	for (size_t i = 0; i < c->n_exporters; i++) {
		const struct exporter *ex = &c->exporters[i];

		if (!ex->state)
			continue;
		lv[0] = ex->name;
		registry_set(c->f[F_EXPORTER_ERRORS], lv, (double)ex->ops->errors(ex->state));
		registry_set(c->f[F_EXPORTER_DROPPED], lv, (double)ex->ops->dropped(ex->state));
	}
}
