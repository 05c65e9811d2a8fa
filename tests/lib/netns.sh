# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# netns.sh: the one namespace helper that kernel tests, end-to-end tests and
# benchmarks source. It builds a client and a server network namespace joined
# by a veth pair, with test addresses only (198.18.0.0/15, fd00:6765:7370::/64)
# and no default route, so nothing a test sends can leave the machine.
#
#   source tests/lib/netns.sh
#   netns_setup gsp-e2e            # creates gsp-e2e-cli, gsp-e2e-srv
#   ip netns exec "$NS_SRV" build/tools/trafficgen tcp-server --bind "$SRV4" ...
#   netns_drop_syn 9000            # optional faults, see below
#   netns_teardown                 # also runs from the EXIT trap set up here
#
# Exports NS_CLI NS_SRV (namespace names), CLI4 SRV4 CLI6 SRV6 (addresses),
# IF_CLI IF_SRV (the veth ends). Needs root, iproute2, iptables and ping.
# Setup and fault functions return 0 or 1 (with a message on stderr); none
# calls exit. netns_setup puts netns_teardown in front of the caller's EXIT
# trap; a caller that sets its EXIT trap after netns_setup must call
# netns_teardown from it. A caller whose EXIT trap calls netns_teardown
# already (tests/e2e/lib.sh) sets NETNS_TEARDOWN_BY_CALLER=1, and netns_setup
# leaves its traps alone. Processes still running in the namespaces at
# teardown are sent SIGTERM (SIGKILL after 2 s): they belong to the test.

NETNS_CLI4=198.18.0.1
NETNS_SRV4=198.18.0.2
NETNS_CLI6=fd00:6765:7370::1
NETNS_SRV6=fd00:6765:7370::2

