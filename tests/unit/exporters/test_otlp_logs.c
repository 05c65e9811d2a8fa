// SPDX-License-Identifier: MIT
/*
 * Unit tests for the OTLP logs export. Encoding: a queue with one event of
 * each kind is rendered as protobuf and decoded again with protobuf-c's own
 * unpack (resource, scope, event names, severities, times, attributes with
 * their types, the body), a prefix of the queue gives that many records,
 * and the OTLP/JSON text carries the same facts. Sending: the logs path
 * made from the metrics endpoint, a batch taken off the queue onto the logs
 * request slot, its records counted lost when it is given up, a pending
 * retry holding the next batch back, and one logs adapter at a time. No
 * root, no network: the endpoint is a closed port nobody answers on.
 *
 * The exporter sources are included (h2o style) to reach their statics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exporters/otlp.c"
#include "exporters/otlp_logs.c"

typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest logs_req_t;

#define SEC 1000000000ULL

/* ==== Three events ==== */

static struct eventq_rec ev_failed(void)
{
	struct eventq_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = EVENTQ_CONN_FAILED;
	r.time_unix_ns = 1700000000 * SEC + 1;
	r.observed_unix_ns = 1700000000 * SEC + 2;
	r.pid = 4242;
	snprintf(r.process, sizeof(r.process), "curl");
	snprintf(r.service, sizeof(r.service), "web.service");
	snprintf(r.transport, sizeof(r.transport), "tcp");
	snprintf(r.role, sizeof(r.role), "client");
	snprintf(r.local_addr, sizeof(r.local_addr), "198.18.0.1");
	r.local_port = 40000;
	snprintf(r.peer_addr, sizeof(r.peer_addr), "198.18.0.2");
	r.peer_port = 5002;
	snprintf(r.peer_name, sizeof(r.peer_name), "api.example");
	snprintf(r.error, sizeof(r.error), "ECONNREFUSED");
	return r;
}

static struct eventq_rec ev_reset(void)
{
	struct eventq_rec r = ev_failed();

	r.kind = EVENTQ_CONN_RESET;
	r.ipv6 = 1;
	r.error[0] = '\0';
	r.peer_name[0] = '\0';
	snprintf(r.local_addr, sizeof(r.local_addr), "fd00::1");
	snprintf(r.peer_addr, sizeof(r.peer_addr), "fd00::2");
	snprintf(r.reset_dir, sizeof(r.reset_dir), "sent");
	snprintf(r.reset_reason, sizeof(r.reset_reason), "tcp_abort_on_close");
	return r;
}

static struct eventq_rec ev_dns(void)
{
	struct eventq_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = EVENTQ_DNS_ANSWER;
	r.time_unix_ns = 1700000001 * SEC;
	r.observed_unix_ns = 1700000001 * SEC + 5;
	r.pid = 7;
	snprintf(r.process, sizeof(r.process), "resolver");
	snprintf(r.service, sizeof(r.service), "resolver");
	snprintf(r.transport, sizeof(r.transport), "udp");
	snprintf(r.role, sizeof(r.role), "client");
	snprintf(r.peer_addr, sizeof(r.peer_addr), "198.18.0.53");
	r.peer_port = 53;
	/* a quote in a name (escaped by the DNS parser, still JSON-escaped here) */
	snprintf(r.qname, sizeof(r.qname), "a\"b.example");
	snprintf(r.qtype, sizeof(r.qtype), "A");
	snprintf(r.rcode, sizeof(r.rcode), "NOERROR");
	r.latency_ns = 1500000; /* 1.5 ms */
	r.n_answers = 2;
	snprintf(r.answers[0], sizeof(r.answers[0]), "198.18.0.10");
	snprintf(r.answers[1], sizeof(r.answers[1]), "198.18.0.11");
	return r;
}

static struct eventq *three_events(void)
{
	struct eventq *q = eventq_new(100, 10);
	struct eventq_rec r[3] = { ev_failed(), ev_reset(), ev_dns() };

