#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh: side-by-side benchmarks of Gespann (`make bench`). Each benchmark runs
# the same workload with the agent off and on in rounds: a round runs every arm
# once, the order rotating from round to round (off, on, peer; on, peer, off;
# ...). The report gives each arm's median, the ratio of medians against a
# target and, next to it, the lowest and highest per-round ratio (the arm's run
# over the off run of the same round): the spread of the ratio. Also the
# agent's own CPU time and peak RSS, and the kernel-side cost per event of
# every program. The counted runs run with kernel.bpf_stats_enabled=0 (its two
# clock reads per program run would be part of the ratio); the per-program
# costs come from one extra, uncounted run per armed arm with the stats on.
# All traffic stays on loopback or on the namespace pair this script creates
# (tests/lib/netns.sh); the agent is scoped to the client namespace and serves
# /metrics on 127.0.0.1 in the root namespace.
#
#   1 storm  short TCP connections (connect, 4 bytes each way, close), 2 and 4
#            threads, client -> server namespace; tcplife as a peer arm.
#            TIME_WAIT is kept (tcp_tw_reuse=1 and ports 1024-65535 in the
#            client namespace keep the rate stable); one uncounted warm-up
#            run fills the TIME_WAIT pool first; a run with a failed connect
#            is void (recorded) and its round redone
#   2 bulk   iperf3 over loopback inside the client namespace
#   3 http   wrk against nginx over loopback inside the client namespace
#   4 scale  100k established connections held: RSS, map memory, scrape time
#   5 udp    a datagram flood from 5000 source ports over loopback; a second
#            arm with max_udp_flows: 1024 checks the flow table at its bound
#   6 netns  scope host, idle, with the machine's namespaces and with
#            BENCH_NETNS more: the agent's own CPU (the TIME_WAIT census)
#   7 mixed  HTTP keep-alive, the storm (2 threads) and the UDP flood at the
#            same time, agent off and on: the ratio of each one's throughput
#   peers    which bcc libbpf-tools start on this kernel
#
# Settings (environment):
#   BENCH_PAIRS=7       rounds per benchmark (BENCH_QUICK: 3)
#   BENCH_DURATION=5    seconds per storm, bulk, http and mixed run (BENCH_QUICK: 2)
#   BENCH_QUICK=1       a smoke run: 3 rounds, 2 s runs, 20k connections
#   BENCH_ONLY=a,b      run only these (storm,bulk,http,scale,udp,netns,mixed,peers;
#                       all by default)
#   BENCH_FEATURES=SPEC,...  the storm and http benchmarks run one more arm per
#                       SPEC, the agent with optional features on: "all" (every
#                       optional feature), "none" (every switchable one off), or
#                       feature names joined by "+" (benchtool.py features-list;
#                       the table is FEATURES in bench/benchtool.py). The arm is
#                       named feat-SPEC; its config is raw/agent-BENCH-ARM.yaml
#   BENCH_NETNS=100     extra network namespaces for the netns benchmark
#   BENCH_SCALE_CONNS   connections held by the scale benchmark (100000; quick 20000)
#   BENCH_UDP_DATAGRAMS datagrams per UDP run (600000; quick 200000)
#   BENCH_WAIT_S=600    how long to wait for foreign BPF programs to go away
#   BENCH_MAX_BUSY=10   before each run, the machine must be quiet: at most this
#                       percentage of all CPUs busy while the suite itself idles
#                       (other people's builds, tests, VMs); the suite waits for
#                       that, up to BENCH_WAIT_S in total, then goes on and says so
#   BENCH_BUDGET_S=2700 benchmarks that would start after this are skipped
#   BENCH_BPF_STATS=0   1: kernel.bpf_stats_enabled on during every run, the
#                       per-program costs summed over the counted runs (the old
#                       method: the stats' clock reads then weigh on the ratios)
#   BENCH_PERF=1        after each benchmark's rounds, one extra run per arm under
#                       `perf record -a` (not counted): raw/perf-BENCH-ARM.txt
#                       lists where the CPU time went
#   BENCH_OUT=DIR       where results.md and raw/ go (build/bench)
#   BENCH_ALLOW_PROGS   extended regex of program names that may stay attached
#                       (default: systemd's sd_* programs); cgroup_device
#                       programs are always allowed
#
# A program left attached by anything taxes every measurement, so the suite
# lists `bpftool prog show` first and waits while programs it does not expect
# are loaded (another agent, a tracer, an end-to-end test), before every run
# too; a round that a foreign program overlapped is thrown away and redone.
# So is a round with a failed workload run (a failed connect, a wrk socket
# error, a datagram not sent): raw/voids.jsonl and the report list them.
#
# Output: tables on stdout, the same as markdown in build/bench/results.md,
# raw data (results.jsonl, generator JSON, agent logs and configs) in
# build/bench/raw/.
# Exit 0 when every benchmark ran (targets missed or not), 1 when the suite
# could not run (foreign programs stayed, setup failed).
# shellcheck disable=SC2317  # cleanup and the wait_until predicates are called indirectly
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"

QUICK=${BENCH_QUICK:-0}
if [[ "$QUICK" == 1 ]]; then
	PAIRS=${BENCH_PAIRS:-3}
	DUR=${BENCH_DURATION:-2}
	SCALE_CONNS=${BENCH_SCALE_CONNS:-20000}
	UDP_DGRAMS=${BENCH_UDP_DATAGRAMS:-200000}
else
	PAIRS=${BENCH_PAIRS:-7}
	DUR=${BENCH_DURATION:-5}
	SCALE_CONNS=${BENCH_SCALE_CONNS:-100000}
	UDP_DGRAMS=${BENCH_UDP_DATAGRAMS:-600000}
fi
ONLY=${BENCH_ONLY:-storm,bulk,http,scale,udp,netns,mixed,peers}
FEATURES=${BENCH_FEATURES:-}
NETNS_N=${BENCH_NETNS:-100}
WAIT_S=${BENCH_WAIT_S:-600}
MAX_BUSY=${BENCH_MAX_BUSY:-10}
BUDGET_S=${BENCH_BUDGET_S:-2700}
ALLOW_PROGS=${BENCH_ALLOW_PROGS:-^sd_}
BPF_STATS=${BENCH_BPF_STATS:-0}
PERF=${BENCH_PERF:-0}
UDP_SOCKETS=5000
SCALE_SOURCES=10 # 198.18.0.10-19 on the client side

