// SPDX-License-Identifier: MIT
/*
 * Unit tests for the Prometheus exporter over loopback: the test thread plays
 * the main loop (epoll on the exporter fd, then prometheus_exporter_run) while
 * client threads speak plain HTTP/1.1 to it. Covers /metrics (status, content
 * type, exact body, refresh, scrape count), HEAD, /, /healthz, 404, 405, a
 * port already in use, dual stack on "::", a slow reader whose body must
 * not be rewritten by a later scrape, keep-alive with pipelined requests,
 * gzip, an unchanged body served again, the request-head deadline and
 * eviction at the per-address cap. No
 * root needed.
 *
 * The exporter source is included (h2o style) so the slow-reader test can see
 * whether the shared body is still on the wire.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "exporters/prometheus.c"

#define LOOP_LIMIT_MS 5000

/* A response is still being sent from a rendered body (the newest, or an
 * older one kept alive only by its readers). */
static bool body_busy(const struct prometheus_exporter *e)
{
	return e->bodies.alive > 1 || (e->cur && http_body_refs(e->cur) > 1);
}

/* ==== Client thread ==== */

struct client {
	pthread_t thread;
	int family; /* AF_INET or AF_INET6 */
	uint16_t port;
	const char *request;
	int rcvbuf;	  /* SO_RCVBUF before connect; 0 leaves the default */
	atomic_bool hold; /* sent the request, wait before reading the reply */
	atomic_bool sent;
	atomic_bool done;
	int err;    /* 0 or errno of the failing call */
	char *resp; /* everything read until EOF, NUL-terminated */
	size_t len;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct timeval tv = { .tv_sec = 5 };
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	size_t cap = 4096, off = 0, n = strlen(c->request);
	socklen_t alen;
	ssize_t k;
	int fd;

	memset(&addr, 0, sizeof(addr));
	if (c->family == AF_INET6) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(c->port);
		addr.in6.sin6_addr = in6addr_loopback;
		alen = sizeof(addr.in6);
	} else {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons(c->port);
		addr.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		alen = sizeof(addr.in);
	}
	c->resp = calloc(1, cap);
	fd = socket(c->family ? c->family : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !c->resp)
		goto fail;
	if (c->rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, sizeof(c->rcvbuf)))
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		goto fail;
	if (connect(fd, &addr.sa, alen))
		goto fail;
	while (off < n) {
		k = send(fd, c->request + off, n - off, MSG_NOSIGNAL);
		if (k <= 0)
			goto fail;
		off += k;
	}
	atomic_store(&c->sent, true);
	while (atomic_load(&c->hold))
		usleep(1000);
	off = 0;
	for (;;) {
		if (cap - off < 2048) {
			char *p = realloc(c->resp, cap * 2);

			if (!p)
				goto fail;
			c->resp = p;
			cap *= 2;
		}
		k = recv(fd, c->resp + off, cap - off - 1, 0);
		if (k < 0)
			goto fail;
		if (k == 0)
			break;
		off += k;
	}
	c->resp[off] = '\0';
	c->len = off;
	close(fd);
	atomic_store(&c->done, true);
	return NULL;
fail:
	c->err = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	atomic_store(&c->done, true);
	return NULL;
}

static void client_start(struct client *c, uint16_t port, const char *request)
{
	c->port = port;
	c->request = request;
	assert_int_equal(pthread_create(&c->thread, NULL, client_main, c), 0);
}

static void client_join(struct client *c)
{
	assert_int_equal(pthread_join(c->thread, NULL), 0);
	if (c->err)
		fail_msg("client failed: %s", strerror(c->err));
}

static void client_free(struct client *c)
{
	free(c->resp);
	c->resp = NULL;
}

/* ==== The main loop, as the daemon runs it ==== */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Run the exporter until done(arg) says so, or for ms milliseconds when done
 * is NULL. Returns 0, or -ETIMEDOUT when done never came true.
 */
