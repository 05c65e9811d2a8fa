#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# t_check_config.sh: `gespann -check-config FILE` and the start-up checks, as
# a user meets them in the first hour. No root, no BPF, no namespaces: every
# command runs as an unprivileged user (nobody, through setpriv, when this
# script runs as root), which is also what -check-config promises to need.
# Good files (the seed's shape, gespann.yaml) answer "FILE: ok" and exit 0;
# bad ones (an unknown key, a port out of range, an attribute selection that
# matches nothing, /dev/null, a FIFO, a missing file) exit 2 with their one
# error line; nothing is written anywhere. Then an unprivileged start must
# stop at the capability check, naming the capabilities, with exit 1.
#
# The binary and the files are copied into a fresh directory under /tmp
# first: the user (nobody) may not be able to reach the checkout (a clone in
# /root), and the commands run there, so the names in messages are short.
#
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed"; with
# E2E_RESULTS set it appends "E2E_RESULT N M" there, as the e2e scenarios do
# (tests/run.sh counts both the same way). GS_BIN: the binary to test.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
GS_BIN=${GS_BIN:-$PWD/build/gespann}
pass=0
fail=0

ok() {
	pass=$((pass + 1))
	printf 'ok - %s\n' "$*"
}
not_ok() {
	fail=$((fail + 1))
	printf 'not ok - %s\n' "$*"
}

finish() {
	rm -rf "$tmp"
	printf '%d passed, %d failed\n' "$pass" "$fail"
	[[ -n "${E2E_RESULTS:-}" ]] && echo "E2E_RESULT $pass $fail" >>"$E2E_RESULTS"
}

tmp=$(mktemp -d /tmp/gespann-cli.XXXXXX)
trap finish EXIT
chmod 755 "$tmp"

# As whom: never as root (an agent start as root would load BPF).
as_user=()
if [[ $(id -u) -eq 0 ]]; then
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
if [[ $("${as_user[@]}" id -u 2>/dev/null) == 0 ]] || ! "${as_user[@]}" true 2>/dev/null; then
	not_ok "cannot run as an unprivileged user (setpriv as nobody failed)"
	exit 1
fi
# no effective capability at all: a start must stop at the check
# shellcheck disable=SC2016 # awk's $2, not the shell's
cap_eff=$("${as_user[@]}" awk '/^CapEff:/ { print $2 }' /proc/self/status)
if [[ ! -x "$GS_BIN" ]]; then
	not_ok "no binary at $GS_BIN (run make first)"
	exit 1
fi
cp "$GS_BIN" "$tmp/gespann"
cp tests/fixtures/seed-config.yaml gespann.yaml "$tmp/"

# check NAME FILE WANT_RC WANT_STDOUT WANT_STDERR: -check-config FILE as the user.
check() {
	local name=$1 file=$2 want_rc=$3 want_out=$4 want_err=$5 rc=0 out err
	out=$(cd "$tmp" && timeout 10 "${as_user[@]}" ./gespann -check-config "$file" 2>"$tmp/stderr") ||
		rc=$?
	err=$(cat "$tmp/stderr")
	rm -f "$tmp/stderr"
	if [[ $rc -ne $want_rc ]]; then
		not_ok "$name: exit status: expected $want_rc, got $rc (stdout \"$out\", stderr \"$err\")"
	elif [[ "$out" != "$want_out" ]]; then
		not_ok "$name: stdout: expected \"$want_out\", got \"$out\""
	elif [[ "$err" != "$want_err" ]]; then
		not_ok "$name: stderr: expected \"$want_err\", got \"$err\""
	else
		ok "$name: exit $rc${out:+, $out}${err:+, $err}"
	fi
}

known='(known: log_level, scope, idle_timeout, max_connections, max_udp_flows, ring_buffer_size, poll_interval, adapters, attributes, networks, zone, dns, processes, seccomp)'

printf 'log_level: info\nlog_leve: debug\n' >"$tmp/unknown.yaml"
printf 'adapters:\n  - type: prometheus\n    settings:\n      port: "70000"\n' >"$tmp/port.yaml"
printf 'attributes:\n  select:\n    "nomatch_*": {include: ["*"]}\n' >"$tmp/select.yaml"
mkfifo "$tmp/fifo.yaml"
chmod 644 "$tmp"/*.yaml
ls -A "$tmp" >"$tmp.before"

check "the seed's config" seed-config.yaml 0 "seed-config.yaml: ok" ""
check "gespann.yaml" gespann.yaml 0 "gespann.yaml: ok" ""
check "an unknown key" unknown.yaml 2 "" \
	"gespann: unknown.yaml:2: unknown key \"log_leve\" $known"
check "a quoted port out of range" port.yaml 2 "" \
	"gespann: port.yaml:4: adapters[0].settings.port: 70000 is not a port (1-65535)"
check "a selection that matches no family" select.yaml 2 "" \
	"gespann: select.yaml:3: attributes.select 'nomatch_*': the pattern matches no metric family"
check "/dev/null" /dev/null 2 "" "gespann: /dev/null: cannot read: not a regular file"
check "a FIFO (no writer: must not wait)" fifo.yaml 2 "" \
	"gespann: fifo.yaml: cannot read: not a regular file"
check "a missing file" missing.yaml 2 "" \
	"gespann: missing.yaml: cannot read: No such file or directory"

# no side effects: nothing new in the directory of the files checked
ls -A "$tmp" >"$tmp.after"
if cmp -s "$tmp.before" "$tmp.after"; then
	ok "-check-config wrote nothing"
else
	not_ok "-check-config wrote files: $(diff "$tmp.before" "$tmp.after" | tr '\n' ' ')"
fi
rm -f "$tmp.before" "$tmp.after"

# An unprivileged start: the capability check first, before any probe.
want="level=error missing capabilities: CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN (run as root or grant them)"
if [[ "$cap_eff" != 0000000000000000 ]]; then
	not_ok "unprivileged start: the user still holds capabilities (CapEff $cap_eff)"
else
	rc=0
	(cd "$tmp" && timeout 10 "${as_user[@]}" ./gespann -config seed-config.yaml) \
		>"$tmp/start.out" 2>"$tmp/start.err" || rc=$?
	errors=$(grep -c 'level=error' "$tmp/start.err")
	if [[ $rc -ne 1 ]]; then
		not_ok "unprivileged start: exit status: expected 1, got $rc: $(tr '\n' ' ' <"$tmp/start.err")"
	elif ! grep -qF -- "$want" "$tmp/start.err" || [[ $errors -ne 1 ]]; then
		not_ok "unprivileged start: expected one error line \"$want\", got: $(tr '\n' ' ' <"$tmp/start.err")"
	else
		ok "unprivileged start: exit 1, $want"
	fi
fi
[[ $fail -eq 0 ]]
