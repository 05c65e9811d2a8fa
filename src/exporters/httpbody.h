/* SPDX-License-Identifier: MIT */
/*
 * Rendered /metrics bodies shared by every reader: one immutable,
 * reference-counted buffer per scrape generation, with its gzip form made on
 * the first request that asks for it. A slow reader holds a reference, never
 * a copy, so memory is bounded by the number of generations alive, not by
 * the number of readers.
 */
#ifndef GESPANN_EXPORTERS_HTTPBODY_H
#define GESPANN_EXPORTERS_HTTPBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

struct http_body;

/* Counts the bodies alive; must outlive them. */
struct http_body_set {
	unsigned int alive;
};

/*
 * A body that takes over sb's buffer (sb is left empty, ready for the next
 * render), born at now_ms, with one reference for the caller. NULL (errno
 * ENOMEM) on failure, sb untouched.
 */
struct http_body *http_body_new(struct http_body_set *set, struct strbuf *sb, int64_t now_ms);
/*
 * Give b its gzip form, made by the caller (registry_render_cached()): b
 * takes over gz's buffer and gz is left empty. Only before the first
 * http_body_data(b, true, ...); a gzip form already there is kept and gz
 * freed.
 */
void http_body_set_gzip(struct http_body *b, struct strbuf *gz);
/* Whether b's gzip form is made already. */
bool http_body_has_gzip(const struct http_body *b);
void http_body_get(struct http_body *b);
/* Drop a reference; the last one frees the body. Accepts NULL. */
void http_body_put(struct http_body *b);
unsigned int http_body_refs(const struct http_body *b);
int64_t http_body_born_ms(const struct http_body *b);
/*
 * The plain bytes, or the gzip form (made on the first call, then kept):
 * NULL when it cannot be made (no memory, zlib error). *len is the length.
 */
const char *http_body_data(struct http_body *b, bool gzip, size_t *len);

/* Whether an Accept-Encoding header value (may be NULL) accepts gzip:
 * a "gzip" or "x-gzip" coding without q=0. */
bool http_accepts_gzip(const char *accept_encoding);

/*
 * Whether an Accept header value (may be NULL) asks for OpenMetrics text
 * rather than Prometheus text 0.0.4: an application/openmetrics-text range
 * (no version, version=1.0.0 or 0.0.1) whose q is above 0 and above that of
 * text/plain and of the wildcards text/STAR and STAR/STAR (Prometheus 2.x
 * sends OpenMetrics at q=1 and text at 0.5; curl's STAR/STAR gets text).
 */
bool http_accepts_openmetrics(const char *accept);

#endif
