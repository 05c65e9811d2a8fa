// SPDX-License-Identifier: MIT
/*
 * Prometheus exporter: serves the registry over HTTP in text format 0.0.4.
 *
 * libmicrohttpd runs in external epoll mode: it owns one epoll fd that the
 * main loop watches, and does its work only inside prometheus_exporter_run(),
 * so no thread is added and a scrape never races the collector.
 *
 * Abusive clients are handled by the guard (httpguard.c): caps per address
 * and in total, a deadline for the whole request head, room made at a cap by
 * cutting the connection that has waited longest for its head. Bodies are
 * shared (httpbody.c): a scrape renders a new body unless PROM_MAX_BODIES are
 * still being sent, in which case it shares the newest if that is younger
 * than PROM_BODY_SHARE_MS; an older one is replaced and the readers of the
 * bodies before it are cut. So at most PROM_MAX_BODIES + 1 bodies (each with
 * its gzip form) exist, however many slow readers there are, and a body is
 * never rewritten while on the wire. Connections are kept alive (HTTP/1.1)
 * and /metrics is gzipped when the request accepts it.
 *
 * The format follows the Accept header: OpenMetrics 1.0.0 (with _created
 * samples) when the scraper prefers it, as Prometheus does, else text 0.0.4.
 * Each scraper (scrapers.c) is shown counter and histogram series created
 * since its previous scrape at 0 first, so rate() sees a failure that
 * happened once. A shared body (the overload path above) was rendered for
 * another scraper: it is served as it is and the scraper's view is left
 * unchanged.
 *
 * A scrape at the series caps is megabytes of text, most of it the same as
 * the scrape before. The registry keeps each family's rendering, and its
 * deflated form, until the family changes (registry_render_cached()), so a
 * scrape renders and compresses only the families that changed; when nothing
 * changed and no series is shown at 0, the newest body is served again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/log.h"
#include "exporters/httpbody.h"
#include "exporters/httpguard.h"
#include "exporters/prometheus.h"
#include "exporters/scrapers.h"
#include "exporters/webconfig.h"
#include "metrics/catalogue.h"

#define PROM_CONNECTION_LIMIT	  128 /* the guard's global cap */
#define PROM_PER_ADDRESS_LIMIT	  8
#define PROM_CLOSING_SLACK	  32	/* cut connections libmicrohttpd has not closed yet */
#define PROM_CONNECTION_TIMEOUT_S 10	/* libmicrohttpd's: no byte either way for that long */
#define PROM_HEAD_TIMEOUT_MS	  5000	/* first request head complete, from accept */
#define PROM_KEEPALIVE_MS	  10000 /* next request head, from the last response */
#define PROM_MAX_BODIES		  2
#define PROM_BODY_SHARE_MS	  10000
#define PROM_CONTENT_TYPE	  "text/plain; version=0.0.4; charset=utf-8"
#define OM_CONTENT_TYPE		  "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define TEXT_CONTENT_TYPE	  "text/plain; charset=utf-8"

struct prometheus_exporter {
	struct MHD_Daemon *daemon;
	struct webconfig *web; /* web_config_file: TLS, basic auth, headers; NULL: none */
	struct registry *reg;
	prometheus_refresh_fn refresh;
	void *ctx;
	struct strbuf render; /* the next body is rendered here */
	struct http_body_set bodies;
	struct http_body *cur; /* the newest body */
	bool cur_om;	       /* it is OpenMetrics text */
	bool cur_plain;	       /* it shows no series at 0 */
	uint64_t cur_changes;  /* registry_changes() when it was rendered */
	struct scrapers scrapers;
	uint64_t scrapers_published; /* forgotten count last published */
	struct http_guard guard;
	int head_due_ms;	  /* ms from the last run to the next head deadline, or -1 */
	uint64_t guard_published; /* sum of the guard's counts last published */
	uint64_t scrapes;
	int epoll_fd;
	uint16_t port;
};

static const char index_page[] = "Gespann network connection exporter\n"
				 "Metrics: /metrics\n"
				 "Health: /healthz\n";

