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
#include <stdbool.h>
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

/*
 * What every series of one family shares, worked out at its first series:
 * the order of its labels (a family's label names, __name__, le and the
 * external labels, sorted once: a series sends a subset of them, which stays
 * sorted), the labels whose value is the same on every series (__name__ per
 * suffix, le per bound, the external ones) as ready structs, and which
 * family label an external label of the same name yields to.
 */
enum rw_slot_kind { SLOT_NAME, SLOT_LABEL, SLOT_LE, SLOT_EXT };

struct rw_slot {
	enum rw_slot_kind kind;
	size_t idx; /* SLOT_LABEL: the family's label; SLOT_EXT: the external label */
	const char *name;
};

enum rw_suffix { SUFFIX_NONE, SUFFIX_BUCKET, SUFFIX_SUM, SUFFIX_COUNT, SUFFIX_MAX };

struct rw_plan {
	const char *family;
	size_t n_slots;
	struct rw_slot *slots;
	const char **label_names;    /* arena copies */
	pb_label *names[SUFFIX_MAX]; /* __name__ with each suffix */
	pb_label **le;		     /* n_bounds + 1, the last +Inf */
	pb_label **ext;		     /* one per external label */
	long *ext_yields_to;	     /* the family label of the same name, or -1 */
	bool *ext_is_le;	     /* named le: a bucket's own le wins */
};

