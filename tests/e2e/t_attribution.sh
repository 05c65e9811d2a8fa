#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Who owns a connection. A pre-fork server (tests/lib/acceptor.c): the parent
# listens, its children accept; every accepted connection must name the child
# that accepted it (pid, comm, cgroup, "accepted"), never the parent. A
# short-lived client exec'd under its own name: its EXEC and EXIT records
# carry its pid and path, and its connection record names it. getaddrinfo()
# of a name in /etc/hosts: one resolve record with getent's own addresses.
# The agent watches the server namespace; ground truth is the acceptor's own
# per-child counts and the pids the shell started.
set -uo pipefail
E2E_NAME=attribution
source "$(dirname "$0")/lib.sh"

ACCEPTOR=${ACCEPTOR:-$E2E_ROOT/build/tools/acceptor}
CHILDREN=3
CONNS=12

netns_setup gsp-attr || { not_ok "netns setup"; e2e_finish; exit 1; }
agent_start attr "/var/run/netns/$NS_SRV" || { e2e_finish; exit 1; }

# The acceptor runs in a cgroup of its own (cgroup v2), so the cgroup id in
# its records is not simply the root's.
cg_root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG_DIR=$cg_root/gsp-attr-$$
mkdir "$CG_DIR" || not_ok "cgroup $CG_DIR created"
cleanup_cgroup() { [[ -d "$CG_DIR" ]] && rmdir "$CG_DIR" 2>/dev/null; }
# At exit it runs after the acceptor is stopped (lib.sh): the cgroup is empty.
e2e_on_exit cleanup_cgroup
# `ip netns exec` bind-mounts /etc/netns/NAME/hosts over /etc/hosts: a name
# with 10 addresses (6 IPv4, 4 IPv6), more than a resolve record holds.
HOSTS_DIR=/etc/netns/$NS_SRV
mkdir -p "$HOSTS_DIR"
e2e_on_exit 'rm -rf "$HOSTS_DIR"'
{
	echo "127.0.0.1 localhost"
	for i in 1 2 3 4 5 6; do echo "198.18.1.$i multi.gespann.test"; done
	for i in 1 2 3 4; do echo "fd00:6765:7370::1:$i multi.gespann.test"; done
} >"$HOSTS_DIR/hosts"
acc_cgroup=$(stat -c %i "$CG_DIR")

# ---- pre-fork server: CONNS from the client namespace + 1 from the short-lived client ----
# Started directly (not through a shell function) so $! is its pid.
bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG_DIR" \
	ip netns exec "$NS_SRV" "$ACCEPTOR" --bind "$SRV4" --port 6100 --children $CHILDREN \
	--conns $((CONNS + 1)) --reply 500 --deadline-ms 30000 >"$E2E_TMP/acc.out" 2>"$E2E_TMP/acc.err" &
ACC_PID=$!
wait_for grep -q '"children"' "$E2E_TMP/acc.out" || not_ok "acceptor listening ($(cat "$E2E_TMP/acc.err"))"
parent=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["parent"])' "$E2E_TMP/acc.out")
children=$(python3 -c 'import json,sys; print(" ".join(map(str, json.loads(open(sys.argv[1]).readline())["children"])))' "$E2E_TMP/acc.out")
e2e_log "acceptor parent $parent children $children"
assert_eq "$parent" "$ACC_PID" "acceptor parent pid"
assert_eq "$(awk -F: '$1 == "0" { print $3 }' "/proc/$parent/cgroup")" "/gsp-attr-$$" "acceptor in its cgroup"

netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 6100 --conns $CONNS --send 100 --recv 500 --parallel 3 \
	>"$E2E_TMP/cli.json" 2>"$E2E_TMP/cli.err"
assert_eq "$(jget "$E2E_TMP/cli.json" ok)" $CONNS "generator: connections completed"

# The short-lived client: trafficgen under another name, exec'd in the server
# namespace (in scope), one connection, then it exits.
SHORT=$E2E_TMP/gsp-shortcli
cp "$TRAFFICGEN" "$SHORT"
ip netns exec "$NS_SRV" "$SHORT" tcp-client --connect "$SRV4" --port 6100 --conns 1 --send 10 --recv 500 >"$E2E_TMP/short.json" 2>&1 &
short_pid=$!
wait "$short_pid"
assert_eq "$(jget "$E2E_TMP/short.json" ok)" 1 "short-lived client: its connection completed"