/* ==== Responses ==== */

static enum MHD_Result queue(struct prometheus_exporter *e, struct MHD_Connection *conn,
			     unsigned int status, struct MHD_Response *resp,
			     const char *content_type)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
	    webconfig_add_headers(e->web, resp) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_text(struct prometheus_exporter *e, struct MHD_Connection *conn,
				    unsigned int status, const char *text)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	return queue(e, conn, status, resp, TEXT_CONTENT_TYPE);
}

static enum MHD_Result respond_not_allowed(struct prometheus_exporter *e,
					   struct MHD_Connection *conn)
{
	static const char text[] = "method not allowed\n";
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text,
					       MHD_RESPMEM_PERSISTENT);
	if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	return queue(e, conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp, TEXT_CONTENT_TYPE);
}

static int64_t prom_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The guard's record of a connection (NULL when untracked). */
static struct http_guard_conn *guard_conn(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* A response that serves b has finished with it. */
static void body_release(void *cls)
{
	http_body_put(cls);
}

/* The guard's counts into the registry, when they changed. */
static void publish_guard(struct prometheus_exporter *e)
{
	uint64_t sum = 0;

	for (int i = 0; i < HTTP_REJECT_MAX; i++)
		sum += http_guard_count(i);
	if (sum != e->guard_published) {
		http_guard_publish(e->reg);
		e->guard_published = sum;
	}
}

/* The scrapers forgotten at the table's bound, when that changed. */
static void publish_scrapers(struct prometheus_exporter *e)
{
	struct metric_family *f;

	if (e->scrapers.forgotten == e->scrapers_published)
		return;
	f = registry_find(e->reg, catalogue[M_SCRAPERS_FORGOTTEN].name);
	if (!f)
		f = catalogue_declare(e->reg, M_SCRAPERS_FORGOTTEN);
	if (f && !registry_set(f, NULL, (double)e->scrapers.forgotten))
		e->scrapers_published = e->scrapers.forgotten;
}

/* Who asks: what it has seen, and the format it wants. */
struct scrape_req {
	const struct sockaddr *addr;
	socklen_t addr_len;
	const char *user_agent;
	bool om;
	bool gzip; /* it accepts gzip */
};

/*
 * Whether the newest body is what a render for rq would make: same format,
 * no change in the registry since, neither it nor rq showing a series at 0
 * first; and it has its gzip form when rq wants that.
 */
static bool cur_still_fits(const struct prometheus_exporter *e, const struct scrape_req *rq,
			   bool plain)
{
	return e->cur && plain && e->cur_plain && e->cur_om == rq->om &&
	       e->cur_changes == registry_changes(e->reg) &&
	       (!rq->gzip || http_body_has_gzip(e->cur));
}

/*
 * A body for the scraper rq after a refresh, the newest from now on: the
 * newest again when nothing it shows changed, else a new one rendered from
 * the registry's caches (registry_render_cached()), with its gzip form when
 * rq wants it.
 */
static int render_body(struct prometheus_exporter *e, const struct scrape_req *rq, int64_t now)
{
	struct registry_render_opts o = { .format = rq->om ? REGISTRY_OPENMETRICS : REGISTRY_TEXT };
	struct http_body *b;
	struct strbuf gz;
	bool plain;
	int err;

	if (e->refresh)
		e->refresh(e->ctx);
	publish_guard(e);
	publish_scrapers(e);
	strbuf_reset(&e->render);
	/* after the refresh: what it created is new to this scraper */
	o.shown_upto = scrapers_scrape(&e->scrapers, rq->addr, rq->addr_len, rq->user_agent,
				       registry_generation(e->reg), now);
	plain = !registry_has_new(e->reg, o.shown_upto);
	if (cur_still_fits(e, rq, plain))
		return 0;
	strbuf_init(&gz);
	err = registry_render_cached(e->reg, &o, &e->render, rq->gzip ? &gz : NULL);
	if (err) {
		strbuf_free(&gz);
		return err;
	}
	b = http_body_new(&e->bodies, &e->render, now);
	if (!b) {
		strbuf_free(&gz);
		return -ENOMEM;
	}
	if (rq->gzip)
		http_body_set_gzip(b, &gz);
	http_body_put(e->cur);
	e->cur = b;
	e->cur_om = rq->om;
	e->cur_plain = plain;
	e->cur_changes = registry_changes(e->reg);
	return 0;
}

/*
 * The body for a scrape: a new one unless PROM_MAX_BODIES are being sent and
 * the newest is younger than PROM_BODY_SHARE_MS (then that one). Replacing a
 * body older than that while PROM_MAX_BODIES are being sent cuts the readers
 * of all but the newest, so no more than PROM_MAX_BODIES + 1 ever exist.
 */
static int metrics_body(struct prometheus_exporter *e, const struct scrape_req *rq,
			struct http_body **out)
{
	int64_t now = prom_now_ms();
	struct http_body *cur = e->cur;
	bool busy = cur && http_body_refs(cur) > 1;
	int err;

	if (busy && e->bodies.alive >= PROM_MAX_BODIES) {
		/* a body in another format than asked is never shared */
		if (now - http_body_born_ms(cur) < PROM_BODY_SHARE_MS && e->cur_om == rq->om) {
			*out = cur;
			return 0;
		}
		http_guard_cut_readers(&e->guard, cur);
	}
	err = render_body(e, rq, now);
	if (!err)
		*out = e->cur;
	return err;
}

static enum MHD_Result respond_metrics(struct prometheus_exporter *e, struct MHD_Connection *conn)
{
	struct http_guard_conn *gc = guard_conn(conn);
	const union MHD_ConnectionInfo *ci;
	struct scrape_req rq = { 0 };
	struct MHD_Response *resp;
	struct http_body *b;
	const char *data;
	bool gzip;
	size_t len;
	int err;

	e->scrapes++;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		rq.addr = ci->client_addr;
		rq.addr_len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
								       sizeof(struct sockaddr_in);
	}
	rq.user_agent =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
	rq.om = http_accepts_openmetrics(
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	rq.gzip = http_accepts_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								MHD_HTTP_HEADER_ACCEPT_ENCODING));
	err = metrics_body(e, &rq, &b);
	if (err) {
		pr_warn("failed to render metrics: %s", strerror(-err));
		return respond_text(e, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "render failed\n");
	}
	gzip = rq.gzip;
	data = http_body_data(b, gzip, &len);
	if (!data && gzip) { /* no gzip form: plain is always acceptable */
		gzip = false;
		data = http_body_data(b, false, &len);
	}
	http_body_get(b);
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)data,
								      body_release, b);
	if (!resp) {
		http_body_put(b);
		return MHD_NO;
	}
	/* two Vary lines (a list header may repeat): the body depends on both */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING) !=
		    MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT) !=
		    MHD_YES ||
	    (gzip &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip") != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	if (gc) {
		http_body_get(b);
		http_body_put(gc->body);
		gc->body = b;
	}
	return queue(e, conn, MHD_HTTP_OK, resp, e->cur_om ? OM_CONTENT_TYPE : PROM_CONTENT_TYPE);
}

