// SPDX-License-Identifier: MIT
/*
 * Unit tests: the events the flows queue for the OTLP logs (flows.c's
 * tcp_event and dns_event into metrics/eventq.h). Synthetic kernel records
 * and DNS transactions go in; the queue must hold exactly one record per
 * failed connection, reset connection and answered query, with the facts of
 * the record (process, both ends, errno, reset direction and the kernel's
 * reason by name, the DNS name, type, code, answers, server, latency), and
 * nothing for a clean close, a dropped half-open child, an unanswered query,
 * or while no queue is attached. No root, no BPF: owners use pid 0.
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
#include "enrich/dnstrack.h"
#include "enrich/hostcache.h"
#include "enrich/netclass.h"
#include "enrich/proccache.h"
#include "flows/flows.h"
#include "flows/flows_int.h"
#include "metrics/eventq.h"
#include "metrics/registry.h"
#include "util/clock.h"

#define S 1000000000ULL

struct fixture {
	struct config *cfg;
	struct registry *reg;
	struct flows *f;
	struct flows_enrich en;
	struct eventq *q;
};

static const char reasons[4][32] = { "not_specified", "no_socket", "tcp_abort_on_close",
				     "tcp_state" };

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	fx->cfg = calloc(1, sizeof(*fx->cfg));
	config_set_defaults(fx->cfg);
	fx->cfg->dns_enabled = 0;
	fx->reg = registry_new();
	fx->en.pc = proccache_new(fx->cfg->max_processes, "/proc", "/sys/fs/cgroup");
	fx->en.hc = hostcache_new(fx->cfg->dns_max_names);
	fx->en.nc = netclass_new(fx->cfg->networks, fx->cfg->n_networks);
	fx->f = flows_new(fx->reg, fx->cfg, &fx->en, err, sizeof(err));
	assert_non_null(fx->f);
	flows_set_reset_reasons(fx->f, reasons, 4);
	fx->q = eventq_new(1000, 100);
	assert_non_null(fx->q);
	assert_int_equal(eventq_attach(fx->q), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	eventq_free(fx->q);
	flows_free(fx->f);
	netclass_free(fx->en.nc);
	hostcache_free(fx->en.hc);
	proccache_free(fx->en.pc);
	registry_free(fx->reg);
	free(fx->cfg);
	free(fx);
	return 0;
}

static void conn(struct gs_conn *c, const char *comm, uint16_t dport, uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	c->family = AF_INET;
	c->flags = flags;
	c->start_ns = 7 * S;
	c->sport = 40000;
	c->dport = dport;
	inet_pton(AF_INET, "198.18.0.1", c->saddr);
	inet_pton(AF_INET, "198.18.0.2", c->daddr);
	memcpy(c->comm, comm, strlen(comm));
}

static void record(struct fixture *fx, uint32_t type, uint64_t id, const struct gs_conn *c)
{
	struct gs_event ev = { .hdr = { .type = type, .size = sizeof(ev) }, .sock_id = id };

	ev.conn = *c;
	flows_record(fx->f, &ev, sizeof(ev), 10 * S);
}

static void test_failed_connect(void **state)
{
	struct fixture *fx = *state;
	const struct eventq_rec *r;
	uint64_t before, after;
	struct gs_conn c;

	conn(&c, "alpha", 5002, GS_CF_ACTIVE | GS_CF_FAILED | GS_CF_CLOSED);
	c.err = ECONNREFUSED;
	before = unix_ns();
	c.end_ns = mono_ns();
	record(fx, GS_EV_FAILED, 1, &c);
	after = unix_ns();
	assert_int_equal(eventq_len(fx->q), 1);
	r = eventq_at(fx->q, 0);
	assert_int_equal(r->kind, EVENTQ_CONN_FAILED);
	assert_string_equal(r->error, "ECONNREFUSED");
	assert_string_equal(r->process, "alpha");
	assert_string_equal(r->service, "alpha");
	assert_string_equal(r->transport, "tcp");
	assert_string_equal(r->role, "client");
	assert_false(r->ipv6);
	assert_string_equal(r->local_addr, "198.18.0.1");
	assert_int_equal(r->local_port, 40000);
	assert_string_equal(r->peer_addr, "198.18.0.2");
	assert_int_equal(r->peer_port, 5002);
	assert_string_equal(r->reset_dir, "");
	/* the kernel's time, as Unix time: between the clocks read around it */
	assert_true(r->time_unix_ns >= before - S / 100 && r->time_unix_ns <= after);
	assert_true(r->observed_unix_ns >= r->time_unix_ns && r->observed_unix_ns <= after);
}

