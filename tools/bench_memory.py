#!/usr/bin/env python3
"""Memory of a replay as the capture grows: peak RSS of ``pynf replay -q`` on synthetic captures.

    python3 tools/bench_memory.py                      # 10k, 50k and 200k packets
    python3 tools/bench_memory.py --src /tmp/old/src   # the same with another checkout's code

Each capture is UDP packets to a local port at 100 packets a second (so a longer
capture is a longer time, not a denser one), through a 3-rule filter table.
The replay reads the capture as a stream (replay/window.py), so its memory
should not grow with the capture's length.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADDRS = ('[{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"], "mtu": 65536, "link_type": '
         '"loopback", "address": "00:00:00:00:00:00", "addr_info": [{"family": "inet", "local": "127.0.0.1", '
         '"prefixlen": 8}]}, {"ifindex": 2, "ifname": "a0", "flags": ["UP"], "mtu": 1500, "link_type": '
         '"ether", "address": "02:00:00:00:00:01", "addr_info": [{"family": "inet", "local": "10.233.2.1", '
         '"prefixlen": 24}]}]')
ROUTES = ('[{"dst": "10.233.2.0/24", "dev": "a0", "prefsrc": "10.233.2.1", "protocol": "kernel", "scope": '
          '"link"}, {"type": "local", "dst": "10.233.2.1", "dev": "a0", "table": "local", "prefsrc": '
          '"10.233.2.1", "protocol": "kernel", "scope": "host"}, {"type": "local", "dst": "127.0.0.0/8", '
          '"dev": "lo", "table": "local", "prefsrc": "127.0.0.1", "protocol": "kernel", "scope": "host"}]')
RULES = ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"
         "-A INPUT -p udp --dport 53 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n")


def _packet(k: int) -> bytes:
    src = 0x0AE90200 + 2 + k % 200  # 200 clients
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + 32, k & 0xFFFF, 0, 64, 17, 0, src.to_bytes(4, "big"),
                       bytes([10, 233, 2, 1]))
    total = sum(struct.unpack("!10H", head))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    ip = head[:10] + struct.pack("!H", ~total & 0xFFFF) + head[12:]
    udp = struct.pack("!HHHH", 30000 + k % 200, 53, 8 + 32, 0) + bytes(32)
    return struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 6 + b"\0\0") + ip + udp


def capture(path: Path, n: int) -> None:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 276))  # LINUX_SLL2
        for k in range(n):
            data = _packet(k)
            f.write(struct.pack("<IIII", 1_000_000 + k // 100, (k % 100) * 10_000, len(data), len(data)))
            f.write(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", help="the src/ directory of the pynetfilter to measure (default: this one)")
    ap.add_argument("sizes", nargs="*", type=int, default=[10_000, 50_000, 200_000])
    args = ap.parse_args()
    src = args.src or str(Path(__file__).resolve().parent.parent / "src")
    print(f"{'packets':>8} {'capture MB':>10} {'peak RSS MB':>11} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as d:
        for name, text in (("r", RULES), ("a", ADDRS), ("t", ROUTES)):
            Path(d, name).write_text(text)
        for n in args.sizes:
            cap = Path(d, f"{n}.pcap")
            capture(cap, n)
            env = {**os.environ, "PYTHONPATH": src}
            start = time.monotonic()
            child = subprocess.Popen([sys.executable, "-m", "pynetfilter.cli.main", "replay", "-q",
                                      str(Path(d, "r")), str(cap), "--addrs", str(Path(d, "a")), "--routes",
                                      str(Path(d, "t"))], env=env, stderr=subprocess.PIPE, text=True)
            assert child.stderr is not None
            err = child.stderr.read()
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                print(err, file=sys.stderr)
                return 1
            print(f"{n:>8} {cap.stat().st_size / 1e6:>10.1f} {usage.ru_maxrss / 1024:>11.1f} "
                  f"{time.monotonic() - start:>8.1f}")
            cap.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
