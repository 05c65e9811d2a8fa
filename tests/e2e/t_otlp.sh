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

NODE_DIR=$E2E_ROOT/build/node
OTLP_PKG=@opentelemetry/otlp-proto-exporter-base@0.51.1
OTLP_ROOT_JS=$NODE_DIR/node_modules/@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js
RECV_PID=
RECV_PORT=
RECV_OUT=

# ---- needs: node and the OpenTelemetry JS package ----
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	not_ok "node and npm available (needed for the OTLP receiver)"
	e2e_finish
	exit 1
fi
if [[ ! -f "$OTLP_ROOT_JS" ]]; then
	e2e_log "installing $OTLP_PKG into $NODE_DIR"
	npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$OTLP_PKG" >"$E2E_TMP/npm.log" 2>&1 ||
		{ not_ok "npm install $OTLP_PKG ($(tail -3 "$E2E_TMP/npm.log"))"; e2e_finish; exit 1; }
fi

# receiver_start NAME [FAIL_MODE COUNT]: start a receiver writing $E2E_TMP/NAME.jsonl.
receiver_start() {
	local name=$1 mode=${2:-none} count=${3:-0}
	RECV_OUT=$E2E_TMP/$name.jsonl
	: >"$RECV_OUT"
	rm -f "$E2E_TMP/$name.port"
	node "$E2E_ROOT/tests/e2e/otlp_receiver.js" --root "$OTLP_ROOT_JS" --out "$RECV_OUT" \
		--port-file "$E2E_TMP/$name.port" --fail "$mode" --count "$count" >"$E2E_TMP/$name.recv.log" 2>&1 &
	RECV_PID=$!
	if ! wait_for test -s "$E2E_TMP/$name.port"; then
		not_ok "receiver $name started ($(tail -3 "$E2E_TMP/$name.recv.log"))"
		return 1
	fi
	RECV_PORT=$(cat "$E2E_TMP/$name.port")
	e2e_log "receiver $name pid $RECV_PID port $RECV_PORT (fail: $mode x $count)"
}

receiver_stop() {
	[[ -n "$RECV_PID" ]] || return 0
	kill -TERM "$RECV_PID" 2>/dev/null || true
	wait "$RECV_PID" 2>/dev/null || true
	RECV_PID=
}
trap 'receiver_stop' EXIT # netns_setup chains its teardown in front of this

# otlp_adapter [SETTINGS_LINES]: the YAML of an otlp adapter entry to the receiver.
otlp_adapter() {
	printf '  - type: otlp\n    settings:\n      endpoint: http://127.0.0.1:%s/v1/metrics\n' "$RECV_PORT"
	[[ -n "${1:-}" ]] && printf '%s\n' "$1"
	return 0
}

