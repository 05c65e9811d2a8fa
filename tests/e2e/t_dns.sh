#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DNS (issue 5): a test DNS server (tests/lib/dnsserver.py) in the server
# namespace answers on UDP and TCP port 53; the client namespace resolves
# through it with libc's getaddrinfo (its resolv.conf comes from
# /etc/netns/NS/resolv.conf, which `ip netns exec` bind-mounts), then talks to
# the resolved addresses. The agent watches the client namespace. Ground
# truth: the DNS server's own query log (what it received and answered), the
# client's counts. Asserts gespann_dns_queries_total{qtype,rcode,server},
# gespann_dns_latency_seconds (300 ms answers above 0.25 s, the rest below),
# timeouts, dst_name on flows (the queried name; a CNAME lookup labels with
# the alias), DNS over TCP and IPv6, malformed packets, and the dns.events log.
#
# E2E_DRY_RUN=1 leaves out the issue-5 configuration keys, so the traffic and
# ground-truth side runs against an agent without them (issue-5 asserts fail).
set -uo pipefail
E2E_NAME=dns
source "$(dirname "$0")/lib.sh"
DNSSERVER=$E2E_ROOT/tests/lib/dnsserver.py
DNSCLIENT=$E2E_ROOT/tests/lib/dnsclient.py
DNS_LOG=$E2E_TMP/dnsserver.log

netns_setup gsp-dns || { not_ok "netns setup"; e2e_finish; exit 1; }
NETNS_ETC=/etc/netns/$NS_CLI
dns_cleanup() {
	rm -f "$NETNS_ETC/resolv.conf"
	rmdir "$NETNS_ETC" 2>/dev/null || true
	rmdir /etc/netns 2>/dev/null || true # only when no other test uses it
}
e2e_on_exit dns_cleanup

mkdir -p "$NETNS_ETC"
# No search list and names with a trailing dot: glibc sends exactly one query
# per lookup (one family, one attempt, no search-domain retries).
printf 'nameserver %s\noptions attempts:1 timeout:2 ndots:1\n' "$SRV4" >"$NETNS_ETC/resolv.conf"

agent_start dns "/var/run/netns/$NS_CLI" "$(issue5_yaml 'dns:
  enabled: true
  events: log
  timeout: 1s')" || { e2e_finish; exit 1; }

netns_srv python3 "$DNSSERVER" --bind "$SRV4" --bind "$SRV6" --log "$DNS_LOG" >"$E2E_TMP/dnsserver.out" 2>&1 &
wait_for grep -q listening "$E2E_TMP/dnsserver.out" || not_ok "dns server listening ($(cat "$E2E_TMP/dnsserver.out"))"
for addr in "$SRV4" "$SRV6"; do
	netns_srv "$TRAFFICGEN" tcp-server --bind "$addr" --port 9101 --deadline-ms 200000 >"$E2E_TMP/srv-$addr.out" 2>&1 &
	wait_for grep -q listening "$E2E_TMP/srv-$addr.out" || not_ok "tcp server on $addr:9101"
done
assert_eq "$(netns_cli cat /etc/resolv.conf | head -1)" "nameserver $SRV4" "client namespace resolves through the test server"

dnsc() { # OUT ARGS...: dnsclient in the client namespace, JSON to $E2E_TMP/OUT.json
	local out=$1
	shift
	netns_cli python3 "$DNSCLIENT" "$@" >"$E2E_TMP/$out.json" 2>"$E2E_TMP/$out.err"
}

# ---- lookups with known multiplicities ----
# alias first and api last: the last lookup giving 198.18.0.2 is api's.
dnsc r-alias resolve alias.gespann.test. --family 4 --count 2
dnsc r-v6 resolve v6.gespann.test. --family 6 --count 2
dnsc r-missing resolve missing.gespann.test. --family 4 --count 3
dnsc r-slow resolve slow.gespann.test. --family 4 --count 2
dnsc r-fail resolve fail.gespann.test. --family 4 --count 1
dnsc r-drop resolve drop.gespann.test. --family 4 --count 1
dnsc r-api resolve api.gespann.test. --family 4 --count 3
assert_eq "$(jget "$E2E_TMP/r-api.json" ok)" 3 "client: api.gespann.test resolved 3 times"
assert_eq "$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["addresses"]))' "$E2E_TMP/r-alias.json")" "$SRV4" "client: alias.gespann.test resolves to $SRV4"
assert_eq "$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["addresses"]))' "$E2E_TMP/r-v6.json")" "$SRV6" "client: v6.gespann.test resolves to $SRV6"
assert_eq "$(jget "$E2E_TMP/r-missing.json" errors.EAI_NONAME)" 3 "client: missing.gespann.test is EAI_NONAME"
assert_eq "$(jget "$E2E_TMP/r-slow.json" ok)" 2 "client: slow.gespann.test resolved"
assert_eq "$(jget "$E2E_TMP/r-fail.json" ok)" 0 "client: fail.gespann.test does not resolve"
assert_eq "$(jget "$E2E_TMP/r-drop.json" ok)" 0 "client: drop.gespann.test times out"

