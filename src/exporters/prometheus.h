/* SPDX-License-Identifier: MIT */
/*
 * Prometheus exporter: GET /metrics serves the registry in text format 0.0.4.
 * The HTTP server (libmicrohttpd) runs inside the main loop: it exposes one
 * epoll fd and is driven by prometheus_exporter_run(); no thread of its own.
 */
#ifndef GESPANN_EXPORTERS_PROMETHEUS_H
#define GESPANN_EXPORTERS_PROMETHEUS_H

#include <stdint.h>

#include "metrics/registry.h"
#include "exporters/exporter.h"

struct prometheus_exporter;

/* Called before each render so the registry holds fresh values. */
typedef void (*prometheus_refresh_fn)(void *ctx);

/* Start listening on address:port ("0.0.0.0", "::", "127.0.0.1" ...); "::"
 * also accepts IPv4. Port 0 picks a free port (see _port). reg must outlive
 * the exporter; refresh may be NULL. GET/HEAD /metrics renders reg, / is an
 * index page, /healthz says "ok"; other paths are 404, other methods 405.
 * Returns NULL and logs "failed to listen on ADDR:PORT: REASON" on error
 * (IPv6 addresses in brackets). */
struct prometheus_exporter *prometheus_exporter_start(const char *address, uint16_t port,
						      struct registry *reg,
						      prometheus_refresh_fn refresh, void *ctx);
/* The same, with an exporter-toolkit web config file (webconfig.h) for TLS,
 * basic auth and headers when web_config_file is set ("" or NULL: plain
 * HTTP). The file is read here; a wrong one is logged as "failed to listen
 * on ADDR:PORT: FILE:LINE: ..." and NULL returned. */
struct prometheus_exporter *prometheus_exporter_start_web(const char *address, uint16_t port,
							  const char *web_config_file,
							  struct registry *reg,
							  prometheus_refresh_fn refresh, void *ctx);
/* The fd to add to the main epoll set (EPOLLIN); call _run when it is readable. */
int prometheus_exporter_fd(const struct prometheus_exporter *e);
/* Milliseconds until the server needs _run again without I/O, or -1. */
int prometheus_exporter_timeout_ms(const struct prometheus_exporter *e);
void prometheus_exporter_run(struct prometheus_exporter *e);
/* The port actually bound (useful after asking for port 0). */
uint16_t prometheus_exporter_port(const struct prometheus_exporter *e);
/* Requests served on /metrics since start. */
uint64_t prometheus_exporter_scrapes(const struct prometheus_exporter *e);
void prometheus_exporter_stop(struct prometheus_exporter *e); /* accepts NULL */

#endif
