#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Process names (issue 12): src_process is the name a process has when it
# acts, as /proc/PID/comm shows it then, and src_service tells apart
# processes of one interpreter. Copies of one python3 binary
# (tests/lib/renamer.py), driven step by step through FIFOs, rename
# themselves and connect from the agent's namespace to a server in the
# other one:
#   a  prctl(PR_SET_NAME) then one connection
#   b  a write to /proc/self/comm then one connection
#   c  a name, one connection, another name, a second connection: two series
#   d  in a cgroup shaped like a systemd service (system.slice/NAME.service):
#      src_service is the unit
#   e  names itself, then a worker thread names itself and connects: the
#      series carries the process's (leader's) name, not the thread's
#   g  a name, a connection opened, another name, the connection closed:
#      it stays in the series of the name it opened with
#   f  UDP: a name, a flow, another name, a new flow from the same socket
# The plain processes (a, b, c, e, f) sit in a cgroup that is no service, so
# their src_service is their process name. Ground truth: /proc/PID/comm read
# by this script right after each rename (the process waits for its next
# command), and each process's own byte counts.
set -uo pipefail
E2E_NAME=names
source "$(dirname "$0")/lib.sh"

RENAMER=$E2E_ROOT/tests/lib/renamer.py
FB=gespann_flow_bytes_total
FC=gespann_flow_connections_total
PB=gespann_process_bytes_total
TPORT=9301
REPLY=2000

netns_setup gsp-name || { not_ok "netns setup"; e2e_finish; exit 1; }

# ---- cgroups: one that is no service, one shaped like a systemd service ----
cg_root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
SVC_UNIT=gs-e2e-names.service
CG_PLAIN=$cg_root/gs-e2e-names-plain-$$
CG_SLICE=$cg_root/system.slice
CG_SVC=$CG_SLICE/$SVC_UNIT
if [[ -z "$cg_root" || ! -w "$cg_root" ]]; then
	not_ok "a writable cgroup v2 mount (found '${cg_root:-none}')"
	e2e_finish
	exit 1
fi
if [[ ! -d "$CG_SLICE" ]]; then
	mkdir "$CG_SLICE" || not_ok "mkdir $CG_SLICE"
	e2e_on_exit 'rmdir "$CG_SLICE" 2>/dev/null'
fi
rmdir "$CG_SVC" 2>/dev/null # left over by an interrupted run
mkdir "$CG_PLAIN" "$CG_SVC" || not_ok "mkdir $CG_PLAIN $CG_SVC"
# Run after every process is stopped (lib.sh), last registered first.
e2e_on_exit 'rmdir "$CG_SVC" "$CG_PLAIN" 2>/dev/null'

agent_start names "/var/run/netns/$NS_SRV" || { e2e_finish; exit 1; }

netns_cli "$TRAFFICGEN" tcp-server --bind :: --port $TPORT --reply $REPLY --deadline-ms 200000 \
	>"$E2E_TMP/tcp.srv" 2>&1 &
wait_for grep -q listening "$E2E_TMP/tcp.srv" || not_ok "tcp server listening"
for p in 9302 9303; do
	netns_cli "$TRAFFICGEN" udp-server --bind :: --port $p --deadline-ms 200000 >"$E2E_TMP/udp-$p.srv" 2>&1 &
	wait_for grep -q listening "$E2E_TMP/udp-$p.srv" || not_ok "udp server $p listening"
done

# ---- the renamers ----
# One interpreter binary for all, named directly (a python3 on PATH may be a
# wrapper script, pyenv's shim for one).
PY=$(python3 -c 'import sys; print(sys.executable)')
PY_EXE=$(readlink -f "$PY")
# start_renamer ID CGROUP: python3 renamer.py in the agent's namespace, fed
# through a FIFO, moved into CGROUP before it does anything.
start_renamer() {
	local id=$1 cg=$2 fifo=$E2E_TMP/ren-$1.in fd
	mkfifo "$fifo"
	ip netns exec "$NS_SRV" "$PY" "$RENAMER" <"$fifo" >"$E2E_TMP/ren-$id.out" 2>"$E2E_TMP/ren-$id.err" &
	eval "PID_$id=$!"
	exec {fd}<>"$fifo"
	eval "FD_$id=$fd"
	echo "$(pid_of "$id")" >"$cg/cgroup.procs" || not_ok "renamer $id moved to $cg"
	# The fork is the shell until the FIFO opens, then ip, then python.
	wait_for bash -c "[[ \$(readlink /proc/$(pid_of "$id")/exe) == '$PY_EXE' ]]" ||
		not_ok "renamer $id runs $PY_EXE"
}
# step ID CMD...: send one command, wait for its answer, print it.
step() {
	local id=$1 fd out n
	shift
	eval "fd=\$FD_$id"
	out=$E2E_TMP/ren-$id.out
	n=$(wc -l <"$out")
	echo "$*" >&"$fd"
	if ! wait_until 15 bash -c "(( \$(wc -l <'$out') > $n ))"; then
		not_ok "renamer $id answered '$*' ($(cat "$E2E_TMP/ren-$id.err"))"
		return 1
	fi
	tail -1 "$out"
}
pid_of() { eval "echo \$PID_$1"; }
comm_of() { cat "/proc/$(pid_of "$1")/comm"; }
jfield() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

