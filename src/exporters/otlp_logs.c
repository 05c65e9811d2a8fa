// SPDX-License-Identifier: MIT
/*
 * OTLP logs encoding: queued events (metrics/eventq.h) as an
 * ExportLogsServiceRequest, built from the protobuf-c structs generated from
 * the vendored opentelemetry-proto logs definitions, then packed by
 * protobuf-c or written as OTLP/JSON from the same structs, so both carry
 * the same content (as otlp_encode.c does for metrics). Apart from otlp.c,
 * which sends it, so that any transport can carry the body.
 *
 * Each event is one LogRecord: its time and the time the agent read it,
 * a severity (WARN for a failed or reset connection, INFO for a DNS
 * answer), event_name (gespann.connection.failed, gespann.connection.reset,
 * gespann.dns.answer), a one-line body and attributes named by the
 * OpenTelemetry semantic conventions where they have a name (network.*,
 * server.*, client.*, process.*, error.type, dns.*), gespann.* otherwise.
 * Strings point into the queue's records, which outlive the encoding.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include "exporters/jsonw.h"
#include "exporters/otlp_logs.h"
#include "metrics/registry.h"

#define OTLP_SCOPE_NAME "gespann"

typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest pb_logs_request;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_resource_logs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_scope_logs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_log_record;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_key_value;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any_value;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array_value;

#define PB_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define PB_INT	  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define PB_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define PB_ARRAY  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define PB_INFO	  OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO
#define PB_WARN	  OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN

#define MAX_ATTRS 20
#define BODY_LEN  512 /* the longest line with 255-character names */

/* One record's structs, allocated together. */
struct rec_pb {
	pb_log_record lr;
	pb_any_value body;
	char body_text[BODY_LEN];
	pb_key_value *kvp[MAX_ATTRS];
	pb_key_value kv[MAX_ATTRS];
	pb_any_value v[MAX_ATTRS];
	pb_array_value answers;
	pb_any_value *answerp[EVENTQ_ANSWERS];
	pb_any_value answerv[EVENTQ_ANSWERS];
};

/* ==== Building the request ==== */

static pb_any_value *next_attr(struct rec_pb *p, const char *key)
{
	size_t i = p->lr.n_attributes;

	if (i == MAX_ATTRS) /* cannot happen: the lists below are shorter */
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(&p->kv[i]);
	opentelemetry__proto__common__v1__any_value__init(&p->v[i]);
	p->kv[i].key = (char *)key;
	p->kv[i].value = &p->v[i];
	p->kvp[i] = &p->kv[i];
	p->lr.n_attributes++;
	return &p->v[i];
}

/* A string attribute; an empty value is an absent fact, left out. */
static void attr_str(struct rec_pb *p, const char *key, const char *value)
{
	pb_any_value *v;

	if (!value || !value[0] || !(v = next_attr(p, key)))
		return;
	v->value_case = PB_STRING;
	v->string_value = (char *)value;
}

static void attr_int(struct rec_pb *p, const char *key, int64_t value)
{
	pb_any_value *v = next_attr(p, key);

	if (!v)
		return;
	v->value_case = PB_INT;
	v->int_value = value;
}

static void attr_double(struct rec_pb *p, const char *key, double value)
{
	pb_any_value *v = next_attr(p, key);

	if (!v)
		return;
	v->value_case = PB_DOUBLE;
	v->double_value = value;
}

/* The local process: who made the connection or asked the question. */
static void attrs_process(struct rec_pb *p, const struct eventq_rec *r)
{
	if (r->pid)
		attr_int(p, "process.pid", r->pid);
	attr_str(p, "process.executable.name", r->process);
	attr_str(p, "gespann.process.service", r->service);
}

/* The network part both kinds share: transport, version, the two ends. */
static void attrs_network(struct rec_pb *p, const struct eventq_rec *r)
{
	attr_str(p, "network.transport", r->transport);
	attr_str(p, "network.type", r->ipv6 ? "ipv6" : "ipv4");
	attr_str(p, "network.local.address", r->local_addr);
	if (r->local_addr[0] && r->local_port)
		attr_int(p, "network.local.port", r->local_port);
	attr_str(p, "network.peer.address", r->peer_addr);
	if (r->peer_port)
		attr_int(p, "network.peer.port", r->peer_port);
}

