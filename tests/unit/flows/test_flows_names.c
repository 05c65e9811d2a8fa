// SPDX-License-Identifier: MIT
/*
 * Unit tests: dst_name through the flow table. Synthetic getaddrinfo
 * records, DNS packets, TCP records and UDP readings go in, in the order
 * user space may read them (a flow's answer can come after its first
 * sight, a look-up after a connection began); the Prometheus text comes
 * out. Owners use pids above any pid_max (no /proc entry to read), so the
 * process cache falls back to the records' comm.
 */
#include <arpa/inet.h>
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
#include "fuzz/dns_fixtures.h"
#include "metrics/registry.h"

#define S     1000000000ULL
#define PID_A 5000001u /* above PID_MAX_LIMIT (4194304): never in /proc */
#define PID_B 5000002u
#define NETNS 77

struct fixture {
	struct config *cfg;
	struct registry *reg;
	struct flows *f;
	struct strbuf out;
	struct flows_enrich en;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	fx->cfg = calloc(1, sizeof(*fx->cfg));
	config_set_defaults(fx->cfg); /* dns.enabled, dns.min_ttl 1m */
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

/* The flow-connections series to dst:port must carry dst_name="name". */
static void expect_name(struct fixture *fx, const char *dst, unsigned port, const char *name)
{
	char want[256];
	const char *text;

	flows_publish(fx->f);
	strbuf_reset(&fx->out);
	assert_int_equal(registry_render_prometheus(fx->reg, &fx->out), 0);
	text = fx->out.buf;
	snprintf(want, sizeof(want), "dst_address=\"%s\",dst_port=\"%u\",dst_name=\"%s\",", dst,
		 port, name);
	if (!strstr(text, want))
		fail_msg("missing %s in:\n%s", want, text);
}

/* getaddrinfo(name) returned addr to pid at t. */
static void resolved(struct fixture *fx, uint32_t pid, const char *name, const char *addr,
		     uint64_t t)
{
	struct gs_resolve_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = GS_EV_RESOLVE;
	ev.hdr.size = sizeof(ev);
	ev.ts_ns = t;
	ev.netns_cookie = NETNS;
	ev.pid = pid;
	ev.n_addrs = 1;
	snprintf(ev.comm, sizeof(ev.comm), "client");
	snprintf(ev.name, sizeof(ev.name), "%s", name);
	ev.addrs[0].family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, ev.addrs[0].addr), 1);
	flows_record(fx->f, &ev, sizeof(ev), t);
}

static void dns_packet(struct fixture *fx, int egress, uint32_t pid, uint16_t cport,
		       const struct dnsb *d, uint64_t t)
{
	struct gs_dns_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = GS_EV_DNS;
	ev.hdr.size = sizeof(ev);
	ev.ts_ns = t;
	ev.netns_cookie = NETNS;
	ev.pid = pid;
	ev.family = AF_INET;
	ev.protocol = IPPROTO_UDP;
	ev.egress = (uint8_t)egress;
	ev.sport = egress ? cport : 53;
	ev.dport = egress ? 53 : cport;
	inet_pton(AF_INET, egress ? "198.18.0.1" : "198.18.0.53", ev.saddr);
	inet_pton(AF_INET, egress ? "198.18.0.53" : "198.18.0.1", ev.daddr);
	ev.len = (uint16_t)d->n;
	ev.payload_len = (uint16_t)d->n;
	memcpy(ev.data, d->b, d->n);
	flows_record(fx->f, &ev, sizeof(ev), t);
}

/* pid asked 198.18.0.53 for name's A record at t; the answer (addr, ttl)
 * arrived 1 ms later. */
static void dns_answer(struct fixture *fx, uint32_t pid, uint16_t cport, const char *name,
		       const char *addr, uint32_t ttl, uint64_t t)
{
	static unsigned id = 100;
	uint8_t a[4];
	struct dnsb d;

	id++;
	d.n = 0;
	fx_query(&d, id, name, 1);
	dns_packet(fx, 1, pid, cport, &d, t);
	d.n = 0;
	dnsb_header(&d, id, FX_FLAGS_RESPONSE, 1, 1, 0, 0);
	dnsb_question(&d, name, 1);
	dnsb_ptr(&d, 12);
	dnsb_rr(&d, 1, ttl, 4);
	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	dnsb_bytes(&d, a, 4);
	dns_packet(fx, 0, pid, cport, &d, t + 1000000);
}

/* A TCP connection by pid from start to dst:port, closed (read) at 100 s. */
static void tcp_conn(struct fixture *fx, uint64_t id, uint32_t pid, const char *dst, uint16_t port,
		     uint64_t start)
{
	struct gs_event ev = { .hdr = { .type = GS_EV_CLOSE, .size = sizeof(ev) }, .sock_id = id };
	struct gs_conn *c = &ev.conn;

	c->family = AF_INET;
	c->flags = GS_CF_ACTIVE | GS_CF_ESTABLISHED | GS_CF_CLOSED;
	c->start_ns = start;
	c->netns_cookie = NETNS;
	c->pid = pid;
	c->sport = (uint16_t)(40000 + id);
	c->dport = port;
	c->bytes_sent = 10;
	inet_pton(AF_INET, "198.18.0.1", c->saddr);
	inet_pton(AF_INET, dst, c->daddr);
	memcpy(c->comm, "client", 7);
	flows_record(fx->f, &ev, sizeof(ev), 100 * S);
}

