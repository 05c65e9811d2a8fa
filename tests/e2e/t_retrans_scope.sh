#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Retransmits induced by random drops, checked against TCP_INFO of the
# generator's sockets and the namespace's RetransSegs; and two agents with
# different scopes side by side (client namespace, server namespace), each
# seeing only its own side.
set -uo pipefail
E2E_NAME=retrans_scope
source "$(dirname "$0")/lib.sh"

netns_setup gse2e-rtx || { not_ok "netns setup"; e2e_finish; exit 1; }
agent_start srv "/var/run/netns/$NS_SRV" || { e2e_finish; exit 1; }
SRV_PID=$AGENT_PID SRV_PORT=$AGENT_PORT SRV_LOG=$AGENT_LOG
agent_start cli "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }

netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5100 --deadline-ms 200000 --reply 1000 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"

# Drop 5% of what reaches the server: the client retransmits.
netns_drop_random 0.05
snmp_rtx0=$(snmp "$NS_CLI" Tcp RetransSegs)
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5100 --conns 10 --send 200000 --recv 1000 --parallel 2 --deadline-ms 60000 >"$E2E_TMP/rtx.json"
assert_eq "$(jget "$E2E_TMP/rtx.json" ok)" 10 "10 connections completed under loss"
assert_true "client agent: 10 closed" wait_metric gespann_closed_connections_total 10
scrape
gen_rtx=$(jget "$E2E_TMP/rtx.json" retrans)
assert_ge "$gen_rtx" 1 "loss induced retransmits (TCP_INFO)"
assert_eq "$(metric 'gespann_retransmits_total{protocol="tcp"}')" "$gen_rtx" "retransmits = sum of TCP_INFO tcpi_total_retrans"
assert_eq "$(metric 'gespann_retransmits_total{protocol="tcp"}')" $(($(snmp "$NS_CLI" Tcp RetransSegs) - snmp_rtx0)) "retransmits = /proc/net/snmp RetransSegs delta"
assert_eq "$(metric gespann_bytes_sent_total)" 2000000 "payload sent excludes retransmitted bytes (10 x 200000)"
assert_eq "$(metric gespann_bytes_received_total)" 10000 "payload received (10 x 1000)"

# The server-side agent saw the same connections from the other end.
scrape "$SRV_PORT"
assert_eq "$(metric 'gespann_connection_events_total{type="accept",protocol="tcp",reset_reason=""}')" 10 "server agent: 10 accepts"
assert_eq "$(metric 'gespann_connection_events_total{type="open",protocol="tcp",reset_reason=""}')" 0 "server agent: no active opens"
assert_true "server agent: 10 closed" wait_until 10 bash -c "curl -sf http://127.0.0.1:$SRV_PORT/metrics | grep -qx 'gespann_closed_connections_total 10'"
scrape "$SRV_PORT"
assert_eq "$(metric gespann_bytes_received_total)" 2000000 "server agent: payload received"
assert_eq "$(metric gespann_bytes_sent_total)" 10000 "server agent: payload sent"
# The accepting side is attributed to the process that listened.
assert_true "server agent: accepted connections attributed to trafficgen" grep -q 'tcp close passive pid=[1-9][0-9]* comm=trafficgen' "$SRV_LOG"

agent_stop
AGENT_PID=$SRV_PID AGENT_LOG=$SRV_LOG
e2e_finish
