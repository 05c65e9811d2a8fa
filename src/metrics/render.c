// SPDX-License-Identifier: MIT
/*
 * Rendering the registry: Prometheus text 0.0.4 and OpenMetrics 1.0.0.
 *
 * Kept apart from registry.c (families, series, lookup) because the formats
 * grew their own rules: OpenMetrics names counter families without _total
 * and adds _created samples, and a scraper is shown the counter series it
 * has not seen yet at 0 first (registry_render_opts). Label pairs were
 * escaped when each series was created, so a render is a run of appends.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "metrics/registry.h"
#include "metrics/registry_int.h"

/* Integers with an exact double representation render without exponent. */
#define EXACT_INT_LIMIT 9007199254740992.0 /* 2^53 */

/*
 * Sample values: integers below 2^53 as plain integers ("12345", never
 * "1.2345e+04" or "12345.0"), anything else with %.17g so it reads back
 * exactly; the specials spelled the way the text format wants them.
 */
static void format_value(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (fabs(v) < EXACT_INT_LIMIT && v == trunc(v))
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "%.17g", v);
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

/* name+suffix{labels[,le="le"]} value\n, with the braces only when there are
 * labels; the name is its first n_name bytes. */
static int render_sample_n(struct strbuf *sb, const char *name, size_t n_name, const char *suffix,
			   const char *labels, const char *le, const char *value)
{
	size_t n_suffix = strlen(suffix), n_labels = strlen(labels);
	size_t n_le = le ? strlen(le) : 0, n_value = strlen(value), n;
	char *p;
	int err;

	n = n_name + n_suffix + n_labels + 2 + 1 + n_value + 1;
	if (le)
		n += 1 + 5 + n_le;
	err = strbuf_reserve(sb, n);
	if (err)
		return err;
	p = sb->buf + sb->len;
	p = mempcpy(p, name, n_name);
	p = mempcpy(p, suffix, n_suffix);
	if (n_labels || le) {
		*p++ = '{';
		p = mempcpy(p, labels, n_labels);
		if (le) {
			if (n_labels)
				*p++ = ',';
			p = mempcpy(p, "le=\"", 4);
			p = mempcpy(p, le, n_le);
			*p++ = '"';
		}
		*p++ = '}';
	}
	*p++ = ' ';
	p = mempcpy(p, value, n_value);
	*p++ = '\n';
	*p = '\0';
	sb->len = p - sb->buf;
	return 0;
}

static int render_sample(struct strbuf *sb, const char *name, const char *suffix,
			 const char *labels, const char *le, const char *value)
{
	return render_sample_n(sb, name, strlen(name), suffix, labels, le, value);
}

/* The options of one render: format and which series show 0. */
struct render_ctx {
	bool om;
	uint64_t shown_upto;
};

/* Counter and histogram series the scraper has not seen yet show 0 (registry.h). */
static bool render_zero(const struct render_ctx *rc, const struct metric_family *f,
			const struct series *s)
{
	return f->type != METRIC_GAUGE && s->born > rc->shown_upto;
}

/* OpenMetrics: the series' creation time in seconds, as NAME_created. */
static int render_created(struct strbuf *sb, const char *name, size_t n_name,
			  const struct series *s)
{
	char num[NUM_MAX];

	snprintf(num, sizeof(num), "%lld.%03lld", (long long)(s->created_ns / 1000000000),
		 (long long)(s->created_ns % 1000000000 / 1000000));
	return render_sample_n(sb, name, n_name, "_created", s->labels, NULL, num);
}

static int render_histogram(struct strbuf *sb, const struct metric_family *f,
			    const struct series *s, const struct render_ctx *rc)
{
	bool zero = render_zero(rc, f, s);
	char num[NUM_MAX];
	uint64_t total = 0;
	size_t i;
	int err;

	for (i = 0; i <= f->n_bounds; i++) {
		/* saturate rather than wrap: a bucket count must never go down */
		if (!zero)
			total = s->buckets[i] > UINT64_MAX - total ? UINT64_MAX :
								     total + s->buckets[i];
		snprintf(num, sizeof(num), "%llu", (unsigned long long)total);
		err = render_sample(sb, f->name, "_bucket", s->labels,
				    i < f->n_bounds ? f->le[i] : "+Inf", num);
		if (err)
			return err;
	}
	format_value(num, sizeof(num), zero ? 0 : s->sum);
	err = render_sample(sb, f->name, "_sum", s->labels, NULL, num);
	if (err)
		return err;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)total);
	err = render_sample(sb, f->name, "_count", s->labels, NULL, num);
	if (!err && rc->om)
		err = render_created(sb, f->name, strlen(f->name), s);
	return err;
}

/* Whether an OpenMetrics counter: its name ends in _total (the family drops it). */
static bool om_counter(const struct metric_family *f, size_t *base_len)
{
	size_t n = strlen(f->name);

	*base_len = n;
	if (f->type != METRIC_COUNTER || n <= 6 || strcmp(f->name + n - 6, "_total"))
		return false;
	*base_len = n - 6;
	return true;
}

/*
 * HELP and TYPE. OpenMetrics names a counter family without its _total and
 * escapes double quotes in HELP as well; a counter whose name lacks _total
 * is typed unknown there (its samples would otherwise be invalid).
 */
static int render_head(struct strbuf *sb, const struct metric_family *f,
		       const struct render_ctx *rc)
{
	const char *type = type_names[f->type];
	size_t n = strlen(f->name);
	const char *h;
	int err;

	if (rc->om && f->type == METRIC_COUNTER && !om_counter(f, &n))
		type = "unknown";
	err = strbuf_printf(sb, "# HELP %.*s%s", (int)n, f->name, *f->help ? " " : "");
	for (h = f->help; !err && *h; h++) {
		if (rc->om && *h == '"')
			err = strbuf_append(sb, "\\\"", 2);
		else
			err = strbuf_append(sb, h, 1);
	}
	if (err)
		return err;
	return strbuf_printf(sb, "\n# TYPE %.*s %s\n", (int)n, f->name, type);
}

static int render_family(struct strbuf *sb, const struct metric_family *f,
			 const struct render_ctx *rc)
{
	char num[NUM_MAX];
	size_t i, base;
	int err;

	err = render_head(sb, f, rc);
	if (err)
		return err;
	for (i = 0; i < f->n_series; i++) {
		const struct series *s = f->series[i];

		if (f->type == METRIC_HISTOGRAM) {
			err = render_histogram(sb, f, s, rc);
		} else {
			format_value(num, sizeof(num), render_zero(rc, f, s) ? 0 : s->value);
			err = render_sample(sb, f->name, "", s->labels, NULL, num);
			/* NAME_created next to NAME_total: the family's base name */
			if (!err && rc->om && om_counter(f, &base))
				err = render_created(sb, f->name, base, s);
		}
		if (err)
			return err;
	}
	return 0;
}

int registry_render(const struct registry *r, const struct registry_render_opts *o,
		    struct strbuf *out)
{
	struct render_ctx rc = { .om = false, .shown_upto = UINT64_MAX };
	const struct metric_family *f;
	int err;

	if (!r || !out)
		return -EINVAL;
	if (o) {
		rc.om = o->format == REGISTRY_OPENMETRICS;
		rc.shown_upto = o->shown_upto;
	}
	for (f = r->head; f; f = f->next) {
		err = render_family(out, f, &rc);
		if (err)
			return err;
	}
	return rc.om ? strbuf_append(out, "# EOF\n", 6) : 0;
}

int registry_render_prometheus(const struct registry *r, struct strbuf *out)
{
	return registry_render(r, NULL, out);
}
