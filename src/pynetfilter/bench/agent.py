"""The traffic agents the kernel benchmarks run inside their network namespaces (stdlib only).

    python -m pynetfilter.bench.agent tcp-server PORT          accept, echo until EOF, close; one at a time
    python -m pynetfilter.bench.agent udp-echo PORT            echo each datagram to its sender
    python -m pynetfilter.bench.agent tcp-client HOST PORT COUNT [--sport-base N]
    python -m pynetfilter.bench.agent udp-client HOST PORT COUNT [--sport N]

Servers print ``ready`` once bound and stop by themselves after LIFETIME seconds; clients make a
bounded number of requests, each with a timeout, and print one JSON object: the latencies in
nanoseconds.  A TCP client times ``connect()`` (the SYN out, the SYN-ACK back: one new connection
through the router) and then one 1-byte echo on the established connection; a UDP client times
request/reply round trips.  The socket calls are timed alone: creating and closing sockets is not
what is measured.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time

LIFETIME = 3600.0  # seconds a server lives at most: it is killed sooner, but never outlives a run
TIMEOUT = 2.0  # seconds a client waits for any one answer


def tcp_server(port: int) -> None:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4096)
    ls.settimeout(1.0)
    print("ready", flush=True)
    end = time.monotonic() + LIFETIME
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except TimeoutError:
            continue
        c.settimeout(TIMEOUT)
        try:
            while data := c.recv(4096):
                c.sendall(data)
        except OSError:
            pass
        c.close()


def udp_echo(port: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(1.0)
    print("ready", flush=True)
    end = time.monotonic() + LIFETIME
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(65536)
        except TimeoutError:
            continue
        s.sendto(data, peer)


def tcp_client(host: str, port: int, count: int, sport_base: int) -> dict[str, object]:
    connect_ns: list[int] = []
    echo_ns: list[int] = []
    failed = 0
    clock = time.perf_counter_ns
    for k in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(TIMEOUT)
        if sport_base:  # a new source port each time, never one in TIME_WAIT from this run
            s.bind(("0.0.0.0", sport_base + k))
        try:
            t0 = clock()
            s.connect((host, port))
            t1 = clock()
            s.sendall(b"x")
            s.recv(1)
            t2 = clock()
        except OSError:
            failed += 1
            s.close()
            continue
        connect_ns.append(t1 - t0)
        echo_ns.append(t2 - t1)
        s.close()
    return {"connect_ns": connect_ns, "echo_ns": echo_ns, "failed": failed}


def udp_client(host: str, port: int, count: int, sport: int) -> dict[str, object]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", sport))
    s.connect((host, port))
    s.settimeout(TIMEOUT)
    rtt_ns: list[int] = []
    lost = 0
    clock = time.perf_counter_ns
    for k in range(count):
        msg = k.to_bytes(4, "big")
        t0 = clock()
        s.send(msg)
        try:
            while s.recv(64) != msg:  # a late answer to an earlier, timed-out request
                pass
        except TimeoutError:
            lost += 1
            continue
        rtt_ns.append(clock() - t0)
    return {"rtt_ns": rtt_ns, "lost": lost}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pynetfilter.bench.agent")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("tcp-server", "udp-echo"):
        sub.add_parser(name).add_argument("port", type=int)
    for name in ("tcp-client", "udp-client"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        p.add_argument("count", type=int)
        p.add_argument("--sport-base", type=int, default=0)
        p.add_argument("--sport", type=int, default=40000)
    a = ap.parse_args(argv)
    if a.cmd == "tcp-server":
        tcp_server(a.port)
    elif a.cmd == "udp-echo":
        udp_echo(a.port)
    elif a.cmd == "tcp-client":
        print(json.dumps(tcp_client(a.host, a.port, a.count, a.sport_base)))
    else:
        print(json.dumps(udp_client(a.host, a.port, a.count, a.sport)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