# ---- flows named by the lookups ----
# Each send resolves the name again right before connecting (one more query).
dnsc s-api send api.gespann.test. --family 4 --port 9101 --bytes 4321
dnsc s-v6 send v6.gespann.test. --family 6 --port 9101 --bytes 2345
# The alias is now the last lookup of 198.18.0.2: its connection is named after it.
dnsc r-alias2 resolve alias.gespann.test. --family 4 --count 1
dnsc s-alias send alias.gespann.test. --family 4 --port 9101 --bytes 1111
assert_eq "$(jget "$E2E_TMP/s-api.json" sent)" 4321 "client: bytes sent to api.gespann.test"
assert_eq "$(jget "$E2E_TMP/s-alias.json" sent)" 1111 "client: bytes sent to alias.gespann.test"

# ---- DNS over TCP, to the IPv6 address of the server, and over IPv4 ----
dnsc t-mx tcp-query "$SRV6" api.gespann.test MX
dnsc t-nx tcp-query "$SRV4" missing.gespann.test A
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rcode"])' "$E2E_TMP/t-mx.json")" NOERROR "client: TCP MX query answered NOERROR"
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rcode"])' "$E2E_TMP/t-nx.json")" NXDOMAIN "client: TCP query for missing.gespann.test is NXDOMAIN"

# ---- ground truth: what the DNS server received ----
# One line per (qtype, rcode as the agent names it, server): "timeout" for a
# query the server dropped (the agent's dns.timeout is 1 s, glibc waits 2 s).
dns_truth() {
	python3 - "$DNS_LOG" <<'PY'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("malformed"):
        continue
    rcode = "timeout" if r["rcode"] == "dropped" else r["rcode"]
    c[(r["qtype"], rcode, r["server"])] += 1
for (q, rc, srv), n in sorted(c.items()):
    print(q, rc, srv, n)
PY
}
wait_for grep -q '"drop.gespann.test"' "$DNS_LOG" || not_ok "server logged the dropped query"
e2e_log "DNS server saw (qtype rcode server count):"
dns_truth | sed 's/^/#   /'
e2e_log "server log per name: $(python3 -c '
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    c["malformed" if r.get("malformed") else r["proto"] + ":" + r["name"] + "/" + r["qtype"]] += 1
print(", ".join("%s=%d" % kv for kv in sorted(c.items())))' "$DNS_LOG")"
total_q=$(dns_truth | awk '{s += $4} END {print s + 0}')
answered_q=$(dns_truth | awk '$2 != "timeout" {s += $4} END {print s + 0}')
slow_q=$(grep -c '"name": "slow.gespann.test"' "$DNS_LOG")
# The plan above: 2+2+3+2+1+1+3 lookups, 3 sends, 1 more alias lookup, 2 TCP queries.
assert_eq "$total_q" 20 "DNS server received the 20 planned queries (glibc sent one per lookup)"

# ---- the agent's DNS counters against the server's log ----
assert_true "all queries counted (answered or timed out)" wait_msum 10 "$total_q" gespann_dns_queries_total
scrape
while read -r qtype rcode server n; do
	assert_eq "$(msum gespann_dns_queries_total qtype="$qtype" rcode="$rcode" server="$server")" "$n" \
		"gespann_dns_queries_total{qtype=\"$qtype\",rcode=\"$rcode\",server=\"$server\"}"
done < <(dns_truth)
assert_eq "$(mlabels gespann_dns_queries_total)" "qtype,rcode,server" "dns queries: default labels"
assert_eq "$(msum gespann_dns_queries_total qtype=MX rcode=NOERROR server="$SRV6")" 1 "the TCP query over IPv6 counted once, NOERROR"
assert_eq "$(msum gespann_dns_queries_total qtype=A rcode=timeout server="$SRV4")" 1 "the dropped query counted as timeout"

