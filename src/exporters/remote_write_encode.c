// SPDX-License-Identifier: MIT
/*
 * Prometheus remote write encoding: the registry as a WriteRequest, built
 * from the protobuf-c structs generated from the vendored prompb messages
 * (third_party/prometheus-prompb) in an arena freed as a whole once packed,
 * then compressed with snappy's block format, as remote write 1.0 wants.
 * Apart from remote_write.c (the adapter, its queue and HTTP client) because
 * it is the exporter's other half: what is sent, not how.
 *
 * The series are the ones /metrics shows, named and labelled the same way
 * (histogram bounds in le written as the registry writes them), so a query
 * in the receiver finds what a scrape of the agent would have found.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <snappy-c.h>

#include "prometheus/remote_write.pb-c.h"

#include "exporters/remote_write.h"
#include "metrics/catalogue.h"

typedef Prometheus__WriteRequest pb_write_request;
typedef Prometheus__TimeSeries pb_series;
typedef Prometheus__Label pb_label;
typedef Prometheus__Sample pb_sample;
typedef Prometheus__MetricMetadata pb_metadata;

/* ==== Arena ==== */

/* One snapshot's structs and strings, freed together. */
struct rw_chunk {
	struct rw_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define RW_CHUNK (256 * 1024)

/* Zeroed memory from the arena at *head, or NULL. */
static void *rw_alloc(struct rw_chunk **head, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct rw_chunk *c = *head;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (!c || c->cap - c->used < n) {
		size_t cap = n > RW_CHUNK ? n : RW_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = *head;
		c->used = 0;
		c->cap = cap;
		*head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

/* a then b (b may be NULL) as one string in the arena. */
static char *rw_strcat(struct rw_chunk **head, const char *a, const char *b)
{
	size_t na = strlen(a), nb = b ? strlen(b) : 0;
	char *p = rw_alloc(head, na + nb + 1);

	if (p) {
		memcpy(p, a, na);
		if (nb)
			memcpy(p + na, b, nb);
		p[na + nb] = '\0';
	}
	return p;
}

static void rw_free(struct rw_chunk **head)
{
	while (*head) {
		struct rw_chunk *next = (*head)->next;

		free(*head);
		*head = next;
	}
}

/* ==== Building the request ==== */

struct rw_build {
	struct rw_chunk *arena;
	const char *const (*ext)[2];
	size_t n_ext;
	int64_t now_ms;
	pb_write_request *req;
	size_t cap_series, cap_meta;
	const char *family; /* the last family given metadata */
	int err;
};

/*
 * A histogram bound as the registry writes it in le (registry.c's
 * format_bound(), which the unit test compares against /metrics): the
 * shortest %e that reads back as v, then plain %f for exponents -4..5.
 */
static void rw_format_bound(char *buf, size_t len, double v)
{
	char *e;
	int prec;
	long exp;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, len, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, len, "%.*e", prec - 1, v);
	e = strchr(buf, 'e');
	exp = e ? strtol(e + 1, NULL, 10) : 0;
	if (exp < -4 || exp >= 6)
		return;
	snprintf(buf, len, "%.*f", prec - 1 - exp > 0 ? (int)(prec - 1 - exp) : 0, v);
}

static int label_cmp(const void *a, const void *b)
{
	const pb_label *x = *(pb_label *const *)a, *y = *(pb_label *const *)b;

	return strcmp(x->name, y->name);
}

static pb_label *new_label(struct rw_build *b, const char *name, const char *value)
{
	pb_label *l = rw_alloc(&b->arena, sizeof(*l));

	if (!l)
		return NULL;
	prometheus__label__init(l);
	l->name = rw_strcat(&b->arena, name, NULL);
	l->value = rw_strcat(&b->arena, value, NULL);
	return l->name && l->value ? l : NULL;
}

/* Whether s has a non-empty label called name. */
static int has_label(const struct registry_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++) {
		if (s->label_values[i] && s->label_values[i][0] && !strcmp(s->label_names[i], name))
			return 1;
	}
	return 0;
}

/* One TimeSeries: s's name + suffix, its labels (and le when not NULL), value. */
static int add_series(struct rw_build *b, const struct registry_sample *s, const char *suffix,
		      const char *le, double value)
{
	pb_write_request *req = b->req;
	size_t max = 2 + s->n_labels + b->n_ext, n = 0;
	pb_series *ts;
	pb_sample *sm;
	pb_label **labels;

	if (req->n_timeseries == b->cap_series) {
		size_t cap = b->cap_series ? b->cap_series * 2 : 256;
		pb_series **p = rw_alloc(&b->arena, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		if (req->n_timeseries)
			memcpy(p, req->timeseries, req->n_timeseries * sizeof(*p));
		req->timeseries = p;
		b->cap_series = cap;
	}
	ts = rw_alloc(&b->arena, sizeof(*ts));
	sm = rw_alloc(&b->arena, sizeof(*sm));
	labels = rw_alloc(&b->arena, max * sizeof(*labels));
	if (!ts || !sm || !labels)
		return -ENOMEM;
	prometheus__time_series__init(ts);
	prometheus__sample__init(sm);

	labels[n] = new_label(b, "__name__", "");
	if (!labels[n])
		return -ENOMEM;
	labels[n]->value = rw_strcat(&b->arena, s->name, suffix);
	if (!labels[n++]->value)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_labels; i++) {
		if (!s->label_values[i] || !s->label_values[i][0])
			continue;
		if (!(labels[n++] = new_label(b, s->label_names[i], s->label_values[i])))
			return -ENOMEM;
	}
	if (le && !(labels[n++] = new_label(b, "le", le)))
		return -ENOMEM;
	for (size_t i = 0; i < b->n_ext; i++) {
		/* the series' own label wins, as with Prometheus' external_labels */
		if (has_label(s, b->ext[i][0]) || (le && !strcmp(b->ext[i][0], "le")))
			continue;
		if (!(labels[n++] = new_label(b, b->ext[i][0], b->ext[i][1])))
			return -ENOMEM;
	}
	qsort(labels, n, sizeof(*labels), label_cmp);
	ts->labels = labels;
	ts->n_labels = n;
	sm->value = value;
	sm->timestamp = b->now_ms;
	ts->samples = rw_alloc(&b->arena, sizeof(*ts->samples));
	if (!ts->samples)
		return -ENOMEM;
	ts->samples[0] = sm;
	ts->n_samples = 1;
	req->timeseries[req->n_timeseries++] = ts;
	return 0;
}

/* Prometheus' unit words for the catalogue's UCUM units it has one for. */
static const char *rw_unit(const struct metric_def *def)
{
	static const char *const map[][2] = {
		{ "s", "seconds" }, { "ms", "milliseconds" },	    { "us", "microseconds" },
		{ "By", "bytes" },  { "By/s", "bytes_per_second" },
	};

	if (!def || !def->unit)
		return "";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(def->unit, map[i][0]))
			return map[i][1];
	}
	return "";
}

