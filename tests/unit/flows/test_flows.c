// SPDX-License-Identifier: MIT
/*
 * Unit tests: the flow table. Synthetic kernel records and batch readings go
 * in, the Prometheus text comes out; every figure is checked exactly. No
 * root, no BPF: owners use pid 0 (no /proc lookup) and their comm.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config/config.h"
#include "enrich/hostcache.h"
#include "enrich/netclass.h"
#include "enrich/proccache.h"
#include "flows/flows.h"
#include "metrics/registry.h"

#define S 1000000000ULL

struct fixture {
	struct config *cfg;
	struct registry *reg;
	struct flows *f;
	struct strbuf out;
	struct flows_enrich en;
};

/* The defaults, DNS off; client_address: the attributes.client_address key. */
static int setup_with(void **state, int client_address)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	fx->cfg = calloc(1, sizeof(*fx->cfg));
	config_set_defaults(fx->cfg);
	fx->cfg->dns_enabled = 0;
	fx->cfg->client_address = client_address;
	fx->reg = registry_new();
	fx->en.pc = proccache_new(fx->cfg->max_processes, "/proc", "/sys/fs/cgroup");
	fx->en.hc = hostcache_new(fx->cfg->dns_max_names);
	fx->en.nc = netclass_new(fx->cfg->networks, fx->cfg->n_networks);
	fx->f = flows_new(fx->reg, fx->cfg, &fx->en, err, sizeof(err));
	assert_non_null(fx->f);
	strbuf_init(&fx->out);
	*state = fx;
	return 0;
}

/* Most tests check the client's address of server flows: selected. */
static int setup(void **state)
{
	return setup_with(state, 1);
}

/* The default: server flows without the client's address. */
static int setup_default(void **state)
{
	return setup_with(state, 0);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	flows_free(fx->f);
	netclass_free(fx->en.nc);
	hostcache_free(fx->en.hc);
	proccache_free(fx->en.pc);
	registry_free(fx->reg);
	strbuf_free(&fx->out);
	free(fx->cfg);
	free(fx);
	return 0;
}

static const char *render(struct fixture *fx)
{
	flows_publish(fx->f);
	strbuf_reset(&fx->out);
	assert_int_equal(registry_render_prometheus(fx->reg, &fx->out), 0);
	return fx->out.buf;
}

/* The line "series value" must be in the exposition, exactly. */
static void expect(struct fixture *fx, const char *series, const char *value)
{
	char line[1024];
	const char *text = render(fx);

	snprintf(line, sizeof(line), "\n%s %s\n", series, value);
	if (!strstr(text, line))
		fail_msg("missing \"%s %s\" in:\n%s", series, value, text);
}

static void absent(struct fixture *fx, const char *needle)
{
	const char *text = render(fx);

	if (strstr(text, needle))
		fail_msg("unexpected \"%s\" in:\n%s", needle, text);
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
	strncpy(c->comm, comm, sizeof(c->comm)); /* a full 16 bytes: no NUL needed */
}

static void record(struct fixture *fx, uint32_t type, uint64_t id, const struct gs_conn *c)
{
	struct gs_event ev = { .hdr = { .type = type, .size = sizeof(ev) }, .sock_id = id };

	ev.conn = *c;
	flows_record(fx->f, &ev, sizeof(ev), 10 * S);
}

#define FB "gespann_flow_bytes_total"
#define LBL_A                                                                                                      \
	"protocol=\"tcp\",role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address=\"198.18.0.2\"," \
	"dst_port=\"9101\",dst_name=\"\",dst_class=\"internal\",src_zone=\"\",dst_zone=\"\""

/* An open connection read twice, then closed: every byte once. */
static void test_growth_then_close(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "alpha", "198.18.0.2", 9101, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	c.bytes_sent = 100;
	c.bytes_received = 30;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x1000, &c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "100");
	expect(fx,
	       "gespann_flow_open_connections{role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address="
	       "\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\",state=\"established\"}",
	       "1");

	c.bytes_sent = 250;
	c.bytes_received = 29; /* went back (the FIN seen early): never subtracted */
	c.total_retrans = 3;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x1000, &c, 9 * S);
	flows_tcp_end(fx->f, 9 * S);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "250");
	expect(fx, FB "{direction=\"received\"," LBL_A "}", "30");

	c.bytes_sent = 400;
	c.bytes_received = 80;
	c.total_retrans = 5;
	c.srtt_us = 1500;
	c.flags |= GS_CF_CLOSED;
	record(fx, GS_EV_CLOSE, 0x1000, &c);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "400");
	expect(fx, FB "{direction=\"received\"," LBL_A "}", "80");
	expect(fx, "gespann_flow_connections_total{" LBL_A ",outcome=\"ok\"}", "1");
	expect(fx,
	       "gespann_flow_retransmits_total{role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address="
	       "\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\"}",
	       "5");
	expect(fx,
	       "gespann_flow_rtt_seconds_count{role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address="
	       "\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\"}",
	       "1");
	expect(fx,
	       "gespann_process_bytes_total{process=\"alpha\",service=\"alpha\",direction=\"sent\",protocol=\"tcp\"}",
	       "400");

	/* Closed: the next pass rebuilds the gauge without it. */
	flows_tcp_begin(fx->f);
	flows_tcp_end(fx->f, 11 * S);
	absent(fx, "gespann_flow_open_connections{");
}

