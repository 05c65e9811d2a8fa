#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh: `make test-kernels`. Boots Debian's 5.10 (bullseye), 6.1 (bookworm)
# and 6.12 (trixie) kernels under qemu, one after the other, and runs
# Gespann's end-to-end checks inside each guest with the host's own build:
# the guest mounts this machine's root read-only over virtio-9p and chroots
# into it (scripts/kernels/guest-init.sh, tests/kernels/guest_run.sh). Then it
# prints one table: per kernel, the hooks the agent chose (its "feature X:
# on/off" lines, each "off" named as expected for that kernel or not),
# whether the agent refuses to start cleanly without BTF, and each
# scenario's checks passed, failed, or failed as an expected difference of
# that kernel; below it, for every kernel where the agent did not start or a
# check failed, the exact error lines; then the time the matrix took. The
# host kernel is the last row (agent hooks only: `make test` runs the
# scenarios there).
#
#   tests/kernels/run.sh                   all three suites and the host row
#   tests/kernels/run.sh bookworm          one suite (and the host row)
#   KT_SCENARIOS="tcp" tests/kernels/run.sh
#   tests/kernels/run.sh --report          the table again, from the last results
#
# Environment: KERNEL_CACHE (kernels, modules, initramfs; default
# build/kernels; results always go to build/kernels/out/SUITE),
# KT_SCENARIOS (default "tcp udp flows udp_owner": the tests/e2e/t_NAME.sh to run in each
# guest), KT_BOOT_TIMEOUT (seconds per boot, default 1500: 5.10 under TCG
# takes about 510 s for the four scenarios),
# KT_SCENARIO_TIMEOUT (per scenario in the guest, default 240),
# KT_BENCH_WAIT (seconds to wait for a running bench/run.sh before each
# boot, default 1200: qemu without KVM takes a whole core), KT_ACCEL and
# KT_CPU (qemu's -accel and -cpu, default tcg,thread=single and max). Needs
# root, a finished `make all` and the skeleton headers (make test-kernels).
#
# Ends with "N passed, M failed, X expected differences": the checks of all
# guests (failures expected on a kernel are named and counted apart), plus
# one failure per agent that did not start, guest that did not finish, hook
# off where that kernel has it, and start without BTF that did not end with
# one error line and a nonzero exit. Exits 1 when anything failed: a guest
# that cannot boot is a failure, never a skip.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# BUILD as the Makefile passes it, relative to the tree; the guests need
# absolute paths.
BUILD=${BUILD:-build}
[[ "$BUILD" == /* ]] || BUILD=$ROOT/$BUILD
KERNEL_CACHE=$(realpath -m "${KERNEL_CACHE:-$BUILD/kernels}")
KT_SCENARIOS=${KT_SCENARIOS-tcp udp flows udp_owner}
KT_BOOT_TIMEOUT=${KT_BOOT_TIMEOUT:-1500}
KT_SCENARIO_TIMEOUT=${KT_SCENARIO_TIMEOUT:-240}
KT_BENCH_WAIT=${KT_BENCH_WAIT:-1200}
# TCG: this machine's /dev/kvm exists but cannot run a guest (qemu aborts
# setting MSR 0x10a with -cpu max or host, hangs with kvm64). One host
# thread for both vCPUs: with thread=multi a 6.12 guest once died of an
# "Oops: int3" in inet6_ehashfn while the kernel patched a static key (a
# stale translated block), and one thread leaves the other core alone.
KT_ACCEL=${KT_ACCEL:-tcg,thread=single}
KT_CPU=${KT_CPU:-max}
OUT=$BUILD/kernels/out
REPORT_ONLY=0
if [[ "${1:-}" == --report ]]; then
	REPORT_ONLY=1
	shift
fi
SUITES=(bullseye bookworm trixie)
[[ $# -eq 0 ]] || SUITES=("$@")

# Hooks in the order the agents logged them (filled in by report()).
FEATURES=()

# shellcheck source=tests/kernels/agent_probe.sh
source "$ROOT/tests/kernels/agent_probe.sh"

log() { printf 'test-kernels: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ==== Expected differences by kernel ====

# ver_lt RELEASE MAJOR.MINOR: is the kernel release older than MAJOR.MINOR?
ver_lt() {
	local rel=$1 maj min
	maj=${rel%%.*}
	min=${rel#*.}
	min=${min%%[!0-9]*}
	((maj < ${2%.*} || (maj == ${2%.*} && min < ${2#*.})))
}

# expected_off RELEASE FEATURE: why FEATURE is off on that kernel, if it
# should be (prints nothing when the feature should be on).
expected_off() {
	case $2 in
	tcp_reset_reason) ver_lt "$1" 6.10 && echo "tcp_send_reset has no reason before 6.10: reset_reason unknown" ;;
	live_refresh) ver_lt "$1" 5.13 && echo "bpf_for_each_map_elem is 5.13+" ;;
	bpf_atomics) ver_lt "$1" 5.12 && echo "BPF_XCHG/BPF_OR are 5.12+: GS_LEGACY objects" ;;
	netns_cookie) ver_lt "$1" 5.14 && echo "SO_NETNS_COOKIE is 5.14+: netns by inode number" ;;
	cgroup_skb_netns_cookie) ver_lt "$1" 6.13 &&
		echo "no bpf_get_netns_cookie in cgroup_skb up to 6.12: netns via skb->sk" ;;
	udp_owner_seed) ver_lt "$1" 5.11 &&
		echo "bpf_sock_from_file is 5.11+: UDP sockets older than the agent are named when they send" ;;
	tcp_owner_seed) ver_lt "$1" 5.11 &&
		echo "bpf_sock_from_file is 5.11+: TCP connections and listeners older than the agent stay unknown" ;;
	cgroup_skb_pid) ver_lt "$1" 6.13 &&
		echo "no current-task helpers (pid, comm, cgroup id) in cgroup_skb up to 6.12: a UDP socket keeps the owner recorded at its creation" ;;
	# Probed and reported, used by no program of this build: a kernel
	# built without kprobes or trampolines loses nothing.
	kprobe | fentry) echo "reported only, no program uses it" ;;
	*) [[ " ${OFF_EVERYWHERE[*]} " == *" $2 "* ]] &&
		echo "off on every kernel, the host's too: not used by this build" ;;
	esac
	return 0
}

# Features off on every kernel of the run, the host's included (filled in by
# report()): nothing kernel-specific, e.g. hooks of a later issue.
OFF_EVERYWHERE=()

# ==== Running the guests ====

# Wait while a benchmark runs: a TCG guest would take a core from it.
wait_for_bench() {
	local waited=0
	while pgrep -f bench/run.sh >/dev/null; do
		if ((waited >= KT_BENCH_WAIT)); then
			log "bench/run.sh still running after ${KT_BENCH_WAIT}s: going on"
			return 0
		fi
		((waited == 0)) && log "bench/run.sh is running: waiting (up to ${KT_BENCH_WAIT}s)"
		sleep 10
		waited=$((waited + 10))
	done
}

build_loadcheck() {
	mkdir -p "$BUILD/kernels"
	cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -I"$BUILD" -I"$ROOT/src" \
		-o "$BUILD/kernels/loadcheck" "$ROOT/tests/kernels/loadcheck.c" "$ROOT/src/probes/kcompat.c" -lbpf
}

# boot SUITE: one guest, results into $OUT/SUITE; a guest whose kernel
# oopses or panics (an emulation flake so far, see KT_ACCEL) gets one more
# boot, and the report says so.
boot() {
	local suite=$1 out=$OUT/$1 try why=""
	for try in 1 2; do
		boot_once "$suite"
		[[ -f "$out/done" ]] && break
		why=$(grep -m1 -oE 'Oops: [^[]*|Kernel panic - [^[]*' "$out/console.log" 2>/dev/null || true)
		[[ -n "$why" && $try -eq 1 ]] || break
		log "$suite: guest kernel died ($why): booting once more"
		mv "$out/console.log" "$OUT/$suite.console.1.log"
	done
	if [[ -n "$why" ]]; then
		mv "$OUT/$suite.console.1.log" "$out/console.1.log" 2>/dev/null || true
		echo "$why" >"$out/retried"
	fi
}

# boot_once SUITE: one qemu run, bounded by KT_BOOT_TIMEOUT.
boot_once() {
	local suite=$1 dir=$KERNEL_CACHE/$1 out=$OUT/$1 release start rc=0
	release=$(cat "$dir/ready")
	rm -rf "$out"
	mkdir -p "$out"
	{
		printf 'GS_SCENARIOS=%q\n' "$KT_SCENARIOS"
		printf 'GS_SCENARIO_TIMEOUT=%q\n' "$KT_SCENARIO_TIMEOUT"
		printf 'GS_BIN=%q\n' "$BUILD/gespann"
		printf 'GS_LOADCHECK=%q\n' "$BUILD/kernels/loadcheck"
		printf 'TRAFFICGEN=%q\n' "$BUILD/tools/trafficgen"
	} >"$out/job.env"
	wait_for_bench
	log "$suite: booting $release ($KT_ACCEL, timeout ${KT_BOOT_TIMEOUT}s)"
	start=$SECONDS
	timeout -k 10 "$KT_BOOT_TIMEOUT" qemu-system-x86_64 \
		-accel "$KT_ACCEL" -cpu "$KT_CPU" -smp 2 -m 2G \
		-display none -monitor none -serial "file:$out/console.log" -no-reboot -nic none \
		-kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init GS_RUN=$ROOT/tests/kernels/guest_run.sh GS_MODROOT=$dir/root GS_SUITE=$suite GS_KEEP=$ROOT:$BUILD:$KERNEL_CACHE" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot \
		-virtfs "local,path=$out,mount_tag=gsout,security_model=none,id=gsout" \
		>"$out/qemu.log" 2>&1 || rc=$?
	echo "$rc $((SECONDS - start))" >"$out/boot.rc"
	log "$suite: guest ended (rc $rc) after $((SECONDS - start))s"
}

# host_row: the host kernel's hooks, from the same agent probes the guests run.
host_row() {
	local out=$OUT/host s
	rm -rf "$out"
	mkdir -p "$out"
	uname -r >"$out/kernel"
	for s in host netns; do
		agent_probe "$BUILD/gespann" "$out" "$s" "$s" || true
	done
	nobtf_probe "$BUILD/gespann" "$out"
	"$BUILD/kernels/loadcheck" >"$out/loadcheck.txt" 2>&1 || true
	echo host >"$out/boot.rc"
}

# ==== Report ====

TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_XFAIL=0
DETAILS=()

# feature_of DIR NAME: on, off, or - (no line: the agent did not get that far).
feature_of() {
	local v
	v=$(sed -n "s/.*level=info feature $2: \([a-z]*\).*/\1/p" "$1/agent-host.log" 2>/dev/null | tail -1)
	echo "${v:--}"
}

# hooks_cell DIR RELEASE: the hooks the agent chose, in one cell: "all on" or
# the ones off, each with "(expected: why)" or "(UNEXPECTED)".
hooks_cell() {
	local dir=$1 rel=$2 f v why cell=""
	if ! grep -q 'level=info feature ' "$dir/agent-host.log" 2>/dev/null; then
		echo "none (agent did not start)"
		return 0
	fi
	for f in "${FEATURES[@]}"; do
		v=$(feature_of "$dir" "$f")
		[[ "$v" == on ]] && continue
		# Listed once below the table instead.
		[[ " ${OFF_EVERYWHERE[*]} " == *" $f "* ]] && continue
		why=$(expected_off "$rel" "$f")
		[[ -n "$why" ]] && why="expected: $why"
		cell+="${cell:+; }$f off (${why:-UNEXPECTED})"
	done
	echo "${cell:-all on}"
}

# expected_check_failure DIR CHECK: why the failed CHECK (a "FAIL - ..."
# line) is expected in that guest, given the hooks its agent chose; nothing
# when it is not. Such a failure is shown and named, not counted.
expected_check_failure() {
	case $2 in
	*"idle connections after idle_timeout"* | *"payload of open connections counted before they close"*)
		[[ "$(feature_of "$1" live_refresh)" == off ]] &&
			echo "open connections are read by live_refresh (bpf_for_each_map_elem, 5.13+)" ;;
	*"owner of a TCP socket open before the agent"*)
		[[ "$(feature_of "$1" tcp_owner_seed)" == off ]] &&
			echo "TCP sockets older than the agent are named by a task_file iterator (bpf_sock_from_file, 5.11+)" ;;
	*"UDP sockets named at start"* | *"socket open before the agent"* | *"GS_C_UDP_OWNER_UNKNOWN"*)
		[[ "$(feature_of "$1" udp_owner_seed)" == off ]] &&
			echo "sockets older than the agent are named by a task_file iterator (bpf_sock_from_file, 5.11+); without it when they send" ;;
	esac
	return 0
}

