#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OTLP logs: the agent's events as log records, decoded by an independent
# receiver (tests/e2e/otlp_logs_receiver.js: protobufjs from npm over the
# vendored .proto files; JSON.parse for http/json). The agent watches the
# client namespace; a DNS server (tests/lib/dnsserver.py) and TCP servers
# live in the server namespace. Ground truth is the traffic generator's own
# errno counts, /proc/net/snmp and the DNS server's log:
#   1. http/protobuf + gzip: N refused connects, M connections reset (RST
#      received from a --rst server, RST sent by --abort), K DNS answers;
#      the receiver gets exactly N, M, K records with their attributes, and
#      the agent's gespann_log_records_total says the same;
#   2. http/json: the same facts through the JSON mapping;
#   3. a burst of 1000 failures with logs_rate 100: records received plus
#      drops counted (and exported) = 1000 exactly;
#   4. a receiver answering 503 to logs: the batch retried once within the
#      interval, then dropped and counted (export_failed), metrics delivered;
#   5. a receiver that never answers logs: metrics still pushed every
#      interval and /metrics answered at once (logs hold nothing back).
set -uo pipefail
E2E_NAME=otlp_logs
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/exporters_lib.sh"

DNSSERVER=$E2E_ROOT/tests/lib/dnsserver.py
DNSCLIENT=$E2E_ROOT/tests/lib/dnsclient.py
DNS_LOG=$E2E_TMP/dnsserver.log
PROTOS=$E2E_ROOT/third_party/opentelemetry-proto
PROTOBUFJS=$NODE_DIR/node_modules/protobufjs
LOGS_RECV=$E2E_ROOT/tests/e2e/otlp_logs_receiver.js

# ---- needs: node, npm, protobufjs (a dependency of the OTLP package) ----
if ! node_need; then
	not_ok "node and npm available (needed for the OTLP receiver)"
	e2e_finish
	exit 1
fi
if [[ ! -f "$PROTOBUFJS/package.json" ]]; then
	otlp_install || { not_ok "npm install $OTLP_PKG ($(tail -3 "$E2E_TMP/npm.log"))"; e2e_finish; exit 1; }
fi
if [[ ! -f "$PROTOBUFJS/package.json" ]]; then
	e2e_log "installing protobufjs@7 into $NODE_DIR"
	npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error protobufjs@7 >"$E2E_TMP/npm.log" 2>&1 ||
		{ not_ok "npm install protobufjs@7 ($(tail -3 "$E2E_TMP/npm.log"))"; e2e_finish; exit 1; }
fi

# logs_receiver_start NAME [FAIL_STATUS]: a receiver writing $E2E_TMP/NAME.jsonl.
logs_receiver_start() {
	local name=$1 fail=${2:-0}
	RECV_OUT=$E2E_TMP/$name.jsonl
	: >"$RECV_OUT"
	rm -f "$E2E_TMP/$name.port"
	node "$LOGS_RECV" --protobufjs "$PROTOBUFJS" --protos "$PROTOS" --out "$RECV_OUT" \
		--port-file "$E2E_TMP/$name.port" --fail-logs "$fail" >"$E2E_TMP/$name.recv.log" 2>&1 &
	RECV_PID=$!
	if ! wait_for test -s "$E2E_TMP/$name.port"; then
		not_ok "receiver $name started ($(tail -3 "$E2E_TMP/$name.recv.log"))"
		return 1
	fi
	RECV_PORT=$(cat "$E2E_TMP/$name.port")
	e2e_log "logs receiver $name pid $RECV_PID port $RECV_PORT (logs answered ${fail/#0/200})"
}

