# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# exporters_lib.sh: the receiving ends of the push exporters, shared by
# t_datadog.sh, t_otlp.sh and t_exporters_all.sh. Source it after lib.sh.
#   - statsd: the npm statsd daemon (0.9, installed into build/node on first
#     use) on 127.0.0.1, with statsd_totals_backend.js writing what statsd
#     parsed to $STATSD_TOTALS after each flush; statsd_total reads it.
#   - OTLP: otlp_receiver.js on 127.0.0.1, decoding every request with
#     OpenTelemetry JS's generated protobuf code (the npm package installed
#     into build/node on first use); otlp_query reads its log.
#   - OTLP/gRPC: otlp_grpc_receiver.js on 127.0.0.1, gRPC's own Node.js
#     server (@grpc/grpc-js, @grpc/proto-loader, installed into build/node
#     on first use) with the vendored protos; it writes the same log.
# Both are stopped at exit by lib.sh's EXIT trap, like every process a
# scenario starts.

NODE_DIR=$E2E_ROOT/build/node

# ==== node ====

# node_need: node and npm on PATH (a message on stderr when not).
node_need() {
	local tool
	for tool in node npm; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "${E2E_NAME:-e2e}: $tool not found (make deps installs it)" >&2
			return 1
		fi
	done
}

# free_port udp|tcp: a port free on 127.0.0.1 right now.
free_port() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

# ==== statsd ====

STATSD_JS=$NODE_DIR/node_modules/statsd/stats.js
STATSD_BACKEND_JS=$E2E_ROOT/tests/e2e/statsd_totals_backend.js
STATSD_TOTALS=$E2E_TMP/totals.json
STATSD_PID=
STATSD_PORT=

statsd_version() {
	node -e 'console.log(require(process.argv[1]).version)' "$NODE_DIR/node_modules/statsd/package.json" 2>/dev/null
}

# statsd_install: statsd 0.9.x into build/node, once.
statsd_install() {
	node_need || return 1
	if [[ -f "$STATSD_JS" && "$(statsd_version)" == 0.9.* ]]; then
		return 0
	fi
	e2e_log "installing statsd@0.9 into $NODE_DIR"
	mkdir -p "$NODE_DIR"
	npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error statsd@0.9 >"$E2E_TMP/npm.log" 2>&1 ||
		{ tail -5 "$E2E_TMP/npm.log" >&2; return 1; }
	[[ "$(statsd_version)" == 0.9.* ]]
}

# statsd_start: statsd on 127.0.0.1:$STATSD_PORT (a free UDP port), flushing
# every second into $STATSD_TOTALS. Does not wait for the first flush (the
# caller does: test -s "$STATSD_TOTALS").
statsd_start() {
	STATSD_PORT=$(free_port udp)
	rm -f "$STATSD_TOTALS"
	cat >"$E2E_TMP/statsd.js" <<JS
{
  address: "127.0.0.1",
  port: $STATSD_PORT,
  mgmt_address: "127.0.0.1",
  mgmt_port: $(free_port tcp),
  flushInterval: 1000,
  backends: ["$STATSD_BACKEND_JS"],
  totalsFile: "$STATSD_TOTALS",
  deleteIdleStats: false,
  deleteCounters: false,
  automaticConfigReload: false
}
JS
	node "$STATSD_JS" "$E2E_TMP/statsd.js" >"$E2E_TMP/statsd.log" 2>&1 &
	STATSD_PID=$!
	e2e_log "statsd pid $STATSD_PID udp 127.0.0.1:$STATSD_PORT"
}

statsd_stop() {
	[[ -n "$STATSD_PID" ]] || return 0
	kill -TERM "$STATSD_PID" 2>/dev/null || true
	wait "$STATSD_PID" 2>/dev/null || true
	STATSD_PID=
}

# statsd_total KIND KEY: a number from statsd's totals (counters, gauges, observations),
# 0 when absent. Keys are statsd's: "name;tag=value;..." for DogStatsD tags.
statsd_total() {
	python3 - "$STATSD_TOTALS" "$1" "$2" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    doc = {}
v = doc.get(sys.argv[2], {}).get(sys.argv[3], 0)
print(int(v) if float(v).is_integer() else repr(v))
PY
}

# ==== OTLP receiver ====

