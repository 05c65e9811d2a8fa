#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OTLP over gRPC against gRPC's own server: tests/e2e/otlp_grpc_receiver.js is
# @grpc/grpc-js serving MetricsService from the vendored protos, so framing,
# HTTP/2, gzip and decoding are checked by code Gespann did not write. The
# agent watches the client namespace and pushes every second over h2c to the
# receiver on loopback; after a TCP run with known figures, the received
# values must equal the agent's own Prometheus values and the generator's
# counts. Then the status paths: UNAVAILABLE twice then OK (the same request
# retried and delivered), INVALID_ARGUMENT (not retried, error counted),
# RESOURCE_EXHAUSTED with RetryInfo (retried after its delay), and a partial
# success (delivered, the rejected points warned about). Logs over gRPC
# (logs: true): refused connects arrive at LogsService as records. Last, https:// with
# h2 chosen by ALPN against a test CA: the otlp adapter has no CA setting and
# the system store is not ours to change, so that agent runs in a mount
# namespace of its own (unshare -m) where the test CA is bind-mounted over
# libcurl's CA bundle; nothing outside that namespace sees it.
set -uo pipefail
E2E_NAME=otlp_grpc
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/exporters_lib.sh"

# ---- needs: node and the gRPC packages ----
if ! node_need; then
	not_ok "node and npm available (needed for the gRPC receiver)"
	e2e_finish
	exit 1
fi
for tool in openssl unshare; do
	command -v "$tool" >/dev/null || { not_ok "$tool installed (make deps)"; e2e_finish; exit 1; }
done
grpc_install || { not_ok "npm install ${GRPC_PKGS[*]} ($(tail -3 "$E2E_TMP/npm.log"))"; e2e_finish; exit 1; }

METHOD=/opentelemetry.proto.collector.metrics.v1.MetricsService/Export