/* A name, then getaddrinfo on the literal address (socket.create_connection
 * does both): the name stays. */
static void test_numeric_host_is_not_a_name(void **state)
{
	struct fixture *fx = *state;

	resolved(fx, PID_A, "API.gespann.test.", "198.18.0.2", 5 * S);
	resolved(fx, PID_A, "198.18.0.2", "198.18.0.2", 6 * S);
	resolved(fx, PID_A, "::ffff:198.18.0.2", "198.18.0.2", 6 * S);
	tcp_conn(fx, 1, PID_A, "198.18.0.2", 9101, 7 * S);
	expect_name(fx, "198.18.0.2", 9101, "api.gespann.test");
	/* Only a literal: empty, not the address repeated. */
	resolved(fx, PID_A, "198.18.0.3", "198.18.0.3", 8 * S);
	tcp_conn(fx, 2, PID_A, "198.18.0.3", 9101, 9 * S);
	expect_name(fx, "198.18.0.3", 9101, "");
}

/* Two processes resolve different names to one address: each connection
 * carries its own process's name. */
static void test_two_processes_one_address(void **state)
{
	struct fixture *fx = *state;

	resolved(fx, PID_A, "one.gespann.test", "198.18.0.2", 5 * S);
	resolved(fx, PID_B, "two.gespann.test", "198.18.0.2", 6 * S);
	tcp_conn(fx, 1, PID_A, "198.18.0.2", 9101, 7 * S);
	tcp_conn(fx, 2, PID_B, "198.18.0.2", 9102, 7 * S);
	expect_name(fx, "198.18.0.2", 9101, "one.gespann.test");
	expect_name(fx, "198.18.0.2", 9102, "two.gespann.test");
}

/* A name looked up after the connection began does not label it, even when
 * the connection's record is read after the look-up. */
static void test_later_lookup_does_not_relabel(void **state)
{
	struct fixture *fx = *state;

	resolved(fx, PID_A, "late.gespann.test", "198.18.0.4", 8 * S);
	dns_answer(fx, PID_B, 30001, "late.gespann.test", "198.18.0.4", 300, 8 * S);
	tcp_conn(fx, 1, PID_A, "198.18.0.4", 9101, 7 * S);
	expect_name(fx, "198.18.0.4", 9101, "");
}

/* A UDP flow to the DNS server, first seen before anyone resolved a name
 * for the server's address and read after: empty. A flow that began after
 * that DNS answer, by another process in the namespace: named. */
static void test_udp_flow_bound_at_its_start(void **state)
{
	struct fixture *fx = *state;
	struct gs_udp_key k = {
		.netns_cookie = NETNS, .family = AF_INET, .lport = 30002, .rport = 53
	};
	struct gs_udp_flow v = { .first_ns = 7 * S, .pid = PID_A, .flags = GS_UF_EGRESS_FIRST };

	inet_pton(AF_INET, "198.18.0.1", k.laddr);
	inet_pton(AF_INET, "198.18.0.53", k.raddr);
	memcpy(v.comm, "client", 7);
	dns_answer(fx, PID_B, 30003, "ns.gespann.test", "198.18.0.53", 300, 8 * S);
	flows_udp(fx->f, &k, &v, 0, 9 * S);
	expect_name(fx, "198.18.0.53", 53, "");

	k.lport = 30004;
	v.first_ns = 10 * S;
	flows_udp(fx->f, &k, &v, 0, 11 * S);
	expect_name(fx, "198.18.0.53", 53, "");
	expect_name(fx, "198.18.0.53", 53, "ns.gespann.test");
}

/* A TTL-0 answer names the connection it caused (dns.min_ttl, 1 minute by
 * default), not one that begins after the minute; a namespace does not see
 * another's answers. */
static void test_ttl0_answer_and_namespace(void **state)
{
	struct fixture *fx = *state;

	dns_answer(fx, PID_A, 30005, "zero.gespann.test", "198.18.0.5", 0, 10 * S);
	tcp_conn(fx, 1, PID_A, "198.18.0.5", 9101, 11 * S);
	tcp_conn(fx, 2, PID_B, "198.18.0.5", 9102, 69 * S); /* the namespace's answer */
	tcp_conn(fx, 3, PID_A, "198.18.0.5", 9103, 71 * S);
	expect_name(fx, "198.18.0.5", 9101, "zero.gespann.test");
	expect_name(fx, "198.18.0.5", 9102, "zero.gespann.test");
	expect_name(fx, "198.18.0.5", 9103, "");

	fx->cfg->dns_min_ttl_ns = 0; /* a reload: the TTL alone */
	dns_answer(fx, PID_A, 30006, "zero2.gespann.test", "198.18.0.6", 0, 10 * S);
	tcp_conn(fx, 4, PID_A, "198.18.0.6", 9104, 11 * S);
	expect_name(fx, "198.18.0.6", 9104, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numeric_host_is_not_a_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes_one_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_later_lookup_does_not_relabel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_udp_flow_bound_at_its_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl0_answer_and_namespace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
