#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prometheus remote write against real receivers: Debian's prometheus (with
# --web.enable-remote-write-receiver) and Debian's victoria-metrics, each on a
# free loopback port with its own temporary storage, fed by one agent that
# runs the two example configs of examples/fleet/ (endpoint ports and the
# interval changed). After a TCP run with known figures, the values queried
# back through each receiver's HTTP API equal the agent's own /metrics:
# counters, a labelled flow series, a histogram's _count and +Inf bucket; the
# external label is on every series, and a series' own label wins over one.
# Then the failure paths: a receiver that goes away (drops counted, memory
# bounded, the loop not stalled) and comes back (the queue drains), one
# answering 400 (no retry, errors counted, basic auth sent), one that never
# answers (timeouts, drops, /metrics still immediate) and one answering 503
# then 204 (the same snapshot retried after Retry-After and delivered, a
# bearer token sent), and https:// verified with ca_file (and refused,
# without retry, when the certificate does not verify).
set -uo pipefail
E2E_NAME=remote_write
source "$(dirname "$0")/lib.sh"

RECEIVER_PY=$E2E_ROOT/tests/e2e/remote_write_receiver.py
EXAMPLES=$E2E_ROOT/examples/fleet

for tool in prometheus victoria-metrics python3 curl openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		# under CI=true as everywhere: a missing receiver is a failure, not a skip
		not_ok "$tool available (make deps installs it)"
		e2e_finish
		exit 1
	fi
done

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# example_adapter FILE PORT [EXTRA_LABEL_LINE]: the remote_write entry of an
# example config, pointed at 127.0.0.1:PORT and pushing every second.
example_adapter() {
	sed -n '/^  - type: remote_write/,$p' "$1" |
		sed -E -e "s#http://localhost:[0-9]+/#http://127.0.0.1:$2/#" -e 's/^( *interval:).*/\1 1s/'
	[[ -z "${3:-}" ]] || printf '%s\n' "$3"
}

# ---- the receivers ----
PROM_PORT=$(free_port)
mkdir -p "$E2E_TMP/prom-tsdb"
printf 'global:\n  scrape_interval: 1m\n' >"$E2E_TMP/prometheus.yml"
prometheus --config.file="$E2E_TMP/prometheus.yml" --storage.tsdb.path="$E2E_TMP/prom-tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
	>"$E2E_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
VM_PORT=$(free_port)
# latencyOffset 0: an instant query sees the last second's points (30 s by default)
victoria-metrics -httpListenAddr "127.0.0.1:$VM_PORT" -storageDataPath "$E2E_TMP/vm-data" \
	-search.latencyOffset=0s -search.disableCache -loggerLevel=WARN \
	>"$E2E_TMP/victoria-metrics.log" 2>&1 &
VM_PID=$!
assert_true "prometheus ready on 127.0.0.1:$PROM_PORT" wait_until 30 curl -sf "http://127.0.0.1:$PROM_PORT/-/ready"
assert_true "victoria-metrics ready on 127.0.0.1:$VM_PORT" wait_until 30 curl -sf "http://127.0.0.1:$VM_PORT/health"

# rquery prom|vm PROMQL: the value of the one series the query returns
# ("none" when empty, "many" when more than one).
rquery() {
	local port=$PROM_PORT
	[[ "$1" == prom ]] || port=$VM_PORT
	curl -sf --max-time 5 "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$2" |
		python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print("none" if not r else "many" if len(r) > 1 else r[0]["value"][1])' 2>/dev/null || echo error
}

# same A B: the two are the same number (receivers write 1e+06 where /metrics has 1000000).
same() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) == float(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null; }

# recv_vs_agent prom|vm SERIES: once the receiver caught up with the agent's
# current value, the two are equal. SERIES is as /metrics writes it, which is
# also a PromQL selector (label="" matches the label's absence); the example
# configs' external label is added.
_caught_up() { scrape && same "$(rquery "$1" "$(with_cluster "$2")")" "$(metric "$2")"; }
with_cluster() {
	if [[ "$1" == *"}" ]]; then
		printf '%s,cluster="eu1"}' "${1%\}}"
	else
		printf '%s{cluster="eu1"}' "$1"
	fi
}
recv_vs_agent() {
	wait_until 15 _caught_up "$1" "$2"
	scrape
	local got want
	got=$(rquery "$1" "$(with_cluster "$2")")
	want=$(metric "$2")
	if same "$got" "$want"; then
		e2e_pass "$1: $2 = /metrics: $got"
	else
		not_ok "$1: $2: expected $want (/metrics), got $got"
	fi
}