static int pump(struct prometheus_exporter *e, bool (*done)(const void *), const void *arg, int ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t deadline = now_ms() + ms;
	int ep, timeout, ret = 0;

	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, prometheus_exporter_fd(e), &ev), 0);
	while (!done || !done(arg)) {
		if (now_ms() > deadline) {
			ret = done ? -ETIMEDOUT : 0;
			break;
		}
		timeout = prometheus_exporter_timeout_ms(e);
		if (timeout < 0 || timeout > 10)
			timeout = 10; /* also notice what the client threads did */
		epoll_wait(ep, &ev, 1, timeout);
		prometheus_exporter_run(e);
	}
	close(ep);
	return ret;
}

/* The most a TCP send buffer autotunes to (the third value of tcp_wmem). */
static size_t tcp_wmem_max(void)
{
	unsigned long lo, def, max = 4 << 20;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");

	if (f) {
		if (fscanf(f, "%lu %lu %lu", &lo, &def, &max) != 3)
			max = 4 << 20;
		fclose(f);
	}
	return max;
}

static bool flag_set(const void *arg)
{
	return atomic_load((atomic_bool *)arg);
}

static bool scraped_once(const void *arg)
{
	return prometheus_exporter_scrapes(arg) >= 1;
}

static int pump_until(struct prometheus_exporter *e, atomic_bool *flag)
{
	return pump(e, flag_set, flag, LOOP_LIMIT_MS);
}

/* Start a client, run the loop until it has its answer, and check it worked. */
static void fetch(struct prometheus_exporter *e, struct client *c, const char *request)
{
	client_start(c, prometheus_exporter_port(e), request);
	assert_int_equal(pump_until(e, &c->done), 0);
	client_join(c);
}

/* ==== Response parsing ==== */

static const char *body_of(const struct client *c)
{
	const char *p = strstr(c->resp, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

static void assert_status(const struct client *c, const char *status_line)
{
	size_t n = strcspn(c->resp, "\r\n");
	char line[128];

	snprintf(line, sizeof(line), "%.*s", (int)n, c->resp);
	assert_string_equal(line, status_line);
}

/* The value of a response header, in a static buffer, or "(missing)". */
static const char *header_of(const struct client *c, const char *name)
{
	static char value[256];
	const char *end = strstr(c->resp, "\r\n\r\n"), *p = c->resp;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) && p < end) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			snprintf(value, sizeof(value), "%.*s", (int)strcspn(p, "\r\n"), p);
			return value;
		}
	}
	return "(missing)";
}

static char *render_copy(const struct registry *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	assert_int_equal(registry_render_prometheus(r, &sb), 0);
	return sb.buf ? sb.buf : strdup("");
}

/* ==== Fixture ==== */

struct fixture {
	struct registry *reg;
	struct metric_family *refreshes;
	struct metric_family *conns;
	int refresh_calls;
};

/* Stands in for the collector: every scrape sees one more refresh. */
static void refresh(void *ctx)
{
	struct fixture *fx = ctx;

	fx->refresh_calls++;
	registry_set(fx->refreshes, NULL, fx->refresh_calls);
}

static int setup(void **state)
{
	static const char *const labels[] = { "proto", NULL };
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->reg = registry_new();
	fx->refreshes = registry_add(fx->reg, "test_refreshes_total", "Refresh calls.",
				     METRIC_COUNTER, NULL, NULL, 0);
	fx->conns = registry_add(fx->reg, "test_open_connections", "Open connections.",
				 METRIC_GAUGE, labels, NULL, 0);
	if (!fx->reg || !fx->refreshes || !fx->conns)
		return -1;
	registry_set(fx->conns, (const char *[]){ "tcp" }, 3);
	registry_set(fx->conns, (const char *[]){ "udp" }, 1);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	registry_free(fx->reg);
	free(fx);
	return 0;
}

static struct prometheus_exporter *start_local(struct fixture *fx)
{
	struct prometheus_exporter *e;

	e = prometheus_exporter_start("127.0.0.1", 0, fx->reg, refresh, fx);
	assert_non_null(e);
	assert_true(prometheus_exporter_fd(e) >= 0);
	assert_int_not_equal(prometheus_exporter_port(e), 0);
	return e;
}

