# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# agent_probe.sh: start the agent once on the running kernel and keep what it
# says about the kernel, for tests/kernels/run.sh (host) and guest_run.sh
# (guests). Sourced; defines one function.
#
#   agent_probe BIN OUTDIR NAME SCOPE
#
# runs BIN with log_level: debug, the given scope and a Prometheus endpoint
# on 127.0.0.1 (ephemeral port), waits up to 60 s for "running" or its exit,
# stops it with SIGTERM, and writes OUTDIR/agent-NAME.log (everything it
# logged: the "feature X: on/off" lines, libbpf's and the verifier's lines
# when a load fails) and OUTDIR/agent-NAME.status ("started|failed|hung RC").
# Returns 0 when the agent reached "running".

agent_probe() {
	local bin=$1 out=$2 name=$3 scope=$4 cfg pid i rc=0 status=started log
	cfg=$(mktemp /tmp/gespann-probe.XXXXXX)
	log=$out/agent-$name.log
	printf '%s\n' "log_level: debug" "scope: $scope" "adapters:" "  - type: prometheus" \
		"    settings:" "      address: 127.0.0.1" "      port: 0" >"$cfg"
	"$bin" -config "$cfg" >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q 'level=info running' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q 'level=info running' "$log"; then
		kill -TERM "$pid" 2>/dev/null || true
	elif kill -0 "$pid" 2>/dev/null; then
		status=hung
		kill -KILL "$pid" 2>/dev/null || true
	else
		status=failed
	fi
	wait "$pid" || rc=$?
	rm -f "$cfg"
	echo "$status $rc" >"$out/agent-$name.status"
	[[ "$status" == started ]]
}

# nobtf_probe BIN OUTDIR: start BIN (scope host) with the kernel's BTF
# hidden: an empty file bound over /sys/kernel/btf/vmlinux in a private mount
# namespace, so nothing else on the machine notices. Writes OUTDIR/nobtf.log
# and OUTDIR/nobtf.status ("RC ERROR_LINES"). Expected: a nonzero exit
# within seconds (timeout's 124 means it did not exit) and exactly one
# level=error line.
nobtf_probe() {
	local bin=$1 out=$2 cfg empty rc=0
	cfg=$(mktemp /tmp/gespann-nobtf.XXXXXX)
	empty=$(mktemp /tmp/gespann-nobtf-vmlinux.XXXXXX)
	printf '%s\n' "adapters:" "  - type: prometheus" "    settings:" \
		"      address: 127.0.0.1" "      port: 0" >"$cfg"
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout -k 5 30 unshare -m --propagation private sh -c \
		'mount --bind "$1" /sys/kernel/btf/vmlinux && exec "$2" -config "$3"' \
		sh "$empty" "$bin" "$cfg" >"$out/nobtf.log" 2>&1 </dev/null || rc=$?
	rm -f "$cfg" "$empty"
	echo "$rc $(grep -c 'level=error' "$out/nobtf.log")" >"$out/nobtf.status"
}