/*
 * GET and HEAD are answered on the second call, once libmicrohttpd has read
 * the whole request: a reply queued earlier makes it close the connection
 * (it cannot tell where the next pipelined request starts), which would end
 * keep-alive. Other methods, and a GET that carries a body, are answered at
 * once: no route takes a body, and that connection is then closed.
 */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	static int head_seen; /* *con_cls after the first call */
	struct prometheus_exporter *e = cls;
	struct http_guard_conn *gc = guard_conn(conn);
	enum MHD_Result refused;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		if (gc)
			http_guard_answering(gc);
		return respond_not_allowed(e, conn);
	}
	if (!*con_cls) {
		if (gc)
			http_guard_answering(gc);
		*con_cls = &head_seen;
		return MHD_YES;
	}
	/* the whole head is read: client certificate, then basic auth (403, 401) */
	if (!webconfig_admit(e->web, conn, &refused))
		return refused;
	if (!strcmp(url, "/metrics"))
		return respond_metrics(e, conn);
	if (!strcmp(url, "/"))
		return respond_text(e, conn, MHD_HTTP_OK, index_page);
	if (!strcmp(url, "/healthz"))
		return respond_text(e, conn, MHD_HTTP_OK, "ok\n");
	return respond_text(e, conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ==== Connection guard hooks ==== */

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct prometheus_exporter *e = cls;

	return http_guard_admit(&e->guard, addr, len) ? MHD_YES : MHD_NO;
}

