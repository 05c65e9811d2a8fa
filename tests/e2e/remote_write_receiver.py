#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A scripted remote write endpoint for t_remote_write.sh's failure paths.

The real receivers (Prometheus, VictoriaMetrics) check what is sent; this one
checks how the agent behaves when the answer is bad: it answers every POST
with the status its script gives and logs one JSON line per request (time,
status, body length and SHA-256, the headers that matter) so the test can
tell a retry (the same body again) from a new snapshot.

  remote_write_receiver.py PORT_FILE LOG SCRIPT [CERT KEY]

SCRIPT: "400" answers 400 to everything; "503:N" answers 503 (with
Retry-After: 1) to the first N requests, then 204; "hang" reads the request
and never answers (a receiver stuck behind a full disk or a dead backend);
"204" accepts everything. With CERT and KEY (PEM files) it speaks HTTPS. Binds 127.0.0.1 on a free
port and writes the port to PORT_FILE once it listens.
"""
import hashlib
import http.server
import json
import os
import ssl
import sys
import threading
import time

port_file, log_path, script = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
seen = 0


def status_for(n):
    """The answer to request number n (from 0): (status, extra headers)."""
    if script == "400":
        return 400, {}
    if script == "hang":
        return 0, {}
    if script == "204":
        return 204, {}
    if script.startswith("503:"):
        if n < int(script.split(":", 1)[1]):
            return 503, {"Retry-After": "1"}
        return 204, {}
    return 500, {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            n = seen
            seen += 1
            status, extra = status_for(n)
            rec = {
                "n": n,
                "t_ms": int(time.monotonic() * 1000),
                "status": status,
                "path": self.path,
                "len": len(body),
                "sha": hashlib.sha256(body).hexdigest(),
            }
            for h in ("Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version",
                      "User-Agent", "Authorization"):
                rec[h] = self.headers.get(h, "")
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if script == "hang":
            time.sleep(3600)  # the agent's timeout ends it
            return
        reply = b"" if status == 204 else b"scripted answer\n"
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
# the rename makes the port file appear whole
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
