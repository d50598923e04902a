#!/usr/bin/env python3
"""Record bitmap:ip,mac sets under real Ethernet frames: what -m set and -j SET do with the MAC.

    sudo python3 tools/record_ipmac.py      # writes tests/netfilter/ipset/packets/ipmac.json

A client namespace pings a server namespace over a veth pair whose ends have fixed MAC
addresses.  The server holds bitmap:ip,mac sets and filter rules in INPUT (frames with an
Ethernet header) and OUTPUT (locally generated: no MAC header).  Recorded: the rules, the sets
before (``ipset save``), every frame the server's veth saw (with its capture time and direction),
the server's ``iptables-legacy-save -c`` and ``ipset save`` after.  Two hash:ip sets show what
-j SET does to an element's counters (the adding packet's, also with --exist) for other types.
tests/netfilter/ipset/test_ipmac_packets.py replays the frames through the same rules.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import IPT, Namespace, available  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "netfilter" / "ipset" / "packets" / "ipmac.json"
CLIENT_MAC, SERVER_MAC = "02:00:00:00:0a:01", "02:00:00:00:0b:01"
CLIENT, SERVER = "10.233.60.1", "10.233.60.2"
IPSET = f"""\
create m bitmap:ip,mac range 10.233.60.0/24 counters
add m {CLIENT}
create f bitmap:ip,mac range 10.233.60.0/24 counters
add f {CLIENT},{CLIENT_MAC}
create g bitmap:ip,mac range 10.233.60.0/24
add g {CLIENT},02:00:00:00:0a:99
create h bitmap:ip,mac range 10.233.60.0/24
add h {CLIENT},{SERVER_MAC}
create a bitmap:ip,mac range 10.233.60.0/28 timeout 600 counters comment
create c bitmap:ip,mac range 10.233.60.0/24 counters skbinfo
add c {CLIENT},02:00:00:00:0a:77 packets 9 bytes 900 skbmark 0x5
create d bitmap:ip,mac range 10.233.60.0/24
add d {CLIENT}
add d 10.233.60.7,02:00:00:00:00:07
create o bitmap:ip,mac range 10.233.60.0/24
create w bitmap:ip,mac range 10.233.60.0/24 timeout 600
add w {CLIENT} timeout 300
create r bitmap:ip,mac range 10.233.61.0/24
create hc hash:ip counters
create he hash:ip counters
add he {CLIENT} packets 9 bytes 900
"""
RULES = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p icmp -m set --match-set m src,src
-A INPUT -p icmp -m set --match-set f src,src
-A INPUT -p icmp -m set --match-set g src,src
-A INPUT -p icmp -m set --match-set f src,dst
-A INPUT -p icmp -m set --match-set h src,dst
-A INPUT -p icmp -m set --match-set f src
-A INPUT -p icmp -m set --match-set f dst,src
-A INPUT -p icmp -m set --match-set r src,src
-A INPUT -p icmp -j SET --add-set a src,src
-A INPUT -p icmp -j SET --add-set c src,src --exist
-A INPUT -p icmp -m set --match-set c src,src
-A INPUT -p icmp -j SET --del-set d src,src
-A INPUT -p icmp -m set --match-set d src,src
-A INPUT -p icmp -m set --match-set w src,src
-A INPUT -p icmp -m set ! --match-set g src,src
-A INPUT -p icmp -j SET --add-set hc src
-A INPUT -p icmp -j SET --add-set he src --exist
-A OUTPUT -p icmp -m set --match-set m dst,dst
-A OUTPUT -p icmp -m set ! --match-set m dst,dst
-A OUTPUT -p icmp -j SET --add-set o dst,src
COMMIT
"""


def read_pcap(path: Path) -> list[tuple[float, str]]:
    data = path.read_bytes()
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, off)
        out.append((sec + usec / 1e6, data[off + 16:off + 16 + incl].hex()))
        off += 16 + incl
    return out


def record() -> dict:
    with Namespace("pynfK") as cl, Namespace("pynfK") as sv:
        va, vb = f"va{os.getpid() % 100000}", f"vb{os.getpid() % 100000}"
        subprocess.run(["ip", "link", "add", va, "netns", cl.name, "address", CLIENT_MAC, "type", "veth",
                        "peer", "name", vb, "netns", sv.name, "address", SERVER_MAC], check=True)
        for ns, dev, addr in ((cl, va, CLIENT), (sv, vb, SERVER)):
            ns.run(["ip", "addr", "add", f"{addr}/24", "dev", dev])
            ns.run(["ip", "link", "set", dev, "up"])
        for ns, dev, addr, mac in ((cl, va, SERVER, SERVER_MAC), (sv, vb, CLIENT, CLIENT_MAC)):
            ns.run(["ip", "neigh", "replace", addr, "lladdr", mac, "dev", dev, "nud", "permanent"])
        assert sv.run(["ipset", "restore"], stdin=IPSET).rc == 0
        before = sv.run(["ipset", "save"]).out
        r = sv.run([IPT + "-restore", "-w"], stdin=RULES)
        assert r.rc == 0, r.err
        with tempfile.TemporaryDirectory() as tmp:
            cap = Path(tmp) / "sv.pcap"
            # --immediate-mode: frames reach the file as they come, not when a buffer block fills
            argv = ["tcpdump", "-U", "--immediate-mode", "-n", "-i", vb, "-w", str(cap), "-Z", "root", "icmp"]
            dump = subprocess.Popen(["ip", "netns", "exec", sv.name, *argv], stderr=subprocess.PIPE)
            time.sleep(1.0)
            ping = cl.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", SERVER])
            time.sleep(0.5)
            dump.send_signal(signal.SIGINT)
            dump.wait(5)
            frames = read_pcap(cap)
            assert frames, f"tcpdump captured nothing: {dump.stderr.read() if dump.stderr else b''}"
        out = {"ipset": before, "rules": RULES, "dev": "vb", "server_mac": SERVER_MAC,
               "frames": frames, "ping_rc": ping.rc,
               "kernel_save": sv.save(table="filter", counters=True),
               "ipset_save": sv.run(["ipset", "save"]).out}
        sv.run([IPT, "-w", "-F"])
        sv.run(["ipset", "destroy"])
        return out


def main() -> int:
    why = available("ipset", "tcpdump", "ping")
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 1
    data = record()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{OUT}: {len(data['frames'])} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
