// SPDX-License-Identifier: MIT
/*
 * Unit tests for the OTLP exporter. Encoding: a small registry (a counter with
 * labels, a gauge, a histogram) is encoded and decoded again with protobuf-c's
 * own unpack, and written as OTLP/JSON and compared with the expected text;
 * gzip bodies inflate back. Policy: units and attribute names, the retry
 * table, Retry-After parsing, backoff bounds, and the retry bookkeeping. Over
 * loopback, with a small HTTP server thread and the test playing the main
 * loop: a delivered request (headers, gzip, body), errors that are not
 * retried, a slow backend (snapshots dropped, the loop never blocked), a
 * timeout and a refused connection. No root needed.
 *
 * The exporter sources are included (h2o style) to reach their statics.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>

#include "exporters/otlp.c"
#include "exporters/otlp_encode.c"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req_t;

#define T_START 1000000000ULL
#define T_NOW	2000000000ULL

/* ==== A small registry ==== */

static const double rtt_bounds[] = { 0.001, 0.01 };

static struct registry *small_registry(void)
{
	static const char *const dir_proto[] = { "direction", "protocol", NULL };
	struct registry *r = registry_new();
	struct metric_family *bw, *conns, *rtt;
	const uint64_t buckets[] = { 1, 2, 3 };

	assert_non_null(r);
	bw = registry_add(r, "gespann_connection_bandwidth_bytes_total", "Bytes.", METRIC_COUNTER,
			  dir_proto, NULL, 0);
	conns = registry_add(r, "gespann_open_connections", "Open.", METRIC_GAUGE, NULL, NULL, 0);
	rtt = registry_add(r, "gespann_rtt_seconds", "RTT.", METRIC_HISTOGRAM, NULL, rtt_bounds, 2);
	assert_non_null(bw);
	assert_non_null(conns);
	assert_non_null(rtt);
	assert_int_equal(registry_set(bw, (const char *const[]){ "sent", "tcp" }, 1000), 0);
	assert_int_equal(registry_set(bw, (const char *const[]){ "received", "udp" }, 20), 0);
	assert_int_equal(registry_set(conns, NULL, 2), 0);
	assert_int_equal(registry_set_histogram(rtt, NULL, buckets, 0.5), 0);
	return r;
}

/* ==== Decoding helpers ==== */

static const pb_metric *find_metric(const req_t *req, const char *name)
{
	const pb_scope_metrics *sm = req->resource_metrics[0]->scope_metrics[0];

	for (size_t i = 0; i < sm->n_metrics; i++) {
		if (!strcmp(sm->metrics[i]->name, name))
			return sm->metrics[i];
	}
	fail_msg("metric %s not in the request", name);
	return NULL;
}

/* Value of attribute key, or NULL. */
static const char *attr(pb_key_value *const *kvs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(kvs[i]->key, key)) {
			assert_int_equal(kvs[i]->value->value_case, PB_STRING_VALUE);
			return kvs[i]->value->string_value;
		}
	}
	return NULL;
}

static req_t *encode_decode(struct registry *r)
{
	struct arena a = { 0 };
	pb_request *req = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	req_t *back;

	assert_int_equal(otlp_build_request(r, &a, "testhost", T_START, T_NOW, &req), 0);
	assert_int_equal(otlp_encode_protobuf(req, &buf, &len), 0);
	arena_free(&a);
	back = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, len, buf);
	free(buf);
	assert_non_null(back);
	return back;
}

/* ==== Start times ==== */

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * A cumulative point starts when its series was created, not at the agent's
 * start: a counter series created an hour after start has counted since
 * then. Ground truth: the test's clock around the registry_set that created
 * it; the agent started an hour before.
 */
static void test_start_is_series_creation(void **state)
{
	static const double bounds[] = { 1 };
	const uint64_t buckets[] = { 1, 0 };
	struct registry *r = registry_new();
	struct metric_family *c, *h;
	const pb_metric *m;
	struct arena a = { 0 };
	pb_request *req = NULL;
	uint64_t start, t0, t1, now;

	(void)state;
	c = registry_add(r, "x_failures_total", "F.", METRIC_COUNTER, NULL, NULL, 0);
	h = registry_add(r, "x_rtt_seconds", "R.", METRIC_HISTOGRAM, NULL, bounds, 1);
	assert_true(c && h);
	t0 = wall_ns();
	start = t0 - 3600ULL * 1000000000;
	assert_int_equal(registry_set(c, NULL, 1), 0);
	assert_int_equal(registry_set_histogram(h, NULL, buckets, 0.5), 0);
	t1 = wall_ns();
	now = t1 + 1000000000;
	assert_int_equal(otlp_build_request(r, &a, "testhost", start, now, &req), 0);
	m = find_metric((const req_t *)req, "x_failures_total");
	assert_true(m->sum->data_points[0]->start_time_unix_nano >= t0);
	assert_true(m->sum->data_points[0]->start_time_unix_nano <= t1);
	m = find_metric((const req_t *)req, "x_rtt_seconds");
	assert_true(m->histogram->data_points[0]->start_time_unix_nano >= t0);
	assert_true(m->histogram->data_points[0]->start_time_unix_nano <= t1);
	arena_free(&a);
	registry_free(r);
}

