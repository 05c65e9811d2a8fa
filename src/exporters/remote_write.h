/* SPDX-License-Identifier: MIT */
/*
 * Prometheus remote write encoding as calls of their own: the body one push
 * of the registry sends (a WriteRequest, then its snappy block form), without
 * the HTTP client around it, so the tests and the exporter produce it the
 * same way.
 */
#ifndef GESPANN_EXPORTERS_REMOTE_WRITE_H
#define GESPANN_EXPORTERS_REMOTE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

/*
 * The WriteRequest of every series of reg, packed (not compressed) into a
 * malloc'ed *body of *len bytes. Counters and gauges are one TimeSeries each;
 * a histogram series is NAME_bucket{le=...} per bound and +Inf (cumulative),
 * NAME_sum and NAME_count. Every series has __name__, its own labels (empty
 * values left out, as Prometheus reads an empty label as an absent one) and
 * the n_ext external labels ext[i][0]=ext[i][1] whose names it does not
 * already have: a series' own label wins. Labels are sorted by name, as
 * receivers require. One sample each, at now_ms (Unix ms). One
 * MetricMetadata per family (type, help, unit). Returns 0, -ENOMEM or -EINVAL.
 */
int remote_write_render(const struct registry *reg, const char *const (*ext)[2], size_t n_ext,
			int64_t now_ms, uint8_t **body, size_t *len);

/* The snappy block form (not the framed one) of in, into a malloc'ed *out.
 * Returns 0, -ENOMEM, -EFBIG or -EIO. */
int remote_write_snappy(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif
