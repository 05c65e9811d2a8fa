#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command line and the process lifecycle: -version, -help, config errors
# (exit 2 with one line naming file, line and key), a scope that is not a
# namespace, SIGTERM/SIGINT stopping within a second with exit 0 and nothing
# left attached, a second signal during shutdown being harmless.
set -uo pipefail
E2E_NAME=lifecycle
source "$(dirname "$0")/lib.sh"

out=$("$GS_BIN" -version)
assert_true "-version prints the version" grep -qE '^gespann [0-9]+\.[0-9]+\.[0-9]+' <<<"$out"
assert_true "-help shows the embedded default" grep -q 'type: prometheus' <<<"$("$GS_BIN" -help)"

bad() { # WHAT YAML EXPECTED_STDERR_REGEX
	printf '%s\n' "$2" >"$E2E_TMP/bad.yaml"
	local rc=0
	"$GS_BIN" -config "$E2E_TMP/bad.yaml" 2>"$E2E_TMP/bad.err" >/dev/null || rc=$?
	assert_eq "$rc" 2 "$1: exit code"
	assert_true "$1: message '$(head -1 "$E2E_TMP/bad.err")'" grep -qE "$3" "$E2E_TMP/bad.err"
	assert_eq "$(wc -l <"$E2E_TMP/bad.err")" 1 "$1: one line"
}
bad "unknown key" $'log_level: info\nlog_levle: debug' 'bad\.yaml:2: unknown key "log_levle"'
bad "bad port" $'adapters:\n  - type: prometheus\n    settings:\n      port: 70000' 'bad\.yaml:4: adapters\[0\]\.settings\.port: 70000 is not a port'
bad "wrong type" $'adapters:\n  type: prometheus' 'bad\.yaml:1: adapters: expected a list'
bad "bad duration" 'idle_timeout: 30' 'bad\.yaml:1: idle_timeout: "30" is not a duration'
rc=0
"$GS_BIN" -config /nonexistent/gespann.yaml 2>"$E2E_TMP/bad.err" || rc=$?
assert_eq "$rc" 2 "missing config file: exit code"
rc=0
"$GS_BIN" -bogus 2>/dev/null || rc=$?
assert_eq "$rc" 2 "unknown flag: exit code"

# A scope path that is no network namespace: a clear error, no crash.
printf 'scope: /etc/hostname\nadapters: []\n' >"$E2E_TMP/scope.yaml"
rc=0
"$GS_BIN" -config "$E2E_TMP/scope.yaml" 2>"$E2E_TMP/scope.err" || rc=$?
assert_eq "$rc" 1 "scope that is not a netns: exit code"
assert_true "scope error names the path" grep -q 'failed to enter scope /etc/hostname' "$E2E_TMP/scope.err"

# The agent's own programs and links (by its pid: tests/e2e/lib.sh), never the
# machine's, which other BPF users change at any time. agent_holds fills
# HELD_PROGS and HELD_LINKS (every id the agent holds) and counts NAMED_PROGS
# (its programs named in WANT) and NAMED_LINKS (its links to them).
WANT='^(handle_inet_sock_set_state|handle_udp_egress|handle_udp_ingress)$'
agent_holds() {
	local kind id prog
	local -A names=() link_prog=()
	HELD_PROGS=() HELD_LINKS=() NAMED_PROGS=0 NAMED_LINKS=0
	while read -r kind id prog; do
		if [[ "$kind" == link ]]; then
			HELD_LINKS+=("$id")
			link_prog[$id]=$prog
			id=$prog
		fi
		[[ -n "$id" && -z "${names[$id]+set}" ]] || continue
		names[$id]=$(bpf_prog_name "$id")
		HELD_PROGS+=("$id")
		[[ "${names[$id]}" =~ $WANT ]] && NAMED_PROGS=$((NAMED_PROGS + 1))
	done < <(agent_bpf_fds)
	for id in "${HELD_LINKS[@]}"; do
		[[ "${names[${link_prog[$id]}]:-}" =~ $WANT ]] && NAMED_LINKS=$((NAMED_LINKS + 1))
	done
	return 0
}
# _none_left: not one of the ids the agent held is still loaded.
_none_left() {
	local id
	for id in "${HELD_PROGS[@]}"; do ! bpf_loaded prog "$id" || return 1; done
	for id in "${HELD_LINKS[@]}"; do ! bpf_loaded link "$id" || return 1; done
}
for sig in TERM INT; do
	agent_start "sig$sig" netns || { e2e_finish; exit 1; }
	agent_holds
	e2e_log "SIG$sig: the agent holds programs ${HELD_PROGS[*]} and links ${HELD_LINKS[*]}"
	assert_eq "$NAMED_PROGS" 3 "SIG$sig: the agent's programs attached while running"
	assert_eq "$NAMED_LINKS" 3 "SIG$sig: the agent's links to them"
	start=${EPOCHREALTIME/./}
	kill -"$sig" "$AGENT_PID"
	kill -"$sig" "$AGENT_PID" 2>/dev/null || true # a second signal is harmless
	rc=0
	wait "$AGENT_PID" || rc=$?
	elapsed_ms=$(((${EPOCHREALTIME/./} - start) / 1000))
	AGENT_PID=
	assert_eq "$rc" 0 "SIG$sig: exit code"
	assert_true "SIG$sig: stopped within 1 s (${elapsed_ms} ms)" test "$elapsed_ms" -lt 1000
	# Links go at once; the kernel frees the programs after an RCU grace period.
	assert_true "SIG$sig: none of the agent's ${#HELD_PROGS[@]} programs and ${#HELD_LINKS[@]} links left (by id)" \
		wait_until 3 _none_left
done
e2e_finish
