/* SPDX-License-Identifier: MIT */
/*
 * Secrets never reach a log line or an error message: a URL's userinfo
 * (https://user:pass@host/) is shown as user:***@ (or ***@ when it has no
 * colon: a token), and a header value (OTLP `headers:`, Authorization) is
 * never shown at all (REDACT_HIDDEN in its place). Every place that logs a
 * URL or echoes a config value goes through here.
 */
#ifndef GESPANN_REDACT_H
#define GESPANN_REDACT_H

#include <stddef.h>

/* What stands in for a secret. */
#define REDACT_HIDDEN "***"

/*
 * s with the password of a "scheme://user:pass@host..." URL replaced by
 * REDACT_HIDDEN, into buf (cut to size, always terminated). Anything else
 * (no "://", no '@' before the path) is copied as is. Returns buf.
 */
const char *redact_url(const char *s, char *buf, size_t size);

#endif