# ---- latency: 300 ms answers above 0.25 s, every other answer below ----
read -r le_fast cum_fast < <(mbucket gespann_dns_latency_seconds 0.25 server="$SRV4")
read -r _ cum_all < <(mbucket gespann_dns_latency_seconds inf server="$SRV4")
answered4=$(dns_truth | awk -v s="$SRV4" '$2 != "timeout" && $3 == s {n += $4} END {print n + 0}')
assert_eq "$(msum gespann_dns_latency_seconds_count)" "$answered_q" "dns latency: one observation per answered query"
assert_eq "$cum_all" "$answered4" "dns latency{server=$SRV4}: le=+Inf = answered queries"
assert_eq "$cum_fast" $((answered4 - slow_q)) "dns latency{server=$SRV4}: le=$le_fast holds all but the $slow_q slow answers"
read -r le_slow cum_slow < <(mbucket gespann_dns_latency_seconds 0.299 server="$SRV4")
assert_eq "$cum_slow" $((answered4 - slow_q)) "dns latency{server=$SRV4}: the slow answers lie above le=$le_slow"
lat_sum=$(msum gespann_dns_latency_seconds_sum server="$SRV4")
assert_ge "$lat_sum" "$(python3 -c "print(0.3 * $slow_q)")" "dns latency sum covers the slow answers"

# ---- flows carry the name that was looked up ----
assert_true "flow bytes to api.gespann.test:9101" wait_msum 5 4321 gespann_flow_bytes_total direction=sent protocol=tcp dst_port=9101 dst_name=api.gespann.test
scrape
assert_eq "$(msum gespann_flow_bytes_total direction=sent protocol=tcp dst_port=9101 dst_name=api.gespann.test dst_address="$SRV4")" 4321 "flow bytes{dst_name=\"api.gespann.test\",dst_address=\"$SRV4\"} = bytes sent"
assert_eq "$(msum gespann_flow_bytes_total direction=sent protocol=tcp dst_port=9101 dst_name=v6.gespann.test dst_address="$SRV6")" 2345 "flow bytes{dst_name=\"v6.gespann.test\",dst_address=\"$SRV6\"} = bytes sent"
assert_eq "$(msum gespann_flow_bytes_total direction=sent protocol=tcp dst_port=9101 dst_name=alias.gespann.test dst_address="$SRV4")" 1111 "CNAME: flow named after the queried alias (the last lookup of $SRV4), not its target"
assert_eq "$(msum gespann_flow_bytes_total direction=sent protocol=tcp dst_port=9101)" $((4321 + 2345 + 1111)) "every byte to :9101 is in a named series"
assert_eq "$(msum gespann_flow_bytes_total direction=sent protocol=tcp dst_port=9101 dst_name=)" 0 "no unnamed flow to :9101"
assert_eq "$(msum gespann_flow_connections_total protocol=tcp dst_port=9101 dst_name=alias.gespann.test outcome=ok)" 1 "one connection to alias.gespann.test"

# ---- malformed packets: counted, and the agent keeps running ----
base_mal=$(msum gespann_dns_malformed_total)
mal0=$(grep -c '"malformed": true' "$DNS_LOG")
dnsc garbage garbage "$SRV4"
# shellcheck disable=SC2016  # expanded by the inner bash
wait_until 5 bash -c '[[ $(grep -c "\"malformed\": true" "$1") -ge $(($2 + 5)) ]]' _ "$DNS_LOG" "$mal0"
assert_eq $(($(grep -c '"malformed": true' "$DNS_LOG") - mal0)) 5 "DNS server could not parse the 5 garbage packets (ground truth)"
assert_true "gespann_dns_malformed_total +5" wait_msum 5 $((base_mal + 5)) gespann_dns_malformed_total
assert_true "agent still running after malformed packets" kill -0 "$AGENT_PID"
dnsc r-after resolve api.gespann.test. --family 4 --count 1
assert_true "a query after the garbage is still counted" wait_msum 5 $((total_q + 1)) gespann_dns_queries_total

# ---- dns.events: log: one line per answered or timed-out query ----
events_truth=$(python3 - "$DNS_LOG" <<'PY'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not r.get("malformed"):
        c[(r["name"], r["qtype"], "timeout" if r["rcode"] == "dropped" else r["rcode"])] += 1
print(" ".join("%s/%s/%s=%d" % (k + (n,)) for k, n in sorted(c.items())))
PY
)
events_seen=$(python3 - "$AGENT_LOG" <<'PY'
import collections, json, re, sys
c = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"level=info dns (\{.*\})\s*$", line)
    if m:
        r = json.loads(m.group(1))
        c[(r.get("name"), r.get("type"), r.get("rcode"))] += 1
print(" ".join("%s/%s/%s=%d" % (k + (n,)) for k, n in sorted(c.items())))
PY
)
assert_eq "$events_seen" "$events_truth" "dns.events log lines (name/type/rcode=count) = the server's log"
assert_eq "$(grep -c 'level=info dns {"name":"slow.gespann.test"' "$AGENT_LOG")" "$slow_q" "event lines for slow.gespann.test, in the documented format"

scrape
assert_eq "$(metric gespann_events_lost_total)" 0 "no ring-buffer record lost"
e2e_finish