# tally DIR NAME: "PASS FAIL XFAIL RC SECONDS" of one scenario in a guest,
# from its own E2E_RESULT line when it wrote one, otherwise (it died) from
# its ok/FAIL lines plus one failure for the abnormal end. XFAIL: failures
# expected on that kernel (expected_check_failure), not in FAIL.
tally() {
	local dir=$1 name=$2 p f x=0 rc secs line
	read -r rc secs <"$dir/$name.rc"
	if [[ -s "$dir/$name.result" ]]; then
		read -r _ p f < <(tail -1 "$dir/$name.result")
	else
		p=$(grep -c '^ok - ' "$dir/$name.log" 2>/dev/null || true)
		f=$(grep -c '^FAIL - ' "$dir/$name.log" 2>/dev/null || true)
		f=$((${f:-0} + 1))
	fi
	[[ $rc -ne 0 && $f -eq 0 ]] && f=1
	while IFS= read -r line; do
		[[ -n "$(expected_check_failure "$dir" "$line")" ]] && x=$((x + 1))
	done < <(grep '^FAIL - ' "$dir/$name.log" 2>/dev/null || true)
	f=$((f - x))
	# A scenario that failed only where expected still ended with status 1.
	echo "${p:-0} $f $x $rc ${secs:-?}"
}

