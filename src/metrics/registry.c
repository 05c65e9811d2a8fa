// SPDX-License-Identifier: MIT
/*
 * Metrics registry: the point where the connection table's snapshot becomes
 * metric families and series, and where every exporter reads them back.
 *
 * Families live in a list in the order they were added; each keeps its series
 * in creation order so the exposition is stable between scrapes. A series is
 * found by (family, label values) through one open-addressing hash table for
 * the whole registry, so setting a value stays O(1) with 10k+ series. Label
 * pairs are escaped once, when the series is created, so rendering is a run of
 * appends. Single-threaded: only the main loop touches it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/hashmix.h"
#include "metrics/catalogue.h"
#include "metrics/registry.h"
#include "metrics/registry_int.h"

#define TABLE_MIN_SLOTS 64

/* ==== strbuf ==== */

void strbuf_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
}

void strbuf_free(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

int strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *buf;

	if (extra > SIZE_MAX - sb->len - 1)
		return -ENOMEM;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	buf = realloc(sb->buf, cap);
	if (!buf)
		return -ENOMEM;
	sb->buf = buf;
	sb->cap = cap;
	return 0;
}

int strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	int err;

	err = strbuf_reserve(sb, n);
	if (err)
		return err;
	if (n)
		memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n, err;

	room = sb->cap > sb->len ? sb->cap - sb->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= room) {
		err = strbuf_reserve(sb, n);
		if (err)
			return err;
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, n + 1, fmt, ap);
		va_end(ap);
	}
	sb->len += n;
	return 0;
}

/* ==== Names, escaping, numbers ==== */

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static bool valid_metric_name(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		if (is_alpha_(s[i]) || s[i] == ':' || (i > 0 && is_digit(s[i])))
			continue;
		return false;
	}
	return true;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, and not a reserved "__" name. */
static bool valid_label_name(const char *s)
{
	size_t i;

	if (!s || !*s || !strncmp(s, "__", 2))
		return false;
	for (i = 0; s[i]; i++) {
		if (is_alpha_(s[i]) || (i > 0 && is_digit(s[i])))
			continue;
		return false;
	}
	return true;
}

/*
 * Length of the valid UTF-8 sequence at s, or 0 if the byte there does not
 * start one. Overlong forms, surrogates and code points past U+10FFFF are
 * invalid. The NUL terminator is never a continuation byte, so this cannot
 * read past the end of the string.
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* U+FFFD, standing in for each byte that is not valid UTF-8. */
static const char replacement[] = "\xef\xbf\xbd";

/*
 * Escaping for HELP text (quote false) and label values (quote true):
 * backslash and newline always, double quote in label values. Prometheus
 * rejects a whole scrape over one label value that is not UTF-8, and values
 * come from the kernel (process names, DNS names), so invalid bytes are
 * replaced rather than passed through.
 */
static size_t escaped_len(const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k;

	while (*p) {
		if (*p == '\\' || *p == '\n' || (quote && *p == '"')) {
			n += 2;
			p++;
		} else if ((k = utf8_seq_len(p))) {
			n += k;
			p += k;
		} else {
			n += sizeof(replacement) - 1;
			p++;
		}
	}
	return n;
}

/* Writes the escaped form of s at dst (room for escaped_len()); returns the end. */
static char *escape_into(char *dst, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k;

	while (*p) {
		if (*p == '\\' || *p == '\n' || (quote && *p == '"')) {
			*dst++ = '\\';
			*dst++ = *p == '\n' ? 'n' : (char)*p;
			p++;
		} else if ((k = utf8_seq_len(p))) {
			dst = mempcpy(dst, p, k);
			p += k;
		} else {
			dst = mempcpy(dst, replacement, sizeof(replacement) - 1);
			p++;
		}
	}
	return dst;
}

/*
 * Bucket bounds: the fewest significant digits that read back as the same
 * double, laid out like Go's strconv.FormatFloat(v, 'g', -1, 64), which is
 * what the Go client library writes into le: exponent form only below 1e-4 or
 * from 1e6 on, so 0.005, 0.25, 100000, 1e+06 and 1e-05. Dashboards match le
 * strings literally, so agreeing with the reference client matters more than
 * saving a byte.
 */