# prom_vs_otlp PROM_SERIES OTLP_NAME [K=V...]: wait until the last delivered
# call carries the agent's current Prometheus value, then assert the two are equal.
_otlp_caught_up() { scrape && [[ "$(otlp_query value "$2" "${@:3}")" == "$(metric "$1")" ]]; }
prom_vs_otlp() {
	wait_until 5 _otlp_caught_up "$@"
	scrape
	local what="grpc $2"
	[[ $# -le 2 ]] || what+="{${*:3}}"
	assert_eq "$(otlp_query value "$2" "${@:3}")" "$(metric "$1")" "$what = Prometheus $1"
}

# family_diff FAMILY: every series of a family in the last scrape against the
# last delivered call (labels renamed as the README's OTLP table says, empty
# ones left out): "SERIES MATCHED MISMATCHED MISSING EXTRA".
family_diff() {
	python3 - "$E2E_TMP/last.prom" "$RECV_OUT" "$1" <<'PY'
import json, re, sys
prom_path, recv_path, fam = sys.argv[1:]
ren = {"protocol": "network.transport", "direction": "network.io.direction", "errno": "error.type"}
val = {("direction", "sent"): "transmit", ("direction", "received"): "receive"}
prom = {}
for line in open(prom_path):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line.strip())
    if not m or m.group(1) != fam:
        continue
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    attrs = tuple(sorted((ren.get(k, k), val.get((k, v), v)) for k, v in labels.items() if v != ""))
    prom[attrs] = float(m.group(3))
reqs = [json.loads(l) for l in open(recv_path) if l.strip()]
ok = [r for r in reqs if r["status"] == "OK"]
got = {}
for rm in (ok[-1]["body"].get("resourceMetrics", []) if ok else []):
    for sm in rm.get("scopeMetrics", []):
        for m in sm.get("metrics", []):
            if m["name"] != fam:
                continue
            data = m.get("sum") or m.get("gauge") or {}
            for p in data.get("dataPoints", []):
                attrs = tuple(sorted((a["key"], a["value"].get("stringValue")) for a in p.get("attributes", [])))
                got[attrs] = float(p["asDouble"]) if "asDouble" in p else float(p.get("asInt", 0))
same = sum(1 for k, v in prom.items() if k in got and got[k] == v)
diff = sum(1 for k, v in prom.items() if k in got and got[k] != v)
print(len(prom), same, diff, sum(1 for k in prom if k not in got), sum(1 for k in got if k not in prom))
PY
}
_family_same() { scrape && read -r n s _ <<<"$(family_diff "$1")" && [[ "$n" -gt 0 && "$s" == "$n" ]]; }

# flow_sum ATTR=VALUE...: the sum of gespann_flow_bytes_total points of the
# last delivered call whose attributes include these.
flow_sum() {
	python3 - "$RECV_OUT" "$@" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = dict(a.split("=", 1) for a in sys.argv[2:])
ok = [r for r in reqs if r["status"] == "OK"]
total = 0
for rm in (ok[-1]["body"].get("resourceMetrics", []) if ok else []):
    for sm in rm.get("scopeMetrics", []):
        for m in sm.get("metrics", []):
            if m["name"] != "gespann_flow_bytes_total":
                continue
            for p in m["sum"].get("dataPoints", []):
                attrs = {a["key"]: a["value"].get("stringValue") for a in p.get("attributes", [])}
                if all(attrs.get(k) == v for k, v in want.items()):
                    total += float(p.get("asDouble", 0))
print(int(total))
PY
}

# call_field SEQ KEY: a field of call SEQ in the receiver's log ("absent" when not there).
call_field() {
	python3 - "$RECV_OUT" "$1" "$2" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
i, key = int(sys.argv[2]), sys.argv[3]
r = reqs[i] if i < len(reqs) else {}
v = r.get(key, r.get("headers", {}).get(key, r.get("metadata", {}).get(key, "absent")))
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
PY
}

# same_body SEQ1 SEQ2: "same" when two calls carried the same request.
same_body() {
	python3 - "$RECV_OUT" "$1" "$2" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a, b = reqs[int(sys.argv[2])]["body"], reqs[int(sys.argv[3])]["body"]
print("same" if a == b and a.get("resourceMetrics") else "different")
PY
}

_errors_at_least() { scrape && (($(metric 'gespann_exporter_errors_total{adapter="otlp"}') >= $1)); }

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

# grpc_adapter [SETTINGS_LINES]: an otlp adapter speaking grpc to the receiver.
grpc_adapter() {
	printf '  - type: otlp\n    settings:\n      protocol: grpc\n      endpoint: http://127.0.0.1:%s\n' "$RECV_PORT"
	[[ -n "${1:-}" ]] && printf '%s\n' "$1"
	return 0
}

netns_setup gse2e-ogrpc || { not_ok "netns setup"; e2e_finish; exit 1; }
start_server s1 5611

# ==== 1. h2c, gzip, a custom header: the values ====
grpc_receiver_start ok || { e2e_finish; exit 1; }
agent_start grpc-ok "/var/run/netns/$NS_CLI" "idle_timeout: 1s" "$(grpc_adapter "      interval: 1s
      timeout: 1500ms
      compression: gzip
      headers:
        X-Gespann-Test: e2e")" || { e2e_finish; exit 1; }
tcp_run ok 5611 20
assert_true "grpc: a call received" wait_until 5 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 1 ]]"
assert_eq "$(call_field 0 path)" "$METHOD" "grpc: the MetricsService Export method"
assert_eq "$(call_field 0 :method)" POST "grpc: method"
assert_eq "$(call_field 0 :scheme)" http "grpc: h2c (http scheme)"
assert_eq "$(call_field 0 content-type)" application/grpc "grpc: content-type"
assert_eq "$(call_field 0 te)" trailers "grpc: te: trailers"
assert_eq "$(call_field 0 grpc-timeout)" 1500m "grpc: grpc-timeout from the adapter timeout"
assert_eq "$(call_field 0 grpc-encoding)" gzip "grpc: grpc-encoding"
assert_eq "$(call_field 0 flag)" 1 "grpc: the message's compressed flag"
assert_eq "$(call_field 0 x-gespann-test)" e2e "grpc: configured header sent as metadata"
assert_eq "$(grep -vc '"status":"OK"' "$RECV_OUT" || true)" 0 "grpc: every call decoded by grpc-js and answered OK"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
prom_vs_otlp gespann_bytes_sent_total gespann_bytes_sent_total
prom_vs_otlp gespann_bytes_received_total gespann_bytes_received_total
prom_vs_otlp gespann_connect_duration_seconds_count gespann_connect_duration_seconds
prom_vs_otlp 'gespann_connection_events_total{type="established",protocol="tcp",reset_reason=""}' gespann_connection_events_total type=established network.transport=tcp
assert_eq "$(otlp_query value gespann_closed_connections_total)" 20 "grpc: 20 connections closed"
assert_eq "$(otlp_query value gespann_connect_duration_seconds)" 20 "grpc: connect histogram count = 20"
assert_eq "$(otlp_query value gespann_bytes_sent_total)" "$(jget "$E2E_TMP/ok.json" bytes_sent)" "grpc: bytes sent = generator's count"
assert_eq "$(otlp_query value gespann_bytes_received_total)" "$(jget "$E2E_TMP/ok.json" bytes_received)" "grpc: bytes received = generator's count"
# the flow series, each label set: every one equal to /metrics
assert_true "grpc: every gespann_flow_bytes_total series caught up" wait_until 5 _family_same gespann_flow_bytes_total
read -r n s d miss extra <<<"$(family_diff gespann_flow_bytes_total)"
e2e_log "gespann_flow_bytes_total: $n series, $s equal, $d different, $miss missing, $extra extra"
assert_eq "$s/$d/$miss/$extra" "$n/0/0/0" "grpc: flow series equal to /metrics (equal/different/missing/extra)"
assert_eq "$(flow_sum network.io.direction=transmit dst_port=5611 role=client)" 20000 "grpc: flow bytes sent to port 5611 = 20 x 1000"
assert_eq "$(flow_sum network.io.direction=receive dst_port=5611 role=client)" 60000 "grpc: flow bytes received from port 5611 = 20 x 3000"
assert_eq "$(otlp_query kind gespann_closed_connections_total)" sum/2/true "grpc: counter is a cumulative monotonic sum"
assert_eq "$(otlp_query kind gespann_rtt_seconds)" histogram/2 "grpc: histogram is a cumulative histogram"
assert_eq "$(otlp_query resource service.name)" gespann "grpc: resource service.name"
assert_eq "$(otlp_query resource host.name)" "$(hostname)" "grpc: resource host.name"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 0 "grpc: no exporter errors"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "grpc: no snapshot dropped"
assert_true "grpc: the agent logs the protocol" grep -q 'otlp exporter pushing to http://127.0.0.1:.* (grpc, gzip)' "$AGENT_LOG"
agent_stop
receiver_stop