# logs_query QUERY ARGS...: read the receiver's log. Records are those of
# requests to /v1/logs answered 200 unless said otherwise. Queries:
#   requests PATH [STATUS]       requests to PATH (with that status)
#   requests_not PATH STATUS     requests to PATH answered otherwise
#   count EVENT [K=V...]         records of EVENT whose attributes match
#   values EVENT KEY             sorted distinct values of attribute KEY
#   absent EVENT KEY             records of EVENT without attribute KEY
#   field EVENT N FIELD          severityNumber, severityText, body, timeUnixNano ...
#   resource KEY                 a resource attribute of the last logs request
#   scope                        its scope name
#   failed_records               records in /v1/logs requests not answered 200
#   batches_same                 "yes" when every failed logs request carried the same records
#   metrics_gap                  the longest time between two metrics requests (ms)
logs_query() {
	python3 - "$RECV_OUT" "$@" <<'PY'
import json, sys
path, q, args = sys.argv[1], sys.argv[2], sys.argv[3:]
reqs = [json.loads(l) for l in open(path) if l.strip()]
def val(v):
    if "stringValue" in v: return v["stringValue"]
    if "intValue" in v: return str(v["intValue"])
    if "doubleValue" in v: return repr(float(v["doubleValue"]))
    if "boolValue" in v: return str(v["boolValue"]).lower()
    if "arrayValue" in v: return ",".join(val(x) for x in v["arrayValue"].get("values", []))
    return "?"
def records(r):
    out = []
    for rl in r.get("body", {}).get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            out.extend(sl.get("logRecords", []))
    return out
def attrs(rec):
    return {a["key"]: val(a["value"]) for a in rec.get("attributes", [])}
logs = [r for r in reqs if r["url"] == "/v1/logs"]
ok = [x for r in logs if r["status"] == 200 for x in records(r)]
def of(ev, want=()):
    w = dict(a.split("=", 1) for a in want)
    return [x for x in ok if x.get("eventName") == ev and all(attrs(x).get(k) == v for k, v in w.items())]
if q == "requests":
    print(sum(1 for r in reqs if r["url"] == args[0] and (len(args) < 2 or str(r["status"]) == args[1])))
elif q == "requests_not":
    print(sum(1 for r in reqs if r["url"] == args[0] and str(r["status"]) != args[1]))
elif q == "count":
    print(len(of(args[0], args[1:])))
elif q == "values":
    print(" ".join(sorted({attrs(x).get(args[1], "absent") for x in of(args[0])})))
elif q == "absent":
    print(sum(1 for x in of(args[0]) if args[1] not in attrs(x)))
elif q == "field":
    xs = of(args[0])
    x = xs[int(args[1])] if int(args[1]) < len(xs) else {}
    v = x.get(args[2], "absent")
    print(val(v) if isinstance(v, dict) else v)
elif q == "resource":
    last = [r for r in logs if r["status"] == 200]
    rl = last[-1]["body"]["resourceLogs"][0] if last else {}
    print(attrs(rl.get("resource", {})).get(args[0], "absent"))
elif q == "scope":
    last = [r for r in logs if r["status"] == 200]
    rl = last[-1]["body"]["resourceLogs"][0] if last else {}
    print(rl.get("scopeLogs", [{}])[0].get("scope", {}).get("name", "absent"))
elif q == "failed_records":
    print(sum(len(records(r)) for r in logs if r["status"] != 200))
elif q == "metrics_gap":
    t = [r["t_ms"] for r in reqs if r["url"] == "/v1/metrics"]
    print(max([b - a for a, b in zip(t, t[1:])] or [0]))
elif q == "batches_same":
    bad = [json.dumps(records(r), sort_keys=True) for r in logs if r["status"] != 200]
    print("yes" if bad and all(b == bad[0] for b in bad) else "no")
PY
}

# logs_adapter [SETTINGS_LINES]: an otlp adapter with logs on, to the receiver.
logs_adapter() {
	otlp_adapter "      logs: true
$1"
}

tcpc() { # OUT ARGS...: a TCP client in the client namespace, JSON to $E2E_TMP/OUT.json
	local out=$1
	shift
	netns_cli "$TRAFFICGEN" tcp-client "$@" >"$E2E_TMP/$out.json" 2>"$E2E_TMP/$out.err"
}

dnsc() { # OUT ARGS...: dnsclient in the client namespace, JSON to $E2E_TMP/OUT.json
	local out=$1
	shift
	netns_cli python3 "$DNSCLIENT" "$@" >"$E2E_TMP/$out.json" 2>"$E2E_TMP/$out.err"
}

# The answered A queries for NAME the DNS server logged (ground truth).
dns_answered() {
	python3 - "$DNS_LOG" "$1" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not r.get("malformed") and r["name"] == sys.argv[2] and r["qtype"] == "A" and r["rcode"] == "NOERROR":
        n += 1
print(n)
PY
}

log_family() { # EVENT: gespann_log_records_total{event=EVENT}
	metric "gespann_log_records_total{event=\"$1\"}"
}
log_dropped() { # REASON
	metric "gespann_log_records_dropped_total{reason=\"$1\"}"
}

