#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TLS and basic auth on the Prometheus endpoint (README "TLS and
# authentication"): an exporter-toolkit web config with a server certificate
# from a CA made here and a bcrypt user. curl over HTTPS with the right
# password gets /metrics, a wrong or no password gets 401, plain HTTP to the
# TLS port fails and the next HTTPS request is served; then, on SIGHUP,
# RequireAndVerifyClientCert: no or a foreign client certificate is refused,
# the CA's one accepted. Debian's Prometheus scrapes both with scheme https,
# tls_config and basic_auth, and a value comes back through its API. A wrong
# web config stops -check-config and is refused on SIGHUP with its FILE:LINE.
set -uo pipefail
E2E_NAME=web_tls
source "$(dirname "$0")/lib.sh"

for tool in openssl htpasswd prometheus curl; do
	command -v "$tool" >/dev/null || { not_ok "$tool installed (make deps)"; e2e_finish; exit 1; }
done

# ==== Certificates and a user ====
D=$E2E_TMP/pki
mkdir -p "$D"
ossl() { openssl "$@" >>"$E2E_TMP/openssl.log" 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gespann-test-ca \
	-keyout "$D/ca.key" -out "$D/ca.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout "$D/server.key" -out "$D/server.csr"
ossl x509 -req -in "$D/server.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 2 \
	-copy_extensions copy -out "$D/server.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=prometheus -keyout "$D/client.key" -out "$D/client.csr"
ossl x509 -req -in "$D/client.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 2 \
	-out "$D/client.crt"
# a client certificate no CA of ours signed
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rogue -keyout "$D/rogue.key" -out "$D/rogue.crt"
[[ -s "$D/server.crt" && -s "$D/client.crt" && -s "$D/rogue.crt" ]] ||
	{ not_ok "certificates made ($(tail -3 "$E2E_TMP/openssl.log"))"; e2e_finish; exit 1; }
USER=prom
PASS='s3cret pass'
HASH=$(htpasswd -nbBC 10 "$USER" "$PASS" | cut -d: -f2)
printf '%s' "$PASS" >"$E2E_TMP/pass"
WEB=$E2E_TMP/web.yml
web_basic() {
	printf 'tls_server_config:\n  cert_file: pki/server.crt\n  key_file: pki/server.key\n'
	printf 'http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n'
	printf 'basic_auth_users:\n  %s: %s\n' "$USER" "$HASH"
}
web_basic >"$WEB"

# ==== A wrong web config: -check-config names its line ====
CFG_BAD=$E2E_TMP/bad.yaml
printf 'tls_server_config:\n  cert_file: pki/server.crt\n  key_file: pki/server.key\n  client_auth_type: Sometimes\n' >"$E2E_TMP/bad-web.yml"
printf 'adapters:\n  - type: prometheus\n    settings:\n      web_config_file: %s\n' "$E2E_TMP/bad-web.yml" >"$CFG_BAD"
out=$("$GS_BIN" -check-config "$CFG_BAD" 2>&1)
rc=$?
assert_eq "$rc" 2 "-check-config of a wrong web config: exit 2"
assert_true "-check-config names bad-web.yml:4 ($out)" grep -q "bad-web.yml:4: tls_server_config.client_auth_type: \"Sometimes\" is not a client auth type" <<<"$out"

# ==== TLS and basic auth ====
netns_setup gse2e-tls || { not_ok "netns setup"; e2e_finish; exit 1; }
agent_start tls "/var/run/netns/$NS_CLI" "" "      web_config_file: $WEB" || { e2e_finish; exit 1; }
assert_true "log says TLS and basic auth" grep -q "listening on 127.0.0.1:$AGENT_PORT (TLS) (basic auth)" "$AGENT_LOG"
URL=https://127.0.0.1:$AGENT_PORT
get() { # URL CURL-ARGS...: the HTTP status (000 when curl failed)
	local url=$1
	shift
	curl -s -o "$E2E_TMP/body" -D "$E2E_TMP/head" -w '%{http_code}' --max-time 5 --cacert "$D/ca.crt" "$@" "$url"
}
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS")" 200 "https with the right password: 200"
assert_true "the body is the metrics" grep -q '^gespann_build_info' "$E2E_TMP/body"
assert_true "the configured header is sent" grep -qi '^X-Content-Type-Options: nosniff' "$E2E_TMP/head"
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS")" 200 "again (the password remembered): 200"
assert_eq "$(get "$URL/metrics" -u "$USER:wrong")" 401 "a wrong password: 401"
assert_true "401 names the realm" grep -qi '^WWW-Authenticate: Basic realm="gespann"' "$E2E_TMP/head"
assert_eq "$(get "$URL/metrics" -u "nobody:$PASS")" 401 "an unknown user: 401"
assert_eq "$(get "$URL/metrics")" 401 "no credentials: 401"
assert_eq "$(get "$URL/healthz")" 401 "/healthz needs them too: 401"
assert_eq "$(get "http://127.0.0.1:$AGENT_PORT/metrics" -u "$USER:$PASS")" 000 "plain HTTP to the TLS port: curl fails"
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS")" 200 "the next HTTPS request is served"
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS" --tlsv1.2 --tls-max 1.2)" 200 "TLS 1.2 accepted by default"
assert_true "the agent still runs" kill -0 "$AGENT_PID"

# Debian's Prometheus scrapes it: scheme https, tls_config, basic_auth.
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
prom_config() { # TARGET-PORT [CLIENT-CERT]
	cat <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: gespann
    scheme: https
    tls_config:
      ca_file: $D/ca.crt
YML
	[[ -z "${2:-}" ]] || printf '      cert_file: %s\n      key_file: %s\n' "$D/client.crt" "$D/client.key"
	cat <<YML
    basic_auth:
      username: $USER
      password_file: $E2E_TMP/pass
    static_configs:
      - targets: ["127.0.0.1:$1"]
YML
}
prom_config "$AGENT_PORT" >"$E2E_TMP/prometheus.yml"
prometheus --config.file="$E2E_TMP/prometheus.yml" --storage.tsdb.path="$E2E_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pport" >"$E2E_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
query() {
	curl -sf "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
_prom_has() { [[ "$(query "$1")" == "$2" ]]; }
assert_true "prometheus scraped over TLS with basic auth: up = 1" wait_until 30 _prom_has "up{instance=\"127.0.0.1:$AGENT_PORT\"}" 1
assert_true "prometheus: gespann_build_info = 1" wait_until 10 _prom_has "gespann_build_info{instance=\"127.0.0.1:$AGENT_PORT\"}" 1

# ==== SIGHUP: a wrong web file is refused, the old listener goes on ====
hup_and_wait() { # PATTERN: SIGHUP, then wait for a new log line matching it
	local before
	before=$(grep -c -- "$1" "$AGENT_LOG")
	kill -HUP "$AGENT_PID"
	wait_until 10 bash -c '(( $(grep -c -- "$1" "$2") > $3 ))' _ "$1" "$AGENT_LOG" "$before"
}
cp "$WEB" "$E2E_TMP/web.good"
printf 'basic_auth_users:\n  %s: not-a-hash\n' "$USER" >"$WEB"
assert_true "SIGHUP with a wrong web file: refused with its line" hup_and_wait "reload refused: $WEB:2: basic_auth_users.$USER: is not a bcrypt hash"
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS")" 200 "the old listener still serves"

# ==== SIGHUP: RequireAndVerifyClientCert ====
{
	printf 'tls_server_config:\n  cert_file: pki/server.crt\n  key_file: pki/server.key\n'
	printf '  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: pki/ca.crt\n'
	printf 'basic_auth_users:\n  %s: %s\n' "$USER" "$HASH"
} >"$WEB"
assert_true "SIGHUP with client certificates: reloaded" hup_and_wait 'reloaded: adapters'
OLD_PORT=$AGENT_PORT
AGENT_PORT=$(sed -n 's/.*prometheus exporter listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$AGENT_LOG" | tail -1)
e2e_log "listener restarted on port $AGENT_PORT (was $OLD_PORT)"
URL=https://127.0.0.1:$AGENT_PORT
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS")" 403 "no client certificate: 403"
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS" --cert "$D/rogue.crt" --key "$D/rogue.key")" 403 "a certificate of another CA: 403"
assert_eq "$(get "$URL/metrics" -u "$USER:$PASS" --cert "$D/client.crt" --key "$D/client.key")" 200 "the CA's client certificate: 200"
assert_eq "$(get "$URL/metrics" -u "$USER:wrong" --cert "$D/client.crt" --key "$D/client.key")" 401 "the certificate, a wrong password: 401"

prom_config "$AGENT_PORT" client >"$E2E_TMP/prometheus.yml"
kill -HUP "$PROM_PID"
assert_true "prometheus with a client certificate: up = 1" wait_until 30 _prom_has "up{instance=\"127.0.0.1:$AGENT_PORT\"}" 1
assert_true "prometheus: gespann_build_info = 1 from the new target" wait_until 10 _prom_has "gespann_build_info{instance=\"127.0.0.1:$AGENT_PORT\"}" 1
kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
agent_stop
e2e_finish
