# SPDX-License-Identifier: MIT
#
# workloads.sh: the workloads of bench/run.sh and their checks, sourced by it
# (it uses run.sh's globals: the namespaces, ports, tools, DUR, RUN_OUT). Kept
# apart so that run.sh stays the suite's order of events and this file what
# one run of each generator is: how it is started, what figure the arms
# compare, when a run is void (WL_OK 0 and WL_WHY), and which counters of
# the agent are checked against the generator's own.
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # globals of run.sh, set here and read there

# ==== Workloads ====
# Each runs once, writes its raw output to $RUN_OUT and sets WL_VALUE (the
# figure compared between arms), WL_WORK (units of work done, for per-event
# costs), WL_ELAPSED (seconds) and WL_OK (0 when the run is invalid).

# tcp_tw NS: "TW RECYCLED OVERFLOW" of namespace NS: TIME_WAIT sockets now
# (sockstat), TIME_WAIT sockets connect() took over (TcpExtTWRecycled) and
# ones tcp_max_tw_buckets refused (TcpExtTCPTimeWaitOverflow), both counters.
tcp_tw() {
	# shellcheck disable=SC2016 # an awk program
	ip netns exec "$1" awk '
		FILENAME ~ /sockstat/ && $1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") tw = $(i + 1) }
		FILENAME ~ /netstat/ && $1 == "TcpExt:" {
			if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 }
			else { rec = $(col["TWRecycled"]); ov = $(col["TCPTimeWaitOverflow"]) } }
		END { print tw + 0, rec + 0, ov + 0 }' /proc/net/sockstat /proc/net/netstat 2>/dev/null || echo 0 0 0
}

# storm_net PRE_CLI PRE_SRV: WL_NET for a storm run that started at the
# tcp_tw readings given: failed connects, TIME_WAIT at its end, reuses and
# overflows during it.
storm_net() {
	local c0 s0 c1 s1
	read -ra c0 <<<"$1"
	read -ra s0 <<<"$2"
	read -ra c1 <<<"$(tcp_tw "$NS_CLI")"
	read -ra s1 <<<"$(tcp_tw "$NS_SRV")"
	WL_NET=$(printf '{"failed":%s,"tw_cli":%s,"tw_srv":%s,"tw_reused":%s,"tw_overflow":%s}' \
		"$(jget "$3" failed)" "${c1[0]}" "${s1[0]}" $((c1[1] - c0[1])) $((c1[2] - c0[2] + s1[2] - s0[2])))
}

# The storm's WL_NET keys as the report names them.
STORM_NET_LABELS='"net_labels":{"failed":"failed connects per run","tw_cli":"TIME_WAIT sockets in the client namespace at the end of a run","tw_srv":"TIME_WAIT sockets in the server namespace at the end of a run","tw_reused":"TIME_WAIT sockets connect() took over per run (TcpExtTWRecycled)","tw_overflow":"TIME_WAIT refused by tcp_max_tw_buckets per run (TcpExtTCPTimeWaitOverflow)"}'

# storm_gen THREADS OUT: one storm run of DUR seconds into OUT.
storm_gen() {
	netns_cli "$TRAFFICGEN" storm --connect "$SRV4" --port "$STORM_PORT" --threads "$1" \
		--duration-ms $((DUR * 1000)) --deadline-ms $((DUR * 1000 + 30000)) >"$2" 2>&1
}

# storm_check OUT: WL_OK 0 and WL_WHY when the storm run in OUT failed a
# connect or made none.
storm_check() {
	local failed conns
	failed=$(jget "$1" failed)
	conns=$(jget "$1" conns)
	[[ "$failed" == 0 && "$conns" != 0 ]] && return 0
	WL_OK=0
	WL_WHY="storm: $failed of $conns connects failed (errno: $(tr -d '\n' <"$1" | sed -n 's/.*"errno":\({[^}]*}\).*/\1/p'))"
}

wl_storm() {
	local threads=$1 c0 s0
	c0=$(tcp_tw "$NS_CLI")
	s0=$(tcp_tw "$NS_SRV")
	storm_gen "$threads" "$RUN_OUT"
	WL_VALUE=$(jget "$RUN_OUT" rate)
	WL_WORK=$(jget "$RUN_OUT" conns)
	WL_ELAPSED=$(awk -v n="$(jget "$RUN_OUT" elapsed_ns)" 'BEGIN { print n / 1e9 }')
	WL_OK=1
	storm_net "$c0" "$s0" "$RUN_OUT"
	storm_check "$RUN_OUT"
}