/* ==== Encoding ==== */

static void test_protobuf_roundtrip(void **state)
{
	static const char *const events[] = { "type", "protocol", "reset_reason", NULL };
	static const char *const errno_l[] = { "errno", NULL };
	struct registry *r = small_registry();
	struct metric_family *ev, *fail;
	const pb_resource *res;
	const pb_scope_metrics *sm;
	const pb_metric *m;
	const pb_number_point *p;
	const pb_histogram_point *h;
	req_t *req;

	(void)state;
	/* an empty label value, and errno */
	ev = registry_add(r, "gespann_connection_events_total", "Events.", METRIC_COUNTER, events,
			  NULL, 0);
	fail = registry_add(r, "gespann_connection_failures_total", "Failures.", METRIC_COUNTER,
			    errno_l, NULL, 0);
	assert_true(ev && fail);
	assert_int_equal(registry_set(ev, (const char *const[]){ "open", "tcp", "" }, 7), 0);
	assert_int_equal(
		registry_set(ev, (const char *const[]){ "reset_sent", "tcp", "no_socket" }, 1), 0);
	assert_int_equal(registry_set(fail, (const char *const[]){ "ECONNREFUSED" }, 5), 0);

	req = encode_decode(r);
	assert_int_equal(req->n_resource_metrics, 1);

	/* resource and scope */
	res = req->resource_metrics[0]->resource;
	assert_non_null(res);
	assert_string_equal(attr(res->attributes, res->n_attributes, "service.name"), "gespann");
	assert_string_equal(attr(res->attributes, res->n_attributes, "service.version"),
			    GESPANN_VERSION);
	assert_string_equal(attr(res->attributes, res->n_attributes, "host.name"), "testhost");
	assert_string_equal(attr(res->attributes, res->n_attributes, "os.type"), "linux");
	assert_int_equal(req->resource_metrics[0]->n_scope_metrics, 1);
	sm = req->resource_metrics[0]->scope_metrics[0];
	assert_string_equal(sm->scope->name, "gespann");
	assert_int_equal(sm->n_metrics, 5);

	/* counter with renamed attributes: cumulative monotonic sum */
	m = find_metric(req, "gespann_connection_bandwidth_bytes_total");
	assert_string_equal(m->description, "Bytes.");
	assert_string_equal(m->unit, "By");
	assert_int_equal(m->data_case, PB_DATA_SUM);
	assert_int_equal(m->sum->aggregation_temporality, PB_CUMULATIVE);
	assert_true(m->sum->is_monotonic);
	assert_int_equal(m->sum->n_data_points, 2);
	p = m->sum->data_points[0];
	assert_int_equal(p->n_attributes, 2);
	assert_string_equal(attr(p->attributes, p->n_attributes, "network.io.direction"),
			    "transmit");
	assert_string_equal(attr(p->attributes, p->n_attributes, "network.transport"), "tcp");
	assert_null(attr(p->attributes, p->n_attributes, "direction"));
	assert_int_equal(p->start_time_unix_nano, T_START);
	assert_int_equal(p->time_unix_nano, T_NOW);
	assert_int_equal(p->value_case, PB_AS_DOUBLE);
	assert_true(p->as_double == 1000.0);
	p = m->sum->data_points[1];
	assert_string_equal(attr(p->attributes, p->n_attributes, "network.io.direction"),
			    "receive");
	assert_string_equal(attr(p->attributes, p->n_attributes, "network.transport"), "udp");
	assert_true(p->as_double == 20.0);

	/* gauge */
	m = find_metric(req, "gespann_open_connections");
	assert_string_equal(m->unit, "{connection}");
	assert_int_equal(m->data_case, PB_DATA_GAUGE);
	assert_int_equal(m->gauge->n_data_points, 1);
	p = m->gauge->data_points[0];
	assert_int_equal(p->n_attributes, 0);
	assert_int_equal(p->time_unix_nano, T_NOW);
	assert_true(p->as_double == 2.0);

	/* histogram: bounds in seconds, per-bucket counts, count and sum */
	m = find_metric(req, "gespann_rtt_seconds");
	assert_string_equal(m->unit, "s");
	assert_int_equal(m->data_case, PB_DATA_HISTOGRAM);
	assert_int_equal(m->histogram->aggregation_temporality, PB_CUMULATIVE);
	assert_int_equal(m->histogram->n_data_points, 1);
	h = m->histogram->data_points[0];
	assert_int_equal(h->start_time_unix_nano, T_START);
	assert_int_equal(h->time_unix_nano, T_NOW);
	assert_int_equal(h->count, 6);
	assert_int_equal(h->_sum_case, PB_HAS_SUM);
	assert_true(h->sum == 0.5);
	assert_int_equal(h->n_explicit_bounds, 2);
	assert_true(h->explicit_bounds[0] == 0.001 && h->explicit_bounds[1] == 0.01);
	assert_int_equal(h->n_bucket_counts, 3);
	assert_int_equal(h->bucket_counts[0], 1);
	assert_int_equal(h->bucket_counts[1], 2);
	assert_int_equal(h->bucket_counts[2], 3);

	/* empty label values are left out; the others keep their names */
	m = find_metric(req, "gespann_connection_events_total");
	assert_string_equal(m->unit, "1");
	assert_int_equal(m->sum->n_data_points, 2);
	p = m->sum->data_points[0];
	assert_int_equal(p->n_attributes, 2);
	assert_string_equal(attr(p->attributes, p->n_attributes, "type"), "open");
	assert_null(attr(p->attributes, p->n_attributes, "reset_reason"));
	p = m->sum->data_points[1];
	assert_int_equal(p->n_attributes, 3);
	assert_string_equal(attr(p->attributes, p->n_attributes, "reset_reason"), "no_socket");
	m = find_metric(req, "gespann_connection_failures_total");
	p = m->sum->data_points[0];
	assert_string_equal(attr(p->attributes, p->n_attributes, "error.type"), "ECONNREFUSED");
	assert_true(p->as_double == 5.0);

	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		req, NULL);
	registry_free(r);
}

