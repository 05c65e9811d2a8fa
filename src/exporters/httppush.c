// SPDX-License-Identifier: MIT
/*
 * The push exporters' HTTP client (httppush.h): libcurl multi in socket mode
 * under one epoll fd, at most one request in flight, the answer classified
 * by the retry table. Nothing here blocks: curl does the I/O when the main
 * loop says a socket is ready or curl's timer is due.
 *
 * The retry table is OTLP's (otlp.c) and remote write's alike: 429, 5xx and
 * connection failures are worth another try, after Retry-After or an
 * exponential backoff with jitter; other answers, and curl errors that the
 * next try would repeat (a bad URL, an unverifiable certificate), are not.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/redact.h"
#include "exporters/httppush.h"

#define NS_PER_MS  UINT64_C(1000000)
#define NS_PER_SEC UINT64_C(1000000000)

#define BACKOFF_MIN (1 * NS_PER_SEC)
#define BACKOFF_MAX (30 * NS_PER_SEC)
#define EPOLL_BATCH 16

struct httppush {
	char name[32];
	CURLM *multi;
	CURL *easy; /* one handle, reused: it keeps the connection alive */
	struct curl_slist *headers;
	int epfd;
	int64_t deadline_ns; /* curl's timer (monotonic), or -1 */
	bool global_init;
	bool in_flight;
	char retry_after[64];
	char resp[HTTPPUSH_BODY_MAX + 1];
	size_t resp_len;
	char curl_err[CURL_ERROR_SIZE];
};

/* ==== Retry table ==== */

enum httppush_outcome httppush_classify(int curl_code, long status)
{
	CURLcode rc = (CURLcode)curl_code;

	if (rc != CURLE_OK) {
		switch (rc) {
		/* a configuration or build problem: the next try fails the same way */
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_NOT_BUILT_IN:
		case CURLE_FAILED_INIT:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_OUT_OF_MEMORY:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			return HTTPPUSH_FAILED;
		default:
			/* refused, reset, timed out, name not resolved: like a 503 */
			return HTTPPUSH_RETRY;
		}
	}
	if (status >= 200 && status <= 299)
		return HTTPPUSH_DELIVERED;
	if (status == 429 || (status >= 500 && status <= 599))
		return HTTPPUSH_RETRY;
	return HTTPPUSH_FAILED;
}

int64_t httppush_retry_after_ns(const char *v, time_t now)
{
	unsigned long long secs;
	const char *p;
	char *end;
	time_t t;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!*v)
		return -1;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		secs = strtoull(v, &end, 10);
		for (p = end; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
			;
		if (errno || *p)
			return -1;
	} else {
		t = curl_getdate(v, NULL);
		if (t == -1)
			return -1;
		secs = t > now ? (unsigned long long)(t - now) : 0;
	}
	if (secs < 1) /* so a "0" cannot make a storm */
		secs = 1;
	if (secs > 24 * 3600)
		secs = 24 * 3600;
	return (int64_t)(secs * NS_PER_SEC);
}

uint64_t httppush_backoff_ns(unsigned int attempt, uint32_t rnd)
{
	unsigned int shift = attempt > 1 ? attempt - 1 : 0;
	uint64_t base, d;

	if (shift > 5)
		shift = 5;
	base = BACKOFF_MIN << shift;
	if (base > BACKOFF_MAX)
		base = BACKOFF_MAX;
	d = base + (uint64_t)((double)(base / 2) * ((double)rnd / 4294967296.0));
	if (d < BACKOFF_MIN)
		d = BACKOFF_MIN;
	if (d > BACKOFF_MAX)
		d = BACKOFF_MAX;
	return d;
}

