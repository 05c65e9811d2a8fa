// SPDX-License-Identifier: MIT
/*
 * Rendering the registry: Prometheus text 0.0.4 and OpenMetrics 1.0.0.
 *
 * Kept apart from registry.c (families, series, lookup) because the formats
 * grew their own rules: OpenMetrics names counter families without _total
 * and adds _created samples, and a scraper is shown the counter series it
 * has not seen yet at 0 first (registry_render_opts). Label pairs were
 * escaped when each series was created, so a render is a run of appends.
 *
 * At the series caps a render is megabytes, and between two scrapes most of
 * it does not change. registry_render_cached() keeps each family's lines
 * per format in segments of SEGMENT_SERIES series, each with its deflated
 * form (pieces of raw deflate that end on a byte boundary and concatenate
 * into one gzip member), and renders and compresses again only a segment
 * one of whose series changed. Series a scraper is shown at 0 are always a
 * family's newest (series are kept in creation order), so its render is the
 * kept lines of what it has seen, then the rest rendered for it.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/registry.h"
#include "metrics/registry_int.h"

/* Integers with an exact double representation render without exponent. */
#define EXACT_INT_LIMIT 9007199254740992.0 /* 2^53 */

/*
 * v in decimal at buf (room for 21 bytes with the NUL), as "%llu" writes
 * it: the renders are mostly integers, and snprintf's parsing of the format
 * was a good part of their time.
 */
static char *format_u64(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*buf++ = tmp[--n];
	*buf = '\0';
	return buf;
}

/* As "%lld". */
static void format_i64(char *buf, int64_t v)
{
	if (v < 0) {
		*buf++ = '-';
		format_u64(buf, -(uint64_t)v);
	} else {
		format_u64(buf, (uint64_t)v);
	}
}

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
		format_i64(buf, (int64_t)v); /* |v| < 2^53: 17 digits at most */
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
	int64_t ms = s->created_ns % 1000000000 / 1000000;
	char num[NUM_MAX], *p;

	if (s->created_ns < 0) { /* not seen in practice; spelled as it always was */
		snprintf(num, sizeof(num), "%lld.%03lld", (long long)(s->created_ns / 1000000000),
			 (long long)ms);
	} else {
		p = format_u64(num, (uint64_t)(s->created_ns / 1000000000));
		p[0] = '.';
		p[1] = (char)('0' + ms / 100);
		p[2] = (char)('0' + ms / 10 % 10);
		p[3] = (char)('0' + ms % 10);
		p[4] = '\0';
	}
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
		format_u64(num, total);
		err = render_sample(sb, f->name, "_bucket", s->labels,
				    i < f->n_bounds ? f->le[i] : "+Inf", num);
		if (err)
			return err;
	}
	format_value(num, sizeof(num), zero ? 0 : s->sum);
	err = render_sample(sb, f->name, "_sum", s->labels, NULL, num);
	if (err)
		return err;
	format_u64(num, total);
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

/* One series' lines (with OpenMetrics' NAME_created). */
static int render_series(struct strbuf *sb, const struct metric_family *f, const struct series *s,
			 const struct render_ctx *rc)
{
	char num[NUM_MAX];
	size_t base;
	int err;

	if (f->type == METRIC_HISTOGRAM)
		return render_histogram(sb, f, s, rc);
	format_value(num, sizeof(num), render_zero(rc, f, s) ? 0 : s->value);
	err = render_sample(sb, f->name, "", s->labels, NULL, num);
	/* NAME_created next to NAME_total: the family's base name */
	if (!err && rc->om && om_counter(f, &base))
		err = render_created(sb, f->name, base, s);
	return err;
}

/* Series from..to-1; offs (when not NULL) gets where each starts in sb,
 * offs[0] for series from. */
static int render_series_range(struct strbuf *sb, const struct metric_family *f, size_t from,
			       size_t to, const struct render_ctx *rc, size_t *offs)
{
	int err;

	for (size_t i = from; i < to; i++) {
		if (offs)
			offs[i - from] = sb->len;
		err = render_series(sb, f, f->series[i], rc);
		if (err)
			return err;
	}
	return 0;
}

