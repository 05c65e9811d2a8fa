#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The capabilities README's Requirements table lists are enough: the agent
# started with exactly those (as root under a reduced bounding set, the way a
# systemd unit's CapabilityBoundingSet runs it, and as an unprivileged user
# with them as ambient capabilities) turns every feature on that it turns on
# as full root, counts a connection in a test namespace, and after start holds
# only the table's "Kept at run time" ones (/proc/PID/status). Without one of
# them it names what is missing and exits 1 before any BPF work.
set -uo pipefail
E2E_NAME=caps
source "$(dirname "$0")/lib.sh"

# The README's list, read from src/util/caps.c's table through the README
# (tests/unit/util/test_caps.c keeps the two equal).
mapfile -t CAPS < <(sed -n 's/^  | `CAP_\([A-Z_]*\)` | .*/\1/p' "$E2E_ROOT/README.md" | tr 'A-Z' 'a-z')
assert_true "README lists capabilities (${CAPS[*]})" test "${#CAPS[@]}" -ge 4
caps_list=$(printf ',+%s' "${CAPS[@]}")

# The agent's user reads its config and writes its log here.
chmod 0755 "$E2E_TMP"
REAL_BIN=$GS_BIN
cat >"$E2E_TMP/as-root" <<SH
#!/bin/sh
exec setpriv --bounding-set=-all$caps_list --inh-caps=-all "$REAL_BIN" "\$@"
SH
cat >"$E2E_TMP/as-nobody" <<SH
#!/bin/sh
exec setpriv --reuid=65534 --regid=65534 --clear-groups --bounding-set=-all$caps_list \
	--inh-caps=-all$caps_list --ambient-caps=-all$caps_list "$REAL_BIN" "\$@"
SH
chmod 0755 "$E2E_TMP/as-root" "$E2E_TMP/as-nobody"

netns_setup gse2e-cap || { not_ok "netns setup"; e2e_finish; exit 1; }
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5500 --deadline-ms 200000 --reply 10 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"

# The features a full-root agent turns on, as the reference.
features() { grep '^gespann_feature_enabled{' "$E2E_TMP/last.prom" | sort; }
agent_start full "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }
scrape
features >"$E2E_TMP/features.full"
agent_stop
assert_true "full root: features listed" test -s "$E2E_TMP/features.full"

# want_caps PID: CapEff of PID as capability names, sorted.
cap_names() {
	local eff
	eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$1/status")
	capsh --decode="$eff" | sed 's/.*=//' | tr ',' '\n' | sed 's/^cap_//' | sort | tr '\n' ' '
}
# After start the agent keeps the "Kept at run time" rows of those (scope is
# a namespace file here: CAP_SYS_ADMIN stays, for setns).
want=$(sed -n 's/^  | `CAP_\([A-Z_]*\)` | .* | \(yes\|unless\)[^|]* |$/\1/p' "$E2E_ROOT/README.md" |
	tr 'A-Z' 'a-z' | sort | tr '\n' ' ')

n=0
for who in root nobody; do
	GS_BIN=$E2E_TMP/as-$who
	agent_start "$who" "/var/run/netns/$NS_CLI" || continue
	assert_eq "$(cap_names "$AGENT_PID")" "$want" "$who: the agent's effective capabilities are the README's run-time set"
	n=$((n + 3))
	netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5500 --conns 3 --send 10 >"$E2E_TMP/c-$who.json"
	assert_true "$who: its 3 connections counted" wait_metric gespann_closed_connections_total 3
	scrape
	features >"$E2E_TMP/features.$who"
	assert_eq "$(diff "$E2E_TMP/features.full" "$E2E_TMP/features.$who" | grep '^[<>]' | tr '\n' ' ')" "" \
		"$who: gespann_feature_enabled as with full root"
	assert_true "$who: no warning about capabilities" bash -c "! grep -q 'capabilit' '$AGENT_LOG'"
	agent_stop
done

# One missing: named, exit 1, nothing loaded.
# (CAP_SYS_ADMIN stands in for CAP_NET_ADMIN: both go.)
short=$(printf ',+%s' "${CAPS[@]}" | sed 's/,+net_admin//; s/,+sys_admin//')
timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups --bounding-set=-all"$short" \
	--inh-caps=-all"$short" --ambient-caps=-all"$short" "$REAL_BIN" -config "$E2E_TMP/nobody.yaml" \
	>"$E2E_TMP/short.out" 2>&1
rc=$?
assert_eq "$rc" 1 "without CAP_NET_ADMIN and CAP_SYS_ADMIN: exit status"
assert_true "without them: named in one error line" \
	grep -q 'level=error missing capabilities: CAP_NET_ADMIN CAP_SYS_ADMIN (run as root' "$E2E_TMP/short.out"
assert_true "without them: no BPF work started" bash -c "! grep -q 'probe\|attach\|running' '$E2E_TMP/short.out'"
e2e_finish