/* ==== libcurl glue ==== */

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct httppush *h = userp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		/* the socket may be closed already: nothing to undo then */
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT &&
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev)) {
		pr_debug("adapter %s: epoll_ctl on curl socket %d: %s", h->name, (int)s,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct httppush *h = userp;

	h->deadline_ns =
		timeout_ms < 0 ? -1 : (int64_t)(mono_ns() + (uint64_t)timeout_ms * NS_PER_MS);
	return 0;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *userp)
{
	static const char key[] = "retry-after:";
	struct httppush *h = userp;
	size_t len = size * n, vlen;
	const char *v;

	/* a new response (after a 100 Continue) starts afresh */
	if (len >= 5 && !strncmp(buf, "HTTP/", 5))
		h->retry_after[0] = '\0';
	if (len <= sizeof(key) - 1 || strncasecmp(buf, key, sizeof(key) - 1))
		return len;
	v = buf + sizeof(key) - 1;
	vlen = len - (sizeof(key) - 1);
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	if (vlen >= sizeof(h->retry_after))
		vlen = sizeof(h->retry_after) - 1;
	memcpy(h->retry_after, v, vlen);
	h->retry_after[vlen] = '\0';
	return len;
}

/* The answer's body matters only in a warning: keep its first bytes. */
static size_t write_cb(char *buf, size_t size, size_t n, void *userp)
{
	struct httppush *h = userp;
	size_t len = size * n, room = HTTPPUSH_BODY_MAX - h->resp_len;

	if (room) {
		if (len < room)
			room = len;
		memcpy(h->resp + h->resp_len, buf, room);
		h->resp_len += room;
		h->resp[h->resp_len] = '\0';
	}
	return len;
}

/* ==== The client ==== */

/* http:// or https:// with a host, as curl reads it. */
static int check_url(const char *name, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, shown[512];
	int ret = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
		pr_err("adapter %s: endpoint \"%s\" is not an http:// or https:// URL", name,
		       redact_url(url, shown, sizeof(shown)));
		ret = -EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

void httppush_free(struct httppush *h)
{
	if (!h)
		return;
	if (h->in_flight)
		curl_multi_remove_handle(h->multi, h->easy);
	if (h->easy)
		curl_easy_cleanup(h->easy);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->headers);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->global_init)
		curl_global_cleanup();
	free(h);
}

struct httppush *httppush_new(const char *name, const char *url, uint64_t timeout_ns,
			      const char *const *headers, size_t n_headers)
{
	struct httppush *h = calloc(1, sizeof(*h));
	uint64_t timeout_ms = timeout_ns / NS_PER_MS;
	CURLcode rc = CURLE_OK;
	struct curl_slist *l;

	if (!h) {
		pr_err("adapter %s: %s", name, strerror(ENOMEM));
		return NULL;
	}
	h->epfd = -1;
	h->deadline_ns = -1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (check_url(h->name, url))
		goto fail;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		pr_err("adapter %s: failed to create an epoll fd: %s", h->name, strerror(errno));
		goto fail;
	}
	/* the body is sent at once: no 100-continue round trip */
	if (!(h->headers = curl_slist_append(NULL, "Expect:")))
		goto nomem;
	for (size_t i = 0; i < n_headers; i++) {
		if (!(l = curl_slist_append(h->headers, headers[i])))
			goto nomem;
		h->headers = l;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		pr_err("adapter %s: failed to set up libcurl", h->name);
		goto fail;
	}
	h->global_init = true;
	h->multi = curl_multi_init();
	h->easy = curl_easy_init();
	if (!h->multi || !h->easy)
		goto nomem;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	if (timeout_ms < 1)
		timeout_ms = 1;
	if (timeout_ms > LONG_MAX)
		timeout_ms = LONG_MAX;
#define SET(opt, val)                                             \
	do {                                                      \
		if (rc == CURLE_OK)                               \
			rc = curl_easy_setopt(h->easy, opt, val); \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_HTTPHEADER, h->headers);
	SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "gespann/" GESPANN_VERSION);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, h);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_ERRORBUFFER, h->curl_err);
#undef SET
	if (rc != CURLE_OK) {
		pr_err("adapter %s: failed to set up the HTTP client: %s", h->name,
		       curl_easy_strerror(rc));
		goto fail;
	}
	return h;
