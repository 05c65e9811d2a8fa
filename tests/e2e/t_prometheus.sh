#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The exposition against real consumers: promtool's linter (exactly the two
# documented findings of the compatibility gauges) and Debian's prometheus
# server scraping the agent on loopback, queried back through its HTTP API.
set -uo pipefail
E2E_NAME=prometheus
source "$(dirname "$0")/lib.sh"

netns_setup gse2e-prm || { not_ok "netns setup"; e2e_finish; exit 1; }
agent_start prom "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5400 --deadline-ms 200000 --reply 10 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5400 --conns 7 --send 10 >"$E2E_TMP/c.json"
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5401 --conns 2 >"$E2E_TMP/refused.json"
assert_true "7 connections closed" wait_metric gespann_closed_connections_total 7

# promtool: the only findings are the two seed gauges kept for compatibility.
scrape
findings=$(promtool check metrics <"$E2E_TMP/last.prom" 2>&1 | sort)
expected=$(printf '%s\n' \
	'gespann_avg_connection_duration_ms metric names should not contain abbreviated units' \
	'gespann_avg_rtt_microseconds use base unit "seconds" instead of "microseconds"' | sort)
assert_eq "$findings" "$expected" "promtool check metrics findings"

# A real Prometheus scrapes the agent every second.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$E2E_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: gespann
    static_configs:
      - targets: ["127.0.0.1:$AGENT_PORT"]
YML
prometheus --config.file="$E2E_TMP/prometheus.yml" --storage.tsdb.path="$E2E_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$port" >"$E2E_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
query() {
	curl -sf "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
_prom_has() { [[ "$(query "$1")" == "$2" ]]; }
assert_true "prometheus scraped gespann_tcp_connections_total = 9" wait_until 30 _prom_has gespann_tcp_connections_total 9
assert_eq "$(query 'gespann_connection_failures_total{errno="ECONNREFUSED"}')" 2 "prometheus: refused connects by errno"
assert_eq "$(query 'up{job="gespann"}')" 1 "prometheus: target up"
assert_eq "$(query 'gespann_bytes_sent_total')" 70 "prometheus: payload bytes sent"
assert_eq "$(query 'histogram_quantile(1, gespann_connect_duration_seconds_bucket) > 0')" "$(query 'histogram_quantile(1, gespann_connect_duration_seconds_bucket)')" "prometheus: histogram usable by histogram_quantile"
kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
e2e_finish
