// SPDX-License-Identifier: MIT
/*
 * Golden test: the whole metric catalogue as the three exporters write it,
 * byte for byte. The registry is built as the agent builds it (collector_new
 * with probes that loaded nothing, then flows_new with the default config
 * and the caches main.c makes), every core family is set from synthetic
 * kernel sums (every counter, histogram bucket, reset reason and errno slot
 * a distinct value), the flow, process and DNS families from synthetic
 * ring-buffer records and map readings through the flows' public calls, and
 * the exporters' own families from two fake exporters. Then:
 *
 *   tests/golden/metrics.prom   registry_render_prometheus
 *   tests/golden/dogstatsd.txt  one DogStatsD flush (start, stop) to a local
 *                               UDP socket, each datagram then an empty line
 *   tests/golden/otlp.json      otlp_render, http/json
 *   tests/golden/otlp.pb.hex    otlp_render, http/protobuf, 32 bytes a line
 *
 * The config is the default plus a host zone and one network in another
 * zone (setup()), so that zone labels and the inter-zone family show.
 * Timestamps are fixed. The golden files were generated from the output of
 * commit 0f85d06, before the catalogue refactor; a refactor is right when
 * this test passes without touching them. Adding or changing a family on
 * purpose: regenerate them with
 *
 *   GOLDEN_UPDATE=1 build/tests/test_golden
 *
 * from the repository root and review the diff. GOLDEN_DIR overrides the
 * directory (default tests/golden, relative to the working directory).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "enrich/hostcache.h"
#include "enrich/netclass.h"
#include "enrich/proccache.h"
#include "exporters/exporter.h"
#include "exporters/otlp.h"
#include "flows/flows.h"
#include "metrics/collector.h"
#include "metrics/registry.h"

#define S	     1000000000ULL
#define T_START_UNIX 1700000000000000000ULL
#define T_NOW_UNIX   1700000060000000000ULL

/* ==== Golden files ==== */

static const char *golden_dir(void)
{
	const char *d = getenv("GOLDEN_DIR");

	return d && d[0] ? d : "tests/golden";
}

static void golden_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", golden_dir(), name);
}

/* Compare text with the golden file (or write it under GOLDEN_UPDATE=1). On
 * a mismatch the output is left next to it as NAME.got with the first
 * differing line reported. */