# ==== 2. UNAVAILABLE twice, then OK: the same request retried and delivered ====
# Backoff 1-1.5 s then 2-3 s: an interval of 6 s leaves room for both retries.
grpc_receiver_start unavail unavailable 2 || { e2e_finish; exit 1; }
agent_start grpc-unavail "/var/run/netns/$NS_CLI" "" "$(grpc_adapter "      interval: 6s")" || { e2e_finish; exit 1; }
assert_true "unavailable: three calls" wait_until 15 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 3 ]]"
assert_eq "$(call_field 0 status)" UNAVAILABLE "unavailable: first call answered UNAVAILABLE"
assert_eq "$(call_field 1 status)" UNAVAILABLE "unavailable: first retry answered UNAVAILABLE"
assert_eq "$(call_field 2 status)" OK "unavailable: second retry answered OK"
assert_eq "$(same_body 0 2)" same "unavailable: the delivered retry carries the same request"
assert_eq "$(same_body 0 1)" same "unavailable: and so did the first retry"
assert_ge "$(otlp_query gap 0 1)" 950 "unavailable: first retry after >= 1 s backoff (ms)"
assert_ge "$(otlp_query gap 1 2)" 1950 "unavailable: second retry after >= 2 s backoff (ms)"
assert_ge 5500 "$(otlp_query gap 0 2)" "unavailable: delivered before the next interval (ms)"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 2 "unavailable: two errors counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "unavailable: nothing dropped"
assert_true "unavailable: warning names the status" grep -q 'gRPC UNAVAILABLE (14): injected unavailable), retrying in' "$AGENT_LOG"
assert_true "unavailable: recovery logged" grep -q 'works again after 2 failed requests' "$AGENT_LOG"
agent_stop
receiver_stop