#define KV(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"

static const char expected_json[] =
	"{\"resourceMetrics\":[{\"resource\":{\"attributes\":[" KV("service.name", "gespann") "," KV("service.version", GESPANN_VERSION) "," KV(
		"host.name",
		"testhost") "," KV("os.type",
				   "linux") "]},"
					    "\"scopeMetrics\":[{\"scope\":{\"name\":\"gespann\",\"version\":\"" GESPANN_VERSION
					    "\"},"
					    "\"metrics\":["
					    "{\"name\":\"gespann_connection_bandwidth_bytes_total\",\"description\":\"Bytes.\","
					    "\"unit\":\"By\",\"sum\":{\"dataPoints\":["
					    "{\"attributes\":[" KV("network.io.direction", "transmit") "," KV(
						    "network.transport",
						    "tcp") "],\"startTimeUnixNano\":\"1000000000\","
							   "\"timeUnixNano\":\"2000000000\",\"asDouble\":1000},"
							   "{\"attributes\":[" KV("network.io.direction", "receive") "," KV(
								   "network.transport",
								   "udp") "],\"startTimeUnixNano\":\"1000000000\","
									  "\"timeUnixNano\":\"2000000000\",\"asDouble\":20}"
									  "],\"aggregationTemporality\":2,\"isMonotonic\":true}},"
									  "{\"name\":\"gespann_open_connections\",\"description\":\"Open.\","
									  "\"unit\":\"{connection}\",\"gauge\":{\"dataPoints\":["
									  "{\"attributes\":[],\"timeUnixNano\":\"2000000000\",\"asDouble\":2}]}},"
									  "{\"name\":\"gespann_rtt_seconds\",\"description\":\"RTT.\",\"unit\":\"s\","
									  "\"histogram\":{\"dataPoints\":[{\"attributes\":[],\"startTimeUnixNano\":\"1000000000\","
									  "\"timeUnixNano\":\"2000000000\",\"count\":\"6\",\"sum\":0.5,"
									  "\"bucketCounts\":[\"1\",\"2\",\"3\"],\"explicitBounds\":[0.001,0.01]}],"
									  "\"aggregationTemporality\":2}}"
									  "]}]}]}";

static void test_json(void **state)
{
	struct registry *r = small_registry();
	struct arena a = { 0 };
	pb_request *req = NULL;
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb);
	assert_int_equal(otlp_build_request(r, &a, "testhost", T_START, T_NOW, &req), 0);
	assert_int_equal(otlp_encode_json(req, &sb), 0);
	assert_string_equal(sb.buf, expected_json);
	arena_free(&a);
	strbuf_free(&sb);
	registry_free(r);
}

static void test_json_strings_and_numbers(void **state)
{
	struct strbuf sb;
	struct jsonw j = { .sb = &sb };

	(void)state;
	strbuf_init(&sb);
	jsonw_str(&j, "a\"b\\c\nd\x01");
	jsonw_raw(&j, " ");
	j_double(&j, 0.1);
	jsonw_raw(&j, " ");
	j_double(&j, 1.0 / 3.0);
	jsonw_raw(&j, " ");
	j_double(&j, NAN);
	jsonw_raw(&j, " ");
	j_double(&j, -INFINITY);
	jsonw_raw(&j, " ");
	jsonw_u64(&j, UINT64_MAX);
	assert_int_equal(j.err, 0);
	assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\u000ad\\u0001\" 0.1 0.33333333333333331 "
				    "\"NaN\" \"-Infinity\" \"18446744073709551615\"");
	strbuf_free(&sb);
}

