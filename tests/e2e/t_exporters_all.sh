#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One agent, three exporters at once: Prometheus (/metrics on loopback),
# DogStatsD over UDP to the npm statsd daemon (0.9, with the totals backend)
# and OTLP http/protobuf to the decoding receiver, both on 127.0.0.1. After
# one known TCP run in the client namespace (15 connections, 800 bytes out and
# 1200 back each, plus 3 connects refused by a closed port), the same counters
# read the same in all three: closed connections, bytes sent and received,
# TCP open events, ECONNREFUSED failures. The Prometheus values are also held
# against ground truth (the generator's counts, /proc/net/snmp). One line per
# counter: "# same counter: NAME prometheus=N statsd=N otlp=N".
set -uo pipefail
E2E_NAME=exporters_all
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/exporters_lib.sh"

CONNS=15
SEND=800
RECV=1200
REFUSED=3

# ---- needs: node, statsd 0.9, the OpenTelemetry JS package ----
if ! statsd_install || ! otlp_install; then
	# a missing need fails under CI=true, and is a skip otherwise
	if [[ "${CI:-}" == "true" ]]; then
		not_ok "statsd 0.9 and $OTLP_PKG installed into build/node (node, npm and the npm registry needed)"
		e2e_finish
		exit 1
	fi
	e2e_log "skipped: statsd 0.9 or $OTLP_PKG not available (needs node, npm and the npm registry)"
	e2e_finish
	exit 0
fi

netns_setup gse2e-all || { not_ok "netns setup"; e2e_finish; exit 1; }

# ---- the receivers: statsd and the OTLP receiver on 127.0.0.1 ----
statsd_start
assert_true "statsd flushing" wait_until 10 test -s "$STATSD_TOTALS"
receiver_start all || { e2e_finish; exit 1; }

# ---- the agent: prometheus (lib.sh), datadog and otlp ----
agent_start all "/var/run/netns/$NS_CLI" "" "  - type: datadog
    settings:
      host: 127.0.0.1:$STATSD_PORT
      flush_interval: 1s
      histogram: histogram
$(otlp_adapter "      protocol: http/protobuf
      interval: 1s")" || { e2e_finish; exit 1; }
assert_true "agent logs the datadog adapter" grep -q "adapter datadog: DogStatsD to 127.0.0.1:$STATSD_PORT" "$AGENT_LOG"
assert_true "otlp: a request received" wait_until 5 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 1 ]]"

# ---- one known TCP run, then connects to a closed port ----
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5700 --deadline-ms 200000 --reply "$RECV" >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"
snmp_active0=$(snmp "$NS_CLI" Tcp ActiveOpens)
snmp_fail0=$(snmp "$NS_CLI" Tcp AttemptFails)
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5700 --conns "$CONNS" --send "$SEND" --recv "$RECV" --parallel 3 >"$E2E_TMP/c.json" 2>"$E2E_TMP/c.err"
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5701 --conns "$REFUSED" >"$E2E_TMP/refused.json" 2>"$E2E_TMP/refused.err"
active_opens=$(($(snmp "$NS_CLI" Tcp ActiveOpens) - snmp_active0))
attempt_fails=$(($(snmp "$NS_CLI" Tcp AttemptFails) - snmp_fail0))
assert_eq "$(jget "$E2E_TMP/c.json" ok)" "$CONNS" "generator: connections completed"
assert_eq "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" "$REFUSED" "generator: connects refused"
assert_true "prometheus: $CONNS connections closed" wait_metric gespann_closed_connections_total "$CONNS"
assert_true "prometheus: $REFUSED ECONNREFUSED failures" wait_metric 'gespann_connection_failures_total{errno="ECONNREFUSED"}' "$REFUSED"