/* A pass spread over loop turns: a scrape in the middle of it shows the
 * last whole open-connection gauge, not the half-built one. */
static void test_gauge_kept_during_pass(void **state)
{
	struct fixture *fx = *state;
	const char *open_a =
		"gespann_flow_open_connections{role=\"client\",src_process=\"alpha\",src_service=\"alpha\","
		"dst_address=\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\",state=\"established\"}";
	struct gs_conn c, d;

	conn(&c, "alpha", "198.18.0.2", 9101, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	d = c;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x1000, &c, 8 * S);
	flows_tcp_entry(fx->f, 0x2000, &d, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	expect(fx, open_a, "2");

	flows_tcp_begin(fx->f);
	expect(fx, open_a, "2"); /* nothing read yet */
	flows_tcp_entry(fx->f, 0x1000, &c, 9 * S);
	expect(fx, open_a, "2"); /* one of two read */
	flows_tcp_end(fx->f, 9 * S);
	expect(fx, open_a, "1"); /* 0x2000 was not seen: one pass later it is gone */
}

/* An accepted connection: labelled by our service port, not the client's. */
static void test_server_side_and_outcomes(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "svc-one", "198.18.0.1", 41234, GS_CF_PASSIVE | GS_CF_ESTABLISHED);
	c.sport = 9101;
	c.bytes_received = 11;
	c.flags |= GS_CF_RST_RECEIVED;
	record(fx, GS_EV_CLOSE, 0x2000, &c);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"198.18.0.1\",dst_port=\"9101\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\",outcome=\"reset\"}",
	       "1");
	absent(fx, "dst_port=\"41234\"");

	conn(&c, "alpha", "198.18.0.9", 9, GS_CF_ACTIVE | GS_CF_FAILED);
	c.err = ECONNREFUSED;
	record(fx, GS_EV_FAILED, 0x3000, &c);
	c.err = ETIMEDOUT;
	c.start_ns++;
	record(fx, GS_EV_FAILED, 0x3000, &c);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"client\",src_process="
	       "\"alpha\",src_service=\"alpha\",dst_address=\"198.18.0.9\",dst_port=\"9\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\",outcome=\"refused\"}",
	       "1");
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"client\",src_process="
	       "\"alpha\",src_service=\"alpha\",dst_address=\"198.18.0.9\",dst_port=\"9\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\",outcome=\"timeout\"}",
	       "1");
}

/* A child that lost the kernel's race to create a connection (closed in
 * SYN_RECV, no error, no RST, never accepted) is not a connection; one
 * reset before ESTABLISHED is. */
static void test_dropped_child(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "svc-one", "198.18.0.1", 41234, GS_CF_PASSIVE);
	c.sport = 9101;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x4000, &c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	expect(fx,
	       "gespann_flow_open_connections{role=\"server\",src_process=\"svc-one\",src_service=\"svc-one\",dst_address="
	       "\"198.18.0.1\",dst_port=\"9101\",dst_name=\"\",state=\"syn_recv\"}",
	       "1");
	c.flags |= GS_CF_FAILED | GS_CF_CLOSED;
	record(fx, GS_EV_FAILED, 0x4000, &c);
	c.start_ns++;
	record(fx, GS_EV_FAILED, 0x4100, &c);
	absent(fx, "gespann_flow_connections_total{");
	flows_tcp_begin(fx->f);
	flows_tcp_end(fx->f, 9 * S);
	absent(fx, "gespann_flow_open_connections{");

	c.start_ns++;
	c.err = ECONNRESET;
	record(fx, GS_EV_FAILED, 0x4200, &c);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"198.18.0.1\",dst_port=\"9101\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\",outcome=\"reset\"}",
	       "1");
}

/* A pass that saw an accepted child in SYN_RECV read the listener's
 * addresses (the kernel fills the peer's on the way to ESTABLISHED: :: for
 * a v4-mapped child of a :: listener); the flow is labelled by the peer. */
