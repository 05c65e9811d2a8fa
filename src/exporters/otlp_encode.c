// SPDX-License-Identifier: MIT
/*
 * OTLP encoding: the registry as an ExportMetricsServiceRequest, built from
 * the protobuf-c structs generated from the vendored opentelemetry-proto
 * (third_party/) in an arena freed as a whole once the body is written, then
 * packed by protobuf-c or written as OTLP/JSON from the same structs, so
 * both carry the same content. Apart from otlp.c (the adapter and its HTTP
 * client) because it is the exporter's other half: what is sent, not how.
 * Counters are cumulative monotonic sums, gauges gauges, histograms
 * explicit-bucket histograms; units come from the catalogue, label names
 * follow the OpenTelemetry semantic conventions where one exists.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "exporters/jsonw.h"
#include "exporters/otlp.h"
#include "metrics/catalogue.h"

#define OTLP_SCOPE_NAME "gespann"

/* The generated names are long; these are the ones used here. */
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pb_request;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum pb_sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge pb_gauge;
typedef Opentelemetry__Proto__Metrics__V1__Histogram pb_histogram;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_histogram_point;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_key_value;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any_value;

#define PB_CUMULATIVE \
	OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define PB_DATA_SUM	  OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM
#define PB_DATA_GAUGE	  OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE
#define PB_DATA_HISTOGRAM OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM
#define PB_AS_DOUBLE	  OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE
#define PB_AS_INT	  OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT
#define PB_HAS_SUM	  OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM
#define PB_STRING_VALUE	  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE

/* ==== Arena ==== */

/* One snapshot's protobuf structs and strings, freed together. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
};

#define ARENA_CHUNK (64 * 1024)

/* Zeroed memory from the arena, or NULL. */
static void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct arena_chunk *c = a->head;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

