#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Connections older than the agent (issue 12). Two long-lived connections
# (trafficgen tcp-steps, comm seedcli) to a server on a port inside
# ip_local_port_range (prefork-server, comm seedsrv, whose children accepted
# them) move 100000 bytes each before any agent runs. Then a client agent and
# a server agent start and must report only what moves after their start:
# role, dst_port = the listening port, src_process = /proc/PID/comm of the
# process holding the socket (src_pid too, on the server side) and the
# generators' byte counts, flow series and kernel totals alike. The client
# agent is restarted in the middle of the transfer: the new one counts only
# the steps after its start. Last, a pre-fork server whose children accept()
# after the payload has arrived and after a refresh pass saw the connections
# under the listener's owner: one series per accepting child, none for the
# parent. Ground truth: the generators' own counts and /proc/PID/comm.
set -uo pipefail
E2E_NAME=seeded
source "$(dirname "$0")/lib.sh"

FB=gespann_flow_bytes_total
FC=gespann_flow_connections_total
FO=gespann_flow_open_connections
BW=gespann_connection_bandwidth_bytes_total
PRE=100000 # bytes per connection before any agent
FACTOR=3   # the server answers each byte with 3

netns_setup gsp-seed || { not_ok "netns setup"; e2e_finish; exit 1; }
for t in seedsrv seedcli pfsrv pfcli; do
	named_tool "$t" >/dev/null || { not_ok "copy of trafficgen named $t"; e2e_finish; exit 1; }
done
BIN=$E2E_TMP/bin

# A port inside the ephemeral range of the server namespace and of the
# agent's own (where it reads the range).
read -r eph_lo eph_hi < <(netns_srv cat /proc/sys/net/ipv4/ip_local_port_range)
read -r host_lo host_hi </proc/sys/net/ipv4/ip_local_port_range
PORT=$((eph_lo + 1234))
assert_true "port $PORT inside ip_local_port_range ($eph_lo-$eph_hi here, $host_lo-$host_hi for the agent)" \
	test "$PORT" -le "$eph_hi" -a "$PORT" -ge "$host_lo" -a "$PORT" -le "$host_hi"

# ctl_start NAME NS BIN ARGS...: a generator in namespace NS (cli|srv) that
# takes commands on stdin (ctl NAME LINE).
ctl_start() {
	local name=$1 ns=$2 bin=$3 fifo=$E2E_TMP/$1.in fd
	shift 3
	mkfifo "$fifo"
	"netns_$ns" "$BIN/$bin" "$@" --deadline-ms 200000 <"$fifo" >"$E2E_TMP/$name.out" 2>&1 &
	exec {fd}<>"$fifo"
	eval "FD_$name=$fd"
}
ctl() {
	local fd
	eval "fd=\$FD_$1"
	echo "$2" >&"$fd"
}
# step NAME N LINE: send LINE to the tcp-steps generator NAME and wait for
# its step N line.
step() {
	ctl "$1" "$3"
	wait_until 30 grep -q "\"step\":$2," "$E2E_TMP/$1.out" || not_ok "$1 step $2 ($3) done"
}
# jstep NAME N KEY: KEY of step N of generator NAME.
jstep() {
	grep "\"step\":$2," "$E2E_TMP/$1.out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$3"
}
# served NAME: "PID RECEIVED SENT" per finished connection of prefork-server NAME.
served() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "received" in d:
        print(d["pid"], d["received"], d["sent"])' "$E2E_TMP/$1.out" | sort -n
}
accepted_pids() {
	python3 -c '
import json, sys
print(" ".join(sorted(str(json.loads(l)["pid"]) for l in open(sys.argv[1]) if "accepted" in l)))' "$E2E_TMP/$1.out"
}

# show NAME PATTERN: the /metrics lines of the last scrape matching PATTERN
# (for the issue's closing note).
show() {
	grep -E "$2" "$E2E_TMP/last.prom" | sed "s/^/# $1 \/metrics: /"
}

# ---- before any agent: two connections move PRE bytes each ----
ctl_start seedsrv srv seedsrv prefork-server --bind "$SRV4" --port "$PORT" --workers 2 --factor $FACTOR
wait_for grep -q listening "$E2E_TMP/seedsrv.out" || not_ok "seedsrv listening on $PORT"
ctl seedsrv "accept 2"
ctl_start seedcli cli seedcli tcp-steps --connect "$SRV4" --port "$PORT" --conns 2 --factor $FACTOR
wait_for grep -q connected "$E2E_TMP/seedcli.out" || not_ok "seedcli connected"
step seedcli 1 "send $PRE"
wait_until 10 test "$(grep -c accepted "$E2E_TMP/seedsrv.out")" -eq 2 || not_ok "both connections accepted"
read -r W1 W2 < <(accepted_pids seedsrv)
CLI_PID=$(jget "$E2E_TMP/seedcli.out" pid)
CLI_COMM=$(cat "/proc/$CLI_PID/comm") W1_COMM=$(cat "/proc/$W1/comm") W2_COMM=$(cat "/proc/$W2/comm")
e2e_log "ground truth: seedcli pid $CLI_PID comm $CLI_COMM; accepting children $W1 ($W1_COMM), $W2 ($W2_COMM); step 1 (no agent): $(jstep seedcli 1 bytes_sent) out, $(jstep seedcli 1 bytes_received) back"

