// SPDX-License-Identifier: MIT
/*
 * The flow, process and DNS families: their labels (a universe of flow
 * labels, each family a subset, attributes.select choosing which are
 * exported), their declaration in the registry, the check of the config's
 * attribute selection before start, setup of the flow table and publishing.
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
#include "util/clock.h"
#include "enrich/dns.h"
#include "enrich/dnstrack.h"
#include "flows/event.h"
#include "flows/flows_int.h"
#include "util/hashmix.h"
#include "enrich/hostcache.h"
#include "util/log.h"
#include "enrich/netclass.h"
#include "enrich/proccache.h"
#include "flows/twcensus.h"

static const char *const uname_[U_MAX] = {
	"direction",	 "protocol",  "role",	    "src_process", "src_pid",	  "src_exe",
	"src_container", "src_unit",  "src_cgroup", "src_address", "dst_address", "dst_port",
	"dst_name",	 "dst_class", "dst_zone",   "outcome",	   "state",
};

#define SRC_EXTRA                                                                             \
	(B(U_SRC_PID) | B(U_SRC_EXE) | B(U_SRC_CONTAINER) | B(U_SRC_UNIT) | B(U_SRC_CGROUP) | \
	 B(U_SRC_ADDRESS))
#define PEER (B(U_DST_ADDRESS) | B(U_DST_PORT) | B(U_DST_NAME) | B(U_DST_CLASS) | B(U_DST_ZONE))

struct fam_def {
	const char *name;
	const char *help;
	enum metric_type type;
	uint64_t labels;   /* universe labels the family has (flow families) */
	uint64_t defaults; /* of which exported by default */
};

static const struct fam_def fam_defs[FF_MAX] = {
	[FF_BYTES] = { "gespann_flow_bytes_total",
		       "Payload bytes per flow: local process, peer and service port.",
		       METRIC_COUNTER,
		       B(U_DIRECTION) | B(U_PROTOCOL) | B(U_ROLE) | B(U_SRC_PROCESS) | SRC_EXTRA |
			       PEER,
		       B(U_DIRECTION) | B(U_PROTOCOL) | B(U_ROLE) | B(U_SRC_PROCESS) | PEER },
	[FF_CONNS] = { "gespann_flow_connections_total",
		       "TCP connections per flow when they end (closed or failed), by outcome; UDP flows "
		       "when first seen.",
		       METRIC_COUNTER,
		       B(U_PROTOCOL) | B(U_ROLE) | B(U_SRC_PROCESS) | SRC_EXTRA | PEER |
			       B(U_OUTCOME),
		       B(U_PROTOCOL) | B(U_ROLE) | B(U_SRC_PROCESS) | PEER | B(U_OUTCOME) },
	[FF_RETRANS] = { "gespann_flow_retransmits_total", "Retransmitted TCP segments per flow.",
			 METRIC_COUNTER, B(U_ROLE) | B(U_SRC_PROCESS) | SRC_EXTRA | PEER,
			 B(U_ROLE) | B(U_SRC_PROCESS) | B(U_DST_ADDRESS) | B(U_DST_PORT) |
				 B(U_DST_NAME) },
	[FF_RTT] = { "gespann_flow_rtt_seconds",
		     "Smoothed RTT of TCP connections at close, per flow.", METRIC_HISTOGRAM,
		     B(U_ROLE) | B(U_SRC_PROCESS) | SRC_EXTRA | PEER,
		     B(U_ROLE) | B(U_SRC_PROCESS) | B(U_DST_ADDRESS) | B(U_DST_PORT) |
			     B(U_DST_NAME) },
	[FF_OPEN] = { "gespann_flow_open_connections",
		      "Open TCP connections per flow and state (time_wait included).", METRIC_GAUGE,
		      B(U_ROLE) | B(U_SRC_PROCESS) | SRC_EXTRA | PEER | B(U_STATE),
		      B(U_ROLE) | B(U_SRC_PROCESS) | B(U_DST_ADDRESS) | B(U_DST_PORT) |
			      B(U_DST_NAME) | B(U_STATE) },
};

/* Process bytes and DNS families have their own label lists. */
static const char *const plabels[P_MAX + 1] = { "process",   "direction", "protocol", "pid", "exe",
						"container", "unit",	  "cgroup",   NULL };
static const char *const qlabels[Q_MAX + 1] = { "qtype",       "rcode", "server",
						"src_process", "name",	NULL };
static const char *const llabels[LL_MAX + 1] = { "server", "qtype", "src_process", NULL };