OTLP_PKG=@opentelemetry/otlp-proto-exporter-base@0.51.1
OTLP_ROOT_JS=$NODE_DIR/node_modules/@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js
RECV_PID=
RECV_PORT=
RECV_OUT=

# otlp_install: the OpenTelemetry JS package into build/node, once (npm's
# output in $E2E_TMP/npm.log). Needs node and npm (node_need).
otlp_install() {
	[[ -f "$OTLP_ROOT_JS" ]] && return 0
	e2e_log "installing $OTLP_PKG into $NODE_DIR"
	npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$OTLP_PKG" >"$E2E_TMP/npm.log" 2>&1
}

# receiver_start NAME [FAIL_MODE COUNT]: start a receiver writing $E2E_TMP/NAME.jsonl.
receiver_start() {
	local name=$1 mode=${2:-none} count=${3:-0}
	RECV_OUT=$E2E_TMP/$name.jsonl
	: >"$RECV_OUT"
	rm -f "$E2E_TMP/$name.port"
	node "$E2E_ROOT/tests/e2e/otlp_receiver.js" --root "$OTLP_ROOT_JS" --out "$RECV_OUT" \
		--port-file "$E2E_TMP/$name.port" --fail "$mode" --count "$count" >"$E2E_TMP/$name.recv.log" 2>&1 &
	RECV_PID=$!
	if ! wait_for test -s "$E2E_TMP/$name.port"; then
		not_ok "receiver $name started ($(tail -3 "$E2E_TMP/$name.recv.log"))"
		return 1
	fi
	RECV_PORT=$(cat "$E2E_TMP/$name.port")
	e2e_log "receiver $name pid $RECV_PID port $RECV_PORT (fail: $mode x $count)"
}

receiver_stop() {
	[[ -n "$RECV_PID" ]] || return 0
	kill -TERM "$RECV_PID" 2>/dev/null || true
	wait "$RECV_PID" 2>/dev/null || true
	RECV_PID=
}

# ==== OTLP/gRPC receiver ====

GRPC_PKGS=(@grpc/grpc-js@1.10.9 @grpc/proto-loader@0.7.13)

grpc_version() {
	node -e 'console.log(require(process.argv[1]).version)' "$NODE_DIR/node_modules/@grpc/$1/package.json" 2>/dev/null
}

# grpc_install: the pinned gRPC packages into build/node, once (npm's output
# in $E2E_TMP/npm.log). Needs node and npm (node_need).
grpc_install() {
	if [[ "$(grpc_version grpc-js)" == 1.10.9 && "$(grpc_version proto-loader)" == 0.7.13 ]]; then
		return 0
	fi
	e2e_log "installing ${GRPC_PKGS[*]} into $NODE_DIR"
	mkdir -p "$NODE_DIR"
	npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "${GRPC_PKGS[@]}" >"$E2E_TMP/npm.log" 2>&1 ||
		{ tail -5 "$E2E_TMP/npm.log" >&2; return 1; }
	[[ "$(grpc_version grpc-js)" == 1.10.9 ]]
}

# grpc_receiver_start NAME [FAIL_MODE COUNT [RECEIVER_ARGS...]]: start
# otlp_grpc_receiver.js writing $E2E_TMP/NAME.jsonl (RECV_OUT, RECV_PORT, RECV_PID
# as receiver_start sets them; receiver_stop stops it).
grpc_receiver_start() {
	local name=$1 mode=${2:-none} count=${3:-0}
	RECV_OUT=$E2E_TMP/$name.jsonl
	: >"$RECV_OUT"
	rm -f "$E2E_TMP/$name.port"
	node "$E2E_ROOT/tests/e2e/otlp_grpc_receiver.js" --modules "$NODE_DIR/node_modules" \
		--proto-dir "$E2E_ROOT/third_party/opentelemetry-proto" --out "$RECV_OUT" \
		--port-file "$E2E_TMP/$name.port" --fail "$mode" --count "$count" "${@:4}" >"$E2E_TMP/$name.recv.log" 2>&1 &
	RECV_PID=$!
	if ! wait_for test -s "$E2E_TMP/$name.port"; then
		not_ok "grpc receiver $name started ($(tail -3 "$E2E_TMP/$name.recv.log"))"
		return 1
	fi
	RECV_PORT=$(cat "$E2E_TMP/$name.port")
	e2e_log "grpc receiver $name pid $RECV_PID port $RECV_PORT (fail: $mode x $count)"
}