# ---- agents start: only what moves from now on counts ----
SEL='attributes:
  select:
    gespann_flow_bytes_total:
      include: [role, src_process, src_pid, dst_port, direction]
    gespann_flow_open_connections:
      include: [role, src_process, src_pid, dst_port, state]'
agent_start seed-srv "/var/run/netns/$NS_SRV" "$SEL" || { e2e_finish; exit 1; }
agent_save SRVAGENT
agent_start seed-cli "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }
agent_save CLIAGENT

step seedcli 2 "send 7000"
S2=$(jstep seedcli 2 bytes_sent) R2=$(jstep seedcli 2 bytes_received)
assert_eq "$S2 $R2" "14000 42000" "generator step 2: 2 x (7000 out, 21000 back)"

agent_use CLIAGENT
assert_true "client agent: step 2 folded in" wait_msum 10 "$S2" "$FB" direction=sent
scrape
sel=(protocol=tcp role=client src_process="$CLI_COMM" dst_address="$SRV4" dst_port="$PORT")
assert_eq "$(msum "$FB" direction=sent "${sel[@]}")" "$S2" "client: $FB{direction=sent,src_process=$CLI_COMM,dst_port=$PORT} = bytes after start (not $((S2 + 2 * PRE)))"
assert_eq "$(msum "$FB" direction=received "${sel[@]}")" "$R2" "client: $FB{direction=received} = bytes after start"
assert_eq "$(msum "$BW" direction=sent protocol=tcp)" "$S2" "client: kernel total $BW{sent,tcp} = bytes after start"
assert_eq "$(msum "$BW" direction=received protocol=tcp)" "$R2" "client: kernel total $BW{received,tcp} = bytes after start"
assert_eq "$(msum "$FO" role=client src_process="$CLI_COMM" dst_port="$PORT" state=established)" 2 "client: owner of a TCP socket open before the agent named $CLI_COMM in $FO"
assert_eq "$(mcount "$FB" src_process=unknown)" 0 "client: no flow of an unknown process"
show client "^$FB\\{.*dst_port=\"$PORT\""