	assert_non_null(q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(eventq_push(q, &r[i], 1000 * SEC), 0);
	return q;
}

/* ==== Decoding helpers ==== */

static const pb_any_value *attr_of(const pb_log_record *lr, const char *key)
{
	for (size_t i = 0; i < lr->n_attributes; i++)
		if (!strcmp(lr->attributes[i]->key, key))
			return lr->attributes[i]->value;
	return NULL;
}

static const char *str_attr(const pb_log_record *lr, const char *key)
{
	const pb_any_value *v = attr_of(lr, key);

	if (!v)
		return NULL;
	assert_int_equal(v->value_case, PB_STRING);
	return v->string_value;
}

static int64_t int_attr(const pb_log_record *lr, const char *key)
{
	const pb_any_value *v = attr_of(lr, key);

	if (!v)
		fail_msg("attribute %s absent", key);
	assert_int_equal(v->value_case, PB_INT);
	return v->int_value;
}

static logs_req_t *render_decode(const struct eventq *q, size_t n)
{
	uint8_t *body = NULL;
	size_t len = 0;
	logs_req_t *back;

	assert_int_equal(otlp_logs_render(q, n, OTLP_HTTP_PROTOBUF, "testhost", &body, &len), 0);
	back = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
		NULL, len, body);
	free(body);
	assert_non_null(back);
	return back;
}

/* ==== Encoding ==== */

