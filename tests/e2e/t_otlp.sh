#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OTLP push against a real decoder: a node receiver (tests/e2e/otlp_receiver.js)
# decodes every request with OpenTelemetry JS's own generated protobuf code
# (or JSON.parse for http/json). The agent watches the client namespace and
# pushes every second to the receiver on loopback; after a TCP run with known
# figures, the received values must equal the agent's own Prometheus values.
# Then the failure paths: 500 (not retried, errors counted), 429 (retried
# after Retry-After) and a receiver that never answers (timeouts counted, the
# loop not stalled: /metrics still answers at once).
set -uo pipefail
E2E_NAME=otlp
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/exporters_lib.sh"

# ---- needs: node and the OpenTelemetry JS package ----
if ! node_need; then
	not_ok "node and npm available (needed for the OTLP receiver)"
	e2e_finish
	exit 1
fi
otlp_install || { not_ok "npm install $OTLP_PKG ($(tail -3 "$E2E_TMP/npm.log"))"; e2e_finish; exit 1; }

# prom_vs_otlp PROM_SERIES OTLP_NAME [K=V...]: wait until the last push carries
# the agent's current Prometheus value, then assert the two are equal.
_otlp_caught_up() { scrape && [[ "$(otlp_query value "$2" "${@:3}")" == "$(metric "$1")" ]]; }
prom_vs_otlp() {
	wait_until 5 _otlp_caught_up "$@"
	scrape
	local what="otlp $2"
	[[ $# -le 2 ]] || what+="{${*:3}}"
	assert_eq "$(otlp_query value "$2" "${@:3}")" "$(metric "$1")" "$what = Prometheus $1"
}

start_server() { # NAME PORT: TCP server in the server namespace
	netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port "$2" --deadline-ms 200000 --reply 3000 >"$E2E_TMP/$1.srv" 2>&1 &
	wait_for grep -q listening "$E2E_TMP/$1.srv" || not_ok "server $1 listening"
}

# tcp_run NAME PORT CONNS: completed connections with 1000 bytes out, 3000 back.
tcp_run() {
	local base
	scrape
	base=$(metric gespann_closed_connections_total)
	netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port "$2" --conns "$3" --send 1000 --recv 3000 --parallel 4 >"$E2E_TMP/$1.json" 2>"$E2E_TMP/$1.err"
	assert_eq "$(jget "$E2E_TMP/$1.json" ok)" "$3" "$1: generator completed $3 connections"
	assert_true "$1: $3 connections closed" wait_metric gespann_closed_connections_total $((base + $3))
}

# /metrics answers within 0.5 s (the loop is not blocked).
metrics_fast() {
	local t
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 2 "http://127.0.0.1:$AGENT_PORT/metrics") || return 1
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)' "$t"
}

netns_setup gse2e-otlp || { not_ok "netns setup"; e2e_finish; exit 1; }
start_server s1 5601

# ==== 1. http/protobuf, gzip, a custom header ====
receiver_start pb || { e2e_finish; exit 1; }
agent_start otlp-pb "/var/run/netns/$NS_CLI" "idle_timeout: 1s" "$(otlp_adapter "      interval: 1s
      compression: gzip
      headers:
        X-Gespann-Test: e2e")" || { e2e_finish; exit 1; }
tcp_run pb 5601 20
assert_true "protobuf: a request received" wait_until 5 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 1 ]]"
assert_eq "$(otlp_query field 0 method)" POST "protobuf: method"
assert_eq "$(otlp_query field 0 url)" /v1/metrics "protobuf: path"
assert_eq "$(otlp_query field 0 contentType)" application/x-protobuf "protobuf: Content-Type"
assert_eq "$(otlp_query field 0 contentEncoding)" gzip "protobuf: Content-Encoding"
assert_eq "$(otlp_query field 0 X-Gespann-Test)" e2e "protobuf: configured header sent"
assert_eq "$(otlp_query count 400)" 0 "protobuf: every request decoded by the OpenTelemetry JS decoder"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
prom_vs_otlp gespann_bytes_sent_total gespann_bytes_sent_total
prom_vs_otlp gespann_bytes_received_total gespann_bytes_received_total
prom_vs_otlp gespann_connect_duration_seconds_count gespann_connect_duration_seconds
prom_vs_otlp 'gespann_connection_bandwidth_bytes_total{direction="sent",protocol="tcp"}' gespann_connection_bandwidth_bytes_total network.io.direction=transmit network.transport=tcp
prom_vs_otlp 'gespann_connection_events_total{type="established",protocol="tcp",reset_reason=""}' gespann_connection_events_total type=established network.transport=tcp
assert_eq "$(otlp_query value gespann_bytes_sent_total)" "$(jget "$E2E_TMP/pb.json" bytes_sent)" "protobuf: bytes sent = generator's count"
assert_eq "$(otlp_query kind gespann_closed_connections_total)" sum/2/true "protobuf: counter is a cumulative monotonic sum"
assert_eq "$(otlp_query kind gespann_open_connections)" gauge "protobuf: gauge is a gauge"
assert_eq "$(otlp_query kind gespann_rtt_seconds)" histogram/2 "protobuf: histogram is a cumulative histogram"
assert_eq "$(otlp_query unit gespann_bytes_sent_total)" By "protobuf: unit of bytes"
assert_eq "$(otlp_query unit gespann_rtt_seconds)" s "protobuf: unit of seconds"
assert_eq "$(otlp_query unit gespann_open_connections)" "{connection}" "protobuf: unit of connections"
assert_eq "$(otlp_query resource service.name)" gespann "protobuf: resource service.name"
assert_eq "$(otlp_query resource service.version)" "$("$GS_BIN" -version | awk '{print $2}')" "protobuf: resource service.version"
assert_eq "$(otlp_query resource host.name)" "$(hostname)" "protobuf: resource host.name"
assert_eq "$(otlp_query resource os.type)" linux "protobuf: resource os.type"
assert_eq "$(otlp_query scope)" gespann "protobuf: scope name"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 0 "protobuf: no exporter errors"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "protobuf: no snapshot dropped"
agent_stop
receiver_stop

