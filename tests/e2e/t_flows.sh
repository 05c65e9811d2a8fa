#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Who talks to whom (issue 5): two client processes (alpha, bravo: copies of
# the traffic generator, whose comm is the file name) talk TCP over IPv4 and
# IPv6 and UDP to two servers (svc-one on 9101, svc-two on 9102, bound to ::
# so IPv4 peers arrive v4-mapped) with known byte counts. One agent watches
# the client namespace (role="client"), a second the server namespace
# (role="server", dst_port = the service port). Then: held connections in the
# open gauge (established, then time_wait after the client closes first)
# against `ss`; a refused connect; and a third agent with a `networks:` entry
# and an attributes.select for gespann_flow_bytes_total. Ground truth: the
# generators' own counts, the namespace's /proc/net/snmp and `ss`.
#
# E2E_DRY_RUN=1 leaves out the issue-5 configuration keys, so the traffic and
# ground-truth side runs against an agent without them (issue-5 asserts fail).
set -uo pipefail
E2E_NAME=flows
source "$(dirname "$0")/lib.sh"

FB=gespann_flow_bytes_total
FC=gespann_flow_connections_total
FO=gespann_flow_open_connections
PB=gespann_process_bytes_total
HOLD_N=7

netns_setup gsp-flow || { not_ok "netns setup"; e2e_finish; exit 1; }
netns_keep_time_wait || not_ok "tcp_rfc1337=1 in the client namespace"
# Up to three agents at once: whatever is still running at exit is stopped by
# the EXIT trap (lib.sh).
for t in alpha bravo holder svc-one svc-two svc-hold; do
	named_tool "$t" >/dev/null || { not_ok "copy of trafficgen named $t"; e2e_finish; exit 1; }
done
BIN=$E2E_TMP/bin

# the server agent selects the client's address (off by default) to check it
agent_start flows-srv "/var/run/netns/$NS_SRV" "attributes:
  client_address: true" || { e2e_finish; exit 1; }
agent_save SRVAGENT
agent_start flows-cli "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }
agent_save CLIAGENT

srv() { # NAME OUT ARGS...: a server (copy NAME of trafficgen) in the server namespace
	local name=$1 out=$2
	shift 2
	netns_srv "$BIN/$name" "$@" --deadline-ms 200000 >"$E2E_TMP/$out.srv" 2>&1 &
	wait_for grep -q listening "$E2E_TMP/$out.srv" || not_ok "server $out listening"
}
cli() { # NAME OUT ARGS...: a client (copy NAME of trafficgen) in the client namespace
	local name=$1 out=$2
	shift 2
	netns_cli "$BIN/$name" "$@" >"$E2E_TMP/$out.json" 2>"$E2E_TMP/$out.err"
}
# lbl LABEL=VALUE...: the pairs as the exporter renders them, for messages.
lbl() {
	local out="" kv
	for kv in "$@"; do out+="${out:+,}${kv%%=*}=\"${kv#*=}\""; done
	printf '%s' "$out"
}
# scrape_agent AGENT: make the saved agent AGENT current and scrape it.
scrape_agent() {
	agent_use "$1"
	scrape || not_ok "scrape of agent $1"
}

srv svc-one one-tcp tcp-server --bind :: --port 9101 --reply 3000
srv svc-two two-tcp tcp-server --bind :: --port 9102 --reply 5000
srv svc-one one-udp udp-server --bind :: --port 9101
srv svc-two two-udp udp-server --bind :: --port 9102
srv svc-hold hold-tcp tcp-server --bind :: --port 9105

# ---- traffic with known counts ----
# OUT PROC PROTO ADDR PORT: the plan, one line per generator run.
plan=(
	"a4 alpha tcp $SRV4 9101"
	"a6 alpha tcp $SRV6 9101"
	"b4 bravo tcp $SRV4 9102"
	"b6 bravo tcp $SRV6 9102"
	"ua4 alpha udp $SRV4 9101"
	"ub6 bravo udp $SRV6 9102"
)
snmp_fail0=$(snmp "$NS_CLI" Tcp AttemptFails)
snmp_retrans0=$(snmp "$NS_CLI" Tcp RetransSegs)
cli alpha a4 tcp-client --connect "$SRV4" --port 9101 --conns 5 --send 1000 --recv 3000 --parallel 2
cli alpha a6 tcp-client --connect "$SRV6" --port 9101 --conns 3 --send 2000 --recv 3000
cli bravo b4 tcp-client --connect "$SRV4" --port 9102 --conns 4 --send 1500 --recv 5000 --parallel 2
cli bravo b6 tcp-client --connect "$SRV6" --port 9102 --conns 2 --send 700 --recv 5000
cli alpha ua4 udp-client --connect "$SRV4" --port 9101 --flows 2 --datagrams 4 --size 100
cli bravo ub6 udp-client --connect "$SRV6" --port 9102 --flows 1 --datagrams 3 --size 200
cli alpha refused tcp-client --connect "$SRV4" --port 9103 --conns 1