static void test_protobuf_roundtrip(void **state)
{
	struct eventq *q = three_events();
	logs_req_t *req = render_decode(q, 3);
	const pb_resource_logs *rl;
	const pb_scope_logs *sl;
	const pb_log_record *f, *r, *d;
	const pb_any_value *answers;
	const char *want_res[][2] = { { "service.name", "gespann" },
				      { "service.version", GESPANN_VERSION },
				      { "host.name", "testhost" },
				      { "os.type", "linux" } };

	(void)state;
	assert_int_equal(req->n_resource_logs, 1);
	rl = req->resource_logs[0];
	assert_int_equal(rl->resource->n_attributes, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(rl->resource->attributes[i]->key, want_res[i][0]);
		assert_string_equal(rl->resource->attributes[i]->value->string_value,
				    want_res[i][1]);
	}
	assert_int_equal(rl->n_scope_logs, 1);
	sl = rl->scope_logs[0];
	assert_string_equal(sl->scope->name, "gespann");
	assert_string_equal(sl->scope->version, GESPANN_VERSION);
	assert_int_equal(sl->n_log_records, 3);
	f = sl->log_records[0];
	r = sl->log_records[1];
	d = sl->log_records[2];

	/* the failed connect */
	assert_string_equal(f->event_name, "gespann.connection.failed");
	assert_int_equal(f->severity_number, PB_WARN);
	assert_string_equal(f->severity_text, "WARN");
	assert_int_equal(f->time_unix_nano, 1700000000 * SEC + 1);
	assert_int_equal(f->observed_time_unix_nano, 1700000000 * SEC + 2);
	assert_string_equal(str_attr(f, "network.transport"), "tcp");
	assert_string_equal(str_attr(f, "network.type"), "ipv4");
	assert_string_equal(str_attr(f, "network.local.address"), "198.18.0.1");
	assert_int_equal(int_attr(f, "network.local.port"), 40000);
	assert_string_equal(str_attr(f, "network.peer.address"), "198.18.0.2");
	assert_int_equal(int_attr(f, "network.peer.port"), 5002);
	assert_string_equal(str_attr(f, "server.address"), "api.example");
	assert_int_equal(int_attr(f, "server.port"), 5002);
	assert_int_equal(int_attr(f, "process.pid"), 4242);
	assert_string_equal(str_attr(f, "process.executable.name"), "curl");
	assert_string_equal(str_attr(f, "gespann.process.service"), "web.service");
	assert_string_equal(str_attr(f, "gespann.connection.role"), "client");
	assert_string_equal(str_attr(f, "error.type"), "ECONNREFUSED");
	assert_null(attr_of(f, "gespann.reset.direction"));
	assert_null(attr_of(f, "dns.question.name"));
	assert_int_equal(f->body->value_case, PB_STRING);
	assert_string_equal(f->body->string_value,
			    "connect from curl (pid 4242) to api.example port 5002 failed: "
			    "ECONNREFUSED");

	/* the reset: no name known, the address is the server */
	assert_string_equal(r->event_name, "gespann.connection.reset");
	assert_int_equal(r->severity_number, PB_WARN);
	assert_string_equal(str_attr(r, "network.type"), "ipv6");
	assert_string_equal(str_attr(r, "server.address"), "fd00::2");
	assert_string_equal(str_attr(r, "gespann.reset.direction"), "sent");
	assert_string_equal(str_attr(r, "gespann.reset.reason"), "tcp_abort_on_close");
	assert_null(attr_of(r, "error.type"));
	assert_string_equal(r->body->string_value,
			    "connection of curl (pid 4242) with fd00::2 port 5002 reset: RST sent "
			    "(tcp_abort_on_close)");

	/* the DNS answer */
	assert_string_equal(d->event_name, "gespann.dns.answer");
	assert_int_equal(d->severity_number, PB_INFO);
	assert_string_equal(d->severity_text, "INFO");
	assert_string_equal(str_attr(d, "dns.question.name"), "a\"b.example");
	assert_string_equal(str_attr(d, "gespann.dns.question.type"), "A");
	assert_string_equal(str_attr(d, "gespann.dns.response_code"), "NOERROR");
	assert_null(attr_of(d, "error.type"));
	assert_string_equal(str_attr(d, "server.address"), "198.18.0.53");
	assert_int_equal(int_attr(d, "server.port"), 53);
	assert_string_equal(str_attr(d, "network.transport"), "udp");
	assert_null(attr_of(d, "network.local.address"));
	assert_int_equal(attr_of(d, "gespann.dns.duration")->value_case, PB_DOUBLE);
	assert_true(attr_of(d, "gespann.dns.duration")->double_value == 0.0015);
	answers = attr_of(d, "dns.answers");
	assert_non_null(answers);
	assert_int_equal(answers->value_case, PB_ARRAY);
	assert_int_equal(answers->array_value->n_values, 2);
	assert_string_equal(answers->array_value->values[0]->string_value, "198.18.0.10");
	assert_string_equal(answers->array_value->values[1]->string_value, "198.18.0.11");

	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req,
											      NULL);
	/* a prefix of the queue, and none */
	req = render_decode(q, 1);
	assert_int_equal(req->resource_logs[0]->scope_logs[0]->n_log_records, 1);
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req,
											      NULL);
	req = render_decode(q, 0);
	assert_int_equal(req->resource_logs[0]->scope_logs[0]->n_log_records, 0);
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req,
											      NULL);
	/* rendering does not take records off */
	assert_int_equal(eventq_len(q), 3);
	eventq_free(q);
}

static void test_render_bad_args(void **state)
{
	struct eventq *q = three_events();
	uint8_t *body = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(otlp_logs_render(q, 4, OTLP_HTTP_PROTOBUF, "h", &body, &len), -EINVAL);
	assert_int_equal(otlp_logs_render(q, 1, OTLP_HTTP_PROTOBUF, "h", NULL, &len), -EINVAL);
	eventq_free(q);
}