static void test_gzip_roundtrip(void **state)
{
	struct registry *r = small_registry();
	struct arena a = { 0 };
	pb_request *req = NULL;
	uint8_t *raw = NULL, *z = NULL, out[65536];
	size_t raw_len = 0, z_len = 0;
	z_stream zs;

	(void)state;
	assert_int_equal(otlp_build_request(r, &a, "testhost", T_START, T_NOW, &req), 0);
	assert_int_equal(otlp_encode_protobuf(req, &raw, &raw_len), 0);
	assert_int_equal(otlp_gzip(raw, raw_len, &z, &z_len), 0);
	assert_true(z_len > 18 && z[0] == 0x1f && z[1] == 0x8b); /* the gzip magic */
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = z;
	zs.avail_in = (uInt)z_len;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, raw_len);
	assert_memory_equal(out, raw, raw_len);
	inflateEnd(&zs);
	free(raw);
	free(z);
	arena_free(&a);
	registry_free(r);
}

/* ==== Naming ==== */

static void test_units(void **state)
{
	static const struct {
		const char *name, *unit;
	} cases[] = {
		{ "gespann_bytes_sent_total", "By" },
		{ "gespann_connection_bandwidth_bytes_total", "By" },
		{ "gespann_process_resident_memory_bytes", "By" },
		{ "gespann_rtt_seconds", "s" },
		{ "gespann_connect_duration_seconds", "s" },
		{ "gespann_process_cpu_seconds_total", "s" },
		{ "gespann_avg_connection_duration_ms", "ms" },
		{ "gespann_avg_rtt_microseconds", "us" },
		{ "gespann_open_connections", "{connection}" },
		{ "gespann_closed_connections_total", "{connection}" },
		{ "gespann_tcp_connections_total", "{connection}" },
		{ "gespann_connection_events_total", "1" },
		{ "gespann_events_lost_total", "1" },
		{ "gespann_build_info", "1" },
		{ "gespann_bytesx_total", "1" }, /* no row: plain count */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *unit = otlp_unit(catalogue_find(cases[i].name));

		if (strcmp(unit, cases[i].unit))
			fail_msg("unit of %s: expected %s, got %s", cases[i].name, cases[i].unit,
				 unit);
	}
}

static void test_attribute_names(void **state)
{
	(void)state;
	assert_string_equal(otlp_attr_key("protocol"), "network.transport");
	assert_string_equal(otlp_attr_key("direction"), "network.io.direction");
	assert_string_equal(otlp_attr_key("errno"), "error.type");
	assert_string_equal(otlp_attr_key("reset_reason"), "reset_reason");
	assert_string_equal(otlp_attr_key("adapter"), "adapter");
	assert_string_equal(otlp_attr_value("direction", "sent"), "transmit");
	assert_string_equal(otlp_attr_value("direction", "received"), "receive");
	assert_string_equal(otlp_attr_value("protocol", "tcp"), "tcp");
	assert_string_equal(otlp_attr_value("type", "sent"), "sent");
}

/* ==== Retry policy ==== */

static void test_classify(void **state)
{
	static const struct {
		CURLcode rc;
		long status;
		enum otlp_outcome want;
	} cases[] = {
		{ CURLE_OK, 200, OTLP_DELIVERED },
		{ CURLE_OK, 202, OTLP_DELIVERED },
		{ CURLE_OK, 204, OTLP_DELIVERED },
		{ CURLE_OK, 429, OTLP_RETRY },
		{ CURLE_OK, 502, OTLP_RETRY },
		{ CURLE_OK, 503, OTLP_RETRY },
		{ CURLE_OK, 504, OTLP_RETRY },
		{ CURLE_OK, 301, OTLP_FAILED },
		{ CURLE_OK, 400, OTLP_FAILED },
		{ CURLE_OK, 401, OTLP_FAILED },
		{ CURLE_OK, 404, OTLP_FAILED },
		{ CURLE_OK, 413, OTLP_FAILED },
		{ CURLE_OK, 500, OTLP_FAILED },
		{ CURLE_OK, 501, OTLP_FAILED },
		{ CURLE_OK, 505, OTLP_FAILED },
		{ CURLE_COULDNT_CONNECT, 0, OTLP_RETRY },
		{ CURLE_OPERATION_TIMEDOUT, 0, OTLP_RETRY },
		{ CURLE_COULDNT_RESOLVE_HOST, 0, OTLP_RETRY },
		{ CURLE_RECV_ERROR, 0, OTLP_RETRY },
		{ CURLE_SEND_ERROR, 0, OTLP_RETRY },
		{ CURLE_GOT_NOTHING, 0, OTLP_RETRY },
		{ CURLE_URL_MALFORMAT, 0, OTLP_FAILED },
		{ CURLE_UNSUPPORTED_PROTOCOL, 0, OTLP_FAILED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum otlp_outcome got = otlp_classify(cases[i].rc, cases[i].status);

		if (got != cases[i].want)
			fail_msg("curl %d, HTTP %ld: expected %d, got %d", (int)cases[i].rc,
				 cases[i].status, cases[i].want, got);
	}
}

static void test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC 9110 example */
	const time_t now = 784111777;

	(void)state;
	assert_int_equal(otlp_retry_after_ns("1", now), 1 * NS_PER_SEC);
	assert_int_equal(otlp_retry_after_ns(" 120 ", now), 120 * NS_PER_SEC);
	assert_int_equal(otlp_retry_after_ns("0", now), 1 * NS_PER_SEC); /* floor */
	assert_int_equal(otlp_retry_after_ns("999999999", now), 24 * 3600 * NS_PER_SEC);
	assert_int_equal(otlp_retry_after_ns("Sun, 06 Nov 1994 08:49:47 GMT", now),
			 10 * NS_PER_SEC);
	assert_int_equal(otlp_retry_after_ns("Sun, 06 Nov 1994 08:49:00 GMT", now),
			 1 * NS_PER_SEC); /* in the past */
	assert_int_equal(otlp_retry_after_ns(NULL, now), -1);
	assert_int_equal(otlp_retry_after_ns("", now), -1);
	assert_int_equal(otlp_retry_after_ns("5x", now), -1);
	assert_int_equal(otlp_retry_after_ns("-5", now), -1);
	assert_int_equal(otlp_retry_after_ns("soon", now), -1);
}