static void test_resets(void **state)
{
	struct fixture *fx = *state;
	const uint32_t est = GS_CF_ACTIVE | GS_CF_ESTABLISHED | GS_CF_CLOSED;
	struct gs_conn c;

	conn(&c, "beta", 5701, est | GS_CF_RST_RECEIVED);
	record(fx, GS_EV_CLOSE, 1, &c);
	conn(&c, "beta", 5701, est | GS_CF_RST_SENT);
	c.reset_reason = 3;
	record(fx, GS_EV_CLOSE, 2, &c);
	conn(&c, "beta", 5701, est | GS_CF_RST_SENT);
	c.reset_reason = 60; /* a reason this kernel has no name for */
	record(fx, GS_EV_CLOSE, 3, &c);
	conn(&c, "beta", 5701, est | GS_CF_ABORTED);
	record(fx, GS_EV_CLOSE, 4, &c);
	/* a clean close and a half-open child that lost its race: no event */
	conn(&c, "beta", 5701, est);
	record(fx, GS_EV_CLOSE, 5, &c);
	conn(&c, "beta", 5701, GS_CF_PASSIVE | GS_CF_FAILED | GS_CF_CLOSED);
	record(fx, GS_EV_FAILED, 6, &c);

	assert_int_equal(eventq_len(fx->q), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(eventq_at(fx->q, i)->kind, EVENTQ_CONN_RESET);
		assert_string_equal(eventq_at(fx->q, i)->error, "");
		assert_int_equal(eventq_at(fx->q, i)->peer_port, 5701);
	}
	assert_string_equal(eventq_at(fx->q, 0)->reset_dir, "received");
	assert_string_equal(eventq_at(fx->q, 0)->reset_reason, "");
	assert_string_equal(eventq_at(fx->q, 1)->reset_dir, "sent");
	assert_string_equal(eventq_at(fx->q, 1)->reset_reason, "tcp_state");
	assert_string_equal(eventq_at(fx->q, 2)->reset_dir, "sent");
	assert_string_equal(eventq_at(fx->q, 2)->reset_reason, "");
	assert_string_equal(eventq_at(fx->q, 3)->reset_dir, "sent");
	assert_string_equal(eventq_at(fx->q, 3)->reset_reason, "");
}

static void test_nothing_without_a_queue(void **state)
{
	struct fixture *fx = *state;
	struct eventq_stats a, b;
	struct gs_conn c;

	eventq_detach(fx->q);
	eventq_get_stats(&a);
	conn(&c, "alpha", 5002, GS_CF_ACTIVE | GS_CF_FAILED | GS_CF_CLOSED);
	c.err = ECONNREFUSED;
	record(fx, GS_EV_FAILED, 1, &c);
	eventq_get_stats(&b);
	assert_int_equal(eventq_len(fx->q), 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_dns_answer(void **state)
{
	struct fixture *fx = *state;
	struct dns_msg m;
	struct dnstrack_result d;
	const struct eventq_rec *r;

	memset(&m, 0, sizeof(m));
	m.n_answers = 3;
	snprintf(m.answers[0].name, sizeof(m.answers[0].name), "api.example");
	m.answers[0].type = DNS_T_CNAME;
	snprintf(m.answers[0].target, sizeof(m.answers[0].target), "edge.example");
	m.answers[1].type = DNS_T_A;
	m.answers[1].family = AF_INET;
	inet_pton(AF_INET, "198.18.0.10", m.answers[1].addr);
	m.answers[2].type = DNS_T_TXT; /* no data the record carries */
	memset(&d, 0, sizeof(d));
	d.qname = "api.example";
	d.qtype = DNS_T_A;
	d.rcode = 0;
	d.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.53", d.server);
	d.server_port = 53;
	d.protocol = IPPROTO_UDP;
	d.latency_ns = 1234567;
	d.ts_ns = mono_ns();
	snprintf(d.comm, sizeof(d.comm), "resolver");
	d.response = &m;
	flows_dns_result(&d, fx->f);
	/* unanswered: not an answer */
	d.rcode = -1;
	d.response = NULL;
	flows_dns_result(&d, fx->f);

	assert_int_equal(eventq_len(fx->q), 1);
	r = eventq_at(fx->q, 0);
	assert_int_equal(r->kind, EVENTQ_DNS_ANSWER);
	assert_string_equal(r->qname, "api.example");
	assert_string_equal(r->qtype, "A");
	assert_string_equal(r->rcode, "NOERROR");
	assert_string_equal(r->peer_addr, "198.18.0.53");
	assert_int_equal(r->peer_port, 53);
	assert_string_equal(r->transport, "udp");
	assert_string_equal(r->process, "resolver");
	assert_int_equal(r->latency_ns, 1234567);
	assert_int_equal(r->n_answers, 2);
	assert_string_equal(r->answers[0], "edge.example");
	assert_string_equal(r->answers[1], "198.18.0.10");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_without_a_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_answer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
