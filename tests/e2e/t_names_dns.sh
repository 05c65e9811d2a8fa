#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host names (issue 12): dnsmasq in the server namespace answers for names
# with TTL 0 (--address) and TTL 60 (--host-record with a TTL); the client
# namespace resolves through it with libc's getaddrinfo, then connects the
# way socket.create_connection does (getaddrinfo on the address literal
# again). Asserted, against what dig and the clients themselves printed:
#   - TTL 0 and TTL 60 answers name the connections they caused;
#   - the literal look-up does not replace the name;
#   - two processes resolving different names to one address each get their own;
#   - a name looked up after a connection began does not label it;
#   - UDP flows to the DNS server itself carry no name, although the last
#     look-up resolves a name to the server's address.
set -uo pipefail
E2E_NAME=names_dns
source "$(dirname "$0")/lib.sh"
DNSCLIENT=$E2E_ROOT/tests/lib/dnsclient.py
DNSMASQ_LOG=$E2E_TMP/dnsmasq.log
ZERO=198.18.0.20  # zero.gespann.test, TTL 0
SIXTY=198.18.0.21 # sixty.gespann.test, TTL 60
SHARED=198.18.0.22 # one.gespann.test and two.gespann.test
LATE=198.18.0.23  # late.gespann.test
PORT=9300

command -v dnsmasq >/dev/null || { not_ok "dnsmasq installed (scripts/install-deps.sh)"; e2e_finish; exit 1; }
command -v dig >/dev/null || { not_ok "dig installed (scripts/install-deps.sh)"; e2e_finish; exit 1; }
netns_setup gsp-nms || { not_ok "netns setup"; e2e_finish; exit 1; }
NETNS_ETC=/etc/netns/$NS_CLI
names_cleanup() {
	rm -f "$NETNS_ETC/resolv.conf"
	rmdir "$NETNS_ETC" 2>/dev/null || true
	rmdir /etc/netns 2>/dev/null || true # only when no other test uses it
}
e2e_on_exit names_cleanup
mkdir -p "$NETNS_ETC"
# One query per look-up: no search list, one attempt, names with a final dot.
printf 'nameserver %s\noptions attempts:1 timeout:2 ndots:1\n' "$SRV4" >"$NETNS_ETC/resolv.conf"
for a in $ZERO $SIXTY $SHARED $LATE; do
	ip -n "$NS_SRV" addr add "$a/32" dev "$IF_SRV" || not_ok "address $a on the server"
done

agent_start names "/var/run/netns/$NS_CLI" || { e2e_finish; exit 1; }

netns_srv dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$SRV4" --port=53 --user=root --group=root --pid-file= \
	--log-queries --log-facility="$DNSMASQ_LOG" \
	--address=/zero.gespann.test/$ZERO \
	--host-record=sixty.gespann.test,$SIXTY,60 \
	--host-record=one.gespann.test,$SHARED,60 --host-record=two.gespann.test,$SHARED,60 \
	--host-record=late.gespann.test,$LATE,60 --host-record=ns.gespann.test,$SRV4,60 \
	>"$E2E_TMP/dnsmasq.out" 2>&1 &
netns_srv "$TRAFFICGEN" tcp-server --bind 0.0.0.0 --port $PORT --deadline-ms 200000 >"$E2E_TMP/srv.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/srv.out" || not_ok "tcp server listening"
# No probing query (it could reach the port before dnsmasq does): its log.
wait_for grep -q 'started, version' "$DNSMASQ_LOG" || not_ok "dnsmasq started ($(cat "$E2E_TMP/dnsmasq.out"))"

# What the resolver answers: "NAME. TTL IN A ADDRESS", from dig.
answer() { netns_cli dig +noall +answer +tries=1 "@$SRV4" "$1" A | awk '{print $1, $2, $5}'; }
assert_eq "$(answer zero.gespann.test)" "zero.gespann.test. 0 $ZERO" "dnsmasq: zero.gespann.test has TTL 0"
assert_eq "$(answer sixty.gespann.test)" "sixty.gespann.test. 60 $SIXTY" "dnsmasq: sixty.gespann.test has TTL 60"
assert_eq "$(answer one.gespann.test)" "one.gespann.test. 60 $SHARED" "dnsmasq: one.gespann.test"
assert_eq "$(answer two.gespann.test)" "two.gespann.test. 60 $SHARED" "dnsmasq: two.gespann.test"

dial() { # OUT ARGS...: dnsclient dial in the client namespace, JSON to $E2E_TMP/OUT.json
	local out=$1
	shift
	netns_cli python3 "$DNSCLIENT" dial --port $PORT "$@" >"$E2E_TMP/$out.json" 2>"$E2E_TMP/$out.err"
}
jstr() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v := v[k] for k in sys.argv[2].split(".")]; print(v)' "$E2E_TMP/$1.json" "$2"; }

