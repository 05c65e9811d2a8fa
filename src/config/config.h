/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the YAML file the README documents, or the embedded default.
 * Parsing is strict: an unknown key, a wrong type or a bad value is an error
 * that names the key and the line.
 *
 * Defaults, bounds and YAML names are not repeated here: each field's is in
 * its row, in src/config/config.c (top level, attributes, networks, dns,
 * processes) or, for an adapter's settings, in src/exporters/<type>_settings.c.
 */
#ifndef GESPANN_CONFIG_H
#define GESPANN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

#define CONFIG_MAX_ADAPTERS 8

enum adapter_type {
	ADAPTER_PROMETHEUS = 1,
	ADAPTER_DATADOG = 2,
	ADAPTER_OTLP = 3,
	ADAPTER_REMOTE_WRITE = 4,
};

#define CONFIG_MAX_TAGS	      16
#define CONFIG_MAX_HEADERS    16
#define CONFIG_MAX_EXT_LABELS 16

enum datadog_histogram {
	DATADOG_HIST_DISTRIBUTION = 0, /* |d */
	DATADOG_HIST_HISTOGRAM = 1,    /* |h */
};

enum otlp_protocol {
	OTLP_HTTP_PROTOBUF = 0,
	OTLP_HTTP_JSON = 1,
	OTLP_GRPC = 2, /* protobuf in gRPC frames over HTTP/2 (exporters/grpc.h) */
};

struct adapter_config {
	enum adapter_type type;
	/* prometheus */
	char address[64]; /* listen address */
	uint16_t port;
	char web_config_file[256]; /* exporter-toolkit web-config.yml; "": plain HTTP */
	uint64_t web_config_stamp; /* its webconfig_stamp() at load: a reload sees edits */
	/* datadog (DogStatsD) */
	char host[256]; /* HOST:PORT, [IPV6]:PORT or unix:///path/dsd.socket */
	uint64_t flush_interval_ns;
	char metric_namespace[64];	 /* YAML key: namespace */
	char tags[CONFIG_MAX_TAGS][128]; /* global tags "key:value" (YAML: tags: [..]) */
	size_t n_tags;
	enum datadog_histogram histogram; /* YAML: histogram: distribution | histogram */
	/* otlp (endpoint, interval and timeout: remote_write too) */
	char endpoint[512];	     /* http:// or https:// URL */
	enum otlp_protocol protocol; /* YAML: protocol: http/protobuf | http/json | grpc */
	char headers[CONFIG_MAX_HEADERS][2][256]; /* YAML: headers: {name: value} */
	size_t n_headers;
	uint64_t interval_ns;
	uint64_t timeout_ns;
	int gzip;	      /* YAML: compression: gzip | none */
	int logs;	      /* events as OTLP logs (exporters/otlp_logs.h) */
	uint32_t logs_rate;   /* log records a second, at most */
	uint32_t logs_queue;  /* log records waiting, at most */
	uint32_t logs_sample; /* one event of every logs_sample of each kind */
	/* remote_write */
	uint32_t queue;	      /* snapshots waiting, the one being sent included */
	uint64_t queue_bytes; /* their compressed bytes */
	char ext_labels[CONFIG_MAX_EXT_LABELS][2][256]; /* YAML: external_labels: {name: value} */
	size_t n_ext_labels;
	char username[256]; /* basic auth */
	char password[256];
	char password_file[256];
	char bearer_token[2048];
	char bearer_token_file[256];
	char ca_file[256]; /* PEM bundle for https:// (""): the system's */
};

/*
 * attributes.select: one entry per glob pattern over family names, in file
 * order. has_include is 1 when the entry has an include list (never empty);
 * "*" in include means every attribute of the family.
 */
#define CONFIG_MAX_SELECT 32
#define CONFIG_MAX_ATTRS  24
struct config_select {
	char where[160]; /* "FILE:LINE" of the pattern, for later errors ("" when made in code) */
	char pattern[128];
	char include[CONFIG_MAX_ATTRS][40];
	size_t n_include;
	int has_include;
	char exclude[CONFIG_MAX_ATTRS][40];
	size_t n_exclude;
};

/*
 * networks: a CIDR with its zone and class. family is AF_INET (addr[0..3]) or
 * AF_INET6; host bits are cleared; v4-mapped IPv6 networks (::ffff:a.b.c.d/96+)
 * are stored as IPv4. An empty class_name means "the built-in class of the
 * address" (localhost, internal or external); zone "" means none.
 */
