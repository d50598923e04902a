#!/usr/bin/env python3
"""Record the kernel's IPv4 reassembly limits and corner cases, for tests/netfilter/test_defrag_limits.py.

    sudo python3 tools/record_defrag.py                  (re-)record every case
    sudo python3 tools/record_defrag.py --check [CASE...]  ask the kernel again, compare with the file

Two namespaces joined by a veth pair: a sender (10.233.90.1) writes hand-made fragments with a
raw socket (IP_HDRINCL, so the kernel sends them as they are), a receiver (10.233.90.2) tracks
connections (an INPUT conntrack rule), so nf_defrag_ipv4 reassembles in PREROUTING, and counts
the datagrams that come out of it (a raw PREROUTING rule for protocol 253).  Each case has
namespaces of its own (no queue of another case is left), sets the receiver's ipfrag sysctls
(the kernel's defaults unless the case says otherwise), sends its steps and, after each, reads
the receiver's ``FRAG: inuse N memory M`` (/proc/net/sockstat), the IP MIB's reassembly
counters (/proc/net/snmp: ReasmReqds, ReasmOKs, ReasmFails, ReasmTimeout; /proc/net/netstat:
ReasmOverlaps) as differences from the case's start, and the raw rule's packet count.  A
fragment is ``[id, offset, length, more, tos]``; its payload is a pattern of its offset.
Written: ``tests/netfilter/kernel/defrag.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.kernel import available, report  # noqa: E402
from tools.topology import checksum, sh  # noqa: E402

OUT = ROOT / "tests" / "netfilter" / "kernel" / "defrag.json"
SENDER, RECEIVER = "10.233.90.1", "10.233.90.2"
PROTO = 253  # RFC 3692 experimental: no transport header for anyone to look at
DEFAULTS = {"net.ipv4.ipfrag_time": 30, "net.ipv4.ipfrag_high_thresh": 4194304,
            "net.ipv4.ipfrag_low_thresh": 3145728, "net.ipv4.ipfrag_max_dist": 64}
TOOLS = ("sysctl", "cat")  # beside ip and iptables-legacy, inside the namespaces
COUNTERS = ("ReasmReqds", "ReasmOKs", "ReasmFails", "ReasmTimeout", "ReasmOverlaps")


def f(ident: int, off: int, length: int, more: int, tos: int = 0) -> list[int]:
    return [ident, off, length, more, tos]


def _oversize(ident: int) -> list[list[int]]:
    """44 full fragments (65,120 bytes) of a datagram whose last fragment ends past 65,535."""
    return [f(ident, i * 1480, 1480, 1) for i in range(44)]


CASES: list[dict] = [
    {"name": "complete", "steps": [{"send": [f(1, 0, 1480, 1), f(1, 1480, 1480, 1), f(1, 2960, 100, 0)]}]},
    {"name": "duplicate", "steps": [{"send": [f(2, 1480, 1480, 1)]}, {"send": [f(2, 1480, 1480, 1)]},
                                    {"send": [f(2, 0, 1480, 1)]}, {"send": [f(2, 2960, 100, 0)]}]},
    {"name": "overlap", "steps": [{"send": [f(3, 0, 1480, 1)]}, {"send": [f(3, 1472, 1480, 1)]},
                                  {"send": [f(3, 2952, 100, 0)]}]},
    {"name": "inside-a-run", "steps": [{"send": [f(4, 0, 1480, 1), f(4, 1480, 1480, 1)]},
                                       {"send": [f(4, 8, 800, 1)]}, {"send": [f(4, 2960, 100, 0)]}]},
    {"name": "last-before-data", "steps": [{"send": [f(5, 0, 1480, 1)]}, {"send": [f(5, 8, 800, 0)]},
                                           {"send": [f(5, 1480, 100, 0)]}]},
    {"name": "second-last-differs", "steps": [{"send": [f(6, 1480, 100, 0)]},
                                              {"send": [f(6, 1480, 200, 0)]}]},
    {"name": "rounds-to-nothing", "steps": [{"send": [f(7, 0, 1480, 1)]}, {"send": [f(7, 1480, 4, 1)]}]},
    {"name": "beyond-the-end", "steps": [{"send": [f(8, 1480, 100, 0)]}, {"send": [f(8, 1600, 80, 1)]}]},
    {"name": "ecn-mix", "steps": [{"send": [f(9, 0, 1480, 1, 2)]}, {"send": [f(9, 1480, 100, 0, 0)]}]},
    {"name": "oversize-in-order", "steps": [{"send": _oversize(10)}, {"send": [f(10, 65120, 500, 0)]}]},
    {"name": "oversize-last-first", "steps": [{"send": [f(11, 65120, 500, 0)]}, {"send": _oversize(11)}]},
    {"name": "largest", "steps": [{"send": _oversize(12)}, {"send": [f(12, 65120, 395, 0)]}]},
    {"name": "timeout", "sysctl": {"net.ipv4.ipfrag_time": 2},
     "steps": [{"send": [f(13, 0, 1480, 1)]}, {"sleep": 2.5},
                                  {"send": [f(13, 1480, 100, 0)]}, {"sleep": 2.5}]},
    {"name": "high-thresh", "sysctl": {"net.ipv4.ipfrag_low_thresh": 0, "net.ipv4.ipfrag_high_thresh": 10000},
     "steps": [{"send": [f(1400 + i, 0, 1480, 1)]} for i in range(6)]
     + [{"send": [f(1400, 1480, 100, 0)]}]},
    {"name": "small-fragments-memory", "steps": [{"send": [f(1500 + i, 0, n, 1)]} for i, n in
                                                 enumerate((8, 200, 208, 256, 648, 656, 1000))]},
    {"name": "max-dist-exceeded", "steps": [{"send": [f(16, 0, 1480, 1)]},
                                            {"send": [f(1600 + i, 0, 8, 1) for i in range(65)]},
                                            {"send": [f(16, 1480, 100, 0)]}]},
    {"name": "max-dist-boundary", "steps": [{"send": [f(19, 0, 1480, 1)]},
                                            {"send": [f(1900 + i, 0, 8, 1) for i in range(64)]},
                                            {"send": [f(19, 1480, 100, 0)]}]},
    {"name": "max-dist-kept", "steps": [{"send": [f(17, 0, 1480, 1)]},
                                        {"send": [f(1700 + i, 0, 8, 1) for i in range(63)]},
                                        {"send": [f(17, 1480, 100, 0)]}]},
    {"name": "max-dist-off", "sysctl": {"net.ipv4.ipfrag_max_dist": 0},
     "steps": [{"send": [f(18, 0, 1480, 1)]}, {"send": [f(1800 + i, 0, 8, 1) for i in range(70)]},
               {"send": [f(18, 1480, 100, 0)]}]},
]


def payload(off: int, length: int) -> bytes:
    return bytes((off // 8 + i) % 251 for i in range(length))


def fragment(spec: list[int]) -> bytes:
    """The IPv4 fragment *spec* describes, header checksum included."""
    ident, off, length, more, tos = spec
    frag_off = off // 8 | (0x2000 if more else 0)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + length, ident, frag_off, 64, PROTO, 0,
                      socket.inet_aton(SENDER), socket.inet_aton(RECEIVER))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload(off, length)


class Lab:
    def __init__(self) -> None:
        tag = f"{os.getpid()}"
        self.snd, self.rcv = f"pynf-dfs-{tag}", f"pynf-dfr-{tag}"

    def nx(self, ns: str, *argv: str) -> str:
        return sh("ip", "netns", "exec", ns, *argv)

    def __enter__(self) -> Lab:
        try:
            for ns in (self.snd, self.rcv):
                sh("ip", "netns", "add", ns)
                self.nx(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.snd, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
               "netns", self.rcv)
            for ns, addr in ((self.snd, SENDER), (self.rcv, RECEIVER)):
                sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
                sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", self.rcv, "iptables-legacy-restore", stdin=stdin_rules())
        except BaseException:
            self.__exit__()  # no namespace left behind
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in (self.snd, self.rcv):
            sh("ip", "netns", "del", ns, check=False)

    # --- what the receiver shows ------------------------------------------------------------

    def observe(self) -> dict[str, int]:
        sock = self.nx(self.rcv, "cat", "/proc/net/sockstat")
        frag = next(line.split() for line in sock.splitlines() if line.startswith("FRAG:"))
        out = {"inuse": int(frag[2]), "memory": int(frag[4])}
        for path in ("/proc/net/snmp", "/proc/net/netstat"):
            lines = self.nx(self.rcv, "cat", path).splitlines()
            for names, values in zip(lines[::2], lines[1::2], strict=True):
                for k, v in zip(names.split()[1:], values.split()[1:], strict=True):
                    if k in COUNTERS:
                        out[k] = int(v)
        raw = self.nx(self.rcv, "iptables-legacy", "-t", "raw", "-L", "PREROUTING", "-v", "-n", "-x")
        out["datagrams"] = int(raw.splitlines()[2].split()[0])
        return out

    def sysctl(self, values: dict[str, int]) -> None:
        # low_thresh may not exceed high_thresh at any moment: lower it first, raise it last.
        high, low = "net.ipv4.ipfrag_high_thresh", "net.ipv4.ipfrag_low_thresh"
        if high in values or low in values:
            self.nx(self.rcv, "sysctl", "-qw", f"{low}=0")
        for key, value in sorted(values.items(), key=lambda kv: kv[0] == low):
            self.nx(self.rcv, "sysctl", "-qw", f"{key}={value}")


def stdin_rules() -> str:
    return ("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            f"-A PREROUTING -s {SENDER}/32 -p {PROTO}\nCOMMIT\n"
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            "-A INPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED,INVALID\nCOMMIT\n")


SEND_AGENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for h in sys.stdin.read().split():
    s.sendto(bytes.fromhex(h), ("{dst}", 0))
""".replace("{dst}", RECEIVER)