# ==== 2. http/json ====
receiver_start json || { e2e_finish; exit 1; }
agent_start otlp-json "/var/run/netns/$NS_CLI" "" "$(otlp_adapter "      protocol: http/json
      interval: 1s")" || { e2e_finish; exit 1; }
tcp_run json 5601 5
assert_true "json: a request received" wait_until 5 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 1 ]]"
assert_eq "$(otlp_query field 0 contentType)" application/json "json: Content-Type"
assert_eq "$(otlp_query field 0 contentEncoding)" "" "json: no Content-Encoding"
assert_eq "$(otlp_query count 400)" 0 "json: every body parsed"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
prom_vs_otlp gespann_bytes_sent_total gespann_bytes_sent_total
prom_vs_otlp gespann_connect_duration_seconds_count gespann_connect_duration_seconds
assert_eq "$(otlp_query value gespann_closed_connections_total)" 5 "json: 5 connections closed"
assert_eq "$(otlp_query kind gespann_closed_connections_total)" sum/2/true "json: counter is a cumulative monotonic sum"
assert_eq "$(otlp_query kind gespann_open_connections)" gauge "json: gauge is a gauge"
assert_eq "$(otlp_query kind gespann_connect_duration_seconds)" histogram/2 "json: histogram is a cumulative histogram"
assert_eq "$(otlp_query resource service.name)" gespann "json: resource service.name"
assert_eq "$(otlp_query resource os.type)" linux "json: resource os.type"
agent_stop
receiver_stop

# ==== 3a. 500: an error, not retried ====
receiver_start e500 500 3 || { e2e_finish; exit 1; }
agent_start otlp-500 "/var/run/netns/$NS_CLI" "" "$(otlp_adapter "      interval: 1s")" || { e2e_finish; exit 1; }
assert_true "500: a request answered 200 after three 500s" wait_until 10 bash -c "[[ \$(grep -c '\"status\":200' '$RECV_OUT') -ge 1 ]]"
assert_eq "$(otlp_query count 500)" 3 "500: three requests answered 500"
assert_ge "$(otlp_query gap 0 1)" 800 "500: next request one interval later (ms), not a retry"
assert_ge "$(otlp_query gap 1 2)" 800 "500: and the one after (ms)"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 3 "500: errors counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 3 "500: snapshots dropped"
assert_eq "$(grep -c 'level=warn adapter otlp' "$AGENT_LOG")" 1 "500: one warning for three failures (rate limit)"
agent_stop
receiver_stop

# ==== 3b. 429: retried after Retry-After ====
# An interval of 3 s leaves room for the retry before the next snapshot.
receiver_start e429 429 1 || { e2e_finish; exit 1; }
agent_start otlp-429 "/var/run/netns/$NS_CLI" "" "$(otlp_adapter "      interval: 3s")" || { e2e_finish; exit 1; }
assert_true "429: retried" wait_until 10 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 2 ]]"
assert_eq "$(otlp_query field 0 status)" 429 "429: first request answered 429"
assert_eq "$(otlp_query field 1 status)" 200 "429: retry answered 200"
assert_ge "$(otlp_query gap 0 1)" 950 "429: retry waited Retry-After: 1 (ms)"
assert_ge 2500 "$(otlp_query gap 0 1)" "429: retry came before the next interval (ms)"
assert_eq "$(otlp_query snapshot 1)" "$(otlp_query snapshot 0)" "429: the retry carries the same snapshot"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 1 "429: one error counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "429: nothing dropped"
agent_stop
receiver_stop

# ==== 3c. a receiver that never answers: timeouts, the loop not stalled ====
receiver_start hang hang 2 || { e2e_finish; exit 1; }
agent_start otlp-hang "/var/run/netns/$NS_CLI" "" "$(otlp_adapter "      interval: 1s
      timeout: 1500ms")" || { e2e_finish; exit 1; }
assert_true "hang: first request stalled" wait_until 5 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 1 ]]"
slow=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	metrics_fast || slow=$((slow + 1))
	sleep 0.2
done
assert_eq "$slow" 0 "hang: /metrics answered within 0.5 s during the stall (10 tries)"
tcp_run hang 5601 3
assert_true "hang: delivered after the stalls" wait_until 10 bash -c "[[ \$(grep -c '\"status\":200' '$RECV_OUT') -ge 1 ]]"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
scrape
assert_ge "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 2 "hang: timeouts counted as errors"
assert_ge "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 2 "hang: snapshots due during a stalled request dropped"
e2e_finish