static void test_json(void **state)
{
	static const char *const want[] = {
		"{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
		"\"value\":{\"stringValue\":\"gespann\"}}",
		"\"scopeLogs\":[{\"scope\":{\"name\":\"gespann\",\"version\":\"" GESPANN_VERSION
		"\"},\"logRecords\":[{\"timeUnixNano\":\"1700000000000000001\","
		"\"observedTimeUnixNano\":\"1700000000000000002\",\"severityNumber\":13,"
		"\"severityText\":\"WARN\",\"eventName\":\"gespann.connection.failed\","
		"\"body\":{\"stringValue\":\"connect from curl",
		"{\"key\":\"network.peer.port\",\"value\":{\"intValue\":\"5002\"}}",
		"{\"key\":\"error.type\",\"value\":{\"stringValue\":\"ECONNREFUSED\"}}",
		"\"severityNumber\":9,\"severityText\":\"INFO\",\"eventName\":\"gespann.dns.answer\"",
		"{\"key\":\"dns.question.name\",\"value\":{\"stringValue\":\"a\\\"b.example\"}}",
		"{\"key\":\"gespann.dns.duration\",\"value\":{\"doubleValue\":0.0015",
		"{\"key\":\"dns.answers\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":"
		"\"198.18.0.10\"},{\"stringValue\":\"198.18.0.11\"}]}}}",
	};
	struct eventq *q = three_events();
	uint8_t *body = NULL;
	size_t len = 0;
	const char *text;

	(void)state;
	assert_int_equal(otlp_logs_render(q, 3, OTLP_HTTP_JSON, "testhost", &body, &len), 0);
	text = (const char *)body;
	assert_int_equal(strlen(text), len);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("JSON lacks %s\nin %s", want[i], text);
	assert_string_equal(text + len - 6, "]}]}]}");
	free(body);
	eventq_free(q);
}

/* ==== Sending ==== */

static struct otlp_exporter *start_logs(struct registry *r, const char *endpoint, int logs)
{
	static struct adapter_config cfg;
	struct exporter_env env = { .reg = r, .name = "otlp" };

	memset(&cfg, 0, sizeof(cfg));
	cfg.type = ADAPTER_OTLP;
	snprintf(cfg.endpoint, sizeof(cfg.endpoint), "%s", endpoint);
	cfg.protocol = OTLP_HTTP_PROTOBUF;
	cfg.interval_ns = 10 * NS_PER_SEC;
	cfg.timeout_ns = 1 * NS_PER_SEC;
	cfg.logs = logs;
	cfg.logs_rate = 100;
	cfg.logs_queue = 10;
	return otlp_exporter_ops.start(&cfg, &env);
}

static void test_logs_endpoint(void **state)
{
	static const char *const cases[][2] = {
		{ "http://127.0.0.1:4318/v1/metrics", "http://127.0.0.1:4318/v1/logs" },
		{ "https://u:secret@collector.example/otlp/v1/metrics?tenant=a",
		  "https://u:secret@collector.example/otlp/v1/logs?tenant=a" },
	};
	struct registry *r = registry_new();
	struct otlp_exporter *e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = start_logs(r, cases[i][0], 1);
		assert_non_null(e);
		assert_string_equal(e->logs_url, cases[i][1]);
		assert_null(strstr(e->logs_shown, "secret"));
		assert_ptr_equal(eventq_current(), e->events);
		otlp_exporter_ops.stop(e);
		assert_null(eventq_current());
	}
	/* no /v1/metrics ending: no logs path to guess */
	assert_null(start_logs(r, "http://127.0.0.1:4318/otlp", 1));
	assert_null(eventq_current());
	/* logs off: any path, no queue */
	e = start_logs(r, "http://127.0.0.1:4318/otlp", 0);
	assert_non_null(e);
	assert_null(e->events);
	assert_null(e->req[OTLP_SIG_LOGS].easy);
	otlp_exporter_ops.stop(e);
	registry_free(r);
}

static void test_one_logs_adapter(void **state)
{
	struct registry *r = registry_new();
	struct otlp_exporter *a, *b;

	(void)state;
	a = start_logs(r, "http://127.0.0.1:9/v1/metrics", 1);
	assert_non_null(a);
	assert_null(start_logs(r, "http://127.0.0.1:9/v1/metrics", 1));
	assert_ptr_equal(eventq_current(), a->events);
	b = start_logs(r, "http://127.0.0.1:9/v1/metrics", 0);
	assert_non_null(b);
	otlp_exporter_ops.stop(b);
	otlp_exporter_ops.stop(a);
	registry_free(r);
}

