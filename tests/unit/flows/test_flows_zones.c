// SPDX-License-Identifier: MIT
/*
 * Unit tests: zones on both ends of a flow. src_zone is the zone of the
 * local address by the networks: table, else the host's own zone: key;
 * dst_zone the peer's by the same table. gespann_network_inter_zone_bytes_total
 * counts payload only when both zones are known and differ, with the exact
 * bytes the flow families count. Synthetic records and batch readings go in
 * through the flows' public calls, the Prometheus text comes out. No root,
 * no BPF: owners use pid 0 and their comm.
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
#include "metrics/registry.h"

#define S 1000000000ULL

#define FB "gespann_flow_bytes_total"
#define FC "gespann_flow_connections_total"
#define IZ "gespann_network_inter_zone_bytes_total"

struct fixture {
	struct config *cfg;
	struct registry *reg;
	struct flows *f;
	struct strbuf out;
	struct flows_enrich en;
};

static void add_net(struct config *cfg, const char *cidr_addr, int family, uint8_t prefix,
		    const char *zone)
{
	struct config_network *n = &cfg->networks[cfg->n_networks++];

	memset(n, 0, sizeof(*n));
	n->family = (uint16_t)family;
	n->prefix = prefix;
	assert_int_equal(inet_pton(family, cidr_addr, n->addr), 1);
	snprintf(n->zone, sizeof(n->zone), "%s", zone);
}

/*
 * Two zones: 198.18.0.0/24 and fd00:6765:7370::/120 are zone-a (ours in
 * most tests), 198.18.1.0/24 and fd00:6765:7370::100/120 zone-b;
 * 198.18.2.0/24 is a network with a class and no zone. host_zone is the
 * zone: key, max_series attributes.max_series (0: the default).
 */
static struct fixture *fixture_new(const char *host_zone, uint64_t max_series,
				   const char *exclude_flow)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	assert_non_null(fx);
	fx->cfg = calloc(1, sizeof(*fx->cfg));
	assert_non_null(fx->cfg);
	config_set_defaults(fx->cfg);
	fx->cfg->dns_enabled = 0;
	fx->cfg->client_address = 1;
	if (max_series)
		fx->cfg->max_series = max_series;
	snprintf(fx->cfg->zone, sizeof(fx->cfg->zone), "%s", host_zone);
	add_net(fx->cfg, "198.18.0.0", AF_INET, 24, "zone-a");
	add_net(fx->cfg, "198.18.1.0", AF_INET, 24, "zone-b");
	add_net(fx->cfg, "fd00:6765:7370::", AF_INET6, 120, "zone-a");
	add_net(fx->cfg, "fd00:6765:7370::100", AF_INET6, 120, "zone-b");
	add_net(fx->cfg, "198.18.2.0", AF_INET, 24, "");
	snprintf(fx->cfg->networks[4].class_name, sizeof(fx->cfg->networks[4].class_name), "lab");
	if (exclude_flow) {
		struct config_select *s = &fx->cfg->select[fx->cfg->n_select++];

		snprintf(s->pattern, sizeof(s->pattern), "gespann_flow_*");
		snprintf(s->exclude[0], sizeof(s->exclude[0]), "%s", exclude_flow);
		s->n_exclude = 1;
	}
	fx->reg = registry_new();
	fx->en.pc = proccache_new(fx->cfg->max_processes, "/proc", "/sys/fs/cgroup");
	fx->en.hc = hostcache_new(fx->cfg->dns_max_names);
	fx->en.nc = netclass_new(fx->cfg->networks, fx->cfg->n_networks);
	assert_true(fx->reg && fx->en.pc && fx->en.hc && fx->en.nc);
	fx->f = flows_new(fx->reg, fx->cfg, &fx->en, err, sizeof(err));
	if (!fx->f)
		fail_msg("flows_new: %s", err);
	strbuf_init(&fx->out);
	return fx;
}

static int setup(void **state)
{
	*state = fixture_new("", 0, NULL);
	return 0;
}