static void test_backoff(void **state)
{
	static const uint32_t rnds[] = { 0, 1, 0x80000000u, UINT32_MAX };
	uint64_t prev_lo = 0;

	(void)state;
	for (unsigned int attempt = 1; attempt <= 12; attempt++) {
		uint64_t lo = otlp_backoff_ns(attempt, 0), base;

		base = attempt <= 5 ? (NS_PER_SEC << (attempt - 1)) : 30 * NS_PER_SEC;
		if (base > 30 * NS_PER_SEC)
			base = 30 * NS_PER_SEC;
		/* without jitter: 1, 2, 4, 8, 16, then 30 s */
		assert_int_equal(lo, base);
		assert_true(lo >= prev_lo);
		prev_lo = lo;
		for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			uint64_t d = otlp_backoff_ns(attempt, rnds[i]);

			if (d < NS_PER_SEC || d > 30 * NS_PER_SEC || d < base ||
			    d > base + base / 2)
				fail_msg("attempt %u rnd %u: %" PRIu64 " ns out of bounds", attempt,
					 rnds[i], d);
		}
	}
	/* jitter spreads the first retry over [1 s, 1.5 s) */
	assert_true(otlp_backoff_ns(1, UINT32_MAX) > 1400 * NS_PER_MS);
	assert_true(otlp_backoff_ns(1, UINT32_MAX) < 1500 * NS_PER_MS);
	assert_int_equal(otlp_backoff_ns(0, 0), NS_PER_SEC);
}

/* ==== The exporter ==== */

static struct otlp_exporter *start_exporter(struct registry *r, const char *endpoint,
					    uint64_t interval_ms, uint64_t timeout_ms, int gzip,
					    enum otlp_protocol proto)
{
	static struct adapter_config cfg;
	struct exporter_env env = { .reg = r, .name = "otlp" };

	memset(&cfg, 0, sizeof(cfg));
	cfg.type = ADAPTER_OTLP;
	snprintf(cfg.endpoint, sizeof(cfg.endpoint), "%s", endpoint);
	cfg.protocol = proto;
	cfg.interval_ns = interval_ms * NS_PER_MS;
	cfg.timeout_ns = timeout_ms * NS_PER_MS;
	cfg.gzip = gzip;
	snprintf(cfg.headers[0][0], sizeof(cfg.headers[0][0]), "X-Test");
	snprintf(cfg.headers[0][1], sizeof(cfg.headers[0][1]), "yes");
	snprintf(cfg.headers[1][0], sizeof(cfg.headers[1][0]), "Content-Type");
	snprintf(cfg.headers[1][1], sizeof(cfg.headers[1][1]), "text/plain");
	cfg.n_headers = 2;
	return otlp_exporter_ops.start(&cfg, &env);
}

