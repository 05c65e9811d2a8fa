// SPDX-License-Identifier: MIT
/*
 * Unit tests for the Prometheus remote write exporter. Encoding: a small
 * registry (a labelled counter with an empty label, a gauge, a labelled
 * histogram) is rendered, snappy-compressed, uncompressed with libsnappy's
 * own snappy_uncompress and unpacked with protobuf-c: names, labels sorted
 * by name, external labels (a series' own label wins), histogram series
 * (cumulative buckets, le as /metrics writes it, +Inf, _sum, _count),
 * values, timestamps and metadata; then every family of the catalogue,
 * whose series must be exactly the sample lines of /metrics. The queue:
 * bounded in count and bytes, the oldest not in flight dropped and counted,
 * retries keep the head and back off, other answers drop it. No root, no
 * network.
 *
 * The exporter sources are included (h2o style) to reach their statics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exporters/httppush.c"
#include "exporters/remote_write.c"
#include "exporters/remote_write_encode.c"

#define NOW_MS 1700000000123LL

static const double rtt_bounds[] = { 0.001, 0.25, 10, 1e6 };

static struct registry *small_registry(void)
{
	static const char *const dir_proto[] = { "protocol", "direction", "zone", NULL };
	static const char *const role[] = { "role", NULL };
	struct registry *r = registry_new();
	struct metric_family *bytes, *open, *rtt;
	const uint64_t buckets[] = { 1, 2, 3, 0, 4 };

	assert_non_null(r);
	bytes = registry_add(r, "gespann_bytes_total", "Bytes.", METRIC_COUNTER, dir_proto, NULL,
			     0);
	open = registry_add(r, "gespann_open_connections", "Open.", METRIC_GAUGE, NULL, NULL, 0);
	rtt = registry_add(r, "gespann_rtt_seconds", "RTT.", METRIC_HISTOGRAM, role, rtt_bounds, 4);
	assert_non_null(bytes);
	assert_non_null(open);
	assert_non_null(rtt);
	assert_int_equal(registry_set(bytes, (const char *const[]){ "tcp", "sent", "" }, 1000), 0);
	assert_int_equal(registry_set(bytes, (const char *const[]){ "udp", "received", "b" }, 20.5),
			 0);
	assert_int_equal(registry_set(open, NULL, 2), 0);
	assert_int_equal(
		registry_set_histogram(rtt, (const char *const[]){ "client" }, buckets, 0.5), 0);
	return r;
}

/* ==== Decoding ==== */

/* body (snappy) -> WriteRequest, checking the round trip on the way. */
static Prometheus__WriteRequest *decode(const uint8_t *z, size_t z_len, const uint8_t *raw,
					size_t raw_len)
{
	size_t n = 0;
	char *out;
	Prometheus__WriteRequest *req;

	assert_int_equal(snappy_validate_compressed_buffer((const char *)z, z_len), SNAPPY_OK);
	assert_int_equal(snappy_uncompressed_length((const char *)z, z_len, &n), SNAPPY_OK);
	if (n != raw_len)
		fail_msg("uncompressed length: expected %zu, got %zu", raw_len, n);
	out = malloc(n ? n : 1);
	assert_non_null(out);
	assert_int_equal(snappy_uncompress((const char *)z, z_len, out, &n), SNAPPY_OK);
	if (n != raw_len || memcmp(out, raw, n))
		fail_msg("snappy round trip: the bytes differ");
	req = prometheus__write_request__unpack(NULL, n, (const uint8_t *)out);
	free(out);
	assert_non_null(req);
	return req;
}

static const char *label(const Prometheus__TimeSeries *ts, const char *name)
{
	for (size_t i = 0; i < ts->n_labels; i++) {
		if (!strcmp(ts->labels[i]->name, name))
			return ts->labels[i]->value;
	}
	return NULL;
}

/* "name{a=\"x\",b=\"y\"}" of a series, labels in the order sent, __name__ left out. */
static void series_text(const Prometheus__TimeSeries *ts, char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "%s{", label(ts, "__name__"));

	for (size_t i = 0; i < ts->n_labels && o < size; i++) {
		if (!strcmp(ts->labels[i]->name, "__name__"))
			continue;
		o += (size_t)snprintf(buf + o, size - o, "%s%s=\"%s\"",
				      buf[o - 1] == '{' ? "" : ",", ts->labels[i]->name,
				      ts->labels[i]->value);
	}
	if (o < size)
		snprintf(buf + o, size - o, "}");
}