static int setup_host_zone(void **state)
{
	*state = fixture_new("zone-h", 0, NULL);
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

/* The inter-zone series of one pair, direction and protocol. */
static const char *iz(const char *src, const char *dst, const char *dir, const char *proto)
{
	static char buf[256];

	snprintf(buf, sizeof(buf),
		 IZ "{src_zone=\"%s\",dst_zone=\"%s\",direction=\"%s\",protocol=\"%s\"}", src, dst,
		 dir, proto);
	return buf;
}

/* A TCP connection from local (laddr:lport) to remote (raddr:rport). */
static void conn(struct gs_conn *c, const char *comm, int family, const char *laddr, uint16_t lport,
		 const char *raddr, uint16_t rport, uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	c->family = (uint16_t)family;
	c->flags = flags;
	c->start_ns = 7 * S;
	c->sport = lport;
	c->dport = rport;
	assert_int_equal(inet_pton(family, laddr, c->saddr), 1);
	assert_int_equal(inet_pton(family, raddr, c->daddr), 1);
	snprintf(c->comm, sizeof(c->comm), "%s", comm);
}

static void record(struct fixture *fx, uint32_t type, uint64_t id, const struct gs_conn *c)
{
	struct gs_event ev = { .hdr = { .type = type, .size = sizeof(ev) }, .sock_id = id };

	ev.conn = *c;
	flows_record(fx->f, &ev, sizeof(ev), 10 * S);
}

/* One batch pass that reads c, then its close record with sent/rcvd. */
static void pass_then_close(struct fixture *fx, uint64_t id, struct gs_conn *c, uint64_t sent,
			    uint64_t rcvd)
{
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, id, c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	c->bytes_sent = sent;
	c->bytes_received = rcvd;
	c->flags |= GS_CF_CLOSED;
	record(fx, GS_EV_CLOSE, id, c);
}

/* Client side: our address in zone-a, the peer in zone-b. The bytes a pass
 * read and those the close added are both counted, once. */
static void test_client_across_zones(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "alpha", AF_INET, "198.18.0.1", 40000, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	c.bytes_sent = 100;
	c.bytes_received = 30;
	flows_tcp_begin(fx->f);
	flows_tcp_entry(fx->f, 0x1000, &c, 8 * S);
	flows_tcp_end(fx->f, 8 * S);
	expect(fx, iz("zone-a", "zone-b", "sent", "tcp"), "100");
	expect(fx, iz("zone-a", "zone-b", "received", "tcp"), "30");
	pass_then_close(fx, 0x1000, &c, 4000, 1234);
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.1.2\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"internal\",src_zone=\"zone-a\",dst_zone=\"zone-b\"}",
	       "4000");
	expect(fx,
	       FC
	       "{protocol=\"tcp\",role=\"client\",src_process=\"alpha\",src_service=\"alpha\","
	       "dst_address=\"198.18.1.2\",dst_port=\"9101\",dst_name=\"\",dst_class=\"internal\","
	       "src_zone=\"zone-a\",dst_zone=\"zone-b\",outcome=\"ok\"}",
	       "1");
	expect(fx, iz("zone-a", "zone-b", "sent", "tcp"), "4000");
	expect(fx, iz("zone-a", "zone-b", "received", "tcp"), "1234");
	absent(fx, IZ "{src_zone=\"zone-b\"");
}

/* Server side (role="server"): src is still our end, the accepting socket's
 * address (v4-mapped, as a server bound to :: sees IPv4 peers), dst the
 * client; the bytes we sent are what the client received. */
