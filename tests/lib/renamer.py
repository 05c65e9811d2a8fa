#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""renamer: a python3 process that renames itself and connects on command.

For the process-name scenario (tests/e2e/t_names.sh): several copies of the
same interpreter binary, each told step by step (one command a line on stdin)
to rename itself and to open connections, so the test can read
/proc/PID/comm between steps, at the time each connection is made. Every
command answers one JSON line on stdout when it is done (flushed), which is
the test's cue for the next step. Python 3 standard library only; every
socket has a timeout.

  prctl NAME          prctl(PR_SET_NAME): renames the calling (main) thread
  comm NAME           write NAME to /proc/self/comm (the same thread)
  tcp HOST PORT N     connect, send N bytes, shut down the sending side,
                      read to EOF: {"sent":N,"received":R,"lport":P}
  thread NAME HOST PORT N
                      the same from a new thread that first names itself
                      NAME (prctl): {"sent":..,"received":..,"tid":T,
                      "thread_comm": its /proc comm after the connection}
  hold HOST PORT N    connect and send N bytes, keep the connection open:
                      {"sent":N,"lport":P}
  release             shut down its sending side, read to EOF, close:
                      {"sent":N,"received":R}
  udp HOST PORT N K   K datagrams of N bytes from one socket kept for the
                      process's life (bound once, so every udp command is
                      the same socket), each echo read back:
                      {"sent":N*K,"received":R,"lport":P}
  quit                exit 0
"""
import ctypes
import json
import socket
import sys
import threading

PR_SET_NAME = 15
TIMEOUT = 10

_libc = ctypes.CDLL(None, use_errno=True)
_udp = None
_held = None


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def set_name_prctl(name):
    if _libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def tcp_once(host, port, n):
    with socket.socket(family_of(host), socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect((host, port))
        lport = s.getsockname()[1]
        s.sendall(b"x" * n)
        s.shutdown(socket.SHUT_WR)
        got = 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
    return {"sent": n, "received": got, "lport": lport}


def hold(host, port, n):
    global _held
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect((host, port))
    s.sendall(b"h" * n)
    _held = (s, n)
    return {"sent": n, "lport": s.getsockname()[1]}


def release():
    global _held
    s, n = _held
    _held = None
    with s:
        s.shutdown(socket.SHUT_WR)
        got = 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
    return {"sent": n, "received": got}


def udp_burst(host, port, n, k):
    global _udp
    if _udp is None:
        _udp = socket.socket(family_of(host), socket.SOCK_DGRAM)
        _udp.settimeout(TIMEOUT)
        _udp.bind(("::" if family_of(host) == socket.AF_INET6 else "0.0.0.0", 0))
    got = 0
    for _ in range(k):
        _udp.sendto(b"u" * n, (host, port))
        got += len(_udp.recvfrom(65536)[0])
    return {"sent": n * k, "received": got, "lport": _udp.getsockname()[1]}


def in_thread(name, host, port, n):
    out = {}

    def run():
        set_name_prctl(name)
        out["tid"] = threading.get_native_id()
        out.update(tcp_once(host, port, n))
        with open("/proc/self/task/%d/comm" % out["tid"]) as f:
            out["thread_comm"] = f.read().strip()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out


def main():
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "prctl":
                set_name_prctl(cmd[1])
                reply({"renamed": cmd[1]})
            elif cmd[0] == "comm":
                with open("/proc/self/comm", "w") as f:
                    f.write(cmd[1])
                reply({"renamed": cmd[1]})
            elif cmd[0] == "tcp":
                reply(tcp_once(cmd[1], int(cmd[2]), int(cmd[3])))
            elif cmd[0] == "thread":
                reply(in_thread(cmd[1], cmd[2], int(cmd[3]), int(cmd[4])))
            elif cmd[0] == "hold":
                reply(hold(cmd[1], int(cmd[2]), int(cmd[3])))
            elif cmd[0] == "release":
                reply(release())
            elif cmd[0] == "udp":
                reply(udp_burst(cmd[1], int(cmd[2]), int(cmd[3]), int(cmd[4])))
            elif cmd[0] == "quit":
                reply({"bye": True})
                return 0
            else:
                reply({"error": "unknown command " + cmd[0]})
        except (OSError, ValueError, IndexError, TypeError) as e:
            reply({"error": str(e)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
