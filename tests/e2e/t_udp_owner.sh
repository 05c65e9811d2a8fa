#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP flow owners and DNS capture. The agent watches the client namespace;
# processes with known pids and names (build/tools/udpowner) run there:
#   (a) a client that sends first and reads echoes: owner = client, flags
#       EGRESS_FIRST|OWNER;
#   (b) receive-only servers (IPv4, IPv6) that never send: owner = server
#       (recorded at socket creation, read at ingress in softirq), flags OWNER;
#   (c) a short-lived sender that exits right after its one datagram;
#   (e) a receive-only server started before the agent: owner found by the
#       start-up socket walk;
#   (d) DNS: N UDP queries (IPv4 and IPv6) answered by a port 53 server in the
#       other namespace, and one TCP DNS exchange: one debug line per packet
#       with the right tuple, owner, lengths and message id, and the kernel's
#       DNS counters.
# Owners, flags and figures are read from the agent's own udp_flows map and
# compared with what the processes printed about themselves.
set -uo pipefail
E2E_NAME=udp_owner
source "$(dirname "$0")/lib.sh"
UDPOWNER=${UDPOWNER:-$E2E_ROOT/build/tools/udpowner}

# agent_map_id NAME: id of the map NAME among the running agent's fds.
agent_map_id() {
	local f id
	for f in /proc/"$AGENT_PID"/fdinfo/*; do
		id=$(awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null)
		[[ -n "$id" ]] || continue
		if bpftool -j map show id "$id" 2>/dev/null | grep -q "\"name\":\"$1\""; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

# flows_dump: one line per udp_flows entry of the agent:
#   LADDR LPORT RADDR RPORT PID COMM FLAGS DGRAMS_SENT DGRAMS_RECEIVED BYTES_SENT BYTES_RECEIVED
flows_dump() {
	bpftool -j map dump id "$FLOWS_ID" | python3 -c '
import ipaddress, json, struct, sys
b = lambda l: bytes(int(x, 16) for x in l)
for e in json.load(sys.stdin):
    _, la, ra, lp, rp, fam, _ = struct.unpack("<Q16s16sHHHH", b(e["key"]))
    v = struct.unpack("<QQQQQQQII16s", b(e["value"]))
    addr = (lambda a: str(ipaddress.IPv4Address(a[:4]))) if fam == 2 else (lambda a: str(ipaddress.IPv6Address(a)))
    comm = v[9].split(b"\0")[0].decode(errors="replace") or "-"
    print(addr(la), lp, addr(ra), rp, v[7], comm, v[8], v[4], v[5], v[2], v[3])
'
}

# counters: "NAME VALUE" for every gs_counter of udp_stats, summed over CPUs.
counters() {
	bpftool -j map dump id "$STATS_ID" | python3 -c '
import json, re, struct, sys
hdr = open(sys.argv[1]).read()
body = re.search(r"enum gs_counter \{(.*?)\};", hdr, re.S).group(1)
names = re.findall(r"^\s*(GS_C_\w+)", body, re.M)
names = names[:names.index("GS_C_MAX")]
tot = [0] * len(names)
for e in json.load(sys.stdin):
    for cpu in e["values"]:
        raw = bytes(int(x, 16) for x in cpu["value"])
        for i, c in enumerate(struct.unpack_from("<%dQ" % len(names), raw)):
            tot[i] += c
for n, c in zip(names, tot):
    print(n, c)
' "$E2E_ROOT/src/abi/gespann_abi.h"
}

counter() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }

# flow LADDR LPORT RADDR RPORT: "PID COMM FLAGS DSENT DRCVD BSENT BRCVD" of one flow.
flow() {
	awk -v la="$1" -v lp="$2" -v ra="$3" -v rp="$4" \
		'$1 == la && $2 == lp && $3 == ra && $4 == rp { print $5, $6, $7, $8, $9, $10, $11 }' "$E2E_TMP/flows"
}

# dns_lines PATTERN: debug lines of DNS records matching the extended regex.
dns_lines() {
	grep -cE "level=debug dns $1\$" "$AGENT_LOG"
}

jfield() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$1" "$2"; }

netns_setup gsp-udpo || { not_ok "netns setup"; e2e_finish; exit 1; }
# (e) Its socket exists before the agent does.
netns_cli "$UDPOWNER" recv --bind "$CLI4" --port 7300 --name udpo-early --count 2 --deadline-ms 60000 >"$E2E_TMP/early.out" 2>&1 &
EARLY=$!
wait_for grep -q pid "$E2E_TMP/early.out" || not_ok "early receive-only server up"
agent_start udpo "/var/run/netns/$NS_CLI" "idle_timeout: 120s" || { e2e_finish; exit 1; }
assert_true "feature udp_owner on" grep -q 'feature udp_owner: on' "$AGENT_LOG"
assert_true "feature dns_capture on" grep -q 'feature dns_capture: on' "$AGENT_LOG"
# The start-up walk found the one UDP socket open in scope: (e)'s.
assert_eq "$(grep -o 'named the owners of [0-9]* UDP socket' "$AGENT_LOG")" "named the owners of 1 UDP socket" "UDP sockets named at start"
if ! FLOWS_ID=$(agent_map_id udp_flows) || ! STATS_ID=$(agent_map_id udp_stats); then
	not_ok "agent maps udp_flows/udp_stats found"
	e2e_finish
	exit 1
fi
counters >"$E2E_TMP/c0"

# Servers in the other namespace: an echo server, DNS over UDP (v4, v6), TCP.
netns_srv "$TRAFFICGEN" udp-server --bind "$SRV4" --port 7100 --deadline-ms 60000 >"$E2E_TMP/echo.out" 2>&1 &
ECHO_PID=$!
netns_srv "$UDPOWNER" dns-server --bind "$SRV4" --port 53 --count 5 --deadline-ms 60000 >"$E2E_TMP/dns4.out" 2>&1 &
netns_srv "$UDPOWNER" dns-server --bind "$SRV6" --port 53 --count 2 --deadline-ms 60000 >"$E2E_TMP/dns6.out" 2>&1 &
netns_srv "$UDPOWNER" dns-server --bind "$SRV4" --port 53 --count 1 --tcp --deadline-ms 60000 >"$E2E_TMP/dnst.out" 2>&1 &
for f in echo dns4 dns6 dnst; do
	wait_for grep -q listening "$E2E_TMP/$f.out" || not_ok "server $f listening"
done

# (b) Receive-only servers here, started after the agent: owners from socket creation.
netns_cli "$UDPOWNER" recv --bind "$CLI4" --port 7200 --name udpo-server --count 3 >"$E2E_TMP/recv4.out" 2>&1 &
RECV4=$!
netns_cli "$UDPOWNER" recv --bind "$CLI6" --port 7201 --name udpo-server6 --count 2 >"$E2E_TMP/recv6.out" 2>&1 &
RECV6=$!
wait_for grep -q pid "$E2E_TMP/recv4.out" || not_ok "receive-only server (IPv4) up"
wait_for grep -q pid "$E2E_TMP/recv6.out" || not_ok "receive-only server (IPv6) up"
netns_srv "$UDPOWNER" send --connect "$CLI4" --port 7200 --name udpo-peer --count 3 --size 32 >"$E2E_TMP/peer4.out"
netns_srv "$UDPOWNER" send --connect "$CLI6" --port 7201 --name udpo-peer --count 2 --size 48 >"$E2E_TMP/peer6.out"
netns_srv "$UDPOWNER" send --connect "$CLI4" --port 7300 --name udpo-peer --count 2 --size 10 >"$E2E_TMP/peer-early.out"
for pid in "$RECV4" "$RECV6" "$EARLY"; do
	wait "$pid" || not_ok "receive-only server $pid got every datagram"
done

# (a) Client first, with echoes.
netns_cli "$UDPOWNER" send --connect "$SRV4" --port 7100 --name udpo-client --count 4 --size 64 --replies >"$E2E_TMP/client.out" ||
	not_ok "client run"
# (c) Short-lived: exits right after its datagram (its echo may meet a closed port).
netns_cli "$UDPOWNER" send --connect "$SRV4" --port 7100 --name udpo-short --count 1 --size 20 >"$E2E_TMP/short.out" ||
	not_ok "short-lived sender run"
# (d) DNS.
netns_cli "$UDPOWNER" dns-query --connect "$SRV4" --port 53 --name udpo-dnsq --count 5 >"$E2E_TMP/q4.out" || not_ok "dns-query v4 run"
netns_cli "$UDPOWNER" dns-query --connect "$SRV6" --port 53 --name udpo-dnsq6 --count 2 >"$E2E_TMP/q6.out" || not_ok "dns-query v6 run"
netns_cli "$UDPOWNER" dns-query --connect "$SRV4" --port 53 --name udpo-dnst --count 1 --tcp >"$E2E_TMP/qt.out" || not_ok "dns-query tcp run"
assert_eq "$(tail -1 "$E2E_TMP/q4.out" | grep -o '"answered":[0-9]*')" '"answered":5' "5 UDP DNS queries answered (IPv4)"
assert_eq "$(tail -1 "$E2E_TMP/q6.out" | grep -o '"answered":[0-9]*')" '"answered":2' "2 UDP DNS queries answered (IPv6)"
assert_eq "$(tail -1 "$E2E_TMP/qt.out" | grep -o '"answered":[0-9]*')" '"answered":1' "1 TCP DNS query answered"
kill -TERM "$ECHO_PID" 2>/dev/null
wait "$ECHO_PID" 2>/dev/null

flows_dump >"$E2E_TMP/flows" || not_ok "udp_flows dumped"
e2e_log "flows: $(tr '\n' ';' <"$E2E_TMP/flows")"

# (a) pid comm flags(EGRESS_FIRST|OWNER=3) dgrams_sent dgrams_received bytes_sent bytes_received
p=$(jfield "$E2E_TMP/client.out" pid)
lp=$(jfield "$E2E_TMP/client.out" lport)
assert_eq "$(flow "$CLI4" "$lp" "$SRV4" 7100)" "$p udpo-client 3 4 4 256 256" "client-first flow: owner, flags, datagrams, bytes"

# (b) flags OWNER only (=2): first datagram received.
p=$(jfield "$E2E_TMP/recv4.out" pid)
lp=$(jfield "$E2E_TMP/peer4.out" lport)
assert_eq "$(flow "$CLI4" 7200 "$SRV4" "$lp")" "$p udpo-server 2 0 3 0 96" "server-first flow (receive-only, IPv4): owner is the server"
p=$(jfield "$E2E_TMP/recv6.out" pid)
lp=$(jfield "$E2E_TMP/peer6.out" lport)
assert_eq "$(flow "$CLI6" 7201 "$SRV6" "$lp")" "$p udpo-server6 2 0 2 0 96" "server-first flow (receive-only, IPv6): owner is the server"

# (e) socket opened before the agent started.
p=$(jfield "$E2E_TMP/early.out" pid)
lp=$(jfield "$E2E_TMP/peer-early.out" lport)
assert_eq "$(flow "$CLI4" 7300 "$SRV4" "$lp")" "$p udpo-early 2 0 2 0 20" "server-first flow of a socket open before the agent: owner from the start-up walk"

# (c) the process is gone; its flow still names it. Fields up to dgrams_sent.
p=$(jfield "$E2E_TMP/short.out" pid)
lp=$(jfield "$E2E_TMP/short.out" lport)
kill -0 "$p" 2>/dev/null && not_ok "short-lived sender $p has exited"
assert_eq "$(flow "$CLI4" "$lp" "$SRV4" 7100 | cut -d' ' -f1-4)" "$p udpo-short 3 1" "short-lived sender's flow: owner, flags, 1 datagram"

# DNS flows carry their owner too.
p=$(jfield "$E2E_TMP/q4.out" pid)
lp=$(jfield "$E2E_TMP/q4.out" lport)
assert_eq "$(flow "$CLI4" "$lp" "$SRV4" 53)" "$p udpo-dnsq 3 5 5 175 255" "DNS client flow (IPv4)"
p6=$(jfield "$E2E_TMP/q6.out" pid)
lp6=$(jfield "$E2E_TMP/q6.out" lport)
assert_eq "$(flow "$CLI6" "$lp6" "$SRV6" 53)" "$p6 udpo-dnsq6 3 2 2 70 102" "DNS client flow (IPv6)"

# (d) one debug line per DNS packet: 5 + 2 queries and answers over UDP, one each over TCP.
assert_true "16 DNS debug lines" wait_until 5 bash -c "[[ \$(grep -c 'level=debug dns ' '$AGENT_LOG') -ge 16 ]]"
assert_eq "$(grep -c 'level=debug dns ' "$AGENT_LOG")" 16 "DNS debug lines in total"
id='id=0x100[0-4]'
assert_eq "$(dns_lines "egress udp $CLI4:$lp -> $SRV4:53 pid=$p comm=udpo-dnsq len=35 payload=35 $id")" 5 "UDP DNS queries captured (egress, IPv4)"
assert_eq "$(dns_lines "ingress udp $SRV4:53 -> $CLI4:$lp pid=$p comm=udpo-dnsq len=51 payload=51 $id")" 5 "UDP DNS answers captured (ingress, IPv4)"
assert_eq "$(grep -E "level=debug dns egress udp $CLI4:$lp " "$AGENT_LOG" | grep -o 'id=0x....' | sort -u | tr '\n' ' ')" \
	"id=0x1000 id=0x1001 id=0x1002 id=0x1003 id=0x1004 " "each query id once"
assert_eq "$(dns_lines "egress udp \[$CLI6\]:$lp6 -> \[$SRV6\]:53 pid=$p6 comm=udpo-dnsq6 len=35 payload=35 id=0x100[01]")" 2 "UDP DNS queries captured (egress, IPv6)"
assert_eq "$(dns_lines "ingress udp \[$SRV6\]:53 -> \[$CLI6\]:$lp6 pid=$p6 comm=udpo-dnsq6 len=51 payload=51 id=0x100[01]")" 2 "UDP DNS answers captured (ingress, IPv6)"
lpt=$(jfield "$E2E_TMP/qt.out" lport)
assert_eq "$(dns_lines "egress tcp $CLI4:$lpt -> $SRV4:53 pid=0 comm=- len=37 payload=37 id=0x1000")" 1 "TCP DNS query captured (length prefix + 35)"
assert_eq "$(dns_lines "ingress tcp $SRV4:53 -> $CLI4:$lpt pid=0 comm=- len=53 payload=53 id=0x1000")" 1 "TCP DNS answer captured (length prefix + 51)"

# Kernel counters, as deltas over the run.
counters >"$E2E_TMP/c1"
counter_delta() { echo $(($(counter "$1" "$E2E_TMP/c1") - $(counter "$1" "$E2E_TMP/c0"))); }
assert_eq "$(counter_delta GS_C_DNS_PACKETS)" 16 "GS_C_DNS_PACKETS"
assert_eq "$(counter_delta GS_C_DNS_LOST)" 0 "GS_C_DNS_LOST"
# a, b (v4, v6), c, e, DNS (v4, v6)
assert_eq "$(counter_delta GS_C_UDP_FLOWS)" 7 "GS_C_UDP_FLOWS"
assert_eq "$(counter_delta GS_C_UDP_OWNER_UNKNOWN)" 0 "GS_C_UDP_OWNER_UNKNOWN"
assert_eq "$(wc -l <"$E2E_TMP/flows")" 7 "udp_flows entries"
e2e_finish
