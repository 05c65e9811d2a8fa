// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/config.c: the YAML contract of the README.
 *
 * Tables of good files (each with the changes it makes to the defaults), bad
 * files (each with the exact one-line error, line number included), the
 * duration parser, file loading, and a mutation loop that feeds broken
 * variants of a real file to the parser: it must answer 0 or one clean error
 * line, never crash or leak (run it under ASan). No root, no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NS_PER_MS   1000000ULL
#define NS_PER_SEC  1000000000ULL

#define KNOWN_TOP                                                                  \
	"(known: log_level, scope, idle_timeout, max_connections, max_udp_flows, " \
	"ring_buffer_size, poll_interval, adapters, attributes, networks, zone, dns, processes, seccomp)"

/* ==== Assertions that print both sides ==== */

#define CHECK_U64(ctx, field, expected, actual)                                          \
	do {                                                                             \
		unsigned long long e_ = (expected), a_ = (actual);                       \
		if (e_ != a_)                                                            \
			fail_msg("%s: %s: expected %llu, got %llu", ctx, field, e_, a_); \
	} while (0)

#define CHECK_STR(ctx, field, expected, actual)                                                 \
	do {                                                                                    \
		const char *e_ = (expected), *a_ = (actual);                                    \
		if (strcmp(e_, a_))                                                             \
			fail_msg("%s: %s:\n  expected: \"%s\"\n  actual:   \"%s\"", ctx, field, \
				 e_, a_);                                                       \
	} while (0)