GS_BIN=${GS_BIN:-$ROOT/build/gespann}
TOOLS=$ROOT/build/tools
TRAFFICGEN=$TOOLS/trafficgen
BT="python3 $ROOT/bench/benchtool.py"
OUT=${BENCH_OUT:-$ROOT/build/bench}
RAW=$OUT/raw
RESULTS=$RAW/results.jsonl
VOIDS=$RAW/voids.jsonl # void runs: kept apart, a voided round is cut from RESULTS
NCPU=$(nproc)

STORM_PORT=9100
IPERF_PORT=9201
HTTP_PORT=9280
SCALE_PORT=9300
UDP_PORT=9400

T_START=$(date +%s)
NOTES=()

say() { printf '# %s\n' "$*"; }
warn() { printf '# WARNING: %s\n' "$*"; }
die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}
has() { [[ ",$ONLY," == *",$1,"* ]]; }
# jstr STRING: a JSON string literal.
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
jget() { $BT jget "$1" "$2"; }
median_file() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
elapsed_s() { echo $(($(date +%s) - T_START)); }

# ==== Preflight ====

[[ $EUID -eq 0 ]] || die "needs root (BPF, namespaces)"
for f in "$GS_BIN" "$TRAFFICGEN" "$TOOLS/connhold" "$TOOLS/udpflood"; do
	[[ -x "$f" ]] || die "$f missing: run make all (make bench does)"
done
for c in bpftool curl python3 ip; do
	command -v "$c" >/dev/null || die "$c not found (scripts/install-deps.sh)"
done
"$ROOT/bench/deps.sh" || die "benchmark dependencies missing (bench/deps.sh)"
rm -rf "$RAW"
mkdir -p "$RAW"
: >"$RESULTS"
: >"$VOIDS"
# Every arm runs this copy: build/gespann may be rebuilt while the suite runs.
cp "$GS_BIN" "$RAW/gespann" || die "cannot copy $GS_BIN"
GS_BIN=$RAW/gespann
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]] && COMMIT="$COMMIT+dirty src"

# The agent arms' configs (lines added to the base config agent_start writes)
# and what each turns on; the feature arms' are checked before anything starts.
declare -A ARM_YAML=() ARM_WHAT=()
FEAT_ARMS=""
for spec in ${FEATURES//,/ }; do
	arm=feat-$spec
	ARM_YAML[$arm]=$($BT features "$spec") || die "BENCH_FEATURES: bad spec '$spec'"
	ARM_WHAT[$arm]=$($BT features-doc "$spec")
	printf 'scope: netns\n%s\n' "${ARM_YAML[$arm]}" >"$RAW/check-$arm.yaml"
	err=$("$GS_BIN" -check-config "$RAW/check-$arm.yaml" 2>&1) ||
		die "BENCH_FEATURES=$spec: the agent refuses its config: $(tail -1 <<<"$err")"
	FEAT_ARMS+=" $arm"
done

# ==== BPF program guard ====

# progs_now FILE: every loaded program as benchtool `progs` TSV.
progs_now() {
	bpftool prog show -j 2>/dev/null | $BT progs >"$1"
}

# Programs present before we start anything that are allowed to stay.
OWN_IDS="" # programs of the arm (agent or peer) running now

# foreign_progs: "id:type:name" of each loaded program that is not ours and
# not allowed; empty when the machine is clean.
foreign_progs() {
	local f=$RAW/progs.guard id type name rest
	progs_now "$f"
	while IFS=$'\t' read -r id type name rest; do
		[[ "$type" == cgroup_device ]] && continue
		[[ -n "$ALLOW_PROGS" && "$name" =~ $ALLOW_PROGS ]] && continue
		[[ ",$OWN_IDS," == *",$id,"* ]] && continue
		printf '%s:%s:%s ' "$id" "$type" "$name"
	done <"$f"
}

# wait_clean: wait until no foreign program is loaded, up to WAIT_S. 0 when
# clean, 1 when it gave up. Prints what it waits for, once.
GUARD_WAITED=0
wait_clean() {
	local deadline=$(($(date +%s) + WAIT_S)) f shown=""
	while :; do
		f=$(foreign_progs)
		[[ -z "$f" ]] && return 0
		if [[ "$f" != "$shown" ]]; then
			say "waiting for foreign BPF programs to go away (up to ${WAIT_S}s): $f"
			shown=$f
		fi
		GUARD_WAITED=1
		(($(date +%s) < deadline)) || return 1
		sleep 5
	done
}

# ==== Quiet machine ====

# cpu_busy_pct SECONDS: share of all CPUs busy (not idle, not iowait) over
# SECONDS, in percent.
cpu_busy_pct() {
	local a b
	a=$(head -1 /proc/stat)
	sleep "$1"
	b=$(head -1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		n = split(a, x); split(b, y); tot = 0
		for (i = 2; i <= n; i++) tot += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6])
		printf "%.0f\n", (tot > 0) ? 100 * (tot - idle) / tot : 0 }'
}

# wait_quiet: sample the machine while the suite idles; when it is busier than
# MAX_BUSY, wait (1 s samples) while the suite's waiting budget (WAIT_S in
# total) lasts. Sets BG_BUSY to the last sample. 0 when quiet, 1 when it goes
# on busy.
QUIET_WAITED=0
BUSY_NOTED=0
wait_quiet() {
	local shown=0
	BG_BUSY=$(cpu_busy_pct 0.5)
	while ((BG_BUSY > MAX_BUSY && QUIET_WAITED < WAIT_S)); do
		((shown)) || say "machine busy (${BG_BUSY}% of the CPUs while the suite idles): waiting ($((WAIT_S - QUIET_WAITED))s of waiting left)"
		shown=1
		BG_BUSY=$(cpu_busy_pct 1)
		QUIET_WAITED=$((QUIET_WAITED + 1))
	done
	((BG_BUSY <= MAX_BUSY)) && return 0
	if ((!BUSY_NOTED)); then
		NOTES+=("the machine stayed busy with other work after ${WAIT_S}s of waiting in total; later runs went ahead regardless (column 'busy before')")
		BUSY_NOTED=1
	fi
	return 1
}

# ==== Cleanup ====

AGENT_PID=
PEER_PID=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
TRACEFS_MOUNTED=0 # mounted by this script (unmounted at exit)
TRACEFS_ORIG=0
[[ -d /sys/kernel/tracing/events ]] && TRACEFS_ORIG=1
HOLD_FIFO=$RAW/hold.fifo
declare -a BG_PIDS=()