static void check_sorted(const Prometheus__TimeSeries *ts)
{
	char text[512];

	series_text(ts, text, sizeof(text));
	for (size_t i = 1; i < ts->n_labels; i++) {
		if (strcmp(ts->labels[i - 1]->name, ts->labels[i]->name) >= 0)
			fail_msg("%s: labels not sorted by name: %s before %s", text,
				 ts->labels[i - 1]->name, ts->labels[i]->name);
	}
}

/* ==== Encoding ==== */

static void test_encode(void **state)
{
	static const char *const ext[][2] = { { "cluster", "eu1" }, { "direction", "ext" } };
	/* what must be sent, in order: text form (labels sorted) and value */
	static const struct {
		const char *text;
		double value;
	} want[] = {
		{ "gespann_bytes_total{cluster=\"eu1\",direction=\"sent\",protocol=\"tcp\"}",
		  1000 },
		{ "gespann_bytes_total{cluster=\"eu1\",direction=\"received\",protocol=\"udp\","
		  "zone=\"b\"}",
		  20.5 },
		{ "gespann_open_connections{cluster=\"eu1\",direction=\"ext\"}", 2 },
		{ "gespann_rtt_seconds_bucket{cluster=\"eu1\",direction=\"ext\",le=\"0.001\","
		  "role=\"client\"}",
		  1 },
		{ "gespann_rtt_seconds_bucket{cluster=\"eu1\",direction=\"ext\",le=\"0.25\","
		  "role=\"client\"}",
		  3 },
		{ "gespann_rtt_seconds_bucket{cluster=\"eu1\",direction=\"ext\",le=\"10\","
		  "role=\"client\"}",
		  6 },
		{ "gespann_rtt_seconds_bucket{cluster=\"eu1\",direction=\"ext\",le=\"1e+06\","
		  "role=\"client\"}",
		  6 },
		{ "gespann_rtt_seconds_bucket{cluster=\"eu1\",direction=\"ext\",le=\"+Inf\","
		  "role=\"client\"}",
		  10 },
		{ "gespann_rtt_seconds_sum{cluster=\"eu1\",direction=\"ext\",role=\"client\"}",
		  0.5 },
		{ "gespann_rtt_seconds_count{cluster=\"eu1\",direction=\"ext\",role=\"client\"}",
		  10 },
	};
	struct registry *r = small_registry();
	uint8_t *raw = NULL, *z = NULL;
	size_t raw_len = 0, z_len = 0;
	Prometheus__WriteRequest *req;
	struct strbuf prom;
	char text[512], le_text[64];

	assert_int_equal(remote_write_render(r, ext, 2, NOW_MS, &raw, &raw_len), 0);
	assert_int_equal(remote_write_snappy(raw, raw_len, &z, &z_len), 0);
	req = decode(z, z_len, raw, raw_len);
	if (req->n_timeseries != sizeof(want) / sizeof(want[0]))
		fail_msg("timeseries: expected %zu, got %zu", sizeof(want) / sizeof(want[0]),
			 req->n_timeseries);
	for (size_t i = 0; i < req->n_timeseries; i++) {
		const Prometheus__TimeSeries *ts = req->timeseries[i];

		check_sorted(ts);
		assert_string_equal(ts->labels[0]->name, "__name__");
		series_text(ts, text, sizeof(text));
		if (strcmp(text, want[i].text))
			fail_msg("series %zu:\n  expected %s\n  got      %s", i, want[i].text,
				 text);
		assert_int_equal(ts->n_samples, 1);
		if (ts->samples[0]->value != want[i].value)
			fail_msg("%s: expected %.17g, got %.17g", text, want[i].value,
				 ts->samples[0]->value);
		if (ts->samples[0]->timestamp != NOW_MS)
			fail_msg("%s: timestamp: expected %lld, got %lld", text, NOW_MS,
				 (long long)ts->samples[0]->timestamp);
	}
	/* every le sent is the one /metrics shows */
	strbuf_init(&prom);
	assert_int_equal(registry_render_prometheus(r, &prom), 0);
	for (size_t i = 3; i <= 7; i++) {
		snprintf(le_text, sizeof(le_text), "le=\"%s\"", label(req->timeseries[i], "le"));
		if (!strstr(prom.buf, le_text))
			fail_msg("%s is not in /metrics:\n%s", le_text, prom.buf);
	}
	/* metadata: one per family */
	assert_int_equal(req->n_metadata, 3);
	assert_string_equal(req->metadata[0]->metric_family_name, "gespann_bytes_total");
	assert_int_equal(req->metadata[0]->type, PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER);
	assert_string_equal(req->metadata[0]->help, "Bytes.");
	assert_int_equal(req->metadata[1]->type, PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE);
	assert_string_equal(req->metadata[2]->metric_family_name, "gespann_rtt_seconds");
	assert_int_equal(req->metadata[2]->type,
			 PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM);
	strbuf_free(&prom);
	prometheus__write_request__free_unpacked(req, NULL);
	free(raw);
	free(z);
	registry_free(r);
}