# wait_until TIMEOUT_S CMD...: run CMD (output discarded) every 50 ms until it
# succeeds (return 0) or TIMEOUT_S seconds (integer or decimal) have passed
# (return 1). The deadline is checked against the clock, not counted in sleeps.
wait_until() {
	local timeout=$1 sec frac now deadline
	shift
	sec=${timeout%%.*}
	frac=0
	[[ "$timeout" == *.* ]] && frac=${timeout#*.}
	frac=${frac}000000
	frac=${frac:0:6}
	now=${EPOCHREALTIME//[!0-9]/}
	deadline=$((now + 10#${sec:-0} * 1000000 + 10#$frac))
	while true; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		now=${EPOCHREALTIME//[!0-9]/}
		((now < deadline)) || return 1
		sleep 0.05
	done
}

# wait_for CMD...: wait_until with a 10 s deadline.
wait_for() {
	wait_until 10 "$@"
}

# netns_cli CMD... / netns_srv CMD...: run CMD inside the client / server namespace.
netns_cli() {
	ip netns exec "$NS_CLI" "$@"
}

netns_srv() {
	ip netns exec "$NS_SRV" "$@"
}

# Both namespaces usable: no tentative IPv6 address left, and the server
# answers ping over IPv4 and IPv6.
_netns_ready() {
	local ns
	for ns in "$NS_CLI" "$NS_SRV"; do
		[[ -z "$(ip -n "$ns" -6 addr show tentative)" ]] || return 1
	done
	netns_cli ping -q -n -c 1 -W 1 "$SRV4" &&
		netns_cli ping -q -n -6 -c 1 -W 1 "$SRV6" &&
		netns_srv ping -q -n -c 1 -W 1 "$CLI4" &&
		netns_srv ping -q -n -6 -c 1 -W 1 "$CLI6"
}

# Chain netns_teardown in front of the caller's EXIT trap (kept as it is), and
# make INT/TERM exit through it when the caller has no handler of its own.
_netns_install_trap() {
	local cur words
	[[ "${NETNS_TEARDOWN_BY_CALLER:-0}" == 1 ]] && return 0
	cur=$(trap -p EXIT)
	if [[ "$cur" != *netns_teardown* ]]; then
		if [[ -n "$cur" ]]; then
			# `trap -p` prints "trap -- 'CMD' EXIT", quoted for reuse.
			eval "words=($cur)"
			# shellcheck disable=SC2064  # the old command is meant to expand now
			trap -- "netns_teardown; ${words[2]}" EXIT
		else
			trap -- netns_teardown EXIT
		fi
	fi
	[[ -n "$(trap -p INT)" ]] || trap -- 'exit 130' INT
	[[ -n "$(trap -p TERM)" ]] || trap -- 'exit 143' TERM
}

# _netns_delete NS: stop what still runs in NS (it was started by the test) and
# delete it. Deleting alone would leave the namespace alive behind its processes.
_netns_delete() {
	local ns=$1 pids
	[[ -e "/run/netns/$ns" ]] || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [[ -n "$pids" ]]; then
		# shellcheck disable=SC2086  # one pid per word
		kill -TERM $pids 2>/dev/null || true
		# shellcheck disable=SC2016  # expanded by the inner bash
		# shellcheck disable=SC2086
		wait_until 2 bash -c '[[ -z "$(ip netns pids "$1")" ]]' _ "$ns" ||
			kill -KILL $pids 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
}

# netns_setup PREFIX: create PREFIX-cli and PREFIX-srv (see the header). A
# leftover pair of the same name, from a run that was killed, is removed first.
# Returns 1 if the links do not come up within 10 s.
netns_setup() {
	local prefix=${1:-}
	if [[ ! "$prefix" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]]; then
		echo "netns_setup: bad prefix '$prefix' (letters, digits, _ and -)" >&2
		return 1
	fi
	if [[ $EUID -ne 0 ]]; then
		echo "netns_setup: network namespaces need root" >&2
		return 1
	fi
	local tool
	for tool in ip iptables ip6tables ping; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "netns_setup: $tool not found (scripts/install-deps.sh installs it)" >&2
			return 1
		fi
	done

	export NS_CLI="$prefix-cli" NS_SRV="$prefix-srv"
	export CLI4=$NETNS_CLI4 SRV4=$NETNS_SRV4 CLI6=$NETNS_CLI6 SRV6=$NETNS_SRV6
	# Interface names are at most 15 bytes. Both ends are created directly
	# inside their namespace, so they never clash with the host's names.
	export IF_CLI="${prefix:0:13}c" IF_SRV="${prefix:0:13}s"

	_netns_install_trap
	_netns_delete "$NS_CLI"
	_netns_delete "$NS_SRV"

	local ns ifname addr4 addr6
	for ns in "$NS_CLI" "$NS_SRV"; do
		ip netns add "$ns" || return 1
		# Set before the veth exists so its ends inherit them: no DAD (not
		# even for the link-local address), no router solicitations.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.all.accept_ra=0 >/dev/null || return 1
		ip -n "$ns" link set lo up || return 1
	done
	# Distinct ifindexes: with the default (2 on both sides of two fresh
	# namespaces) iflink == ifindex, the kernel's linkwatch treats the carrier
	# change as not urgent and delays it up to 1 s, and IPv6 waits for it.
	ip link add "$IF_CLI" index 10 netns "$NS_CLI" type veth peer name "$IF_SRV" index 11 netns "$NS_SRV" ||
		return 1
	for ns in "$NS_CLI" "$NS_SRV"; do
		if [[ "$ns" == "$NS_CLI" ]]; then
			ifname=$IF_CLI addr4=$CLI4 addr6=$CLI6
		else
			ifname=$IF_SRV addr4=$SRV4 addr6=$SRV6
		fi
		ip -n "$ns" addr add "$addr4/24" dev "$ifname" || return 1
		ip -n "$ns" -6 addr add "$addr6/64" dev "$ifname" nodad || return 1
		ip -n "$ns" link set "$ifname" up || return 1
	done

	if ! wait_until 10 _netns_ready; then
		echo "netns_setup: $NS_CLI <-> $NS_SRV not reachable after 10 s" >&2
		return 1
	fi
}

# netns_teardown: delete both namespaces. Idempotent; safe before setup.
netns_teardown() {
	[[ -n "${NS_CLI:-}" ]] && _netns_delete "$NS_CLI"
	[[ -n "${NS_SRV:-}" ]] && _netns_delete "$NS_SRV"
	return 0
}

# _netns_ipt ARGS...: the same rule for iptables and ip6tables in the server namespace.
_netns_ipt() {
	netns_srv iptables -w -A "$@" && netns_srv ip6tables -w -A "$@"
}

# netns_drop_syn PORT: the server namespace drops TCP SYNs to PORT, so connects
# to it time out (combine with netns_syn_retries to keep that short).
netns_drop_syn() {
	local port=${1:?netns_drop_syn PORT}
	_netns_ipt INPUT -p tcp --dport "$port" --syn -j DROP
}

# netns_drop_random PROB: the server namespace drops each incoming TCP segment
# with probability PROB (0.0-1.0), which makes the client retransmit.
netns_drop_random() {
	local prob=${1:?netns_drop_random PROB}
	_netns_ipt INPUT -p tcp -m statistic --mode random --probability "$prob" -j DROP
}

# netns_syn_retries N: SYN retries in the client namespace (N=1: a dropped
# connect times out after about 3 s instead of 2 minutes).
netns_syn_retries() {
	local n=${1:?netns_syn_retries N}
	netns_cli sysctl -qw "net.ipv4.tcp_syn_retries=$n" >/dev/null
}

# netns_keep_time_wait: TIME_WAIT sockets in the client namespace ignore RSTs
# (tcp_rfc1337=1). Under a slow guest the server can retransmit its FIN from
# LAST_ACK; the client's TIME_WAIT socket ACKs each copy, the second ACK finds
# the server socket closed, and the RST it draws ends that TIME_WAIT early
# (seen in the 6.1 guest: 6 of 7 left, TcpOutRsts +1 on the server). Tests
# that count TIME_WAIT sockets set this so the count is the one they made.
netns_keep_time_wait() {
	netns_cli sysctl -qw net.ipv4.tcp_rfc1337=1 >/dev/null
}
