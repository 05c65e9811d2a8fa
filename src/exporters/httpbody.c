// SPDX-License-Identifier: MIT
/*
 * Shared /metrics bodies (httpbody.h). A render of a large registry is tens
 * of megabytes; slow readers used to make a copy each. Here a body is
 * rendered once, shrunk to its size, never written again, and handed to
 * every response that serves it with a reference; the gzip form is made once
 * per body on the first gzip request (deflate at the fastest level: the main
 * loop waits for it, and metrics text compresses well anyway).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "exporters/httpbody.h"

struct http_body {
	struct http_body_set *set;
	unsigned int refs;
	int64_t born_ms;
	char *buf;
	size_t len;
	char *gz; /* gzip form, NULL until asked for */
	size_t gz_len;
	bool gz_failed;
};

struct http_body *http_body_new(struct http_body_set *set, struct strbuf *sb, int64_t now_ms)
{
	struct http_body *b = calloc(1, sizeof(*b));
	char *shrunk;

	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b->set = set;
	b->refs = 1;
	b->born_ms = now_ms;
	b->buf = sb->buf;
	b->len = sb->len;
	/* strbuf grows by doubling: give the slack back, the body stays as is */
	if (b->buf && b->len) {
		shrunk = realloc(b->buf, b->len);
		if (shrunk)
			b->buf = shrunk;
	}
	strbuf_init(sb);
	set->alive++;
	return b;
}

void http_body_set_gzip(struct http_body *b, struct strbuf *gz)
{
	char *shrunk;

	if (b->gz || !gz->buf) {
		strbuf_free(gz);
		return;
	}
	b->gz = gz->buf;
	b->gz_len = gz->len;
	shrunk = realloc(b->gz, b->gz_len ? b->gz_len : 1);
	if (shrunk)
		b->gz = shrunk;
	strbuf_init(gz);
}

bool http_body_has_gzip(const struct http_body *b)
{
	return b->gz;
}

void http_body_get(struct http_body *b)
{
	b->refs++;
}

void http_body_put(struct http_body *b)
{
	if (!b || --b->refs)
		return;
	b->set->alive--;
	free(b->buf);
	free(b->gz);
	free(b);
}

unsigned int http_body_refs(const struct http_body *b)
{
	return b->refs;
}

int64_t http_body_born_ms(const struct http_body *b)
{
	return b->born_ms;
}

static int gzip_body(struct http_body *b)
{
	z_stream zs;
	uLong cap;
	char *out;
	int ret;

	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: a gzip header and trailer, not a zlib one */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&zs, b->len);
	out = malloc(cap);
	if (!out) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)b->buf;
	zs.avail_in = b->len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = cap;
	ret = deflate(&zs, Z_FINISH);
	b->gz_len = zs.total_out;
	deflateEnd(&zs);
	if (ret != Z_STREAM_END) {
		free(out);
		return -EIO;
	}
	b->gz = realloc(out, b->gz_len ? b->gz_len : 1);
	if (!b->gz)
		b->gz = out;
	return 0;
}

const char *http_body_data(struct http_body *b, bool gzip, size_t *len)
{
	if (!gzip) {
		*len = b->len;
		return b->buf;
	}
	if (!b->gz && !b->gz_failed && gzip_body(b))
		b->gz_failed = true;
	*len = b->gz_len;
	return b->gz;
}

/* Whether a coding's parameters (after its ';') say q=0. */
static bool q_is_zero(const char *p, const char *end)
{
	while (p < end) {
		p += strspn(p, " \t;");
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			p += 2;
			if (p >= end || *p != '0')
				return false;
			for (p++; p < end && *p != ';'; p++)
				if (*p != '.' && *p != '0' && *p != ' ' && *p != '\t')
					return false;
			return true;
		}
		while (p < end && *p != ';')
			p++;
	}
	return false;
}

bool http_accepts_gzip(const char *h)
{
	while (h && *h) {
		const char *end = h + strcspn(h, ","), *name = h + strspn(h, " \t");
		size_t n = strcspn(name, ";, \t");

		if (((n == 4 && !strncasecmp(name, "gzip", 4)) ||
		     (n == 6 && !strncasecmp(name, "x-gzip", 6))) &&
		    !q_is_zero(name + n, end))
			return true;
		h = *end ? end + 1 : end;
	}
	return false;
}

/* The q of a media range's parameters (1 when absent); *version gets the
 * version parameter's value (NULL when absent) and *n_version its length. */
static double media_q(const char *p, const char *end, const char **version, size_t *n_version)
{
	double q = 1;

	*version = NULL;
	*n_version = 0;
	while (p < end) {
		const char *v;
		size_t n;

		p += strspn(p, " \t;");
		n = strcspn(p, ";,");
		if (p + n > end)
			n = end - p;
		v = memchr(p, '=', n);
		if (v && v - p == 1 && (*p == 'q' || *p == 'Q'))
			q = strtod(v + 1, NULL);
		else if (v && v - p == 7 && !strncasecmp(p, "version", 7)) {
			*version = v + 1;
			*n_version = p + n - (v + 1);
		}
		p += n;
	}
	return q;
}

bool http_accepts_openmetrics(const char *h)
{
	double q_om = 0, q_text = 0, q;

	while (h && *h) {
		const char *end = h + strcspn(h, ","), *name = h + strspn(h, " \t"), *ver;
		size_t n = strcspn(name, ";, \t"), n_ver;

		q = media_q(name + n, end, &ver, &n_ver);
		if (n == 28 && !strncasecmp(name, "application/openmetrics-text", 28)) {
			/* the versions whose text we write (1.0.0; 0.0.1 is the same here) */
			if (!ver || (n_ver == 5 &&
				     (!strncmp(ver, "1.0.0", 5) || !strncmp(ver, "0.0.1", 5))))
				q_om = q > q_om ? q : q_om;
		} else if ((n == 10 && !strncasecmp(name, "text/plain", 10)) ||
			   (n == 6 && !strncasecmp(name, "text/*", 6)) ||
			   (n == 3 && !strncmp(name, "*/*", 3))) {
			q_text = q > q_text ? q : q_text;
		}
		h = *end ? end + 1 : end;
	}
	return q_om > 0 && q_om > q_text;
}