# ==== setup: namespaces, a DNS server the client resolves through, TCP servers ====
netns_setup gse2e-logs || { not_ok "netns setup"; e2e_finish; exit 1; }
NETNS_ETC=/etc/netns/$NS_CLI
logs_cleanup() {
	rm -f "$NETNS_ETC/resolv.conf"
	rmdir "$NETNS_ETC" 2>/dev/null || true
	rmdir /etc/netns 2>/dev/null || true # only when no other test uses it
}
e2e_on_exit logs_cleanup
mkdir -p "$NETNS_ETC"
printf 'nameserver %s\noptions attempts:1 timeout:2 ndots:1\n' "$SRV4" >"$NETNS_ETC/resolv.conf"
netns_srv python3 "$DNSSERVER" --bind "$SRV4" --log "$DNS_LOG" >"$E2E_TMP/dnsserver.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/dnsserver.out" || not_ok "dns server listening ($(cat "$E2E_TMP/dnsserver.out"))"
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5701 --deadline-ms 300000 >"$E2E_TMP/s-ok.srv" 2>&1 &
wait_for grep -q listening "$E2E_TMP/s-ok.srv" || not_ok "server on 5701 listening"
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5702 --deadline-ms 300000 --rst >"$E2E_TMP/s-rst.srv" 2>&1 &
wait_for grep -q listening "$E2E_TMP/s-rst.srv" || not_ok "server on 5702 listening"
REFUSED_PORT=5709 # nothing listens