void registry_format_bound(char *buf, size_t len, double v)
{
	char *e;
	int prec;
	long exp;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, len, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, len, "%.*e", prec - 1, v);
	e = strchr(buf, 'e');
	exp = e ? strtol(e + 1, NULL, 10) : 0;
	if (exp < -4 || exp >= 6)
		return;
	snprintf(buf, len, "%.*f", prec - 1 - exp > 0 ? (int)(prec - 1 - exp) : 0, v);
}

/* ==== Registry and families ==== */

struct registry *registry_new(void)
{
	struct registry *r;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->slots = calloc(TABLE_MIN_SLOTS, sizeof(*r->slots));
	if (!r->slots) {
		free(r);
		return NULL;
	}
	r->n_slots = TABLE_MIN_SLOTS;
	return r;
}

static void family_free(struct metric_family *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n_series; i++)
		free(f->series[i]);
	free(f->series);
	family_cache_free(f);
	for (i = 0; i < f->n_labels; i++)
		free(f->label_names[i]);
	free(f->le);
	free(f->bounds);
	free(f->help);
	free(f->name);
	free(f);
}

void registry_free(struct registry *r)
{
	struct metric_family *f, *next;

	if (!r)
		return;
	for (f = r->head; f; f = next) {
		next = f->next;
		family_free(f);
	}
	free(r->slots);
	free(r);
}

/* Is base1+suffix1 the same string as base2+suffix2? */
static bool concat_eq(const char *base1, const char *suffix1, const char *base2,
		      const char *suffix2)
{
	size_t n1 = strlen(base1), n2 = strlen(base2);

	if (n1 > n2)
		return concat_eq(base2, suffix2, base1, suffix1);
	if (n1 + strlen(suffix1) != n2 + strlen(suffix2))
		return false;
	/* base1 is a prefix of base2, whose rest starts suffix1 */
	return !strncmp(base1, base2, n1) && !strncmp(suffix1, base2 + n1, n2 - n1) &&
	       !strcmp(suffix1 + (n2 - n1), suffix2);
}

static const char *const plain_suffixes[] = { "", NULL };
static const char *const histogram_suffixes[] = { "", "_bucket", "_sum", "_count", NULL };

/*
 * Two families clash when any name either puts on the wire is the same: a
 * histogram "x" owns x_bucket, x_sum and x_count, and a gauge named x_sum next
 * to it would make the exposition ambiguous.
 */
static bool names_clash(const char *name1, enum metric_type type1, const char *name2,
			enum metric_type type2)
{
	const char *const *s1 = type1 == METRIC_HISTOGRAM ? histogram_suffixes : plain_suffixes;
	const char *const *s2 = type2 == METRIC_HISTOGRAM ? histogram_suffixes : plain_suffixes;
	size_t i, j;

	for (i = 0; s1[i]; i++)
		for (j = 0; s2[j]; j++)
			if (concat_eq(name1, s1[i], name2, s2[j]))
				return true;
	return false;
}

/* Valid, distinct label names, at most REGISTRY_MAX_LABELS; "le" not in a histogram. */
static int labels_check(enum metric_type type, const char *const *label_names)
{
	size_t i, j;

	for (i = 0; label_names && label_names[i]; i++) {
		if (i == REGISTRY_MAX_LABELS || !valid_label_name(label_names[i]))
			return -EINVAL;
		if (type == METRIC_HISTOGRAM && !strcmp(label_names[i], "le"))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (!strcmp(label_names[i], label_names[j]))
				return -EINVAL;
	}
	return 0;
}

static int family_check(const struct registry *r, const char *name, enum metric_type type,
			const char *const *label_names, const double *bounds, size_t n_bounds)
{
	const struct metric_family *f;
	size_t i;

	if (type != METRIC_COUNTER && type != METRIC_GAUGE && type != METRIC_HISTOGRAM)
		return -EINVAL;
	if (!valid_metric_name(name))
		return -EINVAL;
	if (labels_check(type, label_names))
		return -EINVAL;
	if (type != METRIC_HISTOGRAM && n_bounds)
		return -EINVAL;
	if (n_bounds && !bounds)
		return -EINVAL;
	for (i = 0; i < n_bounds; i++) {
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			return -EINVAL;
	}
	for (f = r->head; f; f = f->next)
		if (names_clash(name, type, f->name, f->type))
			return -EEXIST;
	return 0;
}