static void test_retry_bookkeeping(void **state)
{
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	uint64_t now;

	(void)state;
	e = start_exporter(r, "http://127.0.0.1:9/v1/metrics", 60000, 1000, 0, OTLP_HTTP_PROTOBUF);
	assert_non_null(e);
	now = mono_ns();
	e->next_export_ns = now + 10 * NS_PER_SEC;
	e->req[OTLP_SIG_METRICS].attempts = 1;

	/* 503 with Retry-After: retried after it */
	snprintf(e->req[OTLP_SIG_METRICS].retry_after, sizeof(e->req[OTLP_SIG_METRICS].retry_after),
		 "2");
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_OK, 503, now);
	assert_true(e->req[OTLP_SIG_METRICS].retry_pending);
	assert_int_equal(e->req[OTLP_SIG_METRICS].retry_at_ns, now + 2 * NS_PER_SEC);
	assert_int_equal(e->errors, 1);
	assert_int_equal(e->dropped, 0);

	/* 429 without it: the backoff */
	e->req[OTLP_SIG_METRICS].retry_after[0] = '\0';
	e->req[OTLP_SIG_METRICS].retry_pending = false;
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_OK, 429, now);
	assert_true(e->req[OTLP_SIG_METRICS].retry_pending);
	assert_true(e->req[OTLP_SIG_METRICS].retry_at_ns >= now + NS_PER_SEC &&
		    e->req[OTLP_SIG_METRICS].retry_at_ns < now + 1500 * NS_PER_MS);

	/* a refused connection is retried like a 503 */
	e->req[OTLP_SIG_METRICS].retry_pending = false;
	e->req[OTLP_SIG_METRICS].attempts = 3;
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_COULDNT_CONNECT, 0, now);
	assert_true(e->req[OTLP_SIG_METRICS].retry_pending);
	assert_true(e->req[OTLP_SIG_METRICS].retry_at_ns >= now + 4 * NS_PER_SEC &&
		    e->req[OTLP_SIG_METRICS].retry_at_ns < now + 6 * NS_PER_SEC);
	assert_int_equal(e->errors, 3);

	/* a retry that would come after the next snapshot: dropped instead */
	e->req[OTLP_SIG_METRICS].retry_pending = false;
	snprintf(e->req[OTLP_SIG_METRICS].retry_after, sizeof(e->req[OTLP_SIG_METRICS].retry_after),
		 "60");
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_OK, 503, now);
	assert_false(e->req[OTLP_SIG_METRICS].retry_pending);
	assert_int_equal(e->dropped, 1);

	/* 400 and 500: errors, never retried */
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_OK, 400, now);
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_OK, 500, now);
	assert_false(e->req[OTLP_SIG_METRICS].retry_pending);
	assert_int_equal(e->errors, 6);
	assert_int_equal(e->dropped, 3);

	/* success */
	finish_request(e, &e->req[OTLP_SIG_METRICS], CURLE_OK, 200, now);
	assert_int_equal(e->delivered, 1);
	assert_int_equal(e->failures_since_ok, 0);
	assert_int_equal(otlp_exporter_ops.errors(e), 6);
	assert_int_equal(otlp_exporter_ops.dropped(e), 3);

	/* a snapshot that supersedes a pending retry drops it */
	e->req[OTLP_SIG_METRICS].retry_pending = true;
	e->req[OTLP_SIG_METRICS].in_flight = false;
	export_due(e, now);
	assert_int_equal(e->dropped, 4);
	assert_true(e->req[OTLP_SIG_METRICS].in_flight);
	otlp_exporter_ops.stop(e); /* aborts the request in flight */
	registry_free(r);
}

static void test_start_rejects_bad_endpoint(void **state)
{
	struct registry *r = registry_new();

	(void)state;
	assert_null(start_exporter(r, "ftp://127.0.0.1/x", 1000, 1000, 0, OTLP_HTTP_PROTOBUF));
	assert_null(start_exporter(r, "not a url", 1000, 1000, 0, OTLP_HTTP_PROTOBUF));
	otlp_exporter_ops.stop(NULL);
	assert_int_equal(otlp_exporter_ops.errors(NULL), 0);
	assert_int_equal(otlp_exporter_ops.fd(NULL), -1);
	registry_free(r);
}

/* ==== Loopback: a small HTTP server thread ==== */

#define SRV_MAX_REQ 32

struct srv_action {
	int status;
	int delay_ms; /* before answering; -1: never (until the server stops) */
};

struct srv {
	int fd;
	uint16_t port;
	pthread_t thread;
	const struct srv_action *actions; /* per request; 200 after the last */
	size_t n_actions;
	atomic_int n_requests;
	atomic_bool stop;
	int64_t at_ms[SRV_MAX_REQ];
	char head0[2048];    /* the first request's head */
	uint8_t body0[8192]; /* and body */
	size_t body0_len;
};

static int64_t now_ms(void)
{
	return (int64_t)(mono_ns() / NS_PER_MS);
}

/* Wait ms (-1: until the server stops), or until the client gives up. */
static void srv_sleep(struct srv *s, int c, int ms)
{
	int64_t end = now_ms() + (ms < 0 ? 3600000 : ms);

	while (now_ms() < end && !atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = c, .events = POLLRDHUP };

		if (poll(&pfd, 1, 2) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return;
	}
}

