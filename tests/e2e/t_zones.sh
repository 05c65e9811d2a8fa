#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Zones on both ends (issue 22): the client and the server namespace are two
# zones of `networks:` (the client's address zone-a, the server's zone-b),
# and the host declares its own zone (`zone: zone-h`) for local addresses no
# entry lists. One agent with scope host sees both ends of every
# connection. Known traffic, TCP and UDP over IPv4 and IPv6, from zone-a to
# zone-b must show in gespann_network_inter_zone_bytes_total exactly as the
# generators counted it: zone-a -> zone-b as the client sent and received
# it, zone-b -> zone-a as the server did (the same bytes, the other way).
# The flow series carry src_zone (our end, whatever the role) and dst_zone
# (the peer). A connection from an address in no network (the client's
# first address, by a host route) takes the host's zone; traffic inside
# zone-a (the client to its own address), over loopback, and to a peer in
# no zone is not inter-zone. A reload that changes zone: applies to the
# connections made after it.
#
# The zones name addresses only this scenario uses (198.19.22.0/24 and
# fd00:6765:7370::22:0/112, added to the netns_setup pair): with scope host
# the agent sees the rest of the machine too, whose traffic stays out of
# the inter-zone family because none of its peers is in a zone. Ground
# truth: the generators' own counts.
set -uo pipefail
E2E_NAME=zones
source "$(dirname "$0")/lib.sh"

FB=gespann_flow_bytes_total
FC=gespann_flow_connections_total
IZ=gespann_network_inter_zone_bytes_total

A4=198.19.22.1 B4=198.19.22.2 H4=198.19.22.3
A6=fd00:6765:7370::22:1 B6=fd00:6765:7370::22:2

netns_setup gsp-zones || { not_ok "netns setup"; e2e_finish; exit 1; }
for t in za-client za-server zh-client zs-client zs-server; do
	named_tool "$t" >/dev/null || { not_ok "copy of trafficgen named $t"; e2e_finish; exit 1; }
done
BIN=$E2E_TMP/bin

# The zones' addresses. The client reaches $H4 (zone-b too) from its first
# address, $CLI4, which no network lists: the host's zone names that end.
setup_addrs() {
	ip -n "$NS_CLI" addr add "$A4/24" dev "$IF_CLI" &&
		ip -n "$NS_SRV" addr add "$B4/24" dev "$IF_SRV" &&
		ip -n "$NS_SRV" addr add "$H4/24" dev "$IF_SRV" &&
		ip -n "$NS_CLI" -6 addr add "$A6/64" dev "$IF_CLI" nodad &&
		ip -n "$NS_SRV" -6 addr add "$B6/64" dev "$IF_SRV" nodad &&
		ip -n "$NS_CLI" route add "$H4/32" dev "$IF_CLI" src "$CLI4"
}
assert_true "zone addresses and the host route to $H4 from $CLI4" setup_addrs
assert_true "$B4 and [$B6] answer from the client namespace" wait_for bash -c \
	"ip netns exec $NS_CLI ping -q -n -c 1 -W 1 $B4 && ip netns exec $NS_CLI ping -q -n -6 -c 1 -W 1 $B6"

agent_start zones host "attributes:
  client_address: true
