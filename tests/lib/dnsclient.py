#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dnsclient: the client side of the DNS end-to-end scenario.

Each subcommand does one thing a known number of times and prints its ground
truth as one JSON line on stdout. Every socket has a timeout; nothing loops
unbounded. Python 3 standard library only.

  dnsclient.py resolve NAME --family 4|6 [--count N]
      libc getaddrinfo (the system resolver, so /etc/resolv.conf) N times,
      one after the other: {"name":..,"ok":K,"errors":{"EAI_NONAME":..},"addresses":[..]}
  dnsclient.py send NAME --family 4|6 --port P --bytes B
      resolve NAME once, connect to its first address, send B bytes, shut
      down the sending side, read to EOF: {"address":..,"sent":B,"received":R}
  dnsclient.py dial (--name NAME | --address ADDR) --port P --bytes B
                 [--ready-file F --go-file G] [--resolve-after NAME2]
      IPv4: resolve NAME (or take ADDR), touch F and wait up to 20 s for G,
      connect with socket.create_connection((address, P)) (getaddrinfo on
      the literal again), resolve NAME2 while connected, send B bytes, shut
      down the sending side, read to EOF: {"pid":..,"name":..,"address":..,
      "sent":B,"received":R,"after":{"name":NAME2,"addresses":[..]}}
  dnsclient.py tcp-query SERVER NAME QTYPE [--port 53]
      one raw DNS query over TCP: {"rcode":"NOERROR","answers":N}
  dnsclient.py garbage SERVER [--port 53]
      five UDP datagrams to SERVER that are not valid DNS: {"sent":5}
"""

import argparse
import os
import json
import socket
import struct
import sys
import time

TIMEOUT = 10.0
QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

# Each one fails a strict parser for a different reason; none is a response.
GARBAGE = [
    b"\x00",                                                     # 1 byte: no header
    b"\xff" * 11,                                                # header cut short
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x3fabc",  # label past the end
    b"\x12\x35\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\xc0\x0c\x00\x01\x00\x01",  # pointer loop
    b"\x12\x36\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x03api\x07gespann\x04test\x00\x00",  # question cut
]


def family(arg):
    return socket.AF_INET if arg == "4" else socket.AF_INET6


def gai_error_name(err):
    for name in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_ADDRFAMILY"):
        if getattr(socket, name, None) == err.errno:
            return name
    return "EAI_%s" % err.errno


def resolve_once(name, fam):
    infos = socket.getaddrinfo(name, None, fam, socket.SOCK_STREAM)
    return sorted({i[4][0] for i in infos})


def cmd_resolve(a):
    ok, errors, addrs = 0, {}, set()
    for _ in range(a.count):
        try:
            addrs.update(resolve_once(a.name, family(a.family)))
            ok += 1
        except socket.gaierror as e:
            key = gai_error_name(e)
            errors[key] = errors.get(key, 0) + 1
    print(json.dumps({"name": a.name, "family": a.family, "ok": ok, "errors": errors,
                      "addresses": sorted(addrs)}))
    return 0


def cmd_send(a):
    addr = resolve_once(a.name, family(a.family))[0]
    s = socket.socket(family(a.family), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect((addr, a.port))
    s.sendall(b"g" * a.bytes)
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    s.close()
    print(json.dumps({"address": addr, "sent": a.bytes, "received": got}))
    return 0


def wait_file(path, seconds=20.0):
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise TimeoutError("no " + path)
        time.sleep(0.02)


def cmd_dial(a):
    addr = resolve_once(a.name, socket.AF_INET)[0] if a.name else a.address
    if a.ready_file:
        open(a.ready_file, "w").close()
        wait_file(a.go_file)
    s = socket.create_connection((addr, a.port), timeout=TIMEOUT)
    after = None
    if a.resolve_after:
        after = {"name": a.resolve_after,
                 "addresses": resolve_once(a.resolve_after, socket.AF_INET)}
    s.sendall(b"g" * a.bytes)
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    s.close()
    print(json.dumps({"pid": os.getpid(), "name": a.name, "address": addr, "sent": a.bytes,
                      "received": got, "after": after}))
    return 0


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def cmd_tcp_query(a):
    q = struct.pack("!HHHHHH", 0x4753, 0x0100, 1, 0, 0, 0)
    for label in a.name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode("ascii")
    q += b"\x00" + struct.pack("!HH", QTYPES[a.qtype], 1)
    fam = socket.AF_INET6 if ":" in a.server else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect((a.server, a.port))
        s.sendall(struct.pack("!H", len(q)) + q)
        (n,) = struct.unpack("!H", recv_exact(s, 2))
        reply = recv_exact(s, n)
    _qid, flags, _qd, an, _ns, _ar = struct.unpack("!HHHHHH", reply[:12])
    print(json.dumps({"rcode": RCODES.get(flags & 0xF, str(flags & 0xF)), "answers": an}))
    return 0


def cmd_garbage(a):
    fam = socket.AF_INET6 if ":" in a.server else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        for g in GARBAGE:
            s.sendto(g, (a.server, a.port))
    print(json.dumps({"sent": len(GARBAGE)}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("resolve")
    p.add_argument("name")
    p.add_argument("--family", choices=["4", "6"], required=True)
    p.add_argument("--count", type=int, default=1, choices=range(1, 1001), metavar="N")
    p = sub.add_parser("send")
    p.add_argument("name")
    p.add_argument("--family", choices=["4", "6"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p = sub.add_parser("dial")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--name")
    g.add_argument("--address")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--ready-file")
    p.add_argument("--go-file")
    p.add_argument("--resolve-after")
    p = sub.add_parser("tcp-query")
    p.add_argument("server")
    p.add_argument("name")
    p.add_argument("qtype", choices=sorted(QTYPES))
    p.add_argument("--port", type=int, default=53)
    p = sub.add_parser("garbage")
    p.add_argument("server")
    p.add_argument("--port", type=int, default=53)
    a = ap.parse_args()
    socket.setdefaulttimeout(TIMEOUT)
    return {"resolve": cmd_resolve, "send": cmd_send, "dial": cmd_dial,
            "tcp-query": cmd_tcp_query, "garbage": cmd_garbage}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