/* No external labels, an empty registry; catalogue units as Prometheus words. */
static void test_encode_edges(void **state)
{
	struct registry *r = registry_new();
	uint8_t *raw = NULL, *z = NULL;
	size_t raw_len = 0, z_len = 0;
	Prometheus__WriteRequest *req;
	struct metric_def def = { .unit = "By" };

	assert_non_null(r);
	assert_int_equal(remote_write_render(r, NULL, 0, NOW_MS, &raw, &raw_len), 0);
	assert_int_equal(raw_len, 0);
	assert_int_equal(remote_write_snappy(raw, raw_len, &z, &z_len), 0);
	req = decode(z, z_len, raw, raw_len);
	assert_int_equal(req->n_timeseries, 0);
	prometheus__write_request__free_unpacked(req, NULL);
	free(raw);
	free(z);
	registry_free(r);

	assert_string_equal(rw_unit(&def), "bytes");
	def.unit = "{connection}";
	assert_string_equal(rw_unit(&def), "");
	assert_string_equal(rw_unit(NULL), "");
}

/* The same le text as the registry for awkward bounds. */
static void test_le_matches_registry(void **state)
{
	static const double bounds[] = {
		1e-5, 0.0001, 0.1, 0.3, 1, 2.5, 100000, 999999, 1e6, 1.5e7
	};
	struct registry *r = registry_new();
	struct metric_family *h;
	uint64_t buckets[11] = { 0 };
	struct strbuf prom;
	char le[40], want[64];

	assert_non_null(r);
	h = registry_add(r, "x_seconds", "X.", METRIC_HISTOGRAM, NULL, bounds, 10);
	assert_non_null(h);
	assert_int_equal(registry_set_histogram(h, NULL, buckets, 0), 0);
	strbuf_init(&prom);
	assert_int_equal(registry_render_prometheus(r, &prom), 0);
	for (size_t i = 0; i < 10; i++) {
		registry_format_bound(le, sizeof(le), bounds[i]);
		snprintf(want, sizeof(want), "x_seconds_bucket{le=\"%s\"}", le);
		if (!strstr(prom.buf, want))
			fail_msg("%s (bound %.17g) is not in /metrics:\n%s", want, bounds[i],
				 prom.buf);
	}
	strbuf_free(&prom);
	registry_free(r);
}

/* ==== The whole catalogue against /metrics ==== */

struct norm {
	char key[1024]; /* name{a="x",b="y"}: empty labels left out, sorted by name */
	double value;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name and "a=\"x\"" pairs (empty values left out) into a sorted key. */
static void make_key(char *out, size_t size, const char *name, char **pairs, size_t n)
{
	size_t o;

	qsort(pairs, n, sizeof(*pairs), str_cmp);
	o = (size_t)snprintf(out, size, "%s{", name);
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "," : "", pairs[i]);
	if (o < size)
		snprintf(out + o, size - o, "}");
}