struct rw_build {
	struct rw_chunk *arena;
	const char *const (*ext)[2];
	size_t n_ext;
	int64_t now_ms;
	pb_write_request *req;
	size_t cap_series, cap_meta;
	struct rw_plan plan;
	bool have_plan;
	int err;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct rw_slot *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* equal names (an external label and the family's): the family's first */
	return c ? c : (int)x->kind - (int)y->kind;
}

/* A label struct with copies of name and value (name NULL: not copied). */
static pb_label *new_label(struct rw_build *b, const char *name, const char *value, bool copy_name)
{
	pb_label *l = rw_alloc(&b->arena, sizeof(*l));

	if (!l)
		return NULL;
	prometheus__label__init(l);
	l->name = copy_name ? rw_strcat(&b->arena, name, NULL) : (char *)name;
	l->value = rw_strcat(&b->arena, value, NULL);
	return l->name && l->value ? l : NULL;
}

static int make_plan(struct rw_build *b, const struct registry_sample *s)
{
	static const char *const suffixes[SUFFIX_MAX] = { "", "_bucket", "_sum", "_count" };
	struct rw_plan *p = &b->plan;
	size_t n = 0;
	char le[40];

	memset(p, 0, sizeof(*p));
	p->slots = rw_alloc(&b->arena, (2 + s->n_labels + b->n_ext) * sizeof(*p->slots));
	p->label_names = rw_alloc(&b->arena, (s->n_labels + 1) * sizeof(*p->label_names));
	p->le = rw_alloc(&b->arena, (s->n_bounds + 1) * sizeof(*p->le));
	p->ext = rw_alloc(&b->arena, (b->n_ext + 1) * sizeof(*p->ext));
	p->ext_yields_to = rw_alloc(&b->arena, (b->n_ext + 1) * sizeof(*p->ext_yields_to));
	p->ext_is_le = rw_alloc(&b->arena, (b->n_ext + 1) * sizeof(*p->ext_is_le));
	p->family = rw_strcat(&b->arena, s->name, NULL);
	if (!p->slots || !p->label_names || !p->le || !p->ext || !p->ext_yields_to ||
	    !p->ext_is_le || !p->family)
		return -ENOMEM;
	for (int i = 0; i < SUFFIX_MAX; i++) {
		p->names[i] = new_label(b, "__name__", "", false);
		if (!p->names[i] ||
		    !(p->names[i]->value = rw_strcat(&b->arena, s->name, suffixes[i])))
			return -ENOMEM;
	}
	p->slots[n++] = (struct rw_slot){ SLOT_NAME, 0, "__name__" };
	for (size_t i = 0; i < s->n_labels; i++) {
		if (!(p->label_names[i] = rw_strcat(&b->arena, s->label_names[i], NULL)))
			return -ENOMEM;
		p->slots[n++] = (struct rw_slot){ SLOT_LABEL, i, p->label_names[i] };
	}
	if (s->type == METRIC_HISTOGRAM) {
		for (size_t i = 0; i <= s->n_bounds; i++) {
			if (i < s->n_bounds)
				registry_format_bound(le, sizeof(le), s->bounds[i]);
			if (!(p->le[i] = new_label(b, "le", i < s->n_bounds ? le : "+Inf", false)))
				return -ENOMEM;
		}
		p->slots[n++] = (struct rw_slot){ SLOT_LE, 0, "le" };
	}
	for (size_t j = 0; j < b->n_ext; j++) {
		/* the caller's strings: they outlive the render */
		if (!(p->ext[j] = rw_alloc(&b->arena, sizeof(*p->ext[j]))))
			return -ENOMEM;
		prometheus__label__init(p->ext[j]);
		p->ext[j]->name = (char *)b->ext[j][0];
		p->ext[j]->value = (char *)b->ext[j][1];
		p->ext_yields_to[j] = -1;
		for (size_t i = 0; i < s->n_labels; i++) {
			if (!strcmp(s->label_names[i], b->ext[j][0]))
				p->ext_yields_to[j] = (long)i;
		}
		p->ext_is_le[j] = !strcmp(b->ext[j][0], "le");
		p->slots[n++] = (struct rw_slot){ SLOT_EXT, j, b->ext[j][0] };
	}
	qsort(p->slots, n, sizeof(*p->slots), slot_cmp);
	p->n_slots = n;
	b->have_plan = true;
	return 0;
}

/* One TimeSeries of s: its name with a suffix, its labels in the plan's
 * order (le: the bucket's index, or -1), value. */
static int add_series(struct rw_build *b, const struct registry_sample *s, enum rw_suffix suffix,
		      long le, double value)
{
	const struct rw_plan *p = &b->plan;
	pb_write_request *req = b->req;
	size_t n = 0;
	pb_series *ts;
	pb_sample *sm;
	pb_label **labels;

	if (req->n_timeseries == b->cap_series) {
		size_t cap = b->cap_series ? b->cap_series * 2 : 256;
		pb_series **np = rw_alloc(&b->arena, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		if (req->n_timeseries)
			memcpy(np, req->timeseries, req->n_timeseries * sizeof(*np));
		req->timeseries = np;
		b->cap_series = cap;
	}
	ts = rw_alloc(&b->arena, sizeof(*ts) + sizeof(*sm) + sizeof(*ts->samples));
	labels = rw_alloc(&b->arena, p->n_slots * sizeof(*labels));
	if (!ts || !labels)
		return -ENOMEM;
	sm = (pb_sample *)(ts + 1);
	prometheus__time_series__init(ts);
	prometheus__sample__init(sm);
	for (size_t k = 0; k < p->n_slots; k++) {
		const struct rw_slot *sl = &p->slots[k];
		const char *v;
		long own;

		switch (sl->kind) {
		case SLOT_NAME:
			labels[n++] = p->names[suffix];
			break;
		case SLOT_LABEL:
			v = s->label_values[sl->idx];
			/* empty: absent, as Prometheus reads it */
			if (!v || !v[0])
				break;
			if (!(labels[n] = new_label(b, p->label_names[sl->idx], v, false)))
				return -ENOMEM;
			n++;
			break;
		case SLOT_LE:
			if (le >= 0)
				labels[n++] = p->le[le];
			break;
		case SLOT_EXT:
			/* the series' own label wins, as with Prometheus' external_labels */
			own = p->ext_yields_to[sl->idx];
			if (own >= 0 && s->label_values[own] && s->label_values[own][0])
				break;
			if (p->ext_is_le[sl->idx] && le >= 0)
				break;
			labels[n++] = p->ext[sl->idx];
			break;
		}
	}
	ts->labels = labels;
	ts->n_labels = n;
	sm->value = value;
	sm->timestamp = b->now_ms;
	ts->samples = (pb_sample **)(sm + 1);
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
	m->metric_family_name = (char *)b->plan.family;
	m->help = rw_strcat(&b->arena, s->help ? s->help : "", NULL);
	m->unit = (char *)rw_unit(s->def);
	if (!m->help)
		return -ENOMEM;
	req->metadata[req->n_metadata++] = m;
	return 0;
}

static int add_histogram(struct rw_build *b, const struct registry_sample *s)
{
	uint64_t cum = 0;
	int err;

	for (size_t i = 0; i < s->n_bounds; i++) {
		cum += s->buckets ? s->buckets[i] : 0;
		err = add_series(b, s, SUFFIX_BUCKET, (long)i, (double)cum);
		if (err)
			return err;
	}
	err = add_series(b, s, SUFFIX_BUCKET, (long)s->n_bounds, (double)s->count);
	if (!err)
		err = add_series(b, s, SUFFIX_SUM, -1, s->sum);
	if (!err)
		err = add_series(b, s, SUFFIX_COUNT, -1, (double)s->count);
	return err;
}

static void build_visit(const struct registry_sample *s, void *ctx)
{
	struct rw_build *b = ctx;

	if (b->err)
		return;
	/* series come family by family: a plan and metadata once per family */
	if (!b->have_plan || strcmp(b->plan.family, s->name)) {
		b->err = make_plan(b, s);
		if (!b->err)
			b->err = add_metadata(b, s);
	}
	if (b->err)
		return;
	switch (s->type) {
	case METRIC_COUNTER:
	case METRIC_GAUGE:
		b->err = add_series(b, s, SUFFIX_NONE, -1, s->value);
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