static int add_metadata(struct rw_build *b, const struct registry_sample *s)
{
	pb_write_request *req = b->req;
	pb_metadata *m;

	if (req->n_metadata == b->cap_meta) {
		size_t cap = b->cap_meta ? b->cap_meta * 2 : 64;
		pb_metadata **p = rw_alloc(&b->arena, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		if (req->n_metadata)
			memcpy(p, req->metadata, req->n_metadata * sizeof(*p));
		req->metadata = p;
		b->cap_meta = cap;
	}
	m = rw_alloc(&b->arena, sizeof(*m));
	if (!m)
		return -ENOMEM;
	prometheus__metric_metadata__init(m);
	switch (s->type) {
	case METRIC_COUNTER:
		m->type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
		break;
	case METRIC_GAUGE:
		m->type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE;
		break;
	case METRIC_HISTOGRAM:
		m->type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM;
		break;
	default:
		return -EINVAL;
	}
	m->metric_family_name = rw_strcat(&b->arena, s->name, NULL);
	m->help = rw_strcat(&b->arena, s->help ? s->help : "", NULL);
	m->unit = rw_strcat(&b->arena, rw_unit(s->def), NULL);
	if (!m->metric_family_name || !m->help || !m->unit)
		return -ENOMEM;
	req->metadata[req->n_metadata++] = m;
	b->family = m->metric_family_name;
	return 0;
}

static int add_histogram(struct rw_build *b, const struct registry_sample *s)
{
	char le[40];
	uint64_t cum = 0;
	int err;

	for (size_t i = 0; i < s->n_bounds; i++) {
		cum += s->buckets ? s->buckets[i] : 0;
		rw_format_bound(le, sizeof(le), s->bounds[i]);
		err = add_series(b, s, "_bucket", le, (double)cum);
		if (err)
			return err;
	}
	err = add_series(b, s, "_bucket", "+Inf", (double)s->count);
	if (!err)
		err = add_series(b, s, "_sum", NULL, s->sum);
	if (!err)
		err = add_series(b, s, "_count", NULL, (double)s->count);
	return err;
}

static void build_visit(const struct registry_sample *s, void *ctx)
{
	struct rw_build *b = ctx;

	if (b->err)
		return;
	/* series come family by family: metadata once per family */
	if (!b->family || strcmp(b->family, s->name))
		b->err = add_metadata(b, s);
	if (b->err)
		return;
	switch (s->type) {
	case METRIC_COUNTER:
	case METRIC_GAUGE:
		b->err = add_series(b, s, NULL, NULL, s->value);
		break;
	case METRIC_HISTOGRAM:
		b->err = add_histogram(b, s);
		break;
	default:
		b->err = -EINVAL;
	}
}

int remote_write_render(const struct registry *reg, const char *const (*ext)[2], size_t n_ext,
			int64_t now_ms, uint8_t **body, size_t *len)
{
	struct rw_build b = { .ext = ext, .n_ext = n_ext, .now_ms = now_ms };
	uint8_t *p;
	size_t n;
	int err = 0;

	*body = NULL;
	*len = 0;
	b.req = rw_alloc(&b.arena, sizeof(*b.req));
	if (!b.req) {
		err = -ENOMEM;
		goto out;
	}
	prometheus__write_request__init(b.req);
	registry_visit(reg, build_visit, &b);
	err = b.err;
	if (err)
		goto out;
	n = prometheus__write_request__get_packed_size(b.req);
	p = malloc(n ? n : 1);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	*len = prometheus__write_request__pack(b.req, p);
	*body = p;
out:
	rw_free(&b.arena);
	return err;
}

int remote_write_snappy(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	size_t n = snappy_max_compressed_length(len);
	char *buf;

	/* the block format's length preamble is a 32-bit varint */
	if (len > UINT32_MAX)
		return -EFBIG;
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	if (snappy_compress((const char *)in, len, buf, &n) != SNAPPY_OK) {
		free(buf);
		return -EIO;
	}
	*out = (uint8_t *)buf;
	*out_len = n;
	return 0;
}
