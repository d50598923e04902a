#!/usr/bin/env python3
"""Record when the kernel's SNAT port search takes over a closing connection's port.

    sudo python3 tools/record_nat_takeover.py

For tests/netfilter/test_nat.py (nf_nat_used_tuple_harder, Linux >= 6.4).  A router namespace
(10.233.1.1 on rc towards a client namespace 10.233.1.2, 10.233.2.1 on rs towards a server
namespace 10.233.2.2) SNATs TCP to the single port 10.233.2.1:20000, so every new connection
must have that port.  For each case an old entry already holding the port is inserted with
``conntrack -I`` (state, status bits, SNAT or not, as the case says; ctnetlink leaves its
sequence tracking at zero), then the client sends one raw SYN from port 40000 with the case's
sequence number.  Taken over means the old entry is gone from ``conntrack -L`` and the SYN reached
the server (an INPUT rule's counter there); otherwise confirm dropped the SYN.
Written: ``tests/netfilter/kernel/nat_takeover.json``.
"""

from __future__ import annotations

import json
import platform
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.kernel import Namespace, available  # noqa: E402

OUT = ROOT / "tests" / "netfilter" / "kernel" / "nat_takeover.json"
RULES = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         "-A POSTROUTING -o rs -p tcp -j SNAT --to-source 10.233.2.1:20000\nCOMMIT\n")
SERVER_RULES = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" \
    "-A INPUT -p tcp -m tcp --dport 80 --tcp-flags SYN,ACK SYN\nCOMMIT\n"
ADVANCED, BEHIND = 1000, 0x90000000  # the old entry's td_end is 0: 1001 is after it, 0x90000001 before
CASES = [
    {"name": "time-wait-seen-reply", "state": "TIME_WAIT", "status": "ASSURED,SEEN_REPLY", "snat": True,
     "seq": ADVANCED},
    {"name": "time-wait-no-seen-reply", "state": "TIME_WAIT", "status": "ASSURED", "snat": True,
     "seq": ADVANCED},
    {"name": "time-wait-seq-behind", "state": "TIME_WAIT", "status": "ASSURED,SEEN_REPLY", "snat": True,
     "seq": BEHIND},
    {"name": "close", "state": "CLOSE", "status": "SEEN_REPLY", "snat": True, "seq": ADVANCED},
    {"name": "established", "state": "ESTABLISHED", "status": "ASSURED,SEEN_REPLY", "snat": True,
     "seq": ADVANCED},
    {"name": "last-ack", "state": "LAST_ACK", "status": "ASSURED,SEEN_REPLY", "snat": True,
     "seq": ADVANCED},
    {"name": "time-wait-not-snat", "state": "TIME_WAIT", "status": "ASSURED,SEEN_REPLY", "snat": False,
     "seq": ADVANCED},
]


def syn(src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    """A TCP SYN header with its checksum (the raw socket adds the IP header)."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    data = pseudo + hdr
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return hdr[:16] + struct.pack("!H", ~total & 0xFFFF) + hdr[18:]


def agent(seq: int) -> None:
    """In the client namespace: send the SYN."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.sendto(syn("10.233.1.2", "10.233.2.2", 40000, 80, seq), ("10.233.2.2", 0))


def sh(ns: Namespace, *argv: str) -> str:
    r = ns.run(list(argv))
    if r.rc != 0:
        raise SystemExit(f"{' '.join(argv)} in {ns.name}: {r.err.strip()}")
    return r.out


def link(router: Namespace, peer: Namespace, dev: str, rip: str, pip: str) -> None:
    subprocess.run(["ip", "link", "add", dev, "netns", router.name, "type", "veth", "peer", "name", "eth0",
                    "netns", peer.name], check=True)
    sh(router, "ip", "addr", "add", f"{rip}/24", "dev", dev)
    sh(router, "ip", "link", "set", dev, "up")
    sh(peer, "ip", "addr", "add", f"{pip}/24", "dev", "eth0")
    sh(peer, "ip", "link", "set", "eth0", "up")
    sh(peer, "ip", "route", "add", "default", "via", rip)


def run_case(case: dict) -> dict:
    with Namespace("pynf-r") as r, Namespace("pynf-c") as c, Namespace("pynf-s") as s:
        link(r, c, "rc", "10.233.1.1", "10.233.1.2")
        link(r, s, "rs", "10.233.2.1", "10.233.2.2")
        sh(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for ns, rules in ((r, RULES), (s, SERVER_RULES)):
            res = ns.restore(rules)
            if res.rc != 0:
                raise SystemExit(res.err)
        if case["snat"]:
            old = ["-s", "10.233.1.2", "-d", "10.233.2.2", "--sport", "1111", "--dport", "80",
                   "--src-nat", "10.233.2.1:20000"]
        else:  # the router's own connection from the port: the same reply tuple, no SNAT
            old = ["-s", "10.233.2.1", "-d", "10.233.2.2", "--sport", "20000", "--dport", "80"]
        sh(r, "conntrack", "-I", "-p", "tcp", *old, "--state", case["state"], "-t", "120",
           "-u", case["status"])
        before = sh(r, "conntrack", "-L", "-p", "tcp")
        sh(c, sys.executable, str(Path(__file__).resolve()), "--agent", str(case["seq"]))
        time.sleep(0.3)
        after = sh(r, "conntrack", "-L", "-p", "tcp")
        arrived = sh(s, "iptables-legacy-save", "-c").count("[1:40] -A INPUT")
        # The server's RST kills the new entry at once (it never saw a reply), so the evidence of
        # a takeover is the old entry gone and the SYN delivered; otherwise confirm dropped it.
        old_gone = f"sport={old[5]} " not in after
        return {**case, "before": before.strip(), "after": after.strip(), "syn_delivered": bool(arrived),
                "taken_over": old_gone and bool(arrived)}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--agent":
        agent(int(sys.argv[2]))
        return
    why = available()
    if why:
        raise SystemExit(f"cannot ask the kernel: {why}")
    results = [run_case(case) for case in CASES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"kernel": platform.release(), "rules": RULES, "cases": results},
                              indent=1) + "\n")
    for res in results:
        print(f"{res['name']:28} taken over: {res['taken_over']}")


if __name__ == "__main__":
    main()
