#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Series cap (issue 5): with attributes.max_series: 100, 3000 refused connects
# to 3000 distinct ports (3000 label sets of gespann_flow_connections_total)
# give 100 named series plus the one whose every label is "other", which
# holds the rest; gespann_series_dropped_total{family} counts the 2900 label
# sets folded; the agent's memory stays bounded. Then the same for the open
# gauge: 150 connections held to 150 listening ports (a fresh agent, so no
# earlier series take slots). Ground truth: the generator's errno counts, the
# namespace's /proc/net/snmp, `ss`.
#
# E2E_DRY_RUN=1 leaves out the issue-5 configuration keys, so the traffic and
# ground-truth side runs against an agent without them (issue-5 asserts fail).
set -uo pipefail
E2E_NAME=cardinality
source "$(dirname "$0")/lib.sh"

FC=gespann_flow_connections_total
FO=gespann_flow_open_connections
SWEEP_N=3000
SWEEP_PORT=20000
HOLD_N=150
HOLD_PORT=21000
CAP=100
RSS_GROWTH_MAX=$((16 * 1024 * 1024)) # bytes the agent may grow by over the sweep

netns_setup gsp-card || { not_ok "netns setup"; e2e_finish; exit 1; }
CFG=$(issue5_yaml "attributes:
  max_series: $CAP")

# ---- 3000 refused connects, 3000 distinct destination ports ----
agent_start card "/var/run/netns/$NS_CLI" "$CFG" || { e2e_finish; exit 1; }
scrape
rss0=$(metric gespann_process_resident_memory_bytes)
base_refused=$(metric 'gespann_connection_failures_total{errno="ECONNREFUSED"}')
snmp_fail0=$(snmp "$NS_CLI" Tcp AttemptFails)
t0=$EPOCHREALTIME
netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port "$SWEEP_PORT" --port-span "$SWEEP_N" \
	--conns "$SWEEP_N" --parallel 8 --deadline-ms 60000 >"$E2E_TMP/sweep.json" 2>"$E2E_TMP/sweep.err"
e2e_log "sweep of $SWEEP_N ports took $(python3 -c "print(round($EPOCHREALTIME - $t0, 2))") s: $(cat "$E2E_TMP/sweep.json")"
assert_eq "$(jget "$E2E_TMP/sweep.json" errno.ECONNREFUSED)" "$SWEEP_N" "generator: $SWEEP_N connects refused"
snmp_fails=$(($(snmp "$NS_CLI" Tcp AttemptFails) - snmp_fail0))
assert_eq "$snmp_fails" "$SWEEP_N" "/proc/net/snmp AttemptFails delta (ground truth)"
assert_true "agent saw the $SWEEP_N refused connects" wait_metric 'gespann_connection_failures_total{errno="ECONNREFUSED"}' $((base_refused + SWEEP_N)) 20

assert_true "$FC sums to $SWEEP_N over its series" wait_msum 20 "$snmp_fails" "$FC"
scrape
named_n=$(mcount "$FC" outcome=refused)
named_sum=$(msum "$FC" outcome=refused)
other=$(metric_other "$FC")
e2e_log "$FC: $(mcount "$FC") series, $named_n named summing to $named_sum, other = $other"
assert_eq "$(mcount "$FC")" $((CAP + 1)) "$FC: $CAP named series + other"
assert_eq "$named_n" "$CAP" "$FC: $CAP named series, all outcome=refused"
assert_eq "$named_sum" "$CAP" "$FC: each named series is one port, value 1"
assert_eq "$(mcount "$FC" outcome=refused dst_address="$SRV4" src_process=trafficgen role=client protocol=tcp)" "$CAP" "$FC: the named series are the generator's connects to $SRV4"
assert_eq "$other" $((SWEEP_N - named_sum)) "$FC{every label=\"other\"} = $SWEEP_N - sum of the named series"
assert_eq "$(msum "$FC")" "$SWEEP_N" "$FC: sum over all series = $SWEEP_N = AttemptFails delta"
assert_eq "$(mseries gespann_series_dropped_total family="$FC")" $((SWEEP_N - CAP)) "gespann_series_dropped_total{family=\"$FC\"}: label sets folded"
assert_eq "$(mlabels "$FC" outcome=other)" "dst_address,dst_class,dst_name,dst_port,dst_zone,outcome,protocol,role,src_process,src_service,src_zone" "the other series has every label of the family"
rss1=$(metric gespann_process_resident_memory_bytes)
rss_ps=$(($(ps -o rss= -p "$AGENT_PID") * 1024))
e2e_log "agent RSS: $rss0 bytes before the sweep, $rss1 after (ps: $rss_ps)"
assert_true "agent RSS grew by less than $RSS_GROWTH_MAX bytes over the sweep ($rss0 -> $rss1)" \
	test $((rss1 - rss0)) -lt "$RSS_GROWTH_MAX"
assert_eq "$(metric 'gespann_map_full_total{map="conns"}')" 0 "connection map never full"
agent_stop

# ---- the open gauge: 150 held connections to 150 listening ports ----
# One process listens on every port and never accepts: the kernel completes
# the handshakes, the connections stay established in its accept queues.
netns_srv python3 -c '
import signal, socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for p in range(port, port + n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, p))
    s.listen(8)
    socks.append(s)
print("listening", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.pause()' "$SRV4" "$HOLD_PORT" "$HOLD_N" >"$E2E_TMP/listeners.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/listeners.out" || not_ok "$HOLD_N listeners ($(cat "$E2E_TMP/listeners.out"))"

agent_start card-gauge "/var/run/netns/$NS_CLI" "$CFG" || { e2e_finish; exit 1; }
hold_start many "$SRV4" "$HOLD_PORT" "$HOLD_N" --port-span "$HOLD_N" || not_ok "generator holds $HOLD_N connections"
ss_est() { [[ "$(netns_cli ss -tnH state established | wc -l)" == "$1" ]]; }
assert_true "ss: $HOLD_N established in the client namespace" wait_for ss_est "$HOLD_N"
assert_true "gespann_open_connections = $HOLD_N" wait_metric gespann_open_connections "$HOLD_N"
assert_true "$FO sums to $HOLD_N" wait_msum 10 "$HOLD_N" "$FO"
scrape
named_sum=$(msum "$FO" state=established)
e2e_log "$FO: $(mcount "$FO") series, named sum $named_sum, other $(metric_other "$FO")"
assert_eq "$(mcount "$FO")" $((CAP + 1)) "$FO: $CAP named series + other"
assert_eq "$(mcount "$FO" state=established)" "$CAP" "$FO: $CAP named established series"
assert_eq "$(metric_other "$FO")" $((HOLD_N - named_sum)) "$FO{every label=\"other\"} = $HOLD_N - sum of the named series"
assert_eq "$named_sum" "$CAP" "$FO: one connection per named series"
# 50 assumes the gauge's label sets are the states the agent found at its
# collections: the handshakes on veth end long before the next one, so no
# syn_sent label set takes a slot.
assert_eq "$(mseries gespann_series_dropped_total family="$FO")" $((HOLD_N - CAP)) "gespann_series_dropped_total{family=\"$FO\"}"
hold_stop many
e2e_finish
