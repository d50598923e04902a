#!/usr/bin/env python3
"""Record what ``conntrack -S`` counts on a router, for tests/netfilter/conntrack/test_ct_stats.py.

    sudo python3 tools/record_ct_stats.py                  (re-)record every case
    sudo python3 tools/record_ct_stats.py --check [CASE...]  ask the kernel again, compare

The router lab of tools/topology.py (client 10.233.1.2 - rc 10.233.1.1 | rs 10.233.2.1 - server
10.233.2.2; the server drops everything, so nothing answers).  Each case restores its rules on a
fresh router, the client writes the case's packets with a raw socket (built by pynetfilter's
wire module, checksums included, so the test can build the very same ones), and after each step
the router's ``conntrack -S`` lines are summed over its CPUs.  Also written: the router's
``ip -j addr`` / ``ip -j route`` for the engine's host.  Written: ``tests/netfilter/kernel/ct_stats.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
from tools.kernel import TRAFFIC_TOOLS, available, report  # noqa: E402
from tools.topology import LINKS, Lab, sh  # noqa: E402

OUT = ROOT / "tests" / "netfilter" / "kernel" / "ct_stats.json"
TOOLS = ("conntrack", "sysctl")  # beside ip and iptables-legacy
CLIENT, SERVER = "10.233.1.2", "10.233.2.2"
NAT = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
FILTER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
TRACK = FILTER + "-A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED,INVALID\nCOMMIT\n"
SNAT2 = NAT + "-A POSTROUTING -o rs -p {p} -j SNAT --to-source 10.233.2.1:20000-20001\nCOMMIT\n"
SNAT300 = NAT + "-A POSTROUTING -o rs -p udp -j SNAT --to-source 10.233.2.1:20000-20299\nCOMMIT\n"
SYN, ACK, FIN = 0x02, 0x10, 0x01

CASES: list[dict] = [
    # New connections are not counted by confirm in 6.x ("insert" is ctnetlink's); a lone FIN
    # cannot start one (invalid), nor can a UDP header longer than its datagram.
    {"name": "new-and-invalid", "rules": TRACK,
     "steps": [[["tcp", 40001, 80, SYN]], [["udp", 40002, 53]], [["tcp", 40003, 80, FIN]],
               [["udp-long", 40004, 53]]]},
    # An ICMP error about a datagram of no connection: counted as "error", not "invalid".
    {"name": "icmp-error", "rules": TRACK,
     "steps": [[["udp", 40005, 53]], [["icmp-error", 40005, 53]], [["icmp-error", 40006, 53]]]},
    # Two ports, kept by the first two flows (their own source ports are in range); the third
    # searches both (found twice: nf_conntrack_tuple_taken), then confirm refuses the clash.
    {"name": "udp-snat-exhausted", "rules": SNAT2.format(p="udp") + TRACK,
     "steps": [[["udp", 20000, 53]], [["udp", 20001, 53]], [["udp", 40003, 53]]]},
    # TCP: the search's last 32 tries of a round look harder (nf_nat_used_tuple_harder): not "found".
    {"name": "tcp-snat-exhausted", "rules": SNAT2.format(p="tcp") + TRACK,
     "steps": [[["tcp", 20000, 80, SYN]], [["tcp", 20001, 80, SYN]], [["tcp", 40003, 80, SYN]]]},
    # 300 ports all kept by their own flows; the next searches 128 + 64 + 32 + 16 + 8 ports.
    {"name": "udp-snat-248-tries", "rules": SNAT300 + TRACK,
     "steps": [[["udp", p, 53] for p in range(20000, 20300)], [["udp", 40000, 53]], [["udp", 40001, 53]]]},
]


def build(spec: list) -> bytes:
    """The client's datagram *spec* describes: [kind, sport, dport(, tcp flags)]; an
    "icmp-error" is the client's port unreachable about the server's UDP reply to sport."""
    from pynetfilter.packet import wire
    from pynetfilter.packet.model import Icmp, Packet, Tcp, Udp

    kind, sport, dport = spec[:3]
    src, dst = (int.from_bytes(bytes(int(x) for x in a.split(".")), "big") for a in (CLIENT, SERVER))
    if kind == "tcp":
        return wire.to_bytes(Packet(src, dst, 6, Tcp(sport, dport, seq=1000, flags=spec[3], window=64240)))
    if kind == "icmp-error":
        inner = Packet(dst, src, 17, Udp(dport, sport, 9), b"x")
        return wire.to_bytes(Packet(src, dst, 1, Icmp(3, 3, 0, 0, inner)))
    data = wire.to_bytes(Packet(src, dst, 17, Udp(sport, dport, 9), b"x"))
    if kind == "udp-long":  # the UDP length says 200: longer than the datagram
        data = data[:24] + (200).to_bytes(2, "big") + data[26:]
    return data


SEND_AGENT = f"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for h in sys.stdin.read().split():
    s.sendto(bytes.fromhex(h), ("{SERVER}", 0))
"""


def stats(lab: Lab) -> dict[str, int]:
    total: dict[str, int] = {}
    for line in lab.nx("router", "conntrack", "-S").splitlines():
        for word in line.split()[1:]:
            k, v = word.split("=")
            total[k] = total.get(k, 0) + int(v)
    return total


def record(case: dict) -> dict:
    ns = {role: f"pynf-cts{os.getpid() % 1000}-{role}" for role in ("router", *LINKS)}
    with Lab(ns) as lab:
        lab.build({}, offload_check=False)
        lab.nx("server", "iptables-legacy", "-A", "INPUT", "-j", "DROP")
        lab.nx("router", "iptables-legacy-restore", "-w", stdin=case["rules"])
        seen = []
        for step in case["steps"]:
            frames = " ".join(build(spec).hex() for spec in step)
            subprocess.run(["ip", "netns", "exec", ns["client"], sys.executable, "-c", SEND_AGENT],
                           input=frames, text=True, check=True)
            time.sleep(0.2)
            seen.append(stats(lab))
        addrs = json.loads(sh("ip", "-n", ns["router"], "-j", "addr", "show"))
        routes = json.loads(sh("ip", "-n", ns["router"], "-j", "route", "show", "table", "all"))
    return {**case, "observed": seen, "addrs": addrs, "routes": routes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the recording instead of writing it")
    ap.add_argument("cases", nargs="*", metavar="CASE")
    args = ap.parse_args(argv)
    why = available(*TOOLS)
    if why:
        print(f"record_ct_stats: {why}", file=sys.stderr)
        return 1
    names = {c["name"] for c in CASES}
    if set(args.cases) - names:
        print(f"record_ct_stats: no case {', '.join(sorted(set(args.cases) - names))}", file=sys.stderr)
        return 2
    stored = {c["name"]: c for c in json.loads(OUT.read_text())["cases"]} if args.check else {}
    out, differ = [], 0
    for case in CASES:
        if args.cases and case["name"] not in args.cases:
            continue
        got = record(case)
        out.append(got)
        differ += not report(case["name"], got["observed"], stored if args.check else None)
    if args.check:
        return 1 if differ else 0
    OUT.write_text(json.dumps({"kernel": platform.release(), "tools": list(TRAFFIC_TOOLS), "cases": out},
                              indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