nomem:
	pr_err("adapter %s: failed to set up the HTTP client: %s", h->name, strerror(ENOMEM));
fail:
	httppush_free(h);
	return NULL;
}

int httppush_set_basic(struct httppush *h, const char *user, const char *password)
{
	CURLcode rc;

	if (!user) {
		curl_easy_setopt(h->easy, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(h->easy, CURLOPT_PASSWORD, NULL);
		return 0;
	}
	rc = curl_easy_setopt(h->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h->easy, CURLOPT_USERNAME, user);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h->easy, CURLOPT_PASSWORD, password ? password : "");
	return rc == CURLE_OK ? 0 : -ENOMEM;
}

int httppush_set_bearer(struct httppush *h, const char *token)
{
	CURLcode rc;

	if (!token)
		return curl_easy_setopt(h->easy, CURLOPT_XOAUTH2_BEARER, NULL) == CURLE_OK ?
			       0 :
			       -ENOMEM;
	rc = curl_easy_setopt(h->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h->easy, CURLOPT_XOAUTH2_BEARER, token);
	return rc == CURLE_OK ? 0 : -ENOMEM;
}

int httppush_set_ca(struct httppush *h, const char *path)
{
	return curl_easy_setopt(h->easy, CURLOPT_CAINFO, path) == CURLE_OK ? 0 : -EINVAL;
}

int httppush_fd(const struct httppush *h)
{
	return h ? h->epfd : -1;
}

int64_t httppush_deadline_ns(const struct httppush *h)
{
	return h ? h->deadline_ns : -1;
}

bool httppush_busy(const struct httppush *h)
{
	return h && h->in_flight;
}

int httppush_post(struct httppush *h, const void *body, size_t len)
{
	CURLMcode mc;

	if (h->in_flight)
		return -EBUSY;
	h->retry_after[0] = '\0';
	h->resp_len = 0;
	h->resp[0] = '\0';
	h->curl_err[0] = '\0';
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, (const char *)body);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	mc = curl_multi_add_handle(h->multi, h->easy);
	if (mc != CURLM_OK) {
		pr_debug("adapter %s: failed to start a request: %s", h->name,
			 curl_multi_strerror(mc));
		return -EIO;
	}
	h->in_flight = true;
	return 0;
}

static void fill_result(struct httppush *h, CURLcode rc, long status, struct httppush_result *res)
{
	memset(res, 0, sizeof(*res));
	res->outcome = httppush_classify(rc, status);
	res->status = rc == CURLE_OK ? status : 0;
	res->retry_after_ns =
		rc == CURLE_OK ? httppush_retry_after_ns(h->retry_after, time(NULL)) : -1;
	if (rc != CURLE_OK)
		snprintf(res->what, sizeof(res->what), "%s",
			 h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc));
	else
		snprintf(res->what, sizeof(res->what), "HTTP %ld", status);
	for (size_t i = 0; i < h->resp_len; i++)
		res->body[i] = isprint((unsigned char)h->resp[i]) ? h->resp[i] : ' ';
	res->body[h->resp_len] = '\0';
}

bool httppush_drive(struct httppush *h, struct httppush_result *res)
{
	struct epoll_event evs[EPOLL_BATCH];
	bool done = false;
	int running, n;
	CURLMsg *msg;

	n = epoll_wait(h->epfd, evs, EPOLL_BATCH, 0);
	for (int i = 0; i < n; i++) {
		int mask = 0;

		if (evs[i].events & EPOLLIN)
			mask |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(h->multi, evs[i].data.fd, mask, &running);
	}
	if (h->deadline_ns >= 0 && mono_ns() >= (uint64_t)h->deadline_ns) {
		/* the callback may set a new deadline during the call */
		h->deadline_ns = -1;
		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(h->multi, &n))) {
		CURLcode rc;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
		/* msg is invalid from here on */
		curl_multi_remove_handle(h->multi, h->easy);
		h->in_flight = false;
		fill_result(h, rc, status, res);
		done = true;
	}
	return done;
}