static void srv_handle(struct srv *s, int c)
{
	char buf[16384], resp[128];
	size_t off = 0, need;
	char *end, *cl;
	int idx, status = 200, delay = 0;
	ssize_t k;

	for (;;) {
		k = recv(c, buf + off, sizeof(buf) - 1 - off, 0);
		if (k <= 0)
			return;
		off += (size_t)k;
		buf[off] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (off == sizeof(buf) - 1)
			return;
	}
	cl = strcasestr(buf, "\r\ncontent-length:");
	need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
	while (off < need && off < sizeof(buf) - 1) {
		k = recv(c, buf + off, sizeof(buf) - 1 - off, 0);
		if (k <= 0)
			return;
		off += (size_t)k;
	}
	idx = atomic_load(&s->n_requests);
	if (idx < SRV_MAX_REQ)
		s->at_ms[idx] = now_ms();
	if (idx == 0) {
		size_t hl = (size_t)(end + 4 - buf);

		snprintf(s->head0, sizeof(s->head0), "%.*s", (int)hl, buf);
		s->body0_len = off - hl < sizeof(s->body0) ? off - hl : sizeof(s->body0);
		memcpy(s->body0, buf + hl, s->body0_len);
	}
	atomic_fetch_add(&s->n_requests, 1);
	if ((size_t)idx < s->n_actions) {
		status = s->actions[idx].status;
		delay = s->actions[idx].delay_ms;
	}
	srv_sleep(s, c, delay);
	if (atomic_load(&s->stop))
		return;
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
	send(c, resp, strlen(resp), MSG_NOSIGNAL);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		srv_handle(s, c);
		close(c);
	}
	return NULL;
}

static void srv_start(struct srv *s, const struct srv_action *actions, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->actions = actions;
	s->n_actions = n;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/*
 * Play the main loop for the exporter until done() or ms have passed; the
 * longest run() call is kept in *max_run_ms (the loop must never block).
 */
static int pump(struct otlp_exporter *e, bool (*done)(struct otlp_exporter *, struct srv *),
		struct srv *s, int ms, int64_t *max_run_ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t deadline = now_ms() + ms;
	int ep, ret = -ETIMEDOUT;

	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, otlp_exporter_ops.fd(e), &ev), 0);
	while (now_ms() < deadline) {
		int64_t t0;
		int timeout = otlp_exporter_ops.timeout_ms(e);

		if (done && done(e, s)) {
			ret = 0;
			break;
		}
		if (timeout < 0 || timeout > 20)
			timeout = 20;
		epoll_wait(ep, &ev, 1, timeout);
		t0 = now_ms();
		otlp_exporter_ops.run(e);
		if (max_run_ms && now_ms() - t0 > *max_run_ms)
			*max_run_ms = now_ms() - t0;
	}
	close(ep);
	return done ? ret : 0;
}

static char *endpoint_of(struct srv *s, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u/v1/metrics", s->port);
	return buf;
}

static bool one_delivered(struct otlp_exporter *e, struct srv *s)
{
	(void)s;
	return e->delivered >= 1;
}

static void test_loopback_delivered(void **state)
{
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	uint8_t out[65536];
	char url[64];
	struct srv s;
	z_stream zs;
	req_t *req;

	(void)state;
	srv_start(&s, NULL, 0);
	e = start_exporter(r, endpoint_of(&s, url, sizeof(url)), 50, 2000, 1, OTLP_HTTP_PROTOBUF);
	assert_non_null(e);
	assert_int_equal(pump(e, one_delivered, &s, 3000, NULL), 0);
	assert_int_equal(e->errors, 0);
	assert_int_equal(e->dropped, 0);
	assert_non_null(strstr(s.head0, "POST /v1/metrics HTTP/1.1\r\n"));
	assert_non_null(strstr(s.head0, "\r\nContent-Type: application/x-protobuf\r\n"));
	assert_non_null(strstr(s.head0, "\r\nContent-Encoding: gzip\r\n"));
	assert_non_null(strstr(s.head0, "\r\nX-Test: yes\r\n"));
	assert_null(strstr(s.head0, "text/plain")); /* a reserved header is not overridden */
	assert_null(strstr(s.head0, "Expect:"));

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = s.body0;
	zs.avail_in = (uInt)s.body0_len;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	req = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, zs.total_out, out);
	inflateEnd(&zs);
	assert_non_null(req);
	assert_int_equal(find_metric(req, "gespann_open_connections")->data_case, PB_DATA_GAUGE);
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		req, NULL);
	otlp_exporter_ops.stop(e);
	srv_stop(&s);
	registry_free(r);
}

static void test_loopback_json(void **state)
{
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	char url[64];
	struct srv s;

	(void)state;
	srv_start(&s, NULL, 0);
	e = start_exporter(r, endpoint_of(&s, url, sizeof(url)), 50, 2000, 0, OTLP_HTTP_JSON);
	assert_non_null(e);
	assert_int_equal(pump(e, one_delivered, &s, 3000, NULL), 0);
	assert_non_null(strstr(s.head0, "\r\nContent-Type: application/json\r\n"));
	assert_null(strstr(s.head0, "Content-Encoding"));
	assert_true(s.body0_len > 20 && !memcmp(s.body0, "{\"resourceMetrics\":[", 20));
	otlp_exporter_ops.stop(e);
	srv_stop(&s);
	registry_free(r);
}

