// SPDX-License-Identifier: MIT
/*
 * OTLP exporter: pushes the registry to an OpenTelemetry collector (or any
 * OTLP receiver) every interval, as http/protobuf, http/json or grpc.
 *
 * Encoding: each snapshot is one ExportMetricsServiceRequest of the whole
 * registry, as otlp_render() (otlp_encode.c) writes it.
 *
 * Transport: libcurl's multi interface in socket mode. Curl's sockets go into
 * an epoll fd of our own, which is the fd the main loop watches (epoll fds
 * nest), and its timer becomes our timeout; run() hands ready sockets and
 * expired timers to curl_multi_socket_action(). Nothing blocks the loop: at
 * most one request of each signal is in flight, and a snapshot that falls
 * due while one is still running is dropped and counted.
 *
 * Retries: 429, 502, 503, 504 and connection failures are retried after
 * Retry-After, or an exponential backoff from 1 s to 30 s with jitter, until
 * the next snapshot is due and replaces the pending one. Any other status is
 * an error, not retried. Every snapshot ends delivered or dropped; every
 * failed request is an error. Warnings are limited to one a minute.
 *
 * Logs (`logs: true`): the events the flows queue (metrics/eventq.h) go to
 * the endpoint's /v1/logs every second, as otlp_logs_render() writes them,
 * on a request slot of their own (its own handle and connection), so a
 * slow logs request never holds a metrics snapshot back nor the reverse.
 * A batch is retried like a snapshot, for at most an interval, then dropped
 * with its records counted; meanwhile new events wait in the queue.
 *
 * gRPC: the same request on HTTP/2 (h2c with prior knowledge for http://,
 * ALPN for https://) to the service's Export method, the body in a gRPC
 * frame; grpc.c reads the status from the trailers (or a trailers-only
 * response) and says which codes are retried. A RetryInfo delay stands in
 * for Retry-After. A partial success (rejected data points) is delivered,
 * not retried, and warned about.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/redact.h"
#include "exporters/exporter.h"
#include "exporters/grpc.h"
#include "exporters/otlp.h"
#include "exporters/otlp_logs.h"
#include "metrics/eventq.h"

#define NS_PER_MS  UINT64_C(1000000)
#define NS_PER_SEC UINT64_C(1000000000)

#define OTLP_BACKOFF_MIN  (1 * NS_PER_SEC)
#define OTLP_BACKOFF_MAX  (30 * NS_PER_SEC)
#define OTLP_WARN_EVERY	  (60 * NS_PER_SEC)
#define OTLP_ERR_BODY_MAX 200 /* response bytes kept for the warning */
#define OTLP_EPOLL_BATCH  16
/* how often queued events are sent: OpenTelemetry's batch log processor
 * default (scheduledDelayMillis) */
#define OTLP_LOGS_EVERY	  (1 * NS_PER_SEC)

enum otlp_outcome {
	OTLP_DELIVERED = 0,
	OTLP_RETRY = 1,	 /* 429, 502, 503, 504, connection failures */
	OTLP_FAILED = 2, /* anything else: an error, not retried */
};

/* ==== Compression ==== */

/* gzip (RFC 1952) of in into a malloc'ed *out. Returns 0, -ENOMEM or -EIO. */
static int otlp_gzip(const void *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs;
	uint8_t *buf;
	uLong bound;
	int rc;

	if (len > UINT_MAX)
		return -EFBIG;
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: the gzip wrapper, which Content-Encoding: gzip means */
	rc = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK)
		return rc == Z_MEM_ERROR ? -ENOMEM : -EIO;
	bound = deflateBound(&zs, (uLong)len);
	buf = malloc(bound);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*out_len = zs.total_out;
	return 0;
}

/* ==== Retry policy ==== */

/* What a finished request means: curl's result, then the HTTP status. */
static enum otlp_outcome otlp_classify(CURLcode rc, long status)
{
	if (rc != CURLE_OK) {
		switch (rc) {
		/* a configuration or build problem: the next try fails the same way */
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_NOT_BUILT_IN:
		case CURLE_FAILED_INIT:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_OUT_OF_MEMORY:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			return OTLP_FAILED;
		default:
			/* refused, reset, timed out, name not resolved: like a 503 */
			return OTLP_RETRY;
		}
	}
	if (status >= 200 && status <= 299)
		return OTLP_DELIVERED;
	switch (status) {
	case 429:
	case 502:
	case 503:
	case 504:
		return OTLP_RETRY;
	}
	return OTLP_FAILED;
}

/*
 * Delay a Retry-After value asks for, in ns: delta-seconds or an HTTP date
 * (relative to now, Unix seconds), at least 1 s so a "0" cannot make a storm.
 * Returns -1 when the value is absent or unreadable.
 */
static int64_t otlp_retry_after_ns(const char *v, time_t now)
{
	unsigned long long secs;
	const char *p;
	char *end;
	time_t t;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!*v)
		return -1;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		secs = strtoull(v, &end, 10);
		for (p = end; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
			;
		if (errno || *p)
			return -1;
	} else {
		t = curl_getdate(v, NULL);
		if (t == -1)
			return -1;
		secs = t > now ? (unsigned long long)(t - now) : 0;
	}
	if (secs < 1)
		secs = 1;
	if (secs > 24 * 3600) /* past any interval anyway */
		secs = 24 * 3600;
	return (int64_t)(secs * NS_PER_SEC);
}

