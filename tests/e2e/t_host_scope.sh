#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scope host, the default: one agent sees every network namespace. It starts
# before the test's namespaces exist, so everything here is found while it
# runs: both ends of each connection (role="client" in the client namespace,
# role="server" in the server namespace) with the generators' byte counts,
# the open gauge, and TIME_WAIT sockets of a namespace created after the
# agent (the census looks for new namespaces every 10 s). When the namespaces
# are deleted, the agent lets go of them (its sock_diag socket there is
# closed at the next look, so the namespace can be freed). Everything else
# on the machine is in scope too, so every check selects by this test's
# process names and addresses. Ground truth: the generators' counts and ss.
set -uo pipefail
E2E_NAME=host_scope
source "$(dirname "$0")/lib.sh"

FB=gespann_flow_bytes_total
FC=gespann_flow_connections_total
FO=gespann_flow_open_connections
HOLD_N=6

for t in hs-client hs-server hs-holder; do
	named_tool "$t" >/dev/null || { not_ok "copy of trafficgen named $t"; e2e_finish; exit 1; }
done
BIN=$E2E_TMP/bin

# role="server" series are checked by the client's address: selected (off by default)
agent_start host host "attributes:
  client_address: true" || { e2e_finish; exit 1; }
fds_before=$(ls "/proc/$AGENT_PID/fd" | wc -l)
netns_setup gsp-hscope || { not_ok "netns setup"; e2e_finish; exit 1; }
netns_keep_time_wait || not_ok "tcp_rfc1337=1 in the client namespace"

netns_srv "$BIN/hs-server" tcp-server --bind :: --port 9201 --reply 700 --deadline-ms 200000 \
	>"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"

# ---- both ends of 5 connections, from one agent ----
netns_cli "$BIN/hs-client" tcp-client --connect "$SRV4" --port 9201 --conns 5 --send 300 --recv 700 \
	>"$E2E_TMP/cli.json" 2>"$E2E_TMP/cli.err"
SENT=$(jget "$E2E_TMP/cli.json" bytes_sent) RCVD=$(jget "$E2E_TMP/cli.json" bytes_received)
assert_eq "$SENT $RCVD $(jget "$E2E_TMP/cli.json" ok)" "1500 3500 5" "generator: 5 x (300 out, 700 back)"
csel=(protocol=tcp role=client src_process=hs-client dst_address="$SRV4" dst_port=9201)
ssel=(protocol=tcp role=server src_process=hs-server dst_address="$CLI4" dst_port=9201)
assert_true "client end: $FC{outcome=ok} = 5" wait_msum 10 5 "$FC" "${csel[@]}" outcome=ok
assert_true "server end: $FC{outcome=ok} = 5" wait_msum 10 5 "$FC" "${ssel[@]}" outcome=ok
assert_eq "$(msum "$FB" "${csel[@]}" direction=sent)" "$SENT" "client end: bytes sent = generator"
assert_eq "$(msum "$FB" "${csel[@]}" direction=received)" "$RCVD" "client end: bytes received = generator"
assert_eq "$(msum "$FB" "${ssel[@]}" direction=received)" "$SENT" "server end: bytes received = what the client sent"
assert_eq "$(msum "$FB" "${ssel[@]}" direction=sent)" "$RCVD" "server end: bytes sent = what the client received"

# ---- open gauge, then TIME_WAIT in a namespace younger than the agent ----
tw_count() { netns_cli ss -tnH state time-wait "dst $SRV4" | wc -l; }
tw_is() { [[ "$(tw_count)" == "$1" ]]; }
TRAFFICGEN=$BIN/hs-holder hold_start held "$SRV4" 9201 "$HOLD_N" --half-close ||
	not_ok "holder established $HOLD_N connections"
assert_true "$FO{role=client,src_process=hs-holder,state=established} = $HOLD_N" \
	wait_msum 10 "$HOLD_N" "$FO" role=client src_process=hs-holder dst_address="$SRV4" state=established
assert_true "$FO{role=server,src_process=hs-server,state=established} = $HOLD_N" \
	wait_msum 10 "$HOLD_N" "$FO" role=server src_process=hs-server dst_address="$CLI4" state=established
hold_stop held
assert_true "ss: $((HOLD_N + 5)) in time-wait in the client namespace (5 + $HOLD_N, the client closed first)" \
	wait_for tw_is $((HOLD_N + 5))
# Up to 10 s until the census has found the namespace, then one pass.
assert_true "$FO{role=client,src_process=hs-holder,state=time_wait} = $HOLD_N" \
	wait_msum 15 "$HOLD_N" "$FO" role=client src_process=hs-holder dst_address="$SRV4" state=time_wait
assert_eq "$(msum "$FO" dst_address="$SRV4" state=time_wait)" "$(tw_count)" \
	"time_wait gauge towards $SRV4 = ss time-wait count in the client namespace"
assert_eq "$(msum "$FO" role=server dst_address="$CLI4" state=time_wait)" 0 \
	"no time_wait on the server end (it closed second)"
assert_eq "$(msum "$FO" dst_address="$SRV4" state=established)" 0 "none established any more"

# ---- the namespaces go: the agent lets go of them ----
fds_with=$(ls "/proc/$AGENT_PID/fd" | wc -l)
e2e_log "agent fds: $fds_before before the namespaces, $fds_with with them"
assert_true "the agent holds a socket in each of the 2 new namespaces" test "$fds_with" -ge $((fds_before + 2))
netns_teardown
fds_le() { (($(ls "/proc/$AGENT_PID/fd" | wc -l) <= $1)); }
assert_true "their sockets are closed within 15 s of the namespaces going" wait_until 15 fds_le $((fds_with - 2))
assert_true "the agent is still running" kill -0 "$AGENT_PID"
e2e_finish
