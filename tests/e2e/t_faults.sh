#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bounds under pressure: a tiny ring buffer and connection map under a
# connection storm. Every record is either delivered or counted as lost,
# map-full events are counted, and the agent keeps answering, also after its
# reader was stopped (SIGSTOP) while connections kept closing.
set -uo pipefail
E2E_NAME=faults
source "$(dirname "$0")/lib.sh"

netns_setup gse2e-flt || { not_ok "netns setup"; e2e_finish; exit 1; }
agent_start faults "/var/run/netns/$NS_CLI" "$(printf 'max_connections: 16\nring_buffer_size: 4096\npoll_interval: 1s')" || { e2e_finish; exit 1; }

netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5200 --deadline-ms 200000 --echo4 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"

# 64 concurrent connections against a 16-entry map: 48 inserts fail. Held
# through a FIFO (hold_start), not a coprocess: bash unsets a coprocess's
# variables when it exits, and an early exit made `wait "$HOLD_PID"` abort.
assert_true "generator holds 64 connections" hold_start many "$SRV4" 5200 64
assert_true "open gauge exact without map entries" wait_metric gespann_open_connections 64
scrape
assert_eq "$(metric 'gespann_map_full_total{map="conns"}')" 48 "map-full events counted (64 - 16)"
assert_true "tracked connections capped by the map (16, at the next refresh)" wait_metric gespann_tracked_connections 16
hold_stop many
assert_true "open gauge back to 0" wait_metric gespann_open_connections 0

# Storm with the reader stopped: a 4 KiB ring holds about 25 records.
kill -STOP "$AGENT_PID"
netns_cli "$TRAFFICGEN" storm --connect "$SRV4" --port 5200 --threads 4 --conns 2000 >"$E2E_TMP/storm.json"
kill -CONT "$AGENT_PID"
gen=$(jget "$E2E_TMP/storm.json" conns)
assert_eq "$gen" 2000 "storm generated 2000 connections"
assert_true "all storm connections closed" wait_metric gespann_closed_connections_total $((64 + 2000)) 15
scrape
delivered=$(metric gespann_events_delivered_total)
lost=$(metric gespann_events_lost_total)
e2e_log "records: delivered $delivered, lost $lost"
assert_ge "$lost" 1 "records lost while the reader was stopped"
assert_eq $((delivered + lost)) $((64 + 2000)) "delivered + lost = connections generated"
assert_eq "$(metric 'gespann_connection_events_total{type="open",protocol="tcp",reset_reason=""}')" $((64 + 2000)) "every connection counted despite drops"
assert_true "agent still answers" scrape
e2e_finish