static void test_server_across_zones(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "svc-one", AF_INET6, "::ffff:198.18.1.2", 9101, "::ffff:198.18.0.1", 40000,
	     GS_CF_PASSIVE | GS_CF_ESTABLISHED | GS_CF_ACCEPTED);
	pass_then_close(fx, 0x2000, &c, 5000, 700);
	expect(fx,
	       FB
	       "{direction=\"received\",protocol=\"tcp\",role=\"server\",src_process=\"svc-one\","
	       "src_service=\"svc-one\",dst_address=\"198.18.0.1\",dst_port=\"9101\","
	       "dst_name=\"\",dst_class=\"internal\",src_zone=\"zone-b\",dst_zone=\"zone-a\"}",
	       "700");
	expect(fx, iz("zone-b", "zone-a", "sent", "tcp"), "5000");
	expect(fx, iz("zone-b", "zone-a", "received", "tcp"), "700");

	/* IPv6 on both ends, the same pair */
	conn(&c, "svc-one", AF_INET6, "fd00:6765:7370::102", 9101, "fd00:6765:7370::1", 40001,
	     GS_CF_PASSIVE | GS_CF_ESTABLISHED | GS_CF_ACCEPTED);
	pass_then_close(fx, 0x2100, &c, 11, 22);
	expect(fx, iz("zone-b", "zone-a", "sent", "tcp"), "5011");
	expect(fx, iz("zone-b", "zone-a", "received", "tcp"), "722");
}

/* UDP counts the same way, under protocol="udp": both sweeps' growth. */
static void test_udp_across_zones(void **state)
{
	struct fixture *fx = *state;
	struct gs_udp_key k = { .family = AF_INET, .lport = 40002, .rport = 53 };
	struct gs_udp_flow v = { .bytes_sent = 64, .flags = GS_UF_EGRESS_FIRST | GS_UF_OWNER };

	inet_pton(AF_INET, "198.18.0.1", k.laddr);
	inet_pton(AF_INET, "198.18.1.53", k.raddr);
	memcpy(v.comm, "resolver", 9);
	flows_udp(fx->f, &k, &v, 0, 8 * S);
	flows_udp_end(fx->f);
	expect(fx, iz("zone-a", "zone-b", "sent", "udp"), "64");
	v.bytes_sent = 300;
	v.bytes_received = 900;
	flows_udp(fx->f, &k, &v, 1, 9 * S);
	flows_udp_end(fx->f);
	expect(fx, iz("zone-a", "zone-b", "sent", "udp"), "300");
	expect(fx, iz("zone-a", "zone-b", "received", "udp"), "900");
	expect(fx,
	       FB
	       "{direction=\"received\",protocol=\"udp\",role=\"client\",src_process=\"resolver\","
	       "src_service=\"resolver\",dst_address=\"198.18.1.53\",dst_port=\"53\","
	       "dst_name=\"\",dst_class=\"internal\",src_zone=\"zone-a\",dst_zone=\"zone-b\"}",
	       "900");
}

/* Inside one zone, to a peer in no zone, from an address in no zone (no
 * host zone): zones on the flow series as they are, no inter-zone bytes. */
static void test_not_inter_zone(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "alpha", AF_INET, "198.18.0.1", 40000, "198.18.0.9", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x3000, &c, 10, 20);
	conn(&c, "alpha", AF_INET, "198.18.0.1", 40001, "198.18.2.7", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x3100, &c, 30, 40);
	conn(&c, "alpha", AF_INET, "127.0.0.1", 40002, "127.0.0.1", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x3200, &c, 50, 60);
	conn(&c, "alpha", AF_INET, "10.9.0.1", 40003, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x3300, &c, 70, 80);
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.0.9\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"internal\",src_zone=\"zone-a\",dst_zone=\"zone-a\"}",
	       "10");
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.2.7\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"lab\",src_zone=\"zone-a\",dst_zone=\"\"}",
	       "30");
	expect(fx,
	       FB "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
		  "src_service=\"alpha\",dst_address=\"127.0.0.1\",dst_port=\"9101\",dst_name=\"\","
		  "dst_class=\"localhost\",src_zone=\"\",dst_zone=\"\"}",
	       "50");
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.1.2\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"internal\",src_zone=\"\",dst_zone=\"zone-b\"}",
	       "70");
	absent(fx, IZ "{");
}

/* The host's zone: names our end when no network does (here 10.9.0.1 and
 * loopback), never a network's own zone, and never the peer's. */