/* One sample line of the text format, label values unescaped. */
static void parse_prom_line(const char *line, struct norm *out)
{
	char name[256], *pairs[REGISTRY_MAX_LABELS + 1], buf[REGISTRY_MAX_LABELS + 1][400];
	const char *p = line;
	size_t n = 0, k = 0;

	while (*p && *p != '{' && *p != ' ')
		name[k++] = *p++;
	name[k] = '\0';
	if (*p == '{') {
		p++;
		while (*p && *p != '}') {
			char lname[64], val[256];
			size_t a = 0, b = 0;

			while (*p != '=')
				lname[a++] = *p++;
			lname[a] = '\0';
			p += 2; /* =" */
			while (*p != '"') {
				if (*p == '\\') {
					p++;
					val[b++] = *p == 'n' ? '\n' : *p;
					p++;
					continue;
				}
				val[b++] = *p++;
			}
			val[b] = '\0';
			p++;
			if (*p == ',')
				p++;
			if (val[0]) {
				snprintf(buf[n], sizeof(buf[n]), "%s=\"%s\"", lname, val);
				pairs[n] = buf[n];
				n++;
			}
		}
		p++;
	}
	make_key(out->key, sizeof(out->key), name, pairs, n);
	out->value = strtod(p + 1, NULL);
}

static void norm_series(const Prometheus__TimeSeries *ts, struct norm *out)
{
	char *pairs[REGISTRY_MAX_LABELS + 2], buf[REGISTRY_MAX_LABELS + 2][400];
	size_t n = 0;

	for (size_t i = 0; i < ts->n_labels; i++) {
		if (!strcmp(ts->labels[i]->name, "__name__"))
			continue;
		snprintf(buf[n], sizeof(buf[n]), "%s=\"%s\"", ts->labels[i]->name,
			 ts->labels[i]->value);
		pairs[n] = buf[n];
		n++;
	}
	make_key(out->key, sizeof(out->key), label(ts, "__name__"), pairs, n);
	out->value = ts->samples[0]->value;
}

static int norm_cmp(const void *a, const void *b)
{
	return strcmp(((const struct norm *)a)->key, ((const struct norm *)b)->key);
}

/*
 * Every family of the catalogue, declared as the agent declares it, with
 * two series each (one with its first label empty): the series remote write
 * sends are exactly the sample lines of /metrics, value for value.
 */
static void test_catalogue_equals_metrics(void **state)
{
	struct registry *r = registry_new();
	struct norm *want = NULL, *got = NULL;
	size_t n_want = 0, cap = 0;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	Prometheus__WriteRequest *req;
	struct strbuf prom;
	char *line, *save = NULL;

	assert_non_null(r);
	for (int id = 0; id < M_MAX; id++) {
		struct metric_family *f = catalogue_declare(r, (enum metric_id)id);
		const char *vals[2][REGISTRY_MAX_LABELS];
		size_t nl = 0, nb = 0;

		if (!f)
			fail_msg("catalogue_declare(%s): %s", catalogue[id].name, strerror(errno));
		while (catalogue[id].labels && catalogue[id].labels[nl])
			nl++;
		catalogue_bounds(catalogue[id].bounds, &nb);
		for (int k = 0; k < 2; k++) {
			for (size_t i = 0; i < nl; i++)
				vals[k][i] = k == 0 && i == 0 ? "" : (i % 2 ? "v\"q\\" : "x");
			if (!nl && k)
				break; /* one series only without labels */
			if (nl && k)
				vals[k][nl - 1] = "second";
			if (catalogue[id].type == METRIC_HISTOGRAM) {
				uint64_t buckets[64] = { 0 };

				for (size_t i = 0; i <= nb && i < 64; i++)
					buckets[i] = (uint64_t)(id * 7 + i * 3 + k);
				assert_int_equal(
					registry_set_histogram(f, vals[k], buckets, 0.125 * id + k),
					0);
			} else {
				assert_int_equal(registry_set(f, vals[k], 1000.5 * id + k), 0);
			}
		}
	}
	strbuf_init(&prom);
	assert_int_equal(registry_render_prometheus(r, &prom), 0);
	for (line = strtok_r(prom.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (n_want == cap) {
			cap = cap ? cap * 2 : 256;
			want = realloc(want, cap * sizeof(*want));
			assert_non_null(want);
		}
		parse_prom_line(line, &want[n_want++]);
	}
	assert_int_equal(remote_write_render(r, NULL, 0, NOW_MS, &raw, &raw_len), 0);
	req = prometheus__write_request__unpack(NULL, raw_len, raw);
	assert_non_null(req);
	if (req->n_timeseries != n_want)
		fail_msg("series: /metrics has %zu samples, remote write %zu", n_want,
			 req->n_timeseries);
	got = calloc(n_want ? n_want : 1, sizeof(*got));
	assert_non_null(got);
	for (size_t i = 0; i < req->n_timeseries; i++) {
		check_sorted(req->timeseries[i]);
		norm_series(req->timeseries[i], &got[i]);
	}
	qsort(want, n_want, sizeof(*want), norm_cmp);
	qsort(got, n_want, sizeof(*got), norm_cmp);
	for (size_t i = 0; i < n_want; i++) {
		if (strcmp(want[i].key, got[i].key))
			fail_msg("series %zu: /metrics %s, remote write %s", i, want[i].key,
				 got[i].key);
		if (want[i].value != got[i].value)
			fail_msg("%s: /metrics %.17g, remote write %.17g", want[i].key,
				 want[i].value, got[i].value);
	}
	print_message("%zu series of %d families equal /metrics\n", n_want, (int)M_MAX);
	prometheus__write_request__free_unpacked(req, NULL);
	strbuf_free(&prom);
	free(raw);
	free(want);
	free(got);
	registry_free(r);
}

/* ==== Queue and retries ==== */

/* An exporter with a queue of n and cap bytes, no HTTP client. */
static struct rw_exporter *bare(uint32_t n, uint64_t cap)
{
	struct rw_exporter *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->name, sizeof(e->name), "remote_write");
	e->cfg.queue = n;
	e->cfg.queue_bytes = cap;
	e->q = calloc(n, sizeof(*e->q));
	assert_non_null(e->q);
	e->rnd = 1;
	return e;
}