static char *arena_strdup(struct arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(a, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

/* Grow *arr (of elem-sized items, *cap of them) to hold one more; 0 or -ENOMEM. */
static int arena_grow(struct arena *a, void **arr, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = arena_alloc(a, ncap * elem);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, *arr, n * elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* ==== Naming: units and attributes ==== */

/*
 * UCUM unit of a family, from its catalogue row; "1" for a family without
 * one. Names stay as they are (so a series is recognisable next to
 * /metrics); the unit goes in the field OpenTelemetry has for it.
 */
static const char *otlp_unit(const struct metric_def *def)
{
	return def ? def->unit : "1";
}

/* Attribute name for a registry label: OpenTelemetry semantic conventions. */
static const char *otlp_attr_key(const char *label)
{
	if (!strcmp(label, "protocol"))
		return "network.transport"; /* values tcp, udp: the same */
	if (!strcmp(label, "direction"))
		return "network.io.direction";
	if (!strcmp(label, "errno"))
		return "error.type";
	return label;
}

static const char *otlp_attr_value(const char *label, const char *value)
{
	if (!strcmp(label, "direction")) {
		if (!strcmp(value, "sent"))
			return "transmit";
		if (!strcmp(value, "received"))
			return "receive";
	}
	return value;
}

/* ==== Building the request ==== */

struct otlp_build {
	struct arena *arena;
	uint64_t start_ns, now_ns;
	pb_scope_metrics *sm;
	size_t cap_metrics;
	pb_metric *cur; /* the family being filled: series come family by family */
	size_t cap_points;
	int err;
};

static pb_key_value *make_attr(struct arena *a, const char *key, const char *value)
{
	pb_key_value *kv = arena_alloc(a, sizeof(*kv));
	pb_any_value *v = arena_alloc(a, sizeof(*v));

	if (!kv || !v)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = arena_strdup(a, key);
	v->value_case = PB_STRING_VALUE;
	v->string_value = arena_strdup(a, value);
	kv->value = v;
	return kv->key && v->string_value ? kv : NULL;
}

/* Attributes of one series; empty label values are left out, as Prometheus
 * treats an empty label as an absent one. */
static int make_point_attrs(struct arena *a, const struct registry_sample *s, pb_key_value ***out,
			    size_t *n_out)
{
	pb_key_value **kvs;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (!s->n_labels)
		return 0;
	kvs = arena_alloc(a, s->n_labels * sizeof(*kvs));
	if (!kvs)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_labels; i++) {
		const char *name = s->label_names[i], *value = s->label_values[i];

		if (!value || !value[0])
			continue;
		kvs[n] = make_attr(a, otlp_attr_key(name), otlp_attr_value(name, value));
		if (!kvs[n])
			return -ENOMEM;
		n++;
	}
	*out = kvs;
	*n_out = n;
	return 0;
}

static pb_metric *new_metric(struct otlp_build *b, const struct registry_sample *s)
{
	struct arena *a = b->arena;
	pb_metric *m;

	if (arena_grow(a, (void **)&b->sm->metrics, b->sm->n_metrics, &b->cap_metrics,
		       sizeof(*b->sm->metrics)))
		return NULL;
	m = arena_alloc(a, sizeof(*m));
	if (!m)
		return NULL;
	opentelemetry__proto__metrics__v1__metric__init(m);
	m->name = arena_strdup(a, s->name);
	m->description = arena_strdup(a, s->help ? s->help : "");
	m->unit = arena_strdup(a, otlp_unit(s->def));
	if (!m->name || !m->description || !m->unit)
		return NULL;
	switch (s->type) {
	case METRIC_COUNTER:
		m->data_case = PB_DATA_SUM;
		m->sum = arena_alloc(a, sizeof(*m->sum));
		if (!m->sum)
			return NULL;
		opentelemetry__proto__metrics__v1__sum__init(m->sum);
		m->sum->aggregation_temporality = PB_CUMULATIVE;
		m->sum->is_monotonic = 1;
		break;
	case METRIC_GAUGE:
		m->data_case = PB_DATA_GAUGE;
		m->gauge = arena_alloc(a, sizeof(*m->gauge));
		if (!m->gauge)
			return NULL;
		opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
		break;
	case METRIC_HISTOGRAM:
		m->data_case = PB_DATA_HISTOGRAM;
		m->histogram = arena_alloc(a, sizeof(*m->histogram));
		if (!m->histogram)
			return NULL;
		opentelemetry__proto__metrics__v1__histogram__init(m->histogram);
		m->histogram->aggregation_temporality = PB_CUMULATIVE;
		break;
	default:
		return NULL;
	}
	b->sm->metrics[b->sm->n_metrics++] = m;
	b->cur = m;
	b->cap_points = 0;
	return m;
}

/*
 * start_time_unix_nano of a cumulative point: when its series was created,
 * not the agent's start. A label set first counted an hour after start has
 * accumulated since then, and a consumer that turns cumulative points into
 * rates can then count the first point's value as an increase from 0 at that
 * time instead of a series born at its value. A creation time outside
 * (start, now] (a clock step) falls back to the agent's start.
 */
static uint64_t point_start(const struct otlp_build *b, const struct registry_sample *s)
{
	uint64_t c = s->created_ns > 0 ? (uint64_t)s->created_ns : 0;

	return c > b->start_ns && c <= b->now_ns ? c : b->start_ns;
}

static int add_number_point(struct otlp_build *b, const struct registry_sample *s, size_t *n_points,
			    pb_number_point ***points)
{
	struct arena *a = b->arena;
	pb_number_point *p;

	if (arena_grow(a, (void **)points, *n_points, &b->cap_points, sizeof(**points)))
		return -ENOMEM;
	p = arena_alloc(a, sizeof(*p));
	if (!p)
		return -ENOMEM;
	opentelemetry__proto__metrics__v1__number_data_point__init(p);
	if (make_point_attrs(a, s, &p->attributes, &p->n_attributes))
		return -ENOMEM;
	/* gauges have no start: the data model ignores it for them */
	p->start_time_unix_nano = s->type == METRIC_COUNTER ? point_start(b, s) : 0;
	p->time_unix_nano = b->now_ns;
	p->value_case = PB_AS_DOUBLE;
	p->as_double = s->value;
	(*points)[(*n_points)++] = p;
	return 0;
}

static int add_histogram_point(struct otlp_build *b, const struct registry_sample *s)
{
	pb_histogram *h = b->cur->histogram;
	struct arena *a = b->arena;
	pb_histogram_point *p;

	if (arena_grow(a, (void **)&h->data_points, h->n_data_points, &b->cap_points,
		       sizeof(*h->data_points)))
		return -ENOMEM;
	p = arena_alloc(a, sizeof(*p));
	if (!p)
		return -ENOMEM;
	opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
	if (make_point_attrs(a, s, &p->attributes, &p->n_attributes))
		return -ENOMEM;
	p->start_time_unix_nano = point_start(b, s);
	p->time_unix_nano = b->now_ns;
	p->count = s->count;
	p->_sum_case = PB_HAS_SUM;
	p->sum = s->sum;
	/* the registry's counts are per bucket (not cumulative), as OTLP wants */
	p->n_bucket_counts = s->buckets ? s->n_bounds + 1 : 0;
	p->bucket_counts = arena_alloc(a, (s->n_bounds + 1) * sizeof(*p->bucket_counts));
	p->n_explicit_bounds = s->n_bounds;
	p->explicit_bounds = arena_alloc(a, (s->n_bounds + 1) * sizeof(*p->explicit_bounds));
	if (!p->bucket_counts || !p->explicit_bounds)
		return -ENOMEM;
	if (s->buckets)
		memcpy(p->bucket_counts, s->buckets, (s->n_bounds + 1) * sizeof(*s->buckets));
	if (s->n_bounds)
		memcpy(p->explicit_bounds, s->bounds, s->n_bounds * sizeof(*s->bounds));
	h->data_points[h->n_data_points++] = p;
	return 0;
}

static void build_visit(const struct registry_sample *s, void *ctx)
{
	struct otlp_build *b = ctx;
	pb_metric *m = b->cur;

	if (b->err)
		return;
	if (!m || strcmp(m->name, s->name)) {
		m = new_metric(b, s);
		if (!m) {
			b->err = -ENOMEM;
			return;
		}
	}
	switch (m->data_case) {
	case PB_DATA_SUM:
		b->err = add_number_point(b, s, &m->sum->n_data_points, &m->sum->data_points);
		break;
	case PB_DATA_GAUGE:
		b->err = add_number_point(b, s, &m->gauge->n_data_points, &m->gauge->data_points);
		break;
	case PB_DATA_HISTOGRAM:
		b->err = add_histogram_point(b, s);
		break;
	default:
		b->err = -EINVAL;
	}
}

/*
 * Build the request for every series of reg into arena a: one resource
 * (service.name, service.version, host.name, os.type), one scope "gespann".
 * start_ns is the agent's start, now_ns the snapshot's time (Unix ns).
 * Everything, *out included, lives in the arena. Returns 0 or -ENOMEM.
 */
static int otlp_build_request(const struct registry *reg, struct arena *a, const char *host,
			      uint64_t start_ns, uint64_t now_ns, pb_request **out)
{
	static const char *const res_keys[] = { "service.name", "service.version", "host.name",
						"os.type" };
	const char *res_values[] = { "gespann", GESPANN_VERSION, host, "linux" };
	struct otlp_build b = { .arena = a, .start_ns = start_ns, .now_ns = now_ns };
	pb_resource_metrics *rm, **rms;
	pb_scope_metrics **sms;
	pb_resource *res;
	pb_request *req;
	pb_scope *scope;

	req = arena_alloc(a, sizeof(*req));
	rms = arena_alloc(a, sizeof(*rms));
	rm = arena_alloc(a, sizeof(*rm));
	res = arena_alloc(a, sizeof(*res));
	sms = arena_alloc(a, sizeof(*sms));
	b.sm = arena_alloc(a, sizeof(*b.sm));
	scope = arena_alloc(a, sizeof(*scope));
	if (!req || !rms || !rm || !res || !sms || !b.sm || !scope)
		return -ENOMEM;
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(req);
	opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
	opentelemetry__proto__resource__v1__resource__init(res);
	opentelemetry__proto__metrics__v1__scope_metrics__init(b.sm);
	opentelemetry__proto__common__v1__instrumentation_scope__init(scope);

	res->n_attributes = sizeof(res_keys) / sizeof(res_keys[0]);
	res->attributes = arena_alloc(a, res->n_attributes * sizeof(*res->attributes));
	if (!res->attributes)
		return -ENOMEM;
	for (size_t i = 0; i < res->n_attributes; i++) {
		res->attributes[i] = make_attr(a, res_keys[i], res_values[i]);
		if (!res->attributes[i])
			return -ENOMEM;
	}
	scope->name = arena_strdup(a, OTLP_SCOPE_NAME);
	scope->version = arena_strdup(a, GESPANN_VERSION);
	if (!scope->name || !scope->version)
		return -ENOMEM;
	b.sm->scope = scope;
	registry_visit(reg, build_visit, &b);
	if (b.err)
		return b.err;

	sms[0] = b.sm;
	rm->resource = res;
	rm->n_scope_metrics = 1;
	rm->scope_metrics = sms;
	rms[0] = rm;
	req->n_resource_metrics = 1;
	req->resource_metrics = rms;
	*out = req;
	return 0;
}

/* Pack req into a malloc'ed buffer (*buf, *len). Returns 0 or -ENOMEM. */
static int otlp_encode_protobuf(const pb_request *req, uint8_t **buf, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		return -ENOMEM;
	*len = protobuf_c_message_pack(&req->base, p);
	*buf = p;
	return 0;
}

/* ==== JSON (the OTLP/JSON mapping of the same structs) ==== */

/*
 * proto3 JSON as OTLP specifies it: lowerCamelCase names, enums as integers,
 * 64-bit integers as decimal strings, doubles as numbers (NaN and infinities
 * as the strings proto3 uses). Fields at their default value are left out,
 * except the ones a reader needs to tell the kind of data (isMonotonic).
 */

/* Shortest text that reads back as the same double. */
static void j_double(struct jsonw *j, double v)
{
	char num[40];

	if (isnan(v)) {
		jsonw_raw(j, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		jsonw_raw(j, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	snprintf(num, sizeof(num), "%.15g", v);
	if (strtod(num, NULL) != v)
		snprintf(num, sizeof(num), "%.17g", v);
	jsonw_raw(j, num);
}

/* "attributes":[...],"startTimeUnixNano":"..","timeUnixNano":"..", (start left out when 0) */
static void j_point_head(struct jsonw *j, pb_key_value *const *kvs, size_t n, uint64_t start,
			 uint64_t now)
{
	jsonw_attributes(j, kvs, n);
	jsonw_raw(j, ",");
	if (start) {
		jsonw_key(j, "startTimeUnixNano");
		jsonw_u64(j, start);
		jsonw_raw(j, ",");
	}
	jsonw_key(j, "timeUnixNano");
	jsonw_u64(j, now);
}

static void j_number_points(struct jsonw *j, pb_number_point *const *pts, size_t n)
{
	jsonw_key(j, "dataPoints");
	jsonw_raw(j, "[");
	for (size_t i = 0; i < n; i++) {
		const pb_number_point *p = pts[i];

		jsonw_raw(j, i ? ",{" : "{");
		j_point_head(j, p->attributes, p->n_attributes, p->start_time_unix_nano,
			     p->time_unix_nano);
		jsonw_raw(j, ",");
		if (p->value_case == PB_AS_INT) {
			jsonw_key(j, "asInt");
			if (!j->err)
				j->err = strbuf_printf(j->sb, "\"%" PRId64 "\"", p->as_int);
		} else {
			jsonw_key(j, "asDouble");
			j_double(j, p->as_double);
		}
		jsonw_raw(j, "}");
	}
	jsonw_raw(j, "]");
}

static void j_histogram_points(struct jsonw *j, pb_histogram_point *const *pts, size_t n)
{
	jsonw_key(j, "dataPoints");
	jsonw_raw(j, "[");
	for (size_t i = 0; i < n; i++) {
		const pb_histogram_point *p = pts[i];

		jsonw_raw(j, i ? ",{" : "{");
		j_point_head(j, p->attributes, p->n_attributes, p->start_time_unix_nano,
			     p->time_unix_nano);
		jsonw_raw(j, ",");
		jsonw_key(j, "count");
		jsonw_u64(j, p->count);
		if (p->_sum_case == PB_HAS_SUM) {
			jsonw_raw(j, ",");
			jsonw_key(j, "sum");
			j_double(j, p->sum);
		}
		jsonw_raw(j, ",");
		jsonw_key(j, "bucketCounts");
		jsonw_raw(j, "[");
		for (size_t k = 0; k < p->n_bucket_counts; k++) {
			if (k)
				jsonw_raw(j, ",");
			jsonw_u64(j, p->bucket_counts[k]);
		}
		jsonw_raw(j, "],");
		jsonw_key(j, "explicitBounds");
		jsonw_raw(j, "[");
		for (size_t k = 0; k < p->n_explicit_bounds; k++) {
			if (k)
				jsonw_raw(j, ",");
			j_double(j, p->explicit_bounds[k]);
		}
		jsonw_raw(j, "]}");
	}
	jsonw_raw(j, "]");
}

static void j_metric(struct jsonw *j, const pb_metric *m)
{
	jsonw_raw(j, "{");
	jsonw_key(j, "name");
	jsonw_str(j, m->name);
	jsonw_raw(j, ",");
	jsonw_key(j, "description");
	jsonw_str(j, m->description);
	jsonw_raw(j, ",");
	jsonw_key(j, "unit");
	jsonw_str(j, m->unit);
	jsonw_raw(j, ",");
	switch (m->data_case) {
	case PB_DATA_SUM:
		jsonw_key(j, "sum");
		jsonw_raw(j, "{");
		j_number_points(j, m->sum->data_points, m->sum->n_data_points);
		jsonw_raw(j, ",");
		jsonw_key(j, "aggregationTemporality");
		if (!j->err)
			j->err = strbuf_printf(j->sb, "%d", (int)m->sum->aggregation_temporality);
		jsonw_raw(j, ",");
		jsonw_key(j, "isMonotonic");
		jsonw_raw(j, m->sum->is_monotonic ? "true" : "false");
		jsonw_raw(j, "}");
		break;
	case PB_DATA_GAUGE:
		jsonw_key(j, "gauge");
		jsonw_raw(j, "{");
		j_number_points(j, m->gauge->data_points, m->gauge->n_data_points);
		jsonw_raw(j, "}");
		break;
	case PB_DATA_HISTOGRAM:
		jsonw_key(j, "histogram");
		jsonw_raw(j, "{");
		j_histogram_points(j, m->histogram->data_points, m->histogram->n_data_points);
		jsonw_raw(j, ",");
		jsonw_key(j, "aggregationTemporality");
		if (!j->err)
			j->err = strbuf_printf(j->sb, "%d",
					       (int)m->histogram->aggregation_temporality);
		jsonw_raw(j, "}");
		break;
	default:
		j->err = -EINVAL;
	}
	jsonw_raw(j, "}");
}

/* Append the OTLP/JSON text of req to out. Returns 0, -ENOMEM or -EINVAL. */
static int otlp_encode_json(const pb_request *req, struct strbuf *out)
{
	struct jsonw j = { .sb = out };

	jsonw_raw(&j, "{");
	jsonw_key(&j, "resourceMetrics");
	jsonw_raw(&j, "[");
	for (size_t r = 0; r < req->n_resource_metrics; r++) {
		const pb_resource_metrics *rm = req->resource_metrics[r];

		jsonw_raw(&j, r ? ",{" : "{");
		jsonw_key(&j, "resource");
		jsonw_raw(&j, "{");
		jsonw_attributes(&j, rm->resource->attributes, rm->resource->n_attributes);
		jsonw_raw(&j, "},");
		jsonw_key(&j, "scopeMetrics");
		jsonw_raw(&j, "[");
		for (size_t s = 0; s < rm->n_scope_metrics; s++) {
			const pb_scope_metrics *sm = rm->scope_metrics[s];

			jsonw_raw(&j, s ? ",{" : "{");
			jsonw_key(&j, "scope");
			jsonw_raw(&j, "{");
			jsonw_key(&j, "name");
			jsonw_str(&j, sm->scope->name);
			jsonw_raw(&j, ",");
			jsonw_key(&j, "version");
			jsonw_str(&j, sm->scope->version);
			jsonw_raw(&j, "},");
			jsonw_key(&j, "metrics");
			jsonw_raw(&j, "[");
			for (size_t m = 0; m < sm->n_metrics; m++) {
				if (m)
					jsonw_raw(&j, ",");
				j_metric(&j, sm->metrics[m]);
			}
			jsonw_raw(&j, "]}");
		}
		jsonw_raw(&j, "]}");
	}
	jsonw_raw(&j, "]}");
	return j.err;
}

int otlp_render(const struct registry *reg, enum otlp_protocol protocol, const char *host,
		uint64_t start_ns, uint64_t now_ns, uint8_t **body, size_t *len)
{
	struct arena a = { 0 };
	struct strbuf sb;
	pb_request *req;
	int err;

	*body = NULL;
	*len = 0;
	err = otlp_build_request(reg, &a, host, start_ns, now_ns, &req);
	if (!err && protocol == OTLP_HTTP_JSON) {
		strbuf_init(&sb);
		err = otlp_encode_json(req, &sb);
		if (err) {
			strbuf_free(&sb);
		} else {
			*body = (uint8_t *)sb.buf;
			*len = sb.len;
		}
	} else if (!err) {
		err = otlp_encode_protobuf(req, body, len);
	}
	arena_free(&a);
	return err;
}
