// SPDX-License-Identifier: MIT
/*
 * Feed: the kernel's maps and records into the flow table, through the
 * probes' readers. The refresh pass runs at most once a second and never
 * more than 2% of the time; the UDP sweep reads the whole flow map and
 * removes the flows silent for idle_timeout with their last values. Both
 * run in slices (a batch of up to 1024 map entries, refreshed in the
 * kernel and read; one netlink read of the TIME_WAIT census) spread over
 * loop turns, about 1 ms of them a turn, so that a pass over 100k
 * connections (~100 ms in all) does not hold the loop (scrapes, the ring
 * buffer) or a CPU in one go.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flows/conntab.h"
#include "flows/event.h"
#include "flows/feed.h"
#include "probes/readers.h"
#include "util/clock.h"
#include "util/log.h"

#define UDP_EXPIRE_MAX 1024 /* expired keys remembered per sweep */

/* Refresh at most once a second, and never more than 2% of the time: the
 * pass walks the whole connection map (about 1 us an entry in the kernel
 * and the flow table), so with 100k connections it runs every ~5 s. */
#define REFRESH_MIN_INTERVAL_NS 1000000000ULL
#define REFRESH_MAX_DUTY	50

/* Each loop turn gives the passes in progress about this much time: a
 * slice (one batch of a map) is the unit. */
#define WORK_BUDGET_NS 1000000ULL

/* A pass in progress. */
struct pass_run {
	bool active;
	uint64_t start_ns; /* CLOCK_MONOTONIC at its start */
	uint64_t work_ns;  /* its slices added up */
	uint64_t max_slice_ns;
	uint64_t slices;
	uint64_t entries;
	uint64_t cpu_ns;
};

struct feed {
	struct probes *probes;
	struct flows *flows;
	uint64_t idle_timeout_ns;
	struct feed_stats st;
	uint64_t drain_now_ns;
	uint64_t tcp_now_ns;	  /* the refresh slice's time */
	uint64_t udp_now_ns;	  /* the UDP sweep slice's time */
	uint64_t next_refresh_ns; /* CLOCK_MONOTONIC */
	struct pass_run run[FEED_PASS_MAX];
	struct probes_batch_cursor tcp_cursor; /* the refresh pass's place in the map */
	enum { PH_CENSUS, PH_READ } tcp_phase; /* of the refresh pass */
	struct probes_refresh_sums live_sum;   /* the refresh pass's batches' sums */
	struct gs_udp_key *udp_expired_keys;
	struct conntab_udp_sweep udp_sweep;    /* the sweep in progress */
	struct probes_batch_cursor udp_cursor; /* where it is in the map */
};

/* ==== Records ==== */

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

static void log_record(struct feed *fd, const void *data, size_t size)
{
	char line[1024]; /* a getaddrinfo record with 8 IPv6 addresses */

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
		event_format(data, (const char(*)[32])fd->probes->reset_reason_names,
			     fd->probes->n_reset_reasons, line, sizeof(line));
		pr_debug("%s", line);
		break;
	}
}

static void on_record(void *ctx, const void *data, size_t size)
{
	struct feed *fd = ctx;

	if (event_validate(data, size)) {
		fd->st.invalid++;
		return;
	}
	if (log_get_level() >= LOG_LEVEL_DEBUG)
		log_record(fd, data, size);
	if (event_type(data) == GS_EV_CLOSE || event_type(data) == GS_EV_FAILED)
		fd->st.delivered++;
	flows_record(fd->flows, data, size, fd->drain_now_ns);
}

int feed_drain(struct feed *fd)
{
	fd->drain_now_ns = mono_ns();
	return probes_events_drain(fd->probes);
}

int feed_events_fd(const struct feed *fd)
{
	return probes_events_fd(fd->probes);
}

/* ==== Passes in slices ==== */

static uint64_t thread_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

const char *feed_pass_name(enum feed_pass p)
{
	static const char *const names[FEED_PASS_MAX] = {
		[FEED_PASS_REFRESH] = "refresh",
		[FEED_PASS_CENSUS] = "time_wait_census",
		[FEED_PASS_UDP] = "udp_sweep",
	};

	return p < FEED_PASS_MAX ? names[p] : "unknown";
}

static void pass_begin(struct feed *fd, enum feed_pass k, uint64_t now_ns)
{
	fd->run[k] = (struct pass_run){ .active = true, .start_ns = now_ns };
}

/* One slice of pass k ran from (t0, c0) until now. */
static void slice_done(struct feed *fd, enum feed_pass k, uint64_t t0, uint64_t c0)
{
	struct feed_pass_stats *ps = &fd->st.pass[k];
	struct pass_run *r = &fd->run[k];
	uint64_t d = mono_ns() - t0;

	r->work_ns += d;
	r->slices++;
	if (d > r->max_slice_ns)
		r->max_slice_ns = d;
	r->cpu_ns += thread_cpu_ns() - c0;
	ps->slices++;
	ps->cpu_ns += thread_cpu_ns() - c0;
	if (d > ps->max_slice_ns)
		ps->max_slice_ns = d;
}