/* The settings of the datadog and otlp adapters (zero for other types). */
static void check_push_settings_eq(const char *ctx, size_t i, const struct adapter_config *exp,
				   const struct adapter_config *act)
{
	char field[64];
	size_t j;

#define CHECK_FIELD_U64(name)                                                    \
	do {                                                                     \
		snprintf(field, sizeof(field), "adapters[%zu]." #name, i);       \
		CHECK_U64(ctx, field, (unsigned long long)exp->name, act->name); \
	} while (0)
#define CHECK_FIELD_STR(name)                                              \
	do {                                                               \
		snprintf(field, sizeof(field), "adapters[%zu]." #name, i); \
		CHECK_STR(ctx, field, exp->name, act->name);               \
	} while (0)
	CHECK_FIELD_STR(host);
	CHECK_FIELD_U64(flush_interval_ns);
	CHECK_FIELD_STR(metric_namespace);
	CHECK_FIELD_U64(n_tags);
	for (j = 0; j < exp->n_tags && j < CONFIG_MAX_TAGS; j++)
		CHECK_FIELD_STR(tags[j]);
	CHECK_FIELD_U64(histogram);
	CHECK_FIELD_STR(endpoint);
	CHECK_FIELD_U64(protocol);
	CHECK_FIELD_U64(n_headers);
	for (j = 0; j < exp->n_headers && j < CONFIG_MAX_HEADERS; j++) {
		CHECK_FIELD_STR(headers[j][0]);
		CHECK_FIELD_STR(headers[j][1]);
	}
	CHECK_FIELD_U64(interval_ns);
	CHECK_FIELD_U64(timeout_ns);
	CHECK_FIELD_U64(gzip);
#undef CHECK_FIELD_U64
#undef CHECK_FIELD_STR
}

/* attributes, networks, dns, processes */
static void check_new_keys_eq(const char *ctx, const struct config *exp, const struct config *act)
{
	char field[96];
	size_t i, j;

	CHECK_U64(ctx, "n_select", exp->n_select, act->n_select);
	for (i = 0; i < exp->n_select && i < CONFIG_MAX_SELECT; i++) {
		const struct config_select *e = &exp->select[i], *a = &act->select[i];

		snprintf(field, sizeof(field), "select[%zu].pattern", i);
		CHECK_STR(ctx, field, e->pattern, a->pattern);
		snprintf(field, sizeof(field), "select[%zu].has_include", i);
		CHECK_U64(ctx, field, e->has_include, a->has_include);
		snprintf(field, sizeof(field), "select[%zu].n_include", i);
		CHECK_U64(ctx, field, e->n_include, a->n_include);
		for (j = 0; j < e->n_include && j < CONFIG_MAX_ATTRS; j++) {
			snprintf(field, sizeof(field), "select[%zu].include[%zu]", i, j);
			CHECK_STR(ctx, field, e->include[j], a->include[j]);
		}
		snprintf(field, sizeof(field), "select[%zu].n_exclude", i);
		CHECK_U64(ctx, field, e->n_exclude, a->n_exclude);
		for (j = 0; j < e->n_exclude && j < CONFIG_MAX_ATTRS; j++) {
			snprintf(field, sizeof(field), "select[%zu].exclude[%zu]", i, j);
			CHECK_STR(ctx, field, e->exclude[j], a->exclude[j]);
		}
	}
	CHECK_U64(ctx, "max_series", exp->max_series, act->max_series);
	CHECK_U64(ctx, "n_networks", exp->n_networks, act->n_networks);
	for (i = 0; i < exp->n_networks && i < CONFIG_MAX_NETWORKS; i++) {
		const struct config_network *e = &exp->networks[i], *a = &act->networks[i];

		snprintf(field, sizeof(field), "networks[%zu].family", i);
		CHECK_U64(ctx, field, e->family, a->family);
		snprintf(field, sizeof(field), "networks[%zu].prefix", i);
		CHECK_U64(ctx, field, e->prefix, a->prefix);
		for (j = 0; j < 16; j++) {
			snprintf(field, sizeof(field), "networks[%zu].addr[%zu]", i, j);
			CHECK_U64(ctx, field, e->addr[j], a->addr[j]);
		}
		snprintf(field, sizeof(field), "networks[%zu].zone", i);
		CHECK_STR(ctx, field, e->zone, a->zone);
		snprintf(field, sizeof(field), "networks[%zu].class_name", i);
		CHECK_STR(ctx, field, e->class_name, a->class_name);
	}
	CHECK_STR(ctx, "zone", exp->zone, act->zone);
	CHECK_U64(ctx, "dns_enabled", exp->dns_enabled, act->dns_enabled);
	CHECK_U64(ctx, "dns_events", exp->dns_events, act->dns_events);
	CHECK_U64(ctx, "dns_max_names", exp->dns_max_names, act->dns_max_names);
	CHECK_U64(ctx, "dns_max_pending", exp->dns_max_pending, act->dns_max_pending);
	CHECK_U64(ctx, "dns_timeout_ns", exp->dns_timeout_ns, act->dns_timeout_ns);
	CHECK_STR(ctx, "getaddrinfo", exp->getaddrinfo, act->getaddrinfo);
	CHECK_U64(ctx, "max_processes", exp->max_processes, act->max_processes);
}

static void check_config_eq(const char *ctx, const struct config *exp, const struct config *act)
{
	char field[64];
	size_t i;

	CHECK_U64(ctx, "log_level", exp->log_level, act->log_level);
	CHECK_U64(ctx, "scope", exp->scope, act->scope);
	CHECK_STR(ctx, "scope_path", exp->scope_path, act->scope_path);
	CHECK_U64(ctx, "idle_timeout_ns", exp->idle_timeout_ns, act->idle_timeout_ns);
	CHECK_U64(ctx, "max_connections", exp->max_connections, act->max_connections);
	CHECK_U64(ctx, "max_udp_flows", exp->max_udp_flows, act->max_udp_flows);
	CHECK_U64(ctx, "ringbuf_bytes", exp->ringbuf_bytes, act->ringbuf_bytes);
	CHECK_U64(ctx, "poll_interval_ns", exp->poll_interval_ns, act->poll_interval_ns);
	CHECK_U64(ctx, "n_adapters", exp->n_adapters, act->n_adapters);
	for (i = 0; i < exp->n_adapters && i < CONFIG_MAX_ADAPTERS; i++) {
		snprintf(field, sizeof(field), "adapters[%zu].type", i);
		CHECK_U64(ctx, field, exp->adapters[i].type, act->adapters[i].type);
		snprintf(field, sizeof(field), "adapters[%zu].address", i);
		CHECK_STR(ctx, field, exp->adapters[i].address, act->adapters[i].address);
		snprintf(field, sizeof(field), "adapters[%zu].port", i);
		CHECK_U64(ctx, field, exp->adapters[i].port, act->adapters[i].port);
		check_push_settings_eq(ctx, i, &exp->adapters[i], &act->adapters[i]);
	}
	check_new_keys_eq(ctx, exp, act);
}

static void set_adapter(struct config *cfg, size_t i, const char *address, uint16_t port)
{
	cfg->adapters[i].type = ADAPTER_PROMETHEUS;
	snprintf(cfg->adapters[i].address, sizeof(cfg->adapters[i].address), "%s", address);
	cfg->adapters[i].port = port;
}

/* ==== Defaults ==== */

static void test_defaults(void **state)
{
	struct config cfg;

	config_set_defaults(&cfg);
	/* the values the README promises, spelled out once */
	CHECK_U64("defaults", "log_level", LOG_LEVEL_INFO, cfg.log_level);
	CHECK_U64("defaults", "scope", SCOPE_HOST, cfg.scope);
	CHECK_U64("defaults", "idle_timeout_ns", 30 * NS_PER_SEC, cfg.idle_timeout_ns);
	CHECK_U64("defaults", "max_connections", 65536, cfg.max_connections);
	CHECK_U64("defaults", "max_udp_flows", 16384, cfg.max_udp_flows);
	CHECK_U64("defaults", "ringbuf_bytes", 1048576, cfg.ringbuf_bytes);
	CHECK_U64("defaults", "poll_interval_ns", 100 * NS_PER_MS, cfg.poll_interval_ns);
	CHECK_U64("defaults", "n_adapters", 1, cfg.n_adapters);
	CHECK_U64("defaults", "adapters[0].type", ADAPTER_PROMETHEUS, cfg.adapters[0].type);
	CHECK_STR("defaults", "adapters[0].address", "0.0.0.0", cfg.adapters[0].address);
	CHECK_U64("defaults", "adapters[0].port", 8080, cfg.adapters[0].port);
	CHECK_U64("defaults", "n_select", 0, cfg.n_select);
	CHECK_U64("defaults", "max_series", 2000, cfg.max_series);
	CHECK_U64("defaults", "n_networks", 0, cfg.n_networks);
	CHECK_U64("defaults", "dns_enabled", 1, cfg.dns_enabled);
	CHECK_U64("defaults", "dns_events", DNS_EVENTS_NONE, cfg.dns_events);
	CHECK_U64("defaults", "dns_max_names", 65536, cfg.dns_max_names);
	CHECK_U64("defaults", "dns_max_pending", 4096, cfg.dns_max_pending);
	CHECK_U64("defaults", "dns_timeout_ns", 5 * NS_PER_SEC, cfg.dns_timeout_ns);
	CHECK_STR("defaults", "getaddrinfo", "auto", cfg.getaddrinfo);
	CHECK_U64("defaults", "max_processes", 32768, cfg.max_processes);
}

static void test_default_yaml(void **state)
{
	struct config exp, act;
	char err[512] = "";
	int ret;

	config_set_defaults(&exp);
	memset(&act, 0x5a, sizeof(act));
	ret = config_parse(config_default_text(), strlen(config_default_text()), "<default>", &act,
			   err, sizeof(err));
	if (ret)
		fail_msg("config_default_yaml: expected 0, got %d: %s", ret, err);
	check_config_eq("config_default_yaml", &exp, &act);
	/* it must say what it sets, not lean on the defaults */
	assert_non_null(strstr(config_default_text(), "log_level: info\n"));
	assert_non_null(strstr(config_default_text(), "scope: host\n"));
	assert_non_null(strstr(config_default_text(), "idle_timeout: 30s\n"));
	assert_non_null(strstr(config_default_text(), "type: prometheus\n"));
	assert_non_null(strstr(config_default_text(), "port: 8080\n"));
	assert_non_null(strstr(config_default_text(), "  max_series: 2000\n"));
	assert_non_null(strstr(config_default_text(), "  timeout: 5s\n"));
	assert_non_null(strstr(config_default_text(), "  max: 32768\n"));
}

/* ==== Good files ==== */

struct good_case {
	const char *name;
	const char *yaml;
	size_t len;			    /* 0: strlen(yaml) */
	void (*expect)(struct config *cfg); /* applied to the defaults; NULL: defaults */
};

static void expect_full(struct config *cfg)
{
	cfg->log_level = LOG_LEVEL_DEBUG;
	cfg->scope = SCOPE_PATH;
	snprintf(cfg->scope_path, sizeof(cfg->scope_path), "/proc/1/ns/net");
	cfg->idle_timeout_ns = 5 * 60 * NS_PER_SEC;
	cfg->max_connections = 1024;
	cfg->max_udp_flows = 2048;
	cfg->ringbuf_bytes = 4 * 1024 * 1024;
	cfg->poll_interval_ns = 250 * NS_PER_MS;
	cfg->n_adapters = 1;
	set_adapter(cfg, 0, "127.0.0.1", 9100);
}

static void expect_debug(struct config *cfg)
{
	cfg->log_level = LOG_LEVEL_DEBUG;
}

static void expect_warn_netns(struct config *cfg)
{
	cfg->log_level = LOG_LEVEL_WARN;
	cfg->scope = SCOPE_NETNS;
}

static void expect_one_9100(struct config *cfg)
{
	cfg->n_adapters = 1;
	set_adapter(cfg, 0, "0.0.0.0", 9100);
}

static void expect_two(struct config *cfg)
{
	cfg->n_adapters = 2;
	set_adapter(cfg, 0, "127.0.0.1", 9100);
	set_adapter(cfg, 1, "0.0.0.0", 9101);
}

static void expect_eight(struct config *cfg)
{
	size_t i;

	cfg->n_adapters = 8;
	for (i = 0; i < 8; i++)
		set_adapter(cfg, i, "0.0.0.0", (uint16_t)(9000 + i));
}

static void expect_none(struct config *cfg)
{
	cfg->n_adapters = 0;
}

static void expect_any6(struct config *cfg)
{
	set_adapter(cfg, 0, "::", 8080);
}

static void expect_v6_doc(struct config *cfg)
{
	set_adapter(cfg, 0, "2001:db8::1", 9100);
}

static void expect_v6_loopback(struct config *cfg)
{
	set_adapter(cfg, 0, "::1", 8080);
}

static void expect_v6_mapped(struct config *cfg)
{
	set_adapter(cfg, 0, "::ffff:192.0.2.1", 8080);
}

static void expect_port0(struct config *cfg)
{
	set_adapter(cfg, 0, "127.0.0.1", 0);
}

static void expect_port_max(struct config *cfg)
{
	set_adapter(cfg, 0, "0.0.0.0", 65535);
}

static void expect_netns(struct config *cfg)
{
	cfg->scope = SCOPE_NETNS;
}

static void expect_path_named(struct config *cfg)
{
	cfg->scope = SCOPE_PATH;
	snprintf(cfg->scope_path, sizeof(cfg->scope_path), "/var/run/netns/blue");
}

static void expect_path_pid(struct config *cfg)
{
	cfg->scope = SCOPE_PATH;
	snprintf(cfg->scope_path, sizeof(cfg->scope_path), "/proc/4242/ns/net");
}

static void expect_idle_100ns(struct config *cfg)
{
	cfg->idle_timeout_ns = 100;
}

static void expect_idle_250us(struct config *cfg)
{
	cfg->idle_timeout_ns = 250000;
}

static void expect_idle_500ms(struct config *cfg)
{
	cfg->idle_timeout_ns = 500 * NS_PER_MS;
}

static void expect_idle_45s(struct config *cfg)
{
	cfg->idle_timeout_ns = 45 * NS_PER_SEC;
}

static void expect_idle_5m(struct config *cfg)
{
	cfg->idle_timeout_ns = 300 * NS_PER_SEC;
}

static void expect_idle_2h(struct config *cfg)
{
	cfg->idle_timeout_ns = 7200 * NS_PER_SEC;
}

static void expect_poll_min(struct config *cfg)
{
	cfg->poll_interval_ns = NS_PER_MS;
}

static void expect_poll_max(struct config *cfg)
{
	cfg->poll_interval_ns = 10 * NS_PER_SEC;
}

static void expect_poll_us(struct config *cfg)
{
	cfg->poll_interval_ns = NS_PER_MS;
}

static void expect_sizes_min(struct config *cfg)
{
	cfg->max_connections = 16;
	cfg->max_udp_flows = 16;
	cfg->ringbuf_bytes = 4096;
}

static void expect_sizes_max(struct config *cfg)
{
	cfg->max_connections = 16777216;
	cfg->max_udp_flows = 16777216;
	cfg->ringbuf_bytes = 1073741824;
}

static void expect_error_level(struct config *cfg)
{
	cfg->log_level = LOG_LEVEL_ERROR;
}

static void expect_warn(struct config *cfg)
{
	cfg->log_level = LOG_LEVEL_WARN;
}

static void expect_tags(struct config *cfg)
{
	cfg->max_connections = 16;
	cfg->scope = SCOPE_NETNS;
}

static void expect_alias(struct config *cfg)
{
	cfg->n_adapters = 2;
	set_adapter(cfg, 0, "0.0.0.0", 9100);
	set_adapter(cfg, 1, "0.0.0.0", 9100);
}

static struct config_network *add_net(struct config *cfg, uint16_t family, uint8_t prefix,
				      const uint8_t *addr, size_t n, const char *zone,
				      const char *cls)
{
	struct config_network *net = &cfg->networks[cfg->n_networks++];

	memset(net, 0, sizeof(*net));
	net->family = family;
	net->prefix = prefix;
	memcpy(net->addr, addr, n);
	snprintf(net->zone, sizeof(net->zone), "%s", zone);
	snprintf(net->class_name, sizeof(net->class_name), "%s", cls);
	return net;
}

static void expect_select(struct config *cfg)
{
	struct config_select *s = &cfg->select[0];

	cfg->n_select = 3;
	snprintf(s->pattern, sizeof(s->pattern), "gespann_flow_*");
	s->has_include = 1;
	s->n_include = 2;
	snprintf(s->include[0], sizeof(s->include[0]), "src_process");
	snprintf(s->include[1], sizeof(s->include[1]), "dst_address");
	s->n_exclude = 1;
	snprintf(s->exclude[0], sizeof(s->exclude[0]), "dst_name");
	s = &cfg->select[1];
	snprintf(s->pattern, sizeof(s->pattern), "gespann_dns_queries_total");
	s->has_include = 1;
	s->n_include = 1;
	snprintf(s->include[0], sizeof(s->include[0]), "*");
	s = &cfg->select[2];
	snprintf(s->pattern, sizeof(s->pattern), "gespann_process_[bc]*");
	s->n_exclude = 2;
	snprintf(s->exclude[0], sizeof(s->exclude[0]), "direction");
	snprintf(s->exclude[1], sizeof(s->exclude[1]), "_x9");
	cfg->max_series = 10000000;
}

static void expect_max_series_1(struct config *cfg)
{
	cfg->max_series = 1;
}

static void expect_networks(struct config *cfg)
{
	static const uint8_t ten[] = { 10 }, host[] = { 192, 0, 2, 7 },
			     lan[] = { 192, 168, 1, 128 }, fd[] = { 0xfd, 0x00, 0x67, 0x65 },
			     one[16] = { [15] = 1 }, mapped[] = { 198, 18, 0, 0 }, any[1] = { 0 };

	add_net(cfg, AF_INET, 8, ten, sizeof(ten), "corp", "internal");
	add_net(cfg, AF_INET, 32, host, sizeof(host), "", "db");
	/* host bits set: masked */
	add_net(cfg, AF_INET, 25, lan, sizeof(lan), "office-1.b", "");
	add_net(cfg, AF_INET6, 32, fd, sizeof(fd), "lab", "internal");
	add_net(cfg, AF_INET6, 128, one, sizeof(one), "", "localhost");
	/* v4-mapped: stored as IPv4 */
	add_net(cfg, AF_INET, 15, mapped, sizeof(mapped), "bench", "");
	add_net(cfg, AF_INET, 0, any, sizeof(any), "world", "external");
	add_net(cfg, AF_INET6, 0, any, sizeof(any), "world6", "external");
}

static void expect_host_zone(struct config *cfg)
{
	static const uint8_t net[] = { 10, 1 };

	add_net(cfg, AF_INET, 16, net, sizeof(net), "eu-west-1b", "");
	snprintf(cfg->zone, sizeof(cfg->zone), "eu-west-1a");
}

static void expect_dns(struct config *cfg)
{
	cfg->dns_enabled = 0;
	cfg->dns_events = DNS_EVENTS_LOG;
	cfg->dns_max_names = 16;
	cfg->dns_max_pending = 1048576;
	cfg->dns_timeout_ns = 250 * NS_PER_MS;
	snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "/lib/x86_64-linux-gnu/libc.so.6");
	cfg->max_processes = 16777216;
}

static void expect_gai_off(struct config *cfg)
{
	snprintf(cfg->getaddrinfo, sizeof(cfg->getaddrinfo), "off");
	cfg->dns_enabled = 1;
	cfg->max_processes = 16;
}

/* The datadog adapter's defaults, as the README documents them. */
static struct adapter_config *set_datadog(struct config *cfg, size_t i)
{
	struct adapter_config *ad = &cfg->adapters[i];

	memset(ad, 0, sizeof(*ad));
	ad->type = ADAPTER_DATADOG;
	snprintf(ad->host, sizeof(ad->host), "localhost:8125");
	ad->flush_interval_ns = 10 * NS_PER_SEC;
	snprintf(ad->metric_namespace, sizeof(ad->metric_namespace), "gespann");
	ad->histogram = DATADOG_HIST_DISTRIBUTION;
	return ad;
}

/* The otlp adapter's defaults, as the README documents them. */
static struct adapter_config *set_otlp(struct config *cfg, size_t i)
{
	struct adapter_config *ad = &cfg->adapters[i];

	memset(ad, 0, sizeof(*ad));
	ad->type = ADAPTER_OTLP;
	snprintf(ad->endpoint, sizeof(ad->endpoint), "http://localhost:4318/v1/metrics");
	ad->protocol = OTLP_HTTP_PROTOBUF;
	ad->interval_ns = 10 * NS_PER_SEC;
	ad->timeout_ns = 10 * NS_PER_SEC;
	ad->gzip = 0;
	return ad;
}

static void expect_dd_defaults(struct config *cfg)
{
	cfg->n_adapters = 1;
	set_datadog(cfg, 0);
}

static void expect_dd_full(struct config *cfg)
{
	struct adapter_config *ad;

	cfg->n_adapters = 1;
	ad = set_datadog(cfg, 0);
	snprintf(ad->host, sizeof(ad->host), "127.0.0.1:9125");
	ad->flush_interval_ns = 500 * NS_PER_MS;
	snprintf(ad->metric_namespace, sizeof(ad->metric_namespace), "net.gespann_v2");
	ad->n_tags = 3;
	snprintf(ad->tags[0], sizeof(ad->tags[0]), "env:prod");
	snprintf(ad->tags[1], sizeof(ad->tags[1]), "team:sre/net");
	snprintf(ad->tags[2], sizeof(ad->tags[2]), "canary");
	ad->histogram = DATADOG_HIST_HISTOGRAM;
}

static void expect_dd_host_v6(struct config *cfg)
{
	cfg->n_adapters = 1;
	snprintf(set_datadog(cfg, 0)->host, sizeof(cfg->adapters[0].host), "[::1]:8125");
}

static void expect_dd_host_unix(struct config *cfg)
{
	cfg->n_adapters = 1;
	snprintf(set_datadog(cfg, 0)->host, sizeof(cfg->adapters[0].host),
		 "unix:///var/run/datadog/dsd.socket");
}

static void expect_dd_host_name(struct config *cfg)
{
	cfg->n_adapters = 1;
	snprintf(set_datadog(cfg, 0)->host, sizeof(cfg->adapters[0].host),
		 "dd-agent.monitoring.svc:65535");
}

static void expect_dd_flush_min(struct config *cfg)
{
	cfg->n_adapters = 1;
	set_datadog(cfg, 0)->flush_interval_ns = 100 * NS_PER_MS;
}

static void expect_dd_flush_max(struct config *cfg)
{
	cfg->n_adapters = 1;
	set_datadog(cfg, 0)->flush_interval_ns = 3600 * NS_PER_SEC;
}

static void expect_dd_16_tags(struct config *cfg)
{
	struct adapter_config *ad;
	size_t i;

	cfg->n_adapters = 1;
	ad = set_datadog(cfg, 0);
	ad->n_tags = 16;
	for (i = 0; i < 16; i++)
		snprintf(ad->tags[i], sizeof(ad->tags[i]), "t%zu:v", i);
}

static void expect_dd_ns_63(struct config *cfg)
{
	cfg->n_adapters = 1;
	snprintf(set_datadog(cfg, 0)->metric_namespace, sizeof(cfg->adapters[0].metric_namespace),
		 "a12345678901234567890123456789012345678901234567890123456789012");
}

static void expect_otlp_defaults(struct config *cfg)
{
	cfg->n_adapters = 1;
	set_otlp(cfg, 0);
}

static void expect_otlp_full(struct config *cfg)
{
	struct adapter_config *ad;

	cfg->n_adapters = 1;
	ad = set_otlp(cfg, 0);
	snprintf(ad->endpoint, sizeof(ad->endpoint), "https://otel.example.com:4318/v1/metrics");
	ad->protocol = OTLP_HTTP_JSON;
	ad->n_headers = 3;
	snprintf(ad->headers[0][0], sizeof(ad->headers[0][0]), "Authorization");
	snprintf(ad->headers[0][1], sizeof(ad->headers[0][1]), "Bearer abc:def");
	snprintf(ad->headers[1][0], sizeof(ad->headers[1][0]), "X-Scope-OrgID");
	snprintf(ad->headers[1][1], sizeof(ad->headers[1][1]), "tenant 1");
	snprintf(ad->headers[2][0], sizeof(ad->headers[2][0]), "x-empty");
	snprintf(ad->headers[2][1], sizeof(ad->headers[2][1]), "%s", "");
	ad->interval_ns = 30 * NS_PER_SEC;
	ad->timeout_ns = 5 * NS_PER_SEC;
	ad->gzip = 1;
}

static void expect_otlp_limits(struct config *cfg)
{
	struct adapter_config *ad;

	cfg->n_adapters = 2;
	ad = set_otlp(cfg, 0);
	ad->interval_ns = 100 * NS_PER_MS;
	ad->timeout_ns = 100 * NS_PER_MS;
	ad = set_otlp(cfg, 1);
	snprintf(ad->endpoint, sizeof(ad->endpoint), "http://[::1]:4318/v1/metrics");
	ad->interval_ns = 3600 * NS_PER_SEC;
	ad->timeout_ns = 300 * NS_PER_SEC;
}

static void expect_otlp_16_headers(struct config *cfg)
{
	struct adapter_config *ad;
	size_t i;

	cfg->n_adapters = 1;
	ad = set_otlp(cfg, 0);
	ad->n_headers = 16;
	for (i = 0; i < 16; i++) {
		snprintf(ad->headers[i][0], sizeof(ad->headers[i][0]), "h%zu", i);
		snprintf(ad->headers[i][1], sizeof(ad->headers[i][1]), "v%zu", i);
	}
}

/* grpc: its default endpoint (port 4317, no path), or the one given after it. */
static void expect_otlp_grpc(struct config *cfg)
{
	struct adapter_config *ad;

	cfg->n_adapters = 2;
	ad = set_otlp(cfg, 0);
	ad->protocol = OTLP_GRPC;
	snprintf(ad->endpoint, sizeof(ad->endpoint), "http://localhost:4317");
	ad = set_otlp(cfg, 1);
	ad->protocol = OTLP_GRPC;
	snprintf(ad->endpoint, sizeof(ad->endpoint), "https://otel.example.com:4317/");
}

/* Each adapter carries its own type's settings only. */
static void expect_mixed(struct config *cfg)
{
	cfg->n_adapters = 3;
	set_adapter(cfg, 0, "127.0.0.1", 0);
	set_datadog(cfg, 1)->histogram = DATADOG_HIST_HISTOGRAM;
	set_otlp(cfg, 2)->gzip = 0;
}

/* "log_level: debug" followed by bytes the length excludes */
static const char truncated_text[] = "log_level: debug\nscope: {{{{";

static const struct good_case good_cases[] = {
	{ "readme example",
	  "log_level: info            # error | warn | info | debug\n"
	  "scope: host                # host | netns | /path/to/netns\n"
	  "idle_timeout: 30s          # duration\n"
	  "max_connections: 65536     # integer 16..16777216\n"
	  "max_udp_flows: 16384       # integer 16..16777216\n"
	  "ring_buffer_size: 1048576  # bytes, power of two\n"
	  "poll_interval: 100ms       # duration, 1ms..10s\n"
	  "adapters:\n"
	  "  - type: prometheus\n"
	  "    settings:\n"
	  "      port: 8080           # 1..65535\n"
	  "      address: 0.0.0.0     # optional\n",
	  0, NULL },
	{ "every key changed",
	  "log_level: debug\n"
	  "scope: /proc/1/ns/net\n"
	  "idle_timeout: 5m\n"
	  "max_connections: 1024\n"
	  "max_udp_flows: 2048\n"
	  "ring_buffer_size: 4194304\n"
	  "poll_interval: 250ms\n"
	  "adapters:\n"
	  "  - type: prometheus\n"
	  "    settings:\n"
	  "      address: 127.0.0.1\n"
	  "      port: 9100\n",
	  0, expect_full },
	{ "minimal", "log_level: debug\n", 0, expect_debug },
	{ "no trailing newline", "log_level: debug", 0, expect_debug },
	{ "empty file", "", 0, NULL },
	{ "only whitespace", "\n\n   \n", 0, NULL },
	{ "only comments", "# nothing to see\n   # here either\n", 0, NULL },
	{ "document marker only", "---\n", 0, NULL },
	{ "explicit null document", "~\n", 0, NULL },
	{ "document end marker", "log_level: debug\n...\n", 0, expect_debug },
	{ "yaml directive", "%YAML 1.1\n---\nlog_level: debug\n", 0, expect_debug },
	{ "utf-8 byte order mark", "\xef\xbb\xbflog_level: debug\n", 0, expect_debug },
	{ "crlf line ends", "log_level: warn\r\nscope: netns\r\n", 0, expect_warn_netns },
	{ "flow mapping", "{log_level: warn, scope: netns}\n", 0, expect_warn_netns },
	{ "quoted keys and values", "\"log_level\": 'warn'\n\"scope\": \"netns\"\n", 0,
	  expect_warn_netns },
	{ "only adapters", "adapters:\n  - type: prometheus\n    settings:\n      port: 9100\n", 0,
	  expect_one_9100 },
	{ "settings absent", "adapters:\n  - type: prometheus\n", 0, NULL },
	{ "settings empty", "adapters:\n  - type: prometheus\n    settings: {}\n", 0, NULL },
	{ "adapters flow style", "adapters: [{type: prometheus, settings: {port: 9100}}]\n", 0,
	  expect_one_9100 },
	{ "two prometheus adapters",
	  "adapters:\n"
	  "  - type: prometheus\n"
	  "    settings:\n"
	  "      address: 127.0.0.1\n"
	  "      port: 9100\n"
	  "  - type: prometheus\n"
	  "    settings: {port: 9101}\n",
	  0, expect_two },
	{ "eight adapters (the maximum)",
	  "adapters:\n"
	  "  - {type: prometheus, settings: {port: 9000}}\n"
	  "  - {type: prometheus, settings: {port: 9001}}\n"
	  "  - {type: prometheus, settings: {port: 9002}}\n"
	  "  - {type: prometheus, settings: {port: 9003}}\n"
	  "  - {type: prometheus, settings: {port: 9004}}\n"
	  "  - {type: prometheus, settings: {port: 9005}}\n"
	  "  - {type: prometheus, settings: {port: 9006}}\n"
	  "  - {type: prometheus, settings: {port: 9007}}\n",
	  0, expect_eight },
	{ "empty adapter list", "adapters: []\n", 0, expect_none },
	{ "ipv6 any, quoted", "adapters:\n- type: prometheus\n  settings: {address: \"::\"}\n", 0,
	  expect_any6 },
	{ "ipv6 plain",
	  "adapters:\n- type: prometheus\n  settings:\n    address: 2001:db8::1\n    port: 9100\n",
	  0, expect_v6_doc },
	{ "ipv6 loopback", "adapters:\n- type: prometheus\n  settings:\n    address: '::1'\n", 0,
	  expect_v6_loopback },
	{ "ipv4-mapped ipv6",
	  "adapters:\n- type: prometheus\n  settings:\n    address: \"::ffff:192.0.2.1\"\n", 0,
	  expect_v6_mapped },
	{ "port 0 (ephemeral)",
	  "adapters:\n- type: prometheus\n  settings: {address: 127.0.0.1, port: 0}\n", 0,
	  expect_port0 },
	{ "port 65535", "adapters:\n- type: prometheus\n  settings: {port: 65535}\n", 0,
	  expect_port_max },
	{ "scope host", "scope: host\n", 0, NULL },
	{ "scope netns", "scope: netns\n", 0, expect_netns },
	{ "scope named netns", "scope: /var/run/netns/blue\n", 0, expect_path_named },
	{ "scope pid netns", "scope: \"/proc/4242/ns/net\"\n", 0, expect_path_pid },
	{ "idle 100ns", "idle_timeout: 100ns\n", 0, expect_idle_100ns },
	{ "idle 250us", "idle_timeout: 250us\n", 0, expect_idle_250us },
	{ "idle 500ms", "idle_timeout: 500ms\n", 0, expect_idle_500ms },
	{ "idle 45s", "idle_timeout: 45s\n", 0, expect_idle_45s },
	{ "idle 5m", "idle_timeout: 5m\n", 0, expect_idle_5m },
	{ "idle 2h", "idle_timeout: 2h\n", 0, expect_idle_2h },
	{ "idle quoted", "idle_timeout: \"45s\"\n", 0, expect_idle_45s },
	{ "quoted integers",
	  "max_connections: \"16\"\nmax_udp_flows: '16'\nring_buffer_size: \"4096\"\n", 0,
	  expect_sizes_min },
	{ "quoted port", "adapters:\n  - type: prometheus\n    settings:\n      port: \"9100\"\n",
	  0, expect_one_9100 },
	{ "quoted port, single quotes",
	  "adapters: [{type: prometheus, settings: {port: '9100'}}]\n", 0, expect_one_9100 },
	{ "quoted poll interval", "poll_interval: '1ms'\n", 0, expect_poll_min },
	{ "poll 1ms (minimum)", "poll_interval: 1ms\n", 0, expect_poll_min },
	{ "poll 10s (maximum)", "poll_interval: 10s\n", 0, expect_poll_max },
	{ "poll 1000us", "poll_interval: 1000us\n", 0, expect_poll_us },
	{ "sizes at minimum", "max_connections: 16\nmax_udp_flows: 16\nring_buffer_size: 4096\n", 0,
	  expect_sizes_min },
	{ "sizes at maximum",
	  "max_connections: 16777216\nmax_udp_flows: 16777216\nring_buffer_size: 1073741824\n", 0,
	  expect_sizes_max },
	{ "log level error", "log_level: error\n", 0, expect_error_level },
	{ "log level warning", "log_level: warning\n", 0, expect_warn },
	{ "anchor and alias",
	  "adapters:\n  - &p {type: prometheus, settings: {port: 9100}}\n  - *p\n", 0,
	  expect_alias },
	{ "explicit core tags", "max_connections: !!int 16\nscope: !!str netns\n", 0, expect_tags },
	{ "length limits the text", truncated_text, 16, expect_debug },
	/* datadog */
	{ "datadog, no settings", "adapters:\n  - type: datadog\n", 0, expect_dd_defaults },
	{ "datadog, empty settings", "adapters: [{type: datadog, settings: {}}]\n", 0,
	  expect_dd_defaults },
	{ "datadog, the defaults spelled out",
	  "adapters:\n"
	  "  - type: datadog\n"
	  "    settings:\n"
	  "      host: localhost:8125\n"
	  "      flush_interval: 10s\n"
	  "      namespace: gespann\n"
	  "      tags: []\n"
	  "      histogram: distribution\n",
	  0, expect_dd_defaults },
	{ "datadog, host quoted",
	  "adapters:\n"
	  "  - type: datadog\n"
	  "    settings:\n"
	  "      host: \"localhost:8125\"\n"
	  "      flush_interval: \"10s\"\n",
	  0, expect_dd_defaults },
	{ "datadog, every setting",
	  "adapters:\n"
	  "  - type: datadog\n"
	  "    settings:\n"
	  "      host: \"127.0.0.1:9125\"\n"
	  "      flush_interval: 500ms\n"
	  "      namespace: net.gespann_v2\n"
	  "      tags:\n"
	  "        - env:prod\n"
	  "        - 'team:sre/net'\n"
	  "        - canary\n"
	  "      histogram: histogram\n",
	  0, expect_dd_full },
	{ "datadog, ipv6 host", "adapters:\n- type: datadog\n  settings: {host: \"[::1]:8125\"}\n",
	  0, expect_dd_host_v6 },
	{ "datadog, unix socket",
	  "adapters:\n- type: datadog\n  settings:\n    host: unix:///var/run/datadog/dsd.socket\n",
	  0, expect_dd_host_unix },
	{ "datadog, host name, highest port",
	  "adapters:\n- type: datadog\n  settings:\n    host: dd-agent.monitoring.svc:65535\n", 0,
	  expect_dd_host_name },
	{ "datadog, flush 100ms (minimum)",
	  "adapters:\n- type: datadog\n  settings: {flush_interval: 100ms}\n", 0,
	  expect_dd_flush_min },
	{ "datadog, flush 1h (maximum)",
	  "adapters:\n- type: datadog\n  settings: {flush_interval: 60m}\n", 0,
	  expect_dd_flush_max },
	{ "datadog, 16 tags (the maximum)",
	  "adapters:\n- type: datadog\n  settings:\n    tags: [t0:v, t1:v, t2:v, t3:v, t4:v, t5:v, "
	  "t6:v, t7:v, t8:v, t9:v, t10:v, t11:v, t12:v, t13:v, t14:v, t15:v]\n",
	  0, expect_dd_16_tags },
	{ "datadog, namespace of 63 characters",
	  "adapters:\n- type: datadog\n  settings:\n    namespace: "
	  "a12345678901234567890123456789012345678901234567890123456789012\n",
	  0, expect_dd_ns_63 },
	/* otlp */
	{ "otlp, no settings", "adapters:\n  - type: otlp\n", 0, expect_otlp_defaults },
	{ "otlp, the defaults spelled out",
	  "adapters:\n"
	  "  - type: otlp\n"
	  "    settings:\n"
	  "      endpoint: http://localhost:4318/v1/metrics\n"
	  "      protocol: http/protobuf\n"
	  "      headers: {}\n"
	  "      interval: 10s\n"
	  "      timeout: 10s\n"
	  "      compression: none\n",
	  0, expect_otlp_defaults },
	{ "otlp, every setting",
	  "adapters:\n"
	  "  - type: otlp\n"
	  "    settings:\n"
	  "      endpoint: https://otel.example.com:4318/v1/metrics\n"
	  "      protocol: http/json\n"
	  "      headers:\n"
	  "        Authorization: \"Bearer abc:def\"\n"
	  "        X-Scope-OrgID: tenant 1\n"
	  "        x-empty: \"\"\n"
	  "      interval: 30s\n"
	  "      timeout: 5s\n"
	  "      compression: gzip\n",
	  0, expect_otlp_full },
	{ "otlp, grpc: default endpoint, and one given before the protocol",
	  "adapters:\n"
	  "  - {type: otlp, settings: {protocol: grpc}}\n"
	  "  - {type: otlp, settings: {endpoint: \"https://otel.example.com:4317/\", protocol: grpc}}\n",
	  0, expect_otlp_grpc },
	{ "otlp, interval and timeout limits",
	  "adapters:\n"
	  "  - {type: otlp, settings: {interval: 100ms, timeout: 100ms}}\n"
	  "  - {type: otlp, settings: {endpoint: \"http://[::1]:4318/v1/metrics\", interval: 1h, "
	  "timeout: 5m}}\n",
	  0, expect_otlp_limits },
	{ "otlp, 16 headers (the maximum)",
	  "adapters:\n- type: otlp\n  settings:\n    headers: {h0: v0, h1: v1, h2: v2, h3: v3, h4: v4, "
	  "h5: v5, h6: v6, h7: v7, h8: v8, h9: v9, h10: v10, h11: v11, h12: v12, h13: v13, "
	  "h14: v14, h15: v15}\n",
	  0, expect_otlp_16_headers },
	{ "attributes.select, three patterns in file order",
	  "attributes:\n"
	  "  select:\n"
	  "    \"gespann_flow_*\": { include: [src_process, dst_address], exclude: [dst_name] }\n"
	  "    gespann_dns_queries_total:\n"
	  "      include: [\"*\"]\n"
	  "    \"gespann_process_[bc]*\": {exclude: [direction, _x9]}\n"
	  "  max_series: 10000000\n",
	  0, expect_select },
	{ "attributes, empty select", "attributes: {select: {}, max_series: 1}\n", 0,
	  expect_max_series_1 },
	{ "networks",
	  "networks:\n"
	  "  - { cidr: 10.0.0.0/8, zone: corp, class: internal }\n"
	  "  - cidr: 192.0.2.7\n"
	  "    class: db\n"
	  "  - {cidr: 192.168.1.200/25, zone: office-1.b}\n"
	  "  - {cidr: \"fd00:6765::/32\", zone: lab, class: internal}\n"
	  "  - {cidr: \"::1\", class: localhost}\n"
	  "  - {cidr: \"::ffff:198.19.1.1/111\", zone: bench}\n"
	  "  - {cidr: 0.0.0.0/0, zone: world, class: external}\n"
	  "  - {cidr: \"::/0\", zone: world6, class: external}\n",
	  0, expect_networks },
	{ "networks, empty list", "networks: []\n", 0, NULL },
	{ "zone: the host's own, beside networks",
	  "networks: [{cidr: 10.1.0.0/16, zone: eu-west-1b}]\nzone: eu-west-1a\n", 0,
	  expect_host_zone },
	{ "zone: empty, the default", "zone: \"\"\n", 0, NULL },
	{ "dns and processes",
	  "dns:\n"
	  "  enabled: false\n"
	  "  events: log\n"
	  "  max_names: 16\n"
	  "  max_pending: 1048576\n"
	  "  timeout: 250ms\n"
	  "  getaddrinfo: /lib/x86_64-linux-gnu/libc.so.6\n"
	  "processes: {max: 16777216}\n",
	  0, expect_dns },
	{ "dns.getaddrinfo: off (a YAML boolean)",
	  "dns: {enabled: yes, getaddrinfo: off}\nprocesses: {max: 16}\n", 0, expect_gai_off },
	{ "dns.getaddrinfo: \"off\" and auto", "dns: {getaddrinfo: auto}\n", 0, NULL },
	{ "prometheus, datadog and otlp together",
	  "adapters:\n"
	  "  - type: prometheus\n"
	  "    settings: {address: 127.0.0.1, port: 0}\n"
	  "  - type: datadog\n"
	  "    settings: {histogram: histogram}\n"
	  "  - type: otlp\n"
	  "    settings: {compression: none}\n",
	  0, expect_mixed },
};

static void run_good_case(const struct good_case *c)
{
	struct config exp, act;
	char err[512] = "";
	size_t len = c->len ? c->len : strlen(c->yaml);
	int ret;

	config_set_defaults(&exp);
	if (c->expect)
		c->expect(&exp);
	memset(&act, 0x5a, sizeof(act));
	ret = config_parse(c->yaml, len, "config.yaml", &act, err, sizeof(err));
	if (ret)
		fail_msg("%s: expected 0, got %d: %s", c->name, ret, err);
	CHECK_STR(c->name, "err", "", err);
	check_config_eq(c->name, &exp, &act);
}

static void test_good_files(void **state)
{
	size_t i;

	for (i = 0; i < COUNT_OF(good_cases); i++)
		run_good_case(&good_cases[i]);
}

/* ==== Bad files ==== */

struct bad_case {
	const char *yaml;
	const char *err; /* NULL: the file is fine after all */
};

/* the table keeps the layout it has; long expected messages stay on one line each */
/* clang-format off */
static const struct
	bad_case
		bad_cases
			[] = {
				/* YAML itself */
				{ "log_level: info\nscope: [host\n",
				  "config.yaml:3: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence" },
				{ "log_level: info\n  scope: host\n",
				  "config.yaml:2: YAML syntax error: mapping values are not allowed in this context" },
				{ "\tlog_level: info\n",
				  "config.yaml:1: YAML syntax error: found character that cannot start any token while scanning for the next token" },
				{ "log_level: info\nscope: \x01\n",
				  "config.yaml:2: YAML syntax error: control characters are not allowed (#x1)" },
				{ "log_level: info\nscope: \xff\n",
				  "config.yaml:2: YAML syntax error: invalid leading UTF-8 octet (#xFF)" },
				{ "scope: *nowhere\n",
				  "config.yaml:1: YAML syntax error: found undefined alias" },
				{ "%YAML 2.0\n---\nscope: host\n",
				  "config.yaml:1: YAML syntax error: found incompatible YAML document" },
				{ "log_level: info\n---\nscope: host\n",
				  "config.yaml:3: expected one YAML document, found a second one" },
				{ "log_level: info\n--- [\n",
				  "config.yaml:3: YAML syntax error: did not find expected node content while parsing a flow node" },
				/* the top level */
				{ "- log_level: info\n",
				  "config.yaml:1: expected a mapping at the top level, got a list" },
				{ "info\n",
				  "config.yaml:1: expected a mapping at the top level, got a string" },
				{ "# a comment\n42\n",
				  "config.yaml:2: expected a mapping at the top level, got an integer" },
				{ "!!map {log_level: info}\n",
				  NULL }, /* allowed: the default tag, spelled out */
				{ "!weird {log_level: info}\n",
				  "config.yaml:1: unsupported YAML tag \"!weird\"" },
				/* keys */
				{ "log_level: info\nlog_levle: debug\n",
				  "config.yaml:2: unknown key \"log_levle\" " KNOWN_TOP },
				{ "Log_Level: info\n",
				  "config.yaml:1: unknown key \"Log_Level\" " KNOWN_TOP },
				{ "<<: {log_level: info}\n",
				  "config.yaml:1: unknown key \"<<\" " KNOWN_TOP },
				{ "\"log_level\\0\": info\n",
				  "config.yaml:1: unknown key \"log_level\\x00\" " KNOWN_TOP },
				{ "scope: host\nlog_level: info\nscope: netns\n",
				  "config.yaml:3: duplicate key \"scope\" (first on line 1)" },
				{ "? [a, b]\n: c\n",
				  "config.yaml:1: a key must be a string, got a list" },
				/* log_level */
				{ "log_level: verbose\n",
				  "config.yaml:1: log_level: \"verbose\" is not a log level (error, warn, info, debug)" },
				{ "log_level: INFO\n",
				  "config.yaml:1: log_level: \"INFO\" is not a log level (error, warn, info, debug)" },
				{ "log_level: 3\n",
				  "config.yaml:1: log_level: \"3\" is not a log level (error, warn, info, debug)" },
				{ "log_level:\nscope: host\n",
				  "config.yaml:1: log_level: expected a string, got null" },
				{ "log_level: ~\n",
				  "config.yaml:1: log_level: expected a string, got null" },
				{ "log_level: [info]\n",
				  "config.yaml:1: log_level: expected a string, got a list" },
				{ "log_level:\n  level: info\n",
				  "config.yaml:1: log_level: expected a string, got a mapping" },
				{ "log_level: !!binary aW5mbw==\n",
				  "config.yaml:1: log_level: unsupported YAML tag \"!!binary\"" },
				/* scope */
				{ "scope: true\n",
				  "config.yaml:1: scope: expected a string, got a boolean (true)" },
				{ "scope: off\n",
				  "config.yaml:1: scope: expected a string, got a boolean (off)" },
				{ "scope: \"\"\n",
				  "config.yaml:1: scope: \"\" is not a scope (host, netns, or a path such as /var/run/netns/NAME)" },
				{ "scope: var/run/netns/blue\n",
				  "config.yaml:1: scope: \"var/run/netns/blue\" is not a scope (host, netns, or a path such as /var/run/netns/NAME)" },
				{ "scope: \"/x\\0y\"\n",
				  "config.yaml:1: scope: \"/x\\x00y\" contains a NUL byte" },
				/* durations */
				{ "log_level: info\nscope: host\nidle_timeout: 30\n",
				  "config.yaml:3: idle_timeout: \"30\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "idle_timeout: 30 s\n",
				  "config.yaml:1: idle_timeout: \"30 s\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "idle_timeout: 1.5s\n",
				  "config.yaml:1: idle_timeout: \"1.5s\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "idle_timeout: -5s\n",
				  "config.yaml:1: idle_timeout: \"-5s\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "idle_timeout: 30S\n",
				  "config.yaml:1: idle_timeout: \"30S\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "idle_timeout: 1d\n",
				  "config.yaml:1: idle_timeout: \"1d\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "idle_timeout: 0s\n",
				  "config.yaml:1: idle_timeout: 0s is out of range (must be greater than 0)" },
				{ "idle_timeout: 99999999999999h\n",
				  "config.yaml:1: idle_timeout: \"99999999999999h\" is too large for a duration" },
				{ "idle_timeout: yes\n",
				  "config.yaml:1: idle_timeout: expected a string, got a boolean (yes)" },
				{ "poll_interval: 999us\n",
				  "config.yaml:1: poll_interval: 999us is out of range (1ms-10s)" },
				{ "poll_interval: 11s\n",
				  "config.yaml:1: poll_interval: 11s is out of range (1ms-10s)" },
				{ "poll_interval: 1m\n",
				  "config.yaml:1: poll_interval: 1m is out of range (1ms-10s)" },
				/* integers */
				{ "max_connections: 15\n",
				  "config.yaml:1: max_connections: 15 is out of range (16-16777216)" },
				{ "max_connections: 16777217\n",
				  "config.yaml:1: max_connections: 16777217 is out of range (16-16777216)" },
				{ "max_udp_flows: -1\n",
				  "config.yaml:1: max_udp_flows: -1 is out of range (16-16777216)" },
				{ "max_udp_flows: 99999999999999999999999\n",
				  "config.yaml:1: max_udp_flows: 99999999999999999999999 is out of range (16-16777216)" },
				{ "max_connections: 1e3\n",
				  "config.yaml:1: max_connections: \"1e3\" is not a decimal integer" },
				{ "max_connections: 1000.0\n",
				  "config.yaml:1: max_connections: \"1000.0\" is not a decimal integer" },
				{ "max_connections: 0x400\n",
				  "config.yaml:1: max_connections: \"0x400\" is not a decimal integer" },
				{ "max_connections: 01024\n",
				  "config.yaml:1: max_connections: \"01024\" is not a decimal integer" },
				{ "max_connections: +1024\n",
				  "config.yaml:1: max_connections: \"+1024\" is not a decimal integer" },
				{ "max_connections: 1024abc\n",
				  "config.yaml:1: max_connections: \"1024abc\" is not a decimal integer" },
				{ "max_connections: 1_024\n",
				  "config.yaml:1: max_connections: \"1_024\" is not a decimal integer" },
				/* quoted: the same errors as bare (quoted numbers are accepted: good_cases) */
				{ "max_connections: \"1024abc\"\n",
				  "config.yaml:1: max_connections: \"1024abc\" is not a decimal integer" },
				{ "max_connections: \"8\"\n",
				  "config.yaml:1: max_connections: 8 is out of range (16-16777216)" },
				{ "max_connections: \"\"\n",
				  "config.yaml:1: max_connections: \"\" is not a decimal integer" },
				{ "max_connections: \"true\"\n",
				  "config.yaml:1: max_connections: \"true\" is not a decimal integer" },
				{ "max_connections: true\n",
				  "config.yaml:1: max_connections: expected an integer, got a boolean (true)" },
				{ "max_connections:\n",
				  "config.yaml:1: max_connections: expected an integer, got null" },
				{ "max_connections: [1]\n",
				  "config.yaml:1: max_connections: expected an integer, got a list" },
				{ "ring_buffer_size: 5000\n",
				  "config.yaml:1: ring_buffer_size: 5000 is not a power of two between 4096 and 1073741824" },
				{ "ring_buffer_size: 2048\n",
				  "config.yaml:1: ring_buffer_size: 2048 is not a power of two between 4096 and 1073741824" },
				{ "ring_buffer_size: 2147483648\n",
				  "config.yaml:1: ring_buffer_size: 2147483648 is not a power of two between 4096 and 1073741824" },
				{ "ring_buffer_size: 0\n",
				  "config.yaml:1: ring_buffer_size: 0 is not a power of two between 4096 and 1073741824" },
				/* adapters */
				{ "log_level: info\nscope: host\n\nadapters:\n  type: prometheus\n",
				  "config.yaml:4: adapters: expected a list, got a mapping" },
				{ "adapters:\n",
				  "config.yaml:1: adapters: expected a list, got null (write [] for an empty list)" },
				{ "adapters: prometheus\n",
				  "config.yaml:1: adapters: expected a list, got a string" },
				{ "adapters: !!set {a, b}\n",
				  "config.yaml:1: adapters: unsupported YAML tag \"!!set\"" },
				{ "adapters: [1,2,3,4,5,6,7,8,9]\n",
				  "config.yaml:1: adapters: 9 entries, at most 8 are supported" },
				{ "adapters:\n  - prometheus\n",
				  "config.yaml:2: adapters[0]: expected a mapping, got a string" },
				{ "adapters: &a [*a]\n",
				  "config.yaml:1: adapters[0]: expected a mapping, got a list" },
				{ "adapters:\n  - type: graphite\n",
				  "config.yaml:2: adapters[0].type: unknown adapter type \"graphite\" (supported: prometheus, datadog, otlp, remote_write)" },
				{ "log_level: info\nscope: host\nidle_timeout: 30s\nadapters:\n  - type: DataDog\n",
				  "config.yaml:5: adapters[0].type: unknown adapter type \"DataDog\" (supported: prometheus, datadog, otlp, remote_write)" },
				{ "adapters:\n  - type:\n",
				  "config.yaml:2: adapters[0].type: expected a string, got null" },
				{ "adapters:\n  - settings: {port: 1}\n",
				  "config.yaml:2: adapters[0]: missing key \"type\" (supported: prometheus, datadog, otlp, remote_write)" },
				/* settings of another adapter type */
				{ "adapters:\n  - type: prometheus\n    settings:\n      flush_interval: 10s\n",
				  "config.yaml:4: adapters[0].settings: unknown key \"flush_interval\" (known: port, "
				  "address, web_config_file)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: localhost:8125\n      port: 8125\n",
				  "config.yaml:5: adapters[0].settings: unknown key \"port\" (known: host, flush_interval, namespace, tags, histogram)" },
				{ "adapters:\n  - type: datadog\n    settings: {endpoint: \"http://x:4318\"}\n",
				  "config.yaml:3: adapters[0].settings: unknown key \"endpoint\" (known: host, flush_interval, namespace, tags, histogram)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      host: localhost:4318\n",
				  "config.yaml:4: adapters[0].settings: unknown key \"host\" (known: protocol, endpoint, headers, interval, timeout, compression, logs, logs_rate, logs_queue, logs_sample)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      flush_interval: 10s\n",
				  "config.yaml:4: adapters[0].settings: unknown key \"flush_interval\" (known: protocol, endpoint, headers, interval, timeout, compression, logs, logs_rate, logs_queue, logs_sample)" },
				{ "adapters:\n  - type: datadog\n    settings: [host]\n",
				  "config.yaml:3: adapters[0].settings: expected a mapping, got a list" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: []\n      tags: []\n",
				  "config.yaml:5: adapters[0].settings: duplicate key \"tags\" (first on line 4)" },
				/* datadog host */
				{ "adapters:\n  - type: datadog\n    settings:\n      host: localhost\n",
				  "config.yaml:4: adapters[0].settings.host: \"localhost\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: prometheus\n  - type: datadog\n    settings:\n      host: \":8125\"\n",
				  "config.yaml:5: adapters[1].settings.host: \":8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: -agent:8125\n",
				  "config.yaml:4: adapters[0].settings.host: \"-agent:8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: dd agent:8125\n",
				  "config.yaml:4: adapters[0].settings.host: \"dd agent:8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: 256.0.0.1:8125\n", "config.yaml:4: adapters[0].settings.host: \"256.0.0.1:8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: localhost:0\n",
				  "config.yaml:4: adapters[0].settings.host: \"localhost:0\" has no valid port (1-65535)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: localhost:65536\n",
				  "config.yaml:4: adapters[0].settings.host: \"localhost:65536\" has no valid port (1-65535)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: \"localhost:\"\n",
				  "config.yaml:4: adapters[0].settings.host: \"localhost:\" has no valid port (1-65535)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: localhost:08125\n",
				  "config.yaml:4: adapters[0].settings.host: \"localhost:08125\" has no valid port (1-65535)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: localhost:8125x\n",
				  "config.yaml:4: adapters[0].settings.host: \"localhost:8125x\" has no valid port (1-65535)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: \"::1:8125\"\n",
				  "config.yaml:4: adapters[0].settings.host: \"::1:8125\" is not a DogStatsD address (write an IPv6 address in brackets, e.g. [::1]:8125)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: \"[::1:8125\"\n",
				  "config.yaml:4: adapters[0].settings.host: \"[::1:8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: \"[::1]8125\"\n",
				  "config.yaml:4: adapters[0].settings.host: \"[::1]8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: \"[127.0.0.1]:8125\"\n",
				  "config.yaml:4: adapters[0].settings.host: \"[127.0.0.1]:8125\" is not a DogStatsD address (no IPv6 address in the brackets)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: \"[::1]:99999\"\n",
				  "config.yaml:4: adapters[0].settings.host: \"[::1]:99999\" has no valid port (1-65535)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: unix://dsd.socket\n",
				  "config.yaml:4: adapters[0].settings.host: \"unix://dsd.socket\" is not a DogStatsD address (unix:// needs an absolute path, e.g. unix:///var/run/datadog/dsd.socket)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host: 8125\n",
				  "config.yaml:4: adapters[0].settings.host: \"8125\" is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      host:\n",
				  "config.yaml:4: adapters[0].settings.host: expected a string, got null" },
				/* datadog flush_interval, namespace, histogram */
				{ "adapters:\n  - type: datadog\n    settings:\n      flush_interval: 99ms\n",
				  "config.yaml:4: adapters[0].settings.flush_interval: 99ms is out of range (100ms-1h)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      flush_interval: 61m\n",
				  "config.yaml:4: adapters[0].settings.flush_interval: 61m is out of range (100ms-1h)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      flush_interval: 10\n",
				  "config.yaml:4: adapters[0].settings.flush_interval: \"10\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      namespace: 1gespann\n",
				  "config.yaml:4: adapters[0].settings.namespace: \"1gespann\" is not a metric namespace (a letter, then letters, digits, '_' or '.')" },
				{ "adapters:\n  - type: datadog\n    settings:\n      namespace: gespann-net\n",
				  "config.yaml:4: adapters[0].settings.namespace: \"gespann-net\" is not a metric namespace (a letter, then letters, digits, '_' or '.')" },
				{ "adapters:\n  - type: datadog\n    settings:\n      namespace: \"\"\n",
				  "config.yaml:4: adapters[0].settings.namespace: \"\" is not a metric namespace (a letter, then letters, digits, '_' or '.')" },
				{ "adapters:\n  - type: datadog\n    settings:\n      namespace: a123456789012345678901234567890123456789012345678901234567890123\n",
				  "config.yaml:4: adapters[0].settings.namespace: \"a12345678901234567890123456789012345678901234567...\" is longer than 63 characters" },
				{ "adapters:\n  - type: datadog\n    settings:\n      histogram: timer\n",
				  "config.yaml:4: adapters[0].settings.histogram: \"timer\" is not a histogram type (distribution, histogram)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      histogram: [histogram]\n",
				  "config.yaml:4: adapters[0].settings.histogram: expected a string, got a list" },
				/* datadog tags */
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: env:prod\n",
				  "config.yaml:4: adapters[0].settings.tags: expected a list, got a string" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags:\n",
				  "config.yaml:4: adapters[0].settings.tags: expected a list, got null (write [] for an empty list)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags:\n        - env:prod\n        - \"bad tag\"\n", "config.yaml:6: adapters[0].settings.tags[1]: \"bad tag\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [\"a|b\"]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: \"a|b\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [\"a,b\"]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: \"a,b\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [\"env:#1\"]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: \"env:#1\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [\"env:a\\tb\"]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: \"env:a\\x09b\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [\":prod\"]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: \":prod\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [\"\"]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: \"\" is not a tag (key:value or key, without '|', ',', '#' or whitespace)" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [~]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: expected a string, got null" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [[a]]\n",
				  "config.yaml:4: adapters[0].settings.tags[0]: expected a string, got a list" },
				{ "adapters:\n  - type: datadog\n    settings:\n      tags: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q]\n",
				  "config.yaml:4: adapters[0].settings.tags: 17 tags, at most 16 are supported" },
				/* otlp endpoint, protocol, durations, compression */
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: localhost:4318\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"localhost:4318\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: grpc://localhost:4317\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"grpc://localhost:4317\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: HTTP://localhost:4318\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"HTTP://localhost:4318\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: http://\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"http://\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: http:///v1/metrics\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"http:///v1/metrics\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: \"http://otel /v1/metrics\"\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"http://otel /v1/metrics\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: 4318\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"4318\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      protocol: grpc\n      endpoint: http://localhost:4317/v1/metrics\n",
				  "config.yaml:5: adapters[0].settings.endpoint: a grpc endpoint has no path (\"/v1/metrics\"): the service is /opentelemetry.proto.collector.metrics.v1.MetricsService/Export" },
				{ "adapters:\n  - type: otlp\n    settings:\n      protocol: gRPC\n",
				  "config.yaml:4: adapters[0].settings.protocol: \"gRPC\" is not an OTLP protocol (http/protobuf, http/json, grpc)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      protocol: http\n",
				  "config.yaml:4: adapters[0].settings.protocol: \"http\" is not an OTLP protocol (http/protobuf, http/json, grpc)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      interval: 50ms\n",
				  "config.yaml:4: adapters[0].settings.interval: 50ms is out of range (100ms-1h)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      interval: 2h\n",
				  "config.yaml:4: adapters[0].settings.interval: 2h is out of range (100ms-1h)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      timeout: 6m\n",
				  "config.yaml:4: adapters[0].settings.timeout: 6m is out of range (100ms-5m)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      timeout: 99999us\n",
				  "config.yaml:4: adapters[0].settings.timeout: 99999us is out of range (100ms-5m)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      timeout: 5\n",
				  "config.yaml:4: adapters[0].settings.timeout: \"5\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      compression: zstd\n",
				  "config.yaml:4: adapters[0].settings.compression: \"zstd\" is not a compression (gzip, none)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      compression: true\n",
				  "config.yaml:4: adapters[0].settings.compression: expected a string, got a boolean (true)" },
				/* otlp headers */
				{ "adapters:\n  - type: otlp\n    settings:\n      headers: [a]\n",
				  "config.yaml:4: adapters[0].settings.headers: expected a mapping, got a list" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        bad name: x\n",
				  "config.yaml:5: adapters[0].settings.headers: \"bad name\" is not a header name (letters, digits and !#$%&'*+-.^_`|~, at most 255)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        \"x:y\": z\n",
				  "config.yaml:5: adapters[0].settings.headers: \"x:y\" is not a header name (letters, digits and !#$%&'*+-.^_`|~, at most 255)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        \"\": z\n", "config.yaml:5: adapters[0].settings.headers: \"\" is not a header name (letters, digits and !#$%&'*+-.^_`|~, at most 255)" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        [a]: z\n",
				  "config.yaml:5: adapters[0].settings.headers: a key must be a string, got a list" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        Authorization: a\n        authorization: b\n",
				  "config.yaml:6: adapters[0].settings.headers: duplicate header \"authorization\" (first on line 5)" },
				/* a URL's password is not echoed */
				{ "adapters:\n  - type: otlp\n    settings:\n      endpoint: ftp://u:s3cr3t@h/x\n",
				  "config.yaml:4: adapters[0].settings.endpoint: \"ftp://u:***@h/x\" is not an http:// or https:// URL" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        x-a: \"v\\nw\"\n",
				  "config.yaml:5: adapters[0].settings.headers.x-a: the value (not shown) contains a line break" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        x-a: \"v\\rw\"\n",
				  "config.yaml:5: adapters[0].settings.headers.x-a: the value (not shown) contains a line break" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        x-a: \"v\\x01\"\n",
				  "config.yaml:5: adapters[0].settings.headers.x-a: the value (not shown) contains a control character" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        x-a:\n",
				  "config.yaml:5: adapters[0].settings.headers.x-a: expected a string, got null" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers:\n        x-a: {b: c}\n",
				  "config.yaml:5: adapters[0].settings.headers.x-a: expected a string, got a mapping" },
				{ "adapters:\n  - type: otlp\n    settings:\n      headers: {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12, m: 13, n: 14, o: 15, p: 16, q: 17}\n",
				  "config.yaml:4: adapters[0].settings.headers: 17 headers, at most 16 are supported" },
				{ "adapters:\n  - type: prometheus\n    tpye: prometheus\n",
				  "config.yaml:3: adapters[0]: unknown key \"tpye\" (known: type, settings)" },
				{ "adapters:\n  - type: prometheus\n    type: prometheus\n",
				  "config.yaml:3: adapters[0]: duplicate key \"type\" (first on line 2)" },
				{ "adapters:\n  - type: prometheus\n  - type: prometheus\n    settings: [8080]\n",
				  "config.yaml:4: adapters[1].settings: expected a mapping, got a list" },
				{ "adapters:\n  - type: prometheus\n    settings:\n",
				  "config.yaml:3: adapters[0].settings: expected a mapping, got null" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      prot: 8080\n",
				  "config.yaml:4: adapters[0].settings: unknown key \"prot\" (known: port, "
				  "address, web_config_file)" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: 1\n      port: 2\n",
				  "config.yaml:5: adapters[0].settings: duplicate key \"port\" (first on line 4)" },
				/* port */
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: 0.0.0.0\n\n      port: 70000\n",
				  "config.yaml:6: adapters[0].settings.port: 70000 is not a port (1-65535)" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: -1\n",
				  "config.yaml:4: adapters[0].settings.port: -1 is not a port (1-65535)" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: 8080abc\n",
				  "config.yaml:4: adapters[0].settings.port: \"8080abc\" is not a decimal integer" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: 80.5\n",
				  "config.yaml:4: adapters[0].settings.port: \"80.5\" is not a decimal integer" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: \"70000\"\n",
				  "config.yaml:4: adapters[0].settings.port: 70000 is not a port (1-65535)" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: '-1'\n",
				  "config.yaml:4: adapters[0].settings.port: -1 is not a port (1-65535)" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: \"http\"\n",
				  "config.yaml:4: adapters[0].settings.port: \"http\" is not a decimal integer" },
				{ "ring_buffer_size: \"5000\"\n",
				  "config.yaml:1: ring_buffer_size: 5000 is not a power of two between 4096 and 1073741824" },
				{ "idle_timeout: \"45\"\n",
				  "config.yaml:1: idle_timeout: \"45\" is not a duration (write e.g. 30s, 5m, 500ms)" },
				{ "poll_interval: \"20s\"\n",
				  "config.yaml:1: poll_interval: 20s is out of range (1ms-10s)" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      port: null\n",
				  "config.yaml:4: adapters[0].settings.port: expected an integer, got null" },
				/* address */
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: localhost\n",
				  "config.yaml:4: adapters[0].settings.address: \"localhost\" is not an IPv4 or IPv6 address" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: 256.0.0.1\n",
				  "config.yaml:4: adapters[0].settings.address: \"256.0.0.1\" is not an IPv4 or IPv6 address" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: fe80::1%eth0\n",
				  "config.yaml:4: adapters[0].settings.address: \"fe80::1%eth0\" is not an IPv4 or IPv6 address" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: \"\"\n",
				  "config.yaml:4: adapters[0].settings.address: \"\" is not an IPv4 or IPv6 address" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: 1234:5678:9abc:def0:1234:5678:9abc:def0:1234:5678:9abc:def0:1234:5678\n",
				  "config.yaml:4: adapters[0].settings.address: \"1234:5678:9abc:def0:1234:5678:9abc:def0:1234:567...\" is longer than 63 characters" },
				{ "adapters:\n  - type: prometheus\n    settings:\n      address: false\n",
				  "config.yaml:4: adapters[0].settings.address: expected a string, got a boolean (false)" },
				/* one line, whatever the value holds */
				{ "log_level: \"in\\nfo\"\n",
				  "config.yaml:1: log_level: \"in\\x0afo\" is not a log level (error, warn, info, debug)" },
				{ "log_level: |\n  info\n",
				  "config.yaml:1: log_level: \"info\\x0a\" is not a log level (error, warn, info, debug)" },
			};
