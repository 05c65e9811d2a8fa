// SPDX-License-Identifier: MIT
/*
 * The metric catalogue (catalogue.h): every family's row. Names, help texts
 * and units are what the agent has always exported; the DogStatsD names are
 * README's table ("DataDog (DogStatsD)"). Units are UCUM as OpenTelemetry
 * wants them: By for bytes, s, ms, us, {connection} for counts of
 * connections, 1 for plain counts.
 */
#include <errno.h>
#include <string.h>

#include "abi/gespann_abi.h"
#include "metrics/catalogue.h"

#define B(x) (1ULL << (x))

static const char *const lbl_none[] = { NULL };
static const char *const lbl_direction_protocol[] = { "direction", "protocol", NULL };
static const char *const lbl_protocol[] = { "protocol", NULL };
static const char *const lbl_direction[] = { "direction", NULL };
static const char *const lbl_events[] = { "type", "protocol", "reset_reason", NULL };
static const char *const lbl_errno[] = { "errno", NULL };
static const char *const lbl_version[] = { "version", NULL };
static const char *const lbl_map[] = { "map", NULL };
static const char *const lbl_feature[] = { "feature", NULL };
static const char *const lbl_program[] = { "program", NULL };
static const char *const lbl_adapter[] = { "adapter", NULL };
static const char *const lbl_record[] = { "record", NULL };
static const char *const lbl_family[] = { "family", NULL };
static const char *const lbl_reason[] = { "reason", NULL };
static const char *const lbl_pass[] = { "pass", NULL };
static const char *const lbl_transition[] = { "transition", NULL };
static const char *const lbl_event[] = { "event", NULL };

/* Flow families: each a subset of the flow label universe (flows_int.h),
 * in its order; the source's extra labels (pid, exe, container, unit,
 * cgroup, address) are off by default, src_service (container, systemd
 * service or process name: proc_service()) is on. src_zone, the zone of the
 * local address (networks:, else the host's zone:), is on wherever dst_zone
 * is: it adds one value per host in most setups. */
static const char *const lbl_flow_bytes[] = {
	"direction", "protocol",      "role",	   "src_process", "src_service", "src_pid",
	"src_exe",   "src_container", "src_unit",  "src_cgroup",  "src_address", "dst_address",
	"dst_port",  "dst_name",      "dst_class", "src_zone",	  "dst_zone",	 NULL,
};
static const char *const lbl_flow_conns[] = {
	"protocol",	 "role",      "src_process", "src_service", "src_pid",	   "src_exe",
	"src_container", "src_unit",  "src_cgroup",  "src_address", "dst_address", "dst_port",
	"dst_name",	 "dst_class", "src_zone",    "dst_zone",    "outcome",	   NULL,
};
static const char *const lbl_flow_tcp[] = {
	"role",	     "src_process", "src_service", "src_pid",	  "src_exe",  "src_container",
	"src_unit",  "src_cgroup",  "src_address", "dst_address", "dst_port", "dst_name",
	"dst_class", "src_zone",    "dst_zone",	   NULL,
};
static const char *const lbl_flow_open[] = {
	"role",	     "src_process", "src_service", "src_pid",	  "src_exe",  "src_container",
	"src_unit",  "src_cgroup",  "src_address", "dst_address", "dst_port", "dst_name",
	"dst_class", "src_zone",    "dst_zone",	   "state",	  NULL,
};
/* Payload bytes between a local and a peer zone (Beyla's
 * beyla_network_inter_zone_bytes_total): the same universe labels. */
static const char *const lbl_zone_bytes[] = { "src_zone", "dst_zone", "direction", "protocol",
					      NULL };
static const char *const lbl_proc_bytes[] = { "process", "service", "direction", "protocol",
					      "pid",	 "exe",	    "container", "unit",
					      "cgroup",	 NULL };
static const char *const lbl_dns_queries[] = { "qtype",	      "rcode", "server",
					       "src_process", "name",  NULL };
static const char *const lbl_dns_latency[] = { "server", "qtype", "src_process", NULL };

/* Default-on positions in the lists above: dst_address dst_port dst_name
 * dst_class src_zone dst_zone. */
#define DEF_PEER(first)                                                                 \
	(B(first) | B((first) + 1) | B((first) + 2) | B((first) + 3) | B((first) + 4) | \
	 B((first) + 5))

