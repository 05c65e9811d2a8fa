# SPDX-License-Identifier: MIT
#
# rounds.sh: how bench/run.sh runs a benchmark, sourced by it (it uses
# run.sh's globals and functions): one run of an arm (run_arm), the rounds
# with the arm order rotating and void rounds redone (rounds), the
# uncounted bpf_stats and perf runs after them (stats_run, profile), and the
# records the report is built from. Kept apart from run.sh so that the
# measuring method is one short file to read.
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # globals of run.sh, set here and read there

# ==== Rounds ====

# void BENCH ARM ROUND REASON: record a void run (raw/voids.jsonl, listed
# under its benchmark in the report).
void() {
	printf '{"type":"void","bench":"%s","arm":"%s","round":%s,"reason":%s}\n' \
		"$1" "$2" "$3" "$(jstr "$4")" >>"$VOIDS"
}

# run_arm BENCH ARM ROUND WORKLOAD ARGS...: one run of the workload under ARM
# (off, tcplife, or an agent arm named in ARM_YAML); appends a run record.
# Returns 1 when the run is void (a foreign program overlapped, an arm did
# not start, the workload failed), after recording why.
run_arm() {
	local bench=$1 arm=$2 round=$3 wl=$4
	shift 4
	local pre=$RAW/pre.prom post=$RAW/post.prom ppre=$RAW/progs.pre ppost=$RAW/progs.post
	local cpu0=0 cpu1=0 run0=0 run1=0 hwm=0 rss=0 checks='{}' progs='{}' f pid
	RUN_OUT=$RAW/$bench-$arm-$round.out
	wait_quiet
	case "$arm" in
	off) ;;
	tcplife) peer_start || { void "$bench" "$arm" "$round" "tcplife did not start"; return 1; } ;;
	*) agent_start "$bench-$arm" "${ARM_YAML[$arm]:-}" || { void "$bench" "$arm" "$round" "the agent did not start"; return 1; } ;;
	esac
	f=$(foreign_progs)
	if [[ -n "$f" ]]; then
		say "foreign programs before $bench/$arm round $round: $f"
		void "$bench" "$arm" "$round" "foreign BPF programs loaded: $f"
		agent_stop
		peer_stop
		return 1
	fi
	progs_now "$ppre"
	pid=${AGENT_PID:-$PEER_PID}
	[[ -n "$AGENT_PID" ]] && { scrape "$pre" || : >"$pre"; }
	if [[ -n "$pid" ]]; then
		cpu0=$(proc_cpu_ms "$pid")
		run0=$(proc_sched_ms "$pid")
	fi
	WL_NET="" WL_PARTS="" WL_WHY=""
	"$wl" "$@"
	if [[ -n "$pid" ]]; then
		cpu1=$(proc_cpu_ms "$pid")
		run1=$(proc_sched_ms "$pid")
		hwm=$(proc_status_kb "$pid" VmHWM)
		rss=$(proc_status_kb "$pid" VmRSS)
	fi
	if [[ -n "$AGENT_PID" ]]; then
		scrape "$post" || : >"$post"
		checks=$("check_${bench%%-*}" "$pre" "$post")
	fi
	progs_now "$ppost"
	[[ -n "$OWN_IDS" ]] && progs=$($BT progdelta "$ppre" "$ppost" "$OWN_IDS")
	f=$(foreign_progs)
	agent_stop
	peer_stop
	if [[ -n "$f" ]]; then
		say "foreign programs appeared during $bench/$arm round $round: $f"
		void "$bench" "$arm" "$round" "foreign BPF programs appeared: $f"
		return 1
	fi
	if [[ "$WL_OK" != 1 ]]; then
		warn "$bench/$arm round $round: workload failed: ${WL_WHY:-$(tail -2 "$RUN_OUT" | tr '\n' ' ')}"
		void "$bench" "$arm" "$round" "${WL_WHY:-workload failed}"
		return 1
	fi
	printf '{"type":"run","bench":"%s","arm":"%s","round":%s,"value":%s,"work":%s,"elapsed_s":%s,"bg_busy":%s' \
		"$bench" "$arm" "$round" "$WL_VALUE" "$WL_WORK" "$WL_ELAPSED" "$BG_BUSY" >>"$RESULTS"
	[[ -n "$WL_NET" ]] && printf ',"net":%s' "$WL_NET" >>"$RESULTS"
	[[ -n "$WL_PARTS" ]] && printf ',"parts":%s' "$WL_PARTS" >>"$RESULTS"
	if [[ "$arm" != off ]]; then
		printf ',"cpu_ms":%s,"sched_ms":%s,"hwm_kb":%s,"rss_kb":%s,"checks":%s,"progs":%s' \
			"$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" \
			"$(awk -v a="$run0" -v b="$run1" 'BEGIN { print b - a }')" "${hwm:-0}" "${rss:-0}" \
			"$checks" "$progs" >>"$RESULTS"
	fi
	echo "}" >>"$RESULTS"
	printf '#   %-10s %-10s round %s: %-12s (machine %s%% busy before)\n' "$bench" "$arm" "$round" "$WL_VALUE" "$BG_BUSY"
}