/* clang-format on */

/* attributes, networks, dns, processes */
static const struct bad_case bad_cases_issue5[] = {
	/* attributes */
	{ "attributes: 5\n", "config.yaml:1: attributes: expected a mapping, got an integer" },
	{ "attributes:\n  selekt: {}\n",
	  "config.yaml:2: attributes: unknown key \"selekt\" (known: select, max_series, client_address)" },
	{ "attributes:\n  max_series: 0\n",
	  "config.yaml:2: attributes.max_series: 0 is out of range (1-10000000)" },
	{ "attributes:\n  max_series: 10000001\n",
	  "config.yaml:2: attributes.max_series: 10000001 is out of range (1-10000000)" },
	{ "attributes:\n  select: [a]\n",
	  "config.yaml:2: attributes.select: expected a mapping, got a list" },
	{ "attributes:\n  select:\n    \"gespann_flow_*\":\n      include: []\n",
	  "config.yaml:4: attributes.select.gespann_flow_*.include: empty list (name at least one attribute, or \"*\" for all)" },
	{ "attributes:\n  select:\n    \"gespann_flow_*\": {}\n",
	  "config.yaml:3: attributes.select.gespann_flow_*: expected \"include\", \"exclude\" or both" },
	{ "attributes:\n  select:\n    x: {include: [a], exlude: [b]}\n",
	  "config.yaml:3: attributes.select.x: unknown key \"exlude\" (known: include, exclude)" },
	{ "attributes:\n  select:\n    x: {include: a}\n",
	  "config.yaml:3: attributes.select.x.include: expected a list, got a string" },
	{ "attributes:\n  select:\n    x: {exclude: [a, 9b]}\n",
	  "config.yaml:3: attributes.select.x.exclude[1]: \"9b\" is not an attribute name (letters, digits and '_', not starting with a digit; or \"*\")" },
	{ "attributes:\n  select:\n    x: {exclude: [a, a]}\n",
	  "config.yaml:3: attributes.select.x.exclude[1]: duplicate attribute \"a\"" },
	{ "attributes:\n  select:\n    x: {include: [abcdefghijabcdefghijabcdefghijabcdefghij]}\n",
	  "config.yaml:3: attributes.select.x.include[0]: \"abcdefghijabcdefghijabcdefghijabcdefghij\" is longer than 39 characters" },
	{ "attributes:\n  select:\n    x: {include: [a]}\n    y: {}\n    x: {include: [b]}\n",
	  "config.yaml:4: attributes.select.y: expected \"include\", \"exclude\" or both" },
	{ "attributes:\n  select:\n    x: {include: [a]}\n    x: {include: [b]}\n",
	  "config.yaml:4: attributes.select: duplicate pattern \"x\" (first on line 3)" },
	{ "attributes:\n  select:\n    \"\": {include: [a]}\n",
	  "config.yaml:3: attributes.select: empty pattern (write e.g. \"gespann_flow_*\")" },
	{ "attributes:\n  select:\n    x: [a]\n",
	  "config.yaml:3: attributes.select.x: expected a mapping, got a list" },
	{ "attributes:\n  select:\n    x: {include: [null]}\n",
	  "config.yaml:3: attributes.select.x.include[0]: expected a string, got null" },
	/* networks */
	{ "networks: {cidr: 10.0.0.0/8}\n",
	  "config.yaml:1: networks: expected a list, got a mapping" },
	{ "networks:\n  - 10.0.0.0/8\n",
	  "config.yaml:2: networks[0]: expected a mapping, got a string" },
	{ "networks:\n  - {cidr: 10.0.0.0/33}\n",
	  "config.yaml:2: networks[0].cidr: \"10.0.0.0/33\" is not a network (IPv4 prefix length 0-32)" },
	{ "networks:\n  - {cidr: \"fd00::/129\"}\n",
	  "config.yaml:2: networks[0].cidr: \"fd00::/129\" is not a network (IPv6 prefix length 0-128)" },
	{ "networks:\n  - {cidr: 10.0.0.0/08}\n",
	  "config.yaml:2: networks[0].cidr: \"10.0.0.0/08\" is not a network (write e.g. 10.0.0.0/8 or fd00::/8)" },
	{ "networks:\n  - {cidr: 10.0.0.0/}\n",
	  "config.yaml:2: networks[0].cidr: \"10.0.0.0/\" is not a network (write e.g. 10.0.0.0/8 or fd00::/8)" },
	{ "networks:\n  - {cidr: 10.0.0/8}\n",
	  "config.yaml:2: networks[0].cidr: \"10.0.0/8\" is not a network (write e.g. 10.0.0.0/8 or fd00::/8)" },
	{ "networks:\n  - {cidr: 10.0.0.0/-1}\n",
	  "config.yaml:2: networks[0].cidr: \"10.0.0.0/-1\" is not a network (write e.g. 10.0.0.0/8 or fd00::/8)" },
	{ "networks:\n  - {cidr: corp}\n",
	  "config.yaml:2: networks[0].cidr: \"corp\" is not a network (write e.g. 10.0.0.0/8 or fd00::/8)" },
	{ "networks:\n  - {zone: corp}\n",
	  "config.yaml:2: networks[0]: missing key \"cidr\" (e.g. cidr: 10.0.0.0/8)" },
	{ "networks:\n  - {cidr: 10.0.0.0/8, klass: internal}\n",
	  "config.yaml:2: networks[0]: unknown key \"klass\" (known: cidr, zone, class)" },
	{ "networks:\n  - {cidr: 10.0.0.0/8}\n  - {cidr: 10.1.0.0/8}\n",
	  "config.yaml:3: networks[1].cidr: duplicate network 10.0.0.0/8 (first on line 2)" },
	{ "networks:\n  - {cidr: 10.0.0.0/8, class: \"\"}\n",
	  "config.yaml:2: networks[0].class: \"\" is not a class name (letters, digits, '_', '-' and '.')" },
	{ "networks:\n  - {cidr: 10.0.0.0/8, zone: \"a b\"}\n",
	  "config.yaml:2: networks[0].zone: \"a b\" is not a zone name (letters, digits, '_', '-' and '.')" },
	{ "zone: \"eu west\"\n",
	  "config.yaml:1: zone: \"eu west\" is not a zone name (letters, digits, '_', '-' and '.')" },
	{ "zone: [a]\n", "config.yaml:1: zone: expected a string, got a list" },
	{ "zone: abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd\n",
	  "config.yaml:1: zone: \"abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh...\" is longer than 63 characters" },
	{ "networks:\n  - {cidr: 10.0.0.0/8, class: abcdefghijabcdefghijabcdefghijabc}\n",
	  "config.yaml:2: networks[0].class: \"abcdefghijabcdefghijabcdefghijabc\" is longer than 31 characters" },
	/* dns, processes */
	{ "dns: true\n", "config.yaml:1: dns: expected a mapping, got a boolean" },
	{ "dns:\n  enabled: 1\n",
	  "config.yaml:2: dns.enabled: expected true or false, got an integer (\"1\")" },
	{ "dns:\n  enabled: [true]\n",
	  "config.yaml:2: dns.enabled: expected true or false, got a list" },
	{ "dns:\n  events: json\n",
	  "config.yaml:2: dns.events: \"json\" is not a DNS event output (none, log)" },
	{ "dns:\n  max_names: 15\n",
	  "config.yaml:2: dns.max_names: 15 is out of range (16-16777216)" },
	{ "dns:\n  max_pending: 1048577\n",
	  "config.yaml:2: dns.max_pending: 1048577 is out of range (16-1048576)" },
	{ "dns:\n  timeout: 11m\n", "config.yaml:2: dns.timeout: 11m is out of range (1ms-10m)" },
	{ "dns:\n  timeout: 5\n",
	  "config.yaml:2: dns.timeout: \"5\" is not a duration (write e.g. 30s, 5m, 500ms)" },
	{ "dns:\n  getaddrinfo: libc.so.6\n",
	  "config.yaml:2: dns.getaddrinfo: \"libc.so.6\" is not auto, off or an absolute path to libc (e.g. /lib/x86_64-linux-gnu/libc.so.6)" },
	{ "dns:\n  cache: 5\n",
	  "config.yaml:2: dns: unknown key \"cache\" (known: enabled, events, max_names, max_pending, timeout, getaddrinfo, min_ttl)" },
	{ "processes:\n  max: 15\n",
	  "config.yaml:2: processes.max: 15 is out of range (16-16777216)" },
	{ "processes:\n  maximum: 15\n",
	  "config.yaml:2: processes: unknown key \"maximum\" (known: max)" },
};