# oq QUERY ARGS...: read the receiver's log ($RECV_OUT). Queries:
#   count [STATUS]           requests received (with that status)
#   value NAME [K=V...]      from the last request answered 200: the point's value
#                            (a histogram's count), attributes matched exactly
#   kind NAME                sum/<temporality>/<monotonic>, gauge, histogram/<temporality>
#   unit NAME                the metric's unit
#   resource KEY             a resource attribute
#   scope                    the scope name
#   field SEQ KEY            contentType, contentEncoding, status, t_ms, or a header
#   snapshot SEQ             timeUnixNano of the first point of request SEQ
#   gap SEQ1 SEQ2            ms between two requests' arrival
oq() {
	python3 - "$RECV_OUT" "$@" <<'PY'
import json, sys
path, q, args = sys.argv[1], sys.argv[2], sys.argv[3:]
reqs = [json.loads(l) for l in open(path) if l.strip()]
def metrics(r):
    out = {}
    for rm in r.get("body", {}).get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                out[m["name"]] = m
    return out
def last_ok():
    ok = [r for r in reqs if r["status"] == 200]
    return ok[-1] if ok else {}
def attrs(p):
    return {a["key"]: a["value"].get("stringValue") for a in p.get("attributes", [])}
def num(x):
    v = float(x)
    return str(int(v)) if v == int(v) else repr(v)
if q == "count":
    print(sum(1 for r in reqs if not args or str(r["status"]) == args[0]))
elif q in ("value", "kind", "unit"):
    m = metrics(last_ok()).get(args[0])
    if m is None:
        print("absent")
    elif q == "unit":
        print(m.get("unit", ""))
    elif q == "kind":
        if "sum" in m:
            print("sum/%s/%s" % (m["sum"].get("aggregationTemporality", 0),
                                 str(m["sum"].get("isMonotonic", False)).lower()))
        elif "gauge" in m:
            print("gauge")
        elif "histogram" in m:
            print("histogram/%s" % m["histogram"].get("aggregationTemporality", 0))
        else:
            print("other")
    else:
        want = dict(a.split("=", 1) for a in args[1:])
        data = m.get("sum") or m.get("gauge") or m.get("histogram")
        pts = [p for p in data.get("dataPoints", []) if attrs(p) == want]
        if not pts:
            print("absent")
        elif "histogram" in m:
            print(num(pts[0].get("count", 0)))
        else:
            p = pts[0]
            print(num(p["asDouble"]) if "asDouble" in p else num(p.get("asInt", 0)))
elif q == "resource":
    rm = last_ok().get("body", {}).get("resourceMetrics", [{}])[0]
    print(attrs(rm.get("resource", {})).get(args[0], "absent"))
elif q == "scope":
    rm = last_ok().get("body", {}).get("resourceMetrics", [{}])[0]
    print(rm.get("scopeMetrics", [{}])[0].get("scope", {}).get("name", "absent"))
elif q == "field":
    r = reqs[int(args[0])] if int(args[0]) < len(reqs) else {}
    print(r.get(args[1], r.get("headers", {}).get(args[1].lower(), "absent")))
elif q == "snapshot":
    r = reqs[int(args[0])] if int(args[0]) < len(reqs) else {}
    for m in metrics(r).values():
        data = m.get("sum") or m.get("gauge") or m.get("histogram")
        if data and data.get("dataPoints"):
            print(data["dataPoints"][0].get("timeUnixNano"))
            break
    else:
        print("absent")
elif q == "gap":
    print(reqs[int(args[1])]["t_ms"] - reqs[int(args[0])]["t_ms"])
PY
}