static void test_child_seen_in_syn_recv(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "svc-one", "198.18.0.1", 41234, GS_CF_PASSIVE);
	c.family = AF_INET6;
	c.flags |= GS_CF_IPV6;
	memset(c.daddr, 0, sizeof(c.daddr));
	c.dport = 0;
	c.sport = 9101;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x4800, &c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	expect(fx,
	       "gespann_flow_open_connections{role=\"server\",src_process=\"svc-one\",src_service=\"svc-one\",dst_address="
	       "\"::\",dst_port=\"9101\",dst_name=\"\",state=\"syn_recv\"}",
	       "1");
	inet_pton(AF_INET6, "::ffff:198.18.0.1", c.daddr);
	c.dport = 41234;
	c.flags |= GS_CF_ESTABLISHED | GS_CF_CLOSED;
	c.bytes_received = 1000;
	record(fx, GS_EV_CLOSE, 0x4800, &c);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"198.18.0.1\",dst_port=\"9101\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "1");
	expect(fx,
	       FB
	       "{direction=\"received\",protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"198.18.0.1\",dst_port=\"9101\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\"}",
	       "1000");
	absent(fx, "dst_address=\"::\",dst_port=\"9101\",dst_name=\"\",dst_class");
}

/* Open before the agent started (seeded): the flow series count from the
 * figures the socket had then, whether a pass or the close reads it first. */
static void test_seeded_baseline(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "alpha", "198.18.0.2", 9101, GS_CF_ESTABLISHED | GS_CF_SEEDED);
	c.bytes_sent = c.seed_sent = 1000000;
	c.bytes_received = c.seed_rcvd = 500000;
	c.total_retrans = c.seed_retrans = 7;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x5000, &c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	absent(fx, FB "{");
	absent(fx, "gespann_flow_retransmits_total{");
	expect(fx,
	       "gespann_flow_open_connections{role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address="
	       "\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\",state=\"established\"}",
	       "1");

	c.bytes_sent += 300;
	c.bytes_received += 20;
	c.total_retrans += 1;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x5000, &c, 9 * S);
	flows_tcp_end(fx->f, 9 * S);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "300");
	expect(fx, FB "{direction=\"received\"," LBL_A "}", "20");

	c.bytes_sent += 100;
	c.flags |= GS_CF_CLOSED;
	record(fx, GS_EV_CLOSE, 0x5000, &c);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "400");
	expect(fx,
	       "gespann_flow_retransmits_total{role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address="
	       "\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\"}",
	       "1");

	/* Closed before any pass saw it: the record alone carries the base. */
	conn(&c, "alpha", "198.18.0.2", 9101, GS_CF_ESTABLISHED | GS_CF_SEEDED | GS_CF_CLOSED);
	c.start_ns = 0;
	c.seed_sent = 5000000;
	c.bytes_sent = 5000070;
	c.seed_rcvd = c.bytes_received = 64;
	record(fx, GS_EV_CLOSE, 0x5100, &c);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "470");
	expect(fx, FB "{direction=\"received\"," LBL_A "}", "20");
}

/* No pid exists above PID_MAX_LIMIT (4194304): the cache keeps the comm. */
#define PID_LISTENER 4194401
#define PID_WORKER   4194402
#define LBL_SRV(comm)                                                                   \
	"protocol=\"tcp\",role=\"server\",src_process=\"" comm "\",src_service=\"" comm \
	"\",dst_address=\"198.18.0.1\","                                                \
	"dst_port=\"9101\",dst_name=\"\",dst_class=\"internal\",src_zone=\"\",dst_zone=\"\""

/* Payload that arrived before accept() returned is the accepting process's:
 * a pass leaves it to the accept; without an accept (io_uring), the close
 * counts it under the listener's owner. */
