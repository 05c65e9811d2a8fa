#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# generate-traffic.sh: varied local traffic for trying the agent by hand (and
# for scripts/test-local.sh). Everything stays on loopback: it starts its own
# TCP (IPv4 and IPv6) and UDP echo servers with build/tools/trafficgen, then,
# in rounds until --duration is over, runs TCP connections with payload, a
# connect refused by a closed port on 127.0.0.1 and a few UDP flows. At the end
# it prints the totals (ground truth to compare with the agent's metrics) and
# stops its servers, also when interrupted.
#
#   scripts/generate-traffic.sh [--duration SECONDS]     (default 10)
set -euo pipefail

ROOT=$(cd "$(dirname -- "$0")/.." && pwd)
TRAFFICGEN=${TRAFFICGEN:-$ROOT/build/tools/trafficgen}

usage() {
	echo "usage: $0 [--duration SECONDS]" >&2
	exit 2
}

duration=10
while [[ $# -gt 0 ]]; do
	case "$1" in
	--duration)
		[[ $# -ge 2 ]] || usage
		duration=$2
		shift 2
		;;
	--duration=*)
		duration=${1#*=}
		shift
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 1 && "$duration" -le 86400 ]] || {
	echo "generate-traffic: --duration must be 1..86400 seconds" >&2
	exit 2
}

if [[ ! -x "$TRAFFICGEN" ]]; then
	echo "generate-traffic: building $TRAFFICGEN" >&2
	make -s -C "$ROOT" "${TRAFFICGEN#"$ROOT"/}" >&2
fi

tmp=$(mktemp -d /tmp/gespann-traffic.XXXXXX)
server_pids=()
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	local pid
	for pid in "${server_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${server_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Servers live a little longer than the run; their own deadline is a backstop.
server_deadline_ms=$(((duration + 30) * 1000))
client_deadline_ms=10000

# jnum FILE KEY: a number from a trafficgen JSON line (last match).
jnum() {
	grep -o "\"$2\":[0-9.]*" "$1" | tail -1 | cut -d: -f2
}

# start_server NAME ARGS...: start trafficgen ARGS in the background, wait for
# its {"listening":PORT} line and print the port.
start_server() {
	local name=$1 i
	shift
	"$TRAFFICGEN" "$@" --port 0 --deadline-ms "$server_deadline_ms" >"$tmp/$name.out" &
	server_pids+=($!)
	for ((i = 0; i < 100; i++)); do
		if grep -q listening "$tmp/$name.out" 2>/dev/null; then
			jnum "$tmp/$name.out" listening
			return 0
		fi
		sleep 0.05
	done
	echo "generate-traffic: $name server did not start" >&2
	return 1
}

# start_server adds to server_pids, so it must not run in a subshell: ports go
# through files.
start_server tcp4 tcp-server --bind 127.0.0.1 --reply 1000 >"$tmp/tcp4.port"
start_server tcp6 tcp-server --bind ::1 --reply 500 >"$tmp/tcp6.port"
start_server udp4 udp-server --bind 127.0.0.1 >"$tmp/udp4.port"
tcp4_port=$(<"$tmp/tcp4.port")
tcp6_port=$(<"$tmp/tcp6.port")
udp4_port=$(<"$tmp/udp4.port")

# A port nothing listens on: one the kernel just handed out, then released.
start_server probe tcp-server --bind 127.0.0.1 >"$tmp/refused.port"
refused_port=$(<"$tmp/refused.port")
kill -TERM "${server_pids[-1]}"
wait "${server_pids[-1]}" 2>/dev/null || true
unset 'server_pids[-1]'

echo "generate-traffic: ${duration}s of traffic: tcp 127.0.0.1:$tcp4_port [::1]:$tcp6_port," \
	"refused 127.0.0.1:$refused_port, udp 127.0.0.1:$udp4_port"

tcp_ok=0 tcp_failed=0 refused=0 tcp_sent=0 tcp_rcvd=0
udp_flows=0 udp_sent=0 udp_rcvd=0 udp_lost=0 rounds=0
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
end=$(($(now_us) + duration * 1000000))
while (($(now_us) < end)); do
	"$TRAFFICGEN" tcp-client --connect 127.0.0.1 --port "$tcp4_port" --conns 5 --send 2000 \
		--recv 1000 --parallel 2 --deadline-ms "$client_deadline_ms" >"$tmp/c4.json"
	"$TRAFFICGEN" tcp-client --connect ::1 --port "$tcp6_port" --conns 3 --send 300 \
		--recv 500 --deadline-ms "$client_deadline_ms" >"$tmp/c6.json"
	"$TRAFFICGEN" tcp-client --connect 127.0.0.1 --port "$refused_port" --conns 1 \
		--deadline-ms "$client_deadline_ms" >"$tmp/refused.json"
	"$TRAFFICGEN" udp-client --connect 127.0.0.1 --port "$udp4_port" --flows 3 --datagrams 5 \
		--size 200 --deadline-ms "$client_deadline_ms" >"$tmp/u.json"
	for f in c4 c6; do
		tcp_ok=$((tcp_ok + $(jnum "$tmp/$f.json" ok)))
		tcp_failed=$((tcp_failed + $(jnum "$tmp/$f.json" failed)))
		tcp_sent=$((tcp_sent + $(jnum "$tmp/$f.json" bytes_sent)))
		tcp_rcvd=$((tcp_rcvd + $(jnum "$tmp/$f.json" bytes_received)))
	done
	refused=$((refused + $(jnum "$tmp/refused.json" ECONNREFUSED || echo 0)))
	udp_flows=$((udp_flows + $(jnum "$tmp/u.json" flows)))
	udp_sent=$((udp_sent + $(jnum "$tmp/u.json" sent_datagrams)))
	udp_rcvd=$((udp_rcvd + $(jnum "$tmp/u.json" recv_datagrams)))
	udp_lost=$((udp_lost + $(jnum "$tmp/u.json" lost)))
	rounds=$((rounds + 1))
	sleep 0.2
done

echo "generate-traffic: $rounds rounds:" \
	"tcp ok=$tcp_ok failed=$tcp_failed bytes_sent=$tcp_sent bytes_received=$tcp_rcvd;" \
	"refused=$refused; udp flows=$udp_flows datagrams_sent=$udp_sent" \
	"datagrams_received=$udp_rcvd lost=$udp_lost"