for id in a b c e f g; do start_renamer $id "$CG_PLAIN"; done
start_renamer d "$CG_SVC"
for id in a b c d e f g; do
	assert_eq "$(readlink "/proc/$(pid_of $id)/exe")" "$PY_EXE" "renamer $id runs the interpreter binary"
done
PY_COMM=$(basename "$PY")
PY_COMM=${PY_COMM:0:15}
assert_eq "$(comm_of a)" "$PY_COMM" "before renaming, /proc/PID/comm is the name exec gave"
assert_eq "$(awk -F: '$1 == "0" { print $3 }' "/proc/$PID_d/cgroup")" "/system.slice/$SVC_UNIT" "d in the service cgroup"

declare -A NAME SENT RCVD CONNS SVC
# conn KEY ID BYTES: one TCP connection of renamer ID under its current name,
# recorded under KEY with the name /proc/PID/comm shows now.
conn() {
	local key=$1 id=$2 bytes=$3 ans
	NAME[$key]=$(comm_of "$id")
	ans=$(step "$id" tcp "$CLI4" $TPORT "$bytes") || return 1
	SENT[$key]=$(jfield "$ans" sent)
	RCVD[$key]=$(jfield "$ans" received)
	CONNS[$key]=1
	assert_eq "${RCVD[$key]}" $REPLY "$key: the server's reply received in full"
	e2e_log "$key: pid $(pid_of "$id") comm ${NAME[$key]} sent ${SENT[$key]} received ${RCVD[$key]}"
}

step a prctl gs-prctl-a >/dev/null
assert_eq "$(comm_of a)" gs-prctl-a "a: /proc/PID/comm after prctl(PR_SET_NAME)"
conn a a 1111
step b comm gs-procw-b >/dev/null
assert_eq "$(comm_of b)" gs-procw-b "b: /proc/PID/comm after writing /proc/self/comm"
conn b b 2222
step c prctl gs-first-c >/dev/null
conn c1 c 3333
step c comm gs-second-c >/dev/null
conn c2 c 4444
assert_eq "${NAME[c1]} ${NAME[c2]}" "gs-first-c gs-second-c" "c: /proc/PID/comm at its two connections"
step d prctl gs-svc-d >/dev/null
conn d d 5555
step e comm gs-lead-e >/dev/null
NAME[e]=$(comm_of e)
ans=$(step e thread gs-thread-e "$CLI4" $TPORT 6666)
SENT[e]=$(jfield "$ans" sent) RCVD[e]=$(jfield "$ans" received) CONNS[e]=1
assert_eq "$(jfield "$ans" thread_comm) ${NAME[e]}" "gs-thread-e gs-lead-e" \
	"e: the connecting thread's comm and /proc/PID/comm (the process's) differ"

step g prctl gs-open-g >/dev/null
NAME[g]=$(comm_of g)
step g hold "$CLI4" $TPORT 777 >/dev/null
step g comm gs-closed-g >/dev/null
gname2=$(comm_of g)
ans=$(step g release)
SENT[g]=$(jfield "$ans" sent) RCVD[g]=$(jfield "$ans" received) CONNS[g]=1
assert_eq "${NAME[g]} $gname2" "gs-open-g gs-closed-g" "g: /proc/PID/comm at its connect and at its close"

for k in a b c1 c2 e g; do SVC[$k]=${NAME[$k]}; done
SVC[d]=$SVC_UNIT