/*
 * Backoff before retry number attempt (1 for the first retry): 1 s, 2 s, 4 s ...
 * plus up to half again of jitter (rnd is a uniform 32-bit random number),
 * never below 1 s nor above 30 s.
 */
static uint64_t otlp_backoff_ns(unsigned int attempt, uint32_t rnd)
{
	unsigned int shift = attempt > 1 ? attempt - 1 : 0;
	uint64_t base, d;

	if (shift > 5)
		shift = 5;
	base = OTLP_BACKOFF_MIN << shift;
	if (base > OTLP_BACKOFF_MAX)
		base = OTLP_BACKOFF_MAX;
	d = base + (uint64_t)((double)(base / 2) * ((double)rnd / 4294967296.0));
	if (d < OTLP_BACKOFF_MIN)
		d = OTLP_BACKOFF_MIN;
	if (d > OTLP_BACKOFF_MAX)
		d = OTLP_BACKOFF_MAX;
	return d;
}

/* ==== Exporter state ==== */

/* What a request carries; each has a request slot of its own. */
enum otlp_signal {
	OTLP_SIG_METRICS = 0,
	OTLP_SIG_LOGS,
	OTLP_SIG_MAX,
};

/* The gRPC method of each signal's Export. */
static const char *const otlp_grpc_methods[OTLP_SIG_MAX] = {
	[OTLP_SIG_METRICS] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
	[OTLP_SIG_LOGS] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

struct otlp_exporter;

/* One signal's request: a handle (it keeps its connection alive), the body
 * being sent or waiting for a retry, what the last response said. */
struct otlp_req {
	struct otlp_exporter *e;
	enum otlp_signal signal;
	CURL *easy; /* NULL: the signal is off */
	uint8_t *body;
	size_t body_len;
	size_t n_records; /* logs: the records in body */
	bool in_flight;
	bool retry_pending;
	uint64_t retry_at_ns;
	uint64_t give_up_ns;   /* no retry starts after this */
	unsigned int attempts; /* requests made for the current body */
	char retry_after[64];  /* Retry-After of the last response */
	char resp_head[OTLP_ERR_BODY_MAX + 1];
	size_t resp_len;
	char curl_err[CURL_ERROR_SIZE];
	struct grpc_response *grpc; /* protocol grpc: this call's response; else NULL */
};

struct otlp_exporter {
	char name[32];
	char endpoint[512];
	char shown[512]; /* the endpoint for logs: its password redacted */
	enum otlp_protocol protocol;
	bool gzip;
	uint64_t interval_ns;
	uint64_t timeout_ns;
	struct registry *reg;
	void (*refresh)(void *ctx);
	void *refresh_ctx;
	char host[256];
	uint64_t start_unix_ns; /* start_time_unix_nano of cumulative points */

	CURLM *multi;
	struct curl_slist *headers;
	int epfd;		  /* curl's sockets; the fd the main loop watches */
	int64_t curl_deadline_ns; /* curl's timer (monotonic), or -1 */
	bool global_init;

	struct otlp_req req[OTLP_SIG_MAX];
	uint64_t next_export_ns;
	uint32_t rnd;
	bool grpc;		  /* protocol grpc */
	uint64_t rejected_points; /* partial successes: data points or records not accepted */

	/* logs: true */
	struct eventq *events;
	char logs_url[640];
	char metrics_url[640]; /* grpc: the endpoint with the Export method's path */
	char logs_shown[512];  /* logs_url, its password redacted */
	uint64_t next_logs_ns;

	uint64_t delivered, errors, dropped;
	uint64_t failures_since_ok;
	uint64_t last_warn_ns;
	bool warned; /* a warning since the last success */
	uint64_t suppressed;
};

static uint32_t next_rnd(struct otlp_exporter *e)
{
	uint32_t x = e->rnd; /* xorshift32: jitter only */

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	e->rnd = x;
	return x;
}

/* One warning a minute at most; the rest go to debug and are counted. */
static void otlp_warn(struct otlp_exporter *e, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void otlp_warn(struct otlp_exporter *e, uint64_t now, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->last_warn_ns && now - e->last_warn_ns < OTLP_WARN_EVERY) {
		e->suppressed++;
		pr_debug("adapter %s: %s", e->name, msg);
		return;
	}
	if (e->suppressed)
		pr_warn("adapter %s: %s (%" PRIu64 " more problems in the last minute)", e->name,
			msg, e->suppressed);
	else
		pr_warn("adapter %s: %s", e->name, msg);
	e->last_warn_ns = now;
	e->suppressed = 0;
	e->warned = true;
}

/* ==== libcurl glue ==== */

static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct otlp_exporter *e = userp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		/* the socket may be closed already: nothing to undo then */
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT &&
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev)) {
		pr_debug("adapter %s: epoll_ctl on curl socket %d: %s", e->name, (int)s,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* curl asks to be called back in timeout_ms; run() does that. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct otlp_exporter *e = userp;

	e->curl_deadline_ns =
		timeout_ms < 0 ? -1 : (int64_t)(mono_ns() + (uint64_t)timeout_ms * NS_PER_MS);
	return 0;
}

static size_t curl_header_cb(char *buf, size_t size, size_t n, void *userp)
{
	static const char name[] = "retry-after:";
	struct otlp_req *r = userp;
	size_t len = size * n, vlen;
	const char *v;

	if (r->grpc) /* headers, then the trailers after the body */
		grpc_response_header(r->grpc, buf, len);
	/* a new response (after a 100 Continue or a redirect) starts afresh */
	if (len >= 5 && !strncmp(buf, "HTTP/", 5))
		r->retry_after[0] = '\0';
	if (len <= sizeof(name) - 1 || strncasecmp(buf, name, sizeof(name) - 1))
		return len;
	v = buf + sizeof(name) - 1;
	vlen = len - (sizeof(name) - 1);
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	if (vlen >= sizeof(r->retry_after))
		vlen = sizeof(r->retry_after) - 1;
	memcpy(r->retry_after, v, vlen);
	r->retry_after[vlen] = '\0';
	return len;
}

/* The response body matters only in a warning: keep its first bytes. */
static size_t curl_write_cb(char *buf, size_t size, size_t n, void *userp)
{
	struct otlp_req *r = userp;
	size_t len = size * n, room = OTLP_ERR_BODY_MAX - r->resp_len;

	if (r->grpc) {
		grpc_response_body(r->grpc, buf, len);
		return len;
	}
	if (room) {
		if (len < room)
			room = len;
		memcpy(r->resp_head + r->resp_len, buf, room);
		r->resp_len += room;
		r->resp_head[r->resp_len] = '\0';
	}
	return len;
}

/* The response text, printable and on one line, for a warning. */
static const char *resp_text(struct otlp_req *r)
{
	for (size_t i = 0; i < r->resp_len; i++) {
		if (!isprint((unsigned char)r->resp_head[i]))
			r->resp_head[i] = ' ';
	}
	return r->resp_head;
}

/* ==== Sending ==== */

/* (Re)send r's body on r's handle. */
static void start_request(struct otlp_exporter *e, struct otlp_req *r, uint64_t now)
{
	CURLMcode mc;

	r->retry_pending = false;
	r->retry_after[0] = '\0';
	r->resp_len = 0;
	r->resp_head[0] = '\0';
	r->curl_err[0] = '\0';
	if (r->grpc)
		grpc_response_reset(r->grpc);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, (const char *)r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	mc = curl_multi_add_handle(e->multi, r->easy);
	if (mc != CURLM_OK) {
		e->errors++;
		e->dropped++;
		if (r->signal == OTLP_SIG_LOGS)
			eventq_count_lost(r->n_records);
		otlp_warn(e, now, "failed to start a request: %s", curl_multi_strerror(mc));
		return;
	}
	r->in_flight = true;
	r->attempts++;
	pr_debug("adapter %s: POST %s (%zu bytes, attempt %u)", e->name,
		 r->signal == OTLP_SIG_LOGS ? e->logs_shown : e->shown, r->body_len, r->attempts);
}

/*
 * Send a new body (malloc'ed, taken over; n_records log records in it) for
 * signal sig, whose slot is idle. A logs batch is retried until give_up_ns
 * at the latest, a snapshot until the next one is due.
 */
static void send_body(struct otlp_exporter *e, enum otlp_signal sig, uint8_t *body, size_t len,
		      size_t n_records, uint64_t give_up_ns, uint64_t now)
{
	struct otlp_req *r = &e->req[sig];

	free(r->body);
	r->body = body;
	r->body_len = len;
	r->n_records = n_records;
	r->attempts = 0;
	r->give_up_ns = give_up_ns;
	start_request(e, r, now);
}

/* A body ends undelivered: counted once, with its log records. */
static void drop_body(struct otlp_exporter *e, struct otlp_req *r)
{
	e->dropped++;
	if (r->signal == OTLP_SIG_LOGS)
		eventq_count_lost(r->n_records);
	r->n_records = 0;
}

/*
 * A completed gRPC call: its status (grpc.c), and for a retry the RetryInfo
 * delay if the server sent one (at least 1 s, like Retry-After). Writes
 * "gRPC NAME (CODE): message" into what.
 */
static enum otlp_outcome grpc_outcome(struct otlp_req *req, long status, int64_t *delay, char *what,
				      size_t size)
{
	const struct grpc_response *r = req->grpc;
	int code = grpc_response_status(r, status);
	enum grpc_verdict v = grpc_classify(code, r->has_retry_info);
	const char *name = grpc_code_name(code);
	long version = 0;

	curl_easy_getinfo(req->easy, CURLINFO_HTTP_VERSION, &version);
	if (version != CURL_HTTP_VERSION_2_0) {
		/* an HTTP/1 server behind https:// (no h2 in ALPN) */
		snprintf(what, size, "the server answered HTTP/1 (status %ld), not HTTP/2", status);
		return OTLP_FAILED;
	}
	if (r->status < 0) /* an intermediary's answer, or a stream cut short */
		snprintf(what, size, "gRPC %s (%d): HTTP %ld without grpc-status", name, code,
			 status);
	else
		snprintf(what, size, "gRPC %s (%d)%s%s", name ? name : "status", code,
			 r->message[0] ? ": " : "", r->message);
	/* printable, on one line */
	for (char *p = what; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	}
	if (v == GRPC_VERDICT_RETRY && r->has_retry_info) {
		uint64_t d = r->retry_delay_ns;

		if (d < NS_PER_SEC)
			d = NS_PER_SEC;
		if (d > 24 * 3600 * NS_PER_SEC)
			d = 24 * 3600 * NS_PER_SEC;
		*delay = (int64_t)d;
	}
	return v == GRPC_VERDICT_OK    ? OTLP_DELIVERED :
	       v == GRPC_VERDICT_RETRY ? OTLP_RETRY :
					 OTLP_FAILED;
}

/*
 * partial_success of an Export response: the same two fields for every
 * signal (ExportMetricsServiceResponse, ExportLogsServiceResponse:
 * partial_success = 1 { int64 rejected_data_points|log_records = 1;
 * string error_message = 2; }), read from the wire because the vendored
 * protos predate the field. Returns 0 (*rejected 0 and msg "" when absent)
 * or -EBADMSG.
 */
static int otlp_partial_success(const uint8_t *buf, size_t len, int64_t *rejected, char *msg,
				size_t size)
{
	const uint8_t *p = buf, *end = buf + len;
	struct grpc_pb_field f, g;
	int rc;

	*rejected = 0;
	msg[0] = '\0';
	while ((rc = grpc_pb_next(&p, end, &f)) == 1) {
		const uint8_t *q;

		if (f.num != 1 || f.wire != 2)
			continue;
		q = f.bytes;
		while ((rc = grpc_pb_next(&q, f.bytes + f.len, &g)) == 1) {
			if (g.num == 1 && g.wire == 0)
				*rejected = (int64_t)g.varint;
			else if (g.num == 2 && g.wire == 2)
				snprintf(msg, size, "%.*s", (int)(g.len < size ? g.len : size - 1),
					 (const char *)g.bytes);
		}
		if (rc < 0)
			return -EBADMSG;
	}
	return rc < 0 ? -EBADMSG : 0;
}

/*
 * A delivered gRPC call's response: a partial success means the receiver
 * dropped rejected points of it (or has a warning); not to be retried
 * (OTLP), counted and warned about.
 */
static void grpc_partial_success(struct otlp_exporter *e, struct otlp_req *r, uint64_t now)
{
	char msg[GRPC_MESSAGE_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	bool warned = e->warned;
	int64_t rejected;
	int err;

	err = grpc_response_message(r->grpc, &buf, &len);
	if (!err) {
		err = otlp_partial_success(buf, len, &rejected, msg, sizeof(msg));
		free(buf);
	}
	if (err) {
		if (err != -ENOMSG)
			pr_debug("adapter %s: unreadable response message: %s", e->name,
				 strerror(-err));
		return;
	}
	if (rejected <= 0 && !msg[0])
		return;
	for (char *p = msg; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	}
	if (rejected > 0)
		e->rejected_points += (uint64_t)rejected;
	otlp_warn(e, now, "export to %s: partial success, %" PRId64 " %s rejected%s%s",
		  r->signal == OTLP_SIG_LOGS ? e->logs_shown : e->shown,
		  rejected > 0 ? rejected : 0,
		  r->signal == OTLP_SIG_LOGS ? "log records" : "data points", msg[0] ? ": " : "",
		  msg);
	e->warned = warned; /* delivered: no "works again" to follow */
}

static void finish_request(struct otlp_exporter *e, struct otlp_req *r, CURLcode rc, long status,
			   uint64_t now)
{
	enum otlp_outcome out = otlp_classify(rc, status);
	const char *url = r->signal == OTLP_SIG_LOGS ? e->logs_shown : e->shown;
	/* a snapshot is retried until the next one is due and replaces it */
	uint64_t give_up = r->signal == OTLP_SIG_METRICS ? e->next_export_ns : r->give_up_ns;
	int64_t delay = -1;
	char what[CURL_ERROR_SIZE + 64 + GRPC_MESSAGE_MAX];

	if (r->grpc && rc == CURLE_OK)
		out = grpc_outcome(r, status, &delay, what, sizeof(what));
	if (out == OTLP_DELIVERED) {
		if (r->grpc)
			grpc_partial_success(e, r, now);
		e->delivered++;
		r->n_records = 0;
		if (e->warned)
			pr_info("adapter %s: export to %s works again after %" PRIu64
				" failed requests",
				e->name, url, e->failures_since_ok);
		e->warned = false;
		e->failures_since_ok = 0;
		pr_debug("adapter %s: delivered (HTTP %ld)", e->name, status);
		return;
	}
	e->errors++;
	e->failures_since_ok++;
	if (rc != CURLE_OK)
		snprintf(what, sizeof(what), "%s",
			 r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc));
	else if (!r->grpc)
		snprintf(what, sizeof(what), "HTTP %ld", status);

	if (out == OTLP_RETRY) {
		if (rc == CURLE_OK && delay < 0)
			delay = otlp_retry_after_ns(r->retry_after, time(NULL));
		if (delay < 0)
			delay = (int64_t)otlp_backoff_ns(r->attempts, next_rnd(e));
		if (now + (uint64_t)delay < give_up) {
			r->retry_pending = true;
			r->retry_at_ns = now + (uint64_t)delay;
			otlp_warn(e, now, "export to %s failed (%s), retrying in %" PRIu64 " ms",
				  url, what, (uint64_t)delay / NS_PER_MS);
			return;
		}
		drop_body(e, r);
		if (r->signal == OTLP_SIG_LOGS)
			otlp_warn(e, now, "export to %s failed (%s); the logs batch is dropped",
				  url, what);
		else /* the next snapshot is due first and replaces this one */
			otlp_warn(e, now, "export to %s failed (%s); the next snapshot replaces it",
				  url, what);
		return;
	}
	drop_body(e, r);
	if (rc == CURLE_OK && r->resp_len)
		otlp_warn(e, now, "export to %s failed (%s, not retried): %s", url, what,
			  resp_text(r));
	else
		otlp_warn(e, now, "export to %s failed (%s, not retried)", url, what);
}

/* A body as it goes out, in place: gzip'ed when compression: gzip, then in
 * a gRPC frame for protocol grpc. Returns 0 or negative errno (body freed
 * then). */
static int wrap_body(const struct otlp_exporter *e, uint8_t **body, size_t *len)
{
	uint8_t *z;
	size_t z_len;
	int err;

	if (e->gzip) {
		err = otlp_gzip(*body, *len, &z, &z_len);
		free(*body);
		*body = err ? NULL : z;
		*len = err ? 0 : z_len;
		if (err)
			return err;
	}
	if (e->grpc) {
		err = grpc_frame(*body, *len, e->gzip, &z, &z_len);
		free(*body);
		*body = err ? NULL : z;
		*len = err ? 0 : z_len;
		if (err)
			return err;
	}
	return 0;
}

/* Encode a fresh snapshot into a malloc'ed body. Returns 0 or negative errno. */
static int take_snapshot(struct otlp_exporter *e, uint8_t **body, size_t *len)
{
	int err;

	if (e->refresh)
		e->refresh(e->refresh_ctx);
	err = otlp_render(e->reg, e->protocol, e->host, e->start_unix_ns, unix_ns(), body, len);
	return err ? err : wrap_body(e, body, len);
}

static void export_due(struct otlp_exporter *e, uint64_t now)
{
	struct otlp_req *r = &e->req[OTLP_SIG_METRICS];
	uint8_t *body = NULL;
	size_t len = 0;
	int err;

	if (r->in_flight) {
		e->dropped++;
		otlp_warn(e, now, "previous export to %s still running, snapshot dropped",
			  e->shown);
		return;
	}
	if (r->retry_pending) /* superseded before its retry */
		e->dropped++;
	r->retry_pending = false;
	err = take_snapshot(e, &body, &len);
	if (err) {
		e->errors++;
		e->dropped++;
		otlp_warn(e, now, "failed to encode a snapshot: %s", strerror(-err));
		return;
	}
	send_body(e, OTLP_SIG_METRICS, body, len, 0, 0, now);
}

/* Every queued event in one logs request, when the logs slot is idle; a
 * batch waiting for its retry holds the next one back (events wait in
 * the queue, which drops and counts what does not fit). */
static void logs_due(struct otlp_exporter *e, uint64_t now)
{
	struct otlp_req *r = &e->req[OTLP_SIG_LOGS];
	size_t n = eventq_len(e->events);
	uint8_t *body = NULL;
	size_t len = 0;
	int err;

	if (!n || r->in_flight || r->retry_pending)
		return;
	err = otlp_logs_render(e->events, n, e->protocol, e->host, &body, &len);
	eventq_pop(e->events, n);
	if (!err)
		err = wrap_body(e, &body, &len);
	if (err) {
		e->errors++;
		e->dropped++;
		eventq_count_lost(n);
		otlp_warn(e, now, "failed to encode %zu log records: %s", n, strerror(-err));
		return;
	}
	send_body(e, OTLP_SIG_LOGS, body, len, n, now + e->interval_ns, now);
}

/* Hand ready sockets and an expired timer to curl, then collect results. */
static void curl_drive(struct otlp_exporter *e)
{
	struct epoll_event evs[OTLP_EPOLL_BATCH];
	int running, n;
	CURLMsg *msg;

	n = epoll_wait(e->epfd, evs, OTLP_EPOLL_BATCH, 0);
	for (int i = 0; i < n; i++) {
		int mask = 0;

		if (evs[i].events & EPOLLIN)
			mask |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(e->multi, evs[i].data.fd, mask, &running);
	}
	if (e->curl_deadline_ns >= 0 && mono_ns() >= (uint64_t)e->curl_deadline_ns) {
		/* the callback may set a new deadline during the call */
		e->curl_deadline_ns = -1;
		curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(e->multi, &n))) {
		struct otlp_req *r = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode rc;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		/* msg is invalid from here on */
		curl_multi_remove_handle(e->multi, easy);
		if (!r)
			continue;
		r->in_flight = false;
		finish_request(e, r, rc, status, mono_ns());
	}
}

