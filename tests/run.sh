#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as `make test` runs it (after building): unit tests
# and tests/cli (no root, no BPF), the DNS fuzz targets for a bounded time (make
# fuzz-smoke), then the kernel end-to-end scenarios with the normal daemon,
# then the same TCP and UDP scenarios with the ASan/UBSan daemon,
# then the kernel matrix (tests/kernels/run.sh: the TCP and UDP scenarios on
# Debian's 5.10, 6.1 and 6.12 kernels under qemu; some 10 minutes once the
# kernels are cached in build/kernels). GS_SKIP_KERNELS=1 leaves the matrix
# out of a local run; under CI=true it is refused.
# Under CI=true a test whose needs are missing (root, BPF) fails; it does not
# skip. Ends with one line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0
fail=0
failed_names=()

count_unit() { # BIN: run a cmocka binary, add its tallies
	local out rc=0 p f
	out=$("$1" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED) |^\[  FAILED  \] test' || true
	# A binary may run several groups: sum every tally line.
	p=$(printf '%s\n' "$out" | awk '/^\[  PASSED  \] [0-9]+ test/ { s += $4 } END { print s + 0 }')
	f=$(printf '%s\n' "$out" | awk '/^\[  FAILED  \] [0-9]+ test/ { s += $4 } END { print s + 0 }')
	pass=$((pass + ${p:-0}))
	if [[ $rc -ne 0 ]]; then
		fail=$((fail + ${f:-1}))
		failed_names+=("$(basename "$1")")
		printf '%s\n' "$out" | tail -20
	fi
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[[ -x "$t" ]] || continue
	echo "-- $(basename "$t")"
	count_unit "$t"
done

# The command line without root or BPF (-check-config, the start-up checks):
# scripts that print ok/not ok and report "E2E_RESULT N M" as the e2e ones do.
for s in tests/cli/t_*.sh; do
	results=$(mktemp)
	rc=0
	echo "-- $(basename "$s")"
	GS_BIN="$PWD/$BUILD/gespann" E2E_RESULTS="$results" timeout 120 bash "$s" || rc=$?
	read -r _ p f < <(tail -1 "$results" 2>/dev/null || echo "E2E_RESULT 0 1")
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [[ $rc -ne 0 ]]; then
		[[ ${f:-0} -eq 0 ]] && fail=$((fail + 1))
		failed_names+=("$(basename "$s")")
	fi
	rm -f "$results"
done

# The DNS parser and tracker are hostile-input code: their libFuzzer targets
# run for a bounded time on every test run (make fuzz runs them longer).
echo "== fuzz smoke (make fuzz-smoke)"
if make -s --no-print-directory BUILD="$BUILD" fuzz-smoke; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	failed_names+=("fuzz-smoke")
fi

can_run_bpf() {
	[[ $(id -u) -eq 0 ]] && [[ -r /sys/kernel/btf/vmlinux ]]
}

run_scenario() { # SCRIPT [ENV...]
	local script=$1 results rc=0 p f
	shift
	results=$(mktemp)
	echo "-- $(basename "$script") $*"
	# On SIGTERM a scenario stops what it started and deletes its namespaces
	# (its EXIT trap, tests/e2e/lib.sh); SIGKILL 30 s later if that hangs.
	env "$@" E2E_RESULTS="$results" timeout -k 30 300 bash "$script" || rc=$?
	read -r _ p f < <(tail -1 "$results" 2>/dev/null || echo "E2E_RESULT 0 1")
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [[ $rc -ne 0 ]]; then
		[[ ${f:-0} -eq 0 ]] && fail=$((fail + 1))
		failed_names+=("$(basename "$script") $*")
	fi
	rm -f "$results"
}

echo "== kernel end-to-end tests"
if ! can_run_bpf; then
	if [[ "${CI:-}" == "true" ]]; then
		echo "FAIL - kernel tests need root and kernel BTF (CI=true: not skipped)"
		fail=$((fail + 1))
		failed_names+=("e2e prerequisites")
	else
		echo "skipped: kernel tests need root and /sys/kernel/btf/vmlinux (run: sudo make test)"
	fi
else
	for s in tests/e2e/t_*.sh; do
		run_scenario "$s"
	done
	echo "== end-to-end with the ASan/UBSan build"
	# The DNS scenario feeds the parser garbage, the TLS one the HTTP front
	# end and its web config, the gRPC one what a receiver answers: hostile
	# input under ASan too.
	for s in tests/e2e/t_tcp.sh tests/e2e/t_udp.sh tests/e2e/t_dns.sh tests/e2e/t_flows.sh \
		tests/e2e/t_host_scope.sh tests/e2e/t_web_tls.sh tests/e2e/t_http_abuse.sh \
		tests/e2e/t_prometheus.sh tests/e2e/t_otlp_grpc.sh; do
		run_scenario "$s" GS_BIN="$PWD/$BUILD/asan/gespann"
	done
fi

echo "== kernel matrix (make test-kernels)"
if [[ "${CI:-}" != "true" && "${GS_SKIP_KERNELS:-}" == 1 ]]; then
	echo "skipped: GS_SKIP_KERNELS=1"
elif [[ $(id -u) -ne 0 ]]; then
	if [[ "${CI:-}" == "true" ]]; then
		echo "FAIL - the kernel matrix needs root (CI=true: not skipped)"
		fail=$((fail + 1))
		failed_names+=("kernel matrix prerequisites")
	else
		echo "skipped: the kernel matrix needs root (run: sudo make test)"
	fi
else
	[[ "${CI:-}" == "true" && "${GS_SKIP_KERNELS:-}" == 1 ]] &&
		echo "GS_SKIP_KERNELS=1 ignored: CI=true runs the matrix"
	kt_log=$(mktemp)
	rc=0
	BUILD=$BUILD timeout -k 30 4800 tests/kernels/run.sh 2>&1 | tee "$kt_log" || rc=$?
	# "N passed, M failed, X expected differences", its last tally line.
	read -r p _ f _ < <(grep -E '^[0-9]+ passed, [0-9]+ failed' "$kt_log" | tail -1 || true)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [[ $rc -ne 0 ]]; then
		[[ ${f:-0} -eq 0 ]] && fail=$((fail + 1))
		failed_names+=("kernel matrix")
	fi
	rm -f "$kt_log"
fi

if [[ ${#failed_names[@]} -gt 0 ]]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
