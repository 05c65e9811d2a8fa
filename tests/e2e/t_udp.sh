#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP flows: unconnected (sendto/recvfrom) and connected sockets, IPv4 and
# IPv6, bytes and datagrams per direction against the generator's counts and
# the namespace's /proc/net/snmp, then expiry after idle_timeout.
#
# The open gauge is read first, right after the traffic, and the idle
# timeout leaves room for a slow machine (a guest under emulation took over
# 2 s for the three generator runs): the flows are seen open before any of
# them can expire, rather than racing their expiry.
set -uo pipefail
E2E_NAME=udp
source "$(dirname "$0")/lib.sh"

netns_setup "${E2E_NS_PREFIX:-gse2e}-udp" || { not_ok "netns setup"; e2e_finish; exit 1; }
IDLE_S=5
agent_start udp "/var/run/netns/$NS_CLI" "idle_timeout: ${IDLE_S}s" || { e2e_finish; exit 1; }

for addr in "$SRV4" "$SRV6"; do
	netns_srv "$TRAFFICGEN" udp-server --bind "$addr" --port 5300 --deadline-ms 200000 >"$E2E_TMP/udpsrv-$addr.out" 2>&1 &
	wait_for grep -q listening "$E2E_TMP/udpsrv-$addr.out" || not_ok "udp server on $addr"
done

scrape
base_flows=$(metric gespann_udp_connections_total)
base_sent=$(metric 'gespann_connection_bandwidth_bytes_total{direction="sent",protocol="udp"}')
base_rcvd=$(metric 'gespann_connection_bandwidth_bytes_total{direction="received",protocol="udp"}')
base_dsent=$(metric 'gespann_udp_datagrams_total{direction="sent"}')
base_drcvd=$(metric 'gespann_udp_datagrams_total{direction="received"}')
snmp_out0=$(($(snmp "$NS_CLI" Udp OutDatagrams) + $(ip netns exec "$NS_CLI" awk '$1 == "Udp6OutDatagrams" {print $2}' /proc/net/snmp6)))
snmp_in0=$(($(snmp "$NS_CLI" Udp InDatagrams) + $(ip netns exec "$NS_CLI" awk '$1 == "Udp6InDatagrams" {print $2}' /proc/net/snmp6)))

t0=$SECONDS
netns_cli "$TRAFFICGEN" udp-client --connect "$SRV4" --port 5300 --flows 3 --datagrams 10 --size 100 >"$E2E_TMP/u1.json"
netns_cli "$TRAFFICGEN" udp-client --connect "$SRV4" --port 5300 --flows 2 --datagrams 7 --size 333 --connected >"$E2E_TMP/u2.json"
netns_cli "$TRAFFICGEN" udp-client --connect "$SRV6" --port 5300 --flows 2 --datagrams 5 --size 1200 >"$E2E_TMP/u3.json"
# All 7 open at once, seen before the first can expire (it went quiet at
# most $((SECONDS - t0)) s ago).
assert_true "7 UDP flows open" wait_metric gespann_open_connections 7 "$IDLE_S"
if ((SECONDS - t0 >= IDLE_S)); then
	not_ok "the open gauge was read within idle_timeout (${IDLE_S}s) of the traffic: took $((SECONDS - t0)) s"
fi

exp_sent=$(( $(jget "$E2E_TMP/u1.json" sent_bytes) + $(jget "$E2E_TMP/u2.json" sent_bytes) + $(jget "$E2E_TMP/u3.json" sent_bytes) ))
exp_rcvd=$(( $(jget "$E2E_TMP/u1.json" recv_bytes) + $(jget "$E2E_TMP/u2.json" recv_bytes) + $(jget "$E2E_TMP/u3.json" recv_bytes) ))
exp_dsent=$(( $(jget "$E2E_TMP/u1.json" sent_datagrams) + $(jget "$E2E_TMP/u2.json" sent_datagrams) + $(jget "$E2E_TMP/u3.json" sent_datagrams) ))
exp_drcvd=$(( $(jget "$E2E_TMP/u1.json" recv_datagrams) + $(jget "$E2E_TMP/u2.json" recv_datagrams) + $(jget "$E2E_TMP/u3.json" recv_datagrams) ))
assert_eq "$exp_sent" $((3 * 10 * 100 + 2 * 7 * 333 + 2 * 5 * 1200)) "generator sent the planned payload"

scrape
assert_eq $(($(metric gespann_udp_connections_total) - base_flows)) 7 "7 UDP flows (5-tuples)"
assert_eq $(($(metric 'gespann_connection_bandwidth_bytes_total{direction="sent",protocol="udp"}') - base_sent)) "$exp_sent" "UDP payload bytes sent = generator's count"
assert_eq $(($(metric 'gespann_connection_bandwidth_bytes_total{direction="received",protocol="udp"}') - base_rcvd)) "$exp_rcvd" "UDP payload bytes received = generator's count"
assert_eq $(($(metric 'gespann_udp_datagrams_total{direction="sent"}') - base_dsent)) "$exp_dsent" "UDP datagrams sent = generator's count"
assert_eq $(($(metric 'gespann_udp_datagrams_total{direction="received"}') - base_drcvd)) "$exp_drcvd" "UDP datagrams received = generator's count"
snmp_out=$(($(snmp "$NS_CLI" Udp OutDatagrams) + $(ip netns exec "$NS_CLI" awk '$1 == "Udp6OutDatagrams" {print $2}' /proc/net/snmp6) - snmp_out0))
snmp_in=$(($(snmp "$NS_CLI" Udp InDatagrams) + $(ip netns exec "$NS_CLI" awk '$1 == "Udp6InDatagrams" {print $2}' /proc/net/snmp6) - snmp_in0))
assert_eq $(($(metric 'gespann_udp_datagrams_total{direction="sent"}') - base_dsent)) "$snmp_out" "UDP datagrams sent = /proc/net/snmp{,6} OutDatagrams delta (ground truth)"
assert_eq $(($(metric 'gespann_udp_datagrams_total{direction="received"}') - base_drcvd)) "$snmp_in" "UDP datagrams received = /proc/net/snmp{,6} InDatagrams delta (ground truth)"
assert_eq "$(metric 'gespann_connection_events_total{type="open",protocol="udp",reset_reason=""}')" 7 "UDP open events"

# Silence for idle_timeout ends them.
assert_true "UDP flows expire after idle_timeout" wait_metric gespann_open_connections 0 $((IDLE_S + 10))
scrape
assert_eq "$(metric gespann_udp_flows_expired_total)" 7 "7 UDP flows expired"
assert_eq "$(metric 'gespann_connection_events_total{type="close",protocol="udp",reset_reason=""}')" 7 "UDP close events"
assert_eq "$(metric gespann_closed_connections_total)" 7 "closed connections count the expired flows"
assert_eq "$(metric 'gespann_map_full_total{map="udp_flows"}')" 0 "UDP flow map never full"
e2e_finish