static int render_family(struct strbuf *sb, const struct metric_family *f,
			 const struct render_ctx *rc)
{
	int err;

	err = render_head(sb, f, rc);
	return err ? err : render_series_range(sb, f, 0, f->n_series, rc, NULL);
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

/* ==== Cached rendering ==== */

/*
 * Text kept between renders with its deflated form: raw deflate ending at a
 * byte boundary (a sync flush) and not final, so pieces concatenate into one
 * stream; crc is the CRC-32 of the text.
 */
struct piece {
	struct strbuf text;
	struct strbuf gz;
	bool gz_valid;
	uint32_t crc;
};

/*
 * Series lo..lo+n-1 of a family (lo a multiple of SEGMENT_SERIES) rendered
 * with their values (nothing at 0) at the family's `version`; offs[i] is
 * where series lo+i starts in the text.
 */
struct segment {
	struct piece p;
	bool valid;
	uint64_t version;
	size_t n;
	size_t offs[SEGMENT_SERIES];
};

/* A family's rendering in one format: its HELP and TYPE, then segments. */
struct family_cache {
	struct piece head;
	uint64_t layout; /* f->layout the segments belong to */
	struct segment **seg;
	size_t n_seg;
};

static void piece_free(struct piece *p)
{
	strbuf_free(&p->text);
	strbuf_free(&p->gz);
}

/* Free segments from..n_seg-1 of c. */
static void segments_drop(struct family_cache *c, size_t from)
{
	for (size_t j = from; j < c->n_seg; j++) {
		if (c->seg[j])
			piece_free(&c->seg[j]->p);
		free(c->seg[j]);
		c->seg[j] = NULL;
	}
	if (from < c->n_seg)
		c->n_seg = from;
}

void family_cache_free(struct metric_family *f)
{
	for (size_t i = 0; i < sizeof(f->cache) / sizeof(f->cache[0]); i++) {
		struct family_cache *c = f->cache[i];

		if (!c)
			continue;
		segments_drop(c, 0);
		free(c->seg);
		piece_free(&c->head);
		free(c);
		f->cache[i] = NULL;
	}
}

/* The first series shown at 0 (n_series when none): born grows along f->series. */
static size_t first_new(const struct metric_family *f, uint64_t shown_upto)
{
	size_t lo = 0, hi = f->n_series;

	if (f->type == METRIC_GAUGE)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->series[mid]->born > shown_upto)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

bool registry_has_new(const struct registry *r, uint64_t shown_upto)
{
	for (const struct metric_family *f = r ? r->head : NULL; f; f = f->next)
		if (first_new(f, shown_upto) < f->n_series)
			return true;
	return false;
}

/* f's cache for the format of rc, with its head rendered. */
static int cache_of(struct metric_family *f, const struct render_ctx *rc, struct family_cache **out)
{
	struct family_cache *c = f->cache[rc->om];
	size_t n_seg = (f->n_series + SEGMENT_SERIES - 1) / SEGMENT_SERIES;
	struct segment **seg;
	int err;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		f->cache[rc->om] = c;
		/* name, help and type never change: nor does the head */
		err = render_head(&c->head.text, f, rc);
		if (err) {
			family_cache_free(f);
			return err;
		}
		c->layout = f->layout;
	}
	if (c->layout != f->layout) {
		for (size_t j = 0; j < c->n_seg; j++)
			if (c->seg[j])
				c->seg[j]->valid = false;
		c->layout = f->layout;
	}
	segments_drop(c, n_seg); /* the family shrank */
	if (n_seg > c->n_seg) {
		seg = reallocarray(c->seg, n_seg, sizeof(*seg));
		if (!seg)
			return -ENOMEM;
		for (size_t j = c->n_seg; j < n_seg; j++)
			seg[j] = NULL;
		c->seg = seg;
		c->n_seg = n_seg;
	}
	*out = c;
	return 0;
}

/* Segment j of f's cache c, rendered again when a series of it changed. */
static int segment_get(struct metric_family *f, struct family_cache *c, size_t j,
		       const struct render_ctx *rc, struct segment **out)
{
	struct render_ctx all = { .om = rc->om, .shown_upto = UINT64_MAX };
	size_t lo = j * SEGMENT_SERIES, hi = lo + SEGMENT_SERIES;
	struct segment *s = c->seg[j];
	bool stale;
	int err;

	if (hi > f->n_series)
		hi = f->n_series;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		c->seg[j] = s;
	}
	*out = s;
	stale = !s->valid || s->n != hi - lo;
	for (size_t i = lo; !stale && i < hi; i++)
		stale = f->series[i]->changed > s->version;
	if (!stale)
		return 0;
	s->valid = false;
	s->p.gz_valid = false;
	strbuf_reset(&s->p.text);
	err = render_series_range(&s->p.text, f, lo, hi, &all, s->offs);
	if (err)
		return err;
	s->version = f->version;
	s->n = hi - lo;
	s->valid = true;
	return 0;
}

/* The bytes of one render's gzip member, made of deflated pieces. */
struct gz_build {
	struct strbuf *out;
	z_stream zs;
	bool zs_ready;
	uint32_t crc;
	uint64_t len;
};