# Ground truth from the generators (TCP: bytes_sent/bytes_received, ok;
# UDP: sent_bytes/recv_bytes, flows).
declare -A SENT RCVD CONNS
tot_sent=0 tot_rcvd=0 tcp_sent=0 tcp_rcvd=0
for p in "${plan[@]}"; do
	read -r out proc proto addr port <<<"$p"
	f=$E2E_TMP/$out.json
	if [[ $proto == tcp ]]; then
		SENT[$out]=$(jget "$f" bytes_sent) RCVD[$out]=$(jget "$f" bytes_received) CONNS[$out]=$(jget "$f" ok)
		tcp_sent=$((tcp_sent + SENT[$out])) tcp_rcvd=$((tcp_rcvd + RCVD[$out]))
	else
		SENT[$out]=$(jget "$f" sent_bytes) RCVD[$out]=$(jget "$f" recv_bytes) CONNS[$out]=$(jget "$f" flows)
	fi
	tot_sent=$((tot_sent + SENT[$out])) tot_rcvd=$((tot_rcvd + RCVD[$out]))
	e2e_log "ground truth $out: $proc $proto -> $addr:$port sent ${SENT[$out]} received ${RCVD[$out]} connections ${CONNS[$out]}"
done
assert_eq "${SENT[a4]} ${RCVD[a4]} ${CONNS[a4]}" "5000 15000 5" "generator alpha v4: 5 x (1000 out, 3000 back)"
assert_eq "${SENT[a6]} ${RCVD[a6]} ${CONNS[a6]}" "6000 9000 3" "generator alpha v6: 3 x (2000 out, 3000 back)"
assert_eq "${SENT[b4]} ${RCVD[b4]} ${CONNS[b4]}" "6000 20000 4" "generator bravo v4: 4 x (1500 out, 5000 back)"
assert_eq "${SENT[b6]} ${RCVD[b6]} ${CONNS[b6]}" "1400 10000 2" "generator bravo v6: 2 x (700 out, 5000 back)"
assert_eq "${SENT[ua4]} ${RCVD[ua4]}" "800 800" "generator alpha udp: 2 flows x 4 x 100, echoed"
assert_eq "${SENT[ub6]} ${RCVD[ub6]}" "600 600" "generator bravo udp: 1 flow x 3 x 200, echoed"
assert_eq "$(jget "$E2E_TMP/refused.json" errno.ECONNREFUSED)" 1 "generator: the connect to :9103 was refused"
assert_eq $(($(snmp "$NS_CLI" Tcp AttemptFails) - snmp_fail0)) 1 "/proc/net/snmp AttemptFails delta (ground truth)"

# ---- client side: role="client", dst_port = the server's port ----
agent_use CLIAGENT
# 14 completed TCP connections + 1 refused + 3 UDP flows.
assert_true "client agent: every connection counted" wait_msum 10 18 "$FC"
assert_true "client agent: every byte folded in" wait_msum 10 "$tot_sent" "$FB" direction=sent
scrape_agent CLIAGENT
for p in "${plan[@]}"; do
	read -r out proc proto addr port <<<"$p"
	sel=(protocol="$proto" role=client src_process="$proc" dst_address="$addr" dst_port="$port")
	assert_eq "$(msum "$FB" direction=sent "${sel[@]}")" "${SENT[$out]}" "$FB{$(lbl direction=sent "${sel[@]}")}"
	assert_eq "$(msum "$FB" direction=received "${sel[@]}")" "${RCVD[$out]}" "$FB{$(lbl direction=received "${sel[@]}")}"
	assert_eq "$(msum "$FC" outcome=ok "${sel[@]}")" "${CONNS[$out]}" "$FC{$(lbl "${sel[@]}" outcome=ok)}"
