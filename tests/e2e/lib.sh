# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# lib.sh: helpers for the end-to-end scenarios. Each scenario builds its own
# namespaces (tests/lib/netns.sh), starts an agent scoped to one of them with
# its /metrics endpoint on loopback in the root namespace (so scrapes are not
# traffic in scope), generates traffic with known figures and compares the
# agent's numbers with ground truth it did not compute: the traffic
# generator's own counts, TCP_INFO of its sockets, the namespace's
# /proc/net/snmp. Assertions print expected and actual.
#
# Sourcing it sets the scenario's EXIT trap (e2e_cleanup below): whatever way
# the script ends (its last line, an error, `set -u`, SIGTERM from a timeout,
# SIGINT), every process it started is stopped, its exit hooks run and its
# namespaces go. Scripts add their own undo steps with e2e_on_exit, never
# with a trap of their own.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/netns.sh
source "$E2E_ROOT/tests/lib/netns.sh"

GS_BIN=${GS_BIN:-$E2E_ROOT/build/gespann}
TRAFFICGEN=${TRAFFICGEN:-$E2E_ROOT/build/tools/trafficgen}
E2E_TMP=${E2E_TMP:-$(mktemp -d /tmp/gespann-e2e.XXXXXX)}
E2E_PASS=0
E2E_FAIL=0
AGENT_PID=
AGENT_PORT=
AGENT_LOG=
E2E_FINISHED=0
E2E_EXIT_HOOKS=()

# ---- Cleanup on any exit ----

# e2e_on_exit CMD: run CMD (a string, evaluated) when the scenario exits,
# after its processes are stopped and before its namespaces are deleted.
# Hooks run last registered first; their failures are ignored.
e2e_on_exit() {
	E2E_EXIT_HOOKS+=("$1")
}

