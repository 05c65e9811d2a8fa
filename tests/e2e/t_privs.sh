#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Least privilege after start (README "Privileges at run time"): once the
# agent logs "running" its effective, permitted and bounding capability sets
# are the README table's "Kept at run time" rows (CAP_SYS_ADMIN only beyond
# its own namespace), nothing inheritable or ambient, NoNewPrivs 1, and with
# `seccomp: true` Seccomp 2. With that reduced set (and the allow-list) it
# turns on the same features, counts a test namespace's connections and DNS
# exactly, resolves a DogStatsD host name, posts OTLP through libcurl,
# reloads on SIGHUP, runs the TIME_WAIT census of every namespace with scope:
# host, and stops with status 0, no call refused on the way.
set -uo pipefail
E2E_NAME=privs
source "$(dirname "$0")/lib.sh"
DNSCLIENT=$E2E_ROOT/tests/lib/dnsclient.py

# The run-time set from README (tests/unit/util/test_caps.c keeps it equal to
# caps_rows[]): "yes" rows always, "unless `scope: netns`" rows beyond it.
kept() { # ROWS-REGEX: capability names, sorted, one line
	sed -n "s/^  | \`CAP_\([A-Z_]*\)\` | .* | \($1\)[^|]* |\$/\1/p" "$E2E_ROOT/README.md" |
		tr 'A-Z' 'a-z' | sort | tr '\n' ' '
}
KEEP_OWN=$(kept 'yes')
KEEP_OTHER=$(kept 'yes\|unless')
assert_true "README names a run-time set ($KEEP_OTHER)" test -n "$KEEP_OWN"
cap_set() { # PID FIELD: the capability names of /proc/PID/status FIELD, sorted
	local hex
	hex=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status")
	[[ "$hex" =~ ^0+$ ]] && return
	capsh --decode="$hex" | sed 's/.*=//' | tr ',' '\n' | sed 's/^cap_//' | sort | tr '\n' ' '
}
status_of() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

netns_setup gse2e-prv || { not_ok "netns setup"; e2e_finish; exit 1; }
netns_srv "$TRAFFICGEN" tcp-server --bind "$SRV4" --port 5600 --deadline-ms 300000 --reply 10 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "server listening"
# A DogStatsD host by name (getaddrinfo after the drop) and an OTLP endpoint
# on a dead port (libcurl connects, fails, retries), with a password in its
# URL and a secret header: neither may reach the log.
DSD_PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADAPTERS="  - type: datadog
    settings: {host: \"localhost:$DSD_PORT\", flush_interval: 200ms}
  - type: otlp
    settings:
      endpoint: \"http://gsuser:pw-s3cr3t@127.0.0.1:9/v1/metrics\"
      headers: {Authorization: \"Bearer tok-s3cr3t\"}
      interval: 200ms
      timeout: 200ms"
dns_seen() { scrape && (($(msum gespann_dns_malformed_total) >= 1)); }
features() { grep '^gespann_feature_enabled{' "$E2E_TMP/last.prom" | sort; }

# run NAME SCOPE SECCOMP WANT_CAPS: one agent, every check.
run() {
	local name=$1 scope=$2 sc=$3 want=$4 pid
	agent_start "$name" "$scope" "seccomp: $sc
dns: {events: log}" "$ADAPTERS" || return 1
	pid=$AGENT_PID
	for f in CapEff CapPrm CapBnd; do
		assert_eq "$(cap_set "$pid" $f)" "$want" "$name: $f is the run-time set"
	done
	assert_eq "$(status_of "$pid" CapInh)$(status_of "$pid" CapAmb)" \
		"00000000000000000000000000000000" "$name: nothing inheritable or ambient"
	assert_eq "$(status_of "$pid" NoNewPrivs)" 1 "$name: NoNewPrivs"
	assert_eq "$(status_of "$pid" Seccomp)" "$([[ $sc == true ]] && echo 2 || echo 0)" \
		"$name: Seccomp"
	assert_true "$name: the set kept is logged" grep -q 'level=info privileges at run time: ' "$AGENT_LOG"
	scrape
	features >"$E2E_TMP/features.$name"
	netns_cli "$TRAFFICGEN" tcp-client --connect "$SRV4" --port 5600 --conns 3 --send 10 >/dev/null
	netns_cli python3 "$DNSCLIENT" garbage "$SRV4" >/dev/null 2>&1
	assert_true "$name: 3 connections, exactly" wait_msum 10 3 gespann_flow_connections_total \
		protocol=tcp role=client dst_address="$SRV4" dst_port=5600 outcome=ok
	assert_eq "$(msum gespann_flow_bytes_total protocol=tcp role=client dst_address="$SRV4" dst_port=5600 direction=sent)" \
		30 "$name: 30 bytes sent, exactly"
	assert_true "$name: the malformed DNS packet parsed" wait_until 10 dns_seen
	# SIGHUP: log_level debug -> info.
	sed -i 's/^log_level: debug/log_level: info/' "$E2E_TMP/$name.yaml"
	kill -HUP "$pid"
	assert_true "$name: SIGHUP reloaded" wait_until 10 grep -q 'reloaded: log_level' "$AGENT_LOG"
	# Past a TIME_WAIT census (every 10 s) and several exporter flushes.
	sleep 11
	assert_true "$name: still running" kill -0 "$pid"
	assert_true "$name: the OTLP exporter tried" grep -q 'adapter otlp' "$AGENT_LOG"
	assert_true "$name: the endpoint logged, its password redacted" \
		grep -q 'http://gsuser:\*\*\*@127.0.0.1:9/v1/metrics' "$AGENT_LOG"
	assert_eq "$(grep -c 's3cr3t' "$AGENT_LOG")" 0 "$name: no secret in the log"
	assert_true "$name: no call refused (EPERM) and no error" \
		bash -c "! grep -E 'Operation not permitted|level=error' '$AGENT_LOG'"
	agent_stop
	assert_true "$name: stopped" grep -q 'level=info stopped' "$AGENT_LOG"
}

NS=/var/run/netns/$NS_CLI
run netns-plain "$NS" false "$KEEP_OTHER"
run netns-seccomp "$NS" true "$KEEP_OTHER"
run host-seccomp host true "$KEEP_OTHER"
assert_eq "$(diff "$E2E_TMP/features.netns-plain" "$E2E_TMP/features.netns-seccomp" | grep '^[<>]' | tr '\n' ' ')" "" \
	"seccomp: gespann_feature_enabled as without it"
assert_eq "$(diff <(sed 's/ .*//' "$E2E_TMP/features.netns-plain") <(sed 's/ .*//' "$E2E_TMP/features.host-seccomp") | grep '^[<>]' | tr '\n' ' ')" "" \
	"scope host: the same features listed"
e2e_finish