# ==== 3. INVALID_ARGUMENT: an error, not retried ====
grpc_receiver_start invalid invalid 1 || { e2e_finish; exit 1; }
agent_start grpc-invalid "/var/run/netns/$NS_CLI" "" "$(grpc_adapter "      interval: 1s")" || { e2e_finish; exit 1; }
assert_true "invalid: a later call answered OK" wait_until 10 bash -c "[[ \$(grep -c '\"status\":\"OK\"' '$RECV_OUT') -ge 1 ]]"
assert_eq "$(otlp_query count INVALID_ARGUMENT)" 1 "invalid: one call answered INVALID_ARGUMENT"
assert_ge "$(otlp_query gap 0 1)" 800 "invalid: next call one interval later (ms), not a retry"
assert_eq "$(same_body 0 1)" different "invalid: the next call is a new snapshot"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 1 "invalid: error counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 1 "invalid: snapshot dropped"
# grpc-message is percent-encoded on the wire; the log shows it decoded
assert_true "invalid: warning with the decoded grpc-message" grep -q 'gRPC INVALID_ARGUMENT (3): injected: bad data ✓, not retried' "$AGENT_LOG"
agent_stop
receiver_stop

# ==== 4. RESOURCE_EXHAUSTED with RetryInfo: retried after its delay ====
grpc_receiver_start exhausted exhausted 1 || { e2e_finish; exit 1; }
agent_start grpc-exhausted "/var/run/netns/$NS_CLI" "" "$(grpc_adapter "      interval: 5s")" || { e2e_finish; exit 1; }
assert_true "exhausted: retried" wait_until 10 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 2 ]]"
assert_eq "$(call_field 0 status)" RESOURCE_EXHAUSTED "exhausted: first call answered RESOURCE_EXHAUSTED"
assert_eq "$(call_field 1 status)" OK "exhausted: the retry answered OK"
assert_eq "$(same_body 0 1)" same "exhausted: the retry carries the same request"
assert_ge "$(otlp_query gap 0 1)" 1950 "exhausted: retry waited RetryInfo's 2 s (ms)"
assert_ge 4500 "$(otlp_query gap 0 1)" "exhausted: retry came before the next interval (ms)"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 1 "exhausted: one error counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "exhausted: nothing dropped"
assert_true "exhausted: retry in 2000 ms logged" grep -q 'retrying in 2000 ms' "$AGENT_LOG"
agent_stop
receiver_stop

# ==== 5. partial success: delivered, the rejected points warned about ====
grpc_receiver_start partial partial 1 || { e2e_finish; exit 1; }
agent_start grpc-partial "/var/run/netns/$NS_CLI" "" "$(grpc_adapter "      interval: 1s")" || { e2e_finish; exit 1; }
assert_true "partial: two calls" wait_until 10 bash -c "[[ \$(wc -l <'$RECV_OUT') -ge 2 ]]"
assert_ge "$(otlp_query gap 0 1)" 800 "partial: not retried (ms)"
assert_true "partial: warning logged" wait_until 3 grep -q 'partial success, 3 data points rejected: injected: 3 points refused' "$AGENT_LOG"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 0 "partial: not an error"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "partial: nothing dropped"
assert_eq "$(metric 'gespann_exporter_rejected_total{adapter="otlp"}')" 3 "partial: the 3 rejected points counted"
agent_stop
receiver_stop

# ==== 6. logs over gRPC: LogsService on the same endpoint, the example config ====
LOGS_OUT=$E2E_TMP/logs-calls.jsonl
: >"$LOGS_OUT"
grpc_receiver_start logs none 0 --logs-out "$LOGS_OUT" || { e2e_finish; exit 1; }
# the README's Collector setup as written (examples/fleet/otlp-collector.yaml),
# the endpoint's port and the interval changed
EXAMPLE=$E2E_ROOT/examples/fleet/otlp-collector.yaml
"$GS_BIN" -check-config "$EXAMPLE" >/dev/null 2>&1
assert_eq "$?" 0 "examples/fleet/otlp-collector.yaml passes -check-config"
agent_start grpc-logs "/var/run/netns/$NS_CLI" "" "$(sed -n '/^  - type: otlp/,$p' "$EXAMPLE" |
	sed -E -e "s#http://localhost:[0-9]+/#http://127.0.0.1:$RECV_PORT/#" -e 's/^( *interval:).*/\1 1s/')" ||
	{ e2e_finish; exit 1; }
