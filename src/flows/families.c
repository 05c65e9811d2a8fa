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
#include "metrics/catalogue.h"
#include "metrics/eventq.h"
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
	"direction",   "protocol",    "role",	       "src_process", "src_service",
	"src_pid",     "src_exe",     "src_container", "src_unit",    "src_cgroup",
	"src_address", "dst_address", "dst_port",      "dst_name",    "dst_class",
	"src_zone",    "dst_zone",    "outcome",       "state",
};

/* Each flow, process and DNS family's catalogue row. */
static const enum metric_id fam_id[FF_MAX] = {
	[FF_BYTES] = M_FLOW_BYTES,	  [FF_CONNS] = M_FLOW_CONNS,
	[FF_RETRANS] = M_FLOW_RETRANS,	  [FF_RTT] = M_FLOW_RTT,
	[FF_OPEN] = M_FLOW_OPEN,	  [FF_ZONE_BYTES] = M_ZONE_BYTES,
	[FF_PROC_BYTES] = M_PROC_BYTES,	  [FF_DNS_QUERIES] = M_DNS_QUERIES,
	[FF_DNS_LATENCY] = M_DNS_LATENCY,
};

void flows_publish(struct flows *f)
{
	struct hostcache_stats hs;
	const char *lv[1];

	for (int i = 0; i < FF_MAX; i++) {
		/* A pass in slices rebuilds the open-connection gauge over several
		 * loop turns: the registry keeps the last whole one meanwhile. */
		if (i != FF_OPEN || !f->tcp_pass_open)
			agg_publish(f->a[i]);
		lv[0] = catalogue[fam_id[i]].name;
		registry_set(f->f_dropped, lv, (double)agg_dropped(f->a[i]));
	}
	if (f->dt) {
		struct dnstrack_stats st;

		dnstrack_get_stats(f->dt, &st);
		registry_set(f->f_malformed, NULL, (double)st.malformed);
	}
	hostcache_get_stats(f->hc, &hs);
	registry_set(f->f_names, NULL, (double)hs.entries);
	registry_set(f->f_names_evicted, NULL, (double)hs.evictions);
	lv[0] = "tcp";
	registry_set(f->f_lost, lv, (double)f->lost_tcp);
	lv[0] = "udp";
	registry_set(f->f_lost, lv, (double)f->lost_udp);
	/* the events the flows make for the OTLP logs (flows.c) */
	eventq_publish(f->reg);
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

/* The universe label of a flow family's label name (flows_int.h), or -1. */
static int universe_label(const char *name)
{
	for (int u = 0; u < U_MAX; u++)
		if (!strcmp(uname_[u], name))
			return u;
	return -1;
}

/* Declare family fam from its row with the attributes the config selects.
 * Flow families (up to FF_ZONE_BYTES) also record where each label sits in
 * the universe. */
static struct agg *declare_family(struct flows *f, int fam, char *err, size_t errlen)
{
	const struct metric_def *d = &catalogue[fam_id[fam]];
	const double *bounds;
	uint64_t mask = 0;
	size_t nb;
	int n = 0;

	for (; fam <= FF_ZONE_BYTES && d->labels[n]; n++)
		f->fam_idx[fam][n] = universe_label(d->labels[n]);
	if (fam <= FF_ZONE_BYTES)
		f->fam_n[fam] = n;
	if (attrsel_resolve(f->sel, d->name, d->labels, d->defaults, &mask)) {
		snprintf(err, errlen, "attributes for %s could not be resolved", d->name);
		return NULL;
	}
	bounds = catalogue_bounds(d->bounds, &nb);
	return agg_new(f->reg, d->name, d->help, d->type, d->labels, mask, bounds, nb,
		       f->cfg->max_series);
}

struct flows *flows_new(struct registry *reg, const struct config *cfg,
			const struct flows_enrich *en, char *err, size_t errlen)
{
	struct flows *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = cfg;
	f->reg = reg;
	f->listeners_fd = -1;
	read_port_range(f);
	f->pc = en->pc;
	f->hc = en->hc;
	f->nc = en->nc;
	f->sel = attrsel_new(cfg);
	if (!f->sel) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	err[0] = '\0';
	for (int i = 0; i < FF_MAX; i++)
		f->a[i] = declare_family(f, i, err, errlen);
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
	f->f_dropped = catalogue_declare(reg, M_SERIES_DROPPED);
	f->f_malformed = catalogue_declare(reg, M_DNS_MALFORMED);
	f->f_names = catalogue_declare(reg, M_DNS_NAMES);
	f->f_names_evicted = catalogue_declare(reg, M_DNS_NAMES_EVICTED);
	f->f_lost = catalogue_declare(reg, M_FLOW_ENTRIES_LOST);
	if (!f->f_dropped || !f->f_malformed || !f->f_names || !f->f_lost || !f->f_names_evicted) {
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

int flows_reconfigure(struct flows *f, char *changed, size_t len)
{
	struct attrsel *sel = attrsel_new(f->cfg);
	size_t o = 0;
	int ret = 0;

	if (!sel)
		return -ENOMEM;
	if (changed && len)
		changed[0] = '\0';
	for (int fam = 0; fam < FF_MAX && ret >= 0; fam++) {
		const struct metric_def *d = &catalogue[fam_id[fam]];
		uint64_t mask = 0;

		ret = attrsel_resolve(sel, d->name, d->labels, d->defaults, &mask);
		if (!ret)
			ret = agg_reconfigure(f->a[fam], d->labels, mask, f->cfg->max_series);
		if (ret == 1 && changed && o < len)
			o += (size_t)snprintf(changed + o, len - o, "%s%s", o ? ", " : "", d->name);
	}
	if (f->dt && ret >= 0)
		ret = dnstrack_set_limits(f->dt, f->cfg->dns_max_pending, f->cfg->dns_timeout_ns);
	attrsel_free(f->sel);
	f->sel = sel;
	return ret < 0 ? ret : 0;
}

struct netclass *flows_set_netclass(struct flows *f, struct netclass *nc)
{
	struct netclass *old = f->nc;

	f->nc = nc;
	return old;
}

/* Every family's full attribute list, as flows_new() declares them. */
static int resolve_all(struct attrsel *sel)
{
	uint64_t mask;

	for (int fam = 0; fam < FF_MAX; fam++)
		if (attrsel_resolve(sel, catalogue[fam_id[fam]].name, catalogue[fam_id[fam]].labels,
				    0, &mask))
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
