/* SPDX-License-Identifier: MIT */
/*
 * OTLP encoding as a call of its own: the body one export of the registry
 * sends, without the HTTP client around it, so tests (the golden output)
 * and the exporter produce it the same way.
 */
#ifndef GESPANN_EXPORTERS_OTLP_H
#define GESPANN_EXPORTERS_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/registry.h"

/*
 * The ExportMetricsServiceRequest of every series of reg as protobuf or
 * OTLP/JSON (not compressed) into a malloc'ed *body of *len bytes (JSON is
 * NUL-terminated beyond len). host is the resource's host.name, start_ns the
 * start time of cumulative points and now_ns the snapshot's time (Unix ns).
 * Returns 0, -ENOMEM or -EINVAL.
 */
int otlp_render(const struct registry *reg, enum otlp_protocol protocol, const char *host,
		uint64_t start_ns, uint64_t now_ns, uint8_t **body, size_t *len);

#endif