static void test_deferred_passive_growth(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	flows_set_accept_owner(fx->f, true);
	conn(&c, "listener", "198.18.0.1", 41234, GS_CF_PASSIVE | GS_CF_ESTABLISHED);
	c.sport = 9101;
	c.pid = PID_LISTENER;
	c.bytes_received = 700;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x6000, &c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	absent(fx, FB "{");
	expect(fx,
	       "gespann_flow_open_connections{role=\"server\",src_process=\"listener\",src_service=\"listener\","
	       "dst_address=\"198.18.0.1\",dst_port=\"9101\",dst_name=\"\",state="
	       "\"established\"}",
	       "1");

	/* accept() in a worker: the next pass counts everything there. */
	c.pid = PID_WORKER;
	strncpy(c.comm, "worker", sizeof(c.comm));
	c.flags |= GS_CF_ACCEPTED;
	c.bytes_received = 900;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x6000, &c, 9 * S);
	flows_tcp_end(fx->f, 9 * S);
	expect(fx, FB "{direction=\"received\"," LBL_SRV("worker") "}", "900");
	c.bytes_received = 1000;
	c.flags |= GS_CF_CLOSED;
	record(fx, GS_EV_CLOSE, 0x6000, &c);
	expect(fx, FB "{direction=\"received\"," LBL_SRV("worker") "}", "1000");
	absent(fx, "src_process=\"listener\"");

	/* Never accepted through a syscall (io_uring): counted at close. */
	conn(&c, "listener", "198.18.0.1", 41234, GS_CF_PASSIVE | GS_CF_ESTABLISHED);
	c.sport = 9101;
	c.start_ns++;
	c.pid = PID_LISTENER;
	c.bytes_received = 300;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x6100, &c, 10 * S);
	flows_tcp_end(fx->f, 10 * S);
	absent(fx, FB "{direction=\"received\"," LBL_SRV("listener"));
	c.bytes_received = 350;
	c.flags |= GS_CF_CLOSED;
	record(fx, GS_EV_CLOSE, 0x6100, &c);
	expect(fx, FB "{direction=\"received\"," LBL_SRV("listener") "}", "350");
}

/* A record whose entry a pass never saw, and an entry whose record was
 * lost: neither is counted twice nor kept forever. */
static void test_lost_record_and_reused_socket(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn a, b;

	conn(&a, "alpha", "198.18.0.2", 9101, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	a.bytes_sent = 10;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x4000, &a, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	/* Same socket address, a new connection (another start time). */
	conn(&b, "alpha", "198.18.0.2", 9101, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	b.start_ns = 9 * S;
	b.bytes_sent = 5;
	for (int pass = 0; pass < 3; pass++) {
		flows_tcp_begin(fx->f);
		flows_tcp_entry(fx->f, 0x4000, &b, (10 + pass) * S);
		flows_tcp_end(fx->f, (10 + pass) * S);
	}
	/* a's record never came: its 10 bytes stay, b's 5 add. */
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "15");
	expect(fx, "gespann_flow_entries_lost_total{protocol=\"tcp\"}", "1");
	expect(fx, "gespann_flow_entries_lost_total{protocol=\"udp\"}", "0");
	expect(fx,
	       "gespann_flow_open_connections{role=\"client\",src_process=\"alpha\",src_service=\"alpha\",dst_address="
	       "\"198.18.0.2\",dst_port=\"9101\",dst_name=\"\",state=\"established\"}",
	       "1");
	b.bytes_sent = 6;
	record(fx, GS_EV_CLOSE, 0x4000, &b);
	expect(fx, FB "{direction=\"sent\"," LBL_A "}", "16");
}

static void test_udp_roles(void **state)
{
	struct fixture *fx = *state;
	struct gs_udp_key k = { .family = AF_INET, .lport = 5353, .rport = 40001 };
	struct gs_udp_flow v = { .bytes_received = 64, .dgrams_received = 1 };

	inet_pton(AF_INET, "127.0.0.1", k.laddr);
	inet_pton(AF_INET, "127.0.0.1", k.raddr);
	memcpy(v.comm, "resolver", 9);
	v.flags = GS_UF_OWNER; /* received first: the server side */
	flows_udp(fx->f, &k, &v, 0, 8 * S);
	v.bytes_sent = 100;
	v.bytes_received = 128;
	flows_udp(fx->f, &k, &v, 1, 9 * S);
	expect(fx,
	       FB
	       "{direction=\"received\",protocol=\"udp\",role=\"server\",src_process="
	       "\"resolver\",src_service=\"resolver\",dst_address=\"127.0.0.1\",dst_port=\"5353\",dst_name=\"\",dst_"
	       "class=\"localhost\",src_zone=\"\",dst_zone=\"\"}",
	       "128");
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"udp\",role=\"server\",src_process="
	       "\"resolver\",src_service=\"resolver\",dst_address=\"127.0.0.1\",dst_port=\"5353\",dst_name=\"\",dst_class="
	       "\"localhost\",src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "1");
}

/*
 * 100 clients, each from its own address, connect to one service: with the
 * default (attributes.client_address off) the server side is one series
 * with dst_address="" and the value 100 (the records the test made); with
 * the address selected it is 100 series of 1.
 */
static void clients_connect(struct fixture *fx)
{
	struct gs_conn c;
	char addr[32];

	for (int i = 0; i < 100; i++) {
		snprintf(addr, sizeof(addr), "198.18.1.%d", i + 1);
		conn(&c, "svc-one", addr, (uint16_t)(41000 + i), GS_CF_PASSIVE | GS_CF_ESTABLISHED);
		c.sport = 9101;
		c.bytes_received = 10;
		record(fx, GS_EV_CLOSE, 0x5000 + (uint64_t)i, &c);
	}
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = strstr(text, prefix); p; p = strstr(p + 1, prefix))
		n++;
	return n;
}

