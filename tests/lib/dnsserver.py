#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dnsserver: a tiny authoritative DNS server for the end-to-end tests.

It serves one fixed test zone (below) over UDP and TCP on port 53 of the
addresses given with --bind, and is the ground truth of the DNS scenario:
every query it receives, and every packet it cannot parse, is logged as one
JSON line to --log (flushed at once), e.g.

  {"proto":"udp","server":"198.18.0.2","client":"198.18.0.1","name":"api.gespann.test",
   "qtype":"A","rcode":"NOERROR","delay_ms":0}
  {"proto":"udp","server":"198.18.0.2","client":"198.18.0.1","malformed":true,"len":3}

Zone (names are case-insensitive; a name not listed is NXDOMAIN):
  api.gespann.test      A     198.18.0.2   ttl 30
  v6.gespann.test       AAAA  fd00:6765:7370::2
  alias.gespann.test    CNAME api.gespann.test (the answer includes the A)
  missing.gespann.test  NXDOMAIN
  slow.gespann.test     A     198.18.0.3, answered after 300 ms
  fail.gespann.test     SERVFAIL
  drop.gespann.test     never answered (rcode "dropped" in the log)
A listed name asked for a type it does not have gets NOERROR with no answer.
Malformed packets get no reply, so the only DNS parse failures on the wire are
the ones the test sent. Python 3 standard library only; runs until SIGTERM.

  dnsserver.py --bind 198.18.0.2 --bind fd00:6765:7370::2 --log dns.log [--port 53]