static void test_host_zone_fallback(void **state)
{
	struct fixture *fx = *state;
	struct gs_conn c;

	conn(&c, "alpha", AF_INET, "10.9.0.1", 40000, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x4000, &c, 70, 80);
	conn(&c, "alpha", AF_INET, "198.18.0.1", 40001, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x4100, &c, 5, 6);
	conn(&c, "alpha", AF_INET, "127.0.0.1", 40002, "127.0.0.1", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x4200, &c, 50, 60);
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.1.2\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"internal\",src_zone=\"zone-h\",dst_zone=\"zone-b\"}",
	       "70");
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.1.2\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"internal\",src_zone=\"zone-a\",dst_zone=\"zone-b\"}",
	       "5");
	expect(fx,
	       FB "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
		  "src_service=\"alpha\",dst_address=\"127.0.0.1\",dst_port=\"9101\",dst_name=\"\","
		  "dst_class=\"localhost\",src_zone=\"zone-h\",dst_zone=\"\"}",
	       "50");
	expect(fx, iz("zone-h", "zone-b", "sent", "tcp"), "70");
	expect(fx, iz("zone-h", "zone-b", "received", "tcp"), "80");
	expect(fx, iz("zone-a", "zone-b", "sent", "tcp"), "5");
	absent(fx, "dst_zone=\"zone-h\"");

	/* A reload changes the host's zone in place: new connections take
	 * it, the series made before keep theirs. */
	snprintf(fx->cfg->zone, sizeof(fx->cfg->zone), "zone-h2");
	conn(&c, "alpha", AF_INET, "10.9.0.1", 40003, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x4300, &c, 3, 4);
	expect(fx, iz("zone-h2", "zone-b", "sent", "tcp"), "3");
	expect(fx, iz("zone-h", "zone-b", "sent", "tcp"), "70");
}

/* attributes.select on the flow families leaves the inter-zone family as it
 * is: it takes its zones from the flow, not from the flow series. */
static void test_select_without_src_zone(void **state)
{
	struct fixture *fx = fixture_new("", 0, "src_zone");
	struct gs_conn c;

	*state = fx;
	conn(&c, "alpha", AF_INET, "198.18.0.1", 40000, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x5000, &c, 4000, 1234);
	expect(fx,
	       FB
	       "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process=\"alpha\","
	       "src_service=\"alpha\",dst_address=\"198.18.1.2\",dst_port=\"9101\",dst_name=\"\","
	       "dst_class=\"internal\",dst_zone=\"zone-b\"}",
	       "4000");
	expect(fx, iz("zone-a", "zone-b", "sent", "tcp"), "4000");
	absent(fx,
	       FB "{direction=\"sent\",protocol=\"tcp\",role=\"client\",src_process="
		  "\"alpha\",src_service=\"alpha\",dst_address=\"198.18.1.2\",dst_port=\"9101\","
		  "dst_name=\"\",dst_class=\"internal\",src_zone");
}

/* The family is capped like every flow family: past max_series samples a
 * new pair folds into `other` (the total stays exact) and is counted in
 * gespann_series_dropped_total. */
static void test_inter_zone_capped(void **state)
{
	struct fixture *fx = fixture_new("zone-h", 2, NULL);
	struct gs_conn c;

	*state = fx;
	conn(&c, "alpha", AF_INET, "198.18.0.1", 40000, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x6000, &c, 100, 200); /* a->b sent, received: 2 samples */
	conn(&c, "alpha", AF_INET, "10.9.0.1", 40001, "198.18.1.2", 9101,
	     GS_CF_ACTIVE | GS_CF_ESTABLISHED);
	pass_then_close(fx, 0x6100, &c, 7, 8); /* h->b: folded */
	expect(fx, iz("zone-a", "zone-b", "sent", "tcp"), "100");
	expect(fx, iz("zone-a", "zone-b", "received", "tcp"), "200");
	expect(fx, iz("other", "other", "other", "other"), "15");
	expect(fx, "gespann_series_dropped_total{family=\"" IZ "\"}", "2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_across_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_across_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_across_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_inter_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_zone_fallback, setup_host_zone, teardown),
		cmocka_unit_test_teardown(test_select_without_src_zone, teardown),
		cmocka_unit_test_teardown(test_inter_zone_capped, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