#define CONFIG_MAX_NETWORKS 256
struct config_network {
	uint16_t family;
	uint8_t prefix;
	uint8_t addr[16];
	char zone[64];
	char class_name[32];
};

enum dns_events {
	DNS_EVENTS_NONE = 0,
	DNS_EVENTS_LOG = 1, /* one JSON line per answered or timed-out query */
};

enum scope_kind {
	SCOPE_HOST = 0,	 /* every network namespace */
	SCOPE_NETNS = 1, /* the namespace the agent runs in */
	SCOPE_PATH = 2,	 /* the namespace behind scope_path */
};

struct config {
	enum log_level log_level;
	enum scope_kind scope;
	char scope_path[256]; /* for SCOPE_PATH */
	uint64_t idle_timeout_ns;
	uint32_t max_connections;  /* size of the kernel connection map */
	uint32_t max_udp_flows;	   /* size of the kernel UDP flow map */
	uint32_t ringbuf_bytes;	   /* ring buffer size, a power of 2 (YAML: ring_buffer_size) */
	uint64_t poll_interval_ns; /* ring buffer drain / map refresh period */
	size_t n_adapters;
	struct adapter_config adapters[CONFIG_MAX_ADAPTERS];
	/* attributes: */
	struct config_select select[CONFIG_MAX_SELECT];
	size_t n_select;
	uint64_t max_series; /* samples per metric family */
	int client_address;  /* role="server" flows: dst_address is the client's */
	/* networks: */
	struct config_network networks[CONFIG_MAX_NETWORKS];
	size_t n_networks;
	char zone
		[64]; /* this host's zone: src_zone of local addresses no network zones ("": none) */
	/* dns: */
	int dns_enabled;
	enum dns_events dns_events;
	uint32_t dns_max_names;	  /* host name cache entries */
	uint64_t dns_min_ttl_ns;  /* a name lasts at least this long */
	uint32_t dns_max_pending; /* queries waiting for an answer */
	uint64_t dns_timeout_ns;  /* unanswered -> rcode "timeout" */
	char getaddrinfo[256];	  /* "auto", "off" or an absolute libc path */
	/* processes: */
	uint32_t max_processes; /* process cache entries */
	int seccomp;		/* the allow-list of util/sandbox.h after start */
};

/*
 * The embedded default configuration as YAML, generated from the rows with
 * their descriptions as comments (`gespann -help` prints it; it is parsed
 * when no -config is given). A static string, built on the first call.
 */
const char *config_default_text(void);

/* Fill *cfg with every row's default (what config_default_text() parses to). */
void config_set_defaults(struct config *cfg);

/* An adapter of this type with every setting at its default (the rows in
 * src/exporters/<type>_settings.c). Returns 0 or -EINVAL for an unknown type. */
int config_adapter_defaults(struct adapter_config *ad, enum adapter_type type);

/*
 * Parse YAML text into *cfg (defaults first, then the text's keys).
 * On error returns -EINVAL (-ENOMEM if libyaml runs out of memory), leaves
 * *cfg untouched and writes one line, without newline, into err
 * (e.g. "config.yaml:7: adapters[0].settings.port: 70000 is not a port (1-65535)").
 * `name` is used as the file name in messages.
 */
int config_parse(const char *text, size_t len, const char *name, struct config *cfg, char *err,
		 size_t errlen);

/*
 * Read and parse a file. Same contract; a read failure names the file and
 * returns -errno; a file over 1 MiB is refused with -EFBIG.
 */
int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen);

/*
 * What changed between two configs, for a reload (SIGHUP): the keys whose
 * values differ, as paths ("log_level", "dns.timeout", "adapters": a list
 * or a map is one key), in table order, joined with ", "; restart lists
 * those of them that cannot change at run time (the row's reload flag).
 */
#define CONFIG_DIFF_TEXT 512
struct config_diff {
	size_t n_changed, n_restart;
	char changed[CONFIG_DIFF_TEXT];
	char restart[CONFIG_DIFF_TEXT];
};

/* Compare old and new through the rows into *d (cleared first). */
void config_diff(const struct config *old, const struct config *new_cfg, struct config_diff *d);

/* Whether key (a path as config_diff() writes it) changed. */
int config_diff_has(const struct config_diff *d, const char *key);

/* Parse "30s", "5m", "500ms", "1h", "250us", "100ns" (integer + unit, unit required).
 * Returns 0 or -EINVAL. */
int config_parse_duration(const char *s, uint64_t *out_ns);

#endif