static void golden_check(const char *name, const char *text, size_t len)
{
	char path[512], got[600];
	const char *upd = getenv("GOLDEN_UPDATE");
	char *want = NULL;
	size_t want_len = 0, line = 1, i;
	FILE *f;

	golden_path(name, path, sizeof(path));
	if (upd && !strcmp(upd, "1")) {
		f = fopen(path, "we");
		assert_non_null(f);
		assert_int_equal(fwrite(text, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
		return;
	}
	f = fopen(path, "re");
	if (!f)
		fail_msg("%s: %s (GOLDEN_UPDATE=1 writes it)", path, strerror(errno));
	want = malloc(len + 2);
	assert_non_null(want);
	want_len = fread(want, 1, len + 1, f);
	fclose(f);
	if (want_len == len && !memcmp(want, text, len)) {
		free(want);
		return;
	}
	for (i = 0; i < len && i < want_len && want[i] == text[i]; i++)
		if (text[i] == '\n')
			line++;
	snprintf(got, sizeof(got), "%s.got", path);
	f = fopen(got, "we");
	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	free(want);
	fail_msg("%s differs from the output at line %zu (output in %s)", path, line, got);
}

/* ==== The registry, as the agent builds it ==== */

struct agent {
	struct config cfg;
	struct probes probes;
	struct registry *reg;
	struct collector *c;
	struct flows_enrich en;
	struct flows *f;
};

static void fill_sums(struct probes_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < GS_C_MAX; i++) {
		s->tcp.counters[i] = 100000 + 1000 * (uint64_t)i;
		s->udp.counters[i] = 200000 + 1000 * (uint64_t)i;
		s->proc.counters[i] = 300000 + 1000 * (uint64_t)i;
	}
	/* corrections and untracked counts below what they are taken from */
	s->tcp.counters[GS_C_TCP_BYTES_SENT_CORR] = 7;
	s->tcp.counters[GS_C_TCP_BYTES_RECEIVED_CORR] = 9;
	s->tcp.counters[GS_C_TCP_ESTABLISHED_UNTRACKED] = 13;
	s->tcp.counters[GS_C_TCP_CLOSED_UNTRACKED] = 11;
	s->tcp.counters[GS_C_TCP_SEEDED] = 17;
	for (int h = 0; h < GS_H_MAX; h++) {
		for (int b = 0; b < GS_HIST_NBUCKETS; b++)
			s->tcp.hist[h][b] = 100 * (uint64_t)h + (uint64_t)b + 1;
		s->tcp.hist_sum_ns[h] = 123456789ULL * (uint64_t)(h + 1);
	}
	for (int r = 0; r < GS_MAX_RST_REASON; r++)
		s->tcp.rst_sent_reason[r] = 500 + (uint64_t)r;
	for (int e = 0; e < GS_MAX_ERRNO; e++)
		s->tcp.failed_errno[e] = 700 + (uint64_t)e;
}

/* Fake exporters for the self-metric families. */
struct fake_state {
	uint64_t errors, dropped;
};

static uint64_t fake_errors(const void *state)
{
	return ((const struct fake_state *)state)->errors;
}

static uint64_t fake_dropped(const void *state)
{
	return ((const struct fake_state *)state)->dropped;
}

static const struct exporter_ops fake_ops = {
	.type = "fake",
	.errors = fake_errors,
	.dropped = fake_dropped,
};

static void publish_core(struct agent *a)
{
	static struct fake_state st1 = { 3, 5 }, st2 = { 7, 11 };
	struct exporter ex[3] = {
		{ .ops = &fake_ops, .state = &st1, .name = "prometheus" },
		{ .ops = &fake_ops, .state = NULL, .name = "not_started" },
		{ .ops = &fake_ops, .state = &st2, .name = "datadog" },
	};
	struct feed_stats fs = {
		.delivered = 41,
		.invalid = 43,
		.udp_expired = 47,
		.udp_active = 53,
		.live = { .conns = 59, .idle = 61, .entries = 67, .run_ns = 71 },
	};
	struct collector_self self = {
		.cpu_seconds = 12.5, .rss_bytes = 7340032, .have_cpu = true, .have_rss = true
	};
	static struct probes_sums sums;

	fill_sums(&sums);
	collector_publish(a->c, &sums, &fs, &self);
	exporters_publish(ex, 3, a->reg);
}

static void conn(struct gs_conn *c, const char *comm, const char *dst, uint16_t dport,
		 uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	c->family = AF_INET;
	c->flags = flags;
	c->start_ns = 7 * S;
	c->sport = 40000;
	c->dport = dport;
	inet_pton(AF_INET, "198.18.0.1", c->saddr);
	inet_pton(AF_INET, dst, c->daddr);
	strncpy(c->comm, comm, sizeof(c->comm));
}

static void record(struct agent *a, uint32_t type, uint64_t id, const struct gs_conn *c,
		   uint64_t now)
{
	struct gs_event ev = { .hdr = { .type = type, .size = sizeof(ev) }, .sock_id = id };

	ev.conn = *c;
	flows_record(a->f, &ev, sizeof(ev), now);
}

static void dns_record(struct agent *a, int egress, const char *src, uint16_t sport,
		       const char *dst, uint16_t dport, const uint8_t *msg, size_t n, uint64_t ts)
{
	struct gs_dns_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = GS_EV_DNS;
	ev.hdr.size = sizeof(ev);
	ev.ts_ns = ts;
	ev.family = AF_INET;
	ev.protocol = IPPROTO_UDP;
	ev.egress = (uint8_t)egress;
	ev.sport = sport;
	ev.dport = dport;
	inet_pton(AF_INET, src, ev.saddr);
	inet_pton(AF_INET, dst, ev.daddr);
	memcpy(ev.comm, "resolver", 9);
	ev.len = (uint16_t)n;
	ev.payload_len = (uint16_t)n;
	memcpy(ev.data, msg, n);
	flows_record(a->f, &ev, sizeof(ev), ts);
}

static void feed_dns(struct agent *a)
{
	static const uint8_t query[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 7,	  'e',	'x',  'a',  'm',  'p',	'l',  'e',
		4,    't',  'e',  's',	't',  0,    0x00, 0x01, 0x00, 0x01,
	};
	static const uint8_t answer[] = {
		0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		7,    'e',  'x',  'a',	'm',  'p',  'l',  'e',	4,    't',  'e',  's',
		't',  0,    0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
		0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 198,  18,	0,    2,
	};
	static const uint8_t garbage[] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };

	dns_record(a, 1, "198.18.0.1", 40053, "198.18.0.53", 53, query, sizeof(query), 8 * S);
	dns_record(a, 0, "198.18.0.53", 53, "198.18.0.1", 40053, answer, sizeof(answer),
		   8 * S + 3000000);
	dns_record(a, 0, "198.18.0.53", 53, "198.18.0.1", 40054, garbage, sizeof(garbage),
		   8 * S + 4000000);
}

