#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Connections opened before the agent attached: found by the socket iterator
# at start, they are in the open gauge from the first scrape, and their
# closes are counted like any other.
set -uo pipefail
E2E_NAME=preexisting
source "$(dirname "$0")/lib.sh"

netns_setup gse2e-pre || { not_ok "netns setup"; e2e_finish; exit 1; }
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5500 --deadline-ms 200000 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"

assert_true "10 connections held before the agent starts" hold_start old "$SRV4" 5500 10
agent_start pre "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }
assert_true "5 connections held after the agent started" hold_start new "$SRV4" 5500 5
assert_true "open gauge counts the 10 old and 5 new connections" wait_metric gespann_open_connections 15
assert_true "the agent logged the seeding" grep -q 'seeded open connections from 1 network namespace' "$AGENT_LOG"
assert_true "all 15 tracked (at the next refresh)" wait_metric gespann_tracked_connections 15

hold_stop old
assert_true "the 10 old connections' closes are counted" wait_metric gespann_closed_connections_total 10
assert_eq "$(scrape_metric gespann_open_connections)" 5 "open gauge 5 after the old connections closed"

hold_stop new
assert_true "open gauge back to 0" wait_metric gespann_open_connections 0
assert_eq "$(scrape_metric gespann_closed_connections_total)" 15 "15 closes in all"
e2e_finish