netns_setup gse2e-rw || { not_ok "netns setup"; e2e_finish; exit 1; }
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5701 --deadline-ms 300000 --reply 3000 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"

# ==== 1. both receivers, the example configs ====
for f in remote-write-prometheus.yaml remote-write-victoriametrics.yaml; do
	"$GS_BIN" -check-config "$EXAMPLES/$f" >/dev/null 2>&1
	assert_eq "$?" 0 "examples/fleet/$f passes -check-config"
done
agent_start rw "/var/run/netns/$NS_CLI" "idle_timeout: 1s" \
	"$(example_adapter "$EXAMPLES/remote-write-prometheus.yaml" "$PROM_PORT" "        protocol: from_external")
$(example_adapter "$EXAMPLES/remote-write-victoriametrics.yaml" "$VM_PORT" "        protocol: from_external")" ||
	{ e2e_finish; exit 1; }
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5701 --conns 20 --send 1000 --recv 3000 --parallel 4 >"$E2E_TMP/run1.json" 2>"$E2E_TMP/run1.err"
assert_eq "$(jget "$E2E_TMP/run1.json" ok)" 20 "generator completed 20 connections"
assert_true "20 connections closed" wait_metric gespann_closed_connections_total 20
# counters stable: every connection closed and its bytes counted
assert_true "bytes sent counted" wait_metric gespann_bytes_sent_total "$(jget "$E2E_TMP/run1.json" bytes_sent)"
scrape
flow=$(awk '$1 ~ /^gespann_flow_connections_total\{/ && $1 ~ /dst_port="5701"/ { print $1; exit }' "$E2E_TMP/last.prom")
[[ -n "$flow" ]] || not_ok "a gespann_flow_connections_total series to port 5701 in /metrics"
for r in prom vm; do
	recv_vs_agent "$r" gespann_closed_connections_total
	recv_vs_agent "$r" gespann_bytes_sent_total
	recv_vs_agent "$r" gespann_bytes_received_total
	recv_vs_agent "$r" 'gespann_connection_events_total{type="established",protocol="tcp",reset_reason=""}'
	[[ -z "$flow" ]] || recv_vs_agent "$r" "$flow"
	recv_vs_agent "$r" gespann_connect_duration_seconds_count
	recv_vs_agent "$r" gespann_connect_duration_seconds_sum
	recv_vs_agent "$r" 'gespann_connect_duration_seconds_bucket{le="+Inf"}'
	assert_eq "$(rquery "$r" 'gespann_closed_connections_total{cluster="eu1"}')" 20 "$r: 20 closed connections"
	assert_eq "$(rquery "$r" 'count(gespann_open_connections{cluster="eu1"})')" 1 "$r: the external label is on the series"
	assert_eq "$(rquery "$r" 'count({__name__=~"gespann_.*",cluster!="eu1"})')" none "$r: no series without the external label"
	assert_eq "$(rquery "$r" 'gespann_closed_connections_total{protocol="from_external"}')" 20 "$r: an external label is added where the series has none"
	assert_eq "$(rquery "$r" 'count(gespann_connection_events_total{protocol="from_external"})')" none "$r: a series' own label wins over an external one"
	assert_eq "$(rquery "$r" 'histogram_quantile(1, sum by (le) (gespann_connect_duration_seconds_bucket)) > 0')" \
		"$(rquery "$r" 'histogram_quantile(1, sum by (le) (gespann_connect_duration_seconds_bucket))')" "$r: histogram usable by histogram_quantile"
