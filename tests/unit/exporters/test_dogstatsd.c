// SPDX-License-Identifier: MIT
/*
 * Unit tests for the DogStatsD exporter, against receivers of its own: a UDP
 * socket on 127.0.0.1 and a unix datagram socket under a temporary directory.
 * Covers the name table and its fallback rule, tag escaping, number and sample
 * rate formatting, packing (no datagram over the limit, no line split),
 * counter deltas across flushes, histogram deltas with sample rates, the
 * series bound, the flush schedule, the final flush on stop, and what happens
 * when nobody listens: drops counted, no crash, at most one warning a minute,
 * and the deltas delivered once a server is back. Every line received must
 * match the DogStatsD grammar. The clock is injected; no root needed.
 *
 * The exporter source is included (h2o style) to reach its statics.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "exporters/dogstatsd.c"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NS_PER_SEC  1000000000ULL

#define LINE_GRAMMAR "^[a-zA-Z][a-zA-Z0-9_.]*:-?[0-9.e+-]+\\|(c|g|d|h)(\\|@[0-9.e-]+)?(\\|#[^|]*)?$"

#define CHECK_U64(what, expected, actual)                                      \
	do {                                                                   \
		unsigned long long e_ = (expected), a_ = (actual);             \
		if (e_ != a_)                                                  \
			fail_msg("%s: expected %llu, got %llu", what, e_, a_); \
	} while (0)

#define CHECK_STR(what, expected, actual)                                                      \
	do {                                                                                   \
		const char *e_ = (expected), *a_ = (actual);                                   \
		if (strcmp(e_, a_))                                                            \
			fail_msg("%s:\n  expected: \"%s\"\n  actual:   \"%s\"", what, e_, a_); \
	} while (0)

/* ==== Fixtures: clock, registry, receivers, captured log ==== */

static uint64_t fake_now_ns = 1000 * NS_PER_SEC;

static uint64_t fake_clock(void)
{
	return fake_now_ns;
}

static unsigned int refreshes;

static void count_refresh(void *ctx)
{
	(void)ctx;
	refreshes++;
}

static const double rtt_bounds[] = { 0.001, 0.01, 0.1 };
static const char *const lbl_events[] = { "type", "protocol", "reset_reason", NULL };
static const char *const lbl_adapter[] = { "adapter", NULL };

struct fixture {
	struct registry *reg;
	struct metric_family *closed, *events, *open, *rtt, *other, *errors;
	struct dsd_exporter *d;
	int rx;		/* receiver socket */
	char dir[64];	/* temp dir for unix sockets */
	char path[108]; /* the unix socket path */
	uint16_t port;	/* UDP receiver port */
	regex_t grammar;
	struct strbuf lines; /* every line received, each with "\n" before and after */
	size_t dgrams;	     /* datagrams received */
	size_t max_dgram;    /* longest datagram received */
};

static struct fixture *fx_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->reg = registry_new();
	assert_non_null(f->reg);
	f->closed = registry_add(f->reg, "gespann_closed_connections_total", "Closed.",
				 METRIC_COUNTER, NULL, NULL, 0);
	f->events = registry_add(f->reg, "gespann_connection_events_total", "Events.",
				 METRIC_COUNTER, lbl_events, NULL, 0);
	f->open = registry_add(f->reg, "gespann_open_connections", "Open.", METRIC_GAUGE, NULL,
			       NULL, 0);
	f->rtt = registry_add(f->reg, "gespann_rtt_seconds", "RTT.", METRIC_HISTOGRAM, NULL,
			      rtt_bounds, COUNT_OF(rtt_bounds));
	f->other = registry_add(f->reg, "gespann_some_new_thing_total", "Not in the table.",
				METRIC_COUNTER, NULL, NULL, 0);
	f->errors = registry_add(f->reg, "gespann_exporter_errors_total", "Errors.", METRIC_COUNTER,
				 lbl_adapter, NULL, 0);
	assert_true(f->closed && f->events && f->open && f->rtt && f->other && f->errors);
	f->rx = -1;
	assert_int_equal(regcomp(&f->grammar, LINE_GRAMMAR, REG_EXTENDED | REG_NOSUB), 0);
	strbuf_init(&f->lines);
	snprintf(f->dir, sizeof(f->dir), "/tmp/gespann-test-dsd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/dsd.socket", f->dir);
	return f;
}