# otlp_adapter [SETTINGS_LINES]: the YAML of an otlp adapter entry to the receiver.
otlp_adapter() {
	printf '  - type: otlp\n    settings:\n      endpoint: http://127.0.0.1:%s/v1/metrics\n' "$RECV_PORT"
	[[ -n "${1:-}" ]] && printf '%s\n' "$1"
	return 0
}

# otlp_query QUERY ARGS...: read the receiver's log ($RECV_OUT). Queries:
#   count [STATUS]           requests received (with that status: 200, or a
#                            gRPC code name such as OK, UNAVAILABLE)
#   value NAME [K=V...]      from the last request answered 200 (OK): the point's value
#                            (a histogram's count), attributes matched exactly
#   kind NAME                sum/<temporality>/<monotonic>, gauge, histogram/<temporality>
#   unit NAME                the metric's unit
#   resource KEY             a resource attribute
#   scope                    the scope name
#   field SEQ KEY            contentType, contentEncoding, status, t_ms, or a header
#   snapshot SEQ             timeUnixNano of the first point of request SEQ
#   gap SEQ1 SEQ2            ms between two requests' arrival
otlp_query() {
	python3 - "$RECV_OUT" "$@" <<'PY'
import json, sys
path, q, args = sys.argv[1], sys.argv[2], sys.argv[3:]
reqs = [json.loads(l) for l in open(path) if l.strip()]
def metrics(r):
    out = {}
    for rm in r.get("body", {}).get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                out[m["name"]] = m
    return out
def last_ok():
    ok = [r for r in reqs if r["status"] in (200, "OK")]  # HTTP, or gRPC's code
    return ok[-1] if ok else {}
def attrs(p):
    return {a["key"]: a["value"].get("stringValue") for a in p.get("attributes", [])}
def num(x):
    v = float(x)
    return str(int(v)) if v == int(v) else repr(v)
if q == "count":
    print(sum(1 for r in reqs if not args or str(r["status"]) == args[0]))
elif q in ("value", "kind", "unit"):
    m = metrics(last_ok()).get(args[0])
    if m is None:
        print("absent")
    elif q == "unit":
        print(m.get("unit", ""))
    elif q == "kind":
        if "sum" in m:
            print("sum/%s/%s" % (m["sum"].get("aggregationTemporality", 0),
                                 str(m["sum"].get("isMonotonic", False)).lower()))
        elif "gauge" in m:
            print("gauge")
        elif "histogram" in m:
            print("histogram/%s" % m["histogram"].get("aggregationTemporality", 0))
        else:
            print("other")
    else:
        want = dict(a.split("=", 1) for a in args[1:])
        data = m.get("sum") or m.get("gauge") or m.get("histogram")
        pts = [p for p in data.get("dataPoints", []) if attrs(p) == want]
        if not pts:
            print("absent")
        elif "histogram" in m:
            print(num(pts[0].get("count", 0)))
        else:
            p = pts[0]
            print(num(p["asDouble"]) if "asDouble" in p else num(p.get("asInt", 0)))
elif q == "resource":
    rm = last_ok().get("body", {}).get("resourceMetrics", [{}])[0]
    print(attrs(rm.get("resource", {})).get(args[0], "absent"))
elif q == "scope":
    rm = last_ok().get("body", {}).get("resourceMetrics", [{}])[0]
    print(rm.get("scopeMetrics", [{}])[0].get("scope", {}).get("name", "absent"))
elif q == "field":
    r = reqs[int(args[0])] if int(args[0]) < len(reqs) else {}
    print(r.get(args[1], r.get("headers", {}).get(args[1].lower(), "absent")))
elif q == "snapshot":
    r = reqs[int(args[0])] if int(args[0]) < len(reqs) else {}
    for m in metrics(r).values():
        data = m.get("sum") or m.get("gauge") or m.get("histogram")
        if data and data.get("dataPoints"):
            print(data["dataPoints"][0].get("timeUnixNano"))
            break
    else:
        print("absent")
elif q == "gap":
    print(reqs[int(args[1])]["t_ms"] - reqs[int(args[0])]["t_ms"])
PY
}