done
assert_eq "$(msum "$FC" protocol=tcp role=client src_process=alpha dst_address="$SRV4" dst_port=9103 outcome=refused)" 1 "$FC{outcome=\"refused\",dst_port=\"9103\"} = AttemptFails delta"
assert_eq "$(msum "$FC" outcome=refused)" 1 "exactly one refused connection"
assert_eq "$(msum "$FC")" 18 "$FC: 14 ok TCP + 1 refused + 3 UDP flows" ||
	e2e_log "client: $(grep "^$FC{" "$E2E_TMP/last.prom" | tr '\n' '|')"
assert_eq "$(mlabels "$FB")" "direction,dst_address,dst_class,dst_name,dst_port,dst_zone,protocol,role,src_process,src_service,src_zone" "$FB default labels"
assert_eq "$(mlabels "$FC")" "dst_address,dst_class,dst_name,dst_port,dst_zone,outcome,protocol,role,src_process,src_service,src_zone" "$FC default labels"
assert_eq "$(mvalues "$FB" role)" client "client agent: only role=client"
assert_eq "$(mvalues "$FB" dst_class dst_address="$SRV4")" internal "dst_class of $SRV4 by default (198.18.0.0/15)"
assert_eq "$(mvalues "$FB" dst_class dst_address="$SRV6")" internal "dst_class of $SRV6 by default (fc00::/7)"
assert_eq "$(mcount "$FB" dst_zone=)" "$(mcount "$FB")" "dst_zone empty without networks:"
assert_eq "$(mcount "$FB" dst_name=)" "$(mcount "$FB")" "dst_name empty without DNS"
# Sums over the flow series are the agent's own totals and the generators'.
assert_eq "$(msum "$FB" direction=sent protocol=tcp)" "$(msum gespann_connection_bandwidth_bytes_total direction=sent protocol=tcp)" "sum of TCP flow bytes sent = gespann_connection_bandwidth_bytes_total{sent,tcp}"
assert_eq "$(msum "$FB" direction=received protocol=tcp)" "$(msum gespann_connection_bandwidth_bytes_total direction=received protocol=tcp)" "sum of TCP flow bytes received = gespann_connection_bandwidth_bytes_total{received,tcp}"
assert_eq "$(msum "$FB" direction=sent)" "$(metric gespann_bytes_sent_total)" "sum of flow bytes sent = gespann_bytes_sent_total"
assert_eq "$(msum "$FB" direction=received)" "$(metric gespann_bytes_received_total)" "sum of flow bytes received = gespann_bytes_received_total"
assert_eq "$(metric gespann_bytes_sent_total) $(metric gespann_bytes_received_total)" "$tot_sent $tot_rcvd" "gespann_bytes_{sent,received}_total = the generators' totals"
assert_eq "$(msum "$FB" direction=sent protocol=tcp)" "$tcp_sent" "sum of TCP flow bytes sent = the generators' TCP total"
# RTT (srtt at close) once per completed connection; retransmits as the kernel counts them.
assert_eq "$(msum gespann_flow_rtt_seconds_count role=client src_process=alpha dst_address="$SRV4" dst_port=9101)" "${CONNS[a4]}" "gespann_flow_rtt_seconds_count{src_process=\"alpha\",dst_address=\"$SRV4\",dst_port=\"9101\"}: one per connection"
assert_eq "$(msum gespann_flow_rtt_seconds_count role=client src_process=bravo dst_address="$SRV6" dst_port=9102)" "${CONNS[b6]}" "gespann_flow_rtt_seconds_count{src_process=\"bravo\",dst_address=\"$SRV6\",dst_port=\"9102\"}: one per connection"
assert_eq "$(msum gespann_flow_retransmits_total)" $(($(snmp "$NS_CLI" Tcp RetransSegs) - snmp_retrans0)) "sum of gespann_flow_retransmits_total = /proc/net/snmp RetransSegs delta"
# Per process.
for proc in alpha bravo; do
	for proto in tcp udp; do
		es=0 er=0
		for p in "${plan[@]}"; do
			read -r out pproc pproto _ _ <<<"$p"
			[[ $pproc == "$proc" && $pproto == "$proto" ]] || continue
			es=$((es + SENT[$out])) er=$((er + RCVD[$out]))
		done
		assert_eq "$(msum "$PB" process="$proc" direction=sent protocol="$proto")" "$es" "$PB{process=\"$proc\",direction=\"sent\",protocol=\"$proto\"}"
		assert_eq "$(msum "$PB" process="$proc" direction=received protocol="$proto")" "$er" "$PB{process=\"$proc\",direction=\"received\",protocol=\"$proto\"}"
	done
done
assert_eq "$(mlabels "$PB")" "direction,process,protocol,service" "$PB default labels"
assert_eq "$(msum "$PB" direction=sent)" "$tot_sent" "sum of $PB sent = the generators' total"

# ---- server side: role="server", the service port, the accepting process ----
agent_use SRVAGENT
assert_true "server agent: every connection counted" wait_msum 10 17 "$FC"
assert_true "server agent: every byte folded in" wait_msum 10 "$tot_rcvd" "$FB" direction=sent
scrape_agent SRVAGENT
for p in "${plan[@]}"; do
	read -r out proc proto addr port <<<"$p"
	svc="svc-one"
	[[ $port == 9102 ]] && svc="svc-two"
	peer=$CLI4 # the client's address, v4-mapped on the :: socket, shown as IPv4
	[[ $addr == "$SRV6" ]] && peer=$CLI6
	sel=(protocol="$proto" role=server src_process="$svc" dst_address="$peer" dst_port="$port")
	assert_eq "$(msum "$FB" direction=received "${sel[@]}")" "${SENT[$out]}" "server: $FB{$(lbl direction=received "${sel[@]}")}"
	assert_eq "$(msum "$FB" direction=sent "${sel[@]}")" "${RCVD[$out]}" "server: $FB{$(lbl direction=sent "${sel[@]}")}"
	assert_eq "$(msum "$FC" outcome=ok "${sel[@]}")" "${CONNS[$out]}" "server: $FC{$(lbl "${sel[@]}" outcome=ok)}"
done
assert_eq "$(mvalues "$FB" role)" server "server agent: only role=server"
assert_eq "$(mvalues "$FB" dst_port)" "9101 9102" "server: dst_port is the service port, never the client's ephemeral port"
assert_eq "$(mvalues "$FC" dst_port)" "9101 9102" "server: connections by service port only (the refused SYN made none)"
assert_eq "$(mvalues "$FB" dst_address)" "$CLI4 $CLI6" "server: v4-mapped peers shown as IPv4"
assert_eq "$(mvalues "$FB" src_process)" "svc-one svc-two" "server: flows owned by the accepting processes"
assert_eq "$(msum "$FB" direction=sent)" "$(metric gespann_bytes_sent_total)" "server: sum of flow bytes sent = gespann_bytes_sent_total"
assert_eq "$(msum "$FC")" 17 "server: 14 accepted TCP + 3 UDP flows" ||
	e2e_log "server: $(grep "^$FC{" "$E2E_TMP/last.prom" | tr '\n' '|')"
assert_eq "$(msum "$PB" process=svc-one direction=received protocol=tcp)" $((SENT[a4] + SENT[a6])) "server: $PB{process=\"svc-one\",direction=\"received\",protocol=\"tcp\"}"

# ---- open gauge: held connections, established then time_wait ----
ss_count() { # STATE: TCP sockets in STATE to or from port 9105 in the client namespace
	netns_cli ss -tnH state "$1" '( dport = :9105 )' | wc -l
}
ss_is() { [[ "$(ss_count "$1")" == "$2" ]]; }
# --half-close: the holder shuts down, waits for each server's FIN, then
# closes, so all of them are in TIME_WAIT when hold_stop returns; and they
# stay there (netns_keep_time_wait: a 6.1 guest once lost one to the RST a
# retransmitted FIN's second ACK drew from the server).
TRAFFICGEN=$BIN/holder hold_start held "$SRV4" 9105 "$HOLD_N" --half-close || not_ok "holder established $HOLD_N connections"
assert_true "ss: $HOLD_N established to :9105" wait_for ss_is established "$HOLD_N"
agent_use CLIAGENT
assert_true "client: $FO{state=\"established\",src_process=\"holder\",dst_port=\"9105\"} = $HOLD_N" \
	wait_msum 5 "$HOLD_N" "$FO" role=client src_process=holder dst_address="$SRV4" dst_port=9105 state=established
assert_eq "$(msum "$FO" state=established)" "$(ss_count established)" "client: open gauge established = ss count"
assert_eq "$(mlabels "$FO")" "dst_address,dst_name,dst_port,role,src_process,src_service,state" "$FO default labels"
agent_use SRVAGENT
assert_true "server: $FO{role=\"server\",src_process=\"svc-hold\",dst_port=\"9105\",state=\"established\"} = $HOLD_N" \
	wait_msum 5 "$HOLD_N" "$FO" role=server src_process=svc-hold dst_address="$CLI4" dst_port=9105 state=established
hold_stop held
assert_true "ss: $HOLD_N in time-wait on the client (it closed first)" wait_for ss_is time-wait "$HOLD_N"
e2e_log "ss time-wait to :9105: $(ss_count time-wait), established: $(ss_count established)"
if ! ss_is time-wait "$HOLD_N"; then # what the kernels hold instead, for the log
	e2e_log "client: $(netns_cli ss -tanoi '( dport = :9105 )' | tr '\n' '|')"
	e2e_log "server: $(netns_srv ss -tanoi '( sport = :9105 )' | tr '\n' '|')"
	e2e_log "client nstat: $(netns_cli nstat -asz 2>/dev/null | awk '$2 != 0 && /TcpExt|EstabResets|OutRsts|AttemptFails/' | tr -s ' ' | tr '\n' '|')"
	e2e_log "server nstat: $(netns_srv nstat -asz 2>/dev/null | awk '$2 != 0 && /TcpExt|EstabResets|OutRsts|AttemptFails/' | tr -s ' ' | tr '\n' '|')"
	e2e_log "holder: $(tr '\n' ' ' <"$E2E_TMP/hold-held.out")"
fi
agent_use CLIAGENT
assert_true "client: $FO{state=\"time_wait\",dst_port=\"9105\"} = $HOLD_N = ss count" \
	wait_msum 10 "$HOLD_N" "$FO" role=client src_process=holder dst_address="$SRV4" dst_port=9105 state=time_wait
assert_eq "$(msum "$FO" dst_port=9105 state=established)" 0 "client: none of them established any more"
# Whole namespace: the earlier connections wait in time-wait too (60 s).
ss_all_tw_matches() { scrape && [[ "$(msum "$FO" state=time_wait)" == "$(netns_cli ss -tnH state time-wait | wc -l)" ]]; }
assert_true "client: time_wait gauge = ss time-wait count for the whole namespace" wait_until 5 ss_all_tw_matches
agent_use SRVAGENT
assert_true "server: held connections gone from the gauge" wait_msum 5 0 "$FO" dst_port=9105
assert_true "server: their $HOLD_N connections counted when they ended" wait_msum 5 "$HOLD_N" "$FC" role=server src_process=svc-hold dst_port=9105 outcome=ok

scrape_agent CLIAGENT
assert_eq "$(metric gespann_events_lost_total)" 0 "client agent: no ring-buffer record lost"
scrape_agent SRVAGENT
assert_eq "$(metric gespann_events_lost_total)" 0 "server agent: no ring-buffer record lost"
agent_use CLIAGENT
agent_stop

# ---- networks: and attributes.select, with a fresh client agent ----
agent_start flows-sel "/var/run/netns/$NS_CLI" "$(issue5_yaml 'networks:
  - cidr: 198.18.0.2/32
    zone: lab
    class: custom-lab
attributes:
  select:
    gespann_flow_bytes_total:
      include: [src_process, direction]
    gespann_process_bytes_total:
      include: [process, exe, cgroup, direction]')" || { e2e_finish; exit 1; }
agent_save SELAGENT
# Other pairs than before (alpha -> :9102, bravo -> :9101): the time-wait
# sockets left from above, which this agent may find at start, match none of
# the filters below.
cli alpha s-a4 tcp-client --connect "$SRV4" --port 9102 --conns 2 --send 1000 --recv 5000
cli bravo s-b6 tcp-client --connect "$SRV6" --port 9101 --conns 1 --send 500 --recv 3000
a_sent=$(jget "$E2E_TMP/s-a4.json" bytes_sent) a_rcvd=$(jget "$E2E_TMP/s-a4.json" bytes_received)
b_sent=$(jget "$E2E_TMP/s-b6.json" bytes_sent) b_rcvd=$(jget "$E2E_TMP/s-b6.json" bytes_received)
e2e_log "ground truth: alpha sent $a_sent received $a_rcvd (2 conns to $SRV4:9102), bravo sent $b_sent received $b_rcvd (1 conn to [$SRV6]:9101)"
assert_eq "$a_sent $a_rcvd $b_sent $b_rcvd" "2000 10000 500 3000" "generators: the planned payload"
assert_true "select agent: alpha's 2 connections counted" wait_msum 10 2 "$FC" src_process=alpha dst_port=9102 outcome=ok
assert_true "select agent: bravo's connection counted" wait_msum 10 1 "$FC" src_process=bravo dst_port=9101 outcome=ok
assert_true "select agent: bytes folded in" wait_msum 10 $((a_sent + b_sent)) "$FB" direction=sent
scrape
assert_eq "$(mlabels "$FB")" "direction,src_process" "attributes.select include [src_process, direction]: only those labels"
assert_eq "$(mseries "$FB" direction=sent src_process=alpha)" "$a_sent" "$FB{direction=\"sent\",src_process=\"alpha\"}"
assert_eq "$(mseries "$FB" direction=received src_process=alpha)" "$a_rcvd" "$FB{direction=\"received\",src_process=\"alpha\"}"
assert_eq "$(mseries "$FB" direction=sent src_process=bravo)" "$b_sent" "$FB{direction=\"sent\",src_process=\"bravo\"}"
assert_eq "$(mseries "$FB" direction=received src_process=bravo)" "$b_rcvd" "$FB{direction=\"received\",src_process=\"bravo\"}"
assert_eq "$(mcount "$FB")" 4 "select: 2 processes x 2 directions"
assert_eq "$(msum "$FB" direction=sent)" "$(metric gespann_bytes_sent_total)" "select: sums unchanged (sent = gespann_bytes_sent_total)"
assert_eq "$(msum "$FB" direction=received)" "$(metric gespann_bytes_received_total)" "select: sums unchanged (received = gespann_bytes_received_total)"
assert_eq "$(mlabels "$FC")" "dst_address,dst_class,dst_name,dst_port,dst_zone,outcome,protocol,role,src_process,src_service,src_zone" "select: other families keep their default labels"
# The process cache: executable and cgroup of processes that are gone by now.
my_cgroup=$(sed -n 's/^0:://p' /proc/self/cgroup)
assert_eq "$(mlabels gespann_process_bytes_total)" "cgroup,direction,exe,process" "select: process bytes by process, exe, cgroup, direction"
# The path as the kernel resolves it for the agent: in the kernel-matrix
# guests (chroot onto the host's root over 9p) it carries the mount prefix,
# so only the end of the path is compared.
alpha_exe=$(mvalues gespann_process_bytes_total exe process=alpha)
bravo_exe=$(mvalues gespann_process_bytes_total exe process=bravo)
assert_true "process cache: alpha's executable (exited before the scrape) ends in $E2E_TMP/bin/alpha: $alpha_exe" \
	test "${alpha_exe%"$E2E_TMP/bin/alpha"}" != "$alpha_exe"
assert_true "process cache: bravo's executable ends in $E2E_TMP/bin/bravo: $bravo_exe" \
	test "${bravo_exe%"$E2E_TMP/bin/bravo"}" != "$bravo_exe"
assert_eq "$(mvalues gespann_process_bytes_total cgroup process=alpha)" "$my_cgroup" "process cache: alpha's cgroup (the test's own, $my_cgroup)"
assert_eq "$(msum gespann_process_bytes_total process=alpha exe="$alpha_exe" direction=sent)" "$a_sent" "process bytes{process=alpha,exe=...} = alpha's bytes sent"
assert_eq "$(msum "$FC" dst_address="$SRV4" dst_port=9102 dst_zone=lab dst_class=custom-lab outcome=ok)" 2 "networks: $SRV4/32 -> dst_zone=\"lab\", dst_class=\"custom-lab\""
assert_eq "$(mvalues "$FC" dst_zone dst_address="$SRV4") $(mvalues "$FC" dst_class dst_address="$SRV4")" "lab custom-lab" "networks: every series to $SRV4 in zone lab, class custom-lab"
assert_eq "$(msum "$FC" dst_address="$SRV6" dst_port=9101 dst_zone= dst_class=internal outcome=ok)" 1 "networks: $SRV6 not in the list keeps dst_class=\"internal\", no zone"
agent_use SRVAGENT
agent_stop
agent_use SELAGENT
e2e_finish