/* ==== Adapter interface ==== */

static void otlp_stop(void *state)
{
	struct otlp_exporter *e = state;

	if (!e)
		return;
	/* no final flush: it could only block or be cut short */
	for (int i = 0; i < OTLP_SIG_MAX; i++) {
		struct otlp_req *r = &e->req[i];

		/* abandoned: a logs batch's records are lost */
		if (i == OTLP_SIG_LOGS && (r->in_flight || r->retry_pending))
			eventq_count_lost(r->n_records);
		if (r->in_flight)
			curl_multi_remove_handle(e->multi, r->easy);
		if (r->easy)
			curl_easy_cleanup(r->easy);
		free(r->body);
		free(r->grpc);
	}
	eventq_free(e->events); /* detaches it; what waited is counted lost */
	if (e->multi)
		curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->headers);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->global_init)
		curl_global_cleanup();
	free(e);
}

static int add_header(void *ctx, const char *line)
{
	struct otlp_exporter *e = ctx;
	struct curl_slist *l = curl_slist_append(e->headers, line);

	if (!l)
		return -ENOMEM;
	e->headers = l;
	return 0;
}

/* Header lines: ours first, then the configured ones (ours win on a clash). */
static int build_headers(struct otlp_exporter *e, const struct adapter_config *cfg)
{
	static const char *const reserved[] = { "content-type", "content-encoding",
						"content-length" };
	char line[sizeof(cfg->headers[0][0]) * 2 + 4];
	struct curl_slist *l;
	int err;

	if (e->grpc) {
		err = grpc_request_headers(e->gzip, e->timeout_ns, add_header, e);
		if (!err) /* HTTP/2 has no 100-continue; say so for any libcurl */
			err = add_header(e, "Expect:");
		if (err)
			return err;
		goto user;
	}
	snprintf(line, sizeof(line), "Content-Type: %s",
		 e->protocol == OTLP_HTTP_JSON ? "application/json" : "application/x-protobuf");
	if (!(l = curl_slist_append(e->headers, line)))
		return -ENOMEM;
	e->headers = l;
	if (e->gzip) {
		if (!(l = curl_slist_append(e->headers, "Content-Encoding: gzip")))
			return -ENOMEM;
		e->headers = l;
	}
	/* the body is sent at once: no 100-continue round trip */
	if (!(l = curl_slist_append(e->headers, "Expect:")))
		return -ENOMEM;
	e->headers = l;
user:
	for (size_t i = 0; i < cfg->n_headers && i < CONFIG_MAX_HEADERS; i++) {
		const char *hname = cfg->headers[i][0], *value = cfg->headers[i][1];
		/* a line break would end the header: refuse rather than inject */
		bool skip = !hname[0] || strpbrk(hname, "\r\n:") || strpbrk(value, "\r\n");

		for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]) && !skip; k++)
			skip = !strcasecmp(hname, reserved[k]);
		skip = skip || (e->grpc && grpc_header_reserved(hname));
		if (skip) {
			pr_warn("adapter %s: header \"%s\" ignored: reserved or malformed", e->name,
				hname);
			continue;
		}
		snprintf(line, sizeof(line), "%s: %s", hname, value);
		/* HTTP/2 field names are lowercase (RFC 9113 8.2.1) */
		for (size_t k = 0; e->grpc && line[k] != ':'; k++)
			line[k] = (char)tolower((unsigned char)line[k]);
		if (!(l = curl_slist_append(e->headers, line)))
			return -ENOMEM;
		e->headers = l;
	}
	return 0;
}