# _e2e_tree: E2E_TREE = this shell's children (every process it started and
# that still runs: agents, servers, generators, coprocesses, whether or not
# their pids were kept) and all their descendants, parents first; zombies
# left out. Read from /proc, so a pid reused by an unrelated process is never
# included.
_e2e_tree() {
	local f line pid ppid rest
	local -A kids=()
	local -a queue=()
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		pid=${line%% *}
		rest=${line##*) } # after "pid (comm) ": "state ppid ..."
		[[ "${rest%% *}" != Z ]] || continue
		rest=${rest#* }
		ppid=${rest%% *}
		kids[$ppid]+=" $pid"
	done
	E2E_TREE=()
	# shellcheck disable=SC2206  # one pid per word
	queue=(${kids[$$]:-})
	while ((${#queue[@]} > 0)); do
		pid=${queue[0]}
		queue=("${queue[@]:1}")
		E2E_TREE+=("$pid")
		# shellcheck disable=SC2206
		queue+=(${kids[$pid]:-})
	done
}

# _e2e_stop_all: SIGTERM to the whole tree (_e2e_tree) until it is gone,
# SIGKILL to what is left after 2 s. Each round first freezes the tree with
# SIGSTOP, looking again until no new process appears (a stopped process
# cannot fork, so none escapes as an orphan between a look and the signal),
# then sends SIGTERM and SIGCONT: a process that was stopped (a reader the
# test stopped with SIGSTOP) is woken, and takes the SIGTERM first.
_e2e_stop_all() {
	local comms=() pid n first=1 deadline=$((${EPOCHREALTIME/./} + 2000000))
	while _e2e_tree && ((${#E2E_TREE[@]} > 0)); do
		if ((first)); then
			for pid in "${E2E_TREE[@]}"; do
				comms+=("$pid($(cat "/proc/$pid/comm" 2>/dev/null))")
			done
			e2e_log "exit: stopping what still runs: ${comms[*]}"
			first=0
		fi
		n=-1
		while ((${#E2E_TREE[@]} != n)); do
			n=${#E2E_TREE[@]}
			kill -STOP "${E2E_TREE[@]}" 2>/dev/null
			_e2e_tree
		done
		if ((${EPOCHREALTIME/./} >= deadline)); then
			e2e_log "exit: SIGKILL to what ignored SIGTERM: ${E2E_TREE[*]}"
			kill -KILL "${E2E_TREE[@]}" 2>/dev/null
			break
		fi
		kill -TERM "${E2E_TREE[@]}" 2>/dev/null
		kill -CONT "${E2E_TREE[@]}" 2>/dev/null
		sleep 0.1
	done
	wait 2>/dev/null # reap the children
}

# e2e_cleanup: the EXIT trap. Stops every process the scenario started
# (SIGCONT first: a reader stopped with SIGSTOP would never see the SIGTERM;
# SIGKILL after 2 s), runs the exit hooks, deletes the namespaces
# (netns_teardown), and removes $E2E_TMP when the scenario passed. A scenario
# that ended before e2e_finish (an error, a signal) counts one more failure
# and still writes its E2E_RESULT line. Keeps the exit status.
e2e_cleanup() {
	local rc=$? i
	((BASHPID == $$)) || return "$rc" # a subshell that inherited the trap
	trap '' INT TERM HUP # a second signal must not cut the cleanup short
	# A signal taken inside a function called with a redirection (netns_cli
	# ... >FILE) runs the trap with that redirection still in place.
	exec 1>&"$E2E_STDOUT" 2>&"$E2E_STDERR"
	if ((!E2E_FINISHED)); then
		((rc != 0)) || rc=1
		not_ok "scenario ${E2E_NAME:-?} ended early (exit status $rc); cleaning up"
		printf '# scenario %s: %d passed, %d failed\n' "${E2E_NAME:-?}" "$E2E_PASS" "$E2E_FAIL"
		echo "E2E_RESULT $E2E_PASS $E2E_FAIL" >>"${E2E_RESULTS:-/dev/null}"
	fi
	_e2e_stop_all
	for ((i = ${#E2E_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${E2E_EXIT_HOOKS[i]}" || true
	done
	netns_teardown
	if ((E2E_FAIL == 0)); then
		rm -rf "$E2E_TMP"
	else
		printf '# kept %s for inspection\n' "$E2E_TMP"
	fi
	exit "$rc"
}
# netns_setup (tests/lib/netns.sh) leaves this trap alone: it tears down.
NETNS_TEARDOWN_BY_CALLER=1
exec {E2E_STDOUT}>&1 {E2E_STDERR}>&2
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

e2e_log() { printf '# %s\n' "$*"; }

e2e_pass() {
	E2E_PASS=$((E2E_PASS + 1))
	printf 'ok - %s\n' "$*"
}

# not_ok returns 1, so `assert_... || e2e_log ...` can add what was seen.
not_ok() {
	E2E_FAIL=$((E2E_FAIL + 1))
	printf 'FAIL - %s\n' "$*"
	return 1
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	if [[ "$1" == "$2" ]]; then
		e2e_pass "$3: $1"
	else
		not_ok "$3: expected $2, got $1"
	fi
}

# assert_ge ACTUAL MIN WHAT
assert_ge() {
	if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; then
		e2e_pass "$3: $1 >= $2"
	else
		not_ok "$3: expected >= $2, got $1"
	fi
}

# assert_true WHAT CMD...: the command must succeed.
assert_true() {
	local what=$1
	shift
	if "$@"; then e2e_pass "$what"; else not_ok "$what"; fi
}

# agent_start NAME SCOPE [EXTRA_YAML_LINES] [EXTRA_ADAPTERS]: start the agent
# with its endpoint on 127.0.0.1 (ephemeral port, read back from its log).
# EXTRA_ADAPTERS are YAML lines appended to the adapters list ("  - type: ...").
agent_start() {
	local name=$1 scope=$2 extra=${3:-} extra_adapters=${4:-}
	local cfg=$E2E_TMP/$name.yaml
	AGENT_LOG=$E2E_TMP/$name.log
	{
		echo "log_level: debug"
		echo "scope: $scope"
		[[ -n "$extra" ]] && printf '%s\n' "$extra"
		echo "adapters:"
		echo "  - type: prometheus"
		echo "    settings:"
		echo "      address: 127.0.0.1"
		echo "      port: 0"
		[[ -z "$extra_adapters" ]] || printf '%s\n' "$extra_adapters"
	} >"$cfg"
	"$GS_BIN" -config "$cfg" 2>"$AGENT_LOG" &
	AGENT_PID=$!
	if ! wait_until 15 grep -q 'level=info running' "$AGENT_LOG"; then
		not_ok "agent $name started (log: $(tail -3 "$AGENT_LOG"))"
		return 1
	fi
	AGENT_PORT=$(sed -n 's/.*prometheus exporter listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$AGENT_LOG" | head -1)
	[[ -n "$AGENT_PORT" ]] || { not_ok "agent $name port found in log"; return 1; }
	e2e_log "agent $name pid $AGENT_PID port $AGENT_PORT scope $scope"
}

# agent_stop: SIGTERM, expect exit 0 within 2 s.
agent_stop() {
	local rc=0 pid=$AGENT_PID
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until 2 bash -c "! kill -0 $pid 2>/dev/null"; then
		not_ok "agent $pid stopped within 2 s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	AGENT_PID=
	assert_eq "$rc" 0 "agent exit code after SIGTERM"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$AGENT_LOG"; then
		not_ok "sanitizer report in $AGENT_LOG: $(grep -m1 -E 'Sanitizer|runtime error' "$AGENT_LOG")"
	fi
}

# scrape [PORT]: fetch /metrics into $E2E_TMP/last.prom.
scrape() {
	curl -sf --max-time 5 "http://127.0.0.1:${1:-$AGENT_PORT}/metrics" >"$E2E_TMP/last.prom"
}

# metric SERIES [FILE]: value of one exact series (name plus rendered labels)
# from the last scrape, 0 when absent.
metric() {
	awk -v s="$1" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "${2:-$E2E_TMP/last.prom}"
}

# scrape_metric SERIES: scrape, then the value.
scrape_metric() {
	scrape && metric "$1"
}

# wait_metric SERIES VALUE [TIMEOUT]: poll until the series equals VALUE.
_metric_is() { scrape && [[ "$(metric "$1")" == "$2" ]]; }
wait_metric() {
	wait_until "${3:-10}" _metric_is "$1" "$2"
}

# snmp NS PROTO FIELD: a counter of the namespace's /proc/net/snmp.
snmp() {
	ip netns exec "$1" awk -v p="$2:" -v f="$3" '
		$1 == p && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == p && hdr { print $col[f]; exit }' /proc/net/snmp
}

# jget FILE KEY[.SUBKEY]: a number from the traffic generator's JSON line.
jget() {
	python3 - "$1" "$2" <<'PY'
import json, sys
doc = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        doc.update(json.loads(line))
v = doc
for k in sys.argv[2].split("."):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)
PY
}

# e2e_finish: stop the current agent, print the scenario's tally line and
# return its status (the EXIT trap, e2e_cleanup, stops the rest and removes
# or keeps $E2E_TMP).
e2e_finish() {
	agent_stop
	E2E_FINISHED=1
	printf '# scenario %s: %d passed, %d failed\n' "${E2E_NAME:-?}" "$E2E_PASS" "$E2E_FAIL"
	echo "E2E_RESULT $E2E_PASS $E2E_FAIL" >>"${E2E_RESULTS:-/dev/null}"
	[[ $E2E_FAIL -eq 0 ]]
}

# hold_start NAME ADDR PORT N [ARGS...]: N connections held open by trafficgen
# tcp-hold in the client namespace until hold_stop NAME (ARGS: e.g. --send S);
# waits until all are established. Several holds may run at once (FIFOs, not
# coprocesses).
hold_start() {
	local name=$1 addr=$2 port=$3 n=$4 fifo=$E2E_TMP/hold-$1.in
	shift 4
	mkfifo "$fifo"
	netns_cli "$TRAFFICGEN" tcp-hold --connect "$addr" --port "$port" --conns "$n" \
		--deadline-ms 200000 "$@" <"$fifo" >"$E2E_TMP/hold-$name.out" 2>&1 &
	eval "HOLD_PID_$name=$!"
	exec {fd}<>"$fifo" # read-write: never blocks, even if the generator died
	eval "HOLD_FD_$name=$fd"
	wait_for grep -qx "{\"held\":$n}" "$E2E_TMP/hold-$name.out"
}

# hold_stop NAME: close the held connections and wait for the generator.
hold_stop() {
	local fd pid
	eval "fd=\$HOLD_FD_$1 pid=\$HOLD_PID_$1"
	echo close >&"$fd"
	exec {fd}>&-
	wait "$pid" 2>/dev/null
}

# ---- BPF objects of the agent ----
# Counted by the agent's pid, never machine-wide: other BPF users (another
# agent, a tracer, systemd, bpftool itself) load programs at any time.

# agent_bpf_fds [PID]: one line per BPF program or link PID (default: the
# current agent) holds open, from its fdinfo: "prog PROG_ID" or
# "link LINK_ID PROG_ID".
agent_bpf_fds() {
	local f k v prog link
	for f in /proc/"${1:-$AGENT_PID}"/fdinfo/*; do
		prog='' link=''
		while read -r k v; do
			case $k in
			prog_id:) prog=$v ;;
			link_id:) link=$v ;;
			esac
		done 2>/dev/null <"$f"
		if [[ -n "$link" ]]; then
			echo "link $link $prog"
		elif [[ -n "$prog" ]]; then
			echo "prog $prog"
		fi
	done
}

# bpf_prog_name ID: the name of loaded program ID (empty when it is gone).
bpf_prog_name() {
	bpftool prog show id "$1" 2>/dev/null | sed -n '1s/.* name \([^ ]*\).*/\1/p'
}

# bpf_loaded prog|link ID: true while that program or link exists.
bpf_loaded() {
	bpftool "$1" show id "$2" >/dev/null 2>&1
}

# ---- Labelled series (issue 5 families) ----
# The helpers below read the last scrape ($E2E_TMP/last.prom) and match series
# by label, whatever the order the exporter renders them in. A filter is
# LABEL=VALUE (VALUE may be empty: dst_name= matches dst_name=""); a series
# matches when it has every filtered label with that value. Values print as
# integers when they are whole.

# _prom_query OP NAME [FILTER...]: OP is sum, count, exact, labels, values:LABEL
# or other. Used by the wrappers below.
_prom_query() {
	python3 - "$E2E_TMP/last.prom" "$@" <<'PY'
import re, sys
path, op, name, *filters = sys.argv[1:]
want = {}
for f in filters:
    k, sep, v = f.partition("=")
    if not sep:
        sys.exit("filter %r is not LABEL=VALUE" % f)
    want[k] = v
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
pair_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
unesc = lambda s: s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
series = []
for line in open(path):
    if line.startswith("#"):
        continue
    m = line_re.match(line)
    if not m or m.group(1) != name:
        continue
    labels = {k: unesc(v) for k, v in pair_re.findall(m.group(2) or "")}
    series.append((labels, float(m.group(3))))
def fmt(v):
    return str(int(v)) if v == int(v) else repr(v)
if op.startswith("bucket:"):
    # cumulative count of NAME_bucket at the largest le <= the bound
    limit = float(op.split(":", 1)[1])
    series = []
    for line in open(path):
        m = line_re.match(line)
        if not m or m.group(1) != name + "_bucket":
            continue
        labels = {k: unesc(v) for k, v in pair_re.findall(m.group(2) or "")}
        le = float(labels.pop("le", "nan").replace("+Inf", "inf"))
        if le <= limit and all(labels.get(k) == v for k, v in want.items()):
            series.append((le, float(m.group(3))))
    if not series:
        print("none 0")
        sys.exit(0)
    best = max(le for le, _ in series)
    total = sum(v for le, v in series if le == best)
    print("%s %s" % (best, str(int(total)) if total == int(total) else repr(total)))
    sys.exit(0)
if op == "exact":
    vals = [v for l, v in series if l == want]
    print(fmt(vals[0]) if vals else 0)
    sys.exit(0)
match = [(l, v) for l, v in series if all(l.get(k) == v for k, v in want.items())]
if op == "sum":
    print(fmt(sum(v for _, v in match)))
elif op == "count":
    print(len(match))
elif op == "labels":
    print(",".join(sorted({k for l, _ in match for k in l})))
elif op.startswith("values:"):
    key = op.split(":", 1)[1]
    print(" ".join(sorted({l.get(key, "") for l, _ in match})))
elif op == "other":
    vals = [v for l, v in match if l and all(x == "other" for x in l.values())]
    print(fmt(vals[0]) if vals else 0)
else:
    sys.exit("unknown op " + op)
PY
}

# msum NAME [FILTER...]: sum of the matching series of NAME (0 when none).
msum() { _prom_query sum "$@"; }

# mcount NAME [FILTER...]: how many series of NAME match.
mcount() { _prom_query count "$@"; }

# mseries NAME LABEL=VALUE...: value of the one series whose label set is
# exactly the given pairs (0 when absent).
mseries() { _prom_query exact "$@"; }

# mlabels NAME [FILTER...]: sorted, comma-separated label names used by NAME.
mlabels() { _prom_query labels "$@"; }

# mvalues NAME LABEL [FILTER...]: sorted distinct values of LABEL in NAME.
mvalues() {
	local name=$1 label=$2
	shift 2
	_prom_query "values:$label" "$name" "$@"
}

# metric_other NAME: value of the series whose every label value is "other" (0 when absent).
metric_other() { _prom_query other "$1"; }

# mbucket NAME BOUND [FILTER...]: "LE COUNT" for histogram NAME: the largest
# bucket bound LE <= BOUND (+Inf allowed as "inf") and its cumulative count
# summed over the matching series; "none 0" when there is no such bucket.
mbucket() {
	local name=$1 bound=$2
	shift 2
	_prom_query "bucket:$bound" "$name" "$@"
}

# wait_msum TIMEOUT VALUE NAME [FILTER...]: scrape until msum equals VALUE.
_msum_is() {
	local want=$1
	shift
	scrape && [[ "$(msum "$@")" == "$want" ]]
}
wait_msum() {
	local timeout=$1
	shift
	wait_until "$timeout" _msum_is "$@"
}

# agent_save VAR / agent_use VAR: keep several agents at once. agent_save
# stores the current agent's pid, port and log under VAR; agent_use makes a
# saved agent current again (for scrape, agent_stop, e2e_finish).
agent_save() {
	eval "${1}_PID=\$AGENT_PID ${1}_PORT=\$AGENT_PORT ${1}_LOG=\$AGENT_LOG"
}
agent_use() {
	eval "AGENT_PID=\$${1}_PID AGENT_PORT=\$${1}_PORT AGENT_LOG=\$${1}_LOG"
}

# named_tool NAME: a copy of the traffic generator called NAME in $E2E_TMP/bin
# (the kernel takes a process's comm from its file name, at most 15 bytes).
named_tool() {
	mkdir -p "$E2E_TMP/bin"
	cp "$TRAFFICGEN" "$E2E_TMP/bin/$1" && echo "$E2E_TMP/bin/$1"
}

# issue5_yaml YAML: YAML for configuration keys the agent only knows from
# issue 5 on. With E2E_DRY_RUN=1 it is left out, so a scenario runs its
# traffic and ground truth against an agent that does not know the keys yet
# (its issue-5 assertions then fail, the rest runs).
issue5_yaml() {
	[[ "${E2E_DRY_RUN:-0}" == 1 ]] || printf '%s\n' "$1"
}