const struct metric_def catalogue[M_MAX] = {
	[M_OPEN] = {
		.name = "gespann_open_connections",
		.type = METRIC_GAUGE,
		.help = "TCP connections currently established plus UDP flows currently active.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.open",
	},
	[M_TOTAL_GAUGE] = {
		.name = "gespann_total_connections",
		.type = METRIC_GAUGE,
		.help = "Every connection seen since start: TCP attempts (active and passive) "
			"plus UDP flows. Gauge for compatibility; see gespann_connections_total.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.total",
	},
	[M_CONNECTIONS_TOTAL] = {
		.name = "gespann_connections_total",
		.type = METRIC_COUNTER,
		.help = "Every connection seen: TCP attempts (active and passive) plus "
			"UDP flows.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.seen",
	},
	[M_TCP_CONNECTIONS] = {
		.name = "gespann_tcp_connections_total",
		.type = METRIC_COUNTER,
		.help = "TCP connection attempts seen, active (connect) and passive (accept).",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "tcp.connections",
	},
	[M_UDP_CONNECTIONS] = {
		.name = "gespann_udp_connections_total",
		.type = METRIC_COUNTER,
		.help = "UDP flows (5-tuples) seen.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "udp.connections",
	},
	[M_CLOSED] = {
		.name = "gespann_closed_connections_total",
		.type = METRIC_COUNTER,
		.help = "Established TCP connections that ended, whatever the way (resets included), "
			"plus UDP flows expired after idle_timeout.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.closed",
	},
	[M_RESET] = {
		.name = "gespann_reset_connections_total",
		.type = METRIC_COUNTER,
		.help = "Established TCP connections ended by a RST sent or received.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.reset",
	},
	[M_FAILED] = {
		.name = "gespann_failed_connections_total",
		.type = METRIC_COUNTER,
		.help = "Active TCP opens that never reached ESTABLISHED.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.failed",
	},
	[M_IDLE] = {
		.name = "gespann_idle_connections",
		.type = METRIC_GAUGE,
		.help = "Open TCP connections with no payload either way for idle_timeout.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.idle",
	},
	[M_BYTES_SENT] = {
		.name = "gespann_bytes_sent_total",
		.type = METRIC_COUNTER,
		.help = "Application payload bytes sent, TCP (without retransmissions) and UDP.",
		.unit = "By",
		.labels = lbl_none,
		.dsd_name = "bytes.sent",
	},
	[M_BYTES_RECEIVED] = {
		.name = "gespann_bytes_received_total",
		.type = METRIC_COUNTER,
		.help = "Application payload bytes received, TCP and UDP.",
		.unit = "By",
		.labels = lbl_none,
		.dsd_name = "bytes.received",
	},
	[M_BANDWIDTH] = {
		.name = "gespann_connection_bandwidth_bytes_total",
		.type = METRIC_COUNTER,
		.help = "Application payload bytes by direction and protocol.",
		.unit = "By",
		.labels = lbl_direction_protocol,
		.dsd_name = "bandwidth.bytes",
	},
	[M_AVG_DURATION_MS] = {
		.name = "gespann_avg_connection_duration_ms",
		.type = METRIC_GAUGE,
		.help = "Mean duration of closed TCP connections in milliseconds "
			"(compatibility; prefer gespann_connection_duration_seconds).",
		.unit = "ms",
		.labels = lbl_none,
		.dsd_name = "connection.avg_duration_ms",
	},
	[M_AVG_RTT_US] = {
		.name = "gespann_avg_rtt_microseconds",
		.type = METRIC_GAUGE,
		.help = "Mean smoothed RTT of closed TCP connections in microseconds "
			"(compatibility; prefer gespann_rtt_seconds).",
		.unit = "us",
		.labels = lbl_none,
		.dsd_name = "avg_rtt_us",
	},
	[M_DURATION_HIST] = {
		.name = "gespann_connection_duration_seconds",
		.type = METRIC_HISTOGRAM,
		.help = "Duration of closed TCP connections, ESTABLISHED to CLOSE.",
		.unit = "s",
		.labels = lbl_none,
		.bounds = MB_KERNEL,
		.dsd_name = "connection.duration",
	},
	[M_RTT_HIST] = {
		.name = "gespann_rtt_seconds",
		.type = METRIC_HISTOGRAM,
		.help = "Smoothed RTT of each TCP connection at its close.",
		.unit = "s",
		.labels = lbl_none,
		.bounds = MB_KERNEL,
		.dsd_name = "rtt",
	},
	[M_CONNECT_HIST] = {
		.name = "gespann_connect_duration_seconds",
		.type = METRIC_HISTOGRAM,
		.help = "TCP handshake latency of active opens, SYN_SENT to ESTABLISHED.",
		.unit = "s",
		.labels = lbl_none,
		.bounds = MB_KERNEL,
		.dsd_name = "connect.duration",
	},
	[M_RETRANS] = {
		.name = "gespann_retransmits_total",
		.type = METRIC_COUNTER,
		.help = "Retransmitted TCP segments.",
		.unit = "1",
		.labels = lbl_protocol,
		.dsd_name = "retransmits",
	},
	[M_EVENTS] = {
		.name = "gespann_connection_events_total",
		.type = METRIC_COUNTER,
		.help = "Connection lifecycle events by type (open, accept, established, close, "
			"reset_sent, reset_received, failed).",
		.unit = "1",
		.labels = lbl_events,
		.dsd_name = "connection.events",
	},
	[M_FAILURES] = {
		.name = "gespann_connection_failures_total",
		.type = METRIC_COUNTER,
		.help = "Failed TCP connects by errno.",
		.unit = "1",
		.labels = lbl_errno,
		.dsd_name = "connection.failures",
	},
	[M_BUILD_INFO] = {
		.name = "gespann_build_info",
		.type = METRIC_GAUGE,
		.help = "Build information; always 1.",
		.unit = "1",
		.labels = lbl_version,
		.dsd_name = "build_info",
	},
	[M_EVENTS_LOST] = {
		.name = "gespann_events_lost_total",
		.type = METRIC_COUNTER,
		.help = "Per-connection records dropped because the ring buffer was full.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "events.lost",
	},
	[M_EVENTS_DELIVERED] = {
		.name = "gespann_events_delivered_total",
		.type = METRIC_COUNTER,
		.help = "Per-connection records read from the ring buffer.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "events.delivered",
	},
	[M_EVENTS_INVALID] = {
		.name = "gespann_events_invalid_total",
		.type = METRIC_COUNTER,
		.help = "Ring buffer records rejected as malformed.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "events.invalid",
	},
	[M_MAP_FULL] = {
		.name = "gespann_map_full_total",
		.type = METRIC_COUNTER,
		.help = "Kernel map inserts that failed because the map was full.",
		.unit = "1",
		.labels = lbl_map,
		.dsd_name = "map.full",
	},
	[M_TRACKED] = {
		.name = "gespann_tracked_connections",
		.type = METRIC_GAUGE,
		.help = "Entries in the kernel connection and UDP flow maps.",
		.unit = "{connection}",
		.labels = lbl_none,
		.dsd_name = "connections.tracked",
	},
	[M_CPU] = {
		.name = "gespann_process_cpu_seconds_total",
		.type = METRIC_COUNTER,
		.help = "CPU time of the agent process, user plus system.",
		.unit = "s",
		.labels = lbl_none,
		.dsd_name = "process.cpu_seconds",
	},
	[M_RSS] = {
		.name = "gespann_process_resident_memory_bytes",
		.type = METRIC_GAUGE,
		.help = "Resident memory of the agent process.",
		.unit = "By",
		.labels = lbl_none,
		.dsd_name = "process.memory.rss_bytes",
	},
	[M_FEATURE] = {
		.name = "gespann_feature_enabled",
		.type = METRIC_GAUGE,
		.help = "Kernel hooks and capabilities probed at start: 1 in use, 0 not.",
		.unit = "1",
		.labels = lbl_feature,
		.dsd_name = "feature.enabled",
	},
	[M_RECURSION_MISSES] = {
		.name = "gespann_bpf_recursion_misses_total",
		.type = METRIC_COUNTER,
		.help = "Kernel program runs skipped because the program was already "
			"running on that CPU (events missed).",
		.unit = "1",
		.labels = lbl_program,
		.dsd_name = "bpf.recursion_misses",
	},
	[M_TRANSITIONS_RECOVERED] = {
		.name = "gespann_tcp_transitions_recovered_total",
		.type = METRIC_COUNTER,
		.help = "TCP state changes whose kernel program run was skipped (see "
			"gespann_bpf_recursion_misses_total), accounted late so the open "
			"gauge stays exact: close (found by a refresh pass or when the "
			"socket is reused), established (found at the close).",
		.unit = "1",
		.labels = lbl_transition,
		.dsd_name = "tcp.transitions_recovered",
	},
	[M_UDP_FLOWS_EXPIRED] = {
		.name = "gespann_udp_flows_expired_total",
		.type = METRIC_COUNTER,
		.help = "UDP flows removed after idle_timeout of silence.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "udp.flows.expired",
	},
	[M_UDP_DGRAMS] = {
		.name = "gespann_udp_datagrams_total",
		.type = METRIC_COUNTER,
		.help = "UDP datagrams by direction.",
		.unit = "1",
		.labels = lbl_direction,
		.dsd_name = "udp.datagrams",
	},
	[M_EXPORTER_ERRORS] = {
		.name = "gespann_exporter_errors_total",
		.type = METRIC_COUNTER,
		.help = "Failed sends or requests per adapter.",
		.unit = "1",
		.labels = lbl_adapter,
		.dsd_name = "exporter.errors",
	},
	[M_EXPORTER_DROPPED] = {
		.name = "gespann_exporter_dropped_total",
		.type = METRIC_COUNTER,
		.help = "Snapshots or datagrams an adapter dropped (backend slow or down).",
		.unit = "1",
		.labels = lbl_adapter,
		.dsd_name = "exporter.dropped",
	},
	[M_EXPORTER_REJECTED] = {
		.name = "gespann_exporter_rejected_total",
		.type = METRIC_COUNTER,
		.help = "Data points or log records a receiver took the request of but refused "
			"(OTLP partial success), per adapter.",
		.unit = "1",
		.labels = lbl_adapter,
		.dsd_name = "exporter.rejected",
	},
	[M_RECORDS_LOST] = {
		.name = "gespann_records_lost_total",
		.type = METRIC_COUNTER,
		.help = "Ring-buffer records of other kinds than connections dropped because "
			"the buffer was full, by record: process, dns, resolve.",
		.unit = "1",
		.labels = lbl_record,
		.dsd_name = "records.lost",
	},
	[M_RECORDS] = {
		.name = "gespann_records_total",
		.type = METRIC_COUNTER,
		.help = "Ring-buffer records of other kinds than connections submitted, by "
			"record: process (exec, fork, exit), dns (packets on port 53), resolve "
			"(getaddrinfo results).",
		.unit = "1",
		.labels = lbl_record,
		.dsd_name = "records",
	},
	[M_ACCEPT_OWNED] = {
		.name = "gespann_accept_owner_total",
		.type = METRIC_COUNTER,
		.help = "Accepted TCP connections handed to the process whose accept() "
			"returned them (the rest keep the listening process).",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "accept.owner",
	},
	[M_UDP_UNOWNED] = {
		.name = "gespann_udp_flows_unowned_total",
		.type = METRIC_COUNTER,
		.help = "UDP flows created without a known owner process.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "udp.flows.unowned",
	},
	[M_PASS_DURATION] = {
		.name = "gespann_pass_duration_seconds",
		.type = METRIC_GAUGE,
		.help = "Wall time of the last complete pass over a kernel map, first slice to last.",
		.unit = "s",
		.labels = lbl_pass,
		.dsd_name = "pass.duration_seconds",
	},
	[M_PASS_SLICE_MAX] = {
		.name = "gespann_pass_slice_max_seconds",
		.type = METRIC_GAUGE,
		.help = "Longest slice of any pass since start: the longest the pass held the loop.",
		.unit = "s",
		.labels = lbl_pass,
		.dsd_name = "pass.slice_max_seconds",
	},
	[M_PASS_SLICES] = {
		.name = "gespann_pass_slices_total",
		.type = METRIC_COUNTER,
		.help = "Slices the passes ran in, one a loop turn or more.",
		.unit = "1",
		.labels = lbl_pass,
		.dsd_name = "pass.slices",
	},
	[M_PASS_CPU] = {
		.name = "gespann_pass_cpu_seconds_total",
		.type = METRIC_COUNTER,
		.help = "CPU time of the passes, user plus kernel (the map reads and refresh_live).",
		.unit = "s",
		.labels = lbl_pass,
		.dsd_name = "pass.cpu_seconds",
	},
	[M_PASS_ENTRIES] = {
		.name = "gespann_pass_entries",
		.type = METRIC_GAUGE,
		.help = "Map entries the last complete pass handled.",
		.unit = "1",
		.labels = lbl_pass,
		.dsd_name = "pass.entries",
	},
	[M_LOOP_STALL] = {
		.name = "gespann_loop_stall_seconds",
		.type = METRIC_GAUGE,
		.help = "Longest turn of the main loop since start (events, passes, scrapes).",
		.unit = "s",
		.labels = lbl_none,
		.dsd_name = "loop.stall_seconds",
	},
	[M_FLOW_BYTES] = {
		.name = "gespann_flow_bytes_total",
		.type = METRIC_COUNTER,
		.help = "Payload bytes per flow: local process, peer and service port.",
		.unit = "By",
		.labels = lbl_flow_bytes,
		/* direction protocol role src_process src_service, dst_*, src_zone */
		.defaults = B(0) | B(1) | B(2) | B(3) | B(4) | DEF_PEER(11),
		.dsd_name = "flow.bytes",
	},
	[M_FLOW_CONNS] = {
		.name = "gespann_flow_connections_total",
		.type = METRIC_COUNTER,
		.help = "TCP connections per flow when they end (closed or failed), by outcome; UDP flows "
			"when first seen.",
		.unit = "{connection}",
		.labels = lbl_flow_conns,
		/* protocol role src_process src_service, dst_*, src_zone, outcome */
		.defaults = B(0) | B(1) | B(2) | B(3) | DEF_PEER(10) | B(16),
		.dsd_name = "flow.connections",
	},
	[M_FLOW_RETRANS] = {
		.name = "gespann_flow_retransmits_total",
		.type = METRIC_COUNTER,
		.help = "Retransmitted TCP segments per flow.",
		.unit = "1",
		.labels = lbl_flow_tcp,
		/* role src_process src_service dst_address dst_port dst_name */
		.defaults = B(0) | B(1) | B(2) | B(9) | B(10) | B(11),
		.dsd_name = "flow.retransmits",
	},
	[M_FLOW_RTT] = {
		.name = "gespann_flow_rtt_seconds",
		.type = METRIC_HISTOGRAM,
		.help = "Smoothed RTT of TCP connections at close, per flow.",
		.unit = "s",
		.labels = lbl_flow_tcp,
		.defaults = B(0) | B(1) | B(2) | B(9) | B(10) | B(11),
		.bounds = MB_KERNEL,
		.dsd_name = "flow.rtt",
	},
	[M_FLOW_OPEN] = {
		.name = "gespann_flow_open_connections",
		.type = METRIC_GAUGE,
		.help = "Open TCP connections per flow and state (time_wait included).",
		.unit = "{connection}",
		.labels = lbl_flow_open,
		/* role src_process src_service dst_address dst_port dst_name state */
		.defaults = B(0) | B(1) | B(2) | B(9) | B(10) | B(11) | B(15),
		.dsd_name = "flow.connections.open",
	},
	[M_ZONE_BYTES] = {
		.name = "gespann_network_inter_zone_bytes_total",
		.type = METRIC_COUNTER,
		.help = "Payload bytes (TCP and UDP) between a local zone (src_zone) and a peer "
			"zone (dst_zone) that differ, both known, by direction.",
		.unit = "By",
		.labels = lbl_zone_bytes,
		.defaults = B(0) | B(1) | B(2) | B(3),
		.dsd_name = "network.inter_zone.bytes",
	},
	[M_PROC_BYTES] = {
		.name = "gespann_process_bytes_total",
		.type = METRIC_COUNTER,
		.help = "Payload bytes per local process (TCP and UDP), by direction.",
		.unit = "By",
		.labels = lbl_proc_bytes,
		.defaults = B(0) | B(1) | B(2) | B(3), /* process service direction protocol */
		.dsd_name = "process.bytes",
	},
	[M_DNS_QUERIES] = {
		.name = "gespann_dns_queries_total",
		.type = METRIC_COUNTER,
		.help = "DNS queries sent by local processes, by query type, response code (timeout when "
			"unanswered) and server.",
		.unit = "1",
		.labels = lbl_dns_queries,
		.defaults = B(0) | B(1) | B(2), /* qtype rcode server */
		.dsd_name = "dns.queries",
	},
	[M_DNS_LATENCY] = {
		.name = "gespann_dns_latency_seconds",
		.type = METRIC_HISTOGRAM,
		.help = "Time from a DNS query sent to its answer received, per server.",
		.unit = "s",
		.labels = lbl_dns_latency,
		.defaults = B(0), /* server */
		.bounds = MB_DNS,
		.dsd_name = "dns.latency",
	},
	[M_SERIES_DROPPED] = {
		.name = "gespann_series_dropped_total",
		.type = METRIC_COUNTER,
		.help = "Label sets folded into the `other` series of a family because "
			"it reached attributes.max_series.",
		.unit = "1",
		.labels = lbl_family,
		.dsd_name = "series.dropped",
	},
	[M_DNS_MALFORMED] = {
		.name = "gespann_dns_malformed_total",
		.type = METRIC_COUNTER,
		.help = "DNS packets on port 53 that failed to parse.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "dns.malformed",
	},
	[M_DNS_NAMES] = {
		.name = "gespann_dns_names",
		.type = METRIC_GAUGE,
		.help = "Names held in the DNS cache (one per address, network namespace and asking process).",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "dns.names",
	},
	[M_DNS_NAMES_EVICTED] = {
		.name = "gespann_dns_names_evicted_total",
		.type = METRIC_COUNTER,
		.help = "Host names dropped from the DNS cache before they expired because it "
			"was full (dns.max_names, or 16 names for one address).",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "dns.names.evicted",
	},
	[M_FLOW_ENTRIES_LOST] = {
		.name = "gespann_flow_entries_lost_total",
		.type = METRIC_COUNTER,
		.help = "Flow table entries forgotten without their final reading (the close "
			"record or the last map read was lost); growth up to then is counted.",
		.unit = "1",
		.labels = lbl_protocol,
		.dsd_name = "flow.entries.lost",
	},
	[M_HTTP_REJECTED] = {
		.name = "gespann_http_connections_rejected_total",
		.type = METRIC_COUNTER,
		.help = "Connections to the Prometheus endpoint refused or cut, by reason: "
			"address_limit, limit (refused at a cap), evicted (room made for a newer "
			"one), head_timeout (request head not complete in time), slow_reader "
			"(still reading a body two generations old).",
		.unit = "{connection}",
		.labels = lbl_reason,
		.dsd_name = "http.connections.rejected",
	},
	[M_SCRAPERS_FORGOTTEN] = {
		.name = "gespann_scrapers_forgotten_total",
		.type = METRIC_COUNTER,
		.help = "Scrapers of /metrics forgotten to make room for a new one (16 are "
			"remembered, by address and User-Agent); a forgotten scraper's next "
			"scrape shows new series at their value, not 0 first.",
		.unit = "1",
		.labels = lbl_none,
		.dsd_name = "scrapers.forgotten",
	},
	[M_LOG_RECORDS] = {
		.name = "gespann_log_records_total",
		.type = METRIC_COUNTER,
		.help = "Events queued for the OTLP logs export, by event: "
			"gespann.connection.failed, gespann.connection.reset, gespann.dns.answer.",
		.unit = "1",
		.labels = lbl_event,
		.dsd_name = "log.records",
	},
	[M_LOG_RECORDS_DROPPED] = {
		.name = "gespann_log_records_dropped_total",
		.type = METRIC_COUNTER,
		.help = "Events never delivered as OTLP log records, by reason: rate_limited "
			"(over logs_rate), queue_full (logs_queue records waiting), export_failed "
			"(the batch was given up after its retries).",
		.unit = "1",
		.labels = lbl_reason,
		.dsd_name = "log.records.dropped",
	},
};