#define GET_METRICS "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"

/* ==== Tests ==== */

static void test_metrics(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	struct client c = { 0 };
	char *expected;

	assert_int_equal(prometheus_exporter_scrapes(e), 0);
	fetch(e, &c, GET_METRICS);
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_equal(header_of(&c, "Content-Type"),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(body_of(&c), "# HELP test_refreshes_total Refresh calls.\n"
					 "# TYPE test_refreshes_total counter\n"
					 "test_refreshes_total 1\n"
					 "# HELP test_open_connections Open connections.\n"
					 "# TYPE test_open_connections gauge\n"
					 "test_open_connections{proto=\"tcp\"} 3\n"
					 "test_open_connections{proto=\"udp\"} 1\n");
	assert_int_equal(fx->refresh_calls, 1);
	assert_int_equal(prometheus_exporter_scrapes(e), 1);
	client_free(&c);

	/* the second scrape reuses the buffer and sees the refreshed value */
	assert_false(body_busy(e));
	memset(&c, 0, sizeof(c));
	fetch(e, &c, "GET /metrics?ignored=1 HTTP/1.0\r\n\r\n");
	assert_status(&c, "HTTP/1.1 200 OK"); /* HTTP/1.1 answers 1.0 too */
	expected = render_copy(fx->reg);
	assert_non_null(strstr(expected, "test_refreshes_total 2\n"));
	assert_string_equal(body_of(&c), expected);
	assert_int_equal(prometheus_exporter_scrapes(e), 2);
	free(expected);
	client_free(&c);
	prometheus_exporter_stop(e);
}

static void test_head(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	struct client c = { 0 };
	char *expected, len[32];

	fetch(e, &c, "HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_equal(header_of(&c, "Content-Type"),
			    "text/plain; version=0.0.4; charset=utf-8");
	expected = render_copy(fx->reg);
	snprintf(len, sizeof(len), "%zu", strlen(expected));
	assert_string_equal(header_of(&c, "Content-Length"), len);
	assert_string_equal(body_of(&c), "");
	assert_int_equal(prometheus_exporter_scrapes(e), 1);
	free(expected);
	client_free(&c);
	prometheus_exporter_stop(e);
}

static void test_index_and_healthz(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	struct client c = { 0 };

	fetch(e, &c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_non_null(strstr(body_of(&c), "/metrics"));
	client_free(&c);

	memset(&c, 0, sizeof(c));
	fetch(e, &c, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_equal(body_of(&c), "ok\n");
	client_free(&c);

	assert_int_equal(prometheus_exporter_scrapes(e), 0);
	assert_int_equal(fx->refresh_calls, 0);
	prometheus_exporter_stop(e);
}

static void test_not_found(void **state)
{
	static const char *const paths[] = { "/nope", "/metrics/", "/metricsx", "/healthz/x" };
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	char request[128];
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct client c = { 0 };

		snprintf(request, sizeof(request),
			 "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", paths[i]);
		fetch(e, &c, request);
		print_message("GET %s\n", paths[i]);
		assert_status(&c, "HTTP/1.1 404 Not Found");
		client_free(&c);
	}
	assert_int_equal(prometheus_exporter_scrapes(e), 0);
	prometheus_exporter_stop(e);
}

static void test_method_not_allowed(void **state)
{
	static const char *const requests[] = {
		"POST /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		"Content-Length: 3\r\n\r\nabc",
		"PUT /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		"Content-Length: 0\r\n\r\n",
		"DELETE / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"OPTIONS /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	};
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	size_t i;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		struct client c = { 0 };

		fetch(e, &c, requests[i]);
		print_message("request %zu\n", i);
		assert_status(&c, "HTTP/1.1 405 Method Not Allowed");
		assert_string_equal(header_of(&c, "Allow"), "GET, HEAD");
		client_free(&c);
	}
	assert_int_equal(prometheus_exporter_scrapes(e), 0);
	assert_int_equal(fx->refresh_calls, 0);
	prometheus_exporter_stop(e);
}

static void test_port_in_use(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx), *e2;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int fd;

	/* another exporter on the same port */
	e2 = prometheus_exporter_start("127.0.0.1", prometheus_exporter_port(e), fx->reg, NULL,
				       NULL);
	assert_null(e2);
	prometheus_exporter_stop(e);

	/* a plain listener somebody else owns */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
	e2 = prometheus_exporter_start("127.0.0.1", ntohs(addr.sin_port), fx->reg, NULL, NULL);
	assert_null(e2);
	close(fd);

	/* not an address at all */
	assert_null(prometheus_exporter_start("localhost", 0, fx->reg, NULL, NULL));
	assert_null(prometheus_exporter_start("", 0, fx->reg, NULL, NULL));
	assert_null(prometheus_exporter_start(NULL, 0, fx->reg, NULL, NULL));
	assert_null(prometheus_exporter_start("127.0.0.1", 0, NULL, NULL, NULL));

	prometheus_exporter_stop(NULL);
	assert_int_equal(prometheus_exporter_fd(NULL), -EINVAL);
	assert_int_equal(prometheus_exporter_timeout_ms(NULL), -1);
}