# scenario_cell DIR NAME: "ok N/N", "FAIL n/N", with the expected failures
# and how it ended when it did not end by itself.
scenario_cell() {
	local p f x rc secs end="" xs=""
	if [[ ! -f "$1/$2.rc" ]]; then
		echo "not run"
		return 0
	fi
	read -r p f x rc secs < <(tally "$1" "$2")
	case $rc in
	0 | 1) ;;
	124 | 137) end=" TIMEOUT" ;;
	*) end=" (exit $rc)" ;;
	esac
	((x == 0)) || xs=" +$x expected"
	if [[ $f -eq 0 ]]; then
		echo "ok $p/$((p + x))$xs ${secs}s"
	else
		echo "FAIL $f/$((p + f + x))$xs$end ${secs}s"
	fi
}

# count_scenario DIR NAME: add a scenario's tallies to the totals.
count_scenario() {
	local p f
	if [[ ! -f "$1/$2.rc" ]]; then
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		return 0
	fi
	read -r p f x _ < <(tally "$1" "$2")
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	TOTAL_XFAIL=$((TOTAL_XFAIL + x))
}

# expected_refusal RELEASE PROGRAM: why that kernel refuses PROGRAM as
# loadcheck loads it (every program, whatever the agent would switch off).
expected_refusal() {
	case $2 in
	handle_tcp_send_reset) ver_lt "$1" 6.10 &&
		echo "no reason argument before 6.10; the agent loads handle_tcp_send_reset_noreason" ;;
	refresh_live) ver_lt "$1" 5.13 && echo "bpf_for_each_map_elem is 5.13+" ;;
	refresh_batch) ver_lt "$1" 5.13 && echo "bpf_for_each_map_elem is 5.13+; the agent reads open connections without refreshing them" ;;
	seed_udp_owners) ver_lt "$1" 5.11 &&
		echo "bpf_sock_from_file is 5.11+; the agent names older UDP sockets when they send" ;;
	seed_udp_apply) ver_lt "$1" 5.11 &&
		echo "bpf_sk_storage_get in an iterator is 5.11+; loaded only with seed_udp_owners (udp_owner_seed)" ;;
	seed_tcp_owners) ver_lt "$1" 5.11 &&
		echo "bpf_sock_from_file is 5.11+; the agent does not load it and older TCP sockets stay unknown" ;;
	esac
	return 0
}

