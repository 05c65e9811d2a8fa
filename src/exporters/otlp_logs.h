/* SPDX-License-Identifier: MIT */
/*
 * OTLP logs encoding as a call of its own: the body of one logs export
 * (an ExportLogsServiceRequest of queued events), without the transport
 * around it, so that HTTP (otlp.c), gRPC framing and the tests produce it
 * the same way.
 */
#ifndef GESPANN_EXPORTERS_OTLP_LOGS_H
#define GESPANN_EXPORTERS_OTLP_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/eventq.h"

/*
 * The ExportLogsServiceRequest of the n oldest records of q (n <=
 * eventq_len(q); q is not changed) as OTLP/JSON for OTLP_HTTP_JSON, else
 * protobuf (not compressed), into a malloc'ed *body of *len bytes (JSON is
 * NUL-terminated beyond len). One ResourceLogs with the resource of the
 * metrics export (host is its host.name), one ScopeLogs "gespann", one
 * LogRecord a record. Returns 0, -ENOMEM or -EINVAL.
 */
int otlp_logs_render(const struct eventq *q, size_t n, enum otlp_protocol protocol,
		     const char *host, uint8_t **body, size_t *len);

#endif
