#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Flow series Prometheus can use (issue 12): Debian's Prometheus 2.42 scrapes
# the agent every second; after its first scrape, one connect is refused (a
# closed port in the server namespace). The README's "which dependency is
# failing" query, run by that Prometheus through /api/v1/query, must name the
# dependency with a rate above 0: the new series was exported at 0 first,
# then at 1. Ground truth: the generator's errno count and the namespace's
# /proc/net/snmp AttemptFails; the samples Prometheus stored (0, then the
# generator's count); the _created sample of the OpenMetrics exposition
# Prometheus negotiated, inside the test's own clock readings around the
# connect.
set -uo pipefail
E2E_NAME=series
source "$(dirname "$0")/lib.sh"

FC=gespann_flow_connections_total
DEP_PORT=5401
# README.md, "Which dependency is failing"
FAILING_QUERY='sum by (src_process, dst_name, dst_port, outcome) (rate(gespann_flow_connections_total{outcome!="ok"}[5m]))'

command -v prometheus >/dev/null || { not_ok "prometheus installed (apt-get install prometheus)"; e2e_finish; exit 1; }
netns_setup gse2e-ser || { not_ok "netns setup"; e2e_finish; exit 1; }
agent_start series "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }

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
e2e_on_exit "kill $PROM_PID 2>/dev/null"

# prom_json QUERY: the raw /api/v1/query answer.
prom_json() {
	curl -sf "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1"
}
# query QUERY: the first result's value, "none" when there is none.
query() {
	prom_json "$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
_prom_has() { [[ "$(query "$1")" == "$2" ]]; }

assert_true "prometheus scraped the agent once (up == 1)" wait_until 30 _prom_has 'up{job="gespann"}' 1
assert_eq "$(query "count($FC{dst_port=\"$DEP_PORT\"})")" none "no series for :$DEP_PORT before the failure"

# ---- one refused connect, after that scrape ----
snmp0=$(snmp "$NS_CLI" Tcp AttemptFails)
t0=$EPOCHREALTIME
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port "$DEP_PORT" --conns 1 >"$E2E_TMP/refused.json" 2>&1
t1=$EPOCHREALTIME
assert_eq "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" 1 "generator: 1 connect refused"
assert_eq "$(($(snmp "$NS_CLI" Tcp AttemptFails) - snmp0))" 1 "/proc/net/snmp AttemptFails delta (ground truth)"

# the README query names the dependency, with a rate above 0
failing_row() {
	prom_json "$FAILING_QUERY" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = r["metric"]
    if m.get("dst_port") == sys.argv[1] and m.get("outcome") == "refused" and float(r["value"][1]) > 0:
        print(json.dumps(m, sort_keys=True), r["value"][1])' "$DEP_PORT"
}
_failing_shown() { [[ -n "$(failing_row)" ]]; }
assert_true "README failing-dependency query returns :$DEP_PORT refused with rate > 0" wait_until 30 _failing_shown
row=$(failing_row)
e2e_log "failing query: $row"
assert_true "the row is trafficgen's" grep -q '"src_process": "trafficgen"' <<<"$row"

# what Prometheus stored: 0 first, then the generator's count
samples=$(prom_json "$FC{dst_port=\"$DEP_PORT\",outcome=\"refused\"}[5m]" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(" ".join(v for _, v in r[0]["values"]) if r else "none")')
e2e_log "stored samples of $FC{dst_port=\"$DEP_PORT\",outcome=\"refused\"}: $samples"
assert_eq "${samples%% *}" 0 "first stored sample of the new series"
assert_eq "${samples##* }" "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" "last stored sample = the generator's refused count"
assert_true "increase() of the errno counter sees the failure" \
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' \
	"$(query 'increase(gespann_connection_failures_total{errno="ECONNREFUSED"}[5m])' | sed 's/none/0/')"

# OpenMetrics was negotiated: the _created sample, inside the test's clock readings
created=$(query "gespann_flow_connections_created{dst_port=\"$DEP_PORT\",outcome=\"refused\"}")
e2e_log "_created $created, connect between $t0 and $t1"
assert_true "_created ($created) within the connect's time, publish delay (5 s) included" \
	python3 -c 'import sys; c, a, b = map(float, sys.argv[1:]); sys.exit(0 if a - 0.001 <= c <= b + 5 else 1)' \
	"${created/none/0}" "$t0" "$t1"

# the exposition itself, fetched by curl: a scraper of its own, whose first
# scrape shows values as they are (Prometheus' zeros are not taken from it)
curl -sf -H 'Accept: application/openmetrics-text;version=1.0.0' \
	"http://127.0.0.1:$AGENT_PORT/metrics" >"$E2E_TMP/om.txt"
om_line=$(grep "^$FC{.*dst_port=\"$DEP_PORT\".*outcome=\"refused\"" "$E2E_TMP/om.txt")
e2e_log "OpenMetrics: $om_line"
e2e_log "OpenMetrics: $(grep "^gespann_flow_connections_created{.*dst_port=\"$DEP_PORT\"" "$E2E_TMP/om.txt")"
assert_eq "${om_line##* }" "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" "curl's first scrape: the generator's count, not 0"
assert_eq "$(tail -1 "$E2E_TMP/om.txt")" "# EOF" "the OpenMetrics text ends with # EOF"

kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
e2e_finish
