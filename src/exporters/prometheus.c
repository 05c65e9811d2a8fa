// SPDX-License-Identifier: MIT
/*
 * Prometheus exporter: serves the registry over HTTP in text format 0.0.4.
 *
 * libmicrohttpd runs in external epoll mode: it owns one epoll fd that the
 * main loop watches, and does its work only inside prometheus_exporter_run(),
 * so no thread is added and a scrape never races the collector. A connection
 * cap and an idle timeout keep a slow or stuck client from holding sockets.
 *
 * Scrapes render into one buffer kept across scrapes and hand it to
 * libmicrohttpd without a copy. While a response is still being sent from it
 * (a slow reader), a second scrape renders into a buffer of its own that
 * libmicrohttpd frees, so a body on the wire is never rewritten.
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

#include "util/log.h"
#include "exporters/prometheus.h"
#include "exporters/webconfig.h"

#define PROM_CONNECTION_LIMIT	  64
#define PROM_CONNECTION_TIMEOUT_S 10
#define PROM_CONTENT_TYPE	  "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CONTENT_TYPE	  "text/plain; charset=utf-8"

struct prometheus_exporter {
	struct MHD_Daemon *daemon;
	struct webconfig *web; /* web_config_file: TLS, basic auth, headers; NULL: none */
	struct registry *reg;
	prometheus_refresh_fn refresh;
	void *ctx;
	struct strbuf body; /* reused between scrapes */
	bool body_busy;	    /* a response is still being sent from body */
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

/* libmicrohttpd is done with the shared body: the next scrape may reuse it. */
static void body_release(void *cls)
{
	struct prometheus_exporter *e = cls;

	e->body_busy = false;
}

static enum MHD_Result respond_metrics(struct prometheus_exporter *e, struct MHD_Connection *conn)
{
	struct MHD_Response *resp;
	struct strbuf spare, *sb;
	int err;

	if (e->refresh)
		e->refresh(e->ctx);
	e->scrapes++;

	strbuf_init(&spare);
	sb = e->body_busy ? &spare : &e->body;
	strbuf_reset(sb);
	err = registry_render_prometheus(e->reg, sb);
	if (err) {
		pr_warn("failed to render metrics: %s", strerror(-err));
		strbuf_free(&spare);
		return respond_text(e, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "render failed\n");
	}
	if (sb == &e->body) {
		resp = MHD_create_response_from_buffer_with_free_callback_cls(sb->len, sb->buf,
									      body_release, e);
		if (resp)
			e->body_busy = true;
	} else {
		resp = MHD_create_response_from_buffer_with_free_callback_cls(sb->len, sb->buf,
									      free, sb->buf);
		if (!resp)
			strbuf_free(&spare);
	}
	return queue(e, conn, MHD_HTTP_OK, resp, PROM_CONTENT_TYPE);
}

/*
 * Every request is answered on the first call, before any upload is read: no
 * route takes a body, and libmicrohttpd closes the connection after replying
 * to a request whose body it has not consumed.
 */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct prometheus_exporter *e = cls;
	enum MHD_Result refused;

	if (!webconfig_admit(e->web, conn, &refused))
		return refused; /* client certificate or basic auth: 403 or 401 */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_not_allowed(e, conn);
	if (!strcmp(url, "/metrics"))
		return respond_metrics(e, conn);
	if (!strcmp(url, "/"))
		return respond_text(e, conn, MHD_HTTP_OK, index_page);
	if (!strcmp(url, "/healthz"))
		return respond_text(e, conn, MHD_HTTP_OK, "ok\n");
	return respond_text(e, conn, MHD_HTTP_NOT_FOUND, "not found\n");
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
	strbuf_init(&e->body);
	/* read again at each start: a reload picks up new certificates and users */
	if (web_config_file && web_config_file[0] &&
	    webconfig_load(web_config_file, &e->web, web_err, sizeof(web_err))) {
		pr_err("failed to listen on %s%s%s:%u: %s", lb, address, rb, port, web_err);
		free(e);
		return NULL;
	}
	flags |= webconfig_mhd_flags(e->web);
	webconfig_mhd_options(e->web, web_opts);

	errno = 0;
	e->daemon = MHD_start_daemon(
		flags, port, NULL, NULL, handle_request, e, MHD_OPTION_SOCK_ADDR, &addr.sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PROM_CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PROM_CONNECTION_TIMEOUT_S,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, e, MHD_OPTION_ARRAY, web_opts, MHD_OPTION_END);
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

	if (!e || MHD_get_timeout(e->daemon, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void prometheus_exporter_run(struct prometheus_exporter *e)
{
	if (e)
		MHD_run(e->daemon);
}

void prometheus_exporter_stop(struct prometheus_exporter *e)
{
	if (!e)
		return;
	/* closes every connection, which releases the shared body, before it is freed */
	MHD_stop_daemon(e->daemon);
	strbuf_free(&e->body);
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