# rotate N WORD...: the words rotated left by N (round r runs the arms
# starting from the (r-1)-th, so that no arm always runs first or after the
# same one: with TIME_WAIT kept, a run inherits its predecessor's sockets).
rotate() {
	local n=$1
	shift
	local w=("$@")
	local k=${#w[@]}
	n=$((n % k))
	echo "${w[@]:n}" "${w[@]:0:n}"
}

# rounds BENCH "ARM ARM ..." WORKLOAD ARGS...: PAIRS rounds of every arm, the
# order rotating. A void round is redone, at most PAIRS extra times; a round
# that has to wait for foreign programs waits up to WAIT_S.
rounds() {
	local bench=$1 arms=$2 wl=$3
	shift 3
	local done_r=0 tries=0 arm ok mark
	while ((done_r < PAIRS && tries < 2 * PAIRS)); do
		tries=$((tries + 1))
		wait_clean || {
			NOTES+=("$bench: gave up after ${WAIT_S}s waiting for foreign BPF programs ($done_r of $PAIRS rounds done)")
			return 1
		}
		ok=1
		mark=$(wc -l <"$RESULTS")
		# shellcheck disable=SC2086 # the arms are words
		for arm in $(rotate "$done_r" $arms); do
			if ! run_arm "$bench" "$arm" $((done_r + 1)) "$wl" "$@"; then
				ok=0
				break
			fi
		done
		if ((ok)); then
			done_r=$((done_r + 1))
		else
			# throw the partial round away
			head -n "$mark" "$RESULTS" >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
			say "$bench: round voided, redoing it"
		fi
	done
	((done_r == PAIRS)) || NOTES+=("$bench: only $done_r of $PAIRS rounds completed")
	return 0
}

# stats_run BENCH "ARM ..." WORKLOAD ARGS...: with BENCH_BPF_STATS=0, one
# more run of each armed arm with kernel.bpf_stats_enabled=1 between two
# `bpftool prog show` snapshots, not counted in the ratios: the per-program
# kernel costs (a statsrun record).
stats_run() {
	local bench=$1 arms=$2 wl=$3 arm ppre=$RAW/progs.spre ppost=$RAW/progs.spost progs
	shift 3
	[[ "$BPF_STATS" == 0 ]] || return 0
	for arm in $arms; do
		[[ "$arm" == off ]] && continue
		wait_clean || return 0
		wait_quiet
		case "$arm" in
		tcplife) peer_start || continue ;;
		*) agent_start "$bench-$arm-stats" "${ARM_YAML[$arm]:-}" || continue ;;
		esac
		RUN_OUT=$RAW/$bench-$arm-stats.out
		stats_set 1
		progs_now "$ppre"
		WL_NET="" WL_PARTS="" WL_WHY=""
		"$wl" "$@"
		progs_now "$ppost"
		stats_set 0
		progs=$($BT progdelta "$ppre" "$ppost" "$OWN_IDS")
		agent_stop
		peer_stop
		printf '{"type":"statsrun","bench":"%s","arm":"%s","value":%s,"work":%s,"elapsed_s":%s,"ok":%s,"progs":%s}\n' \
			"$bench" "$arm" "$WL_VALUE" "$WL_WORK" "$WL_ELAPSED" "$([[ "$WL_OK" == 1 ]] && echo true || echo false)" \
			"$progs" >>"$RESULTS"
		say "bpf_stats run $bench/$arm ($WL_VALUE, not counted): per-program costs"
	done
}

# measure BENCH "ARM ..." WORKLOAD ARGS...: the rounds, then the uncounted
# bpf_stats and perf runs.
measure() {
	rounds "$@"
	stats_run "$@"
	profile "$@"
}

# profile BENCH "ARM ..." WORKLOAD ARGS...: with BENCH_PERF=1, one more run of
# each arm under perf record (cpu-clock samples, all CPUs), summarised by
# symbol into raw/perf-BENCH-ARM.txt. Not part of the results.
profile() {
	local bench=$1 arms=$2 wl=$3 arm data
	shift 3
	[[ "$PERF" == 1 ]] && command -v perf >/dev/null || return 0
	for arm in $arms; do
		wait_clean || return 0
		wait_quiet
		case "$arm" in
		off) ;;
		tcplife) peer_start || continue ;;
		*) agent_start "$bench-$arm-perf" "${ARM_YAML[$arm]}" || continue ;;
		esac
		data=$RAW/perf-$bench-$arm.data
		RUN_OUT=$RAW/$bench-$arm-perf.out
		perf record -q -a -F 1999 -e cpu-clock -o "$data" -- sleep $((DUR + 1)) >/dev/null 2>&1 &
		local ppid=$!
		sleep 0.5
		"$wl" "$@"
		wait "$ppid" 2>/dev/null
		agent_stop
		peer_stop
		perf report -q -i "$data" --no-children --sort sym --stdio 2>/dev/null |
			grep -v '^$' >"$RAW/perf-$bench-$arm.txt"
		rm -f "$data"
		say "profile $bench/$arm ($WL_VALUE): top symbols in raw/perf-$bench-$arm.txt"
	done
}

# bench_record JSON-FIELDS: describe a benchmark for the report (with the
# load average when it starts, which includes the previous benchmark's tail).
bench_record() {
	echo "{\"type\":\"bench\",\"load\":\"$(load1)\",$1}" >>"$RESULTS"
}

over_budget() {
	if (($(elapsed_s) > BUDGET_S)); then
		echo "{\"type\":\"skipped\",\"bench\":\"$1\",\"reason\":\"time budget of ${BUDGET_S}s used up\"}" >>"$RESULTS"
		NOTES+=("$1 skipped: time budget of ${BUDGET_S}s used up")
		return 0
	fi
	return 1
}
