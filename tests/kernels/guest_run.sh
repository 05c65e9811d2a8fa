#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# guest_run.sh: what a kernel test guest runs, in a chroot into the host's
# root (scripts/kernels/guest-init.sh sets that up), so the host's build of
# Gespann, its tools and the e2e scenarios run unchanged on the guest kernel.
#
#   1. loads the modules the scenarios need (veth, netfilter for the
#      iptables rules) from the guest kernel's own tree;
#   2. starts the agent twice (scope host, scope netns) with log_level:
#      debug and keeps its "feature X: on/off" lines or, when it fails, every
#      line of the failure (tests/kernels/agent_probe.sh);
#   3. starts it once more with /sys/kernel/btf/vmlinux hidden (nobtf_probe):
#      one error line and a nonzero exit expected;
#   4. runs loadcheck (tests/kernels/loadcheck.c): each BPF program alone, so
#      all programs that need a fallback are named, not just the first;
#   5. runs the e2e scenarios tests/e2e/t_NAME.sh listed in $GS_OUT/job.env.
#
# Everything goes to $GS_OUT (the host's build/kernels/out/SUITE over 9p):
# modules.txt, agent-SCOPE.log, agent-SCOPE.status, nobtf.log, nobtf.status,
# loadcheck.txt, NAME.log
# (scenario output), NAME.result ("E2E_RESULT pass fail"), NAME.rc, NAME.tmp/
# (what a failing scenario kept), done. Short progress markers (GSKT ...) go
# to the console. The host reads them all in tests/kernels/run.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${GS_OUT:?GS_OUT is set by guest-init.sh}
GS_MODROOT=${GS_MODROOT:?GS_MODROOT is set by guest-init.sh}
GS_SCENARIOS="tcp udp"
GS_SCENARIO_TIMEOUT=300
GS_BIN=$ROOT/build/gespann
GS_LOADCHECK=$ROOT/build/kernels/loadcheck
TRAFFICGEN=$ROOT/build/tools/trafficgen
# shellcheck source=/dev/null  # written by tests/kernels/run.sh for this boot
[[ -r "$OUT/job.env" ]] && source "$OUT/job.env"

say() { echo "GSKT $*" >/dev/console; }

# shellcheck source=tests/kernels/agent_probe.sh
source "$ROOT/tests/kernels/agent_probe.sh"

# Modules the scenarios need, loaded by name from the guest kernel's own tree
# ($GS_MODROOT/lib/modules/RELEASE, see guest-init.sh); a missing one is
# recorded, and the scenario that needs it fails.
NEEDED_MODULES=(veth nf_tables nft_compat x_tables xt_tcpudp xt_statistic ip_tables
	iptable_filter ip6_tables ip6table_filter)

load_modules() {
	local m
	for m in "${NEEDED_MODULES[@]}"; do
		if grep -qE "/${m}\.ko" "$GS_MODROOT/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then
			echo "$m: built in"
		elif modprobe -d "$GS_MODROOT" "$m" 2>&1; then
			echo "$m: loaded"
		else
			echo "$m: FAILED"
		fi
	done >"$OUT/modules.txt" 2>&1
}

# run_scenario NAME: tests/e2e/t_NAME.sh with a bound, output to $OUT.
run_scenario() {
	local name=$1 tmp=/tmp/gskt-e2e-$1 rc=0 start
	rm -rf "$tmp"
	mkdir -p "$tmp"
	start=$SECONDS
	say "scenario $name start"
	E2E_TMP=$tmp E2E_RESULTS="$OUT/$name.result" GS_BIN="$GS_BIN" TRAFFICGEN="$TRAFFICGEN" \
		timeout -k 5 "$GS_SCENARIO_TIMEOUT" bash "$ROOT/tests/e2e/t_$name.sh" \
		>"$OUT/$name.log" 2>&1 </dev/null || rc=$?
	echo "$rc $((SECONDS - start))" >"$OUT/$name.rc"
	# A failing scenario keeps its directory (agent log, generator output).
	if [[ -d "$tmp" ]]; then
		cp -a "$tmp" "$OUT/$name.tmp" 2>/dev/null || true
	fi
	say "scenario $name rc=$rc $(tail -1 "$OUT/$name.result" 2>/dev/null || echo no-result) $((SECONDS - start))s"
}

main() {
	local s
	say "run kernel=$(uname -r)"
	uname -r >"$OUT/kernel"
	ip link set lo up
	load_modules
	# Scope host needs no SO_NETNS_COOKIE (5.14+): it reaches the BPF load
	# even where scope netns, as the scenarios use, stops before it.
	for s in host netns; do
		agent_probe "$GS_BIN" "$OUT" "$s" "$s" || true
		say "agent scope $s: $(cat "$OUT/agent-$s.status")"
	done
	nobtf_probe "$GS_BIN" "$OUT"
	say "agent without BTF: $(cat "$OUT/nobtf.status")"
	if [[ -x "$GS_LOADCHECK" ]]; then
		"$GS_LOADCHECK" >"$OUT/loadcheck.txt" 2>&1 || true
	fi
	for s in $GS_SCENARIOS; do
		run_scenario "$s"
	done
	date -u +%FT%TZ >"$OUT/done"
}

main "$@"