# ---- TTL 0 and TTL 60, then create_connection on the literal ----
dial zero --name zero.gespann.test. --bytes 1001
dial sixty --name sixty.gespann.test. --bytes 1002
assert_eq "$(jstr zero address) $(jstr zero sent)" "$ZERO 1001" "client: zero.gespann.test -> $ZERO, 1001 bytes sent"
assert_eq "$(jstr sixty address) $(jstr sixty sent)" "$SIXTY 1002" "client: sixty.gespann.test -> $SIXTY, 1002 bytes sent"

# ---- two processes, two names, one address ----
# one resolves first and waits; two resolves (the namespace's latest answer
# is now two's) and connects; then one connects.
rm -f "$E2E_TMP/one.ready" "$E2E_TMP/one.go"
dial one --name one.gespann.test. --bytes 1111 --ready-file "$E2E_TMP/one.ready" --go-file "$E2E_TMP/one.go" &
one_pid=$!
wait_for test -e "$E2E_TMP/one.ready" || not_ok "one resolved"
dial two --name two.gespann.test. --bytes 2222
touch "$E2E_TMP/one.go"
wait "$one_pid"
assert_eq "$(jstr one address) $(jstr two address)" "$SHARED $SHARED" "clients: one and two resolve to $SHARED"
assert_true "the two clients are two processes ($(jstr one pid), $(jstr two pid))" test "$(jstr one pid)" != "$(jstr two pid)"

# ---- a name looked up after the connection began ----
dial late --address "$LATE" --bytes 3333 --resolve-after late.gespann.test.
assert_eq "$(jstr late after.addresses)" "['$LATE']" "client: late.gespann.test -> $LATE, resolved while connected"

# ---- last: a name for the DNS server's own address ----
netns_cli python3 "$DNSCLIENT" resolve ns.gespann.test. --family 4 >"$E2E_TMP/ns.json"
assert_eq "$(jstr ns addresses)" "['$SRV4']" "client: ns.gespann.test -> $SRV4 (the DNS server)"

# ---- the agent's flows against that ----
# The plan: 4 dig queries, one look-up each by zero, sixty, one, two, late
# (after connecting) and ns; create_connection's literal asks nobody.
wait_until 5 bash -c '[[ $(grep -c "query\[A\]" "$1") -ge 10 ]]' _ "$DNSMASQ_LOG"
queries=$(grep -c 'query\[A\]' "$DNSMASQ_LOG")
assert_eq "$queries" 10 "dnsmasq received the 10 planned A queries"
e2e_log "dnsmasq answered $queries A queries: $(grep -o 'query\[A\] [^ ]*' "$DNSMASQ_LOG" | sort | uniq -c | tr -s ' \n' ' ')"
assert_true "the 5 TCP connections counted" wait_msum 10 5 gespann_flow_connections_total protocol=tcp dst_port=$PORT
assert_true "every UDP flow to the DNS server counted" wait_msum 10 "$queries" gespann_flow_connections_total protocol=udp dst_port=53
scrape
grep "dst_port=\"$PORT\"\|dst_port=\"53\"" "$E2E_TMP/last.prom" | grep gespann_flow_bytes_total | grep 'direction="sent"' | sed 's/^/#   /'
fb() { msum gespann_flow_bytes_total direction=sent protocol=tcp dst_port=$PORT "$@"; }
assert_eq "$(fb dst_address=$ZERO dst_name=zero.gespann.test)" 1001 "TTL 0: bytes{dst_name=\"zero.gespann.test\"} = client's 1001"
assert_eq "$(fb dst_address=$ZERO)" 1001 "TTL 0: no other series to $ZERO"
assert_eq "$(fb dst_address=$SIXTY dst_name=sixty.gespann.test)" 1002 "TTL 60: bytes{dst_name=\"sixty.gespann.test\"} = client's 1002"
assert_eq "$(fb dst_address=$SIXTY)" 1002 "TTL 60: no other series to $SIXTY (the literal look-up is not a name)"
assert_eq "$(fb dst_address=$SHARED dst_name=one.gespann.test)" 1111 "two processes: bytes{dst_name=\"one.gespann.test\"} = one's 1111"
assert_eq "$(fb dst_address=$SHARED dst_name=two.gespann.test)" 2222 "two processes: bytes{dst_name=\"two.gespann.test\"} = two's 2222"
assert_eq "$(fb dst_address=$LATE dst_name=)" 3333 "looked up after the connection began: bytes{dst_name=\"\"} = 3333"
assert_eq "$(fb dst_address=$LATE)" 3333 "no named series to $LATE"
assert_eq "$(msum gespann_flow_connections_total protocol=udp dst_port=53 dst_address="$SRV4" dst_name=)" "$queries" \
	"UDP flows to the DNS server: one per query dnsmasq logged ($queries), all with dst_name=\"\""
assert_eq "$(msum gespann_flow_connections_total protocol=udp dst_port=53)" "$queries" "no named UDP flow to :53"
assert_eq "$(metric gespann_events_lost_total)" 0 "no ring-buffer record lost"
e2e_finish