static void fx_free(struct fixture *f)
{
	if (f->d)
		dsd_free(f->d);
	if (f->rx >= 0)
		close(f->rx);
	unlink(f->path);
	rmdir(f->dir);
	registry_free(f->reg);
	regfree(&f->grammar);
	strbuf_free(&f->lines);
	free(f);
}

/* A UDP receiver on 127.0.0.1, port chosen by the kernel. */
static void rx_udp(struct fixture *f)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int rcvbuf = 1 << 20;

	f->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->rx >= 0);
	setsockopt(f->rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(f->rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(f->rx, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
}

/* A unix datagram receiver at f->path. */
static void rx_uds(struct fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int rcvbuf = 1 << 20;

	unlink(f->path);
	f->rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->rx >= 0);
	setsockopt(f->rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	assert_int_equal(bind(f->rx, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

static void rx_close(struct fixture *f)
{
	close(f->rx);
	f->rx = -1;
	unlink(f->path);
}

/* The exporter under test, as start() makes it but on the fake clock. */
static struct dsd_exporter *fx_exporter(struct fixture *f, const char *host, const char *ns,
					enum datadog_histogram hist, const char *const *tags,
					size_t n_tags)
{
	struct adapter_config cfg = { .type = ADAPTER_DATADOG };
	struct exporter_env env = {
		.reg = f->reg,
		.refresh = count_refresh,
		.name = "datadog",
	};
	size_t i;

	snprintf(cfg.host, sizeof(cfg.host), "%s", host);
	snprintf(cfg.metric_namespace, sizeof(cfg.metric_namespace), "%s", ns);
	cfg.flush_interval_ns = 10 * NS_PER_SEC;
	cfg.histogram = hist;
	for (i = 0; i < n_tags; i++)
		snprintf(cfg.tags[i], sizeof(cfg.tags[i]), "%s", tags[i]);
	cfg.n_tags = n_tags;
	f->d = dsd_new(&cfg, &env);
	assert_non_null(f->d);
	f->d->now = fake_clock;
	dsd_begin(f->d);
	return f->d;
}

static struct dsd_exporter *fx_udp_exporter(struct fixture *f)
{
	char host[32];

	rx_udp(f);
	snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
	return fx_exporter(f, host, "gespann", DATADOG_HIST_DISTRIBUTION, NULL, 0);
}

/*
 * Read every datagram waiting (the first may take up to 500 ms to show up):
 * each at most `limit` bytes, each line matching the grammar. The lines are
 * kept in f->lines for has_line(). Returns the number of datagrams.
 */
static size_t rx_collect(struct fixture *f, size_t limit)
{
	static char buf[65536];
	struct pollfd pfd = { .fd = f->rx, .events = POLLIN };
	size_t n = 0;

	strbuf_reset(&f->lines);
	assert_int_equal(strbuf_append(&f->lines, "\n", 1), 0);
	if (poll(&pfd, 1, 500) <= 0)
		return 0;
	for (;;) {
		ssize_t len = recv(f->rx, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		char *line, *save = NULL;

		if (len < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			break;
		}
		n++;
		if ((size_t)len > limit)
			fail_msg("datagram of %zd bytes, the limit is %zu", len, limit);
		if ((size_t)len > f->max_dgram)
			f->max_dgram = (size_t)len;
		buf[len] = '\0';
		if (len == 0 || buf[0] == '\n' || buf[len - 1] == '\n' || strstr(buf, "\n\n"))
			fail_msg("datagram with an empty line: \"%s\"", buf);
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (regexec(&f->grammar, line, 0, NULL, 0))
				fail_msg("line does not match the DogStatsD grammar: \"%s\"", line);
			assert_int_equal(strbuf_append(&f->lines, line, strlen(line)), 0);
			assert_int_equal(strbuf_append(&f->lines, "\n", 1), 0);
		}
	}
	f->dgrams += n;
	return n;
}

static bool has_line(const struct fixture *f, const char *line)
{
	char want[1024];

	snprintf(want, sizeof(want), "\n%s\n", line);
	return strstr(f->lines.buf, want) != NULL;
}

#define ASSERT_LINE(f, line)                                                                \
	do {                                                                                \
		if (!has_line(f, line))                                                     \
			fail_msg("line \"%s\" not received; got:%s", line, (f)->lines.buf); \
	} while (0)

static size_t count_lines(const struct fixture *f)
{
	size_t n = 0;
	const char *p;

	for (p = f->lines.buf + 1; *p; p++)
		n += *p == '\n';
	return n;
}

/* Lines received that start with `prefix`. */
static size_t count_prefix(const struct fixture *f, const char *prefix)
{
	char want[256];
	size_t n = 0;
	const char *p;

	snprintf(want, sizeof(want), "\n%s", prefix);
	for (p = strstr(f->lines.buf, want); p; p = strstr(p + 1, want))
		n++;
	return n;
}

/* fd 2 into a file while a test provokes warnings. */
static int saved_stderr = -1;
static char capture_path[64];

static void capture_begin(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "/tmp/gespann-test-dsd-log-XXXXXX");
	fd = mkstemp(capture_path);
	assert_true(fd >= 0);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
}

/* Restore fd 2, echo what was captured, return how many lines contain `needle`. */
static unsigned int capture_end(const char *needle)
{
	char line[2048];
	unsigned int n = 0;
	FILE *in;

	assert_true(dup2(saved_stderr, 2) == 2);
	close(saved_stderr);
	saved_stderr = -1;
	in = fopen(capture_path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		fprintf(stderr, "  | %s", line);
		n += strstr(line, needle) != NULL;
	}
	fclose(in);
	unlink(capture_path);
	return n;
}

static void set_event(struct fixture *f, const char *type, const char *protocol, const char *reason,
		      double v)
{
	const char *lv[] = { type, protocol, reason };

	assert_int_equal(registry_set(f->events, lv, v), 0);
}

static void set_hist(struct fixture *f, uint64_t b0, uint64_t b1, uint64_t b2, uint64_t inf)
{
	const uint64_t buckets[] = { b0, b1, b2, inf };

	assert_int_equal(registry_set_histogram(f->rtt, NULL, buckets, 0.5), 0);
}

/* ==== Names, tags, numbers ==== */

static void test_names(void **state)
{
	static const struct {
		const char *ns, *prom, *want;
	} cases[] = {
		{ "gespann", "gespann_open_connections", "gespann.connections.open" },
		{ "gespann", "gespann_closed_connections_total", "gespann.connections.closed" },
		{ "gespann", "gespann_bytes_sent_total", "gespann.bytes.sent" },
		{ "gespann", "gespann_bytes_received_total", "gespann.bytes.received" },
		{ "gespann", "gespann_connection_events_total", "gespann.connection.events" },
		{ "gespann", "gespann_connection_duration_seconds", "gespann.connection.duration" },
		{ "gespann", "gespann_rtt_seconds", "gespann.rtt" },
		{ "gespann", "gespann_connect_duration_seconds", "gespann.connect.duration" },
		{ "gespann", "gespann_exporter_dropped_total", "gespann.exporter.dropped" },
		{ "acme.net", "gespann_open_connections", "acme.net.connections.open" },
		{ "acme.", "gespann_rtt_seconds", "acme.rtt" },
		{ "Acme_1", "gespann_bytes_sent_total", "Acme_1.bytes.sent" },
		/* the rule for names the catalogue does not have */
		{ "gespann", "gespann_some_new_thing_total", "gespann.some.new.thing" },
		{ "gespann", "gespann_queue_wait_seconds", "gespann.queue.wait.seconds" },
		{ "acme", "gespann_x_total", "acme.x" },
		{ "gespann", "process_open_fds", "gespann.process.open.fds" },
		{ "gespann", "gespann_a:b_total", "gespann.a.b" },
		{ "gespann", "gespann_total", "gespann.total" },
		{ "gespann", "gespann_", "gespann" },
		{ "acme.", "gespann_", "acme" },
	};
	regex_t name_re;
	char out[256];
	size_t i;

	for (i = 0; i < COUNT_OF(cases); i++) {
		dsd_metric_name(cases[i].ns, catalogue_find(cases[i].prom), cases[i].prom, out,
				sizeof(out));
		CHECK_STR(cases[i].prom, cases[i].want, out);
	}
	/* every catalogue row gives a valid name, and no two rows share one */
	assert_int_equal(regcomp(&name_re, "^[a-zA-Z][a-zA-Z0-9_.]*$", REG_EXTENDED | REG_NOSUB),
			 0);
	for (i = 0; i < M_MAX; i++) {
		const char *prom = catalogue[i].name;
		char other[256];
		size_t j;

		dsd_metric_name("gespann", &catalogue[i], prom, out, sizeof(out));
		if (regexec(&name_re, out, 0, NULL, 0) || strstr(out, ".."))
			fail_msg("%s -> \"%s\": not a DogStatsD name", prom, out);
		if (strncmp(prom, "gespann_", 8))
			fail_msg("%s: catalogue row without the gespann_ prefix", prom);
		for (j = 0; j < i; j++) {
			dsd_metric_name("gespann", &catalogue[j], catalogue[j].name, other,
					sizeof(other));
			if (!strcmp(out, other))
				fail_msg("%s and %s both map to %s", prom, catalogue[j].name, out);
		}
	}
	regfree(&name_re);
}

static void test_tag_escaping(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain", "plain" },
		{ "k:v:w/x.y-z", "k:v:w/x.y-z" },
		{ "a|b", "a_b" },
		{ "a,b", "a_b" },
		{ "a#b", "a_b" },
		{ "line\nbreak\r", "line_break_" },
		{ "tab\tand space", "tab_and_space" },
		{ "\x01\x7f", "__" },
		{ "", "" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" }, /* UTF-8 stays */
	};
	struct strbuf sb;
	char longer[300];
	size_t i;

	strbuf_init(&sb);
	for (i = 0; i < COUNT_OF(cases); i++) {
		strbuf_reset(&sb);
		assert_int_equal(dsd_append_tag_text(&sb, cases[i].in), 0);
		CHECK_STR(cases[i].in, cases[i].want, sb.buf ? sb.buf : "");
	}
	/* longer than the function's chunk */
	memset(longer, '|', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	strbuf_reset(&sb);
	assert_int_equal(dsd_append_tag_text(&sb, longer), 0);
	CHECK_U64("escaped length", sizeof(longer) - 1, sb.len);
	assert_null(strchr(sb.buf, '|'));
	strbuf_free(&sb);
}

static void test_number_format(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ -0.0, "0" },
		{ 12, "12" },
		{ -7, "-7" },
		{ 4294967296.0, "4294967296" },
		{ 0.5, "0.5" },
		{ 2.5, "2.5" },
		{ 0.001, "0.001" },
		{ 1e-05, "0.00001" },
		{ 2.5e-05, "0.000025" },
		{ 123456.789, "123456.789" },
		{ 0.1 + 0.2, "0.3" },
		{ 1e20, "1e+20" },
	};
	char buf[64];
	size_t i;
	uint64_t c;

	for (i = 0; i < COUNT_OF(cases); i++) {
		dsd_format_number(cases[i].v, 15, buf, sizeof(buf));
		CHECK_STR("number", cases[i].want, buf);
	}
	/* sample rates: digits and a dot only (statsd reads them with /[\d.]+/),
	 * and 1/rate is count or a hair above it, never below */
	for (c = 2; c < 200000; c += (c < 1000 ? 1 : 997)) {
		double back;

		dsd_format_rate(c, buf, sizeof(buf));
		if (strspn(buf, "0123456789.") != strlen(buf))
			fail_msg("rate for %llu: \"%s\" is not in fixed notation",
				 (unsigned long long)c, buf);
		back = 1.0 / strtod(buf, NULL);
		if (back < (double)c || back > (double)c * (1 + 1e-12))
			fail_msg("rate for %llu: \"%s\" reads back as %.17g", (unsigned long long)c,
				 buf, back);
	}
	dsd_format_rate(2, buf, sizeof(buf));
	CHECK_STR("rate for 2", "0.5", buf);
	dsd_format_rate(1000000, buf, sizeof(buf));
	CHECK_STR("rate for a million", "0.000001", buf);
}

/* ==== Flushes over UDP ==== */

static void test_counter_deltas(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d = fx_udp_exporter(f);
	unsigned int before = refreshes;

	registry_set(f->closed, NULL, 5);
	set_event(f, "open", "tcp", "", 12);
	registry_set(f->open, NULL, 3);
	dsd_flush(d);
	CHECK_U64("refresh called per flush", before + 1, refreshes);
	assert_true(rx_collect(f, DSD_UDP_PAYLOAD) >= 1);
	/* the first flush sends everything since start */
	ASSERT_LINE(f, "gespann.connections.closed:5|c");
	ASSERT_LINE(f, "gespann.connection.events:12|c|#type:open,protocol:tcp");
	ASSERT_LINE(f, "gespann.connections.open:3|g");

	registry_set(f->closed, NULL, 12);
	set_event(f, "open", "tcp", "", 20);
	set_event(f, "reset_sent", "tcp", "no_socket", 2);
	registry_set(f->open, NULL, 1);
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.closed:7|c");
	ASSERT_LINE(f, "gespann.connection.events:8|c|#type:open,protocol:tcp");
	/* a series new since the last flush: its whole value */
	ASSERT_LINE(f, "gespann.connection.events:2|c|#type:reset_sent,protocol:tcp,"
		       "reset_reason:no_socket");
	ASSERT_LINE(f, "gespann.connections.open:1|g");

	/* nothing happened: zero deltas, so the series stay alive */
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.closed:0|c");
	ASSERT_LINE(f, "gespann.connection.events:0|c|#type:open,protocol:tcp");
	CHECK_U64("errors", 0, d->errors);
	CHECK_U64("dropped", 0, d->dropped);
	CHECK_U64("flushes", 3, d->flushes);
	fx_free(f);
}

static void test_histogram_deltas(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d = fx_udp_exporter(f);
	char line[128], rate[64];

	/* 1 at <= 1ms, 2 at <= 100ms */
	set_hist(f, 1, 0, 2, 0);
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "gespann.rtt:0.001|d");
	ASSERT_LINE(f, "gespann.rtt:0.1|d|@0.5");
	assert_null(strstr(f->lines.buf, "gespann.rtt:0.01|"));

	/* +3 at <= 10ms, +1 over 100ms (sent at the last finite bound), +7 at <= 1ms */
	set_hist(f, 8, 3, 2, 1);
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	dsd_format_rate(3, rate, sizeof(rate));
	snprintf(line, sizeof(line), "gespann.rtt:0.01|d|@%s", rate);
	ASSERT_LINE(f, line);
	dsd_format_rate(7, rate, sizeof(rate));
	snprintf(line, sizeof(line), "gespann.rtt:0.001|d|@%s", rate);
	ASSERT_LINE(f, line);
	ASSERT_LINE(f, "gespann.rtt:0.1|d");
	CHECK_U64("histogram lines", 3, count_prefix(f, "gespann.rtt:"));

	/* no growth: no histogram line at all */
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	assert_null(strstr(f->lines.buf, "gespann.rtt:"));
	fx_free(f);
}

/* histogram: histogram sends |h, with the global tags first. */
static void test_histogram_type_and_tags(void **state)
{
	static const char *const tags[] = { "env:prod", "canary" };
	struct fixture *f = fx_new();
	const char *lv[] = { "datadog" };
	char host[32];

	rx_udp(f);
	snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
	fx_exporter(f, host, "acme.net", DATADOG_HIST_HISTOGRAM, tags, COUNT_OF(tags));
	set_hist(f, 0, 4, 0, 0);
	registry_set(f->other, NULL, 9);
	registry_set(f->errors, lv, 1);
	set_event(f, "we|ird,val#ue", "tc\np", "", 1);
	dsd_flush(f->d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "acme.net.rtt:0.01|h|@0.25|#env:prod,canary");
	ASSERT_LINE(f, "acme.net.some.new.thing:9|c|#env:prod,canary");
	ASSERT_LINE(f, "acme.net.exporter.errors:1|c|#env:prod,canary,adapter:datadog");
	ASSERT_LINE(f, "acme.net.connection.events:1|c|#env:prod,canary,type:we_ird_val_ue,"
		       "protocol:tc_p");
	fx_free(f);
}

static void test_packing_udp(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d = fx_udp_exporter(f);
	char type[64], huge[1500];
	size_t i, n_dgrams;

	/* 300 series of about 90 bytes each: about 19 datagrams */
	for (i = 0; i < 300; i++) {
		snprintf(type, sizeof(type), "t%03zu_abcdefghijklmnopqrstuvwxyz", i);
		set_event(f, type, "tcp", "", (double)i + 1);
	}
	dsd_flush(d);
	n_dgrams = rx_collect(f, DSD_UDP_PAYLOAD);
	CHECK_U64("datagrams received = sent", d->sent, n_dgrams);
	assert_true(n_dgrams >= 15);
	/* every line whole: 300 event series, plus nothing lost */
	for (i = 0; i < 300; i++) {
		char line[160];

		snprintf(line, sizeof(line),
			 "gespann.connection.events:%zu|c|#type:t%03zu_abcdefghijklmnopqrstuvwxyz,"
			 "protocol:tcp",
			 i + 1, i);
		ASSERT_LINE(f, line);
	}
	CHECK_U64("lines", 300, count_lines(f));
	/* packed: all but the last datagram are close to full */
	assert_true(f->max_dgram > DSD_UDP_PAYLOAD - 100);

	/* a line that cannot fit a datagram is dropped and counted, the rest goes */
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	set_event(f, huge, "tcp", "", 1);
	capture_begin();
	dsd_flush(d);
	CHECK_U64("warnings about the long line", 1, capture_end("level=warn"));
	rx_collect(f, DSD_UDP_PAYLOAD);
	CHECK_U64("dropped (the long line)", 1, d->dropped);
	CHECK_U64("lines after the long one", 300, count_lines(f));
	CHECK_U64("errors", 0, d->errors);
	fx_free(f);
}

/* The series bound: past it, series are dropped (counted), others still go. */
static void test_series_bound(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d = fx_udp_exporter(f);
	char type[16];
	size_t i;

	d->max_series = 3;
	for (i = 0; i < 5; i++) {
		snprintf(type, sizeof(type), "t%zu", i);
		set_event(f, type, "tcp", "", 1);
	}
	registry_set(f->open, NULL, 2);
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	CHECK_U64("series kept", 3, d->n_series);
	CHECK_U64("dropped series", 2, d->dropped);
	ASSERT_LINE(f, "gespann.connection.events:1|c|#type:t0,protocol:tcp");
	ASSERT_LINE(f, "gespann.connection.events:1|c|#type:t2,protocol:tcp");
	ASSERT_LINE(f, "gespann.connections.open:2|g");
	CHECK_U64("lines", 4, count_lines(f));
	fx_free(f);
}

/* A lot of series: the table grows and finds each one again. */
static void test_series_table(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d = fx_udp_exporter(f);
	char type[16];
	size_t i;

	for (i = 0; i < 3000; i++) {
		snprintf(type, sizeof(type), "t%zu", i);
		set_event(f, type, "udp", "", 10);
	}
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	CHECK_U64("series", 3000, d->n_series);
	for (i = 0; i < 3000; i += 7) {
		snprintf(type, sizeof(type), "t%zu", i);
		set_event(f, type, "udp", "", 11);
	}
	dsd_flush(d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	CHECK_U64("series after the second flush", 3000, d->n_series);
	ASSERT_LINE(f, "gespann.connection.events:1|c|#type:t7,protocol:udp");
	ASSERT_LINE(f, "gespann.connection.events:0|c|#type:t8,protocol:udp");
	CHECK_U64("dropped", 0, d->dropped);
	fx_free(f);
}

/* The schedule: timeout_ms counts down, run() flushes when due, no catch-up burst. */
static void test_schedule(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d = fx_udp_exporter(f);
	uint64_t start = fake_now_ns;

	registry_set(f->closed, NULL, 1);
	CHECK_U64("timeout at start", 10000, dsd_timeout_ms(d));
	fake_now_ns = start + 9999 * 1000000ULL + 1;
	CHECK_U64("timeout rounds up", 1, dsd_timeout_ms(d));
	dsd_run(d);
	CHECK_U64("no flush before due", 0, d->flushes);
	fake_now_ns = start + 10 * NS_PER_SEC;
	CHECK_U64("timeout when due", 0, dsd_timeout_ms(d));
	dsd_run(d);
	CHECK_U64("flush when due", 1, d->flushes);
	CHECK_U64("next flush", start + 20 * NS_PER_SEC, d->next_flush_ns);
	dsd_run(d);
	CHECK_U64("one flush per interval", 1, d->flushes);
	/* the loop stalled for a minute: one flush, then one interval from now */
	fake_now_ns = start + 80 * NS_PER_SEC;
	dsd_run(d);
	dsd_run(d);
	CHECK_U64("no burst after a stall", 2, d->flushes);
	CHECK_U64("next flush after a stall", fake_now_ns + 10 * NS_PER_SEC, d->next_flush_ns);
	rx_collect(f, DSD_UDP_PAYLOAD);
	fx_free(f);
}

/* UDP with nothing on the port: ECONNREFUSED counted, no retry, one warning. */
static void test_udp_no_listener(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d;
	unsigned int warnings;
	int i;

	rx_udp(f);
	rx_close(f); /* the port is free again: nobody listens */
	capture_begin();
	{
		char host[32];

		snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
		d = fx_exporter(f, host, "gespann", DATADOG_HIST_DISTRIBUTION, NULL, 0);
	}
	registry_set(f->closed, NULL, 1);
	for (i = 0; i < 6; i++) {
		fake_now_ns += 10 * NS_PER_SEC;
		dsd_run(d);
		usleep(2000); /* let the ICMP port unreachable come back */
	}
	warnings = capture_end("level=warn");
	CHECK_U64("warnings in 50 s", 1, warnings);
	assert_true(d->errors >= 1);
	assert_true(d->dropped >= d->errors);
	CHECK_U64("flushes", 6, d->flushes);
	fx_free(f);
}

/* ==== Unix sockets ==== */

static void test_packing_uds(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d;
	char host[160], type[64];
	size_t i;

	rx_uds(f);
	snprintf(host, sizeof(host), "unix://%s", f->path);
	d = fx_exporter(f, host, "gespann", DATADOG_HIST_DISTRIBUTION, NULL, 0);
	CHECK_U64("unix payload", DSD_UDS_PAYLOAD, d->max_payload);
	for (i = 0; i < 300; i++) {
		snprintf(type, sizeof(type), "t%03zu_abcdefghijklmnopqrstuvwxyz", i);
		set_event(f, type, "tcp", "", 1);
	}
	dsd_flush(d);
	CHECK_U64("datagrams", d->sent, rx_collect(f, DSD_UDS_PAYLOAD));
	CHECK_U64("lines", 300, count_lines(f));
	assert_true(f->max_dgram > DSD_UDP_PAYLOAD);
	CHECK_U64("errors", 0, d->errors);
	fx_free(f);
}

/*
 * Nobody at the unix socket, then a server, then it goes away and comes back
 * (an agent restart): drops and errors counted, one warning a minute, the
 * socket re-created at every flush after a failure, and counter deltas kept
 * until delivered.
 */
static void test_uds_outage(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d;
	char host[160];
	unsigned int warnings;
	int i;

	snprintf(host, sizeof(host), "unix://%s", f->path);
	capture_begin();
	d = fx_exporter(f, host, "gespann", DATADOG_HIST_DISTRIBUTION, NULL, 0);
	registry_set(f->closed, NULL, 5);
	for (i = 1; i <= 5; i++) {
		fake_now_ns += 10 * NS_PER_SEC;
		registry_set(f->closed, NULL, 5 * i);
		dsd_run(d);
	}
	warnings = capture_end("level=warn");
	CHECK_U64("warnings: one (at start) in 50 s", 1, warnings);
	CHECK_U64("errors: one failed connect per flush", 5, d->errors);
	CHECK_U64("dropped: every datagram", 5, d->dropped);
	CHECK_U64("nothing sent", 0, d->sent);

	/* a minute after the first warning: one more */
	capture_begin();
	fake_now_ns += 20 * NS_PER_SEC;
	dsd_run(d);
	CHECK_U64("second warning after 60 s", 1, capture_end("level=warn"));
	CHECK_U64("errors", 6, d->errors);

	/* the server appears: everything since start arrives in one delta */
	rx_uds(f);
	capture_begin();
	fake_now_ns += 10 * NS_PER_SEC;
	dsd_run(d);
	CHECK_U64("info line on recovery", 1, capture_end("succeed again"));
	rx_collect(f, DSD_UDS_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.closed:25|c");
	CHECK_U64("errors unchanged", 6, d->errors);

	/* the server goes away: the next send fails (ECONNREFUSED) */
	rx_close(f);
	registry_set(f->closed, NULL, 30);
	fake_now_ns += 10 * NS_PER_SEC;
	capture_begin();
	dsd_run(d);
	CHECK_U64("errors after the server left", 7, d->errors);
	assert_true(d->broken);

	/* and comes back at the same path: picked up at the next flush */
	rx_uds(f);
	registry_set(f->closed, NULL, 31);
	fake_now_ns += 10 * NS_PER_SEC;
	dsd_run(d);
	capture_end("level=warn");
	rx_collect(f, DSD_UDS_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.closed:6|c");
	CHECK_U64("errors after the restart", 7, d->errors);
	fx_free(f);
}

/* A full unix socket (the server is behind): EAGAIN, counted, no retry loop. */
static void test_uds_backpressure(void **state)
{
	struct fixture *f = fx_new();
	struct dsd_exporter *d;
	char host[160], type[64];
	int i, rcvbuf = 4096;
	size_t n;

	rx_uds(f);
	setsockopt(f->rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	snprintf(host, sizeof(host), "unix://%s", f->path);
	d = fx_exporter(f, host, "gespann", DATADOG_HIST_DISTRIBUTION, NULL, 0);
	for (i = 0; i < 2000; i++) {
		snprintf(type, sizeof(type), "t%04d_abcdefghijklmnopqrstuvwxyz", i);
		set_event(f, type, "tcp", "", 1);
	}
	capture_begin();
	for (i = 0; i < 3; i++)
		dsd_flush(d);
	CHECK_U64("one warning", 1, capture_end("level=warn"));
	assert_true(d->errors >= 1);
	assert_true(d->errors <= 3);
	assert_true(d->dropped >= 1);
	n = rx_collect(f, DSD_UDS_PAYLOAD);
	CHECK_U64("received = sent", d->sent, n);
	fx_free(f);
}

/* ==== Lifecycle through the ops table ==== */

static void test_ops(void **state)
{
	const struct exporter_ops *ops = &dogstatsd_exporter_ops;

	CHECK_STR("type", "datadog", ops->type);
	assert_non_null(ops->start);
	assert_non_null(ops->fd);
	assert_non_null(ops->timeout_ms);
	assert_non_null(ops->run);
	assert_non_null(ops->stop);
	assert_non_null(ops->errors);
	assert_non_null(ops->dropped);
	/* free functions and readers accept NULL */
	ops->stop(NULL);
	ops->run(NULL);
	CHECK_U64("errors(NULL)", 0, ops->errors(NULL));
	CHECK_U64("dropped(NULL)", 0, ops->dropped(NULL));
	assert_int_equal(ops->timeout_ms(NULL), -1);
	assert_null(ops->start(NULL, NULL));
}

/* start() from a parsed config, the loop's way, then stop() sends a final flush. */
static void test_start_run_stop(void **state)
{
	struct fixture *f = fx_new();
	const struct exporter_ops *ops = &dogstatsd_exporter_ops;
	struct exporter_env env = { .reg = f->reg, .refresh = count_refresh, .name = "datadog" };
	struct config cfg;
	char yaml[256], err[256];
	void *st;
	int i;

	rx_udp(f);
	snprintf(yaml, sizeof(yaml),
		 "adapters:\n  - type: datadog\n    settings:\n      host: 127.0.0.1:%u\n"
		 "      flush_interval: 100ms\n",
		 f->port);
	if (config_parse(yaml, strlen(yaml), "test.yaml", &cfg, err, sizeof(err)))
		fail_msg("config: %s", err);
	st = ops->start(&cfg.adapters[0], &env);
	assert_non_null(st);
	assert_int_equal(ops->fd(st), -1);
	registry_set(f->closed, NULL, 3);
	for (i = 0; i < 50 && ((struct dsd_exporter *)st)->flushes == 0; i++) {
		int t = ops->timeout_ms(st);

		assert_true(t >= 0 && t <= 100);
		poll(NULL, 0, t);
		ops->run(st);
	}
	CHECK_U64("flushed within 50 loop turns", 1, ((struct dsd_exporter *)st)->flushes);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.closed:3|c");
	registry_set(f->closed, NULL, 10);
	ops->stop(st);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.closed:7|c");
	fx_free(f);
}

/* "localhost" resolves (IPv4 first) and reaches a receiver on 127.0.0.1. */
static void test_localhost(void **state)
{
	struct fixture *f = fx_new();
	char host[32];

	rx_udp(f);
	snprintf(host, sizeof(host), "localhost:%u", f->port);
	fx_exporter(f, host, "gespann", DATADOG_HIST_DISTRIBUTION, NULL, 0);
	CHECK_U64("family", AF_INET, f->d->addr.ss_family);
	assert_false(f->d->numeric);
	registry_set(f->open, NULL, 4);
	dsd_flush(f->d);
	rx_collect(f, DSD_UDP_PAYLOAD);
	ASSERT_LINE(f, "gespann.connections.open:4|g");
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tag_escaping),
		cmocka_unit_test(test_number_format),
		cmocka_unit_test(test_counter_deltas),
		cmocka_unit_test(test_histogram_deltas),
		cmocka_unit_test(test_histogram_type_and_tags),
		cmocka_unit_test(test_packing_udp),
		cmocka_unit_test(test_series_bound),
		cmocka_unit_test(test_series_table),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_udp_no_listener),
		cmocka_unit_test(test_packing_uds),
		cmocka_unit_test(test_uds_outage),
		cmocka_unit_test(test_uds_backpressure),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_start_run_stop),
		cmocka_unit_test(test_localhost),
	};

	return cmocka_run_group_tests_name("dogstatsd", tests, NULL, NULL);
}