#define DNS_HIST_NBOUNDS 14
static const double dns_bounds[DNS_HIST_NBOUNDS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
						     0.025,  0.05,  0.1,    0.25,  0.5,
						     1,	     2.5,   5,	    10 };

static const char *const agg_names[FF_MAX] = {
	[FF_BYTES] = "gespann_flow_bytes_total",
	[FF_CONNS] = "gespann_flow_connections_total",
	[FF_RETRANS] = "gespann_flow_retransmits_total",
	[FF_RTT] = "gespann_flow_rtt_seconds",
	[FF_OPEN] = "gespann_flow_open_connections",
	[FF_PROC_BYTES] = "gespann_process_bytes_total",
	[FF_DNS_QUERIES] = "gespann_dns_queries_total",
	[FF_DNS_LATENCY] = "gespann_dns_latency_seconds",
};

void flows_publish(struct flows *f)
{
	struct hostcache_stats hs;
	const char *lv[1];

	for (int i = 0; i < FF_MAX; i++) {
		agg_publish(f->a[i]);
		lv[0] = agg_names[i];
		registry_set(f->f_dropped, lv, (double)agg_dropped(f->a[i]));
	}
	if (f->dt) {
		struct dnstrack_stats st;

		dnstrack_get_stats(f->dt, &st);
		registry_set(f->f_malformed, NULL, (double)st.malformed);
	}
	hostcache_get_stats(f->hc, &hs);
	registry_set(f->f_names, NULL, (double)hs.entries);
	lv[0] = "tcp";
	registry_set(f->f_lost, lv, (double)f->lost_tcp);
	lv[0] = "udp";
	registry_set(f->f_lost, lv, (double)f->lost_udp);
}

/* ==== Setup ==== */