cleanup() {
	[[ -n "$AGENT_PID" ]] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[[ -n "$PEER_PID" ]] && kill -INT "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	[[ -f "$RAW/nginx.pid" ]] && kill -TERM "$(cat "$RAW/nginx.pid")" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" >/dev/null 2>&1
	((TRACEFS_MOUNTED)) && umount /sys/kernel/tracing 2>/dev/null
	rm -f "$HOLD_FIFO"
	netns_bench_del
	return 0
}
trap cleanup EXIT

# stats_set 0|1: kernel.bpf_stats_enabled (restored at exit).
stats_set() {
	sysctl -qw kernel.bpf_stats_enabled="$1" >/dev/null || die "cannot set kernel.bpf_stats_enabled=$1"
}

# The netns benchmark's empty namespaces (gspb-ns-N).
netns_bench_del() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^gspb-ns-/ { print $1 }'); do
		ip netns del "$ns" 2>/dev/null
	done
}

# ==== Agent and peer arms ====

AGENT_PORT=
AGENT_LOG=
AGENT_SEQ=0

# own_ids PID: the ids of the programs PID holds (prog_id in its fds'
# fdinfo, links included), as a comma list. By pid, not "new since before":
# a program another tool loads meanwhile is not taken for ours.
own_ids() {
	local f k v
	for f in /proc/"$1"/fdinfo/*; do
		while read -r k v; do
			[[ "$k" == prog_id: ]] && echo "$v"
		done 2>/dev/null <"$f"
	done | sort -un | tr '\n' ','
}

# agent_start NAME EXTRA_YAML: the agent scoped to the client namespace (or
# to $AGENT_SCOPE),
# /metrics on 127.0.0.1 (ephemeral port read back from its log).
agent_start() {
	local name=$1 extra=$2 cfg=$RAW/agent-$1.yaml
	AGENT_SEQ=$((AGENT_SEQ + 1))
	AGENT_LOG=$RAW/agent-$name-$AGENT_SEQ.log # one per start: "running" must be this one's
	{
		echo "log_level: info"
		echo "scope: ${AGENT_SCOPE:-/var/run/netns/$NS_CLI}"
		[[ -n "$extra" ]] && printf '%s\n' "$extra"
		echo "adapters:"
		echo "  - type: prometheus"
		echo "    settings:"
		echo "      address: 127.0.0.1"
		echo "      port: 0"
	} >"$cfg"
	"$GS_BIN" -config "$cfg" 2>"$AGENT_LOG" &
	AGENT_PID=$!
	if ! wait_until 15 grep -q 'level=info running' "$AGENT_LOG"; then
		warn "agent did not start: $(tail -3 "$AGENT_LOG")"
		kill -KILL "$AGENT_PID" 2>/dev/null
		AGENT_PID=
		return 1
	fi
	AGENT_PORT=$(sed -n 's/.*prometheus exporter listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$AGENT_LOG" | tail -1)
	OWN_IDS=$(own_ids "$AGENT_PID")
	sleep 0.3
}

# ids_gone IDS: none of the program ids in the comma list is loaded any more
# (programs are freed shortly after their last holder exits).
ids_gone() {
	local f=$RAW/progs.gone
	progs_now "$f"
	! awk -F'\t' -v ids=",$1," 'index(ids, "," $1 ",") { found = 1 } END { exit !found }' "$f"
}

agent_stop() {
	local pid=$AGENT_PID
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_until 5 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[[ -n "$OWN_IDS" ]] && { wait_until 5 ids_gone "$OWN_IDS" || warn "agent programs still loaded 5 s after exit"; }
	AGENT_PID=
	OWN_IDS=
}

scrape() {
	curl -sf --max-time 5 "http://127.0.0.1:$AGENT_PORT/metrics" >"$1"
}

# metric SERIES FILE: one series' value, 0 when absent.
metric() {
	awk -v s="$1" '$1 == s { v = $2 } END { printf "%.0f\n", (v == "" ? 0 : v) }' "$2"
}

# /proc/PID/stat utime+stime in ms.
proc_cpu_ms() {
	local tck
	tck=$(getconf CLK_TCK)
	awk -v t="$tck" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# /proc/PID/schedstat run time in ms (ns resolution; 0 when absent).
proc_sched_ms() {
	awk '{ printf "%.3f\n", $1 / 1e6 }' "/proc/$1/schedstat" 2>/dev/null || echo 0
}

proc_status_kb() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# prog_loaded NAME PID: PID holds a loaded program of that name.
prog_loaded() {
	local f=$RAW/progs.named
	progs_now "$f"
	awk -F'\t' -v n="$1" -v ids=",$(own_ids "$2")" '$3 == n && index(ids, "," $1 ",") { found = 1 } END { exit !found }' "$f"
}

# tcplife, bcc's libbpf tool, output discarded. Needs tracefs for the
# tracepoint's id: mounted here if absent, unmounted at exit.
peer_start() {
	if [[ ! -d /sys/kernel/tracing/events ]]; then
		mkdir -p /sys/kernel/tracing
		mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && TRACEFS_MOUNTED=1
	fi
	/usr/sbin/tcplife >/dev/null 2>>"$RAW/tcplife.err" &
	PEER_PID=$!
	wait_until 10 prog_loaded inet_sock_set_state "$PEER_PID" ||
		{
			warn "tcplife did not start: $(tail -1 "$RAW/tcplife.err")"
			kill -INT "$PEER_PID" 2>/dev/null
			wait "$PEER_PID" 2>/dev/null
			PEER_PID=
			return 1
		}
	OWN_IDS=$(own_ids "$PEER_PID")
	sleep 0.3
}

peer_stop() {
	[[ -n "$PEER_PID" ]] || return 0
	kill -INT "$PEER_PID" 2>/dev/null
	wait_until 5 bash -c "! kill -0 $PEER_PID 2>/dev/null" || kill -KILL "$PEER_PID" 2>/dev/null
	wait "$PEER_PID" 2>/dev/null
	[[ -n "$OWN_IDS" ]] && { wait_until 5 ids_gone "$OWN_IDS" || warn "tcplife programs still loaded 5 s after exit"; }
	PEER_PID=
	OWN_IDS=
}

# ==== Workloads, checks and rounds ====

# shellcheck source=bench/workloads.sh
source "$ROOT/bench/workloads.sh"
# shellcheck source=bench/rounds.sh
source "$ROOT/bench/rounds.sh"

# ==== Setup ====

say "gespann benchmarks: pairs=$PAIRS duration=${DUR}s only=$ONLY quick=$QUICK"
say "bpftool prog show, before anything starts:"
bpftool prog show 2>&1 | sed 's/^/#   /'
if ! wait_clean; then
	say "gave up: foreign BPF programs still loaded after ${WAIT_S}s: $(foreign_progs)"
	echo "{\"type\":\"meta\",\"notes\":[\"suite not run: foreign BPF programs stayed loaded for ${WAIT_S}s: $(foreign_progs)\"]}" >>"$RESULTS"
	$BT report "$RESULTS" "$OUT/results.md" >/dev/null
	exit 1
fi
((GUARD_WAITED)) && NOTES+=("the suite waited for foreign BPF programs before it started")

LOAD_START=$(load1)
wait_quiet
say "load average $LOAD_START; the machine is ${BG_BUSY}% busy while the suite idles"

# Counted runs: the stats on throughout (BENCH_BPF_STATS=1) or off, whatever
# the machine had (restored at exit).
stats_set "$BPF_STATS"
((STATS_WAS == 1 && BPF_STATS == 0)) && NOTES+=("kernel.bpf_stats_enabled was 1 when the suite started: it was off during the counted runs and is restored at exit")

netns_setup gsp-bench || die "namespace setup failed"
# TIME_WAIT stays: it is a state every real connection goes through, and the
# agent's programs see it. The storm opens 15-25k connections a second and
# both ends may close first (the server's close races the client's), so
# TIME_WAIT sockets pile up in both namespaces. With tcp_tw_reuse=1 (2, the
# default, reuses on loopback only; this is a veth) connect() takes over a
# client port whose TIME_WAIT socket is older than tcp_tw_reuse_delay (1 s),
# and a SYN reopens a server-side one, so with 64k client ports the pool
# levels off at about one socket per port and the rate stays stable from
# run to run instead of collapsing as the port search meets older ones. The
# storm records the pool (sockstat tw), connect()'s reuses (TWRecycled) and
# tcp_max_tw_buckets overflows (TCPTimeWaitOverflow) of every run; a run
# with a failed connect (ports running out: EADDRNOTAVAIL) is void.
netns_cli sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 >/dev/null ||
	die "cannot set ip_local_port_range and tcp_tw_reuse in the client namespace"
netns_srv sysctl -qw net.ipv4.tcp_tw_reuse=1 >/dev/null
netns_srv sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 >/dev/null
netns_cli sysctl -qw net.core.somaxconn=65535 >/dev/null
for i in $(seq 10 $((10 + SCALE_SOURCES - 1))); do
	ip -n "$NS_CLI" addr add "198.18.0.$i/24" dev "$IF_CLI" || die "adding 198.18.0.$i failed"
done

# ==== Servers and arms shared by the storm, http and mixed benchmarks ====

# ensure_storm_server: the storm's echo4 server in the server namespace,
# started once and kept until the end.
STORM_SERVER=0
ensure_storm_server() {
	((STORM_SERVER)) && return 0
	ip netns exec "$NS_SRV" "$TRAFFICGEN" tcp-server --bind "$SRV4" --port "$STORM_PORT" --echo4 \
		--deadline-ms 7200000 >"$RAW/storm-server.out" 2>&1 &
	BG_PIDS+=($!)
	wait_for grep -q listening "$RAW/storm-server.out" || die "storm server did not start"
	STORM_SERVER=1
}

# storm_warmup THREADS: one uncounted storm run, so that the first counted
# run starts with the TIME_WAIT pool as full as the later ones.
storm_warmup() {
	local c s
	storm_gen "$1" "$RAW/storm-warmup-$1t.out"
	c=$(tcp_tw "$NS_CLI")
	s=$(tcp_tw "$NS_SRV")
	say "warm-up storm ($1 threads, not counted): $(jget "$RAW/storm-warmup-$1t.out" rate) conn/s; TIME_WAIT now ${c%% *} (client), ${s%% *} (server)"
}

# arm_configs BENCH "ARM ...": the "configs" field of a bench record: each
# agent arm's config file under raw/ and what it turns on.
arm_configs() {
	local bench=$1 arm sep="" out=""
	for arm in $2; do
		[[ "$arm" == off || "$arm" == tcplife ]] && continue
		out+="$sep\"$arm\":{\"file\":\"raw/agent-$bench-$arm.yaml\",\"what\":$(jstr "${ARM_WHAT[$arm]:-the defaults (scope and the Prometheus listener set)}")}"
		sep=,
	done
	echo "\"configs\":{$out}"
}

# json_list WORD...: a JSON list of strings.
json_list() {
	local w sep="" out=""
	for w in "$@"; do
		out+="$sep\"$w\""
		sep=,
	done
	echo "[$out]"
}

ARM_YAML[gespann]=""
ARM_YAML[flows1024]="max_udp_flows: 1024"
ARM_WHAT[flows1024]="max_udp_flows: 1024"

# ==== 1. Connection storm ====

if has storm && ! over_budget storm; then
	say "== connection storm"
	ensure_storm_server
	arms="off gespann$FEAT_ARMS tcplife"
	for threads in 2 4; do
		storm_warmup "$threads"
		# shellcheck disable=SC2086 # the arms are words
		bench_record "\"bench\":\"storm-${threads}t\",\"title\":\"1. Connection storm, $threads threads\",\"short\":\"Storm ${threads}t\",\"unit\":\"conn/s\",\"work_unit\":\"conn\",\"arms\":$(json_list $arms),\"targets\":{\"gespann\":0.97},\"workload\":\"trafficgen storm: $threads threads, each connection connect + 4 bytes + 4 bytes back + close, client namespace -> server namespace over the veth, ${DUR}s per run, TIME_WAIT kept (tcp_tw_reuse=1, ports 1024-65535; one uncounted warm-up run first); agent scoped to the client namespace.\",\"checks\":[{\"key\":\"no_events_lost\",\"label\":\"gespann_events_lost_total == 0\",\"bool\":true},{\"key\":\"counted\",\"label\":\"open events == generator conns\",\"bool\":true}],$STORM_NET_LABELS,$(arm_configs "storm-${threads}t" "$arms")"
		measure "storm-${threads}t" "$arms" wl_storm "$threads"
	done
fi

# ==== 2. Bulk throughput ====

if has bulk && ! over_budget bulk; then
	say "== bulk throughput"
	ip netns exec "$NS_CLI" iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$RAW/iperf3-server.out" 2>&1 &
	BG_PIDS+=($!)
	wait_for netns_cli bash -c "ss -ltn | grep -q :$IPERF_PORT" || die "iperf3 server did not start"
	bench_record "\"bench\":\"bulk\",\"title\":\"2. Bulk throughput (iperf3, loopback)\",\"short\":\"Bulk iperf3\",\"unit\":\"Gbit/s\",\"work_unit\":\"MB\",\"arms\":[\"off\",\"gespann\"],\"targets\":{\"gespann\":0.99},\"workload\":\"iperf3 -t $DUR, one TCP stream over loopback inside the client namespace, client on CPU 0 and server on CPU 1 (-A 0,1); receiver throughput.\",\"checks\":[{\"key\":\"no_events_lost\",\"label\":\"gespann_events_lost_total == 0\",\"bool\":true}]"
	measure bulk "off gespann" wl_bulk
	kill -TERM "${BG_PIDS[-1]}" 2>/dev/null
fi

# ==== 3. Request rate on kept-alive connections ====

# ensure_nginx: nginx (1 worker, access log off) serving a 612-byte file on
# 127.0.0.1 in the client namespace, started once and kept until the end.
NGINX=0
ensure_nginx() {
	((NGINX)) && return 0
	local www=$RAW/www
	mkdir -p "$www" "$RAW/nginx-tmp"
	head -c 612 /dev/zero | tr '\0' 'g' >"$www/index.html"
	cat >"$RAW/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $RAW/nginx.pid;
error_log $RAW/nginx-error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $RAW/nginx-tmp;
	proxy_temp_path $RAW/nginx-tmp;
	fastcgi_temp_path $RAW/nginx-tmp;
	uwsgi_temp_path $RAW/nginx-tmp;
	scgi_temp_path $RAW/nginx-tmp;
	server {
		listen 127.0.0.1:$HTTP_PORT;
		root $www;
	}
}
EOF
	ip netns exec "$NS_CLI" nginx -c "$RAW/nginx.conf" -p "$RAW" -e "$RAW/nginx-error.log" >"$RAW/nginx.out" 2>&1 &
	BG_PIDS+=($!)
	wait_for netns_cli curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/index.html" || die "nginx did not start: $(cat "$RAW/nginx.out")"
	NGINX=1
}

if has http && ! over_budget http; then
	say "== http keep-alive"
	ensure_nginx
	arms="off gespann$FEAT_ARMS"
	# shellcheck disable=SC2086 # the arms are words
	bench_record "\"bench\":\"http\",\"title\":\"3. Requests on kept-alive connections (wrk -> nginx, loopback)\",\"short\":\"HTTP wrk\",\"unit\":\"req/s\",\"work_unit\":\"req\",\"arms\":$(json_list $arms),\"targets\":{\"gespann\":0.99},\"workload\":\"wrk -t 2 -c 50 -d ${DUR}s against nginx (1 worker, access log off) serving a 612-byte file, over loopback inside the client namespace.\",\"checks\":[{\"key\":\"no_events_lost\",\"label\":\"gespann_events_lost_total == 0\",\"bool\":true}],$(arm_configs http "$arms")"
	measure http "$arms" wl_http
fi

# ==== 4. Scale: many established connections ====

# scrape_times N FILE: N timed scrapes; their times in ms, one per line.
scrape_times() {
	local i
	for ((i = 0; i < $1; i++)); do
		curl -s -o /dev/null --max-time 10 -w '%{time_total}\n' "http://127.0.0.1:$AGENT_PORT/metrics" |
			awk '{ printf "%.3f\n", $1 * 1000 }'
	done >"$2"
}

# refresh_live_ns PRE POST [runs]: mean run time of the agent's refresh
# program between two snapshots (only the agent's own program ids count);
# with "runs", "RUNS NS_PER_RUN". The program is refresh_batch (one run per
# slice of at most 1024 connections); refresh_live runs once, at start.
refresh_live_ns() {
	awk -F'\t' -v ids=",$OWN_IDS," -v runs="${3:-}" '!index(ids, "," $1 ",") || $3 != "refresh_batch" { next }
		FILENAME == ARGV[1] { n0 = $4; c0 = $5; next }
		{ n1 = $4; c1 = $5 }
		END { ns = (c1 > c0) ? (n1 - n0) / (c1 - c0) : 0
			if (runs != "") printf "%d %.0f\n", c1 - c0, ns; else printf "%.0f\n", ns }' "$1" "$2"
}

bench_scale() {
	local n=$SCALE_CONNS per k inst sources hard t0 t1 f idle_rss idle_hwm idle_scrape
	local rss hwm scrape_ms size tracked=0 rl_ns rl_idle cpu0 cpu1 maps mapsum conns_map
	local rows=() notes=() sc_rss sc_hwm sc_scrape
	hard=$(ulimit -Hn)
	[[ "$hard" =~ ^[0-9]+$ ]] || hard=1000000
	per=$((hard - 200))
	((per > 25000)) && per=25000
	inst=$(((n + per - 1) / per))
	per=$(((n + inst - 1) / inst)) # the last instance takes the remainder
	sources=$(seq -s, -f '198.18.0.%g' 10 $((10 + SCALE_SOURCES - 1)))
	wait_clean || {
		NOTES+=("scale: gave up waiting for foreign BPF programs")
		return 1
	}
	ARM_YAML[scale]="max_connections: 131072"
	agent_start scale "${ARM_YAML[scale]}" || return 1
	sleep 1
	wait_quiet
	scrape_times 20 "$RAW/scale-idle-scrapes.txt"
	idle_scrape=$(median_file "$RAW/scale-idle-scrapes.txt")
	idle_rss=$(proc_status_kb "$AGENT_PID" VmRSS)
	idle_hwm=$(proc_status_kb "$AGENT_PID" VmHWM)
	progs_now "$RAW/progs.idle1"
	scrape "$RAW/scale-idle.prom"
	progs_now "$RAW/progs.idle2"
	rl_idle=$(refresh_live_ns "$RAW/progs.idle1" "$RAW/progs.idle2")

	inst_conns() { if (($1 < inst - 1)); then echo "$per"; else echo $((n - per * (inst - 1))); fi; }
	rm -f "$HOLD_FIFO"
	mkfifo "$HOLD_FIFO"
	local hold_pids=()
	for ((k = 0; k < inst; k++)); do
		ip netns exec "$NS_SRV" "$TOOLS/connhold" server --bind "$SRV4" --port $((SCALE_PORT + k)) --conns "$(inst_conns "$k")" \
			--deadline-ms $(((WAIT_S + 300) * 1000)) <"$HOLD_FIFO" >"$RAW/scale-srv-$k.out" 2>&1 &
		hold_pids+=($!)
	done
	exec {hold_w}>"$HOLD_FIFO"
	wait_until 10 bash -c "[[ \$(cat $RAW/scale-srv-*.out | grep -c listening) == $inst ]]" ||
		warn "connhold servers not all listening"
	t0=$(date +%s.%N)
	for ((k = 0; k < inst; k++)); do
		ip netns exec "$NS_CLI" "$TOOLS/connhold" client --connect "$SRV4" --port $((SCALE_PORT + k)) --conns "$(inst_conns "$k")" \
			--sources "$sources" --first-port $((10000 + k * ((per + SCALE_SOURCES - 1) / SCALE_SOURCES))) \
			--deadline-ms $(((WAIT_S + 300) * 1000)) <"$HOLD_FIFO" >"$RAW/scale-cli-$k.out" 2>&1 &
		hold_pids+=($!)
	done
	BG_PIDS+=("${hold_pids[@]}")
	wait_until 120 bash -c "[[ \$(cat $RAW/scale-cli-*.out | grep -c established) == $inst ]]" ||
		warn "connhold clients not all established: $(cat "$RAW"/scale-cli-*.out | tail -3)"
	t1=$(date +%s.%N)
	local est=0 failed=0
	for ((k = 0; k < inst; k++)); do
		est=$((est + $(jget "$RAW/scale-cli-$k.out" established)))
		failed=$((failed + $(jget "$RAW/scale-cli-$k.out" failed)))
	done
	say "scale: $est connections established ($failed failed) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s by $inst client instances"
	# gespann_tracked_connections comes from the periodic refresh pass: how
	# long until it shows every held connection (polled every 0.5 s, 60 s max)?
	local t_seen=-1
	for ((i = 0; i < 120; i++)); do
		scrape "$RAW/scale-held.prom"
		tracked=$(metric gespann_tracked_connections "$RAW/scale-held.prom")
		if ((tracked >= est)); then
			t_seen=$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
			break
		fi
		sleep 0.5
	done
	wait_clean || notes+=("foreign BPF programs were loaded while the scrapes were timed: $(foreign_progs)")
	wait_quiet
	# The agent holding them, nobody scraping: its own periodic work.
	local hold_s=$((DUR * 2)) h0 h1 hr
	h0=$(proc_sched_ms "$AGENT_PID")
	progs_now "$RAW/progs.hold1"
	sleep "$hold_s"
	progs_now "$RAW/progs.hold2"
	h1=$(proc_sched_ms "$AGENT_PID")
	hr=$(refresh_live_ns "$RAW/progs.hold1" "$RAW/progs.hold2" runs)
	cpu0=$(proc_cpu_ms "$AGENT_PID")
	progs_now "$RAW/progs.held1"
	scrape_times 20 "$RAW/scale-held-scrapes.txt"
	progs_now "$RAW/progs.held2"
	cpu1=$(proc_cpu_ms "$AGENT_PID")
	scrape_ms=$(median_file "$RAW/scale-held-scrapes.txt")
	# Scrapes every 100 ms for as long as the hold window: a scrape that
	# arrives while the loop is busy (a refresh pass) waits for it.
	local paced=$RAW/scale-paced-scrapes.txt paced_med paced_max i
	for ((i = 0; i < hold_s * 10; i++)); do
		curl -s -o /dev/null --max-time 10 -w '%{time_total}\n' "http://127.0.0.1:$AGENT_PORT/metrics" |
			awk '{ printf "%.3f\n", $1 * 1000 }'
		sleep 0.1
	done >"$paced"
	paced_med=$(median_file "$paced")
	paced_max=$(sort -g "$paced" | tail -1)
	rl_ns=$(refresh_live_ns "$RAW/progs.held1" "$RAW/progs.held2")
	scrape "$RAW/scale-held.prom"
	size=$(wc -c <"$RAW/scale-held.prom")
	rss=$(proc_status_kb "$AGENT_PID" VmRSS)
	hwm=$(proc_status_kb "$AGENT_PID" VmHWM)
	maps=$(bpftool map show -j 2>/dev/null | $BT maps "$(awk -F'\t' -v ids=",$OWN_IDS," 'index(ids, "," $1 ",") && $6 != "-" { printf "%s,", $6 }' "$RAW/progs.held2")")
	mapsum=$(python3 -c 'import json,sys; print(sum(m["memlock"] for m in json.loads(sys.argv[1])))' "$maps")
	conns_map=$(python3 -c 'import json,sys; print(sum(m["memlock"] for m in json.loads(sys.argv[1]) if m["name"] == "conns"))' "$maps")
	agent_stop
	exec {hold_w}>&-
	for p in "${hold_pids[@]}"; do
		wait_until 20 bash -c "! kill -0 $p 2>/dev/null" || kill -KILL "$p" 2>/dev/null
	done

	sc_rss=$(awk -v k="$rss" 'BEGIN { print (k < 64 * 1024) ? "PASS" : "MISS" }')
	sc_hwm=$(awk -v k="$idle_rss" 'BEGIN { print (k < 20 * 1024) ? "PASS" : "MISS" }')
	sc_scrape=$(awk -v m="$scrape_ms" 'BEGIN { print (m < 10) ? "PASS" : "MISS" }')
	rows+=("{\"what\":\"connections held (established / failed)\",\"value\":\"$est / $failed\"}")
	rows+=("{\"what\":\"gespann_tracked_connections while held (seconds after the last connect until it showed them all)\",\"value\":\"$tracked ($t_seen s)\"}")
	rows+=("{\"what\":\"agent RSS idle (before connecting)\",\"value\":\"$(awk -v k="$idle_rss" 'BEGIN { printf "%.1f MiB", k / 1024 }')\",\"target\":\"< 20 MiB\",\"result\":\"$sc_hwm\"}")
	rows+=("{\"what\":\"agent VmHWM idle (peak during start-up)\",\"value\":\"$(awk -v k="$idle_hwm" 'BEGIN { printf "%.1f MiB", k / 1024 }')\"}")
	rows+=("{\"what\":\"agent RSS with $est connections\",\"value\":\"$(awk -v k="$rss" 'BEGIN { printf "%.1f MiB", k / 1024 }')\",\"target\":\"< 64 MiB\",\"result\":\"$sc_rss\"}")
	rows+=("{\"what\":\"agent VmHWM with $est connections\",\"value\":\"$(awk -v k="$hwm" 'BEGIN { printf "%.1f MiB", k / 1024 }')\"}")
	rows+=("{\"what\":\"kernel map memory (all agent maps; conns alone)\",\"value\":\"$(awk -v a="$mapsum" -v c="$conns_map" 'BEGIN { printf "%.1f MiB; %.1f MiB", a / 1048576, c / 1048576 }')\"}")
	rows+=("{\"what\":\"scrape time idle, median of 20\",\"value\":\"$idle_scrape ms\"}")
	rows+=("{\"what\":\"scrape time with $est connections, median of 20\",\"value\":\"$scrape_ms ms\",\"target\":\"< 10 ms\",\"result\":\"$sc_scrape\"}")
	rows+=("{\"what\":\"scrapes every 100 ms for ${hold_s}s with $est connections: median / max\",\"value\":\"$paced_med ms / $paced_max ms\"}")
	rows+=("{\"what\":\"refresh_batch during scrapes (bpf_stats, mean per slice run) idle / held\",\"value\":\"$(awk -v a="$rl_idle" -v b="$rl_ns" 'BEGIN { printf "%.2f ms / %.2f ms", a / 1e6, b / 1e6 }')\"}")
	rows+=("{\"what\":\"holding $est connections, no scrapes, ${hold_s}s: refresh_batch runs (slices), ms per run\",\"value\":\"$(awk -v r="$hr" 'BEGIN { split(r, x, " "); printf "%d runs, %.2f ms", x[1], x[2] / 1e6 }')\"}")
	rows+=("{\"what\":\"agent CPU while holding them (schedstat)\",\"value\":\"$(awk -v a="$h0" -v b="$h1" -v s="$hold_s" 'BEGIN { printf "%.1f ms/s (%.2f%% of one core)", (b - a) / s, (b - a) / s / 10 }')\"}")
	rows+=("{\"what\":\"agent CPU per scrape with $est connections\",\"value\":\"$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.1f ms", (b - a) / 20 }')\"}")
	rows+=("{\"what\":\"/metrics size\",\"value\":\"$size bytes\"}")
	local rj
	rj=$(
		IFS=,
		echo "${rows[*]}"
	)
	local nj="[]"
	if ((${#notes[@]})); then
		nj=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${notes[@]}")
	fi
	echo "{\"type\":\"scale\",\"title\":\"4. Scale: $est established connections held\",\"workload\":\"connhold: $inst client instances in the client namespace (sources 198.18.0.10-$((10 + SCALE_SOURCES - 1)), explicit ports) to $inst server instances in the server namespace, $per connections each; agent scoped to the client namespace with max_connections: 131072, so the $est client-side sockets are tracked.\",\"rows\":[$rj],\"maps\":$maps,\"notes\":$nj}" >>"$RESULTS"
	say "scale: rss $rss kB, hwm $hwm kB, scrape $scrape_ms ms, refresh_batch $rl_ns ns, /metrics $size bytes"
}

if has scale && ! over_budget scale; then
	say "== scale"
	# Its refresh_live rows read bpf_stats; it has no off arm to skew.
	stats_set 1
	bench_scale || NOTES+=("scale benchmark did not complete")
	stats_set "$BPF_STATS"
fi

# ==== 5. UDP flood ====

if has udp && ! over_budget udp; then
	say "== udp flood"
	bench_record "\"bench\":\"udp\",\"title\":\"5. UDP datagram flood (loopback, $UDP_SOCKETS source ports)\",\"short\":\"UDP flood\",\"unit\":\"dgram/s\",\"work_unit\":\"dgram\",\"arms\":[\"off\",\"gespann\",\"flows1024\"],\"targets\":{\"gespann\":0.95},\"workload\":\"udpflood: $UDP_SOCKETS sockets round robin, $UDP_DGRAMS datagrams of 64 bytes, sendto() over loopback inside the client namespace to a receiver thread (every datagram passes egress and ingress: $((2 * UDP_SOCKETS)) flows). Arm flows1024 runs the agent with max_udp_flows: 1024. The flows1024 arm has no target for the rate; its checks are the target.\",\"checks\":[{\"key\":\"exact\",\"label\":\"datagrams and bytes counted exactly (sent; received incl. rcvbuf drops)\",\"bool\":true},{\"key\":\"map_full_delta\",\"label\":\"gespann_map_full_total{map=udp_flows} per run\"}],$(arm_configs udp "off gespann flows1024")"
	measure udp "off gespann flows1024" wl_udp
fi

# ==== 6. Namespaces (scope host) ====
# The agent idle with scope: host, first with the machine's namespaces, then
# with NETNS_N empty ones more: its own CPU time per second. With scope host
# the TIME_WAIT census dumps every namespace, and each sock_diag dump walks
# the kernel's whole established hash, which all namespaces share; the
# census spaces itself out to stay near 0.5% of a core.
netns_idle_cpu() { # NAME: start the agent, past its first namespace look, CPU ms/s
	local c0 c1 s=$((DUR * 4))
	AGENT_SCOPE=host agent_start "$1" "" || return 1
	sleep 12
	wait_quiet
	c0=$(proc_sched_ms "$AGENT_PID")
	sleep "$s"
	c1=$(proc_sched_ms "$AGENT_PID")
	agent_stop
	awk -v a="$c0" -v b="$c1" -v s="$s" 'BEGIN { printf "%.2f", (b - a) / s }'
}

bench_netns() {
	local n=$NETNS_N base with have i rows=() rj
	wait_clean || {
		NOTES+=("netns: gave up waiting for foreign BPF programs")
		return 1
	}
	have=$(($(ip netns list | wc -l) + 0))
	base=$(netns_idle_cpu netns-base) || return 1
	for ((i = 0; i < n; i++)); do
		ip netns add "gspb-ns-$i" || break
	done
	with=$(netns_idle_cpu "netns-$n") || {
		netns_bench_del
		return 1
	}
	netns_bench_del
	rows+=("{\"what\":\"agent CPU idle, scope host, the machine's namespaces ($have named)\",\"value\":\"$base ms/s\"}")
	rows+=("{\"what\":\"agent CPU idle, scope host, $n more namespaces\",\"value\":\"$with ms/s\",\"target\":\"< 10 ms/s\",\"result\":\"$(awk -v w="$with" 'BEGIN { print (w < 10) ? "PASS" : "MISS" }')\"}")
	rj=$(
		IFS=,
		echo "${rows[*]}"
	)
	echo "{\"type\":\"scale\",\"title\":\"6. Namespaces: scope host with $n more network namespaces\",\"workload\":\"the agent with scope: host and no traffic, started anew for each arm and measured for $((DUR * 4)) s after its first look for namespaces (schedstat run time): its periodic work, mostly the TIME_WAIT census of every namespace.\",\"rows\":[$rj],\"notes\":[]}" >>"$RESULTS"
	say "netns: agent idle $base ms/s, with $n more namespaces $with ms/s"
}

if has netns && ! over_budget netns; then
	say "== netns"
	bench_netns || NOTES+=("netns benchmark did not complete")
fi

# ==== 7. Mixed: HTTP keep-alive, storm and UDP flood at once ====

if has mixed && ! over_budget mixed; then
	say "== mixed (http + storm + udp)"
	ensure_storm_server
	ensure_nginx
	storm_warmup 2
	bench_record "\"bench\":\"mixed\",\"title\":\"7. Mixed: HTTP keep-alive, connection storm and UDP flood at once\",\"short\":\"Mixed\",\"unit\":\"conn/s\",\"work_unit\":\"s\",\"arms\":[\"off\",\"gespann\"],\"parts\":[{\"key\":\"http\",\"label\":\"HTTP component\",\"short\":\"Mixed: HTTP\",\"unit\":\"req/s\",\"targets\":{\"gespann\":0.99}},{\"key\":\"storm\",\"label\":\"storm component\",\"short\":\"Mixed: storm\",\"unit\":\"conn/s\",\"targets\":{\"gespann\":0.97}},{\"key\":\"udp\",\"label\":\"UDP component\",\"short\":\"Mixed: UDP\",\"unit\":\"dgram/s\",\"targets\":{\"gespann\":0.95}}],\"workload\":\"for ${DUR}s at the same time: wrk -t 2 -c 50 against nginx over loopback in the client namespace, trafficgen storm with 2 threads to the server namespace (TIME_WAIT kept) and udpflood from $UDP_SOCKETS source ports over loopback; each generator's throughput is compared with its own off run of the same round. Kernel costs are per second of the run.\",\"checks\":[{\"key\":\"no_events_lost\",\"label\":\"gespann_events_lost_total == 0\",\"bool\":true},{\"key\":\"exact\",\"label\":\"UDP datagrams and bytes counted exactly\",\"bool\":true}],$STORM_NET_LABELS,$(arm_configs mixed "off gespann")"
	measure mixed "off gespann" wl_mixed
fi

# ==== Peers: which libbpf-tools start here ====

if has peers && ! over_budget peers; then
	say "== peer tools"
	for tool in tcplife tcpconnect tcptop tcprtt; do
		bin=/usr/sbin/$tool
		if [[ ! -x "$bin" ]]; then
			echo "{\"type\":\"peer\",\"tool\":\"$tool\",\"status\":\"not installed\"}" >>"$RESULTS"
			continue
		fi
		for tfs in without with; do
			[[ "$tool" != tcplife && "$tfs" == with ]] && continue
			((TRACEFS_ORIG)) && [[ "$tool" == tcplife && "$tfs" == without ]] && continue
			if [[ "$tfs" == without && -d /sys/kernel/tracing/events ]] && ((TRACEFS_MOUNTED)); then
				umount /sys/kernel/tracing 2>/dev/null && TRACEFS_MOUNTED=0
			fi
			if [[ "$tfs" == with && ! -d /sys/kernel/tracing/events ]]; then
				mkdir -p /sys/kernel/tracing
				mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && TRACEFS_MOUNTED=1
			fi
			label=$tool
			[[ "$tool" == tcplife ]] && label="$tool ($tfs tracefs)"
			"$bin" >/dev/null 2>"$RAW/peer-$tool.err" &
			pid=$!
			sleep 2
			if kill -0 "$pid" 2>/dev/null; then
				kill -INT "$pid" 2>/dev/null
				wait "$pid" 2>/dev/null
				status=yes
				err=""
			else
				wait "$pid" 2>/dev/null
				status="no (exit $?)"
				err=$(grep -m1 -E 'failed to (create|determine|add)' "$RAW/peer-$tool.err" || tail -1 "$RAW/peer-$tool.err")
			fi
			echo "{\"type\":\"peer\",\"tool\":$(jstr "$label"),\"status\":\"$status\",\"error\":$(jstr "$err")}" >>"$RESULTS"
			say "$label: starts: $status ${err}"
		done
	done
fi

# ==== Report ====

netns_teardown
cat "$VOIDS" >>"$RESULTS"
LOAD_END=$(load1)
notes_json="[]"
if ((${#NOTES[@]})); then
	notes_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${NOTES[@]}")
fi
# The command as run: every BENCH_* setting given in the environment.
cmd="$(env | grep -E '^BENCH_[A-Z_]+=' | sort | tr '\n' ' ')make bench"
printf '{"type":"meta","command":%s,"cpu":%s,"nproc":%s,"mem_gib":%s,"kernel":%s,"version":%s,"commit":%s,"pairs":%s,"duration":%s,"quick":%s,"bpf_stats":%s,"started":%s,"load_start":%s,"load_end":%s,"total_s":%s,"notes":%s}\n' \
	"$(jstr "$cmd")" "$(jstr "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)")" "$NCPU" \
	"$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(jstr "$(uname -r)")" \
	"$(jstr "$("$GS_BIN" -version 2>&1 | head -1)")" "$(jstr "$COMMIT")" "$PAIRS" "$DUR" \
	"$([[ "$QUICK" == 1 ]] && echo true || echo false)" "$([[ "$BPF_STATS" == 1 ]] && echo true || echo false)" "$(jstr "$(date -u -d "@$T_START" '+%Y-%m-%d %H:%M UTC')")" \
	"$(jstr "$LOAD_START")" "$(jstr "$LOAD_END")" "$(elapsed_s)" "$notes_json" >>"$RESULTS"
$BT report "$RESULTS" "$OUT/results.md"
say "markdown: $OUT/results.md; raw data: $RAW"
exit 0