/* "::" serves IPv6 and, through the same socket, IPv4. */
static void test_dual_stack(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e;
	struct client c = { 0 };
	int fd;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0) {
		const char *ci = getenv("CI");

		if (ci && !strcmp(ci, "true"))
			fail_msg("IPv6 sockets are required under CI=true: %s", strerror(errno));
		skip();
	}
	close(fd);

	e = prometheus_exporter_start("::", 0, fx->reg, refresh, fx);
	assert_non_null(e);
	c.family = AF_INET6;
	fetch(e, &c, GET_METRICS);
	assert_status(&c, "HTTP/1.1 200 OK");
	client_free(&c);

	memset(&c, 0, sizeof(c));
	c.family = AF_INET;
	fetch(e, &c, GET_METRICS);
	assert_status(&c, "HTTP/1.1 200 OK");
	client_free(&c);
	assert_int_equal(prometheus_exporter_scrapes(e), 2);
	prometheus_exporter_stop(e);

	/* a specific IPv6 address */
	e = prometheus_exporter_start("::1", 0, fx->reg, refresh, fx);
	assert_non_null(e);
	memset(&c, 0, sizeof(c));
	c.family = AF_INET6;
	fetch(e, &c, GET_METRICS);
	assert_status(&c, "HTTP/1.1 200 OK");
	client_free(&c);
	prometheus_exporter_stop(e);
}

static void test_empty_registry(void **state)
{
	struct registry *reg = registry_new();
	struct prometheus_exporter *e;
	struct client c = { 0 };

	e = prometheus_exporter_start("127.0.0.1", 0, reg, NULL, NULL);
	assert_non_null(e);
	fetch(e, &c, GET_METRICS);
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_equal(header_of(&c, "Content-Length"), "0");
	assert_string_equal(body_of(&c), "");
	assert_false(body_busy(e));
	client_free(&c);
	prometheus_exporter_stop(e);
	registry_free(reg);
}

/*
 * A client that sends its request and then does not read holds the shared
 * body on the wire. A scrape in the meantime must render elsewhere: the slow
 * client still gets the body of its own scrape, intact.
 */
