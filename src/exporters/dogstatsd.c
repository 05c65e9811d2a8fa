// SPDX-License-Identifier: MIT
/*
 * DogStatsD exporter: every flush_interval, brings the registry up to date and
 * pushes every series to a DogStatsD server (the Datadog Agent, or any statsd
 * daemon that reads DogStatsD tags) over UDP or a unix datagram socket.
 *
 * Names follow Datadog's dotted convention: each family's catalogue row
 * (metrics/catalogue.h) has its DogStatsD name;
 * Prometheus labels become "label:value" tags after the configured global
 * tags. Counters are sent as deltas since the last flush, gauges as they are,
 * and histograms as the observations each bucket gained since the last flush:
 * one line per bucket, the bucket's upper bound as the value and a sample rate
 * of 1/count, which receivers multiply back into count observations.
 *
 * What was last sent is kept per counter and histogram series (a hash on name
 * and label values, bounded by max_series). Lines are packed into datagrams
 * (1432 bytes for UDP, 8192 for unix sockets), never split, one send() each, on
 * a non-blocking socket. A failed send is not retried: it and the rest of the
 * flush are counted as dropped, the deltas they carried stay pending for the
 * next flush, the socket is re-created (and the host re-resolved) at the next
 * flush, and at most one warning a minute says so.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "exporters/exporter.h"
#include "metrics/catalogue.h"

#define DSD_UDP_PAYLOAD	   1432 /* an Ethernet MTU minus IPv6 and UDP headers */
#define DSD_UDS_PAYLOAD	   8192 /* the Datadog Agent's default unix socket buffer */
/* Series whose last value is remembered (counters are sent as deltas):
 * room for the eight capped flow, process and DNS families at the default
 * attributes.max_series (10000 each, plus `other`) and the rest. */
#define DSD_MAX_SERIES	   100000
#define DSD_WARN_EVERY_NS  (60 * 1000000000ULL)
#define DSD_RESOLVE_MIN_NS (60 * 1000000000ULL) /* host names: DNS may be slow */
#define DSD_NO_SLOT	   UINT32_MAX

/* ==== Names ==== */

/*
 * NS.dotted into out: the family's DogStatsD name from its catalogue row
 * (def), or for a family without one the Prometheus name without "gespann_"
 * and "_total", every other character than a letter or digit turned into
 * '.'. A namespace ending in '.' gets no second one.
 */
static void dsd_metric_name(const char *ns, const struct metric_def *def, const char *prom,
			    char *out, size_t size)
{
	const char *dotted = def ? def->dsd_name : NULL, *p = prom;
	size_t i, len, nslen = strlen(ns);
	char rule[160];

	if (!dotted) {
		if (!strncmp(p, "gespann_", 8))
			p += 8;
		len = strlen(p);
		if (len > 6 && !strcmp(p + len - 6, "_total"))
			len -= 6;
		if (len >= sizeof(rule))
			len = sizeof(rule) - 1;
		for (i = 0; i < len; i++)
			rule[i] = isalnum((unsigned char)p[i]) ? p[i] : '.';
		rule[len] = '\0';
		dotted = rule;
	}
	if (nslen && ns[nslen - 1] == '.')
		nslen--;
	snprintf(out, size, "%.*s%s%s", (int)nslen, ns, dotted[0] ? "." : "", dotted);
}

/* Tag text with DogStatsD's separators ('|', ',', '#'), whitespace and control
 * characters replaced by '_'. */
static int dsd_append_tag_text(struct strbuf *sb, const char *s)
{
	char buf[64];
	size_t n = 0;
	int err;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		buf[n++] =
			(c <= ' ' || c == 0x7f || c == '|' || c == ',' || c == '#') ? '_' : (char)c;
		if (n == sizeof(buf)) {
			err = strbuf_append(sb, buf, n);
			if (err)
				return err;
			n = 0;
		}
	}
	return strbuf_append(sb, buf, n);
}