# prom_vs_otlp PROM_SERIES OTLP_NAME [K=V...]: wait until the last push carries
# the agent's current Prometheus value, then assert the two are equal.
_otlp_caught_up() { scrape && [[ "$(oq value "$2" "${@:3}")" == "$(metric "$1")" ]]; }
prom_vs_otlp() {
	wait_until 5 _otlp_caught_up "$@"
	scrape
	local what="otlp $2"
	[[ $# -le 2 ]] || what+="{${*:3}}"
	assert_eq "$(oq value "$2" "${@:3}")" "$(metric "$1")" "$what = Prometheus $1"
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
assert_eq "$(oq field 0 method)" POST "protobuf: method"
assert_eq "$(oq field 0 url)" /v1/metrics "protobuf: path"
assert_eq "$(oq field 0 contentType)" application/x-protobuf "protobuf: Content-Type"
assert_eq "$(oq field 0 contentEncoding)" gzip "protobuf: Content-Encoding"
assert_eq "$(oq field 0 X-Gespann-Test)" e2e "protobuf: configured header sent"
assert_eq "$(oq count 400)" 0 "protobuf: every request decoded by the OpenTelemetry JS decoder"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
prom_vs_otlp gespann_bytes_sent_total gespann_bytes_sent_total
prom_vs_otlp gespann_bytes_received_total gespann_bytes_received_total
prom_vs_otlp gespann_connect_duration_seconds_count gespann_connect_duration_seconds
prom_vs_otlp 'gespann_connection_bandwidth_bytes_total{direction="sent",protocol="tcp"}' gespann_connection_bandwidth_bytes_total network.io.direction=transmit network.transport=tcp
prom_vs_otlp 'gespann_connection_events_total{type="established",protocol="tcp",reset_reason=""}' gespann_connection_events_total type=established network.transport=tcp
assert_eq "$(oq value gespann_bytes_sent_total)" "$(jget "$E2E_TMP/pb.json" bytes_sent)" "protobuf: bytes sent = generator's count"
assert_eq "$(oq kind gespann_closed_connections_total)" sum/2/true "protobuf: counter is a cumulative monotonic sum"
assert_eq "$(oq kind gespann_open_connections)" gauge "protobuf: gauge is a gauge"
assert_eq "$(oq kind gespann_rtt_seconds)" histogram/2 "protobuf: histogram is a cumulative histogram"
assert_eq "$(oq unit gespann_bytes_sent_total)" By "protobuf: unit of bytes"
assert_eq "$(oq unit gespann_rtt_seconds)" s "protobuf: unit of seconds"
assert_eq "$(oq unit gespann_open_connections)" "{connection}" "protobuf: unit of connections"
assert_eq "$(oq resource service.name)" gespann "protobuf: resource service.name"
assert_eq "$(oq resource service.version)" "$("$GS_BIN" -version | awk '{print $2}')" "protobuf: resource service.version"
assert_eq "$(oq resource host.name)" "$(hostname)" "protobuf: resource host.name"
assert_eq "$(oq resource os.type)" linux "protobuf: resource os.type"
assert_eq "$(oq scope)" gespann "protobuf: scope name"
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
assert_eq "$(oq field 0 contentType)" application/json "json: Content-Type"
assert_eq "$(oq field 0 contentEncoding)" "" "json: no Content-Encoding"
assert_eq "$(oq count 400)" 0 "json: every body parsed"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
prom_vs_otlp gespann_bytes_sent_total gespann_bytes_sent_total
prom_vs_otlp gespann_connect_duration_seconds_count gespann_connect_duration_seconds
assert_eq "$(oq value gespann_closed_connections_total)" 5 "json: 5 connections closed"
assert_eq "$(oq kind gespann_closed_connections_total)" sum/2/true "json: counter is a cumulative monotonic sum"
assert_eq "$(oq kind gespann_open_connections)" gauge "json: gauge is a gauge"
assert_eq "$(oq kind gespann_connect_duration_seconds)" histogram/2 "json: histogram is a cumulative histogram"
assert_eq "$(oq resource service.name)" gespann "json: resource service.name"
assert_eq "$(oq resource os.type)" linux "json: resource os.type"
agent_stop
receiver_stop

# ==== 3a. 500: an error, not retried ====
receiver_start e500 500 3 || { e2e_finish; exit 1; }
agent_start otlp-500 "/var/run/netns/$NS_CLI" "" "$(otlp_adapter "      interval: 1s")" || { e2e_finish; exit 1; }
assert_true "500: a request answered 200 after three 500s" wait_until 10 bash -c "[[ \$(grep -c '\"status\":200' '$RECV_OUT') -ge 1 ]]"
assert_eq "$(oq count 500)" 3 "500: three requests answered 500"
assert_ge "$(oq gap 0 1)" 800 "500: next request one interval later (ms), not a retry"
assert_ge "$(oq gap 1 2)" 800 "500: and the one after (ms)"
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
assert_eq "$(oq field 0 status)" 429 "429: first request answered 429"
assert_eq "$(oq field 1 status)" 200 "429: retry answered 200"
assert_ge "$(oq gap 0 1)" 950 "429: retry waited Retry-After: 1 (ms)"
assert_ge 2500 "$(oq gap 0 1)" "429: retry came before the next interval (ms)"
assert_eq "$(oq snapshot 1)" "$(oq snapshot 0)" "429: the retry carries the same snapshot"
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