networks:
  - {cidr: $A4/32, zone: zone-a}
  - {cidr: \"$A6/128\", zone: zone-a}
  - {cidr: $B4/31, zone: zone-b}
  - {cidr: \"$B6/128\", zone: zone-b}
zone: zone-h" || { e2e_finish; exit 1; }

srv() { # NS NAME OUT ARGS...: a server (copy NAME of trafficgen) in namespace NS
	local ns=$1 name=$2 out=$3
	shift 3
	ip netns exec "$ns" "$BIN/$name" "$@" --deadline-ms 200000 >"$E2E_TMP/$out.srv" 2>&1 &
	wait_for grep -q listening "$E2E_TMP/$out.srv" || not_ok "server $out listening"
}
cli() { # NAME OUT ARGS...: a client (copy NAME of trafficgen) in the client namespace
	local name=$1 out=$2
	shift 2
	netns_cli "$BIN/$name" "$@" >"$E2E_TMP/$out.json" 2>"$E2E_TMP/$out.err"
}

srv "$NS_SRV" za-server b-tcp tcp-server --bind :: --port 9301 --reply 4000
srv "$NS_SRV" za-server b-udp udp-server --bind :: --port 9302
srv "$NS_CLI" zs-server a-tcp tcp-server --bind :: --port 9303 --reply 2000

# ---- traffic with known counts ----
cli za-client t4 tcp-client --connect "$B4" --port 9301 --conns 3 --send 1000 --recv 4000
cli za-client t6 tcp-client --connect "$B6" --port 9301 --conns 2 --send 500 --recv 4000
cli za-client u4 udp-client --connect "$B4" --port 9302 --flows 2 --datagrams 5 --size 300
cli za-client u6 udp-client --connect "$B6" --port 9302 --flows 1 --datagrams 3 --size 200
cli zh-client h4 tcp-client --connect "$H4" --port 9301 --conns 2 --send 700 --recv 4000
cli zs-client s4 tcp-client --connect "$A4" --port 9303 --conns 2 --send 600 --recv 2000
cli zs-client l4 tcp-client --connect 127.0.0.1 --port 9303 --conns 1 --send 300 --recv 2000

tcp() { echo "$(jget "$E2E_TMP/$1.json" bytes_sent) $(jget "$E2E_TMP/$1.json" bytes_received) $(jget "$E2E_TMP/$1.json" ok)"; }
udp() { echo "$(jget "$E2E_TMP/$1.json" sent_bytes) $(jget "$E2E_TMP/$1.json" recv_bytes) $(jget "$E2E_TMP/$1.json" flows)"; }
assert_eq "$(tcp t4)" "3000 12000 3" "generator: 3 x (1000 to $B4, 4000 back)"
assert_eq "$(tcp t6)" "1000 8000 2" "generator: 2 x (500 to [$B6], 4000 back)"
assert_eq "$(udp u4)" "3000 3000 2" "generator: 2 UDP flows x 5 x 300 to $B4, echoed"
assert_eq "$(udp u6)" "600 600 1" "generator: 1 UDP flow x 3 x 200 to [$B6], echoed"
assert_eq "$(tcp h4)" "1400 8000 2" "generator: 2 x (700 from $CLI4 to $H4, 4000 back)"
assert_eq "$(tcp s4)" "1200 4000 2" "generator: 2 x (600 to $A4, its own address, 2000 back)"
assert_eq "$(tcp l4)" "300 2000 1" "generator: 1 x (300 over loopback, 2000 back)"
read -r t4s t4r _ <<<"$(tcp t4)"
read -r t6s t6r _ <<<"$(tcp t6)"
read -r u4s u4r _ <<<"$(udp u4)"
read -r u6s u6r _ <<<"$(udp u6)"
read -r h4s h4r _ <<<"$(tcp h4)"
read -r s4s s4r _ <<<"$(tcp s4)"
read -r l4s _ _ <<<"$(tcp l4)"
ab_tcp_s=$((t4s + t6s)) ab_tcp_r=$((t4r + t6r)) ab_udp_s=$((u4s + u6s)) ab_udp_r=$((u4r + u6r))

# ---- inter-zone bytes: each pair, direction and protocol ----
# TCP is counted at each close, UDP at the flow map's sweeps: wait for the
# whole (each byte on both ends, and the host-zone connection's client end).
iz_total=$((2 * (ab_tcp_s + ab_tcp_r + ab_udp_s + ab_udp_r) + h4s + h4r))
assert_true "$IZ sums to $iz_total" wait_msum 15 "$iz_total" "$IZ" ||
	e2e_log "$(grep "^$IZ{" "$E2E_TMP/last.prom" | tr '\n' '|')"
scrape || not_ok "scrape"
iz() { mseries "$IZ" src_zone="$1" dst_zone="$2" direction="$3" protocol="$4"; }
assert_eq "$(iz zone-a zone-b sent tcp)" "$ab_tcp_s" "$IZ{zone-a -> zone-b, sent, tcp} = the client's bytes sent (v4 + v6)"
assert_eq "$(iz zone-a zone-b received tcp)" "$ab_tcp_r" "$IZ{zone-a -> zone-b, received, tcp} = the client's bytes received"
assert_eq "$(iz zone-b zone-a received tcp)" "$ab_tcp_s" "$IZ{zone-b -> zone-a, received, tcp} = what the client sent"
assert_eq "$(iz zone-b zone-a sent tcp)" "$ab_tcp_r" "$IZ{zone-b -> zone-a, sent, tcp} = what the client received"
assert_eq "$(iz zone-a zone-b sent udp)" "$ab_udp_s" "$IZ{zone-a -> zone-b, sent, udp} = the client's datagram bytes sent"
assert_eq "$(iz zone-a zone-b received udp)" "$ab_udp_r" "$IZ{zone-a -> zone-b, received, udp} = the echoes received"
assert_eq "$(iz zone-b zone-a received udp)" "$ab_udp_s" "$IZ{zone-b -> zone-a, received, udp} = what the client sent"
assert_eq "$(iz zone-b zone-a sent udp)" "$ab_udp_r" "$IZ{zone-b -> zone-a, sent, udp} = the echoes"
assert_eq "$(iz zone-h zone-b sent tcp)" "$h4s" "$IZ{zone-h -> zone-b, sent, tcp}: from $CLI4 (no network: the host's zone)"
assert_eq "$(iz zone-h zone-b received tcp)" "$h4r" "$IZ{zone-h -> zone-b, received, tcp}"
assert_eq "$(mcount "$IZ")" 10 "$IZ: 10 series (a->b and b->a: 2 directions x 2 protocols; h->b: tcp both ways), nothing else" ||
	e2e_log "$(grep "^$IZ{" "$E2E_TMP/last.prom" | tr '\n' '|')"
assert_eq "$(mcount "$IZ" src_zone=zone-a dst_zone=zone-a)" 0 "traffic inside zone-a ($A4 to itself) is not inter-zone"
assert_eq "$(mcount "$IZ" dst_zone=zone-h)" 0 "the host's zone is never a peer's"
assert_eq "$(mcount "$IZ" src_zone=zone-b dst_zone=zone-h)$(mcount "$IZ" dst_zone=)" 00 \
	"the server end of $CLI4's connections (peer in no zone) is not inter-zone"
assert_eq "$(msum gespann_series_dropped_total family="$IZ")" 0 "$IZ: no label set dropped"
assert_eq "$(mlabels "$IZ")" "direction,dst_zone,protocol,src_zone" "$IZ labels"

# ---- src_zone and dst_zone on the flow series, both ends ----
fb() { msum "$FB" "$@"; }
assert_eq "$(fb role=client protocol=tcp src_process=za-client dst_address="$B4" src_zone=zone-a dst_zone=zone-b direction=sent)" "$t4s" \
	"client end, v4: $FB{src_zone=zone-a,dst_zone=zone-b,direction=sent}"
assert_eq "$(fb role=client protocol=tcp src_process=za-client dst_address="$B6" src_zone=zone-a dst_zone=zone-b direction=received)" "$t6r" \
	"client end, v6: $FB{src_zone=zone-a,dst_zone=zone-b,direction=received}"
assert_eq "$(fb role=server protocol=tcp src_process=za-server dst_address="$A4" dst_port=9301 src_zone=zone-b dst_zone=zone-a direction=received)" "$t4s" \
	"server end, v4 (role=server: src is the server): src_zone=zone-b, dst_zone=zone-a"
assert_eq "$(fb role=server protocol=tcp src_process=za-server dst_address="$A6" dst_port=9301 src_zone=zone-b dst_zone=zone-a direction=sent)" "$t6r" \
	"server end, v6: src_zone=zone-b, dst_zone=zone-a"
assert_eq "$(fb role=server protocol=udp src_process=za-server dst_address="$A4" src_zone=zone-b dst_zone=zone-a direction=received)" "$u4s" \
	"server end, UDP v4: src_zone=zone-b, dst_zone=zone-a"
assert_eq "$(fb role=client protocol=udp src_process=za-client dst_address="$B6" src_zone=zone-a dst_zone=zone-b direction=sent)" "$u6s" \
	"client end, UDP v6: src_zone=zone-a, dst_zone=zone-b"
assert_eq "$(msum "$FC" role=client protocol=tcp src_process=za-client src_zone=zone-a dst_zone=zone-b outcome=ok)" 5 \
	"$FC{src_zone=zone-a,dst_zone=zone-b}: the 5 TCP connections"
assert_eq "$(fb role=client src_process=zh-client dst_address="$H4" src_zone=zone-h dst_zone=zone-b direction=sent)" "$h4s" \
	"host zone: $CLI4 is in no network, src_zone=zone-h"
assert_eq "$(fb role=server src_process=za-server dst_address="$CLI4" src_zone=zone-b dst_zone= direction=received)" "$h4s" \
	"host zone: the server end of that connection has src_zone=zone-b, dst_zone empty (the peer is in no network)"
assert_eq "$(fb role=client src_process=zs-client dst_address="$A4" src_zone=zone-a dst_zone=zone-a direction=sent)" "$s4s" \
	"inside zone-a: client end src_zone=zone-a, dst_zone=zone-a"
assert_eq "$(fb role=server src_process=zs-server dst_address="$A4" src_zone=zone-a dst_zone=zone-a direction=received)" "$s4s" \
	"inside zone-a: server end src_zone=zone-a, dst_zone=zone-a"
assert_eq "$(fb role=server src_process=zs-server dst_address="$A4" src_zone=zone-a dst_zone=zone-a direction=sent)" "$s4r" \
	"inside zone-a: server end sent"
assert_eq "$(fb role=client src_process=zs-client dst_address=127.0.0.1 src_zone=zone-h dst_zone= direction=sent)" "$l4s" \
	"loopback: src_zone=zone-h (the host's), dst_zone empty"
assert_eq "$(mvalues "$FB" src_zone src_process=za-server)" "zone-b" "every series of the server in zone-b has src_zone=zone-b"

# ---- a reload (SIGHUP) gives the host another zone, for new connections ----
sed -i 's/^zone: zone-h$/zone: zone-h2/' "$E2E_TMP/zones.yaml"
kill -HUP "$AGENT_PID"
assert_true "SIGHUP: the log says reloaded: zone" wait_until 10 grep -q 'reloaded: zone$' "$AGENT_LOG"
cli zh-client h4b tcp-client --connect "$H4" --port 9301 --conns 1 --send 900 --recv 4000
read -r hbs hbr _ <<<"$(tcp h4b)"
assert_eq "$hbs $hbr" "900 4000" "generator: 1 x (900 from $CLI4 to $H4, 4000 back)"
assert_true "after the reload: $IZ{zone-h2 -> zone-b, sent, tcp} = $hbs" \
	wait_msum 10 "$hbs" "$IZ" src_zone=zone-h2 dst_zone=zone-b direction=sent protocol=tcp
assert_eq "$(iz zone-h2 zone-b received tcp)" "$hbr" "after the reload: $IZ{zone-h2 -> zone-b, received, tcp}"
assert_eq "$(iz zone-h zone-b sent tcp)" "$h4s" "the series made before the reload keep zone-h"
e2e_finish