static void test_slow_reader_keeps_its_body(void **state)
{
	static const char *const labels[] = { "saddr", "daddr", "comm", NULL };
	struct fixture *fx = *state;
	struct prometheus_exporter *e;
	struct client slow = { 0 }, fast = { 0 };
	char saddr[32], daddr[32];
	size_t size, target;
	char *first, *second;
	struct metric_family *f;
	int i;

	/*
	 * The body must outgrow what the kernel buffers for the slow client:
	 * its receive buffer is tiny, the server's send buffer autotunes up to
	 * tcp_wmem's maximum.
	 */
	f = registry_add(fx->reg, "test_conn_bytes_total", "Bytes per connection.", METRIC_COUNTER,
			 labels, NULL, 0);
	assert_non_null(f);
	target = tcp_wmem_max() + (1 << 20);
	for (i = 0, size = 0; size < target; i++) {
		const char *values[] = { saddr, daddr, "some-rather-long-process" };

		snprintf(saddr, sizeof(saddr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		snprintf(daddr, sizeof(daddr), "192.168.%d.%d", i & 255, (i >> 8) & 255);
		assert_int_equal(registry_set(f, values, i), 0);
		/* a lower bound on the line's length: the value is left out */
		size += strlen("test_conn_bytes_total{saddr=\"\",daddr=\"\",comm=\"\"} \n") +
			strlen(saddr) + strlen(daddr) + strlen("some-rather-long-process");
	}
	e = start_local(fx);

	slow.rcvbuf = 4096;
	atomic_store(&slow.hold, true);
	client_start(&slow, prometheus_exporter_port(e), GET_METRICS);
	assert_int_equal(pump_until(e, &slow.sent), 0);
	assert_int_equal(pump(e, scraped_once, e, LOOP_LIMIT_MS), 0);
	first = render_copy(fx->reg);
	/* let libmicrohttpd push what the socket takes; the rest stays pending */
	assert_int_equal(pump(e, NULL, NULL, 200), 0);
	assert_true(body_busy(e));

	fetch(e, &fast, GET_METRICS);
	second = render_copy(fx->reg);
	assert_string_not_equal(first, second);
	assert_status(&fast, "HTTP/1.1 200 OK");
	assert_string_equal(body_of(&fast), second);
	assert_true(body_busy(e)); /* the slow response still owns the shared body */

	atomic_store(&slow.hold, false);
	assert_int_equal(pump_until(e, &slow.done), 0);
	client_join(&slow);
	assert_status(&slow, "HTTP/1.1 200 OK");
	assert_int_equal(strlen(body_of(&slow)), strlen(first));
	assert_string_equal(body_of(&slow), first);
	assert_false(body_busy(e));
	assert_int_equal(prometheus_exporter_scrapes(e), 2);

	free(first);
	free(second);
	client_free(&slow);
	client_free(&fast);
	prometheus_exporter_stop(e);
}

/* Two requests in one write, the first without Connection: close: both
 * answered on the one connection, which stays open after the first. */
static void test_keep_alive_pipelined(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	struct client c = { 0 };
	const char *second;

	fetch(e, &c,
	      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
	      "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_not_equal(header_of(&c, "Connection"), "close");
	second = strstr(c.resp + 1, "HTTP/1.1 200 OK");
	assert_non_null(second);
	assert_non_null(strstr(second, "test_refreshes_total 1\n"));
	assert_int_equal(prometheus_exporter_scrapes(e), 1);
	client_free(&c);
	prometheus_exporter_stop(e);
}

static void test_accepts_gzip(void **state)
{
	static const struct {
		const char *h;
		bool want;
	} cases[] = {
		{ NULL, false },	{ "", false },
		{ "gzip", true },	{ "GZIP", true },
		{ "x-gzip", true },	{ "deflate, gzip", true },
		{ "gzip;q=0", false },	{ "gzip; q=0.0", false },
		{ "gzip;q=0.5", true }, { "identity", false },
		{ "gzipx", false },	{ "br, gzip;q=1.0", true },
		{ "*", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("Accept-Encoding: %s\n", cases[i].h ? cases[i].h : "(none)");
		assert_int_equal(http_accepts_gzip(cases[i].h), cases[i].want);
	}
}

/* Accept-Encoding: gzip gets the gzip form of the same body. */
static void test_gzip(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	struct client c = { 0 };
	char out[4096], *expected;
	const char *body;
	z_stream zs = { 0 };

	fetch(e, &c,
	      "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
	      "Connection: close\r\n\r\n");
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_equal(header_of(&c, "Content-Encoding"), "gzip");
	assert_string_equal(header_of(&c, "Vary"), "Accept-Encoding");
	body = body_of(&c);
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)body;
	zs.avail_in = c.len - (size_t)(body - c.resp);
	zs.next_out = (Bytef *)out;
	zs.avail_out = sizeof(out) - 1;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	out[zs.total_out] = '\0';
	inflateEnd(&zs);
	expected = render_copy(fx->reg);
	assert_string_equal(out, expected);
	free(expected);
	client_free(&c);

	memset(&c, 0, sizeof(c));
	fetch(e, &c,
	      "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0\r\n"
	      "Connection: close\r\n\r\n");
	assert_string_equal(header_of(&c, "Content-Encoding"), "(missing)");
	assert_string_equal(header_of(&c, "Vary"), "Accept-Encoding");
	client_free(&c);
	prometheus_exporter_stop(e);
}

/* A collector with nothing new: the registry stays as it is. */
static void refresh_nothing(void *ctx)
{
	(void)ctx;
}

/* The gzip body of c inflated (by zlib), NUL-terminated, into out. */
static void inflate_body(const struct client *c, char *out, size_t len)
{
	const char *body = body_of(c);
	z_stream zs = { 0 };

	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)body;
	zs.avail_in = c->len - (size_t)(body - c->resp);
	zs.next_out = (Bytef *)out;
	zs.avail_out = len - 1;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	out[zs.total_out] = '\0';
	inflateEnd(&zs);
}

#define GET_GZIP \
	"GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"

/*
 * A scrape when nothing changed since the last one is served the same body,
 * not a new rendering; a change, or a gzip request the body has no gzip
 * form for yet, gets a new one, with the new values and the same bytes
 * gzipped as plain.
 */
static void test_unchanged_body_served_again(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e;
	struct http_body *first, *second;
	struct client c = { 0 };
	char out[4096], *plain;

	e = prometheus_exporter_start("127.0.0.1", 0, fx->reg, refresh_nothing, NULL);
	assert_non_null(e);
	assert_int_equal(registry_set(fx->refreshes, NULL, 4), 0);
	fetch(e, &c, GET_METRICS);
	plain = strdup(body_of(&c));
	client_free(&c);
	first = e->cur;
	http_body_get(first); /* kept, so its address cannot come back */

	memset(&c, 0, sizeof(c));
	fetch(e, &c, GET_METRICS);
	assert_ptr_equal(e->cur, first);
	assert_string_equal(body_of(&c), plain);
	client_free(&c);

	/* gzip wanted, the body has no gzip form: rendered again, same text */
	memset(&c, 0, sizeof(c));
	fetch(e, &c, GET_GZIP);
	assert_string_equal(header_of(&c, "Content-Encoding"), "gzip");
	inflate_body(&c, out, sizeof(out));
	assert_string_equal(out, plain);
	assert_ptr_not_equal(e->cur, first);
	/* not held: two bodies held by others would be the overload path */
	second = e->cur;
	client_free(&c);
	memset(&c, 0, sizeof(c));
	fetch(e, &c, GET_GZIP);
	assert_ptr_equal(e->cur, second);
	inflate_body(&c, out, sizeof(out));
	assert_string_equal(out, plain);
	client_free(&c);

	assert_int_equal(registry_set(fx->refreshes, NULL, 5), 0);
	memset(&c, 0, sizeof(c));
	fetch(e, &c, GET_GZIP);
	inflate_body(&c, out, sizeof(out));
	assert_non_null(strstr(out, "test_refreshes_total 5\n"));
	client_free(&c);
	assert_int_equal(prometheus_exporter_scrapes(e), 5);

	http_body_put(first);
	free(plain);
	prometheus_exporter_stop(e);
}

/* A connected socket that sent part of a request head. */
#define GET_PROM                                                                           \
	"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"                        \
	"User-Agent: Prometheus/2.42.0\r\n"                                                \
	"Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;" \
	"version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n\r\n"

/*
 * Prometheus' Accept gets OpenMetrics; a counter series created between two
 * of its scrapes is 0 in the next one and has its value in the one after;
 * another client (curl's Accept and User-Agent) takes none of its zeros.
 */
static void test_openmetrics_new_series_zero_first(void **state)
{
	static const char *const labels[] = { "errno", NULL };
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	struct metric_family *fails;
	struct client c = { 0 };
	const char *body;

	fails = registry_add(fx->reg, "test_failures_total", "Failures.", METRIC_COUNTER, labels,
			     NULL, 0);
	assert_non_null(fails);
	fetch(e, &c, GET_PROM);
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_string_equal(header_of(&c, "Content-Type"),
			    "application/openmetrics-text; version=1.0.0; charset=utf-8");
	body = body_of(&c);
	assert_non_null(strstr(body, "# TYPE test_refreshes counter\ntest_refreshes_total 1\n"
				     "test_refreshes_created "));
	assert_int_equal(strcmp(body + strlen(body) - 6, "# EOF\n"), 0);
	client_free(&c);

	/* one refused connect after that scrape */
	assert_int_equal(registry_set(fails, (const char *[]){ "ECONNREFUSED" }, 1), 0);
	memset(&c, 0, sizeof(c));
	fetch(e, &c, GET_PROM);
	assert_non_null(strstr(body_of(&c), "test_failures_total{errno=\"ECONNREFUSED\"} 0\n"));
	client_free(&c);

	/* curl meanwhile: its first scrape, every value as it is */
	memset(&c, 0, sizeof(c));
	fetch(e, &c,
	      "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\nUser-Agent: "
	      "curl/7.88.1\r\nAccept: */*\r\n\r\n");
	assert_string_equal(header_of(&c, "Content-Type"),
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(body_of(&c), "test_failures_total{errno=\"ECONNREFUSED\"} 1\n"));
	client_free(&c);

	memset(&c, 0, sizeof(c));
	fetch(e, &c, GET_PROM);
	assert_non_null(strstr(body_of(&c), "test_failures_total{errno=\"ECONNREFUSED\"} 1\n"));
	client_free(&c);
	prometheus_exporter_stop(e);
}

static int dribbler(struct prometheus_exporter *e)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_port = htons(prometheus_exporter_port(e));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_true(send(fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL) == 23);
	return fd;
}

/* Whether the server closed fd (EOF or reset), without blocking. */
static bool cut_off(int fd)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* A header line every 20 ms does not extend the deadline of the head. */
static void test_head_deadline(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	uint64_t before = http_guard_count(HTTP_REJECT_HEAD);
	int64_t t0 = now_ms();
	int fd, i;

	e->guard.head_ms = 200;
	fd = dribbler(e);
	for (i = 0; i < 100 && !cut_off(fd); i++) {
		send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
		assert_int_equal(pump(e, NULL, NULL, 20), 0);
	}
	assert_true(cut_off(fd));
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(http_guard_count(HTTP_REJECT_HEAD), before + 1);
	assert_int_equal(e->guard.live, 0);
	/* the family appears with the first refusal */
	assert_non_null(registry_find(fx->reg, "gespann_http_connections_rejected_total"));
	close(fd);
	prometheus_exporter_stop(e);
}

/* At the per-address cap a scraper takes the slot of the oldest dribbler. */
static void test_address_cap_evicts(void **state)
{
	struct fixture *fx = *state;
	struct prometheus_exporter *e = start_local(fx);
	uint64_t before = http_guard_count(HTTP_REJECT_EVICTED);
	struct client c = { 0 };
	int fd[3], i;

	e->guard.per_address = 3;
	for (i = 0; i < 3; i++) {
		fd[i] = dribbler(e);
		assert_int_equal(pump(e, NULL, NULL, 20), 0);
	}
	assert_int_equal(e->guard.live, 3);
	fetch(e, &c, GET_METRICS);
	assert_status(&c, "HTTP/1.1 200 OK");
	assert_int_equal(http_guard_count(HTTP_REJECT_EVICTED), before + 1);
	assert_true(cut_off(fd[0])); /* the one waiting longest */
	assert_false(cut_off(fd[1]));
	assert_false(cut_off(fd[2]));
	client_free(&c);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	prometheus_exporter_stop(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_and_healthz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_stack, setup, teardown),
		cmocka_unit_test(test_empty_registry),
		cmocka_unit_test_setup_teardown(test_slow_reader_keeps_its_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_pipelined, setup, teardown),
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_body_served_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_cap_evicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openmetrics_new_series_zero_first, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