const struct metric_def *catalogue_find(const char *name)
{
	for (size_t i = 0; i < M_MAX; i++)
		if (catalogue[i].name && !strcmp(catalogue[i].name, name))
			return &catalogue[i];
	return NULL;
}

#define DNS_HIST_NBOUNDS 14

const double *catalogue_bounds(enum metric_bounds b, size_t *n)
{
	static const uint64_t kernel_ns[GS_HIST_NBOUNDS] = GS_HIST_BOUNDS_NS;
	static const double dns_s[DNS_HIST_NBOUNDS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
							0.025,	0.05,  0.1,    0.25,  0.5,
							1,	2.5,   5,      10 };
	static double kernel_s[GS_HIST_NBOUNDS];

	switch (b) {
	case MB_KERNEL:
		for (size_t i = 0; i < GS_HIST_NBOUNDS; i++)
			kernel_s[i] = (double)kernel_ns[i] / 1e9;
		*n = GS_HIST_NBOUNDS;
		return kernel_s;
	case MB_DNS:
		*n = DNS_HIST_NBOUNDS;
		return dns_s;
	default:
		*n = 0;
		return NULL;
	}
}

struct metric_family *catalogue_declare(struct registry *reg, enum metric_id id)
{
	const struct metric_def *d = &catalogue[id];
	size_t nb;
	const double *bounds = catalogue_bounds(d->bounds, &nb);

	return registry_add(reg, d->name, d->help, d->type, d->labels, bounds, nb);
}