/* The handle of request slot r, posting to url. */
static int setup_easy(struct otlp_exporter *e, struct otlp_req *r, const char *url)
{
	uint64_t timeout_ms = e->timeout_ns / NS_PER_MS;
	CURLcode rc = CURLE_OK;

	r->easy = curl_easy_init();
	if (!r->easy)
		return -ENOMEM;
	if (e->grpc && !(r->grpc = calloc(1, sizeof(*r->grpc))))
		return -ENOMEM;
	if (timeout_ms < 1)
		timeout_ms = 1;
	if (timeout_ms > LONG_MAX)
		timeout_ms = LONG_MAX;
#define SET(opt, val)                                             \
	do {                                                      \
		if (rc == CURLE_OK)                               \
			rc = curl_easy_setopt(r->easy, opt, val); \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_HTTPHEADER, e->headers);
	SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "gespann/" GESPANN_VERSION);
	SET(CURLOPT_HEADERFUNCTION, curl_header_cb);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_WRITEFUNCTION, curl_write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_ERRORBUFFER, r->curl_err);
	SET(CURLOPT_PRIVATE, r);
	if (e->grpc && strncasecmp(e->endpoint, "https:", 6)) {
		/* h2c with prior knowledge. libcurl 7.88 (Debian 12) fails every
		 * request after the first on a reused h2c connection ("Error in
		 * the HTTP2 framing layer"; h2 over TLS is not affected): one
		 * connection per push, a loopback or LAN connect every interval */
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		SET(CURLOPT_FORBID_REUSE, 1L);
	} else if (e->grpc) { /* h2 chosen in the TLS handshake (ALPN) */
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	}
#undef SET
	if (rc != CURLE_OK) {
		pr_err("adapter %s: failed to set up the HTTP client: %s", e->name,
		       curl_easy_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

/* The URL of a signal's gRPC method: the endpoint (scheme://host[:port], no
 * path: otlp_settings.c) without a trailing "/", then the method's path. */
static int grpc_method_url(const struct otlp_exporter *e, enum otlp_signal sig, char *out,
			   size_t size)
{
	size_t n = strlen(e->endpoint);
	int w;

	if (n && e->endpoint[n - 1] == '/')
		n--;
	w = snprintf(out, size, "%.*s%s", (int)n, e->endpoint, otlp_grpc_methods[sig]);
	return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

static int setup_curl(struct otlp_exporter *e)
{
	int err;

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -EIO;
	e->global_init = true;
	e->multi = curl_multi_init();
	if (!e->multi)
		return -ENOMEM;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	err = e->grpc ?
		      grpc_method_url(e, OTLP_SIG_METRICS, e->metrics_url, sizeof(e->metrics_url)) :
		      0;
	if (!err)
		err = setup_easy(e, &e->req[OTLP_SIG_METRICS],
				 e->grpc ? e->metrics_url : e->endpoint);
	if (!err && e->events)
		err = setup_easy(e, &e->req[OTLP_SIG_LOGS], e->logs_url);
	return err;
}

/*
 * Where logs go over HTTP: the metrics endpoint with its path's /v1/metrics
 * ending turned into /v1/logs (OTLP/HTTP's signal paths), query kept. An
 * endpoint of another path has no logs path to guess: an error.
 */
static int http_logs_endpoint(struct otlp_exporter *e)
{
	static const char suffix[] = "/v1/metrics";
	CURLU *u = curl_url();
	char *path = NULL, *url = NULL, *fixed = NULL;
	size_t n;
	int ret = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, e->endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	n = strlen(path);
	if (n < sizeof(suffix) - 1 || strcmp(path + n - (sizeof(suffix) - 1), suffix))
		goto out;
	fixed = malloc(n + 8);
	if (!fixed) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(fixed, n + 8, "%.*s/v1/logs", (int)(n - (sizeof(suffix) - 1)), path);
	if (curl_url_set(u, CURLUPART_PATH, fixed, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	if (strlen(url) >= sizeof(e->logs_url))
		goto out;
	snprintf(e->logs_url, sizeof(e->logs_url), "%s", url);
	redact_url(e->logs_url, e->logs_shown, sizeof(e->logs_shown));
	ret = 0;
out:
	if (ret == -EINVAL)
		pr_err("adapter %s: logs: true needs an endpoint whose path ends in /v1/metrics "
		       "(logs go to the same path ending in /v1/logs), not \"%s\"",
		       e->name, e->shown);
	free(fixed);
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	return ret;
}

/* Where logs go: over gRPC the endpoint with LogsService's method. */
static int logs_endpoint(struct otlp_exporter *e)
{
	if (e->grpc) { /* the same endpoint, LogsService's method */
		int err = grpc_method_url(e, OTLP_SIG_LOGS, e->logs_url, sizeof(e->logs_url));

		if (!err)
			redact_url(e->logs_url, e->logs_shown, sizeof(e->logs_shown));
		return err;
	}
	return http_logs_endpoint(e);
}

/* logs: true: the event queue, attached for the flows to fill. */
static int setup_logs(struct otlp_exporter *e, const struct adapter_config *cfg)
{
	int err = logs_endpoint(e);

	if (err)
		return err;
	e->events = eventq_new(cfg->logs_rate, cfg->logs_queue);
	if (!e->events) {
		err = -errno;
		pr_err("adapter %s: failed to make the event queue (%" PRIu32 " records): %s",
		       e->name, cfg->logs_queue, strerror(-err));
		return err;
	}
	eventq_set_sample(e->events, cfg->logs_sample);
	if (eventq_attach(e->events)) {
		pr_err("adapter %s: logs: true on two otlp adapters; events go to one only",
		       e->name);
		return -EBUSY;
	}
	return 0;
}

/* http:// or https:// with a host, as curl reads it. */
static int check_endpoint(const char *name, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, shown[512];
	int ret = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
		pr_err("adapter %s: endpoint \"%s\" is not an http:// or https:// URL", name,
		       redact_url(url, shown, sizeof(shown)));
		ret = -EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static void *otlp_start(const struct adapter_config *cfg, const struct exporter_env *env)
{
	struct otlp_exporter *e = calloc(1, sizeof(*e));
	int err;

	if (!e) {
		pr_err("adapter %s: %s", env->name, strerror(ENOMEM));
		return NULL;
	}
	e->epfd = -1;
	e->curl_deadline_ns = -1;
	for (int i = 0; i < OTLP_SIG_MAX; i++) {
		e->req[i].e = e;
		e->req[i].signal = (enum otlp_signal)i;
	}
	snprintf(e->name, sizeof(e->name), "%s", env->name ? env->name : "otlp");
	/* the defaults are otlp_settings.c's rows, applied by the config parser */
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", cfg->endpoint);
	redact_url(e->endpoint, e->shown, sizeof(e->shown));
	e->protocol = cfg->protocol;
	e->gzip = cfg->gzip != 0;
	e->grpc = e->protocol == OTLP_GRPC;
	e->interval_ns = cfg->interval_ns;
	e->timeout_ns = cfg->timeout_ns;
	e->reg = env->reg;
	e->refresh = env->refresh;
	e->refresh_ctx = env->refresh_ctx;
	if (gethostname(e->host, sizeof(e->host) - 1) || !e->host[0])
		snprintf(e->host, sizeof(e->host), "unknown");
	e->start_unix_ns = unix_ns();
	e->rnd = (uint32_t)(mono_ns() ^ ((uint64_t)getpid() << 16)) | 1;

	err = check_endpoint(e->name, e->endpoint);
	if (err)
		goto fail;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		err = -errno;
		pr_err("adapter %s: failed to create an epoll fd: %s", e->name, strerror(-err));
		goto fail;
	}
	err = cfg->logs ? setup_logs(e, cfg) : 0;
	if (!err)
		err = build_headers(e, cfg);
	if (!err)
		err = setup_curl(e);
	if (err) {
		if (err == -ENOMEM)
			pr_err("adapter %s: failed to set up the HTTP client: %s", e->name,
			       strerror(ENOMEM));
		goto fail;
	}
	e->next_export_ns = mono_ns() + e->interval_ns;
	e->next_logs_ns = mono_ns() + OTLP_LOGS_EVERY;
	pr_info("otlp exporter pushing to %s every %" PRIu64 " ms (%s%s)", e->shown,
		e->interval_ns / NS_PER_MS,
		e->grpc			      ? "grpc" :
		e->protocol == OTLP_HTTP_JSON ? "http/json" :
						"http/protobuf",
		e->gzip ? ", gzip" : "");
	if (e->events)
		pr_info("otlp exporter sending events to %s every second (at most %" PRIu32
			" a second, %" PRIu32 " waiting)",
			e->logs_shown, cfg->logs_rate, cfg->logs_queue);
	return e;
fail:
	otlp_stop(e);
	return NULL;
}

static int otlp_fd(void *state)
{
	const struct otlp_exporter *e = state;

	return e ? e->epfd : -1;
}

/* ns until t (monotonic), rounded up to whole ms so the loop does not spin. */
static int ms_until(uint64_t t, uint64_t now)
{
	uint64_t ms;

	if (t <= now)
		return 0;
	ms = (t - now + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int otlp_timeout_ms(void *state)
{
	const struct otlp_exporter *e = state;
	uint64_t now = mono_ns();
	int t, best;

	if (!e)
		return -1;
	best = ms_until(e->next_export_ns, now);
	if (e->events) {
		t = ms_until(e->next_logs_ns, now);
		best = t < best ? t : best;
	}
	for (int i = 0; i < OTLP_SIG_MAX; i++) {
		const struct otlp_req *r = &e->req[i];

		if (r->retry_pending && !r->in_flight) {
			t = ms_until(r->retry_at_ns, now);
			best = t < best ? t : best;
		}
	}
	if (e->curl_deadline_ns >= 0) {
		t = ms_until((uint64_t)e->curl_deadline_ns, now);
		best = t < best ? t : best;
	}
	return best;
}

static void otlp_run(void *state)
{
	struct otlp_exporter *e = state;
	uint64_t now;

	if (!e)
		return;
	curl_drive(e);
	now = mono_ns();
	for (int i = 0; i < OTLP_SIG_MAX; i++) {
		struct otlp_req *r = &e->req[i];

		if (r->retry_pending && !r->in_flight && now >= r->retry_at_ns)
			start_request(e, r, now);
	}
	if (e->events && now >= e->next_logs_ns) {
		logs_due(e, now);
		e->next_logs_ns += OTLP_LOGS_EVERY;
		if (e->next_logs_ns <= now)
			e->next_logs_ns = now + OTLP_LOGS_EVERY;
	}
	if (now >= e->next_export_ns) {
		export_due(e, now);
		e->next_export_ns += e->interval_ns;
		/* after a stall, skip the missed intervals rather than burst */
		if (e->next_export_ns <= now)
			e->next_export_ns = now + e->interval_ns;
	}
}

static uint64_t otlp_errors(const void *state)
{
	const struct otlp_exporter *e = state;

	return e ? e->errors : 0;
}

static uint64_t otlp_dropped(const void *state)
{
	const struct otlp_exporter *e = state;

	return e ? e->dropped : 0;
}

static uint64_t otlp_rejected(const void *state)
{
	const struct otlp_exporter *e = state;

	return e ? e->rejected_points : 0;
}

const struct exporter_ops otlp_exporter_ops = {
	.type = "otlp",
	.start = otlp_start,
	.fd = otlp_fd,
	.timeout_ms = otlp_timeout_ms,
	.run = otlp_run,
	.stop = otlp_stop,
	.errors = otlp_errors,
	.dropped = otlp_dropped,
	.rejected = otlp_rejected,
};