/*
 * A number as DogStatsD and statsd parse it: integers without a fraction,
 * others in fixed notation with `digits` significant digits (statsd reads a
 * sample rate with /[\d.]+/, so no exponent there); magnitudes from 1e15 up
 * in %g form.
 */
static void dsd_format_number(double v, int digits, char *buf, size_t size)
{
	double mag = fabs(v);
	int prec;
	size_t n;

	if (mag >= 1e15) {
		snprintf(buf, size, "%.*g", digits, v);
		return;
	}
	if (v == floor(v)) {
		snprintf(buf, size, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
		return;
	}
	prec = digits - 1 - (int)floor(log10(mag));
	if (prec < 0)
		prec = 0;
	if (prec > 40)
		prec = 40;
	snprintf(buf, size, "%.*f", prec, v);
	n = strlen(buf);
	if (strchr(buf, '.')) {
		while (n > 1 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 1 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
}

/*
 * The sample rate that stands for `count` observations: 1/count, rounded down
 * until 1/rate read back is at least count, so a receiver that truncates
 * 1/rate to an integer gets count, not count - 1.
 */
static void dsd_format_rate(uint64_t count, char *buf, size_t size)
{
	double rate = 1.0 / (double)count;
	int i;

	for (i = 0; i < 8; i++) {
		dsd_format_number(rate, 17, buf, size);
		if (1.0 / strtod(buf, NULL) >= (double)count)
			return;
		rate = nextafter(rate, 0.0);
	}
}

/* ==== State ==== */

/* A counter or histogram series: what the receiver has got so far (prev) and
 * what this flush sends (cur). */
struct dsd_series {
	uint64_t hash;
	char *key; /* name '\0' value '\0' value '\0' ... */
	size_t key_len;
	double prev, cur;
	uint64_t *prev_buckets, *cur_buckets; /* histograms: n_buckets each */
	size_t n_buckets;
};

/* A line of this flush that moves a series forward once its datagram is sent. */
struct dsd_pending {
	uint32_t series;
	int32_t bucket; /* -1: the counter value */
	size_t dgram;
};

struct dsd_exporter {
	char name[32];
	char host[256];
	char ns[64];
	enum datadog_histogram hist;
	uint64_t interval_ns;
	struct registry *reg;
	void (*refresh)(void *ctx);
	void *refresh_ctx;
	uint64_t (*now)(void); /* the clock; tests replace it */

	/* transport */
	bool uds;
	struct sockaddr_un sun;
	char node[256], service[8];
	bool numeric;	/* node is an IP address: resolving it is free */
	bool have_addr; /* addr holds a resolved address */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t resolved_ns;
	int gai_error; /* of the last getaddrinfo() */
	int fd;
	bool broken; /* re-create the socket before the next send */
	size_t max_payload;

	/* series kept across flushes */
	struct dsd_series *series;
	size_t n_series, cap_series, max_series;
	uint32_t *slots; /* open addressing over series[] indexes */
	size_t n_slots;	 /* a power of two, or 0 */

	/* one flush */
	struct strbuf global_tags; /* the configured tags, joined with ',' */
	struct strbuf tags, line, key;
	struct strbuf out; /* the flush's datagrams, back to back */
	size_t dgram_start;
	size_t *dgram_end;
	size_t n_dgrams, cap_dgrams;
	struct dsd_pending *pending;
	size_t n_pending, cap_pending;

	uint64_t next_flush_ns;
	uint64_t errors, dropped, sent;
	uint64_t flushes;

	/* warnings: at most one per DSD_WARN_EVERY_NS; failing_logged: a send
	 * failure was logged, log the recovery too (so at most as often) */
	bool warned, failing_logged;
	uint64_t last_warn_ns, suppressed;
};

/* Log a warning unless one was logged less than a minute ago; true if logged. */
static bool dsd_warn(struct dsd_exporter *d, const char *what, const char *why)
{
	uint64_t now = d->now();

	if (d->warned && now - d->last_warn_ns < DSD_WARN_EVERY_NS) {
		d->suppressed++;
		return false;
	}
	pr_warn("adapter %s: %s %s: %s (%llu datagrams dropped so far, %llu failures not "
		"logged; next warning in 60 s at the earliest)",
		d->name, what, d->host, why, (unsigned long long)d->dropped,
		(unsigned long long)d->suppressed);
	d->warned = true;
	d->last_warn_ns = now;
	d->suppressed = 0;
	return true;
}

/* ==== Series table ==== */

static uint64_t dsd_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int dsd_slots_grow(struct dsd_exporter *d)
{
	size_t n = d->n_slots ? d->n_slots * 2 : 64, i, j;
	uint32_t *slots = malloc(n * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		slots[i] = DSD_NO_SLOT;
	for (i = 0; i < d->n_series; i++) {
		for (j = d->series[i].hash & (n - 1); slots[j] != DSD_NO_SLOT;
		     j = (j + 1) & (n - 1))
			;
		slots[j] = (uint32_t)i;
	}
	free(d->slots);
	d->slots = slots;
	d->n_slots = n;
	return 0;
}

/*
 * The index of the series whose key is d->key, created (with prev = 0, so the
 * first flush sends everything since start) if new. -ENOSPC past max_series,
 * -ENOMEM.
 */
static int dsd_series_get(struct dsd_exporter *d, size_t n_buckets)
{
	const char *key = d->key.buf;
	size_t len = d->key.len, i;
	uint64_t h = dsd_hash(key, len);
	struct dsd_series *s;

	if (d->n_slots) {
		for (i = h & (d->n_slots - 1); d->slots[i] != DSD_NO_SLOT;
		     i = (i + 1) & (d->n_slots - 1)) {
			s = &d->series[d->slots[i]];
			if (s->hash == h && s->key_len == len && !memcmp(s->key, key, len))
				return (int)d->slots[i];
		}
	}
	if (d->n_series >= d->max_series)
		return -ENOSPC;
	if ((d->n_series + 1) * 4 > d->n_slots * 3 && dsd_slots_grow(d))
		return -ENOMEM;
	if (d->n_series == d->cap_series) {
		size_t cap = d->cap_series ? d->cap_series * 2 : 64;
		struct dsd_series *grown = realloc(d->series, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		d->series = grown;
		d->cap_series = cap;
	}
	s = &d->series[d->n_series];
	memset(s, 0, sizeof(*s));
	s->hash = h;
	s->key_len = len;
	s->key = malloc(len);
	if (n_buckets) {
		s->prev_buckets = calloc(n_buckets, sizeof(uint64_t));
		s->cur_buckets = calloc(n_buckets, sizeof(uint64_t));
		s->n_buckets = n_buckets;
	}
	if (!s->key || (n_buckets && (!s->prev_buckets || !s->cur_buckets))) {
		free(s->key);
		free(s->prev_buckets);
		free(s->cur_buckets);
		return -ENOMEM;
	}
	memcpy(s->key, key, len);
	for (i = h & (d->n_slots - 1); d->slots[i] != DSD_NO_SLOT; i = (i + 1) & (d->n_slots - 1))
		;
	d->slots[i] = (uint32_t)d->n_series;
	return (int)d->n_series++;
}

/* ==== Lines and datagrams ==== */

/* Close the datagram being filled, if it holds anything. */
static int dsd_dgram_close(struct dsd_exporter *d)
{
	if (d->out.len == d->dgram_start)
		return 0;
	if (d->n_dgrams == d->cap_dgrams) {
		size_t cap = d->cap_dgrams ? d->cap_dgrams * 2 : 16;
		size_t *grown = realloc(d->dgram_end, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		d->dgram_end = grown;
		d->cap_dgrams = cap;
	}
	d->dgram_end[d->n_dgrams++] = d->out.len;
	d->dgram_start = d->out.len;
	return 0;
}

/*
 * Append d->line to the datagram being filled, closing it first when the line
 * does not fit. Returns the datagram's index, or a negative errno: -EMSGSIZE
 * for a line longer than a datagram may be.
 */
static long dsd_pack(struct dsd_exporter *d)
{
	size_t used = d->out.len - d->dgram_start;
	int err;

	if (d->line.len > d->max_payload)
		return -EMSGSIZE;
	if (used && used + 1 + d->line.len > d->max_payload) {
		err = dsd_dgram_close(d);
		if (err)
			return err;
		used = 0;
	}
	if (used && (err = strbuf_append(&d->out, "\n", 1)))
		return err;
	err = strbuf_append(&d->out, d->line.buf, d->line.len);
	if (err) {
		/* leave the datagram as it was before this line */
		d->out.len = d->dgram_start + used;
		return err;
	}
	return (long)d->n_dgrams;
}

static void dsd_commit(struct dsd_exporter *d, uint32_t series, int32_t bucket)
{
	struct dsd_series *s = &d->series[series];

	if (bucket < 0)
		s->prev = s->cur;
	else
		s->prev_buckets[bucket] = s->cur_buckets[bucket];
}

/*
 * One line: NAME:VALUE|TYPE[|@RATE][|#TAGS] into a datagram. A line that is
 * packed waits in pending[] for its datagram to be sent (series >= 0); one
 * that can never be sent (too long) is counted as dropped and written off.
 */
static void dsd_emit(struct dsd_exporter *d, const char *name, const char *value, const char *type,
		     const char *rate, long series, int32_t bucket)
{
	long dgram;
	int err;

	/* room to remember the line first: a line sent but not remembered
	 * would be sent again by the next flush */
	if (series >= 0 && d->n_pending == d->cap_pending) {
		size_t cap = d->cap_pending ? d->cap_pending * 2 : 128;
		struct dsd_pending *grown = realloc(d->pending, cap * sizeof(*grown));

		if (!grown) {
			d->dropped++;
			return;
		}
		d->pending = grown;
		d->cap_pending = cap;
	}
	strbuf_reset(&d->line);
	err = strbuf_printf(&d->line, "%s:%s|%s%s%s%s%s", name, value, type, rate ? "|@" : "",
			    rate ? rate : "", d->tags.len ? "|#" : "",
			    d->tags.len ? d->tags.buf : "");
	dgram = err ? err : dsd_pack(d);
	if (dgram < 0) {
		d->dropped++;
		if (dgram == -EMSGSIZE) {
			if (series >= 0)
				dsd_commit(d, (uint32_t)series, bucket);
			dsd_warn(d, "line too long for a datagram to", strerror(EMSGSIZE));
		}
		return;
	}
	if (series >= 0)
		d->pending[d->n_pending++] =
			(struct dsd_pending){ (uint32_t)series, bucket, (size_t)dgram };
}

/* Global tags, then "label:value" for every label with a value. */
static int dsd_render_tags(struct dsd_exporter *d, const struct registry_sample *s)
{
	int err = 0;
	size_t i;

	strbuf_reset(&d->tags);
	if (d->global_tags.len)
		err = strbuf_append(&d->tags, d->global_tags.buf, d->global_tags.len);
	for (i = 0; i < s->n_labels && !err; i++) {
		if (!s->label_values[i] || !s->label_values[i][0])
			continue;
		if (d->tags.len)
			err = strbuf_append(&d->tags, ",", 1);
		if (!err)
			err = dsd_append_tag_text(&d->tags, s->label_names[i]);
		if (!err)
			err = strbuf_append(&d->tags, ":", 1);
		if (!err)
			err = dsd_append_tag_text(&d->tags, s->label_values[i]);
	}
	return err;
}

/* The series key: name and label values, each NUL-terminated. */
static int dsd_render_key(struct dsd_exporter *d, const struct registry_sample *s)
{
	int err;
	size_t i;

	strbuf_reset(&d->key);
	err = strbuf_append(&d->key, s->name, strlen(s->name) + 1);
	for (i = 0; i < s->n_labels && !err; i++)
		err = strbuf_append(&d->key, s->label_values[i], strlen(s->label_values[i]) + 1);
	return err;
}

static void dsd_visit_histogram(struct dsd_exporter *d, const struct registry_sample *s,
				const char *name, int idx)
{
	const char *type = d->hist == DATADOG_HIST_HISTOGRAM ? "h" : "d";
	struct dsd_series *se = &d->series[idx];
	char value[64], rate[64];
	size_t b;

	for (b = 0; b <= s->n_bounds && b < se->n_buckets; b++) {
		uint64_t cur = s->buckets[b], prev = se->prev_buckets[b];
		uint64_t delta = cur >= prev ? cur - prev : cur; /* lower: a restart */
		double at;

		se->cur_buckets[b] = cur;
		if (!delta)
			continue;
		/* the bucket's upper bound; for +Inf the last finite one */
		if (b < s->n_bounds)
			at = s->bounds[b];
		else if (s->n_bounds)
			at = s->bounds[s->n_bounds - 1];
		else
			at = s->count ? s->sum / (double)s->count : 0;
		dsd_format_number(at, 15, value, sizeof(value));
		if (delta > 1)
			dsd_format_rate(delta, rate, sizeof(rate));
		dsd_emit(d, name, value, type, delta > 1 ? rate : NULL, idx, (int32_t)b);
	}
}

static void dsd_visit(const struct registry_sample *s, void *ctx)
{
	struct dsd_exporter *d = ctx;
	char name[256], value[64];
	int idx = -1;
	double delta;

	if (dsd_render_tags(d, s)) {
		d->dropped++;
		return;
	}
	dsd_metric_name(d->ns, s->def, s->name, name, sizeof(name));
	if (s->type == METRIC_GAUGE) {
		if (!isfinite(s->value))
			return;
		dsd_format_number(s->value, 15, value, sizeof(value));
		dsd_emit(d, name, value, "g", NULL, -1, -1);
		return;
	}
	if (s->type != METRIC_COUNTER && (s->type != METRIC_HISTOGRAM || !s->buckets))
		return;
	if (s->type == METRIC_COUNTER && !isfinite(s->value))
		return;
	idx = dsd_render_key(d, s) ?
		      -ENOMEM :
		      dsd_series_get(d, s->type == METRIC_HISTOGRAM ? s->n_bounds + 1 : 0);
	if (idx < 0) {
		/* without what was sent before there is no delta to send */
		d->dropped++;
		return;
	}
	if (s->type == METRIC_HISTOGRAM) {
		dsd_visit_histogram(d, s, name, idx);
		return;
	}
	d->series[idx].cur = s->value;
	delta = s->value >= d->series[idx].prev ? s->value - d->series[idx].prev : s->value;
	dsd_format_number(delta, 15, value, sizeof(value));
	dsd_emit(d, name, value, "c", NULL, idx, -1);
}

/*
 * Started by a reload: what the registry holds now was counted before this
 * adapter existed (an earlier one may have sent it), so it is the baseline,
 * as if sent, and the first flush sends only the growth from here.
 */
static void dsd_prime_visit(const struct registry_sample *s, void *ctx)
{
	struct dsd_exporter *d = ctx;
	struct dsd_series *se;
	int idx;

	if (s->type == METRIC_COUNTER ? !isfinite(s->value) :
					(s->type != METRIC_HISTOGRAM || !s->buckets))
		return;
	idx = dsd_render_key(d, s) ?
		      -ENOMEM :
		      dsd_series_get(d, s->type == METRIC_HISTOGRAM ? s->n_bounds + 1 : 0);
	if (idx < 0)
		return; /* no baseline: its first flush sends it whole */
	se = &d->series[idx];
	se->prev = se->cur = s->value;
	for (size_t b = 0; b < se->n_buckets && b <= s->n_bounds; b++)
		se->prev_buckets[b] = se->cur_buckets[b] = s->buckets[b];
}

static void dsd_prime(struct dsd_exporter *d)
{
	if (d->refresh)
		d->refresh(d->refresh_ctx);
	registry_visit(d->reg, dsd_prime_visit, d);
}

/* ==== Transport ==== */

/* Resolve node:service into d->addr, IPv4 first (the Agent's default bind is
 * 127.0.0.1 while "localhost" may resolve to ::1 first). */
static int dsd_resolve(struct dsd_exporter *d)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST };
	struct addrinfo *res = NULL, *ai, *pick = NULL;
	int rc;

	rc = getaddrinfo(d->node, d->service, &hints, &res);
	d->numeric = rc == 0;
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(d->node, d->service, &hints, &res);
	}
	d->resolved_ns = d->now();
	d->gai_error = rc;
	if (rc)
		return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && !pick)
			pick = ai;
	}
	for (ai = res; ai && !pick; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET6)
			pick = ai;
	}
	if (!pick || pick->ai_addrlen > sizeof(d->addr)) {
		freeaddrinfo(res);
		return -EAFNOSUPPORT;
	}
	memcpy(&d->addr, pick->ai_addr, pick->ai_addrlen);
	d->addrlen = pick->ai_addrlen;
	d->have_addr = true;
	freeaddrinfo(res);
	return 0;
}