static void pass_done(struct feed *fd, enum feed_pass k)
{
	struct feed_pass_stats *ps = &fd->st.pass[k];
	struct pass_run *r = &fd->run[k];

	r->active = false;
	ps->passes++;
	ps->last_wall_ns = mono_ns() - r->start_ns;
	ps->last_work_ns = r->work_ns;
	ps->last_max_slice_ns = r->max_slice_ns;
	ps->last_entries = r->entries;
	pr_debug("%s pass: %llu entries in %llu slices, %.2f ms of work (%.2f ms CPU) over %.1f "
		 "ms, longest slice %.3f ms",
		 feed_pass_name(k), (unsigned long long)r->entries, (unsigned long long)r->slices,
		 r->work_ns / 1e6, r->cpu_ns / 1e6, ps->last_wall_ns / 1e6, r->max_slice_ns / 1e6);
}

/* ==== Live refresh of open TCP connections ==== */

static void conn_batch(void *ctx, const __u64 *keys, const struct gs_conn *vals, __u32 n)
{
	struct feed *fd = ctx;

	fd->run[FEED_PASS_REFRESH].entries += n;
	for (__u32 i = 0; i < n; i++)
		flows_tcp_entry(fd->flows, keys[i], &vals[i], fd->tcp_now_ns);
}

/* The pass is over (read, or given up): the flow table's end of pass,
 * and the next one due after 50 times the work it took so far. */
static void refresh_done(struct feed *fd)
{
	struct pass_run *r = &fd->run[FEED_PASS_REFRESH];
	uint64_t wait = r->work_ns * REFRESH_MAX_DUTY;

	flows_tcp_end(fd->flows, mono_ns());
	fd->next_refresh_ns =
		r->start_ns + (wait > REFRESH_MIN_INTERVAL_NS ? wait : REFRESH_MIN_INTERVAL_NS);
}

/* After the census (when one was due): the walk of the map. */
static void refresh_read_begin(struct feed *fd)
{
	fd->tcp_phase = PH_READ;
	memset(&fd->tcp_cursor, 0, sizeof(fd->tcp_cursor));
	feed_drain(fd);
	flows_tcp_begin(fd->flows);
}

/*
 * Start the refresh pass when due: the TIME_WAIT census first when it is
 * due (a pass of its own, census_step), then the connection map a batch a
 * slice (refresh_step), each batch refreshed in the kernel (refresh_batch)
 * and read into the flow table. Records are drained before the walk, so a
 * connection whose close record was consumed is not read back from a map
 * entry: its entry is flagged closed before the record is written, so one
 * drained in a later turn finds it flagged or gone.
 */
static void refresh_begin(struct feed *fd, uint64_t now_ns)
{
	if (!fd->probes->tcp || now_ns < fd->next_refresh_ns || fd->run[FEED_PASS_REFRESH].active)
		return;
	pass_begin(fd, FEED_PASS_REFRESH, now_ns);
	memset(&fd->live_sum, 0, sizeof(fd->live_sum));
	if (flows_tw_census_begin(fd->flows, now_ns)) {
		fd->tcp_phase = PH_CENSUS;
		pass_begin(fd, FEED_PASS_CENSUS, now_ns);
		return;
	}
	refresh_read_begin(fd);
}

/* One batch of the connection map; true when the pass is over. */
static bool refresh_step(struct feed *fd)
{
	bool refresh = fd->probes->features[FEAT_LIVE_REFRESH];
	int r;

	fd->tcp_now_ns = mono_ns();
	r = probes_refresh_conns_step(fd->probes, &fd->tcp_cursor, refresh ? &fd->live_sum : NULL,
				      conn_batch, fd);
	if (r > 0)
		return false;
	if (!r && refresh && !fd->live_sum.failed)
		fd->st.live = fd->live_sum.live;
	refresh_done(fd);
	return true;
}

/* One chunk of the TIME_WAIT census; true when it is over (the refresh
 * pass goes on with its read). */
static bool census_step(struct feed *fd)
{
	int r = flows_tw_census_step(fd->flows);

	if (r == -EINPROGRESS)
		return false;
	fd->run[FEED_PASS_CENSUS].entries = r > 0 ? (uint64_t)r : 0;
	refresh_read_begin(fd);
	return true;
}

/* ==== UDP flow expiry ==== */

static void udp_batch(void *ctx, const struct gs_udp_key *keys, const struct gs_udp_flow *vals,
		      __u32 n)
{
	struct feed *fd = ctx;

	fd->run[FEED_PASS_UDP].entries += n;
	for (__u32 i = 0; i < n; i++)
		flows_udp(fd->flows, &keys[i], &vals[i], 0, fd->udp_now_ns);
	conntab_sweep_udp(keys, vals, n, fd->udp_now_ns, fd->idle_timeout_ns, fd->udp_expired_keys,
			  UDP_EXPIRE_MAX, &fd->udp_sweep);
}