# ---- TCP series: one per name, exact counts ----
total=0
for k in a b c1 c2 d e g; do
	sel=(protocol=tcp role=client src_process="${NAME[$k]}" src_service="${SVC[$k]}" dst_address="$CLI4" dst_port=$TPORT)
	assert_true "$k: $FC{src_process=\"${NAME[$k]}\",src_service=\"${SVC[$k]}\",outcome=\"ok\"} = ${CONNS[$k]}" \
		wait_msum 10 "${CONNS[$k]}" "$FC" "${sel[@]}" outcome=ok
	assert_eq "$(msum "$FB" "${sel[@]}" direction=sent)" "${SENT[$k]}" "$k: $FB{src_process=\"${NAME[$k]}\",direction=\"sent\"}"
	assert_eq "$(msum "$FB" "${sel[@]}" direction=received)" "${RCVD[$k]}" "$k: $FB{src_process=\"${NAME[$k]}\",direction=\"received\"}"
	total=$((total + CONNS[$k]))
done
assert_eq "$(msum "$FC" protocol=tcp role=client dst_port=$TPORT)" "$total" "every connection to :$TPORT is in one of these series"
assert_eq "$(mvalues "$FC" src_process protocol=tcp dst_port=$TPORT)" \
	"$(printf '%s\n' "${NAME[a]}" "${NAME[b]}" "${NAME[c1]}" "${NAME[c2]}" "${NAME[d]}" "${NAME[e]}" "${NAME[g]}" | LC_ALL=C sort | paste -sd' ')" \
	"src_process values: the names /proc/PID/comm showed at connect (not $PY_COMM, nor the thread's gs-thread-e, nor g's later gs-closed-g)"
assert_eq "$(msum "$PB" process="${NAME[c1]}" service="${NAME[c1]}" protocol=tcp direction=sent)" "${SENT[c1]}" \
	"$PB{process=\"${NAME[c1]}\",service=\"${NAME[c1]}\",direction=\"sent\"}"
assert_eq "$(msum "$PB" process="${NAME[d]}" service="$SVC_UNIT" protocol=tcp direction=sent)" "${SENT[d]}" \
	"$PB{process=\"${NAME[d]}\",service=\"$SVC_UNIT\",direction=\"sent\"}"

# ---- UDP: a new flow after a rename carries the new name ----
# Where cgroup_skb programs cannot see the current task (gespann_feature
# cgroup_skb_pid off: up to 6.12), a socket keeps the name of its creation.
step f prctl gs-udp-f1 >/dev/null
uname1=$(comm_of f)
ans=$(step f udp "$CLI4" 9302 100 3)
usent1=$(jfield "$ans" sent) urcvd1=$(jfield "$ans" received)
step f comm gs-udp-f2 >/dev/null
uname2=$(comm_of f)
ans=$(step f udp "$CLI4" 9303 200 2)
usent2=$(jfield "$ans" sent) urcvd2=$(jfield "$ans" received)
scrape
if [[ "$(metric 'gespann_feature_enabled{feature="cgroup_skb_pid"}')" == 1 ]]; then
	uwant2=$uname2
else
	uwant2=$uname1
fi
for u in "9302 $uname1 $usent1 $urcvd1" "9303 $uwant2 $usent2 $urcvd2"; do
	read -r port name sent rcvd <<<"$u"
	sel=(protocol=udp role=client src_process="$name" src_service="$name" dst_address="$CLI4" dst_port="$port")
	assert_true "udp :$port: $FB{src_process=\"$name\",direction=\"sent\"} = $sent" wait_msum 10 "$sent" "$FB" "${sel[@]}" direction=sent
	assert_eq "$(msum "$FB" "${sel[@]}" direction=received)" "$rcvd" "udp :$port: $FB{src_process=\"$name\",direction=\"received\"}"
	assert_eq "$(msum "$FC" "${sel[@]}")" 1 "udp :$port: one flow"
done

for id in a b c d e f g; do step $id quit >/dev/null; done
for id in a b c d e f g; do wait "$(pid_of $id)" 2>/dev/null; done
rmdir "$CG_SVC" "$CG_PLAIN" 2>/dev/null || not_ok "cgroups empty and removed"

e2e_log "$(grep -E "^($FC|$FB)\{.*dst_port=\"($TPORT|9302|9303)\"" "$E2E_TMP/last.prom" | head -20 | tr '\n' '|')"
e2e_finish