static void read_port_range(struct flows *f)
{
	FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned lo = 32768, hi = 60999;

	if (fp) {
		if (fscanf(fp, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
			lo = 32768, hi = 60999;
		fclose(fp);
	}
	f->eph_lo = lo;
	f->eph_hi = hi;
}

static struct agg *flow_family(struct flows *f, int fam, const double *bounds, size_t nb, char *err,
			       size_t errlen)
{
	const struct fam_def *d = &fam_defs[fam];
	const char *all[U_MAX + 1];
	uint64_t defmask = 0, mask = 0;
	int n = 0;

	for (int u = 0; u < U_MAX; u++) {
		if (!(d->labels & B(u)))
			continue;
		if (d->defaults & B(u))
			defmask |= B(n);
		f->fam_idx[fam][n] = u;
		all[n++] = uname_[u];
	}
	all[n] = NULL;
	f->fam_n[fam] = n;
	if (attrsel_resolve(f->sel, d->name, all, defmask, &mask)) {
		snprintf(err, errlen, "attributes for %s could not be resolved", d->name);
		return NULL;
	}
	return agg_new(f->reg, d->name, d->help, d->type, all, mask, bounds, nb,
		       f->cfg->max_series);
}

static struct agg *plain_family(struct flows *f, const char *name, const char *help,
				enum metric_type type, const char *const *all, uint64_t defmask,
				const double *bounds, size_t nb, char *err, size_t errlen)
{
	uint64_t mask = 0;

	if (attrsel_resolve(f->sel, name, all, defmask, &mask)) {
		snprintf(err, errlen, "attributes for %s could not be resolved", name);
		return NULL;
	}
	return agg_new(f->reg, name, help, type, all, mask, bounds, nb, f->cfg->max_series);
}

struct flows *flows_new(struct registry *reg, const struct config *cfg,
			const struct flows_enrich *en, char *err, size_t errlen)
{
	static const char *const lbl_family[] = { "family", NULL };
	static const char *const lbl_protocol[] = { "protocol", NULL };
	struct flows *f = calloc(1, sizeof(*f));
	double rtt_bounds[GS_HIST_NBOUNDS];
	const uint64_t hb[GS_HIST_NBOUNDS] = GS_HIST_BOUNDS_NS;

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = cfg;
	f->reg = reg;
	f->listeners_fd = -1;
	read_port_range(f);
	for (int i = 0; i < GS_HIST_NBOUNDS; i++)
		rtt_bounds[i] = (double)hb[i] / 1e9;
	f->pc = en->pc;
	f->hc = en->hc;
	f->nc = en->nc;
	f->sel = attrsel_new(cfg);
	if (!f->sel) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	err[0] = '\0';
	f->a[FF_BYTES] = flow_family(f, FF_BYTES, NULL, 0, err, errlen);
	f->a[FF_CONNS] = flow_family(f, FF_CONNS, NULL, 0, err, errlen);
	f->a[FF_RETRANS] = flow_family(f, FF_RETRANS, NULL, 0, err, errlen);
	f->a[FF_RTT] = flow_family(f, FF_RTT, rtt_bounds, GS_HIST_NBOUNDS, err, errlen);
	f->a[FF_OPEN] = flow_family(f, FF_OPEN, NULL, 0, err, errlen);
	f->a[FF_PROC_BYTES] = plain_family(
		f, agg_names[FF_PROC_BYTES],
		"Payload bytes per local process (TCP and UDP), by direction.", METRIC_COUNTER,
		plabels, B(P_PROCESS) | B(P_DIRECTION) | B(P_PROTOCOL), NULL, 0, err, errlen);
	f->a[FF_DNS_QUERIES] = plain_family(
		f, agg_names[FF_DNS_QUERIES],
		"DNS queries sent by local processes, by query type, response code (timeout when "
		"unanswered) and server.",
		METRIC_COUNTER, qlabels, B(Q_QTYPE) | B(Q_RCODE) | B(Q_SERVER), NULL, 0, err,
		errlen);
	f->a[FF_DNS_LATENCY] = plain_family(
		f, agg_names[FF_DNS_LATENCY],
		"Time from a DNS query sent to its answer received, per server.", METRIC_HISTOGRAM,
		llabels, B(LL_SERVER), dns_bounds, DNS_HIST_NBOUNDS, err, errlen);
	for (int i = 0; i < FF_MAX; i++) {
		if (!f->a[i]) {
			if (!err[0])
				snprintf(err, errlen, "cannot declare the flow metric families: %s",
					 strerror(errno));
			goto fail;
		}
	}
	if (attrsel_unused(f->sel, err, errlen))
		goto fail;
	f->f_dropped = registry_add(reg, "gespann_series_dropped_total",
				    "Label sets folded into the `other` series of a family because "
				    "it reached attributes.max_series.",
				    METRIC_COUNTER, lbl_family, NULL, 0);
	f->f_malformed = registry_add(reg, "gespann_dns_malformed_total",
				      "DNS packets on port 53 that failed to parse.",
				      METRIC_COUNTER, NULL, NULL, 0);
	f->f_names = registry_add(reg, "gespann_dns_names",
				  "Addresses with a host name in the DNS cache.", METRIC_GAUGE,
				  NULL, NULL, 0);
	f->f_lost =
		registry_add(reg, "gespann_flow_entries_lost_total",
			     "Flow table entries forgotten without their final reading (the close "
			     "record or the last map read was lost); growth up to then is counted.",
			     METRIC_COUNTER, lbl_protocol, NULL, 0);
	if (!f->f_dropped || !f->f_malformed || !f->f_names || !f->f_lost) {
		snprintf(err, errlen, "cannot declare the flow metric families");
		goto fail;
	}
	if (cfg->dns_enabled) {
		f->dt = dnstrack_new(cfg->dns_max_pending, cfg->dns_timeout_ns, flows_dns_result,
				     f);
		if (!f->dt) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return f;
fail:
	flows_free(f);
	return NULL;
}

/* Every family's full attribute list, as flows_new() declares them. */
static int resolve_all(struct attrsel *sel)
{
	static const char *const *const plain[] = { plabels, qlabels, llabels };
	static const int plain_fam[] = { FF_PROC_BYTES, FF_DNS_QUERIES, FF_DNS_LATENCY };
	uint64_t mask;

	for (int fam = 0; fam <= FF_OPEN; fam++) {
		const char *all[U_MAX + 1];
		int n = 0;

		for (int u = 0; u < U_MAX; u++)
			if (fam_defs[fam].labels & B(u))
				all[n++] = uname_[u];
		all[n] = NULL;
		if (attrsel_resolve(sel, fam_defs[fam].name, all, 0, &mask))
			return -EINVAL;
	}
	for (size_t i = 0; i < 3; i++)
		if (attrsel_resolve(sel, agg_names[plain_fam[i]], plain[i], 0, &mask))
			return -EINVAL;
	return 0;
}

int flows_check_config(const struct config *cfg, char *err, size_t errlen)
{
	struct attrsel *sel = attrsel_new(cfg);
	int rc;

	if (!sel) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = resolve_all(sel);
	if (rc)
		snprintf(err, errlen, "attributes.select: cannot resolve the flow families");
	else
		rc = attrsel_unused(sel, err, errlen);
	attrsel_free(sel);
	return rc;
}
