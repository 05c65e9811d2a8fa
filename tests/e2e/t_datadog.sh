#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The DogStatsD adapter against a real statsd daemon: npm statsd 0.9 on
# 127.0.0.1 (installed into build/node on first use) with a backend of ours
# that writes what statsd parsed to a JSON file after each flush. After a
# known TCP run in the client namespace, the totals statsd summed over its
# flushes equal the agent's own Prometheus counters, and the histogram lines
# add up to the Prometheus buckets. Then, with nobody at the DogStatsD host
# (UDP and a unix socket): the agent keeps running, its exporter errors and
# drops grow, and it logs at most one warning per adapter.
set -uo pipefail
E2E_NAME=datadog
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/exporters_lib.sh"

# hist_weighted NAME: sum over the buckets of the last scrape of (upper bound x
# count), the overflow bucket at the last finite bound: what the |h lines of
# the histogram add up to.
hist_weighted() {
	python3 - "$E2E_TMP/last.prom" "$1" <<'PY'
import re, sys
name = sys.argv[2]
cum = []
for line in open(sys.argv[1]):
    m = re.match(r'^%s_bucket\{le="([^"]+)"\} (\S+)$' % re.escape(name), line)
    if m:
        cum.append((float(m.group(1)), float(m.group(2))))
total, prev, last = 0.0, 0.0, 0.0
for le, c in cum:
    at = le if le != float("inf") else last
    total += at * (c - prev)
    prev = c
    if le != float("inf"):
        last = le
print(repr(total))
PY
}

# close_to A B: |A - B| <= 1e-9 * max(1, |B|)
close_to() {
	python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a - b) <= 1e-9 * max(1.0, abs(b)) else 1)' "$1" "$2"
}

if ! statsd_install; then
	# a missing need fails under CI=true, and is a skip otherwise
	if [[ "${CI:-}" == "true" ]]; then
		not_ok "statsd 0.9 installed into build/node (node, npm and the npm registry needed)"
		e2e_finish
		exit 1
	fi
	e2e_log "skipped: statsd 0.9 not available (needs node, npm and the npm registry)"
	e2e_finish
	exit 0
fi
e2e_pass "statsd $(statsd_version) in build/node"

netns_setup gse2e-dd || { not_ok "netns setup"; e2e_finish; exit 1; }

# ---- statsd on 127.0.0.1, flushing every second into totals.json ----
statsd_start
assert_true "statsd flushing" wait_until 10 test -s "$STATSD_TOTALS"

# ---- the agent: prometheus for the scrape, datadog to statsd ----
# statsd 0.9 reads |h (into a counter of value x 1/rate) but not |d.
agent_start dd "/var/run/netns/$NS_CLI" "" "  - type: datadog
    settings:
      host: 127.0.0.1:$STATSD_PORT
      flush_interval: 500ms
      tags: [env:e2e]
      histogram: histogram" || { e2e_finish; exit 1; }
assert_true "agent logs the adapter" grep -q "adapter datadog: DogStatsD to 127.0.0.1:$STATSD_PORT" "$AGENT_LOG"

# ---- a known TCP run: 12 connections, 500 bytes out and 700 back each ----
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5500 --deadline-ms 200000 --reply 700 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5500 --conns 12 --send 500 --recv 700 --parallel 3 >"$E2E_TMP/c.json" 2>"$E2E_TMP/c.err"
assert_eq "$(jget "$E2E_TMP/c.json" ok)" 12 "generator: connections completed"
assert_true "agent: 12 connections closed" wait_metric gespann_closed_connections_total 12