# 3 connects to a port nothing listens on: 3 ECONNREFUSED, 3 log records
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5699 --conns 3 >"$E2E_TMP/refused.json" 2>"$E2E_TMP/refused.err"
assert_eq "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" 3 "logs: generator saw 3 ECONNREFUSED"
# log_records: "EVENT ERROR_TYPE PORT" per record received over gRPC
log_records() {
	python3 - "$LOGS_OUT" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    call = json.loads(line)
    for rl in call["body"].get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for r in sl.get("logRecords", []):
                a = {x["key"]: x["value"] for x in r.get("attributes", [])}
                port = a.get("server.port", {})
                print(r.get("eventName", ""), a.get("error.type", {}).get("stringValue", "-"),
                      port.get("intValue", port.get("stringValue", "-")))
PY
}
_three_failed() { [[ $(log_records | grep -c '^gespann.connection.failed ECONNREFUSED 5699$') -ge 3 ]]; }
assert_true "logs: 3 records received over gRPC" wait_until 10 _three_failed
assert_eq "$(log_records | grep -c '^gespann.connection.failed ')" 3 "logs: exactly 3 connection.failed records, ECONNREFUSED to port 5699"
assert_eq "$(python3 -c 'import json,sys; print(sorted({json.loads(l)["path"] for l in open(sys.argv[1]) if l.strip()}))' "$LOGS_OUT")" \
	"['/opentelemetry.proto.collector.logs.v1.LogsService/Export']" "logs: sent to LogsService/Export"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
scrape
assert_eq "$(metric 'gespann_log_records_total{event="gespann.connection.failed"}')" 3 "logs: 3 records queued"
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 0 "logs: no exporter errors"
agent_stop
receiver_stop

# ==== 7. https://: h2 by ALPN, the server's certificate checked ====
D=$E2E_TMP/pki
mkdir -p "$D"
CA_BUNDLE=$(curl-config --ca 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gespann-grpc-test \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$D/server.key" -out "$D/server.crt" >"$E2E_TMP/openssl.log" 2>&1
[[ -s "$D/server.crt" && -f "$CA_BUNDLE" ]] || { not_ok "certificate made ($(tail -3 "$E2E_TMP/openssl.log"))"; e2e_finish; exit 1; }
# the agent, its pid unchanged (unshare and sh exec), sees the test CA as the bundle
cat >"$E2E_TMP/tls-agent.sh" <<SH
#!/bin/sh
exec unshare -m --propagation private -- /bin/sh -c 'mount --bind "\$0" "$CA_BUNDLE" && exec "\$@"' "$D/server.crt" "$GS_BIN" "\$@"
SH
chmod +x "$E2E_TMP/tls-agent.sh"
grpc_receiver_start tls none 0 --cert "$D/server.crt" --key "$D/server.key" || { e2e_finish; exit 1; }
GS_BIN=$E2E_TMP/tls-agent.sh agent_start grpc-tls "/var/run/netns/$NS_CLI" "" "$(printf '  - type: otlp\n    settings:\n      protocol: grpc\n      endpoint: https://127.0.0.1:%s\n      interval: 1s\n' "$RECV_PORT")" || { e2e_finish; exit 1; }
tcp_run tls 5611 5
assert_true "tls: a call delivered" wait_until 5 bash -c "[[ \$(grep -c '\"status\":\"OK\"' '$RECV_OUT') -ge 1 ]]"
assert_eq "$(call_field 0 :scheme)" https "tls: https scheme"
prom_vs_otlp gespann_closed_connections_total gespann_closed_connections_total
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 0 "tls: no exporter errors"
agent_stop
receiver_stop
# the same receiver, the agent without the test CA: refused, not retried
grpc_receiver_start tls-untrusted none 0 --cert "$D/server.crt" --key "$D/server.key" || { e2e_finish; exit 1; }
agent_start grpc-untrusted "/var/run/netns/$NS_CLI" "" "$(printf '  - type: otlp\n    settings:\n      protocol: grpc\n      endpoint: https://127.0.0.1:%s\n      interval: 1s\n' "$RECV_PORT")" || { e2e_finish; exit 1; }
assert_true "untrusted: two failed pushes" wait_until 6 _errors_at_least 2
assert_eq "$(wc -l <"$RECV_OUT")" 0 "untrusted: no call reached the receiver"
assert_true "untrusted: certificate error logged" grep -q 'export to https://127.0.0.1:.* failed (.*certificate' "$AGENT_LOG"
agent_stop
receiver_stop
e2e_finish
