#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGHUP reloads the config (README "Reload"): an agent scoped to the client
# namespace with config A counts known traffic; config B (log level debug,
# another Prometheus port, a networks: entry for the server, dst_name out of
# gespann_flow_bytes_total, DNS events logged) is applied on SIGHUP without
# losing a count; a config changing max_connections is refused and changes
# nothing; an invalid file is refused and the agent keeps running.
set -uo pipefail
E2E_NAME=reload
source "$(dirname "$0")/lib.sh"
DNSCLIENT=$E2E_ROOT/tests/lib/dnsclient.py
FC=gespann_flow_connections_total
FB=gespann_flow_bytes_total

netns_setup gse2e-rld || { not_ok "netns setup"; e2e_finish; exit 1; }
CFG=$E2E_TMP/reload.yaml
AGENT_LOG=$E2E_TMP/reload.log
SCOPE=/var/run/netns/$NS_CLI
config_a() {
	printf 'log_level: info\nscope: %s\nadapters:\n  - type: prometheus\n    settings: {address: 127.0.0.1, port: 0}\n' "$SCOPE"
}
config_b() {
	printf 'log_level: debug\nscope: %s\n' "$SCOPE"
	printf 'adapters:\n  - type: prometheus\n    settings: {address: 127.0.0.1, port: %s}\n' "$PORT_B"
	printf 'networks:\n  - {cidr: %s/32, zone: lab, class: lab-net}\n' "$SRV4"
	printf 'attributes:\n  select:\n    %s: {exclude: [dst_name]}\n' "$FB"
	printf 'dns:\n  events: log\n'
}
hup_and_wait() { # PATTERN: SIGHUP, then wait for a new log line matching it
	local before
	before=$(grep -c -- "$1" "$AGENT_LOG")
	kill -HUP "$AGENT_PID"
	wait_until 10 bash -c '(( $(grep -c -- "$1" "$2") > $3 ))' _ "$1" "$AGENT_LOG" "$before"
}
conns() { # N: N client connections to the server, each sending 10 bytes
	netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5400 --conns "$1" --send 10 >/dev/null
}

config_a >"$CFG"
"$GS_BIN" -config "$CFG" 2>"$AGENT_LOG" &
AGENT_PID=$!
wait_until 15 grep -q 'level=info running' "$AGENT_LOG" || { not_ok "agent started: $(tail -3 "$AGENT_LOG")"; e2e_finish; exit 1; }
AGENT_PORT=$(sed -n 's/.*prometheus exporter listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$AGENT_LOG" | head -1)
PORT_A=$AGENT_PORT
PORT_B=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5400 --deadline-ms 200000 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"
conns 5
assert_true "config A: 5 connections counted" wait_msum 10 5 gespann_tcp_connections_total
netns_cli python3 "$DNSCLIENT" garbage "$SRV4" >/dev/null 2>&1
assert_true "config A: 5 closed" wait_msum 10 5 gespann_closed_connections_total
assert_eq "$(grep -c 'level=debug' "$AGENT_LOG")" 0 "config A: no debug line at log_level info"

# Config B, applied on SIGHUP.
config_b >"$CFG"
assert_true "SIGHUP: reloaded" hup_and_wait 'reloaded: '
assert_eq "$(grep -o 'reloaded: .*' "$AGENT_LOG" | tail -1)" \
	"reloaded: log_level, adapters, attributes.select, networks, dns.events" "the changed keys logged"
assert_true "old port $PORT_A closed" bash -c "! curl -sf --max-time 2 http://127.0.0.1:$PORT_A/metrics >/dev/null"
AGENT_PORT=$PORT_B
assert_true "new port $PORT_B serves" scrape
assert_eq "$(msum gespann_tcp_connections_total)" 5 "tcp connections kept across the reload"
conns 3
assert_true "3 more connections count exactly 3" wait_msum 10 8 gespann_tcp_connections_total
assert_true "new connections carry zone lab" wait_msum 10 3 "$FC" dst_zone=lab dst_class=lab-net
assert_eq "$(msum "$FC" dst_zone=lab dst_class=internal)" 0 "no new connection with the old class"
labels=$(mlabels "$FB")
assert_true "$FB has no dst_name ($labels)" test -n "$labels" -a "${labels/dst_name/}" == "$labels"
netns_cli python3 "$DNSCLIENT" garbage "$SRV4" >/dev/null 2>&1
assert_true "log_level debug: a debug line" wait_until 10 grep -q 'level=debug' "$AGENT_LOG"

# A key that needs a restart: refused, nothing changes.
{ config_b | sed 's/^log_level: debug/log_level: warn/'; echo "max_connections: 1024"; } >"$CFG"
assert_true "max_connections: refused" hup_and_wait 'reload refused: max_connections needs a restart'
assert_true "port $PORT_B still serves" scrape
assert_eq "$(msum gespann_tcp_connections_total)" 8 "counts unchanged after a refused reload"

# An invalid file: refused with its line, the agent keeps running.
printf 'log_level: debug\nadapters: [\n' >"$CFG"
assert_true "invalid file: refused" hup_and_wait "reload refused: $CFG:3: YAML syntax error"
assert_true "agent still running" kill -0 "$AGENT_PID"
conns 2
assert_true "still counting after the refusals" wait_msum 10 10 gespann_tcp_connections_total
e2e_finish