static void test_server_flows_without_client_address(void **state)
{
	struct fixture *fx = *state;

	clients_connect(fx);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"\",dst_port=\"9101\",dst_name=\"\",dst_class=\"internal\","
	       "src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "100");
	expect(fx,
	       FB
	       "{direction=\"received\",protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"\",dst_port=\"9101\",dst_name=\"\",dst_class=\"internal\","
	       "src_zone=\"\",dst_zone=\"\"}",
	       "1000");
	assert_int_equal(count_lines(render(fx), "\ngespann_flow_connections_total{"), 1);
	absent(fx, "198.18.1.");
}

static void test_server_flows_with_client_address(void **state)
{
	struct fixture *fx = *state;

	clients_connect(fx);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"server\",src_process=\"svc-"
	       "one\",src_service=\"svc-one\",dst_address=\"198.18.1.57\",dst_port=\"9101\",dst_name=\"\",dst_class="
	       "\"internal\",src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "1");
	assert_int_equal(count_lines(render(fx), "\ngespann_flow_connections_total{"), 100);
}

/* A proc record (the kernel's strings without NUL) must not upset the
 * table, and an unknown owner is "unknown". */
static void test_unknown_owner(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "", "203.0.113.5", 443, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	record(fx, GS_EV_CLOSE, 0x5000, &c);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"client\",src_process="
	       "\"unknown\",src_service=\"unknown\",dst_address=\"203.0.113.5\",dst_port=\"443\",dst_name=\"\",dst_class="
	       "\"external\",src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "1");
}

/* The record's name (the kernel read it when the socket acted) wins over the
 * process cache's (taken at exec): a process renamed after exec is named as
 * renamed. A record without a name takes the cache's. */
static void test_record_name_wins_over_cache(void **state)
{
	struct fixture *fx = *state;
	struct gs_proc_event ex = { .hdr = { .type = GS_EV_EXEC, .size = sizeof(ex) },
				    .pid = 4194303,
				    .ppid = 1 };
	struct gs_conn c;

	memcpy(ex.comm, "python3", 8);
	memcpy(ex.path, "/usr/bin/python3", 17);
	flows_record(fx->f, &ex, sizeof(ex), 9 * S);
	conn(&c, "renamed-a", "203.0.113.5", 443, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	c.pid = ex.pid;
	record(fx, GS_EV_CLOSE, 0x6000, &c);
	conn(&c, "", "203.0.113.5", 443, GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	c.pid = ex.pid;
	record(fx, GS_EV_CLOSE, 0x6001, &c);
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"client\",src_process="
	       "\"renamed-a\",src_service=\"renamed-a\",dst_address=\"203.0.113.5\",dst_port="
	       "\"443\",dst_name=\"\",dst_class=\"external\",src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "1");
	expect(fx,
	       "gespann_flow_connections_total{protocol=\"tcp\",role=\"client\",src_process="
	       "\"python3\",src_service=\"python3\",dst_address=\"203.0.113.5\",dst_port="
	       "\"443\",dst_name=\"\",dst_class=\"external\",src_zone=\"\",dst_zone=\"\",outcome=\"ok\"}",
	       "1");
}

static void test_check_config(void **state)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char err[512] = "";

	(void)state;
	config_set_defaults(cfg);
	assert_int_equal(flows_check_config(cfg, err, sizeof(err)), 0);
	cfg->n_select = 1;
	snprintf(cfg->select[0].pattern, sizeof(cfg->select[0].pattern), "gespann_flow_*");
	snprintf(cfg->select[0].include[0], sizeof(cfg->select[0].include[0]), "dst_nmae");
	cfg->select[0].n_include = 1;
	cfg->select[0].has_include = 1;
	assert_int_equal(flows_check_config(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown attribute 'dst_nmae'"));
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_growth_then_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gauge_kept_during_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_side_and_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_seen_in_syn_recv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seeded_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_passive_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_record_and_reused_socket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_udp_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_flows_without_client_address,
						setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_server_flows_with_client_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_name_wins_over_cache, setup, teardown),
		cmocka_unit_test(test_check_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