# error_lines LOG: the lines of an agent log that tell why a load failed:
# warnings and errors, libbpf's failures (a CO-RE relocation without a match
# after the relocation it was), the end of each verifier log.
error_lines() {
	awk '
	# The agent logs the verifier log as one line: its end has the verdict.
	/-- BEGIN PROG LOAD LOG --.*-- END PROG LOAD LOG --/ {
		l = $0; sub(/ *-- END PROG LOAD LOG --.*/, "", l)
		p = index(l, "-- BEGIN PROG LOAD LOG --")
		print substr(l, 1, p - 1) "-- verifier log, last 400 characters:"
		print "  ..." substr(l, length(l) > 400 ? length(l) - 399 : 1)
		next
	}
	/-- BEGIN PROG LOAD LOG --/ { inlog = 1; n = 0; print; next }
	/-- END PROG LOAD LOG --/ {
		for (i = (n > 8 ? n - 8 : 0); i < n; i++) print buf[i]
		inlog = 0; next
	}
	inlog { buf[n++] = $0; next }
	/libbpf: .*relo #[0-9]+: <[a-z_]+>/ && !/candidate/ { spec = $0 }
	/no matching targets/ && spec != "" { print spec }
	/level=(error|warn)/ { print; next }
	/libbpf:/ && /failed|error|unknown|invalid|not found|not supported|no matching|substituting/ { print }
	' "$1" | head -60
}