DNS_YAML=$(issue5_yaml 'dns:
  enabled: true
  timeout: 1s')

# ==== 1. http/protobuf + gzip: N failures, M resets, K DNS answers ====
N=5 M_RCVD=4 M_SENT=3 K=3
logs_receiver_start pb || { e2e_finish; exit 1; }
agent_start logs-pb "/var/run/netns/$NS_CLI" "idle_timeout: 1s
$DNS_YAML" "$(logs_adapter "      interval: 1s
      compression: gzip
      logs_rate: 1000")" || { e2e_finish; exit 1; }
snmp_rst0=$(snmp "$NS_CLI" Tcp OutRsts)
tcpc refused --connect "$SRV4" --port "$REFUSED_PORT" --conns "$N"
tcpc rstrecv --connect "$SRV4" --port 5702 --conns "$M_RCVD" --send 100
tcpc rstsend --connect "$SRV4" --port 5701 --conns "$M_SENT" --send 100 --recv 0 --abort
dnsc dns resolve api.gespann.test. --family 4 --count "$K"
assert_eq "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" "$N" "generator: $N connects refused (ground truth)"
assert_eq "$(jget "$E2E_TMP/rstrecv.json" errno.ECONNRESET)" "$M_RCVD" "generator: $M_RCVD connections reset by the server (ground truth)"
assert_eq $(($(snmp "$NS_CLI" Tcp OutRsts) - snmp_rst0)) "$M_SENT" "client namespace sent $M_SENT RSTs (/proc/net/snmp OutRsts, ground truth)"
assert_eq "$(jget "$E2E_TMP/dns.json" ok)" "$K" "client: api.gespann.test resolved $K times"
assert_eq "$(dns_answered api.gespann.test)" "$K" "DNS server answered $K A queries for api.gespann.test (ground truth)"

_all_in() {
	[[ "$(logs_query count gespann.connection.failed)" -ge "$N" &&
		"$(logs_query count gespann.connection.reset)" -ge $((M_RCVD + M_SENT)) &&
		"$(logs_query count gespann.dns.answer)" -ge "$K" ]]
}
assert_true "protobuf: every event received" wait_until 10 _all_in
sleep 2 # a later duplicate would arrive within the next flush (1 s)
assert_eq "$(logs_query count gespann.connection.failed)" "$N" "protobuf: $N gespann.connection.failed records"
assert_eq "$(logs_query count gespann.connection.reset)" $((M_RCVD + M_SENT)) "protobuf: $((M_RCVD + M_SENT)) gespann.connection.reset records"
assert_eq "$(logs_query count gespann.dns.answer)" "$K" "protobuf: $K gespann.dns.answer records"
assert_eq "$(logs_query requests /v1/logs 400)" 0 "protobuf: every logs request decoded by protobufjs"
# one read of the receiver's log (two would race with the next push)
assert_eq "$(logs_query requests_not /v1/metrics 200)" 0 "protobuf: metrics delivered beside the logs (no answer but 200)"
assert_ge "$(logs_query requests /v1/metrics 200)" 1 "protobuf: metrics pushed"
# failures
assert_eq "$(logs_query count gespann.connection.failed error.type=ECONNREFUSED network.peer.address="$SRV4" network.peer.port=$REFUSED_PORT server.address="$SRV4" server.port=$REFUSED_PORT network.transport=tcp network.type=ipv4 gespann.connection.role=client process.executable.name=trafficgen)" "$N" "failed: error.type, peer, server, transport, process"
assert_eq "$(logs_query values gespann.connection.failed network.local.address)" "$CLI4" "failed: network.local.address"
assert_eq "$(logs_query absent gespann.connection.failed process.pid)" 0 "failed: process.pid on every record"
assert_eq "$(logs_query field gespann.connection.failed 0 severityNumber)" 13 "failed: severity WARN (13)"
assert_eq "$(logs_query field gespann.connection.failed 0 severityText)" WARN "failed: severityText"
assert_eq "$(logs_query field gespann.connection.failed 0 body)" "connect from trafficgen (pid $(logs_query values gespann.connection.failed process.pid)) to $SRV4 port $REFUSED_PORT failed: ECONNREFUSED" "failed: body"
# resets
assert_eq "$(logs_query count gespann.connection.reset gespann.reset.direction=received network.peer.port=5702)" "$M_RCVD" "reset: $M_RCVD with the RST received, from :5702"
assert_eq "$(logs_query count gespann.connection.reset gespann.reset.direction=sent network.peer.port=5701)" "$M_SENT" "reset: $M_SENT with the RST sent (abort), to :5701"
assert_eq "$(logs_query absent gespann.connection.reset error.type)" $((M_RCVD + M_SENT)) "reset: no error.type"
e2e_log "reset reasons in the records: $(logs_query values gespann.connection.reset gespann.reset.reason)"
assert_eq "$(logs_query count gespann.connection.reset gespann.reset.direction=received gespann.reset.reason=)" 0 "reset: no empty reason attribute"
# DNS answers
assert_eq "$(logs_query count gespann.dns.answer dns.question.name=api.gespann.test gespann.dns.question.type=A gespann.dns.response_code=NOERROR dns.answers="$SRV4" server.address="$SRV4" server.port=53 network.transport=udp process.executable.name=python3)" "$K" "dns: name, type, rcode, answers, server, process"
assert_eq "$(logs_query field gespann.dns.answer 0 severityNumber)" 9 "dns: severity INFO (9)"
assert_eq "$(logs_query absent gespann.dns.answer gespann.dns.duration)" 0 "dns: latency on every record"
# the resource and scope of the metrics export
assert_eq "$(logs_query resource service.name)" gespann "logs: resource service.name"
assert_eq "$(logs_query resource host.name)" "$(hostname)" "logs: resource host.name"
assert_eq "$(logs_query scope)" gespann "logs: scope name"
# the agent's counts
scrape
assert_eq "$(log_family gespann.connection.failed)" "$N" "gespann_log_records_total{event=failed} = received"
assert_eq "$(log_family gespann.connection.reset)" $((M_RCVD + M_SENT)) "gespann_log_records_total{event=reset} = received"
assert_eq "$(log_family gespann.dns.answer)" "$K" "gespann_log_records_total{event=dns} = received"
for reason in rate_limited queue_full export_failed; do
	assert_eq "$(log_dropped $reason)" 0 "nothing dropped ($reason)"
done
assert_eq "$(metric gespann_events_lost_total)" 0 "no ring-buffer record lost"
agent_stop
receiver_stop

# ==== 2. http/json ====
logs_receiver_start json || { e2e_finish; exit 1; }
agent_start logs-json "/var/run/netns/$NS_CLI" "$DNS_YAML" "$(logs_adapter "      protocol: http/json
      interval: 1s")" || { e2e_finish; exit 1; }
tcpc refused-json --connect "$SRV4" --port "$REFUSED_PORT" --conns 2
dnsc dns-json resolve api.gespann.test. --family 4 --count 1
_json_in() { [[ $(logs_query count gespann.connection.failed) -ge 2 && $(logs_query count gespann.dns.answer) -ge 1 ]]; }
assert_true "json: 2 failures and 1 answer received" wait_until 10 _json_in
assert_eq "$(logs_query requests /v1/logs 400)" 0 "json: every logs body parsed"
assert_eq "$(logs_query count gespann.connection.failed error.type=ECONNREFUSED network.peer.port=$REFUSED_PORT server.port=$REFUSED_PORT)" 2 "json: 2 failures with error.type and ports (ints as strings)"
assert_eq "$(logs_query count gespann.dns.answer dns.question.name=api.gespann.test dns.answers="$SRV4")" 1 "json: the answer with its name and address"
assert_eq "$(logs_query field gespann.connection.failed 0 severityNumber)" 13 "json: severityNumber"
agent_stop
receiver_stop

# ==== 3. a burst of 1000 failures at logs_rate 100 ====
logs_receiver_start burst || { e2e_finish; exit 1; }
agent_start logs-burst "/var/run/netns/$NS_CLI" "" "$(logs_adapter "      interval: 1s
      logs_rate: 100")" || { e2e_finish; exit 1; }
tcpc burst --connect "$SRV4" --port "$REFUSED_PORT" --conns 1000 --parallel 8
assert_eq "$(jget "$E2E_TMP/burst.json" errno.ECONNREFUSED)" 1000 "burst: generator saw 1000 ECONNREFUSED (ground truth)"
assert_true "burst: the agent saw 1000 failures" wait_metric gespann_failed_connections_total 1000
_burst_seen() {
	scrape && [[ $(($(log_family gespann.connection.failed) + $(log_dropped rate_limited) + $(log_dropped queue_full))) -eq 1000 ]]
}
assert_true "burst: every failure queued or dropped" wait_until 5 _burst_seen
_burst_settled() {
	scrape && [[ $(($(logs_query count gespann.connection.failed) + $(log_dropped export_failed))) -eq $(log_family gespann.connection.failed) ]]
}
assert_true "burst: every queued record delivered or given up" wait_until 10 _burst_settled
scrape
received=$(logs_query count gespann.connection.failed)
dropped=$(($(log_dropped rate_limited) + $(log_dropped queue_full) + $(log_dropped export_failed)))
e2e_log "burst: received $received, dropped $dropped (rate_limited $(log_dropped rate_limited), queue_full $(log_dropped queue_full), export_failed $(log_dropped export_failed))"
assert_eq $((received + dropped)) 1000 "burst: records received + drops counted = 1000"
assert_ge "$(log_dropped rate_limited)" 1 "burst: rate-limited drops exported"
assert_ge 400 "$received" "burst: at most a burst of 100 and 100 a second got through"
assert_eq "$(logs_query count gespann.connection.failed error.type=ECONNREFUSED)" "$received" "burst: every record received says ECONNREFUSED"
assert_eq "$(metric gespann_events_lost_total)" 0 "burst: no ring-buffer record lost"
agent_stop
receiver_stop

# ==== 4. logs answered 503: retried within the interval, then dropped and counted ====
logs_receiver_start e503 503 || { e2e_finish; exit 1; }
agent_start logs-503 "/var/run/netns/$NS_CLI" "" "$(logs_adapter "      interval: 3s")" || { e2e_finish; exit 1; }
tcpc refused-503 --connect "$SRV4" --port "$REFUSED_PORT" --conns 3
_dropped3() { scrape && [[ "$(log_dropped export_failed)" == 3 ]]; }
assert_true "503: the batch dropped" wait_until 15 _dropped3
sleep 1 # a third try would come within a second
scrape
assert_eq "$(log_dropped export_failed)" 3 "503: the 3 records counted export_failed"
assert_eq "$(logs_query requests /v1/logs 503)" 2 "503: the batch sent twice (one retry after the backoff, the next past the interval)"
assert_eq "$(logs_query failed_records)" 6 "503: each try carried the 3 records"
assert_eq "$(logs_query batches_same)" yes "503: the retry carried the same batch"
assert_ge "$(logs_query requests /v1/metrics 200)" 1 "503: metrics still delivered"
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="otlp"}')" 2 "503: two failed requests counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 1 "503: one batch dropped"
agent_stop
receiver_stop

# ==== 5. logs never answered: metrics not held back ====
logs_receiver_start hang hang || { e2e_finish; exit 1; }
agent_start logs-hang "/var/run/netns/$NS_CLI" "" "$(logs_adapter "      interval: 1s
      timeout: 20s")" || { e2e_finish; exit 1; }
tcpc refused-hang --connect "$SRV4" --port "$REFUSED_PORT" --conns 2
_hung() { [[ "$(logs_query requests /v1/logs 0)" -ge 1 ]]; }
assert_true "hang: a logs request stalled" wait_until 5 _hung
m0=$(logs_query requests /v1/metrics 200)
sleep 3.5 # the logs request hangs until its 20 s timeout
slow=0
for _ in 1 2 3 4 5; do
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 2 "http://127.0.0.1:$AGENT_PORT/metrics") || t=9
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)' "$t" || slow=$((slow + 1))
done
assert_eq "$slow" 0 "hang: /metrics answered within 0.5 s while a logs request hangs (5 tries)"
assert_ge $(($(logs_query requests /v1/metrics 200) - m0)) 3 "hang: metrics pushed every second meanwhile (3 or more in 3.5 s)"
assert_ge 1500 "$(logs_query metrics_gap)" "hang: no gap over 1.5 s between metrics pushes (ms)"
scrape
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="otlp"}')" 0 "hang: no snapshot dropped meanwhile"
agent_stop
receiver_stop
e2e_finish