/* The YAML of a case on one line, for failure messages. */
static const char *escaped(const char *text, size_t len, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n')
			o += (size_t)snprintf(buf + o, size - o, "\\n");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static void run_bad_case(size_t idx, const struct bad_case *c, size_t len)
{
	struct config cfg, before;
	char err[512] = "", text[256];
	int ret;

	memset(&cfg, 0x5a, sizeof(cfg));
	before = cfg;
	ret = config_parse(c->yaml, len, "config.yaml", &cfg, err, sizeof(err));
	escaped(c->yaml, len, text, sizeof(text));
	if (!c->err) {
		if (ret)
			fail_msg("bad_cases[%zu] \"%s\": expected 0, got %d: %s", idx, text, ret,
				 err);
		return;
	}
	if (ret != -EINVAL)
		fail_msg("bad_cases[%zu] \"%s\": expected %d, got %d (\"%s\")", idx, text, -EINVAL,
			 ret, err);
	if (strcmp(err, c->err))
		fail_msg("bad_cases[%zu] \"%s\":\n  expected: %s\n  actual:   %s", idx, text,
			 c->err, err);
	if (memcmp(&cfg, &before, sizeof(cfg)))
		fail_msg("bad_cases[%zu] \"%s\": the config was changed on error", idx, text);
}

static void test_bad_files(void **state)
{
	size_t i;

	for (i = 0; i < COUNT_OF(bad_cases); i++)
		run_bad_case(i, &bad_cases[i], strlen(bad_cases[i].yaml));
	/* numbered from 500 in messages */
	for (i = 0; i < COUNT_OF(bad_cases_issue5); i++)
		run_bad_case(500 + i, &bad_cases_issue5[i], strlen(bad_cases_issue5[i].yaml));
}

/* Cases that need a length or a size the table cannot spell out. */
static void test_bad_files_built(void **state)
{
	static const char nul_in_text[] = "log_level: info\nsc\0pe: host\n";
	const struct bad_case nul = {
		nul_in_text,
		"config.yaml:2: YAML syntax error: control characters are not allowed (#x0)"
	};
	char yaml[512], want[512], err[512];
	struct bad_case too_long = { yaml, want };
	struct config cfg;
	int ret;

	run_bad_case(1000, &nul, sizeof(nul_in_text) - 1);

	/* scope_path holds 255 characters and a NUL: 255 fit, 256 do not */
	memcpy(yaml, "scope: /", 8);
	memset(yaml + 8, 'a', 254);
	yaml[8 + 254] = '\n';
	ret = config_parse(yaml, 8 + 254 + 1, "config.yaml", &cfg, err, sizeof(err));
	if (ret)
		fail_msg("scope of 255 characters: expected 0, got %d: %s", ret, err);
	CHECK_U64("scope of 255 characters", "scope", SCOPE_PATH, cfg.scope);
	CHECK_U64("scope of 255 characters", "strlen(scope_path)", 255, strlen(cfg.scope_path));
	assert_memory_equal(cfg.scope_path, yaml + 7, 255);

	yaml[8 + 254] = 'a';
	yaml[8 + 255] = '\n';
	/* the message quotes the first 48 characters only */
	snprintf(want, sizeof(want),
		 "config.yaml:1: scope: \"/%.47s...\" is longer than 255 characters", yaml + 8);
	run_bad_case(1001, &too_long, 8 + 255 + 1);
}

/*
 * "HEAD" LEAD + n x FILL "TAIL": a setting value of a chosen length. Returns
 * the text length; *value points at the value inside yaml.
 */
static size_t build_long(char *yaml, size_t size, const char *head, const char *lead, char fill,
			 size_t n, const char *tail, const char **value)
{
	size_t o = (size_t)snprintf(yaml, size, "%s%s", head, lead);

	assert_true(o + n + strlen(tail) < size);
	*value = yaml + strlen(head);
	memset(yaml + o, fill, n);
	o += n;
	o += (size_t)snprintf(yaml + o, size - o, "%s", tail);
	return o;
}

/* Lengths at the limits of the datadog and otlp string settings. */
static void test_push_settings_lengths(void **state)
{
	static const struct {
		const char *head, *lead;
		char fill;
		size_t ok_n; /* this many fill characters parse */
		const char *tail;
		const char *why; /* one more: "VALUE " why */
		const char *path;
		unsigned line;
	} cases[] = {
		{ "adapters:\n- type: datadog\n  settings:\n    host: ", "", 'a', 252, ":80\n",
		  "is longer than 255 characters", "adapters[0].settings.host", 4 },
		{ "adapters:\n- type: datadog\n  settings:\n    host: ", "unix:///", 'a', 106, "\n",
		  "has a socket path longer than 107 characters", "adapters[0].settings.host", 4 },
		{ "adapters:\n- type: datadog\n  settings:\n    tags: [x, ", "k:", 'v', 125, "]\n",
		  "is longer than 127 characters", "adapters[0].settings.tags[1]", 4 },
		{ "adapters:\n- type: otlp\n  settings:\n    endpoint: ", "http://", 'a', 504, "\n",
		  "is longer than 511 characters", "adapters[0].settings.endpoint", 4 },
		{ "adapters:\n- type: otlp\n  settings:\n    headers: {x-v: ", "", 'v', 255, "}\n",
		  "is longer than 255 characters", "adapters[0].settings.headers.x-v", 4 },
	};
	char yaml[1024], want[512], err[512];
	struct config cfg;
	const char *value;
	size_t i, len;
	int ret;

	for (i = 0; i < COUNT_OF(cases); i++) {
		len = build_long(yaml, sizeof(yaml), cases[i].head, cases[i].lead, cases[i].fill,
				 cases[i].ok_n, cases[i].tail, &value);
		ret = config_parse(yaml, len, "config.yaml", &cfg, err, sizeof(err));
		if (ret)
			fail_msg("length case %zu at the limit: expected 0, got %d: %s", i, ret,
				 err);
		len = build_long(yaml, sizeof(yaml), cases[i].head, cases[i].lead, cases[i].fill,
				 cases[i].ok_n + 1, cases[i].tail, &value);
		/* the message quotes the first 48 characters only; a header value
		 * (a secret, maybe) none */
		if (strstr(cases[i].path, ".headers."))
			snprintf(want, sizeof(want), "config.yaml:%u: %s: the value (not shown) %s",
				 cases[i].line, cases[i].path, cases[i].why);
		else
			snprintf(want, sizeof(want), "config.yaml:%u: %s: \"%.48s...\" %s",
				 cases[i].line, cases[i].path, value, cases[i].why);
		run_bad_case(1100 + i, &(struct bad_case){ yaml, want }, len);
	}

	/* a header name of 256 characters is refused as a name */
	len = build_long(yaml, sizeof(yaml), "adapters:\n- type: otlp\n  settings:\n    headers: {",
			 "", 'h', 256, ": v}\n", &value);
	snprintf(want, sizeof(want),
		 "config.yaml:4: adapters[0].settings.headers: \"%.48s...\" is not a header name "
		 "(letters, digits and !#$%%&'*+-.^_`|~, at most 255)",
		 value);
	run_bad_case(1200, &(struct bad_case){ yaml, want }, len);
}

/* The file name given is the one in the message, and a short buffer is cut, not overrun. */
static void test_error_buffer(void **state)
{
	static const char yaml[] = "scope: nowhere\n";
	struct config cfg;
	char err[16];
	int ret;

	memset(err, 'x', sizeof(err));
	ret = config_parse(yaml, strlen(yaml), "/etc/gespann.yaml", &cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	CHECK_STR("short buffer", "err", "/etc/gespann.ya", err);

	ret = config_parse(yaml, strlen(yaml), "config.yaml", &cfg, NULL, 0);
	assert_int_equal(ret, -EINVAL);
	ret = config_parse(yaml, strlen(yaml), "a\nb", &cfg, err, 1);
	assert_int_equal(ret, -EINVAL);
	CHECK_STR("one-byte buffer", "err", "", err);
	ret = config_parse(NULL, 0, "config.yaml", &cfg, err, sizeof(err));
	assert_int_equal(ret, 0);
	ret = config_parse(yaml, strlen(yaml), "config.yaml", NULL, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
}

static void test_error_name_one_line(void **state)
{
	static const char yaml[] = "scope: nowhere\n";
	struct config cfg;
	char err[512];
	int ret;

	ret = config_parse(yaml, strlen(yaml), "odd\nname.yaml", &cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	CHECK_STR(
		"newline in name", "err",
		"odd name.yaml:1: scope: \"nowhere\" is not a scope (host, netns, or a path such as /var/run/netns/NAME)",
		err);
}

/* ==== Durations ==== */

static void test_duration_table(void **state)
{
	static const struct {
		const char *text;
		int ret;
		uint64_t ns;
	} cases[] = {
		{ "1ns", 0, 1 },
		{ "100ns", 0, 100 },
		{ "250us", 0, 250000 },
		{ "1ms", 0, 1000000 },
		{ "500ms", 0, 500000000 },
		{ "30s", 0, 30000000000ULL },
		{ "5m", 0, 300000000000ULL },
		{ "1h", 0, 3600000000000ULL },
		{ "0s", 0, 0 },
		{ "007s", 0, 7000000000ULL },
		{ "18446744073709551615ns", 0, UINT64_MAX },
		{ "5124095h", 0, 5124095ULL * 3600 * 1000000000ULL },
		{ "18446744073709551616ns", -EINVAL, 0 },
		{ "5124096h", -EINVAL, 0 },
		{ "30", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ " 30s", -EINVAL, 0 },
		{ "30s ", -EINVAL, 0 },
		{ "30 s", -EINVAL, 0 },
		{ "+30s", -EINVAL, 0 },
		{ "-30s", -EINVAL, 0 },
		{ "1.5s", -EINVAL, 0 },
		{ "1e3ms", -EINVAL, 0 },
		{ "0x10s", -EINVAL, 0 },
		{ "30S", -EINVAL, 0 },
		{ "30sec", -EINVAL, 0 },
		{ "1d", -EINVAL, 0 },
		{ "5µs", -EINVAL, 0 },
		{ "1m30s", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < COUNT_OF(cases); i++) {
		uint64_t ns = 0xdeadbeef;
		int ret = config_parse_duration(cases[i].text, &ns);

		if (ret != cases[i].ret)
			fail_msg("duration \"%s\": expected return %d, got %d", cases[i].text,
				 cases[i].ret, ret);
		if (!ret && ns != cases[i].ns)
			fail_msg("duration \"%s\": expected %llu ns, got %llu", cases[i].text,
				 (unsigned long long)cases[i].ns, (unsigned long long)ns);
		if (ret && ns != 0xdeadbeef)
			fail_msg("duration \"%s\": output written on error", cases[i].text);
	}
	assert_int_equal(config_parse_duration(NULL, &(uint64_t){ 0 }), -EINVAL);
	assert_int_equal(config_parse_duration("1s", NULL), -EINVAL);
}

/* ==== Files ==== */

static char tmpdir[64];

static int files_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gespann-test-config-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static void remove_file(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static int files_teardown(void **state)
{
	remove_file("good.yaml");
	remove_file("bad.yaml");
	remove_file("big.yaml");
	remove_file("limit.yaml");
	return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_load_file_good(void **state)
{
	static const char yaml[] = "log_level: debug\nadapters: []\n";
	struct config exp, act;
	char path[128], err[512];
	int ret;

	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	write_file(path, yaml, strlen(yaml));
	ret = config_load_file(path, &act, err, sizeof(err));
	if (ret)
		fail_msg("load %s: expected 0, got %d: %s", path, ret, err);
	config_set_defaults(&exp);
	exp.log_level = LOG_LEVEL_DEBUG;
	exp.n_adapters = 0;
	check_config_eq(path, &exp, &act);
}

static void test_load_file_bad(void **state)
{
	static const char yaml[] = "log_level: debug\n\nscope: elsewhere\n";
	char path[128], want[256], err[512];
	struct config cfg;
	int ret;

	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	write_file(path, yaml, strlen(yaml));
	ret = config_load_file(path, &cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	snprintf(
		want, sizeof(want),
		"%s:3: scope: \"elsewhere\" is not a scope (host, netns, or a path such as /var/run/netns/NAME)",
		path);
	CHECK_STR("bad file", "err", want, err);
}

static void test_load_file_missing(void **state)
{
	char path[128], want[256], err[512];
	struct config cfg;
	int ret;

	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	ret = config_load_file(path, &cfg, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	CHECK_STR("missing file", "err", want, err);

	ret = config_load_file(tmpdir, &cfg, err, sizeof(err));
	assert_int_equal(ret, -EISDIR);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", tmpdir);
	CHECK_STR("directory", "err", want, err);
}

/*
 * A config is a regular file: a device reads as nothing (the defaults, a
 * surprise) and a FIFO may never end, so both are refused by name; opening
 * the FIFO must not wait for a writer. A symlink to a file is a file.
 */
static void test_load_file_not_regular(void **state)
{
	static const char yaml[] = "log_level: debug\n";
	char path[128], link[128], want[256], err[512];
	struct config cfg;
	int ret;

	ret = config_load_file("/dev/null", &cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	CHECK_STR("/dev/null", "err", "/dev/null: cannot read: not a regular file", err);

	snprintf(path, sizeof(path), "%s/fifo.yaml", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	ret = config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	assert_int_equal(ret, -EINVAL);
	snprintf(want, sizeof(want), "%s: cannot read: not a regular file", path);
	CHECK_STR("fifo", "err", want, err);

	snprintf(path, sizeof(path), "%s/target.yaml", tmpdir);
	snprintf(link, sizeof(link), "%s/link.yaml", tmpdir);
	write_file(path, yaml, strlen(yaml));
	assert_int_equal(symlink(path, link), 0);
	ret = config_load_file(link, &cfg, err, sizeof(err));
	unlink(link);
	unlink(path);
	if (ret)
		fail_msg("symlink to a file: expected 0, got %d: %s", ret, err);
	CHECK_U64("symlink", "log_level", LOG_LEVEL_DEBUG, cfg.log_level);
}

/*
 * The seed's example config, verbatim from disk (tests/fixtures/, read from
 * the top of the tree as make unit runs it): quoted port, quoted DogStatsD
 * address, a flush interval and an OTLP endpoint, comments as a user writes
 * them. It must load as written, to these values.
 */
static void test_seed_fixture(void **state)
{
	static const char path[] = "tests/fixtures/seed-config.yaml";
	struct config exp, act;
	struct adapter_config *ad;
	char err[512] = "";
	int ret;

	ret = config_load_file(path, &act, err, sizeof(err));
	if (ret)
		fail_msg("%s: expected 0, got %d: %s (run from the top of the tree)", path, ret,
			 err);
	config_set_defaults(&exp);
	exp.log_level = LOG_LEVEL_INFO;
	exp.scope = SCOPE_HOST;
	exp.idle_timeout_ns = 30 * NS_PER_SEC;
	exp.n_adapters = 3;
	set_adapter(&exp, 0, "0.0.0.0", 8080);
	ad = set_datadog(&exp, 1);
	snprintf(ad->host, sizeof(ad->host), "localhost:8125");
	ad->flush_interval_ns = 10 * NS_PER_SEC;
	ad = set_otlp(&exp, 2);
	snprintf(ad->endpoint, sizeof(ad->endpoint), "http://localhost:4318/v1/metrics");
	check_config_eq(path, &exp, &act);
}

static void test_load_file_size(void **state)
{
	const size_t limit = 1024 * 1024;
	char path[128], want[256], err[512];
	struct config cfg;
	char *data;
	int ret;

	/* exactly 1 MiB: a comment padded out, then a key; accepted */
	data = malloc(limit + 2);
	assert_non_null(data);
	memset(data, ' ', limit + 2);
	data[0] = '#';
	memcpy(data + limit - 17, "\nlog_level: warn\n", 17);
	snprintf(path, sizeof(path), "%s/limit.yaml", tmpdir);
	write_file(path, data, limit);
	ret = config_load_file(path, &cfg, err, sizeof(err));
	if (ret)
		fail_msg("1 MiB file: expected 0, got %d: %s", ret, err);
	CHECK_U64("1 MiB file", "log_level", LOG_LEVEL_WARN, cfg.log_level);

	/* one byte more: refused, naming the size */
	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	write_file(path, data, limit + 1);
	free(data);
	ret = config_load_file(path, &cfg, err, sizeof(err));
	assert_int_equal(ret, -EFBIG);
	snprintf(want, sizeof(want), "%s: file is too large (1048577 bytes, the limit is 1048576)",
		 path);
	CHECK_STR("big file", "err", want, err);
}

/* ==== Robustness ==== */

/* Inputs that have broken YAML loaders: each must give 0 or one clean error line. */
static void check_survives(const char *what, const char *text, size_t len)
{
	struct config cfg;
	char err[512];
	int ret;

	memset(err, 'x', sizeof(err));
	ret = config_parse(text, len, "config.yaml", &cfg, err, sizeof(err));
	if (ret != 0 && ret != -EINVAL)
		fail_msg("%s: expected 0 or %d, got %d", what, -EINVAL, ret);
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fail_msg("%s: error not terminated", what);
	if (strchr(err, '\n') || strchr(err, '\r'))
		fail_msg("%s: error spans lines: %s", what, err);
	if (ret && strncmp(err, "config.yaml:", 12))
		fail_msg("%s: error does not start with the name and line: %s", what, err);
	if (!ret && err[0])
		fail_msg("%s: success with an error text: %s", what, err);
}

static void test_hostile_inputs(void **state)
{
	static const char *const texts[] = {
		"&a [*a, *a]\n",
		"x: &a {y: *a}\n",
		"adapters: &a [{type: prometheus, settings: *a}]\n",
		"a: &a [\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\n",
		"adapters: [&a {type: prometheus, settings: {port: 1}}, *a, *a, *a, *a, *a, *a, *a]\n",
		"? ? ? a\n",
		"{[{a: b}]: c}\n",
		"!<tag:yaml.org,2002:str> x\n",
		"!!null\n",
		"!!map\n",
		"scope: !!null host\n",
		"scope: !!bool host\n",
		"scope: !!float host\n",
		"port: !!int x\n",
		"adapters: [{type: prometheus, settings: {port: !!float 8080}}]\n",
		"adapters: [{type: prometheus, settings: {port: !!int 8080}}]\n",
		"\xff\xfel\0o\0g\0", /* UTF-16LE byte order mark */
		"\xfe\xff\0l\0o",
		"'unterminated\n",
		"\"\\x\"\n",
		"- - - - - - - - - - - -\n",
		"...\n...\n",
		"--- |\n  text\n",
		"%TAG ! tag:example.com,2000:\n--- !foo {}\n",
		"log_level: info\n\xef\xbb\xbf",
		":\n",
		"-\n",
		"?\n",
		"&a\n",
		"*a\n",
	};
	char deep[20000];
	size_t i;

	for (i = 0; i < COUNT_OF(texts); i++) {
		char what[32];

		snprintf(what, sizeof(what), "hostile[%zu]", i);
		check_survives(what, texts[i], strlen(texts[i]));
	}
	memset(deep, '[', sizeof(deep));
	check_survives("deep flow nesting", deep, sizeof(deep));
	/* "- - - ...": a list in a list in a list, all on one line */
	for (i = 0; i + 2 <= sizeof(deep); i += 2)
		memcpy(deep + i, "- ", 2);
	check_survives("deep block nesting", deep, sizeof(deep));
	memset(deep, 'a', sizeof(deep));
	memcpy(deep, "scope: ", 7);
	check_survives("long scalar", deep, sizeof(deep));
}

/*
 * Random edits of a real file (fixed seed, so a failure repeats): bytes
 * replaced by YAML punctuation, deleted, duplicated, or the text cut short.
 */
static void mutate_and_parse(const char *base, size_t base_len, unsigned int seed)
{
	static const char alphabet[] = ":-[]{}&*!|>'\"#%@` \n\t,?0a\\";
	char text[2048];
	int iter, edits;

	assert_true(base_len * 2 <= sizeof(text));
	for (iter = 0; iter < 5000; iter++) {
		size_t len = base_len;
		char what[32];

		memcpy(text, base, len);
		for (edits = 1 + rand_r(&seed) % 4; edits > 0; edits--) {
			size_t at = (size_t)rand_r(&seed) % len;

			switch (rand_r(&seed) % 5) {
			case 0:
			case 1:
				text[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
				break;
			case 2:
				memmove(text + at, text + at + 1, len - at - 1);
				len--;
				break;
			case 3:
				if (len + 1 < sizeof(text)) {
					memmove(text + at + 1, text + at, len - at);
					len++;
				}
				break;
			default:
				text[at] = (char)(rand_r(&seed) & 0xff);
				break;
			}
			if (len < 2)
				break;
		}
		if (rand_r(&seed) % 8 == 0)
			len = (size_t)rand_r(&seed) % len;
		snprintf(what, sizeof(what), "mutation %d", iter);
		check_survives(what, text, len);
	}
}

static void test_mutations(void **state)
{
	static const char base[] = "log_level: info\n"
				   "scope: /var/run/netns/blue\n"
				   "idle_timeout: 30s\n"
				   "max_connections: 65536\n"
				   "max_udp_flows: 16384\n"
				   "ring_buffer_size: 1048576\n"
				   "poll_interval: 100ms\n"
				   "adapters:\n"
				   "  - &p type: prometheus\n"
				   "    settings:\n"
				   "      port: 8080\n"
				   "      address: \"::1\"\n"
				   "  - {type: prometheus, settings: {port: 9100}}\n";
	static const char push[] = "adapters:\n"
				   "  - type: datadog\n"
				   "    settings:\n"
				   "      host: \"[::1]:8125\"\n"
				   "      flush_interval: 10s\n"
				   "      namespace: gespann.net\n"
				   "      tags: [env:prod, \"team:sre\", canary]\n"
				   "      histogram: histogram\n"
				   "  - type: otlp\n"
				   "    settings:\n"
				   "      endpoint: https://otel:4318/v1/metrics\n"
				   "      protocol: http/json\n"
				   "      headers: {Authorization: \"Bearer x\", X-A: b}\n"
				   "      interval: 10s\n"
				   "      timeout: 5s\n"
				   "      compression: gzip\n";
	static const char issue5[] =
		"attributes:\n"
		"  select:\n"
		"    \"gespann_flow_*\": {include: [src_process, \"*\"]}\n"
		"    gespann_dns_*:\n"
		"      exclude: [server]\n"
		"  max_series: 100\n"
		"networks:\n"
		"  - {cidr: 10.0.0.0/8, zone: corp, class: internal}\n"
		"  - cidr: \"fd00::/8\"\n"
		"dns: {enabled: true, events: log, timeout: 5s, getaddrinfo: off}\n"
		"processes: {max: 1024}\n";

	mutate_and_parse(base, sizeof(base) - 1, 20261123);
	mutate_and_parse(push, sizeof(push) - 1, 20261124);
	mutate_and_parse(issue5, sizeof(issue5) - 1, 20261125);
}

int main(void)
{
	const struct CMUnitTest parse_tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_yaml),
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_files_built),
		cmocka_unit_test(test_push_settings_lengths),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_error_name_one_line),
		cmocka_unit_test(test_duration_table),
		cmocka_unit_test(test_hostile_inputs),
		cmocka_unit_test(test_mutations),
	};
	const struct CMUnitTest file_tests[] = {
		cmocka_unit_test(test_load_file_good),
		cmocka_unit_test(test_load_file_bad),
		cmocka_unit_test(test_load_file_missing),
		cmocka_unit_test(test_load_file_size),
		cmocka_unit_test(test_seed_fixture),
		cmocka_unit_test(test_load_file_not_regular),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("config", parse_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("config files", file_tests, files_setup,
					      files_teardown);
	return failed ? 1 : 0;
}