agent_use SRVAGENT
assert_true "server agent: step 2 folded in" wait_msum 10 "$S2" "$FB" direction=received
scrape
for w in "$W1:$W1_COMM" "$W2:$W2_COMM"; do
	pid=${w%%:*} comm=${w#*:}
	sel=(role=server src_process="$comm" src_pid="$pid" dst_port="$PORT")
	assert_eq "$(msum "$FB" direction=received "${sel[@]}")" 7000 "server: $FB{role=server,src_process=$comm,src_pid=$pid,dst_port=$PORT,direction=received}: owner of a TCP socket open before the agent, bytes after start"
	assert_eq "$(msum "$FB" direction=sent "${sel[@]}")" 21000 "server: $FB{...,src_pid=$pid,direction=sent}"
	assert_eq "$(msum "$FO" "${sel[@]}" state=established)" 1 "server: $FO{role=server,src_pid=$pid,dst_port=$PORT}"
done
assert_eq "$(mcount "$FB" role=client)" 0 "server: accepted before start is role=server, though $PORT is an ephemeral port"
assert_eq "$(mcount "$FB" src_process=unknown)" 0 "server: no flow of an unknown process"
assert_eq "$(msum "$BW" direction=received protocol=tcp)" "$S2" "server: kernel total $BW{received,tcp} = bytes after start"
show server "^$FB\\{.*dst_port=\"$PORT\""

# ---- the client agent restarts in the middle of the transfer ----
agent_use CLIAGENT
agent_stop
step seedcli 3 "send 50000" # no client agent runs
agent_start seed-cli2 "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }
agent_save CLIAGENT
step seedcli 4 "send 3000"
S4=$(jstep seedcli 4 bytes_sent) R4=$(jstep seedcli 4 bytes_received)
assert_true "restarted client agent: step 4 folded in" wait_msum 10 "$S4" "$FB" direction=sent
scrape
sel=(protocol=tcp role=client src_process="$CLI_COMM" dst_address="$SRV4" dst_port="$PORT")
assert_eq "$(msum "$FB" direction=sent "${sel[@]}")" "$S4" "restarted client agent: $FB{direction=sent} = bytes after its start (lifetime: $(jstep seedcli 4 total_sent))"
assert_eq "$(msum "$FB" direction=received "${sel[@]}")" "$R4" "restarted client agent: $FB{direction=received} = bytes after its start (lifetime: $(jstep seedcli 4 total_received))"
assert_eq "$(msum "$BW" direction=sent protocol=tcp)" "$S4" "restarted client agent: kernel total $BW{sent,tcp}"
assert_eq "$(msum "$BW" direction=received protocol=tcp)" "$R4" "restarted client agent: kernel total $BW{received,tcp}"
show restarted-client "^($FB\\{.*dst_port=\"$PORT\"|$BW\\{.*tcp)"

# ---- close: the records add only what the passes had not counted ----
ctl seedcli close
wait_for grep -q closed "$E2E_TMP/seedcli.out" || not_ok "seedcli closed"
wait_until 10 test "$(served seedsrv | wc -l)" -eq 2 || not_ok "seedsrv children saw both closes"
assert_true "restarted client agent: both closes counted" wait_msum 10 2 "$FC" outcome=ok
scrape
assert_eq "$(msum "$FB" direction=sent)" "$S4" "client after close: $FB{direction=sent} unchanged"
assert_eq "$(msum "$FC" protocol=tcp role=client src_process="$CLI_COMM" dst_port="$PORT" outcome=ok)" 2 "client: $FC{role=client,src_process=$CLI_COMM,dst_port=$PORT,outcome=ok}"
agent_use SRVAGENT
assert_true "server agent: both closes counted" wait_msum 10 2 "$FC" outcome=ok
scrape
while read -r pid rcvd sent; do
	assert_eq "$(msum "$FB" direction=received role=server src_pid="$pid" dst_port="$PORT")" $((rcvd - PRE)) "server after close: child $pid received $rcvd in all, $PRE before the agent"
	assert_eq "$(msum "$FB" direction=sent role=server src_pid="$pid" dst_port="$PORT")" $((sent - FACTOR * PRE)) "server after close: child $pid sent $sent in all, $((FACTOR * PRE)) before the agent"
done < <(served seedsrv)
assert_eq "$(msum "$FC" role=server dst_port="$PORT" outcome=ok)" 2 "server: $FC{role=server,dst_port=$PORT,outcome=ok}"
ctl seedsrv stop

# ---- pre-fork server: children accept after the payload arrived ----
PF=9301
ctl_start pfsrv srv pfsrv prefork-server --bind "$SRV4" --port $PF --workers 2 --factor 2
wait_for grep -q listening "$E2E_TMP/pfsrv.out" || not_ok "pfsrv listening on $PF"
PARENT=$(jget "$E2E_TMP/pfsrv.out" pid)
bw0=$(scrape && msum "$BW" direction=received protocol=tcp)
ctl_start pfcli cli pfcli tcp-steps --connect "$SRV4" --port $PF --conns 2 --factor 2
wait_for grep -q connected "$E2E_TMP/pfcli.out" || not_ok "pfcli connected"
ctl pfcli "send 4000" # waits for the answers, which come after accept()
# A refresh pass folded the payload waiting in the accept queue (kernel
# total), and in the same pass saw both connections under the listener's
# owner.
assert_true "pre-fork: 8000 bytes arrived and a pass saw them before accept()" \
	wait_msum 10 $((bw0 + 8000)) "$BW" direction=received protocol=tcp ||
	e2e_log "$BW{received,tcp}: $(msum "$BW" direction=received protocol=tcp), $bw0 before"
assert_eq "$(msum "$FO" role=server src_pid="$PARENT" dst_port=$PF)" 2 "pre-fork: both connections open under the listener's owner $PARENT before accept()"
assert_eq "$(msum "$FB" src_pid="$PARENT")" 0 "pre-fork: no bytes counted for the listener's owner before accept()"
ctl pfsrv "accept 2"
wait_until 30 grep -q '"step":1,' "$E2E_TMP/pfcli.out" || not_ok "pfcli step done"
ctl pfcli close
wait_until 10 test "$(served pfsrv | wc -l)" -eq 2 || not_ok "pfsrv children saw both closes"
assert_true "pre-fork: both closes counted" wait_msum 10 2 "$FC" dst_port=$PF outcome=ok
scrape
n=0
while read -r pid rcvd sent; do
	comm=$(cat "/proc/$pid/comm")
	n=$((n + 1))
	assert_eq "$(mseries "$FB" role=server src_process="$comm" src_pid="$pid" dst_port=$PF direction=received)" "$rcvd" "pre-fork: $FB{role=server,src_process=$comm,src_pid=$pid (accepting child),dst_port=$PF,direction=received}"
	assert_eq "$(mseries "$FB" role=server src_process="$comm" src_pid="$pid" dst_port=$PF direction=sent)" "$sent" "pre-fork: $FB{...,src_pid=$pid,direction=sent}"
done < <(served pfsrv)
assert_eq "$n" 2 "pre-fork: two children served one connection each"
show pre-fork "^$FB\\{.*dst_port=\"$PF\""
assert_eq "$(mcount "$FB" dst_port=$PF direction=received)" 2 "pre-fork: one series per accepting child"
assert_eq "$(mcount "$FB" src_pid="$PARENT")" 0 "pre-fork: no series of the listener's owner $PARENT"
ctl pfsrv stop

agent_use CLIAGENT
agent_stop
agent_use SRVAGENT
e2e_finish