# statsd keys: name, then ";tag=value" for env:e2e and each label
T=";env=e2e"
EV="gespann.connection.events$T"
PAIRS=(
	"gespann.connections.closed$T|gespann_closed_connections_total"
	"gespann.bytes.sent$T|gespann_bytes_sent_total"
	"gespann.bytes.received$T|gespann_bytes_received_total"
	"gespann.tcp.connections$T|gespann_tcp_connections_total"
	"gespann.connections.seen$T|gespann_connections_total"
	"$EV;type=open;protocol=tcp|gespann_connection_events_total{type=\"open\",protocol=\"tcp\",reset_reason=\"\"}"
	"$EV;type=established;protocol=tcp|gespann_connection_events_total{type=\"established\",protocol=\"tcp\",reset_reason=\"\"}"
	"$EV;type=close;protocol=tcp|gespann_connection_events_total{type=\"close\",protocol=\"tcp\",reset_reason=\"\"}"
	"gespann.bandwidth.bytes$T;direction=sent;protocol=tcp|gespann_connection_bandwidth_bytes_total{direction=\"sent\",protocol=\"tcp\"}"
	"gespann.connections.failed$T|gespann_failed_connections_total"
)
_all_delivered() {
	local p
	scrape || return 1
	for p in "${PAIRS[@]}"; do
		[[ "$(statsd_total counters "${p%%|*}")" == "$(metric "${p#*|}")" ]] || return 1
	done
	close_to "$(statsd_total counters "gespann.connect.duration$T")" "$(hist_weighted gespann_connect_duration_seconds)"
}
assert_true "statsd totals caught up with the agent" wait_until 15 _all_delivered
scrape
for p in "${PAIRS[@]}"; do
	assert_eq "$(statsd_total counters "${p%%|*}")" "$(metric "${p#*|}")" "statsd ${p%%|*} = agent ${p#*|}"
done
assert_eq "$(statsd_total counters "gespann.connections.closed$T")" 12 "statsd: 12 connections closed"
assert_eq "$(statsd_total counters "gespann.bytes.sent$T")" $((12 * 500)) "statsd: bytes sent = 12 x 500"
assert_eq "$(statsd_total counters "gespann.bytes.received$T")" $((12 * 700)) "statsd: bytes received = 12 x 700"
assert_eq "$(statsd_total counters "$EV;type=open;protocol=tcp")" 12 "statsd: 12 open events (type:open tag)"

# histograms: the |h lines stand for as many observations as Prometheus counted,
# and statsd's value x 1/rate sum equals the buckets' bound x count sum
for h in connect.duration:gespann_connect_duration_seconds connection.duration:gespann_connection_duration_seconds rtt:gespann_rtt_seconds; do
	dd=gespann.${h%%:*}$T prom=${h#*:}
	obs=$(statsd_total observations "$dd")
	assert_eq "$(python3 -c 'import sys; print(round(float(sys.argv[1])))' "$obs")" "$(metric "${prom}_count")" "statsd observations of $dd = ${prom}_count"
	assert_true "statsd $dd value sum = sum of ${prom} bucket bounds x counts" close_to "$(statsd_total counters "$dd")" "$(hist_weighted "$prom")"
done
assert_eq "$(metric gespann_connect_duration_seconds_count)" 12 "agent: 12 handshakes observed"

assert_eq "$(statsd_total gauges "gespann.connections.open$T")" 0 "statsd gauge: no connection open"
assert_eq "$(statsd_total gauges "gespann.build_info$T;version=$("$GS_BIN" -version | awk '{print $2}')")" 1 "statsd gauge: build_info with its version tag"
assert_eq "$(statsd_total counters statsd.bad_lines_seen)" 0 "statsd: no bad line"
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="datadog"}')" 0 "agent: no exporter error"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="datadog"}')" 0 "agent: nothing dropped"
assert_eq "$(grep -c 'level=warn adapter datadog' "$AGENT_LOG")" 0 "agent: no adapter warning"
agent_stop
statsd_stop

# ---- nobody listening: UDP to a free port, and a unix socket that does not exist ----
DEAD_PORT=$(free_port udp)
agent_start dd-down "/var/run/netns/$NS_CLI" "" "  - type: datadog
    settings:
      host: 127.0.0.1:$DEAD_PORT
      flush_interval: 200ms
  - type: datadog
    settings:
      host: unix://$E2E_TMP/nobody.socket
      flush_interval: 200ms" || { e2e_finish; exit 1; }
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5500 --conns 3 --send 10 >/dev/null 2>&1
sleep 2
scrape
udp_err1=$(metric 'gespann_exporter_errors_total{adapter="datadog"}')
uds_err1=$(metric 'gespann_exporter_errors_total{adapter="datadog_2"}')
sleep 2
scrape
assert_true "agent still running with nobody listening" kill -0 "$AGENT_PID"
for a in datadog datadog_2; do
	err=$(metric "gespann_exporter_errors_total{adapter=\"$a\"}")
	drop=$(metric "gespann_exporter_dropped_total{adapter=\"$a\"}")
	assert_ge "$err" 1 "$a: exporter errors counted"
	assert_ge "$drop" "$err" "$a: dropped datagrams >= errors"
	assert_eq "$(grep -c "level=warn adapter $a:" "$AGENT_LOG")" 1 "$a: one warning in 4 s of failures, no storm"
done
assert_ge "$(metric 'gespann_exporter_errors_total{adapter="datadog"}')" $((udp_err1 + 1)) "datadog (udp): errors keep growing"
assert_ge "$(metric 'gespann_exporter_errors_total{adapter="datadog_2"}')" $((uds_err1 + 5)) "datadog_2 (unix): one failed connect per flush"
assert_eq "$(grep -c 'level=error' "$AGENT_LOG")" 0 "no error lines"
e2e_finish