done
assert_eq "$(rquery prom gespann_bytes_sent_total)" "$(jget "$E2E_TMP/run1.json" bytes_sent)" "prometheus: bytes sent = generator's count"
assert_eq "$(rquery vm gespann_bytes_sent_total)" "$(jget "$E2E_TMP/run1.json" bytes_sent)" "victoria-metrics: bytes sent = generator's count"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" 0 "prometheus adapter: no errors"
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="remote_write_2"}')" 0 "victoria-metrics adapter: no errors"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="remote_write"}')" 0 "prometheus adapter: nothing dropped"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="remote_write_2"}')" 0 "victoria-metrics adapter: nothing dropped"

# ==== 2. a receiver goes away: drops counted, memory bounded, no stall ====
# The VictoriaMetrics example keeps 4 snapshots; pushing every second, the
# fifth second without it starts dropping the oldest.
kill -TERM "$VM_PID" 2>/dev/null
wait "$VM_PID" 2>/dev/null
_dropped_ge() { scrape && (($(metric 'gespann_exporter_dropped_total{adapter="remote_write_2"}') >= $1)); }
assert_true "receiver down: snapshots dropped once the queue of 4 is full" wait_until 30 _dropped_ge 1
rss0=$(metric gespann_process_resident_memory_bytes)
assert_true "receiver down: drops keep being counted" wait_until 30 _dropped_ge 8
rss1=$(metric gespann_process_resident_memory_bytes)
assert_ge $((4 * 1024 * 1024 - (rss1 - rss0))) 0 "receiver down: RSS grew by $(((rss1 - rss0) / 1024)) KiB over 7 more drops (at most 4 MiB)"
assert_ge "$(metric 'gespann_exporter_errors_total{adapter="remote_write_2"}')" 1 "receiver down: failed requests counted"
assert_ge 0.1 "$(metric gespann_loop_stall_seconds)" "receiver down: longest loop turn (s)"
recv_vs_agent prom gespann_closed_connections_total
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" 0 "the other receiver's adapter is unaffected"

# back on the same port and storage: the queue drains, new figures arrive
victoria-metrics -httpListenAddr "127.0.0.1:$VM_PORT" -storageDataPath "$E2E_TMP/vm-data" \
	-search.latencyOffset=0s -search.disableCache -loggerLevel=WARN \
	>>"$E2E_TMP/victoria-metrics.log" 2>&1 &
VM_PID=$!
assert_true "victoria-metrics back" wait_until 30 curl -sf "http://127.0.0.1:$VM_PORT/health"
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5701 --conns 5 --send 1000 --recv 3000 >"$E2E_TMP/run2.json" 2>"$E2E_TMP/run2.err"
assert_true "25 connections closed" wait_metric gespann_closed_connections_total 25
recv_vs_agent vm gespann_closed_connections_total
recv_vs_agent vm gespann_connect_duration_seconds_count
scrape
d0=$(metric 'gespann_exporter_dropped_total{adapter="remote_write_2"}')
# three more snapshots stored in VictoriaMetrics, none dropped meanwhile
_vm_samples() { rquery vm 'count_over_time(gespann_open_connections{cluster="eu1"}[10m])'; }
n0=$(_vm_samples)
_vm_samples_ge() { (($(_vm_samples) >= $1)); }
assert_true "receiver back: three more snapshots stored" wait_until 15 _vm_samples_ge $((n0 + 3))
scrape
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="remote_write_2"}')" "$d0" "receiver back: no more drops"
agent_stop
kill -TERM "$VM_PID" 2>/dev/null
wait "$VM_PID" 2>/dev/null
kill -TERM "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null

# ==== 3. scripted receivers: 400, then 503 twice and 204 ====
RECV_PID=
RECV_PORT=
RECV_LOG=
# recv_start NAME SCRIPT [CERT KEY]: remote_write_receiver.py on a free port.
recv_start() {
	RECV_LOG=$E2E_TMP/$1.jsonl
	rm -f "$E2E_TMP/$1.port"
	python3 "$RECEIVER_PY" "$E2E_TMP/$1.port" "$RECV_LOG" "$2" "${@:3}" 2>"$E2E_TMP/$1.err" &
	RECV_PID=$!
	wait_until 10 test -s "$E2E_TMP/$1.port" || { not_ok "receiver $1 listening"; return 1; }
	RECV_PORT=$(cat "$E2E_TMP/$1.port")
	: >>"$RECV_LOG"
}
recv_stop() {
	kill -TERM "$RECV_PID" 2>/dev/null
	wait "$RECV_PID" 2>/dev/null
	RECV_PID=
}
# rec N FIELD: a field of request N (from 0) in the receiver's log.
rec() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])])[sys.argv[3]])' "$RECV_LOG" "$1" "$2" 2>/dev/null; }
nrec() { wc -l <"$RECV_LOG"; }