It prints {"listening":PORT} on stdout once every socket is bound.
"""

import argparse
import heapq
import json
import select
import signal
import socket
import struct
import sys
import threading
import time

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
          33: "SRV", 255: "ANY"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN"}
TYPE_A, TYPE_CNAME, TYPE_AAAA = 1, 5, 28
SLOW_DELAY = 0.3
TCP_IDLE_TIMEOUT = 10.0

# name -> list of (type, ttl, rdata-as-text); special behaviours by name
ZONE = {
    "api.gespann.test": [(TYPE_A, 30, "198.18.0.2")],
    "v6.gespann.test": [(TYPE_AAAA, 30, "fd00:6765:7370::2")],
    "alias.gespann.test": [(TYPE_CNAME, 30, "api.gespann.test")],
    "slow.gespann.test": [(TYPE_A, 30, "198.18.0.3")],
}
SERVFAIL_NAMES = {"fail.gespann.test"}
DROP_NAMES = {"drop.gespann.test"}
SLOW_NAMES = {"slow.gespann.test"}

LOG_LOCK = threading.Lock()


class Malformed(Exception):
    """The packet is not a DNS query we can answer."""


def log(fh, rec):
    with LOG_LOCK:
        fh.write(json.dumps(rec, sort_keys=True) + "\n")
        fh.flush()


def read_name(msg, off):
    """Decode a (possibly compressed) name at off; returns (name, next_off)."""
    labels, jumps, end = [], 0, None
    while True:
        if off >= len(msg):
            raise Malformed("name runs past the end")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise Malformed("truncated pointer")
            jumps += 1
            if jumps > 16:
                raise Malformed("pointer loop")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            continue
        if n & 0xC0:
            raise Malformed("bad label type")
        off += 1
        if n == 0:
            break
        if off + n > len(msg):
            raise Malformed("label runs past the end")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
        if sum(len(x) + 1 for x in labels) > 255:
            raise Malformed("name too long")
    return ".".join(labels).lower(), (end if end is not None else off)


def parse_query(msg):
    if len(msg) < 12:
        raise Malformed("short header")
    qid, flags, qd, _an, _ns, _ar = struct.unpack("!HHHHHH", msg[:12])
    if flags & 0x8000:
        raise Malformed("a response, not a query")
    if qd != 1:
        raise Malformed("qdcount %d" % qd)
    name, off = read_name(msg, 12)
    if off + 4 > len(msg):
        raise Malformed("truncated question")
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    return qid, flags, name, qtype, qclass, msg[12:off + 4]


def encode_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def rr(name, rtype, ttl, text):
    if rtype == TYPE_A:
        rdata = socket.inet_pton(socket.AF_INET, text)
    elif rtype == TYPE_AAAA:
        rdata = socket.inet_pton(socket.AF_INET6, text)
    else:
        rdata = encode_name(text)
    return encode_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def answer(msg):
    """Returns (reply bytes or None for no reply, log record fields)."""
    qid, flags, name, qtype, _qclass, question = parse_query(msg)
    rec = {"name": name, "qtype": QTYPES.get(qtype, "TYPE%d" % qtype), "delay_ms": 0}
    if name in DROP_NAMES:
        rec["rcode"] = "dropped"
        return None, rec
    answers, rcode = [], 0
    if name in SERVFAIL_NAMES:
        rcode = 2
    elif name not in ZONE:
        rcode = 3
    else:
        cur = name
        for _ in range(8):  # follow CNAMEs inside the zone
            rrs = ZONE.get(cur, [])
            cname = [r for r in rrs if r[0] == TYPE_CNAME]
            answers += [rr(cur, t, ttl, v) for t, ttl, v in rrs if t == qtype]
            if not cname or qtype == TYPE_CNAME:
                break
            answers.append(rr(cur, TYPE_CNAME, cname[0][1], cname[0][2]))
            cur = cname[0][2]
    if name in SLOW_NAMES:
        rec["delay_ms"] = int(SLOW_DELAY * 1000)
    rec["rcode"] = RCODES[rcode]
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode  # QR, AA, RD copied
    reply = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0) + question + b"".join(answers)
    return reply, rec


def handle_tcp(conn, addr, fh):
    conn.settimeout(TCP_IDLE_TIMEOUT)
    local = conn.getsockname()[0]
    try:
        while True:
            hdr = recv_exact(conn, 2)
            if hdr is None:
                return
            (n,) = struct.unpack("!H", hdr)
            msg = recv_exact(conn, n)
            if msg is None:
                log(fh, {"proto": "tcp", "server": local, "client": addr[0], "malformed": True,
                         "len": 2})
                return
            try:
                reply, rec = answer(msg)
            except Malformed as e:
                log(fh, {"proto": "tcp", "server": local, "client": addr[0], "malformed": True,
                         "len": len(msg), "why": str(e)})
                continue
            rec.update(proto="tcp", server=local, client=addr[0])
            if rec["delay_ms"]:
                time.sleep(rec["delay_ms"] / 1000.0)
            log(fh, rec)
            if reply is not None:
                conn.sendall(struct.pack("!H", len(reply)) + reply)
    except OSError:
        return
    finally:
        conn.close()


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", action="append", required=True, help="address (repeatable)")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log", required=True, help="query log (JSON lines)")
    args = ap.parse_args()

    fh = open(args.log, "a", encoding="utf-8")
    udp, tcp = [], []
    for addr in args.bind:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((addr, args.port))
        u.setblocking(False)
        udp.append(u)
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, args.port))
        t.listen(64)
        t.setblocking(False)
        tcp.append(t)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print(json.dumps({"listening": args.port}), flush=True)

    delayed = []  # heap of (due, seq, sock, reply, addr, rec)
    seq = 0
    while not stop:
        timeout = 0.5
        if delayed:
            timeout = max(0.0, min(timeout, delayed[0][0] - time.monotonic()))
        try:
            ready, _, _ = select.select(udp + tcp, [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        while delayed and delayed[0][0] <= now:
            _, _, s, reply, addr, rec = heapq.heappop(delayed)
            log(fh, rec)
            try:
                s.sendto(reply, addr)
            except OSError:
                pass
        for s in ready:
            if s in tcp:
                try:
                    conn, addr = s.accept()
                except OSError:
                    continue
                conn.setblocking(True)
                threading.Thread(target=handle_tcp, args=(conn, addr, fh), daemon=True).start()
                continue
            for _ in range(256):  # a bounded batch per wakeup
                try:
                    msg, addr = s.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                try:
                    reply, rec = answer(msg)
                except Malformed as e:
                    log(fh, {"proto": "udp", "server": s.getsockname()[0], "client": addr[0],
                             "malformed": True, "len": len(msg), "why": str(e)})
                    continue
                rec.update(proto="udp", server=s.getsockname()[0], client=addr[0])
                if reply is not None and rec["delay_ms"]:
                    seq += 1
                    heapq.heappush(delayed, (now + rec["delay_ms"] / 1000.0, seq, s, reply, addr, rec))
                    continue
                log(fh, rec)
                if reply is not None:
                    try:
                        s.sendto(reply, addr)
                    except OSError:
                        pass
    fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