wait "$ACC_PID"
assert_eq "$?" 0 "acceptor served every connection and exited 0"
cleanup_cgroup
served=$(jget "$E2E_TMP/acc.out" served)
assert_eq "$served" $((CONNS + 1)) "acceptor: connections served"
assert_ge "$(jget "$E2E_TMP/acc.out" accept4)" 1 "accept4() was used"
assert_ge "$(jget "$E2E_TMP/acc.out" accept)" 1 "accept() was used"

# ---- records in the agent's debug log ----
passive() { grep -c 'level=debug tcp close passive ' "$AGENT_LOG"; }
wait_until 10 bash -c "[[ \$(grep -c 'level=debug tcp close passive ' '$AGENT_LOG') -ge $((CONNS + 1)) ]]"
assert_eq "$(passive)" $((CONNS + 1)) "passive connection records"
for pid in $children; do
	want=$(jget "$E2E_TMP/acc.out" "by_child.$pid")
	got=$(grep -c "level=debug tcp close passive pid=$pid comm=acc-child cgroup=$acc_cgroup accepted " "$AGENT_LOG")
	assert_eq "$got" "$want" "records naming acc-child $pid (comm, cgroup $acc_cgroup, accepted) = its accepts"
done
assert_eq "$(grep -c "tcp close passive pid=$parent " "$AGENT_LOG")" 0 "no record names the listening parent"
assert_eq "$(grep -c 'tcp close passive .*comm=acc-parent' "$AGENT_LOG")" 0 "no record names acc-parent"

wait_until 10 grep -q "proc exit pid=$short_pid " "$AGENT_LOG"
assert_eq "$(grep -c "level=debug proc exec pid=$short_pid ppid=[0-9]* comm=gsp-shortcli cgroup=[1-9][0-9]* path=$SHORT\$" "$AGENT_LOG")" 1 \
	"one EXEC record: pid $short_pid, comm, path $SHORT"
assert_eq "$(grep -c "level=debug proc exit pid=$short_pid " "$AGENT_LOG")" 1 "one EXIT record for pid $short_pid"
assert_eq "$(grep -c "level=debug tcp close active pid=$short_pid comm=gsp-shortcli cgroup=[1-9][0-9]* $SRV4:[0-9]* -> $SRV4:6100 " "$AGENT_LOG")" 1 \
	"its connection record names it"
# The acceptor's children: one FORK each, from the parent; their EXITs.
for pid in $children; do
	assert_eq "$(grep -c "level=debug proc fork pid=$pid ppid=$parent comm=acc-parent " "$AGENT_LOG")" 1 "FORK record of child $pid (comm inherited)"
	assert_eq "$(grep -c "level=debug proc exit pid=$pid ppid=" "$AGENT_LOG")" 1 "EXIT record of child $pid"
done

# ---- getaddrinfo(): uprobe on the host's libc ----
# getaddrinfo returns each address once per socket type (STREAM, DGRAM,
# RAW): the record keeps each address once, the first GS_RESOLVE_MAX (8) in
# the order getaddrinfo returned them (getent prints that order).
for name in localhost multi.gespann.test; do
	ip netns exec "$NS_SRV" getent ahosts "$name" >"$E2E_TMP/getent-$name.out" &
	gai_pid=$!
	wait "$gai_pid"
	want_addrs=$(awk '{ print $1 }' "$E2E_TMP/getent-$name.out" | awk '!seen[$0]++' | head -8 | paste -sd, -)
	if wait_until 10 grep -q "level=debug resolve pid=$gai_pid " "$AGENT_LOG"; then
		assert_eq "$(grep -c "level=debug resolve pid=$gai_pid " "$AGENT_LOG")" 1 "$name: one resolve record for getent"
		assert_eq "$(sed -n "s/.*level=debug resolve pid=$gai_pid comm=getent name=$name latency_us=[0-9]* addrs=//p" "$AGENT_LOG")" \
			"$want_addrs" "$name: resolve record has getent's addresses, each once, in order"
	else
		not_ok "$name: resolve record for getent pid $gai_pid"
	fi
done
assert_eq "$(awk '{ print $1 }' "$E2E_TMP/getent-multi.gespann.test.out" | sort -u | wc -l)" 10 "multi.gespann.test: getent saw all 10 addresses"

cleanup_cgroup
scrape
assert_eq "$(metric gespann_events_lost_total)" 0 "no ring-buffer record lost"
assert_true "feature accept_owner on" grep -q 'feature accept_owner: on' "$AGENT_LOG"
assert_true "feature proc_events on" grep -q 'feature proc_events: on' "$AGENT_LOG"
assert_true "feature uprobe_getaddrinfo on" grep -q 'feature uprobe_getaddrinfo: on' "$AGENT_LOG"
e2e_finish