recv_start r400 400 || { e2e_finish; exit 1; }
agent_start rw400 "/var/run/netns/$NS_CLI" "" "  - type: remote_write
    settings:
      endpoint: http://127.0.0.1:$RECV_PORT/api/v1/write
      interval: 1s
      username: gespann
      password: s3cret" || { e2e_finish; exit 1; }
assert_true "400: four requests" wait_until 15 bash -c "(( \$(wc -l <'$RECV_LOG') >= 4 ))"
assert_eq "$(rec 0 path)" /api/v1/write "400: path"
assert_eq "$(rec 0 Content-Encoding)" snappy "400: Content-Encoding"
assert_eq "$(rec 0 Content-Type)" application/x-protobuf "400: Content-Type"
assert_eq "$(rec 0 X-Prometheus-Remote-Write-Version)" 0.1.0 "400: X-Prometheus-Remote-Write-Version"
assert_eq "$(rec 0 User-Agent)" "gespann/$("$GS_BIN" -version | awk '{print $2}')" "400: User-Agent"
assert_eq "$(rec 0 Authorization)" "Basic $(printf 'gespann:s3cret' | base64)" "400: basic auth"
# settled: the requests received before and after a scrape are the same
# number, and the scrape counts that many errors (each counted on its answer)
_settled() {
	local c1
	c1=$(nrec)
	scrape || return 1
	[[ "$(nrec)" == "$c1" && "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" == "$c1" ]] || return 1
	n2=$c1
}
n2=
assert_true "400: errors counted on every answer" wait_until 5 _settled
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" "$n2" "400: one error per request"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="remote_write"}')" "$n2" "400: one drop per request"
assert_eq "$(python3 -c 'import json,sys; r=[json.loads(l)["sha"] for l in open(sys.argv[1])]; print(len(r) - len(set(r)))' "$RECV_LOG")" 0 "400: no body sent twice (no retry)"
assert_ge "$(($(rec 2 t_ms) - $(rec 1 t_ms)))" 800 "400: the next request one interval later (ms)"
assert_eq "$(grep -c 'level=warn adapter remote_write' "$AGENT_LOG")" 1 "400: one warning for $n2 failures (one a minute)"
agent_stop
recv_stop

# a receiver that takes requests and never answers: timeouts, drops, no stall
recv_start hang hang || { e2e_finish; exit 1; }
agent_start rwhang "/var/run/netns/$NS_CLI" "" "  - type: remote_write
    settings:
      endpoint: http://127.0.0.1:$RECV_PORT/api/v1/write
      interval: 500ms
      timeout: 1s
      queue: 2" || { e2e_finish; exit 1; }
_hang_dropped_ge() { scrape && (($(metric 'gespann_exporter_dropped_total{adapter="remote_write"}') >= $1)); }
assert_true "hang: snapshots dropped behind the stuck request" wait_until 20 _hang_dropped_ge 2
rss0=$(metric gespann_process_resident_memory_bytes)
# /metrics answers at once while requests hang (the loop never waits on them)
slow=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 2 "http://127.0.0.1:$AGENT_PORT/metrics") || t=9
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)' "$t" || slow=$((slow + 1))
	sleep 0.3