/* A body of len bytes whose first byte is tag. */
static void push(struct rw_exporter *e, uint8_t tag, size_t len)
{
	uint8_t *b = calloc(1, len);

	assert_non_null(b);
	b[0] = tag;
	q_push(e, b, len, 1);
}

static void expect_queue(struct rw_exporter *e, const char *tags)
{
	size_t n = strlen(tags);

	if (e->q_len != n)
		fail_msg("queue: expected %zu entries (%s), got %zu", n, tags, e->q_len);
	for (size_t i = 0; i < n; i++) {
		if (q_at(e, i)->body[0] != (uint8_t)tags[i])
			fail_msg("queue[%zu]: expected '%c', got '%c'", i, tags[i],
				 q_at(e, i)->body[0]);
	}
}

static void test_queue_bounds(void **state)
{
	struct rw_exporter *e = bare(3, 100);

	push(e, 'a', 10);
	push(e, 'b', 10);
	push(e, 'c', 10);
	expect_queue(e, "abc");
	assert_int_equal(e->dropped, 0);
	/* full in count: the oldest goes */
	push(e, 'd', 10);
	expect_queue(e, "bcd");
	assert_int_equal(e->dropped, 1);
	assert_int_equal(e->q_bytes, 30);
	/* full in bytes: as many of the oldest as it takes */
	push(e, 'e', 85);
	expect_queue(e, "de");
	assert_int_equal(e->dropped, 3);
	assert_int_equal(e->q_bytes, 95);
	push(e, 'f', 10);
	expect_queue(e, "ef");
	assert_int_equal(e->dropped, 4);
	/* the head in flight is never dropped: the one behind it is */
	e->sending = true;
	push(e, 'g', 10);
	expect_queue(e, "eg");
	assert_int_equal(e->dropped, 5);
	assert_int_equal(e->q_bytes, 95);
	/* larger than the cap on its own: dropped at once */
	push(e, 'h', 101);
	expect_queue(e, "eg");
	assert_int_equal(e->dropped, 6);
	/* only the one in flight left, and still no room: the new one goes */
	push(e, 'i', 95);
	expect_queue(e, "e");
	assert_int_equal(e->dropped, 8);
	e->sending = false;
	rw_stop(e);
}