static void build_conn(struct rec_pb *p, const struct eventq_rec *r)
{
	bool client = strcmp(r->role, "server") != 0;
	const char *server = r->peer_name[0] ? r->peer_name : r->peer_addr;
	char reset[64];

	attrs_network(p, r);
	if (client) {
		/* semantic conventions: the name when known, else the address */
		attr_str(p, "server.address", server);
		if (r->peer_port)
			attr_int(p, "server.port", r->peer_port);
	} else {
		attr_str(p, "client.address", r->peer_addr);
		if (r->peer_port)
			attr_int(p, "client.port", r->peer_port);
	}
	attr_str(p, "gespann.connection.role", r->role);
	attrs_process(p, r);
	attr_str(p, "error.type", r->error);
	attr_str(p, "gespann.reset.direction", r->reset_dir);
	attr_str(p, "gespann.reset.reason", r->reset_reason);

	if (r->kind == EVENTQ_CONN_FAILED) {
		snprintf(p->body_text, sizeof(p->body_text),
			 "%s from %s (pid %" PRIu32 ") to %s port %u failed: %s",
			 client ? "connect" : "accepted connection", r->process, r->pid, server,
			 r->peer_port, r->error[0] ? r->error : "closed before established");
		return;
	}
	if (r->reset_reason[0])
		snprintf(reset, sizeof(reset), "RST %s (%s)", r->reset_dir, r->reset_reason);
	else
		snprintf(reset, sizeof(reset), "RST %s", r->reset_dir);
	snprintf(p->body_text, sizeof(p->body_text),
		 "connection of %s (pid %" PRIu32 ") with %s port %u reset: %s", r->process, r->pid,
		 server, r->peer_port, reset);
}

static void build_dns(struct rec_pb *p, const struct eventq_rec *r)
{
	pb_any_value *v;

	attrs_network(p, r);
	attr_str(p, "server.address", r->peer_addr);
	if (r->peer_port)
		attr_int(p, "server.port", r->peer_port);
	attrs_process(p, r);
	attr_str(p, "dns.question.name", r->qname);
	attr_str(p, "gespann.dns.question.type", r->qtype);
	attr_str(p, "gespann.dns.response_code", r->rcode);
	if (strcmp(r->rcode, "NOERROR"))
		attr_str(p, "error.type", r->rcode);
	attr_double(p, "gespann.dns.duration", (double)r->latency_ns / 1e9);
	opentelemetry__proto__common__v1__array_value__init(&p->answers);
	for (uint32_t i = 0; i < r->n_answers && i < EVENTQ_ANSWERS; i++) {
		opentelemetry__proto__common__v1__any_value__init(&p->answerv[i]);
		p->answerv[i].value_case = PB_STRING;
		p->answerv[i].string_value = (char *)r->answers[i];
		p->answerp[i] = &p->answerv[i];
	}
	p->answers.n_values = r->n_answers < EVENTQ_ANSWERS ? r->n_answers : EVENTQ_ANSWERS;
	p->answers.values = p->answerp;
	if ((v = next_attr(p, "dns.answers"))) {
		v->value_case = PB_ARRAY;
		v->array_value = &p->answers;
	}
	snprintf(p->body_text, sizeof(p->body_text),
		 "dns %s %s: %s, %" PRIu32 " answer%s from %s in %" PRIu64 ".%03" PRIu64
		 " ms (%s, pid %" PRIu32 ")",
		 r->qtype, r->qname, r->rcode, r->n_answers, r->n_answers == 1 ? "" : "s",
		 r->peer_addr, r->latency_ns / 1000000, r->latency_ns / 1000 % 1000, r->process,
		 r->pid);
}

static void build_record(struct rec_pb *p, const struct eventq_rec *r)
{
	opentelemetry__proto__logs__v1__log_record__init(&p->lr);
	opentelemetry__proto__common__v1__any_value__init(&p->body);
	p->lr.time_unix_nano = r->time_unix_ns;
	p->lr.observed_time_unix_nano = r->observed_unix_ns;
	p->lr.severity_number = r->kind == EVENTQ_DNS_ANSWER ? PB_INFO : PB_WARN;
	p->lr.severity_text = r->kind == EVENTQ_DNS_ANSWER ? "INFO" : "WARN";
	p->lr.event_name = (char *)eventq_kind_name(r->kind);
	p->lr.attributes = p->kvp;
	if (r->kind == EVENTQ_DNS_ANSWER)
		build_dns(p, r);
	else
		build_conn(p, r);
	p->body.value_case = PB_STRING;
	p->body.string_value = p->body_text;
	p->lr.body = &p->body;
}

/* ==== JSON (the OTLP/JSON mapping of the same structs) ==== */

static void j_record(struct jsonw *j, const pb_log_record *lr)
{
	jsonw_raw(j, "{");
	jsonw_key(j, "timeUnixNano");
	jsonw_u64(j, lr->time_unix_nano);
	jsonw_raw(j, ",");
	jsonw_key(j, "observedTimeUnixNano");
	jsonw_u64(j, lr->observed_time_unix_nano);
	jsonw_raw(j, ",");
	jsonw_key(j, "severityNumber");
	if (!j->err)
		j->err = strbuf_printf(j->sb, "%d", (int)lr->severity_number);
	jsonw_raw(j, ",");
	jsonw_key(j, "severityText");
	jsonw_str(j, lr->severity_text);
	jsonw_raw(j, ",");
	jsonw_key(j, "eventName");
	jsonw_str(j, lr->event_name);
	jsonw_raw(j, ",");
	jsonw_key(j, "body");
	jsonw_any_value(j, lr->body);
	jsonw_raw(j, ",");
	jsonw_attributes(j, lr->attributes, lr->n_attributes);
	jsonw_raw(j, "}");
}