wl_bulk() {
	netns_cli iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t "$DUR" -A 0,1 -J >"$RUN_OUT" 2>&1
	WL_VALUE=$(awk -v b="$(jget "$RUN_OUT" end.sum_received.bits_per_second)" 'BEGIN { print b / 1e9 }')
	WL_WORK=$(awk -v b="$(jget "$RUN_OUT" end.sum_received.bytes)" 'BEGIN { print b / 1e6 }')
	WL_ELAPSED=$DUR
	WL_OK=1
	[[ "$WL_WORK" != 0 ]] || WL_OK=0
}

# http_gen OUT: one wrk run of DUR seconds into OUT.
http_gen() {
	netns_cli wrk -t 2 -c 50 -d "${DUR}s" "http://127.0.0.1:$HTTP_PORT/index.html" >"$1" 2>&1
}

# http_check OUT: WL_OK 0 and WL_WHY when the wrk run in OUT failed.
http_check() {
	[[ -n "$(awk '/^Requests\/sec:/ { print $2 }' "$1")" ]] && ! grep -q 'Non-2xx\|Socket errors' "$1" && return 0
	WL_OK=0
	WL_WHY="wrk: $(grep -m1 'Non-2xx\|Socket errors' "$1" || echo 'no result')"
}

wl_http() {
	http_gen "$RUN_OUT"
	WL_VALUE=$(awk '/^Requests\/sec:/ { print $2 }' "$RUN_OUT")
	WL_WORK=$(awk '/requests in/ { print $1 }' "$RUN_OUT")
	WL_ELAPSED=$DUR
	WL_OK=1
	[[ -n "$WL_VALUE" && -n "$WL_WORK" ]] || { WL_VALUE=0; WL_WORK=0; }
	http_check "$RUN_OUT"
}

# udp_gen OUT --datagrams N | --duration-ms MS: one flood into OUT.
udp_gen() {
	local out=$1
	shift
	netns_cli "$TOOLS/udpflood" --connect 127.0.0.1 --port "$UDP_PORT" --sockets "$UDP_SOCKETS" \
		"$@" --size 64 --deadline-ms 60000 >"$out" 2>&1
}

wl_udp() {
	udp_gen "$RUN_OUT" --datagrams "$UDP_DGRAMS"
	WL_VALUE=$(jget "$RUN_OUT" rate)
	WL_WORK=$(jget "$RUN_OUT" sent)
	WL_ELAPSED=$(awk -v n="$(jget "$RUN_OUT" elapsed_ns)" 'BEGIN { print n / 1e9 }')
	WL_OK=1
	[[ "$WL_WORK" == "$UDP_DGRAMS" ]] || { WL_OK=0; WL_WHY="udpflood: $WL_WORK of $UDP_DGRAMS datagrams sent: $(tail -1 "$RUN_OUT")"; }
}

# The mixed workload: wrk -> nginx, a 2-thread storm and a UDP flood, all
# started together for DUR seconds. WL_VALUE is the storm's rate; WL_PARTS
# holds each generator's throughput; the work unit is a second of the run.
wl_mixed() {
	local c0 s0 ph ps pu sent
	c0=$(tcp_tw "$NS_CLI")
	s0=$(tcp_tw "$NS_SRV")
	http_gen "$RUN_OUT.http" &
	ph=$!
	storm_gen 2 "$RUN_OUT.storm" &
	ps=$!
	udp_gen "$RUN_OUT.udp" --duration-ms $((DUR * 1000)) &
	pu=$!
	wait "$ph" "$ps" "$pu"
	cat "$RUN_OUT.http" "$RUN_OUT.storm" "$RUN_OUT.udp" >"$RUN_OUT"
	WL_PARTS=$(printf '{"http":%s,"storm":%s,"udp":%s}' \
		"$(awk '/^Requests\/sec:/ { v = $2 } END { print v + 0 }' "$RUN_OUT.http")" \
		"$(jget "$RUN_OUT.storm" rate)" "$(jget "$RUN_OUT.udp" rate)")
	WL_VALUE=$(jget "$RUN_OUT.storm" rate)
	WL_WORK=$DUR
	WL_ELAPSED=$DUR
	WL_OK=1
	storm_net "$c0" "$s0" "$RUN_OUT.storm"
	http_check "$RUN_OUT.http"
	storm_check "$RUN_OUT.storm"
	sent=$(jget "$RUN_OUT.udp" sent)
	[[ "$sent" != 0 && "$(jget "$RUN_OUT.udp" send_errors)" == 0 ]] ||
		{ WL_OK=0; WL_WHY="udpflood: $sent sent: $(tail -1 "$RUN_OUT.udp")"; }
}