static void udp_begin(struct feed *fd, uint64_t now_ns)
{
	if (!fd->probes->udp || fd->run[FEED_PASS_UDP].active)
		return;
	pass_begin(fd, FEED_PASS_UDP, now_ns);
	memset(&fd->udp_sweep, 0, sizeof(fd->udp_sweep));
	memset(&fd->udp_cursor, 0, sizeof(fd->udp_cursor));
}

/* Remove the flows the sweep found silent, with their last values. */
static void udp_expire(struct feed *fd, bool complete)
{
	struct conntab_udp_sweep sw = fd->udp_sweep;

	for (uint64_t i = 0; i < sw.expired; i++) {
		struct gs_udp_flow last;

		switch (probes_udp_take(fd->probes, &fd->udp_expired_keys[i], &last)) {
		case 1:
			flows_udp(fd->flows, &fd->udp_expired_keys[i], &last, 1, fd->udp_now_ns);
			fd->st.udp_expired++;
			break;
		case 0:
			fd->st.udp_expired++;
			break;
		default:
			sw.active++; /* gone already */
			break;
		}
	}
	if (complete)
		flows_udp_end(fd->flows);
	fd->st.udp_active = sw.active;
}

/* One batch of the UDP flow map; true when the pass is over. */
static bool udp_step(struct feed *fd)
{
	int r;

	fd->udp_now_ns = mono_ns();
	r = probes_read_udp_step(fd->probes, &fd->udp_cursor, udp_batch, fd);
	if (r > 0)
		return false;
	udp_expire(fd, r == 0);
	return true;
}

/* ==== The loop's side ==== */

void feed_tick(struct feed *fd, uint64_t now_ns)
{
	refresh_begin(fd, now_ns);
	udp_begin(fd, now_ns);
	flows_tick(fd->flows, now_ns);
}

static bool pass_sliced(const struct feed *fd, enum feed_pass k)
{
	/* the refresh pass waits for the census it started */
	return fd->run[k].active && (k != FEED_PASS_REFRESH || fd->tcp_phase != PH_CENSUS);
}

bool feed_busy(const struct feed *fd)
{
	for (int k = 0; k < FEED_PASS_MAX; k++)
		if (pass_sliced(fd, k))
			return true;
	return false;
}

void feed_work(struct feed *fd)
{
	static bool (*const step[FEED_PASS_MAX])(struct feed *) = {
		[FEED_PASS_REFRESH] = refresh_step,
		[FEED_PASS_CENSUS] = census_step,
		[FEED_PASS_UDP] = udp_step,
	};
	uint64_t start = mono_ns(), t0 = start;
	bool any;

	do {
		any = false;
		for (int k = 0; k < FEED_PASS_MAX; k++) {
			uint64_t c0 = thread_cpu_ns();
			bool over;

			if (!pass_sliced(fd, k))
				continue;
			over = step[k](fd);
			slice_done(fd, k, t0, c0);
			if (over)
				pass_done(fd, k);
			t0 = mono_ns();
			any = true;
		}
	} while (any && t0 - start < WORK_BUDGET_NS);
}

void feed_loop_turn(struct feed *fd, uint64_t turn_ns)
{
	fd->st.loop_turns++;
	if (turn_ns > fd->st.loop_turn_max_ns)
		fd->st.loop_turn_max_ns = turn_ns;
}

const struct feed_stats *feed_stats(struct feed *fd)
{
	feed_drain(fd);
	return &fd->st;
}

/* ==== Setup ==== */

struct feed *feed_new(struct probes *p, struct flows *f, const struct scope *scope,
		      uint64_t idle_timeout_ns)
{
	struct feed *fd = calloc(1, sizeof(*fd));

	if (!fd)
		return NULL;
	fd->probes = p;
	fd->flows = f;
	fd->idle_timeout_ns = idle_timeout_ns;
	fd->udp_expired_keys = calloc(UDP_EXPIRE_MAX, sizeof(*fd->udp_expired_keys));
	if (!fd->udp_expired_keys || probes_events_open(p, on_record, fd)) {
		feed_free(fd);
		return NULL;
	}
	flows_open_census(f, scope);
	flows_set_listener_fd(f, probes_listeners_fd(p));
	flows_set_accept_owner(f, p->features[FEAT_ACCEPT_OWNER]);
	flows_set_reset_reasons(f, (const char(*)[32])p->reset_reason_names, p->n_reset_reasons);
	return fd;
}

void feed_free(struct feed *fd)
{
	if (!fd)
		return;
	free(fd->udp_expired_keys);
	free(fd);
}