static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct prometheus_exporter *e = cls;
	const union MHD_ConnectionInfo *addr, *fd;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_guard_close(&e->guard, *socket_context);
		*socket_context = NULL;
		return;
	}
	addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!fd)
		return; /* served untracked */
	*socket_context = http_guard_open(&e->guard, addr ? addr->client_addr : NULL,
					  fd->connect_fd, prom_now_ms());
}

/* A request was answered (or its connection closed): the next head is due. */
static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct prometheus_exporter *e = cls;
	struct http_guard_conn *gc = guard_conn(conn);

	(void)con_cls;
	(void)toe;
	if (gc)
		http_guard_done(&e->guard, gc, prom_now_ms());
}

/*
 * libmicrohttpd's own messages are mostly about misbehaving clients (bad
 * requests, timeouts); they are debug noise for a metrics endpoint. Startup
 * failures are reported by prometheus_exporter_start() itself.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pr_debug("microhttpd: %s", msg);
}

/* ==== Lifecycle ==== */

struct prometheus_exporter *prometheus_exporter_start(const char *address, uint16_t port,
						      struct registry *reg,
						      prometheus_refresh_fn refresh, void *ctx)
{
	return prometheus_exporter_start_web(address, port, NULL, reg, refresh, ctx);
}

struct prometheus_exporter *prometheus_exporter_start_web(const char *address, uint16_t port,
							  const char *web_config_file,
							  struct registry *reg,
							  prometheus_refresh_fn refresh, void *ctx)
{
	struct MHD_OptionItem web_opts[WEBCONFIG_MHD_OPTIONS];
	char web_err[512];
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct prometheus_exporter *e;
	const char *lb = "", *rb = "";
	int err;

	if (!address || !reg) {
		pr_err("failed to listen on %s:%u: %s", address ? address : "(null)", port,
		       strerror(EINVAL));
		return NULL;
	}
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, address, &addr.in.sin_addr) == 1) {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons(port);
	} else if (inet_pton(AF_INET6, address, &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(port);
		/* "::" means every address, IPv4 included; a specific one only itself */
		flags |= IN6_IS_ADDR_UNSPECIFIED(&addr.in6.sin6_addr) ? MHD_USE_DUAL_STACK :
									MHD_USE_IPv6;
		lb = "[";
		rb = "]";
	} else {
		pr_err("failed to listen on %s:%u: not an IPv4 or IPv6 address", address, port);
		return NULL;
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		pr_err("failed to listen on %s%s%s:%u: %s", lb, address, rb, port,
		       strerror(ENOMEM));
		return NULL;
	}
	e->reg = reg;
	e->refresh = refresh;
	e->ctx = ctx;
	strbuf_init(&e->render);
	e->guard.per_address = PROM_PER_ADDRESS_LIMIT;
	e->guard.total = PROM_CONNECTION_LIMIT;
	e->guard.head_ms = PROM_HEAD_TIMEOUT_MS;
	e->guard.keepalive_ms = PROM_KEEPALIVE_MS;
	e->head_due_ms = -1;
	/* read again at each start: a reload picks up new certificates and users */
	if (web_config_file && web_config_file[0] &&
	    webconfig_load(web_config_file, &e->web, web_err, sizeof(web_err))) {
		pr_err("failed to listen on %s%s%s:%u: %s", lb, address, rb, port, web_err);
		strbuf_free(&e->render);
		free(e);
		return NULL;
	}
	flags |= webconfig_mhd_flags(e->web);
	webconfig_mhd_options(e->web, web_opts);

	errno = 0;
	e->daemon = MHD_start_daemon(
		flags, port, accept_policy, e, handle_request, e, MHD_OPTION_SOCK_ADDR, &addr.sa,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)(PROM_CONNECTION_LIMIT + PROM_CLOSING_SLACK),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PROM_CONNECTION_TIMEOUT_S,
		MHD_OPTION_NOTIFY_CONNECTION, connection_notify, e, MHD_OPTION_NOTIFY_COMPLETED,
		request_completed, e, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, e, MHD_OPTION_ARRAY,
		web_opts, MHD_OPTION_END);
	if (!e->daemon) {
		/* libmicrohttpd leaves the failing socket call's errno behind */
		err = errno ? errno : EINVAL;
		pr_err("failed to listen on %s%s%s:%u: %s", lb, address, rb, port, strerror(err));
		webconfig_free(e->web);
		free(e);
		return NULL;
	}

	info = MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	e->epoll_fd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_BIND_PORT);
	e->port = info ? info->port : port;
	if (e->epoll_fd < 0) {
		pr_err("failed to listen on %s%s%s:%u: no epoll fd from microhttpd", lb, address,
		       rb, port);
		MHD_stop_daemon(e->daemon);
		webconfig_free(e->web);
		free(e);
		return NULL;
	}
	pr_info("prometheus exporter listening on %s%s%s:%u%s%s", lb, address, rb, e->port,
		webconfig_tls(e->web) ? " (TLS)" : "",
		webconfig_users(e->web) ? " (basic auth)" : "");
	return e;
}