static void test_retry_bookkeeping(void **state)
{
	struct rw_exporter *e = bare(4, 1000);
	struct httppush_result r = { .outcome = HTTPPUSH_RETRY, .retry_after_ns = -1 };

	push(e, 'a', 10);
	push(e, 'b', 10);
	/* a 503: the head stays, a retry is due 1-1.5 s later, an error counted */
	e->sending = true;
	snprintf(r.what, sizeof(r.what), "HTTP 503");
	finish_request(e, &r, 1000);
	expect_queue(e, "ab");
	assert_true(e->retry_pending);
	assert_true(e->retry_at_ns >= 1000 + NS_PER_SEC && e->retry_at_ns <= 1000 + 1500000000ULL);
	assert_int_equal(e->errors, 1);
	assert_int_equal(e->dropped, 0);
	/* the second failure in a row backs off 2-3 s; Retry-After wins when given */
	e->sending = true;
	finish_request(e, &r, 1000);
	assert_true(e->retry_at_ns >= 1000 + 2 * NS_PER_SEC &&
		    e->retry_at_ns <= 1000 + 3 * NS_PER_SEC);
	e->sending = true;
	r.retry_after_ns = 7 * NS_PER_SEC;
	finish_request(e, &r, 1000);
	assert_int_equal(e->retry_at_ns, 1000 + 7 * NS_PER_SEC);
	assert_int_equal(e->errors, 3);
	/* a 400: dropped, not retried */
	e->sending = true;
	r.outcome = HTTPPUSH_FAILED;
	snprintf(r.what, sizeof(r.what), "HTTP 400");
	finish_request(e, &r, 2000);
	expect_queue(e, "b");
	assert_int_equal(e->errors, 4);
	assert_int_equal(e->dropped, 1);
	/* delivered: popped, the failure streak over */
	e->sending = true;
	r.outcome = HTTPPUSH_DELIVERED;
	finish_request(e, &r, 3000);
	expect_queue(e, "");
	assert_int_equal(e->delivered, 1);
	assert_int_equal(e->failures, 0);
	assert_int_equal(e->q_bytes, 0);
	rw_stop(e);
}

static void test_classify(void **state)
{
	assert_int_equal(httppush_classify(CURLE_OK, 200), HTTPPUSH_DELIVERED);
	assert_int_equal(httppush_classify(CURLE_OK, 204), HTTPPUSH_DELIVERED);
	assert_int_equal(httppush_classify(CURLE_OK, 429), HTTPPUSH_RETRY);
	assert_int_equal(httppush_classify(CURLE_OK, 500), HTTPPUSH_RETRY);
	assert_int_equal(httppush_classify(CURLE_OK, 503), HTTPPUSH_RETRY);
	assert_int_equal(httppush_classify(CURLE_OK, 400), HTTPPUSH_FAILED);
	assert_int_equal(httppush_classify(CURLE_OK, 401), HTTPPUSH_FAILED);
	assert_int_equal(httppush_classify(CURLE_OK, 404), HTTPPUSH_FAILED);
	assert_int_equal(httppush_classify(CURLE_OK, 302), HTTPPUSH_FAILED);
	assert_int_equal(httppush_classify(CURLE_COULDNT_CONNECT, 0), HTTPPUSH_RETRY);
	assert_int_equal(httppush_classify(CURLE_OPERATION_TIMEDOUT, 0), HTTPPUSH_RETRY);
	assert_int_equal(httppush_classify(CURLE_PEER_FAILED_VERIFICATION, 0), HTTPPUSH_FAILED);
	assert_int_equal(httppush_retry_after_ns("3", 0), 3 * (int64_t)NS_PER_SEC);
	assert_int_equal(httppush_retry_after_ns(" 0", 0), (int64_t)NS_PER_SEC);
	assert_int_equal(httppush_retry_after_ns("soon", 0), -1);
	assert_int_equal(httppush_retry_after_ns(NULL, 0), -1);
	for (unsigned int a = 1; a < 12; a++) {
		uint64_t lo = httppush_backoff_ns(a, 0), hi = httppush_backoff_ns(a, UINT32_MAX);

		assert_true(lo >= NS_PER_SEC && hi <= 30 * NS_PER_SEC && lo <= hi);
	}
}

/* Secrets from files: the first line, trailing blanks cut; bad files refused. */
static void test_read_secret(void **state)
{
	char path[] = "/tmp/gespann-rw-secret-XXXXXX", buf[RW_SECRET_MAX];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cr3t \r\n", 9), 9);
	close(fd);
	assert_int_equal(read_secret(path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "s3cr3t");
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a\nb\n", 4), 4);
	close(fd);
	assert_int_equal(read_secret(path, buf, sizeof(buf)), -EINVAL);
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	assert_int_equal(read_secret(path, buf, sizeof(buf)), -EINVAL);
	unlink(path);
	assert_int_equal(read_secret(path, buf, sizeof(buf)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_edges),
		cmocka_unit_test(test_le_matches_registry),
		cmocka_unit_test(test_catalogue_equals_metrics),
		cmocka_unit_test(test_queue_bounds),
		cmocka_unit_test(test_retry_bookkeeping),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_read_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