# ==== Checks against the generators (armed gespann runs) ====
# check_BENCH PRE POST: prints a JSON object of named results.

check_storm() {
	local lost opened conns
	lost=$(metric 'gespann_events_lost_total' "$2")
	opened=$(($(metric 'gespann_connection_events_total{type="open",protocol="tcp",reset_reason=""}' "$2") -
		$(metric 'gespann_connection_events_total{type="open",protocol="tcp",reset_reason=""}' "$1")))
	conns=$(jget "$RUN_OUT" conns)
	printf '{"events_lost":%s,"no_events_lost":%s,"open_delta":%s,"gen_conns":%s,"counted":%s}' \
		"$lost" "$([[ $lost == 0 ]] && echo true || echo false)" "$opened" "$conns" \
		"$([[ $opened == "$conns" ]] && echo true || echo false)"
}

check_lost_only() {
	local lost
	lost=$(metric 'gespann_events_lost_total' "$2")
	printf '{"events_lost":%s,"no_events_lost":%s}' "$lost" "$([[ $lost == 0 ]] && echo true || echo false)"
}
check_bulk() { check_lost_only "$@"; }
check_http() { check_lost_only "$@"; }

check_udp() {
	local d_sent d_bytes d_rcvd d_full sent bytes rcvd exact
	d_sent=$(($(metric 'gespann_udp_datagrams_total{direction="sent"}' "$2") -
		$(metric 'gespann_udp_datagrams_total{direction="sent"}' "$1")))
	d_bytes=$(($(metric 'gespann_connection_bandwidth_bytes_total{direction="sent",protocol="udp"}' "$2") -
		$(metric 'gespann_connection_bandwidth_bytes_total{direction="sent",protocol="udp"}' "$1")))
	d_rcvd=$(($(metric 'gespann_udp_datagrams_total{direction="received"}' "$2") -
		$(metric 'gespann_udp_datagrams_total{direction="received"}' "$1")))
	d_full=$(($(metric 'gespann_map_full_total{map="udp_flows"}' "$2") -
		$(metric 'gespann_map_full_total{map="udp_flows"}' "$1")))
	sent=$(jget "$RUN_OUT" sent)
	bytes=$(jget "$RUN_OUT" bytes_sent)
	rcvd=$(($(jget "$RUN_OUT" received) + $(jget "$RUN_OUT" rcvbuf_errors)))
	exact=false
	[[ $d_sent == "$sent" && $d_bytes == "$bytes" && $d_rcvd == "$rcvd" ]] && exact=true
	printf '{"dgrams_sent_delta":%s,"gen_sent":%s,"bytes_sent_delta":%s,"gen_bytes":%s,' \
		"$d_sent" "$sent" "$d_bytes" "$bytes"
	printf '"dgrams_rcvd_delta":%s,"gen_rcvd":%s,"exact":%s,"map_full_delta":%s,"map_full_grows":%s}' \
		"$d_rcvd" "$rcvd" "$exact" "$d_full" "$([[ $d_full -gt 0 ]] && echo true || echo false)"
}

# The mixed run: nothing lost, the storm's connections counted (wrk's 50
# and nginx's 50 are opened before and held), the UDP datagrams exact.
check_mixed() {
	local lost udp
	lost=$(metric 'gespann_events_lost_total' "$2")
	udp=$(RUN_OUT=$RUN_OUT.udp check_udp "$1" "$2")
	printf '{"events_lost":%s,"no_events_lost":%s,%s' "$lost" \
		"$([[ $lost == 0 ]] && echo true || echo false)" "${udp#\{}"
}