static int encode_json(const pb_logs_request *req, struct strbuf *out)
{
	struct jsonw j = { .sb = out };

	jsonw_raw(&j, "{");
	jsonw_key(&j, "resourceLogs");
	jsonw_raw(&j, "[");
	for (size_t r = 0; r < req->n_resource_logs; r++) {
		const pb_resource_logs *rl = req->resource_logs[r];

		jsonw_raw(&j, r ? ",{" : "{");
		jsonw_key(&j, "resource");
		jsonw_raw(&j, "{");
		jsonw_attributes(&j, rl->resource->attributes, rl->resource->n_attributes);
		jsonw_raw(&j, "},");
		jsonw_key(&j, "scopeLogs");
		jsonw_raw(&j, "[");
		for (size_t s = 0; s < rl->n_scope_logs; s++) {
			const pb_scope_logs *sl = rl->scope_logs[s];

			jsonw_raw(&j, s ? ",{" : "{");
			jsonw_key(&j, "scope");
			jsonw_raw(&j, "{");
			jsonw_key(&j, "name");
			jsonw_str(&j, sl->scope->name);
			jsonw_raw(&j, ",");
			jsonw_key(&j, "version");
			jsonw_str(&j, sl->scope->version);
			jsonw_raw(&j, "},");
			jsonw_key(&j, "logRecords");
			jsonw_raw(&j, "[");
			for (size_t i = 0; i < sl->n_log_records; i++) {
				if (i)
					jsonw_raw(&j, ",");
				j_record(&j, sl->log_records[i]);
			}
			jsonw_raw(&j, "]}");
		}
		jsonw_raw(&j, "]}");
	}
	jsonw_raw(&j, "]}");
	return j.err;
}

/* ==== The body ==== */

int otlp_logs_render(const struct eventq *q, size_t n, enum otlp_protocol protocol,
		     const char *host, uint8_t **body, size_t *len)
{
	/* the metrics export's resource (otlp_encode.c), so both signals meet */
	static const char *const res_keys[] = { "service.name", "service.version", "host.name",
						"os.type" };
	const char *res_values[] = { "gespann", GESPANN_VERSION, host ? host : "unknown", "linux" };
	enum { N_RES = sizeof(res_keys) / sizeof(res_keys[0]) };
	pb_key_value res_kv[N_RES], *res_kvp[N_RES];
	pb_any_value res_v[N_RES];
	pb_logs_request req;
	pb_resource_logs rl, *rlp = &rl;
	pb_scope_logs sl, *slp = &sl;
	pb_resource res;
	pb_scope scope;
	pb_log_record **lrs = NULL;
	struct rec_pb *recs = NULL;
	int err = 0;

	if (!body || !len || n > eventq_len(q))
		return -EINVAL;
	*body = NULL;
	*len = 0;
	if (n) {
		recs = calloc(n, sizeof(*recs));
		lrs = calloc(n, sizeof(*lrs));
		if (!recs || !lrs) {
			err = -ENOMEM;
			goto out;
		}
	}
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&req);
	opentelemetry__proto__logs__v1__resource_logs__init(&rl);
	opentelemetry__proto__logs__v1__scope_logs__init(&sl);
	opentelemetry__proto__resource__v1__resource__init(&res);
	opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
	for (size_t i = 0; i < N_RES; i++) {
		opentelemetry__proto__common__v1__key_value__init(&res_kv[i]);
		opentelemetry__proto__common__v1__any_value__init(&res_v[i]);
		res_kv[i].key = (char *)res_keys[i];
		res_v[i].value_case = PB_STRING;
		res_v[i].string_value = (char *)res_values[i];
		res_kv[i].value = &res_v[i];
		res_kvp[i] = &res_kv[i];
	}
	res.attributes = res_kvp;
	res.n_attributes = N_RES;
	scope.name = OTLP_SCOPE_NAME;
	scope.version = GESPANN_VERSION;
	for (size_t i = 0; i < n; i++) {
		build_record(&recs[i], eventq_at(q, i));
		lrs[i] = &recs[i].lr;
	}
	sl.scope = &scope;
	sl.log_records = lrs;
	sl.n_log_records = n;
	rl.resource = &res;
	rl.scope_logs = &slp;
	rl.n_scope_logs = 1;
	req.resource_logs = &rlp;
	req.n_resource_logs = 1;

	if (protocol == OTLP_HTTP_JSON) {
		struct strbuf sb;

		strbuf_init(&sb);
		err = encode_json(&req, &sb);
		if (err) {
			strbuf_free(&sb);
			goto out;
		}
		*body = (uint8_t *)sb.buf;
		*len = sb.len;
	} else {
		size_t sz = protobuf_c_message_get_packed_size(&req.base);
		uint8_t *p = malloc(sz ? sz : 1);

		if (!p) {
			err = -ENOMEM;
			goto out;
		}
		*len = protobuf_c_message_pack(&req.base, p);
		*body = p;
	}
out:
	free(recs);
	free(lrs);
	return err;
}