# ---- the same counters in the three exporters ----
# NAME|PROMETHEUS SERIES|STATSD KEY|OTLP METRIC [ATTRIBUTE=VALUE...]
COUNTERS=(
	'gespann_closed_connections_total|gespann_closed_connections_total|gespann.connections.closed|gespann_closed_connections_total'
	'gespann_bytes_sent_total|gespann_bytes_sent_total|gespann.bytes.sent|gespann_bytes_sent_total'
	'gespann_bytes_received_total|gespann_bytes_received_total|gespann.bytes.received|gespann_bytes_received_total'
	'gespann_connection_events_total{type="open",protocol="tcp"}|gespann_connection_events_total{type="open",protocol="tcp",reset_reason=""}|gespann.connection.events;type=open;protocol=tcp|gespann_connection_events_total type=open network.transport=tcp'
	'gespann_connection_failures_total{errno="ECONNREFUSED"}|gespann_connection_failures_total{errno="ECONNREFUSED"}|gespann.connection.failures;errno=ECONNREFUSED|gespann_connection_failures_total error.type=ECONNREFUSED'
)

# counter_values ENTRY: "PROMETHEUS STATSD OTLP" of one entry, from the last scrape.
counter_values() {
	local name prom key otlp q
	IFS='|' read -r name prom key otlp <<<"$1"
	read -r -a q <<<"$otlp"
	echo "$(metric "$prom") $(statsd_total counters "$key") $(otlp_query value "${q[@]}")"
}

# Every push caught up: statsd's totals and the receiver's last request carry
# the values of the scrape. Nothing moves in scope any more, so they stay.
_all_same() {
	local c p s o
	scrape || return 1
	for c in "${COUNTERS[@]}"; do
		read -r p s o <<<"$(counter_values "$c")"
		[[ "$s" == "$p" && "$o" == "$p" ]] || return 1
	done
}
assert_true "statsd totals and the last OTLP request caught up with /metrics" wait_until 15 _all_same

scrape
for c in "${COUNTERS[@]}"; do
	name=${c%%|*}
	read -r p s o <<<"$(counter_values "$c")"
	assert_eq "$s" "$p" "statsd $name = prometheus"
	assert_eq "$o" "$p" "otlp $name = prometheus"
	if [[ "$s" == "$p" && "$o" == "$p" ]]; then
		e2e_log "same counter: $name prometheus=$p statsd=$s otlp=$o"
	else
		e2e_log "counter differs: $name prometheus=$p statsd=$s otlp=$o"
	fi
done

# ---- the Prometheus values against ground truth ----
assert_eq "$(metric gespann_closed_connections_total)" "$CONNS" "prometheus: closed connections = generator's"
assert_eq "$(metric gespann_bytes_sent_total)" "$(jget "$E2E_TMP/c.json" bytes_sent)" "prometheus: bytes sent = generator's count"
assert_eq "$(metric gespann_bytes_sent_total)" $((CONNS * SEND)) "prometheus: bytes sent = $CONNS x $SEND"
assert_eq "$(metric gespann_bytes_received_total)" "$(jget "$E2E_TMP/c.json" bytes_received)" "prometheus: bytes received = generator's count"
assert_eq "$(metric gespann_bytes_received_total)" $((CONNS * RECV)) "prometheus: bytes received = $CONNS x $RECV"
assert_eq "$(metric 'gespann_connection_events_total{type="open",protocol="tcp",reset_reason=""}')" "$active_opens" "prometheus: TCP open events = /proc/net/snmp ActiveOpens delta"
assert_eq "$(metric 'gespann_connection_failures_total{errno="ECONNREFUSED"}')" "$attempt_fails" "prometheus: ECONNREFUSED = /proc/net/snmp AttemptFails delta"

# ---- and nothing went wrong on the way ----
assert_eq "$(statsd_total counters statsd.bad_lines_seen)" 0 "statsd: no bad line"
assert_eq "$(otlp_query count 400)" 0 "otlp: every request decoded by the OpenTelemetry JS decoder"
assert_eq "$(otlp_query field 0 contentType)" application/x-protobuf "otlp: Content-Type"
for a in datadog otlp; do
	assert_eq "$(metric "gespann_exporter_errors_total{adapter=\"$a\"}")" 0 "$a: no exporter error"
	assert_eq "$(metric "gespann_exporter_dropped_total{adapter=\"$a\"}")" 0 "$a: nothing dropped"
done
assert_eq "$(grep -c 'level=warn adapter' "$AGENT_LOG")" 0 "agent: no adapter warning"
e2e_finish