static void test_logs_batches(void **state)
{
	struct registry *r = registry_new();
	struct otlp_exporter *e = start_logs(r, "http://127.0.0.1:9/v1/metrics", 1);
	struct otlp_req *lr;
	struct eventq_stats a, b;
	struct eventq_rec ev = ev_failed();
	uint64_t now;

	(void)state;
	assert_non_null(e);
	lr = &e->req[OTLP_SIG_LOGS];
	now = mono_ns();
	eventq_get_stats(&a);
	for (int i = 0; i < 5; i++)
		assert_int_equal(eventq_push(e->events, &ev, now), 0);
	/* the whole queue in one request on the logs slot; metrics untouched */
	logs_due(e, now);
	assert_int_equal(eventq_len(e->events), 0);
	assert_true(lr->in_flight);
	assert_int_equal(lr->n_records, 5);
	assert_int_equal(lr->give_up_ns, now + e->interval_ns);
	assert_false(e->req[OTLP_SIG_METRICS].in_flight);
	/* nothing more while it runs: new events wait */
	assert_int_equal(eventq_push(e->events, &ev, now), 0);
	logs_due(e, now);
	assert_int_equal(eventq_len(e->events), 1);

	/* a 503 before the give-up time: retried later, records kept */
	curl_multi_remove_handle(e->multi, lr->easy);
	lr->in_flight = false;
	lr->attempts = 1;
	snprintf(lr->retry_after, sizeof(lr->retry_after), "2");
	finish_request(e, lr, CURLE_OK, 503, now);
	assert_true(lr->retry_pending);
	assert_int_equal(lr->n_records, 5);
	/* a pending retry holds the next batch back too */
	logs_due(e, now);
	assert_int_equal(eventq_len(e->events), 1);
	/* a retry that would come after the give-up time: dropped, 5 lost */
	lr->retry_pending = false;
	snprintf(lr->retry_after, sizeof(lr->retry_after), "60");
	finish_request(e, lr, CURLE_OK, 503, now);
	assert_false(lr->retry_pending);
	eventq_get_stats(&b);
	assert_int_equal(b.dropped[EVENTQ_DROP_EXPORT] - a.dropped[EVENTQ_DROP_EXPORT], 5);
	assert_int_equal(e->dropped, 1);
	assert_int_equal(e->errors, 2);

	/* the next batch: a 400 is not retried, its record lost */
	logs_due(e, now);
	assert_true(lr->in_flight);
	assert_int_equal(lr->n_records, 1);
	curl_multi_remove_handle(e->multi, lr->easy);
	lr->in_flight = false;
	finish_request(e, lr, CURLE_OK, 400, now);
	eventq_get_stats(&a);
	assert_int_equal(a.dropped[EVENTQ_DROP_EXPORT] - b.dropped[EVENTQ_DROP_EXPORT], 1);

	/* delivered: nothing lost; stopping with records waiting loses them */
	for (int i = 0; i < 3; i++)
		assert_int_equal(eventq_push(e->events, &ev, now + 2 * NS_PER_SEC), 0);
	logs_due(e, now);
	curl_multi_remove_handle(e->multi, lr->easy);
	lr->in_flight = false;
	finish_request(e, lr, CURLE_OK, 200, now);
	assert_int_equal(e->delivered, 1);
	assert_int_equal(eventq_push(e->events, &ev, now + 2 * NS_PER_SEC), 0);
	eventq_get_stats(&b);
	assert_int_equal(b.dropped[EVENTQ_DROP_EXPORT], a.dropped[EVENTQ_DROP_EXPORT]);
	otlp_exporter_ops.stop(e);
	eventq_get_stats(&a);
	assert_int_equal(a.dropped[EVENTQ_DROP_EXPORT] - b.dropped[EVENTQ_DROP_EXPORT], 1);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protobuf_roundtrip),
		cmocka_unit_test(test_render_bad_args),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_logs_endpoint),
		cmocka_unit_test(test_one_logs_adapter),
		cmocka_unit_test(test_logs_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