static char *escape_dup(const char *s, bool quote)
{
	size_t n = escaped_len(s, quote);
	char *out;

	out = malloc(n + 1);
	if (!out)
		return NULL;
	*escape_into(out, s, quote) = '\0';
	return out;
}

struct metric_family *registry_add(struct registry *r, const char *name, const char *help,
				   enum metric_type type, const char *const *label_names,
				   const double *bounds, size_t n_bounds)
{
	struct metric_family *f;
	size_t i;
	int err;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	err = family_check(r, name, type, label_names, bounds, n_bounds);
	if (err) {
		errno = -err;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		goto nomem;
	f->reg = r;
	f->type = type;
	f->id = r->n_families;
	f->def = catalogue_find(name);
	f->name = strdup(name);
	f->help = escape_dup(help ? help : "", false);
	if (!f->name || !f->help)
		goto nomem;
	for (i = 0; label_names && label_names[i]; i++) {
		f->label_names[i] = strdup(label_names[i]);
		if (!f->label_names[i])
			goto nomem;
		f->n_labels++;
	}
	if (n_bounds) {
		f->bounds = calloc(n_bounds, sizeof(*f->bounds));
		f->le = calloc(n_bounds, sizeof(*f->le));
		if (!f->bounds || !f->le)
			goto nomem;
		for (i = 0; i < n_bounds; i++) {
			f->bounds[i] = bounds[i];
			registry_format_bound(f->le[i], sizeof(f->le[i]), bounds[i]);
		}
		f->n_bounds = n_bounds;
	}
	if (r->tail)
		r->tail->next = f;
	else
		r->head = f;
	r->tail = f;
	r->n_families++;
	r->changes++; /* its HELP and TYPE are rendered from now on */
	return f;

nomem:
	family_free(f);
	errno = ENOMEM;
	return NULL;
}

struct metric_family *registry_find(const struct registry *r, const char *name)
{
	for (struct metric_family *f = r ? r->head : NULL; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* ==== Series lookup ==== */

/*
 * FNV-1a over the family id and each value with its NUL, so ("ab", "c") and
 * ("a", "bc") differ; then a murmur3 finaliser, because the table indexes by
 * the low bits and FNV leaves them weakly mixed for short keys.
 */
static uint64_t series_hash(const struct metric_family *f, const char *const *values)
{
	unsigned int id = f->id;
	uint64_t h = FNV1A_INIT;

	for (size_t i = 0; i < sizeof(id); i++) {
		unsigned char byte = (id >> (8 * i)) & 0xff;

		h = fnv1a_bytes(h, &byte, 1);
	}
	for (size_t i = 0; i < f->n_labels; i++)
		h = fnv1a_str(h, values[i]);
	return fmix64(h);
}

static bool series_matches(const struct series *s, const struct metric_family *f, uint64_t h,
			   const char *const *values)
{
	size_t i;

	if (s->hash != h || s->family != f)
		return false;
	for (i = 0; i < f->n_labels; i++)
		if (strcmp(s->values[i], values[i]))
			return false;
	return true;
}

/* Returns the series, or NULL with *slot set to the free slot where it belongs. */
static struct series *table_find(const struct registry *r, const struct metric_family *f,
				 uint64_t h, const char *const *values, size_t *slot)
{
	size_t mask = r->n_slots - 1, i;
	struct series *s;

	for (i = h & mask;; i = (i + 1) & mask) {
		s = r->slots[i];
		if (!s) {
			*slot = i;
			return NULL;
		}
		if (series_matches(s, f, h, values))
			return s;
	}
}

/* Keep the load factor at or below 3/4 so probe runs stay short. */
static int table_grow(struct registry *r)
{
	struct series **slots;
	size_t n_slots, i, j;

	if ((r->n_used + 1) * 4 <= r->n_slots * 3)
		return 0;
	if (r->n_slots > SIZE_MAX / 2 / sizeof(*slots))
		return -ENOMEM;
	n_slots = r->n_slots * 2;
	slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < r->n_slots; i++) {
		if (!r->slots[i])
			continue;
		for (j = r->slots[i]->hash & (n_slots - 1); slots[j]; j = (j + 1) & (n_slots - 1))
			;
		slots[j] = r->slots[i];
	}
	free(r->slots);
	r->slots = slots;
	r->n_slots = n_slots;
	return 0;
}

static int family_reserve(struct metric_family *f)
{
	struct series **series;
	size_t cap;

	if (f->n_series < f->cap_series)
		return 0;
	cap = f->cap_series ? f->cap_series * 2 : 8;
	series = reallocarray(f->series, cap, sizeof(*series));
	if (!series)
		return -ENOMEM;
	f->series = series;
	f->cap_series = cap;
	return 0;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t registry_generation(const struct registry *r)
{
	return r ? r->generation : 0;
}

uint64_t registry_changes(const struct registry *r)
{
	return r ? r->changes : 0;
}

/* Something a render shows changed in f (in series s, when not NULL). */
static void family_changed(struct metric_family *f, struct series *s)
{
	f->version++;
	f->reg->changes++;
	if (s)
		s->changed = f->version;
}

/*
 * One allocation per series: the struct with its value pointers, then the
 * buckets (8-aligned since the struct holds doubles), the raw values and the
 * escaped label pairs.
 */
static struct series *series_new(struct metric_family *f, uint64_t h, const char *const *values)
{
	size_t i, off, n_buckets, raw = 0, esc = 0;
	struct series *s;
	char *p;

	n_buckets = f->type == METRIC_HISTOGRAM ? f->n_bounds + 1 : 0;
	for (i = 0; i < f->n_labels; i++) {
		raw += strlen(values[i]) + 1;
		/* name="value" plus the comma before the next pair */
		esc += strlen(f->label_names[i]) + 3 + escaped_len(values[i], true) + 1;
	}
	off = sizeof(*s) + f->n_labels * sizeof(char *);
	off = (off + _Alignof(uint64_t) - 1) & ~(_Alignof(uint64_t) - 1);
	s = calloc(1, off + n_buckets * sizeof(uint64_t) + raw + esc + 1);
	if (!s)
		return NULL;
	s->family = f;
	s->hash = h;
	s->born = ++f->reg->generation;
	s->created_ns = realtime_ns();
	s->buckets = n_buckets ? (uint64_t *)((char *)s + off) : NULL;
	p = (char *)s + off + n_buckets * sizeof(uint64_t);
	for (i = 0; i < f->n_labels; i++) {
		s->values[i] = p;
		p = stpcpy(p, values[i]) + 1;
	}
	s->labels = p;
	for (i = 0; i < f->n_labels; i++) {
		if (i)
			*p++ = ',';
		p = stpcpy(p, f->label_names[i]);
		*p++ = '=';
		*p++ = '"';
		p = escape_into(p, values[i], true);
		*p++ = '"';
	}
	*p = '\0';
	return s;
}

static int series_get(struct metric_family *f, const char *const *values, struct series **out,
		      bool *created)
{
	struct registry *r = f->reg;
	size_t i, slot, n_slots;
	struct series *s;
	uint64_t h;
	int err;

	if (f->n_labels && !values)
		return -EINVAL;
	for (i = 0; i < f->n_labels; i++)
		if (!values[i])
			return -EINVAL;
	h = series_hash(f, values);
	s = table_find(r, f, h, values, &slot);
	if (s) {
		*out = s;
		*created = false;
		return 0;
	}
	/* Make room everywhere first, so a failure leaves nothing half-inserted. */
	err = family_reserve(f);
	if (err)
		return err;
	n_slots = r->n_slots;
	err = table_grow(r);
	if (err)
		return err;
	if (r->n_slots != n_slots)
		table_find(r, f, h, values, &slot);
	s = series_new(f, h, values);
	if (!s)
		return -ENOMEM;
	r->slots[slot] = s;
	r->n_used++;
	f->series[f->n_series++] = s;
	family_changed(f, s);
	*out = s;
	*created = true;
	return 0;
}

/*
 * Take s out of the open-addressing table. Linear probing cannot just empty
 * the slot (a later entry of the same probe run would become unreachable), so
 * the entries after it move back (backward-shift deletion): no tombstones, and
 * probe runs stay as short as if s had never been inserted.
 */
static void table_remove(struct registry *r, const struct series *s)
{
	size_t mask = r->n_slots - 1, i, j, home;

	for (i = s->hash & mask; r->slots[i] != s; i = (i + 1) & mask) {
		if (!r->slots[i]) /* not in the table: cannot happen */
			return;
	}
	r->slots[i] = NULL;
	r->n_used--;
	for (j = (i + 1) & mask; r->slots[j]; j = (j + 1) & mask) {
		home = r->slots[j]->hash & mask;
		/* the entry at j stays when its home lies cyclically in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		r->slots[i] = r->slots[j];
		r->slots[j] = NULL;
		i = j;
	}
}

void registry_family_clear(struct metric_family *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n_series; i++) {
		table_remove(f->reg, f->series[i]);
		free(f->series[i]);
		f->series[i] = NULL;
	}
	f->n_series = 0;
	f->layout++;
	family_changed(f, NULL);
}

int registry_family_relabel(struct metric_family *f, const char *const *label_names)
{
	char *names[REGISTRY_MAX_LABELS];
	size_t i, n = 0;

	if (!f || labels_check(f->type, label_names))
		return -EINVAL;
	for (; label_names && label_names[n]; n++) {
		names[n] = strdup(label_names[n]);
		if (!names[n]) {
			while (n--)
				free(names[n]);
			return -ENOMEM;
		}
	}
	registry_family_clear(f); /* a change, even when f had no series */
	for (i = 0; i < f->n_labels; i++)
		free(f->label_names[i]);
	memcpy(f->label_names, names, n * sizeof(names[0]));
	f->n_labels = n;
	return 0;
}

/* ==== Setting values ==== */

bool registry_family_holds(const struct metric_family *f, size_t n,
			   const char *const *(*values)(size_t i, void *ctx),
			   double (*value)(size_t i, void *ctx), void *ctx)
{
	if (!f || f->type == METRIC_HISTOGRAM || f->n_series != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct series *s = f->series[i];
		const char *const *v = values(i, ctx);
		double x = value(i, ctx);

		if (memcmp(&s->value, &x, sizeof(x)))
			return false;
		for (size_t l = 0; l < f->n_labels; l++)
			if (strcmp(s->values[l], v[l] ? v[l] : ""))
				return false;
	}
	return true;
}

int registry_set(struct metric_family *f, const char *const *label_values, double value)
{
	struct series *s;
	bool created;
	int err;

	if (!f || f->type == METRIC_HISTOGRAM)
		return -EINVAL;
	if (f->type == METRIC_COUNTER && (isnan(value) || value < 0))
		return -EINVAL;
	err = series_get(f, label_values, &s, &created);
	if (err)
		return err;
	if (!created && f->type == METRIC_COUNTER && value < s->value)
		return 0;
	/* the same bits render the same text: no change (NaN != NaN would be one) */
	if (!created && !memcmp(&s->value, &value, sizeof(value)))
		return 0;
	s->value = value;
	if (!created)
		family_changed(f, s);
	return 0;
}

int registry_set_histogram(struct metric_family *f, const char *const *label_values,
			   const uint64_t *buckets, double sum)
{
	struct series *s;
	bool created;
	int err;

	if (!f || f->type != METRIC_HISTOGRAM || !buckets)
		return -EINVAL;
	err = series_get(f, label_values, &s, &created);
	if (err)
		return err;
	if (!created && !memcmp(&s->sum, &sum, sizeof(sum)) &&
	    !memcmp(s->buckets, buckets, (f->n_bounds + 1) * sizeof(*buckets)))
		return 0;
	memcpy(s->buckets, buckets, (f->n_bounds + 1) * sizeof(*buckets));
	s->sum = sum;
	if (!created)
		family_changed(f, s);
	return 0;
}

void registry_visit(const struct registry *r, registry_visit_fn fn, void *ctx)
{
	for (const struct metric_family *f = r->head; f; f = f->next) {
		for (size_t i = 0; i < f->n_series; i++) {
			const struct series *se = f->series[i];
			struct registry_sample smp = {
				.def = f->def,
				.name = f->name,
				.help = f->help,
				.type = f->type,
				.n_labels = f->n_labels,
				.label_names = (const char *const *)f->label_names,
				.label_values = (const char *const *)se->values,
				.value = se->value,
				.n_bounds = f->n_bounds,
				.bounds = f->bounds,
				.buckets = se->buckets,
				.sum = se->sum,
				.created_ns = se->created_ns,
			};

			if (f->type == METRIC_HISTOGRAM && se->buckets) {
				for (size_t b = 0; b <= f->n_bounds; b++)
					smp.count += se->buckets[b];
			}
			fn(&smp, ctx);
		}
	}
}