int prometheus_exporter_fd(const struct prometheus_exporter *e)
{
	return e ? e->epoll_fd : -EINVAL;
}

uint16_t prometheus_exporter_port(const struct prometheus_exporter *e)
{
	return e ? e->port : 0;
}

uint64_t prometheus_exporter_scrapes(const struct prometheus_exporter *e)
{
	return e ? e->scrapes : 0;
}

int prometheus_exporter_timeout_ms(const struct prometheus_exporter *e)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int mhd = -1, head;

	if (!e)
		return -1;
	if (MHD_get_timeout(e->daemon, &ms) == MHD_YES)
		mhd = ms > INT_MAX ? INT_MAX : (int)ms;
	head = e->head_due_ms;
	if (head >= 0 && (mhd < 0 || head < mhd))
		return head;
	return mhd;
}

void prometheus_exporter_run(struct prometheus_exporter *e)
{
	if (!e)
		return;
	MHD_run(e->daemon);
	e->head_due_ms = http_guard_sweep(&e->guard, prom_now_ms());
	publish_guard(e);
}

void prometheus_exporter_stop(struct prometheus_exporter *e)
{
	if (!e)
		return;
	/* closes every connection, which releases the bodies they were sent */
	MHD_stop_daemon(e->daemon);
	http_body_put(e->cur);
	strbuf_free(&e->render);
	webconfig_free(e->web);
	free(e);
}

/* ==== Adapter interface ==== */

static void *prom_start(const struct adapter_config *cfg, const struct exporter_env *env)
{
	return prometheus_exporter_start_web(cfg->address, cfg->port, cfg->web_config_file,
					     env->reg, env->refresh, env->refresh_ctx);
}

static int prom_fd(void *state)
{
	return prometheus_exporter_fd(state);
}

static int prom_timeout_ms(void *state)
{
	return prometheus_exporter_timeout_ms(state);
}

static void prom_run(void *state)
{
	prometheus_exporter_run(state);
}

static void prom_stop(void *state)
{
	prometheus_exporter_stop(state);
}

static uint64_t prom_zero(const void *state)
{
	(void)state;
	return 0;
}

const struct exporter_ops prometheus_exporter_ops = {
	.type = "prometheus",
	.start = prom_start,
	.fd = prom_fd,
	.timeout_ms = prom_timeout_ms,
	.run = prom_run,
	.stop = prom_stop,
	.errors = prom_zero,
	.dropped = prom_zero,
};