def run_case(case: dict) -> list[dict[str, int]]:
    with Lab() as lab:
        lab.sysctl({**DEFAULTS, **case.get("sysctl", {})})
        return steps(lab, case)


def steps(lab: Lab, case: dict) -> list[dict[str, int]]:
    start = lab.observe()
    seen = []
    for step in case["steps"]:
        if "sleep" in step:
            time.sleep(step["sleep"])
        else:
            frames = " ".join(fragment(spec).hex() for spec in step["send"])
            subprocess.run(["ip", "netns", "exec", lab.snd, sys.executable, "-c", SEND_AGENT], input=frames,
                           text=True, check=True)
            time.sleep(0.1)
        now = lab.observe()
        seen.append({k: (now[k] - start[k] if k not in ("inuse", "memory") else now[k]) for k in now})
    return seen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the recording instead of writing it")
    ap.add_argument("cases", nargs="*", metavar="CASE", help="only these cases (with --check)")
    args = ap.parse_args(argv)
    why = available(*TOOLS)
    if why:
        print(f"record_defrag: {why}", file=sys.stderr)
        return 1
    stored = {c["name"]: c for c in json.loads(OUT.read_text())["cases"]} if args.check else {}
    unknown = [n for n in args.cases if n not in {c["name"] for c in CASES}]
    if unknown:
        print(f"record_defrag: no case {', '.join(unknown)}", file=sys.stderr)
        return 2
    cases, differ = [], 0
    for case in CASES:
        if args.cases and case["name"] not in args.cases:
            continue
        observed = run_case(case)
        cases.append({**case, "observed": observed})
        differ += not report(case["name"], observed, stored if args.check else None)
    if args.check:
        return 1 if differ else 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"kernel": platform.release(), "sender": SENDER, "receiver": RECEIVER, "proto": PROTO,
           "defaults": DEFAULTS, "cases": cases}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
