#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test-local.sh: a quick look at the agent on this machine, by hand. Builds,
# starts build/gespann with a temporary config (Prometheus on
# 127.0.0.1:${PORT:-9464}), waits for /metrics, runs 5 s of local traffic
# (scripts/generate-traffic.sh), prints the agent's gespann_ series (without
# HELP/TYPE and histogram buckets), then stops the agent with SIGTERM and
# checks that it exited 0. Needs root (BPF). Exit 0 when all of that worked.
#
#   PORT=9464 scripts/test-local.sh
set -euo pipefail

ROOT=$(cd "$(dirname -- "$0")/.." && pwd)
cd "$ROOT"
PORT=${PORT:-9464}
AGENT=${AGENT:-build/gespann}
URL="http://127.0.0.1:$PORT/metrics"

die() {
	echo "test-local: $*" >&2
	exit 1
}

[[ "$PORT" =~ ^[0-9]+$ && "$PORT" -ge 1 && "$PORT" -le 65535 ]] || die "PORT=$PORT is not a port"
((EUID == 0)) || die "the agent loads BPF programs: run as root (sudo $0)"
command -v curl >/dev/null || die "curl not found (scripts/install-deps.sh)"

# For wait_until (poll with a deadline) only: no namespace is created here.
# shellcheck disable=SC1091
source "$ROOT/tests/lib/netns.sh"

echo "test-local: make"
make -s

tmp=$(mktemp -d /tmp/gespann-local.XXXXXX)
agent_pid=""
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	if [[ -n "$agent_pid" ]] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -KILL "$agent_pid" 2>/dev/null || true
		wait "$agent_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# show_log: the agent's log, when something went wrong.
show_log() {
	echo "---- agent log ($AGENT) ----" >&2
	tail -n 40 "$tmp/agent.log" >&2 || true
	echo "----" >&2
}

cat >"$tmp/gespann.yaml" <<EOF
# written by scripts/test-local.sh
log_level: info
scope: host
adapters:
  - type: prometheus
    settings:
      address: 127.0.0.1
      port: $PORT
EOF

if curl -s -o /dev/null --max-time 1 "$URL"; then
	die "something already answers on $URL: stop it or choose another PORT"
fi

echo "test-local: starting $AGENT -config $tmp/gespann.yaml"
"$AGENT" -config "$tmp/gespann.yaml" >"$tmp/agent.log" 2>&1 &
agent_pid=$!

# Ready when /metrics answers; give up at once if the agent died.
metrics_up() {
	kill -0 "$agent_pid" 2>/dev/null || return 0
	curl -sf -o /dev/null --max-time 1 "$URL"
}
if ! wait_until 20 metrics_up || ! kill -0 "$agent_pid" 2>/dev/null; then
	show_log
	die "the agent did not serve $URL within 20 s"
fi
echo "test-local: $URL answers"

scripts/generate-traffic.sh --duration 5

# The agent publishes on its poll interval: wait until connections show up.
connections_seen() {
	curl -sf --max-time 1 "$URL" |
		awk '/^gespann_(tcp_)?connections_total/ && $NF + 0 > 0 { found = 1 } END { exit !found }'
}
if ! wait_until 5 connections_seen; then
	echo "test-local: warning: no connection counted yet in gespann_*connections_total" >&2
fi

echo "test-local: gespann series from $URL"
curl -sf --max-time 5 "$URL" | grep '^gespann_' | grep -v '_bucket{' || true

echo "test-local: stopping the agent (SIGTERM)"
kill -TERM "$agent_pid"
agent_gone() { ! kill -0 "$agent_pid" 2>/dev/null; }
if ! wait_until 10 agent_gone; then
	show_log
	die "the agent did not exit within 10 s of SIGTERM"
fi
rc=0
wait "$agent_pid" || rc=$?
agent_pid=""
if ((rc != 0)); then
	show_log
	die "the agent exited with status $rc after SIGTERM (expected 0)"
fi
echo "test-local: ok (the agent exited 0)"