/* Deflate data[0..n) as one piece (see struct piece) appended to out. */
static int deflate_piece(struct gz_build *g, const char *data, size_t n, struct strbuf *out)
{
	int err, ret;

	if (!g->zs_ready) {
		if (deflateInit2(&g->zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK)
			return -ENOMEM;
		g->zs_ready = true;
	} else if (deflateReset(&g->zs) != Z_OK) {
		return -EIO;
	}
	g->zs.next_in = (Bytef *)data;
	g->zs.avail_in = n;
	do {
		/* room for the bound, so one call nearly always does it */
		err = strbuf_reserve(out, deflateBound(&g->zs, g->zs.avail_in) + 16);
		if (err)
			return err;
		g->zs.next_out = (Bytef *)out->buf + out->len;
		g->zs.avail_out = out->cap - out->len - 1;
		ret = deflate(&g->zs, Z_SYNC_FLUSH);
		out->len = (char *)g->zs.next_out - out->buf;
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return -EIO;
	} while (g->zs.avail_in || !g->zs.avail_out);
	return 0;
}

/* Deflate and append text not kept anywhere (series shown at 0, # EOF). */
static int gz_add_fresh(struct gz_build *g, const char *data, size_t n)
{
	int err;

	err = deflate_piece(g, data, n, g->out);
	if (err)
		return err;
	g->crc = crc32_combine(g->crc, crc32(0, (const Bytef *)data, n), n);
	g->len += n;
	return 0;
}

/* A kept piece into out, and its deflated form (made once) into g. */
static int emit_piece(struct piece *p, struct strbuf *out, struct gz_build *g)
{
	int err;

	err = strbuf_append(out, p->text.buf, p->text.len);
	if (err || !g)
		return err;
	if (!p->gz_valid) {
		strbuf_reset(&p->gz);
		err = deflate_piece(g, p->text.buf, p->text.len, &p->gz);
		if (err)
			return err;
		p->crc = crc32(0, (const Bytef *)p->text.buf, p->text.len);
		p->gz_valid = true;
	}
	g->crc = crc32_combine(g->crc, p->crc, p->text.len);
	g->len += p->text.len;
	return strbuf_append(g->out, p->gz.buf, p->gz.len);
}

/*
 * f's lines for this render, and their gzip pieces when g is not NULL: the
 * kept segments of the series the scraper has seen, then the rest rendered
 * at 0 (the series it has not seen are the family's newest).
 */
static int cached_family(struct metric_family *f, const struct render_ctx *rc, struct strbuf *out,
			 struct gz_build *g)
{
	struct family_cache *c;
	struct segment *s;
	size_t j, k, lo, start;
	int err;

	err = cache_of(f, rc, &c);
	if (!err)
		err = emit_piece(&c->head, out, g);
	if (err)
		return err;
	k = first_new(f, rc->shown_upto);
	/* the segments the scraper has seen whole (the last one may be short) */
	for (j = 0;
	     j < c->n_seg && (j + 1 == c->n_seg ? f->n_series : (j + 1) * SEGMENT_SERIES) <= k;
	     j++) {
		err = segment_get(f, c, j, rc, &s);
		if (!err)
			err = emit_piece(&s->p, out, g);
		if (err)
			return err;
	}
	if (k == f->n_series)
		return 0;
	start = out->len;
	lo = j * SEGMENT_SERIES;
	if (k > lo) {
		err = segment_get(f, c, j, rc, &s);
		if (!err)
			err = strbuf_append(out, s->p.text.buf, s->offs[k - lo]);
		if (err)
			return err;
	}
	err = render_series_range(out, f, k, f->n_series, rc, NULL);
	if (err || !g)
		return err;
	return gz_add_fresh(g, out->buf + start, out->len - start);
}

/* gzip header: no name, no time, deflate, fastest (XFL 4), Unix (3). */
static const unsigned char gz_head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3 };

int registry_render_cached(struct registry *r, const struct registry_render_opts *o,
			   struct strbuf *out, struct strbuf *gz)
{
	struct render_ctx rc = { .om = false, .shown_upto = UINT64_MAX };
	struct gz_build g = { .out = gz, .crc = crc32(0, NULL, 0) };
	unsigned char tail[10];
	size_t start;
	int err = 0;

	if (!r || !out)
		return -EINVAL;
	if (o) {
		rc.om = o->format == REGISTRY_OPENMETRICS;
		rc.shown_upto = o->shown_upto;
	}
	if (gz)
		err = strbuf_append(gz, (const char *)gz_head, sizeof(gz_head));
	for (struct metric_family *f = r->head; f && !err; f = f->next)
		err = cached_family(f, &rc, out, gz ? &g : NULL);
	start = out->len;
	if (!err && rc.om)
		err = strbuf_append(out, "# EOF\n", 6);
	if (!err && gz && out->len > start)
		err = gz_add_fresh(&g, out->buf + start, out->len - start);
	if (!err && gz) {
		/* an empty final block (fixed codes: just end-of-block), then CRC and size */
		tail[0] = 0x03;
		tail[1] = 0x00;
		for (int i = 0; i < 4; i++) {
			tail[2 + i] = (g.crc >> (8 * i)) & 0xff;
			tail[6 + i] = (g.len >> (8 * i)) & 0xff;
		}
		err = strbuf_append(gz, (const char *)tail, sizeof(tail));
	}
	if (g.zs_ready)
		deflateEnd(&g.zs);
	return err;
}