static void feed_flows(struct agent *a)
{
	struct gs_udp_key k = { .family = AF_INET, .lport = 5353, .rport = 40001 };
	struct gs_udp_flow v = { .bytes_received = 64, .dgrams_received = 1 };
	struct gs_conn c, lost, open;

	feed_dns(a); /* first: example.test names 198.18.0.2 below */

	/* a client connection read in a pass, then closed */
	conn(&c, "alpha", "198.18.0.2", 9101, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	c.bytes_sent = 100;
	c.bytes_received = 30;
	/* one whose record never comes, and one still open */
	conn(&lost, "beta", "203.0.113.5", 443, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	lost.bytes_sent = 10;
	conn(&open, "gamma", "198.18.0.2", 5432, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	open.sport = 40002;
	open.bytes_received = 77;
	flows_tcp_begin(a->f);
	flows_tcp_entry(a->f, 0x1000, &c, 9 * S);
	flows_tcp_entry(a->f, 0x1100, &lost, 9 * S);
	flows_tcp_entry(a->f, 0x1200, &open, 9 * S);
	flows_tcp_end(a->f, 9 * S);
	for (int pass = 0; pass < 3; pass++) {
		flows_tcp_begin(a->f);
		flows_tcp_entry(a->f, 0x1000, &c, (10 + pass) * S);
		flows_tcp_entry(a->f, 0x1200, &open, (10 + pass) * S);
		flows_tcp_end(a->f, (10 + pass) * S);
	}
	c.bytes_sent = 400;
	c.bytes_received = 80;
	c.total_retrans = 5;
	c.srtt_us = 1500;
	c.flags |= GS_CF_CLOSED;
	record(a, GS_EV_CLOSE, 0x1000, &c, 13 * S);

	/* an accepted connection reset by the peer */
	conn(&c, "svc-one", "198.18.0.7", 41234, GS_CF_PASSIVE | GS_CF_ESTABLISHED);
	c.sport = 9101;
	c.bytes_received = 11;
	c.flags |= GS_CF_RST_RECEIVED | GS_CF_CLOSED;
	record(a, GS_EV_CLOSE, 0x2000, &c, 13 * S);

	/* a refused connect */
	conn(&c, "alpha", "198.18.0.9", 9, GS_CF_ACTIVE | GS_CF_FAILED);
	c.err = ECONNREFUSED;
	record(a, GS_EV_FAILED, 0x3000, &c, 13 * S);

	/* a UDP flow, server side */
	inet_pton(AF_INET, "127.0.0.1", k.laddr);
	inet_pton(AF_INET, "127.0.0.1", k.raddr);
	memcpy(v.comm, "resolver", 9);
	v.flags = GS_UF_OWNER;
	flows_udp(a->f, &k, &v, 0, 8 * S);
	v.bytes_sent = 100;
	v.bytes_received = 128;
	flows_udp(a->f, &k, &v, 1, 9 * S);
	flows_udp_end(a->f);
	flows_publish(a->f);
}

static int setup(void **state)
{
	struct agent *a = calloc(1, sizeof(*a));
	char err[512];

	assert_non_null(a);
	assert_int_equal(config_parse(config_default_text(), strlen(config_default_text()),
				      "(default)", &a->cfg, err, sizeof(err)),
			 0);
	/* Zones, so that src_zone and the inter-zone family have values: this
	 * host is zone-a (zone:), 203.0.113.0/24 (beta's peer) zone-b. */
	snprintf(a->cfg.zone, sizeof(a->cfg.zone), "zone-a");
	a->cfg.networks[0] = (struct config_network){
		.family = AF_INET, .prefix = 24, .addr = { 203, 0, 113 }, .zone = "zone-b"
	};
	a->cfg.n_networks = 1;
	/* the reset reasons a kernel names; the rest are reason_N */
	snprintf(a->probes.reset_reason_names[0], 32, "not_specified");
	snprintf(a->probes.reset_reason_names[1], 32, "no_socket");
	snprintf(a->probes.reset_reason_names[3], 32, "tcp_rfc7323_paws");
	a->probes.n_reset_reasons = 4;
	for (int i = 0; i < FEAT_MAX; i++)
		a->probes.features[i] = i % 3 != 1;
	a->reg = registry_new();
	assert_non_null(a->reg);
	a->c = collector_new(a->reg, &a->probes);
	assert_non_null(a->c);
	a->en.pc = proccache_new(a->cfg.max_processes, "/proc", "/sys/fs/cgroup");
	a->en.hc = hostcache_new(a->cfg.dns_max_names);
	a->en.nc = netclass_new(a->cfg.networks, a->cfg.n_networks);
	assert_true(a->en.pc && a->en.hc && a->en.nc);
	a->f = flows_new(a->reg, &a->cfg, &a->en, err, sizeof(err));
	if (!a->f)
		fail_msg("flows_new: %s", err);
	publish_core(a);
	feed_flows(a);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	struct agent *a = *state;

	flows_free(a->f);
	netclass_free(a->en.nc);
	hostcache_free(a->en.hc);
	proccache_free(a->en.pc);
	collector_free(a->c);
	registry_free(a->reg);
	free(a);
	return 0;
}

/* ==== The exporters ==== */

static void test_prometheus(void **state)
{
	struct agent *a = *state;
	struct strbuf sb;

	strbuf_init(&sb);
	assert_int_equal(registry_render_prometheus(a->reg, &sb), 0);
	golden_check("metrics.prom", sb.buf, sb.len);
	strbuf_free(&sb);
}

static void test_dogstatsd(void **state)
{
	struct agent *a = *state;
	const struct exporter_ops *ops = exporter_ops_for(ADAPTER_DATADOG);
	struct adapter_config acfg;
	struct exporter_env env = { .reg = a->reg, .name = "datadog" };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int rcvbuf = 4 << 20;
	char dgram[65536];
	struct strbuf sb;
	void *st;
	int rx;

	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(rx >= 0);
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(config_adapter_defaults(&acfg, ADAPTER_DATADOG), 0);
	snprintf(acfg.host, sizeof(acfg.host), "127.0.0.1:%u", ntohs(sin.sin_port));
	snprintf(acfg.tags[0], sizeof(acfg.tags[0]), "env:golden");
	acfg.n_tags = 1;
	assert_non_null(ops);
	st = ops->start(&acfg, &env);
	assert_non_null(st);
	ops->stop(st); /* the final flush: every series once */
	strbuf_init(&sb);
	for (;;) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			break;
		n = recv(rx, dgram, sizeof(dgram), 0);
		assert_true(n >= 0);
		assert_int_equal(strbuf_append(&sb, dgram, (size_t)n), 0);
		assert_int_equal(strbuf_append(&sb, "\n\n", 2), 0);
	}
	close(rx);
	assert_true(sb.len > 0);
	golden_check("dogstatsd.txt", sb.buf, sb.len);
	strbuf_free(&sb);
}

static void test_otlp_json(void **state)
{
	struct agent *a = *state;
	uint8_t *body;
	size_t len;

	assert_int_equal(otlp_render(a->reg, OTLP_HTTP_JSON, "golden-host", T_START_UNIX,
				     T_NOW_UNIX, &body, &len),
			 0);
	golden_check("otlp.json", (const char *)body, len);
	free(body);
}

static void test_otlp_protobuf(void **state)
{
	struct agent *a = *state;
	struct strbuf sb;
	uint8_t *body;
	size_t len;

	assert_int_equal(otlp_render(a->reg, OTLP_HTTP_PROTOBUF, "golden-host", T_START_UNIX,
				     T_NOW_UNIX, &body, &len),
			 0);
	strbuf_init(&sb);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(strbuf_printf(&sb, "%02x%s", body[i],
					       (i % 32 == 31 || i + 1 == len) ? "\n" : ""),
				 0);
	golden_check("otlp.pb.hex", sb.buf, sb.len);
	strbuf_free(&sb);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_dogstatsd),
		cmocka_unit_test(test_otlp_json),
		cmocka_unit_test(test_otlp_protobuf),
	};

	return cmocka_run_group_tests_name("golden", tests, setup, teardown);
}
