#!/usr/bin/env python3
"""Record the kernel's NAT on real traffic, for tests/netfilter/test_nat.py.

    sudo python3 tools/record_nat.py [CASE...]     (re-)record cases (default: all)

Each case builds four namespaces: client (10.233.1.2), client2 (10.233.3.2) and server
(10.233.2.2, plus the case's extra addresses) around a router (10.233.1.1 on rc, 10.233.2.1 on rs,
10.233.3.1 on rc2, ip_forward=1).  Checksum offload is switched off on every veth, so the
captured checksums are the ones the kernel computed (not partial sums).  The case's rules are
restored on the router, listeners start, the traffic runs with python3 sockets, and written to
``tests/netfilter/kernel/nat/CASE/`` are: ``rules``, ``capture.pcap`` (``tcpdump -i any`` on the
router, both sides), ``conntrack.txt`` (``conntrack -L`` on the router after the traffic),
``addrs.json`` / ``routes.json`` (``ip -j``) for the host model, and ``log.txt`` (what each step
saw).  The traffic agent is this file too (``--agent``): stdlib only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the agent too: it runs as python3 tools/record_nat.py --agent

from tools.kernel import available  # noqa: E402
from tools.topology import LINKS, Lab, checksum, sh, tcp_loop, udp_loop  # noqa: E402

OUT = ROOT / "tests" / "netfilter" / "kernel" / "nat"
SELF = Path(__file__).resolve()
NAT = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
SERVE = ["tcp:0.0.0.0:80", "tcp:0.0.0.0:8080", "udp:0.0.0.0:53", "udp:0.0.0.0:5353"]


def _tcp(dst: str, port: int, sport: int = 0, ns: str = "client") -> dict:
    return {"do": "tcp", "dst": dst, "port": port, "sport": sport, "ns": ns}


def _udp(dst: str, port: int, sport: int = 0, ns: str = "client") -> dict:
    return {"do": "udp", "dst": dst, "port": port, "sport": sport, "ns": ns}


def _ping(dst: str, ident: int, ns: str = "client") -> dict:
    return {"do": "ping", "dst": dst, "id": ident, "ns": ns}


CASES: dict[str, dict] = {
    "dnat-port": {
        "rules": NAT + "-A PREROUTING -d 10.233.100.10/32 -p tcp --dport 80 -j DNAT --to-destination "
        "10.233.2.2:8080\n-A PREROUTING -d 10.233.100.10/32 -p udp --dport 53 -j DNAT --to-destination "
        "10.233.2.2:5353\n-A PREROUTING -d 10.233.100.10/32 -p udp --dport 54 -j DNAT --to-destination "
        "10.233.2.2:5454\n-A PREROUTING -d 10.233.100.11/32 -j DNAT --to-destination 10.233.2.2\nCOMMIT\n",
        # UDP to 5454 has no listener: the server's port-unreachable is translated back (ICMP error NAT).
        "traffic": [_tcp("10.233.100.10", 80), _udp("10.233.100.10", 53), _udp("10.233.100.10", 54),
                    _ping("10.233.100.11", 77), _tcp("10.233.100.11", 80, 40100)],
    },
    "dnat-range": {
        "server_addrs": ["10.233.2.3", "10.233.2.4", "10.233.2.5"],
        "rules": NAT + "-A PREROUTING -d 10.233.100.20/32 -p tcp -j DNAT --to-destination "
        "10.233.2.2-10.233.2.5\n-A PREROUTING -d 10.233.100.21/32 -p udp -j DNAT --to-destination "
        "10.233.2.2-10.233.2.5:5353 --persistent\nCOMMIT\n",
        # The address is a jhash of source and destination: several sources spread over the range.
        "traffic": [_tcp("10.233.100.20", 80, 40200 + i) for i in range(3)]
        + [_tcp("10.233.100.20", 80, 40300, "client2"), _udp("10.233.100.21", 53, 40400),
           _udp("10.233.100.21", 53, 40401, "client2")],
    },
    "kube-endpoints": {
        "server_addrs": ["10.233.2.3", "10.233.2.4"],
        "rules": NAT + ":KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n:KUBE-SEP-1 - [0:0]\n"
        ":KUBE-SEP-2 - [0:0]\n:KUBE-SEP-3 - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n"
        "-A PREROUTING -j KUBE-SERVICES\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
        "-A KUBE-SERVICES -d 10.233.100.30/32 -p tcp --dport 80 -j KUBE-SVC-A\n"
        "-A KUBE-SVC-A -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-1\n"
        "-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-2\n"
        "-A KUBE-SVC-A -j KUBE-SEP-3\n"
        "-A KUBE-SEP-1 -s 10.233.2.2/32 -j KUBE-MARK-MASQ\n"
        "-A KUBE-SEP-1 -p tcp -j DNAT --to-destination 10.233.2.2:8080\n"
        "-A KUBE-SEP-2 -p tcp -j DNAT --to-destination 10.233.2.3:8080\n"
        "-A KUBE-SEP-3 -p tcp -j DNAT --to-destination 10.233.2.4:8080\nCOMMIT\n",
        "traffic": [_tcp("10.233.100.30", 80, 40500 + i) for i in range(6)],
    },
    "snat-ports": {
        "rules": NAT + "-A POSTROUTING -o rs -p tcp -j SNAT --to-source 10.233.2.1:20000-20009\n"
        "-A POSTROUTING -o rs -p udp -j SNAT --to-source 10.233.2.1:21000-21009 --random-fully\n"
        "-A POSTROUTING -o rs -p icmp -j SNAT --to-source 10.233.2.1\nCOMMIT\n",
        "traffic": [_tcp("10.233.2.2", 80, 40600), _tcp("10.233.2.2", 80, 20005),
                    _tcp("10.233.2.2", 80, 20005, "client2"), _udp("10.233.2.2", 53, 40601),
                    _udp("10.233.2.2", 54, 40602), _ping("10.233.2.2", 99),
                    _ping("10.233.2.2", 99, "client2")],
    },
    "masquerade": {
        "rules": NAT + "-A POSTROUTING -o rs -j MASQUERADE\nCOMMIT\n",
        # Two clients, the same source port, the same server: the second must move.
        "traffic": [_tcp("10.233.2.2", 80, 40700), _tcp("10.233.2.2", 80, 40700, "client2"),
                    _udp("10.233.2.2", 53, 40701), _udp("10.233.2.2", 53, 40701, "client2"),
                    _ping("10.233.2.2", 7), _ping("10.233.2.2", 7, "client2"),
                    _udp("10.233.2.2", 54, 40702), _tcp("10.233.2.2", 80, 700),
                    _tcp("10.233.2.2", 80, 700, "client2")],
    },
    "redirect": {
        "router_listen": ["tcp:0.0.0.0:8080", "udp:0.0.0.0:5353"],
        "rules": NAT + "-A PREROUTING -i rc -p tcp --dport 80 -j REDIRECT --to-ports 8080\n"
        "-A PREROUTING -i rc -p udp --dport 53 -j REDIRECT --to-ports 5353\nCOMMIT\n",
        "traffic": [_tcp("10.233.2.2", 80, 40800), _udp("10.233.2.2", 53, 40801), _tcp("10.233.2.2", 8080)],
    },
    "netmap": {
        "rules": NAT + "-A PREROUTING -d 10.233.200.0/24 -j NETMAP --to 10.233.2.0/24\n"
        "-A POSTROUTING -s 10.233.1.0/24 -o rs -j NETMAP --to 10.233.201.0/24\nCOMMIT\n",
        "traffic": [_tcp("10.233.200.2", 80, 40900), _udp("10.233.200.2", 53, 40901),
                    _ping("10.233.200.2", 5), _udp("10.233.200.2", 54, 40902)],
    },
}

# --------------------------------------------------------------------------- agent (in a namespace)


def _serve(specs: list[str]) -> None:
    for spec in specs:
        proto, addr, port = spec.split(":")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        if proto == "tcp":
            s.listen(16)
        threading.Thread(target=tcp_loop if proto == "tcp" else udp_loop, args=(s,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()


def _step(step: dict) -> str:
    data = bytes((i * 7 + 13) & 0xFF for i in range(48))
    dst, port, sport = step["dst"], int(step.get("port", 0)), int(step.get("sport", 0))
    if step["do"] in ("tcp", "udp"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if step["do"] == "tcp" else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sport:
            s.bind(("0.0.0.0", sport))
        s.settimeout(0.5)
        try:
            s.connect((dst, port))
            if step["do"] == "udp":
                s.send(data)
                return f"udp ok {len(s.recv(65536))}"
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
            return f"tcp ok {len(got)}"
        except OSError as e:
            return f"{step['do']} {type(e).__name__}"
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.5)
    ident = int(step["id"])
    body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + data
    s.sendto(body[:2] + struct.pack("!H", checksum(body)) + body[4:], (dst, 0))
    try:
        while True:
            pkt = s.recv(65536)
            if pkt[20] == 0:
                return "ping ok"
    except OSError:
        return "ping timeout"
    finally:
        s.close()


# --------------------------------------------------------------------------- recorder (root)


def _wait(proc: subprocess.Popen, stream: object, needle: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if needle in line or (not line and proc.poll() is not None):
            return
    raise RuntimeError("helper process did not start")


def record(name: str) -> list[str]:
    case = CASES[name]
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    tag = f"pynf-nat{os.getpid() % 1000}"
    ns = {role: f"{tag}-{role}" for role in ("router", *LINKS)}
    procs: list[subprocess.Popen] = []
    log: list[str] = []
    with Lab(ns) as lab:
        try:
            r = ns["router"]
            # Full checksums in the capture (veth offloads leave partial sums otherwise).
            lab.build({"addrs": {"server": [f"{extra}/24" for extra in case.get("server_addrs", [])]}},
                      offload=("tx", "off", "rx", "off"), offload_check=False)
            (out / "rules").write_text(case["rules"])
            lab.nx("router", "iptables-legacy-restore", "-w", stdin=case["rules"])
            for role, specs in (("server", SERVE), ("router", case.get("router_listen", []))):
                if specs:
                    argv = ["ip", "netns", "exec", ns[role], "python3", str(SELF), "--agent", "serve", *specs]
                    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                    procs.append(p)
                    _wait(p, p.stdout, "ready")
            pcap = out / "capture.pcap"
            dump = subprocess.Popen(["ip", "netns", "exec", r, "tcpdump", "-i", "any", "-n", "-U",
                                     "--immediate-mode", "-Z", "root", "-w", str(pcap)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            _wait(dump, dump.stderr, "listening on")
            try:
                for step in case["traffic"]:
                    got = lab.nx(step["ns"], "python3", str(SELF), "--agent", "step", json.dumps(step),
                                 check=False)
                    log.append(f"{step['ns']} {step['do']} {step['dst']}:{step.get('port', step.get('id'))}"
                               f" -> {got.strip()}")
                time.sleep(0.3)
            finally:
                dump.send_signal(signal.SIGINT)
                dump.wait(5)
            (out / "addrs.json").write_text(sh("ip", "-n", r, "-j", "addr", "show") + "\n")
            (out / "routes.json").write_text(sh("ip", "-n", r, "-j", "route", "show", "table", "all") + "\n")
            (out / "conntrack.txt").write_text(lab.nx("router", "conntrack", "-L", check=False))
            (out / "log.txt").write_text("\n".join(log) + "\n")
        finally:
            for p in procs:
                if p.stdin:
                    p.stdin.close()
                p.terminate()
                p.wait(5)
    return log


def main(argv: list[str]) -> int:
    if argv[:1] == ["--agent"]:
        if argv[1] == "serve":
            _serve(argv[2:])
        else:
            print(_step(json.loads(argv[2])), flush=True)
        return 0
    reason = available()
    if reason:
        print(f"cannot record here: {reason}", file=sys.stderr)
        return 1
    names = argv or list(CASES)
    for name in names:
        if name not in CASES:
            print(f"unknown case {name!r} (known: {', '.join(CASES)})", file=sys.stderr)
            return 1
        print(f"{name}: " + "; ".join(record(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