static bool three_requests(struct otlp_exporter *e, struct srv *s)
{
	return atomic_load(&s->n_requests) >= 3 && !e->req[OTLP_SIG_METRICS].in_flight;
}

static void test_loopback_errors_not_retried(void **state)
{
	static const struct srv_action actions[] = { { 400, 0 }, { 500, 0 } };
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	char url[64];
	struct srv s;

	(void)state;
	srv_start(&s, actions, 2);
	e = start_exporter(r, endpoint_of(&s, url, sizeof(url)), 150, 2000, 0, OTLP_HTTP_PROTOBUF);
	assert_non_null(e);
	assert_int_equal(pump(e, three_requests, &s, 3000, NULL), 0);
	assert_int_equal(e->errors, 2);
	assert_int_equal(e->dropped, 2);
	assert_int_equal(e->delivered, 1);
	/* one request per interval: the failures were not retried at once */
	if (s.at_ms[1] - s.at_ms[0] < 100 || s.at_ms[2] - s.at_ms[1] < 100)
		fail_msg("requests %" PRId64 " and %" PRId64 " ms apart, expected about 150",
			 s.at_ms[1] - s.at_ms[0], s.at_ms[2] - s.at_ms[1]);
	otlp_exporter_ops.stop(e);
	srv_stop(&s);
	registry_free(r);
}

static void test_loopback_slow_backend(void **state)
{
	static const struct srv_action actions[] = { { 200, 450 } };
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	int64_t max_run = 0;
	char url[64];
	struct srv s;

	(void)state;
	srv_start(&s, actions, 1);
	e = start_exporter(r, endpoint_of(&s, url, sizeof(url)), 100, 2000, 0, OTLP_HTTP_PROTOBUF);
	assert_non_null(e);
	assert_int_equal(pump(e, one_delivered, &s, 3000, &max_run), 0);
	/* due at 200, 300, 400, 500 ms while the first waited 450 ms: 3 or 4 dropped */
	if (e->dropped < 3 || e->dropped > 4)
		fail_msg("dropped: expected 3 or 4, got %" PRIu64, e->dropped);
	assert_int_equal(e->errors, 0);
	assert_int_equal(atomic_load(&s.n_requests), 1); /* at most one in flight */
	if (max_run > 50)
		fail_msg("run() took %" PRId64 " ms: it must not block", max_run);
	otlp_exporter_ops.stop(e);
	srv_stop(&s);
	registry_free(r);
}

static bool two_requests_one_delivered(struct otlp_exporter *e, struct srv *s)
{
	return atomic_load(&s->n_requests) >= 2 && e->delivered >= 1;
}

static void test_loopback_timeout(void **state)
{
	static const struct srv_action actions[] = { { 200, -1 } };
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	int64_t max_run = 0;
	char url[64];
	struct srv s;

	(void)state;
	srv_start(&s, actions, 1);
	/* timeout 150 ms; the 1 s backoff would end after the next snapshot */
	e = start_exporter(r, endpoint_of(&s, url, sizeof(url)), 300, 150, 0, OTLP_HTTP_PROTOBUF);
	assert_non_null(e);
	assert_int_equal(pump(e, two_requests_one_delivered, &s, 3000, &max_run), 0);
	assert_int_equal(e->errors, 1);
	assert_int_equal(e->dropped, 1);
	if (max_run > 50)
		fail_msg("run() took %" PRId64 " ms: it must not block", max_run);
	otlp_exporter_ops.stop(e);
	srv_stop(&s);
	registry_free(r);
}

static void test_loopback_refused(void **state)
{
	struct registry *r = small_registry();
	struct otlp_exporter *e;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char url[64];
	int fd;

	(void)state;
	/* a port that was free a moment ago and has no listener */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/metrics", ntohs(a.sin_port));
	e = start_exporter(r, url, 100, 1000, 0, OTLP_HTTP_PROTOBUF);
	assert_non_null(e);
	pump(e, NULL, NULL, 350, NULL);
	close(fd);
	/* due at 100, 200, 300 ms: each refused, its retry replaced by the next */
	if (e->errors < 2 || e->errors > 3)
		fail_msg("errors: expected 2 or 3, got %" PRIu64, e->errors);
	assert_true(e->dropped >= e->errors - 1 && e->dropped <= e->errors);
	assert_int_equal(e->delivered, 0);
	otlp_exporter_ops.stop(e);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protobuf_roundtrip),
		cmocka_unit_test(test_start_is_series_creation),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_strings_and_numbers),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_attribute_names),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry_bookkeeping),
		cmocka_unit_test(test_start_rejects_bad_endpoint),
		cmocka_unit_test(test_loopback_delivered),
		cmocka_unit_test(test_loopback_json),
		cmocka_unit_test(test_loopback_errors_not_retried),
		cmocka_unit_test(test_loopback_slow_backend),
		cmocka_unit_test(test_loopback_timeout),
		cmocka_unit_test(test_loopback_refused),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
