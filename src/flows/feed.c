// SPDX-License-Identifier: MIT
/*
 * Feed: the kernel's maps and records into the flow table, through the
 * probes' readers. The refresh pass runs at most once a second and never
 * more than 2% of the time; the UDP sweep reads the whole flow map and
 * removes the flows silent for idle_timeout with their last values.
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
 * pass walks the whole connection map (about 150 ns an entry, plus the empty
 * buckets), so with 100k connections it runs every ~1 s for ~15 ms. */
#define REFRESH_MIN_INTERVAL_NS 1000000000ULL
#define REFRESH_MAX_DUTY	50

struct feed {
	struct probes *probes;
	struct flows *flows;
	uint64_t idle_timeout_ns;
	struct feed_stats st;
	uint64_t drain_now_ns;
	uint64_t sweep_now_ns;
	uint64_t next_refresh_ns; /* CLOCK_MONOTONIC */
	struct gs_udp_key *udp_expired_keys;
	struct conntab_udp_sweep udp_sweep; /* the sweep in progress */
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

/* ==== Live refresh of open TCP connections ==== */

static void conn_batch(void *ctx, const __u64 *keys, const struct gs_conn *vals, __u32 n)
{
	struct feed *fd = ctx;

	for (__u32 i = 0; i < n; i++)
		flows_tcp_entry(fd->flows, keys[i], &vals[i], fd->sweep_now_ns);
}

/* Every connection entry into the flow table: growth of open connections
 * and the open-connection gauge. Records drained first, so a connection
 * whose record was consumed is not read back from a map entry. */
static void conn_pass(struct feed *fd, uint64_t now_ns)
{
	feed_drain(fd);
	flows_tcp_begin(fd->flows);
	fd->sweep_now_ns = now_ns;
	probes_read_conns(fd->probes, conn_batch, fd);
	flows_tcp_end(fd->flows, now_ns);
}

static void refresh_live(struct feed *fd, uint64_t now_ns)
{
	uint64_t took, wait;

	if (!fd->probes->tcp || now_ns < fd->next_refresh_ns)
		return;
	if (fd->probes->features[FEAT_LIVE_REFRESH] && probes_read_live(fd->probes, &fd->st.live)) {
		fd->next_refresh_ns = now_ns + REFRESH_MIN_INTERVAL_NS;
		return;
	}
	conn_pass(fd, now_ns);
	took = mono_ns() - now_ns;
	wait = took * REFRESH_MAX_DUTY;
	fd->next_refresh_ns =
		now_ns + (wait > REFRESH_MIN_INTERVAL_NS ? wait : REFRESH_MIN_INTERVAL_NS);
}

/* ==== UDP flow expiry ==== */

static void udp_batch(void *ctx, const struct gs_udp_key *keys, const struct gs_udp_flow *vals,
		      __u32 n)
{
	struct feed *fd = ctx;

	for (__u32 i = 0; i < n; i++)
		flows_udp(fd->flows, &keys[i], &vals[i], 0, fd->sweep_now_ns);
	conntab_sweep_udp(keys, vals, n, fd->sweep_now_ns, fd->idle_timeout_ns,
			  fd->udp_expired_keys, UDP_EXPIRE_MAX, &fd->udp_sweep);
}

static void sweep_udp(struct feed *fd, uint64_t now_ns)
{
	struct conntab_udp_sweep sw;
	bool complete;

	if (!fd->probes->udp)
		return;
	memset(&fd->udp_sweep, 0, sizeof(fd->udp_sweep));
	fd->sweep_now_ns = now_ns;
	complete = probes_read_udp(fd->probes, udp_batch, fd);
	sw = fd->udp_sweep;
	for (uint64_t i = 0; i < sw.expired; i++) {
		struct gs_udp_flow last;

		switch (probes_udp_take(fd->probes, &fd->udp_expired_keys[i], &last)) {
		case 1:
			flows_udp(fd->flows, &fd->udp_expired_keys[i], &last, 1, now_ns);
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

void feed_tick(struct feed *fd, uint64_t now_ns)
{
	refresh_live(fd, now_ns);
	sweep_udp(fd, now_ns);
	flows_tick(fd->flows, now_ns);
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
	return fd;
}

void feed_free(struct feed *fd)
{
	if (!fd)
		return;
	free(fd->udp_expired_keys);
	free(fd);
}