/* A negative errno from dsd_connect() in words. */
static const char *dsd_strerror(const struct dsd_exporter *d, int err)
{
	if (err == -EADDRNOTAVAIL && d->gai_error && d->gai_error != EAI_SYSTEM)
		return gai_strerror(d->gai_error);
	return strerror(-err);
}

/*
 * A fresh connected socket in d->fd. UDP: the host is resolved again first
 * (a name at most once a minute: the lookup may wait on DNS). Returns 0 or a
 * negative errno (-ENOENT, -ECONNREFUSED: no server on the unix socket).
 */
static int dsd_connect(struct dsd_exporter *d)
{
	int fd, err;

	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (!d->uds &&
	    (!d->have_addr || d->numeric || d->now() - d->resolved_ns >= DSD_RESOLVE_MIN_NS)) {
		err = dsd_resolve(d);
		if (err && !d->have_addr)
			return err;
	}
	fd = socket(d->uds ? AF_UNIX : d->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (d->uds)
		err = connect(fd, (const struct sockaddr *)&d->sun, sizeof(d->sun));
	else
		err = connect(fd, (const struct sockaddr *)&d->addr, d->addrlen);
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	d->fd = fd;
	d->broken = false;
	return 0;
}

/*
 * Send the flush's datagrams in order, one send() each, until one fails: that
 * one and the rest are dropped. Returns how many were sent.
 */
static size_t dsd_send_all(struct dsd_exporter *d)
{
	size_t i, start = 0;
	int err;

	if (!d->n_dgrams)
		return 0;
	if (d->broken || d->fd < 0) {
		err = dsd_connect(d);
		if (err) {
			d->broken = true;
			d->errors++;
			d->dropped += d->n_dgrams;
			d->failing_logged |= dsd_warn(d, "cannot connect to", dsd_strerror(d, err));
			return 0;
		}
	}
	for (i = 0; i < d->n_dgrams; i++) {
		size_t len = d->dgram_end[i] - start;
		ssize_t n = send(d->fd, d->out.buf + start, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 || (size_t)n != len) {
			err = n < 0 ? errno : EMSGSIZE;
			/* ECONNREFUSED, ENOENT: nobody listens; EAGAIN: the server
			 * is behind. No retry here: the next flush tries again. */
			d->broken = true;
			d->errors++;
			d->dropped += d->n_dgrams - i;
			d->failing_logged |= dsd_warn(d, "cannot send to", strerror(err));
			return i;
		}
		d->sent++;
		start = d->dgram_end[i];
	}
	if (d->failing_logged) {
		pr_info("adapter %s: sends to %s succeed again", d->name, d->host);
		d->failing_logged = false;
	}
	return d->n_dgrams;
}

/* ==== Flush ==== */

/* Refresh, render every series, send, and move forward the series whose lines
 * went out. */
static void dsd_flush(struct dsd_exporter *d)
{
	size_t sent, i;

	if (d->refresh)
		d->refresh(d->refresh_ctx);
	strbuf_reset(&d->out);
	d->dgram_start = 0;
	d->n_dgrams = 0;
	d->n_pending = 0;
	registry_visit(d->reg, dsd_visit, d);
	if (dsd_dgram_close(d)) {
		/* the last datagram has nowhere to be recorded: drop it */
		d->dropped++;
	}
	sent = dsd_send_all(d);
	for (i = 0; i < d->n_pending; i++) {
		if (d->pending[i].dgram < sent)
			dsd_commit(d, d->pending[i].series, d->pending[i].bucket);
	}
	d->flushes++;
}

/* ==== Lifecycle ==== */

static void dsd_free(struct dsd_exporter *d)
{
	size_t i;

	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	for (i = 0; i < d->n_series; i++) {
		free(d->series[i].key);
		free(d->series[i].prev_buckets);
		free(d->series[i].cur_buckets);
	}
	free(d->series);
	free(d->slots);
	free(d->dgram_end);
	free(d->pending);
	strbuf_free(&d->global_tags);
	strbuf_free(&d->tags);
	strbuf_free(&d->line);
	strbuf_free(&d->key);
	strbuf_free(&d->out);
	free(d);
}

/* Split cfg->host (checked by the config parser) into a unix path or node and
 * port. Returns 0 or -EINVAL. */
static int dsd_parse_host(struct dsd_exporter *d, const char *host)
{
	const char *colon, *node = host;
	size_t node_len;

	if (!strncmp(host, "unix://", 7)) {
		if (strlen(host + 7) >= sizeof(d->sun.sun_path) || host[7] != '/')
			return -EINVAL;
		d->uds = true;
		d->sun.sun_family = AF_UNIX;
		memcpy(d->sun.sun_path, host + 7, strlen(host + 7) + 1);
		return 0;
	}
	colon = strrchr(host, ':');
	if (!colon || strlen(colon + 1) >= sizeof(d->service) || !colon[1])
		return -EINVAL;
	node_len = (size_t)(colon - host);
	if (host[0] == '[') {
		if (node_len < 2 || host[node_len - 1] != ']')
			return -EINVAL;
		node = host + 1;
		node_len -= 2;
	}
	if (!node_len || node_len >= sizeof(d->node))
		return -EINVAL;
	memcpy(d->node, node, node_len);
	d->node[node_len] = '\0';
	snprintf(d->service, sizeof(d->service), "%s", colon + 1);
	return 0;
}

/* Everything but the socket: what start() does before the first connect. */
static struct dsd_exporter *dsd_new(const struct adapter_config *cfg,
				    const struct exporter_env *env)
{
	struct dsd_exporter *d = calloc(1, sizeof(*d));
	size_t i;

	if (!d)
		return NULL;
	d->fd = -1;
	d->now = mono_ns;
	d->max_series = DSD_MAX_SERIES;
	snprintf(d->name, sizeof(d->name), "%s", env->name ? env->name : "datadog");
	snprintf(d->host, sizeof(d->host), "%s", cfg->host);
	/* namespace and flush_interval: the parsed settings (defaults in
	 * datadog_settings.c) */
	snprintf(d->ns, sizeof(d->ns), "%s", cfg->metric_namespace);
	d->hist = cfg->histogram;
	d->interval_ns = cfg->flush_interval_ns;
	d->reg = env->reg;
	d->refresh = env->refresh;
	d->refresh_ctx = env->refresh_ctx;
	strbuf_init(&d->global_tags);
	strbuf_init(&d->tags);
	strbuf_init(&d->line);
	strbuf_init(&d->key);
	strbuf_init(&d->out);
	if (dsd_parse_host(d, cfg->host)) {
		pr_err("adapter %s: \"%s\" is not a DogStatsD address", d->name, cfg->host);
		goto fail;
	}
	d->max_payload = d->uds ? DSD_UDS_PAYLOAD : DSD_UDP_PAYLOAD;
	for (i = 0; i < cfg->n_tags && i < CONFIG_MAX_TAGS; i++) {
		if ((i && strbuf_append(&d->global_tags, ",", 1)) ||
		    dsd_append_tag_text(&d->global_tags, cfg->tags[i]))
			goto fail_nomem;
	}
	/* the buffers of a flush, at their working size */
	if (strbuf_append(&d->out, "", 0) || strbuf_append(&d->line, "", 0))
		goto fail_nomem;
	return d;
fail_nomem:
	pr_err("adapter %s: %s", d->name, strerror(ENOMEM));
fail:
	dsd_free(d);
	return NULL;
}

/* Schedule the first flush and try the socket: a server that is not there
 * yet is not an error, every flush tries again. */
static void dsd_begin(struct dsd_exporter *d)
{
	int err;

	d->next_flush_ns = d->now() + d->interval_ns;
	err = dsd_connect(d);
	if (err) {
		d->broken = true;
		d->failing_logged |= dsd_warn(d, "cannot connect to", dsd_strerror(d, err));
	}
	pr_info("adapter %s: DogStatsD to %s (%s) every %llu ms, namespace %s", d->name, d->host,
		d->uds ? "unix socket" : "udp", (unsigned long long)(d->interval_ns / 1000000),
		d->ns);
}

static void *dsd_start(const struct adapter_config *cfg, const struct exporter_env *env)
{
	struct dsd_exporter *d;

	if (!cfg || !env || !env->reg) {
		pr_err("adapter datadog: %s", strerror(EINVAL));
		return NULL;
	}
	d = dsd_new(cfg, env);
	if (d && env->reload)
		dsd_prime(d);
	if (d)
		dsd_begin(d);
	return d;
}

static int dsd_fd(void *state)
{
	(void)state;
	return -1;
}

static int dsd_timeout_ms(void *state)
{
	struct dsd_exporter *d = state;
	uint64_t now, left;

	if (!d)
		return -1;
	now = d->now();
	if (now >= d->next_flush_ns)
		return 0;
	left = (d->next_flush_ns - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void dsd_run(void *state)
{
	struct dsd_exporter *d = state;
	uint64_t now;

	if (!d)
		return;
	now = d->now();
	if (now < d->next_flush_ns)
		return;
	dsd_flush(d);
	d->next_flush_ns += d->interval_ns;
	if (d->next_flush_ns <= now) /* the loop was held up: no burst of catch-up flushes */
		d->next_flush_ns = now + d->interval_ns;
}

static void dsd_stop(void *state)
{
	struct dsd_exporter *d = state;

	if (!d)
		return;
	dsd_flush(d); /* best effort: what changed since the last flush */
	dsd_free(d);
}

static uint64_t dsd_errors(const void *state)
{
	return state ? ((const struct dsd_exporter *)state)->errors : 0;
}

static uint64_t dsd_dropped(const void *state)
{
	return state ? ((const struct dsd_exporter *)state)->dropped : 0;
}

const struct exporter_ops dogstatsd_exporter_ops = {
	.type = "datadog",
	.start = dsd_start,
	.fd = dsd_fd,
	.timeout_ms = dsd_timeout_ms,
	.run = dsd_run,
	.stop = dsd_stop,
	.errors = dsd_errors,
	.dropped = dsd_dropped,
};