done
assert_eq "$slow" 0 "hang: /metrics answered within 0.5 s, 10 tries over 3 s"
assert_true "hang: drops keep being counted" wait_until 20 _hang_dropped_ge 8
rss1=$(metric gespann_process_resident_memory_bytes)
assert_ge $((4 * 1024 * 1024 - (rss1 - rss0))) 0 "hang: RSS grew by $(((rss1 - rss0) / 1024)) KiB over 6 more drops (at most 4 MiB)"
assert_ge "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" 2 "hang: timed-out requests counted as errors"
assert_ge "$(nrec)" 2 "hang: requests reached the receiver"
assert_ge 0.1 "$(metric gespann_loop_stall_seconds)" "hang: longest loop turn (s)"
agent_stop
recv_stop

# https:// with a CA of the test's own: verified with ca_file; without it the
# certificate does not verify, an error not retried
D=$E2E_TMP/pki
mkdir -p "$D"
ossl() { openssl "$@" >>"$E2E_TMP/openssl.log" 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gespann-rw-ca -keyout "$D/ca.key" -out "$D/ca.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$D/server.key" -out "$D/server.csr"
ossl x509 -req -in "$D/server.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 2 \
	-copy_extensions copy -out "$D/server.crt"
[[ -s "$D/server.crt" ]] || not_ok "certificates made ($(tail -3 "$E2E_TMP/openssl.log"))"
recv_start tls 204 "$D/server.crt" "$D/server.key" || { e2e_finish; exit 1; }
agent_start rwtls "/var/run/netns/$NS_CLI" "" "  - type: remote_write
    settings:
      endpoint: https://127.0.0.1:$RECV_PORT/api/v1/write
      interval: 1s
      ca_file: $D/ca.crt
  - type: remote_write
    settings:
      endpoint: https://127.0.0.1:$RECV_PORT/api/v1/write
      interval: 1s" || { e2e_finish; exit 1; }
_tls_errors_ge() { scrape && (($(metric 'gespann_exporter_errors_total{adapter="remote_write_2"}') >= $1)); }
assert_true "https: three requests delivered with ca_file" wait_until 15 bash -c "(( \$(grep -c '\"status\": 204' '$RECV_LOG') >= 3 ))"
assert_true "https: without ca_file, failures counted" wait_until 15 _tls_errors_ge 3
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" 0 "https: with ca_file, no errors"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="remote_write_2"}')" "$(metric 'gespann_exporter_errors_total{adapter="remote_write_2"}')" "https: without ca_file, every failed request dropped (not retried)"
assert_true "https: the verification failure is logged" grep -q 'adapter remote_write_2: remote write to https.*not retried' "$AGENT_LOG"
agent_stop
recv_stop

TOKEN_FILE=$E2E_TMP/token
printf 't0ken-e2e\n' >"$TOKEN_FILE"
recv_start r503 503:2 || { e2e_finish; exit 1; }
# an interval of 5 s leaves room for two retries a second apart before the next snapshot
agent_start rw503 "/var/run/netns/$NS_CLI" "" "  - type: remote_write
    settings:
      endpoint: http://127.0.0.1:$RECV_PORT/api/v1/write
      interval: 5s
      bearer_token_file: $TOKEN_FILE" || { e2e_finish; exit 1; }
assert_true "503: three requests" wait_until 15 bash -c "(( \$(wc -l <'$RECV_LOG') >= 3 ))"
assert_eq "$(rec 0 status) $(rec 1 status) $(rec 2 status)" "503 503 204" "503: answers"
assert_eq "$(rec 1 sha)" "$(rec 0 sha)" "503: the first retry carries the same snapshot"
assert_eq "$(rec 2 sha)" "$(rec 0 sha)" "503: the second retry too, and is delivered"
assert_ge "$(($(rec 1 t_ms) - $(rec 0 t_ms)))" 950 "503: retry after Retry-After: 1 (ms)"
assert_ge "$(($(rec 2 t_ms) - $(rec 1 t_ms)))" 950 "503: and again (ms)"
assert_eq "$(rec 0 Authorization)" "Bearer t0ken-e2e" "503: bearer token from the file"
scrape
assert_eq "$(metric 'gespann_exporter_errors_total{adapter="remote_write"}')" 2 "503: two failed requests counted"
assert_eq "$(metric 'gespann_exporter_dropped_total{adapter="remote_write"}')" 0 "503: nothing dropped"
agent_stop
recv_stop
e2e_finish