# nobtf_cell DIR: did the agent, started with the kernel's BTF hidden, end
# with a nonzero exit and exactly one error line? "ok ..." or "FAIL ...".
nobtf_cell() {
	local rc=x n=x
	[[ -f "$1/nobtf.status" ]] && read -r rc n <"$1/nobtf.status"
	if [[ "$rc" =~ ^[0-9]+$ && $rc -ne 0 && $rc -ne 124 && $rc -ne 137 && "$n" == 1 ]]; then
		echo "ok (exit $rc, 1 error)"
	else
		echo "FAIL (exit $rc, $n errors)"
	fi
}

# details SUITE DIR: what a reader needs when something failed there.
details() {
	local suite=$1 dir=$2 s status rel l why
	local -a lines=()
	rel=$(cat "$dir/kernel" 2>/dev/null || echo 0.0)
	for s in host netns; do
		status="no result"
		[[ -f "$dir/agent-$s.status" ]] && read -r status _ <"$dir/agent-$s.status"
		if [[ "$status" == started ]]; then
			# Started, but maybe with a probe family switched off.
			grep -q 'level=warn.*\(failed\|disabled\)' "$dir/agent-$s.log" 2>/dev/null || continue
			lines+=("agent, scope $s: started, with a part switched off (log_level: debug):")
		else
			lines+=("agent, scope $s: $status; its error lines (log_level: debug):")
		fi
		# A loaded program's unmatched relocations were dead branches.
		[[ -f "$dir/agent-$s.log" ]] &&
			mapfile -t -O "${#lines[@]}" lines < <(error_lines "$dir/agent-$s.log" |
				if [[ "$status" == started ]]; then grep -v 'relo #'; else cat; fi | sed 's/^/    /')
	done
	if grep -q ': FAIL' "$dir/loadcheck.txt" 2>/dev/null; then
		lines+=("programs the kernel refuses (each loaded alone by loadcheck):")
		while IFS= read -r l; do
			if [[ "$l" =~ ^[a-z]+\ ([a-z_0-9]+):\ FAIL ]]; then
				why=$(expected_refusal "$rel" "${BASH_REMATCH[1]}")
				[[ -n "$why" ]] && why="expected: $why" || why="NEEDS A FALLBACK"
				lines+=("    $l  [$why]")
			elif [[ "$l" == "  |"* ]]; then
				lines+=("    $l")
			fi
		done <"$dir/loadcheck.txt"
	fi
	if [[ -f "$dir/nobtf.status" ]] && ! [[ "$(nobtf_cell "$dir")" == ok* ]]; then
		lines+=("agent without BTF: status $(cat "$dir/nobtf.status"), its log:")
		mapfile -t -O "${#lines[@]}" lines < <(head -20 "$dir/nobtf.log" | sed 's/^/    /')
	fi
	if grep -q FAILED "$dir/modules.txt" 2>/dev/null; then
		lines+=("modules: $(grep FAILED "$dir/modules.txt" | tr '\n' ' ')")
	fi
	for s in $KT_SCENARIOS; do
		[[ -f "$dir/$s.log" ]] || continue
		if grep -q '^FAIL - ' "$dir/$s.log"; then
			lines+=("$s: failed checks:")
			# Each failed check, then the "# " lines the scenario logged
			# right after it (what it saw instead), at most 8.
			while IFS= read -r l; do
				if [[ $l == "# "* ]]; then
					lines+=("      | ${l#\# }")
					continue
				fi
				why=$(expected_check_failure "$dir" "$l")
				lines+=("    $l${why:+  [expected: $why]}")
			done < <(awk '/^FAIL - / { print; n = 8; next }
				n > 0 && /^# / { print; n--; next } { n = 0 }' "$dir/$s.log")
		fi
	done
	if [[ ${#lines[@]} -gt 0 ]]; then
		DETAILS+=("== $suite ($(cat "$dir/kernel" 2>/dev/null || echo '?'))")
		DETAILS+=("${lines[@]}")
	fi
}

report() {
	local suite dir rel agent hooks row s cell status boot_rc f v
	local -a rows=()
	row="suite|kernel|agent (scope host, netns)|guest"
	for s in $KT_SCENARIOS; do row+="|t_$s.sh"; done
	rows+=("$row|no BTF|hooks off (from the feature lines)")
	mapfile -t FEATURES < <(cat "$OUT"/*/agent-host.log 2>/dev/null |
		sed -n 's/.*level=info feature \([a-z0-9_]*\): .*/\1/p' | awk '!seen[$0]++')
	OFF_EVERYWHERE=()
	for f in "${FEATURES[@]}"; do
		v=off
		for suite in "${SUITES[@]}" host; do
			[[ -d "$OUT/$suite" ]] || continue
			[[ "$(feature_of "$OUT/$suite" "$f")" == off ]] || v=on
		done
		[[ $v == off ]] && OFF_EVERYWHERE+=("$f")
	done
	for suite in "${SUITES[@]}" host; do
		dir=$OUT/$suite
		[[ -d "$dir" ]] || continue
		rel=$(cat "$dir/kernel" 2>/dev/null || cat "$KERNEL_CACHE/$suite/ready" 2>/dev/null || echo '?')
		boot_rc='?' agent=""
		[[ -f "$dir/boot.rc" ]] && read -r boot_rc _ <"$dir/boot.rc"
		for s in host netns; do
			status="no result"
			[[ -f "$dir/agent-$s.status" ]] && read -r status _ <"$dir/agent-$s.status"
			if [[ "$status" == started ]]; then
				agent+="${agent:+, }$s ok"
			else
				agent+="${agent:+, }$s FAILED"
				TOTAL_FAIL=$((TOTAL_FAIL + 1))
			fi
		done

		hooks=$(hooks_cell "$dir" "$rel")
		# A hook off where it should be on is a failure of its own.
		TOTAL_FAIL=$((TOTAL_FAIL + $(grep -o UNEXPECTED <<<"$hooks" | wc -l || true)))
		row="$suite|$rel|$agent"
		if [[ "$suite" == host ]]; then
			row+="|host"
			for s in $KT_SCENARIOS; do row+="|(make test)"; done
		else
			if [[ -f "$dir/done" && -f "$dir/retried" ]]; then
				row+="|finished at the 2nd boot (1st: $(cat "$dir/retried"))"
			elif [[ -f "$dir/done" ]]; then
				row+="|finished"
			else
				row+="|DID NOT FINISH (qemu rc $boot_rc, $dir/console.log)"
				TOTAL_FAIL=$((TOTAL_FAIL + 1))
			fi
			for s in $KT_SCENARIOS; do
				cell=$(scenario_cell "$dir" "$s")
				count_scenario "$dir" "$s"
				row+="|$cell"
			done
		fi
		cell=$(nobtf_cell "$dir")
		[[ "$cell" == FAIL* ]] && TOTAL_FAIL=$((TOTAL_FAIL + 1))
		row+="|$cell|$hooks"
		rows+=("$row")
		details "$suite" "$dir"
	done
	echo
	echo "== kernel matrix"
	printf '%s\n' "${rows[@]}" | column -t -s '|'
	echo
	echo "== hooks (agent's feature lines; - = no line)"
	{
		printf 'feature'
		for suite in "${SUITES[@]}" host; do
			[[ -d "$OUT/$suite" ]] && printf '|%s' "$(cat "$OUT/$suite/kernel" 2>/dev/null || echo "$suite")"
		done
		echo
		for f in "${FEATURES[@]}"; do
			printf '%s' "$f"
			for suite in "${SUITES[@]}" host; do
				dir=$OUT/$suite
				[[ -d "$dir" ]] || continue
				printf '|%s' "$(feature_of "$dir" "$f")"
			done
			echo
		done
	} | column -t -s '|'
	if [[ ${#OFF_EVERYWHERE[@]} -gt 0 ]]; then
		echo "off on every kernel, the host's too (not used by this build): ${OFF_EVERYWHERE[*]}"
	fi
	if [[ ${#DETAILS[@]} -gt 0 ]]; then
		echo
		echo "== details: failures, and expected refusals with their log lines"
		printf '%s\n' "${DETAILS[@]}"
	fi
	echo
}

main() {
	local s
	if ((REPORT_ONLY)); then
		report
		summary
		[[ $TOTAL_FAIL -eq 0 ]]
		return
	fi
	START=$SECONDS
	[[ $EUID -eq 0 ]] || die "needs root (qemu with 9p as root, the agent on the host)"
	# The paths go on the guest kernel's command line, split at blanks.
	[[ "$ROOT$BUILD$KERNEL_CACHE" != *[[:space:]]* ]] || die "paths with blanks are not supported"
	[[ -x "$BUILD/gespann" && -x "$BUILD/tools/trafficgen" ]] ||
		die "$BUILD/gespann or $BUILD/tools/trafficgen missing: run make all first"
	[[ -f "$BUILD/tcp.skel.h" && -f "$BUILD/udp.skel.h" && -f "$BUILD/tcp_legacy.skel.h" ]] ||
		die "$BUILD/tcp.skel.h or udp.skel.h missing (make deletes them as intermediates): run make test-kernels"
	KERNEL_CACHE=$KERNEL_CACHE timeout 900 "$ROOT/scripts/kernels/prepare.sh" "${SUITES[@]}"
	build_loadcheck
	mkdir -p "$OUT"
	for s in "${SUITES[@]}"; do
		[[ -f "$KERNEL_CACHE/$s/ready" ]] || die "$s: not prepared"
		boot "$s"
	done
	wait_for_bench
	host_row
	# In this shell, not a pipeline: report() adds up the totals.
	report >"$OUT/report.txt"
	{
		summary
		echo "matrix time: $((SECONDS - START)) s ($(date -u +%FT%TZ))"
	} >>"$OUT/report.txt"
	cat "$OUT/report.txt"
	[[ $TOTAL_FAIL -eq 0 ]]
}

summary() {
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_XFAIL expected differences"
}

main "$@"
