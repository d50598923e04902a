#!/usr/bin/env python3
"""Benchmark: replay throughput of a real capture through a 1,000-Service kube-proxy ruleset.

    python3 tools/bench_replay.py [--services 1000] [--scenario kube-service-tcp] [--repeat 5]

Takes a recorded kernel parity scenario (its capture, iproute2 JSON and rules), adds
kube-proxy's chains for N more Services (tools/gen_kube_proxy.py, 10 endpoints each)
and puts the scenario's own Service last in KUBE-SERVICES, so every new connection
walks all N Service rules first, as it would on a busy node.  Prints packets per
second for the replay (parsing the capture excluded), and the same with the
scenario's own small ruleset for comparison.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(rules: str, services: int) -> tuple[object, str]:
    from pynetfilter.model.ruleset import Ruleset

    rs = Ruleset()
    rs.restore(rules)
    if services:
        gen = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_kube_proxy.py"), "--services",
                              str(services), "--endpoints", "10"], check=True, capture_output=True,
                             text=True).stdout
        own = [r for r in rs.tables["nat"].chains["KUBE-SERVICES"].rules]
        rs.restore(gen, noflush=True)
        services = rs.tables["nat"].chains["KUBE-SERVICES"]
        for rule in own:  # through the chain's edit log, which the fast path follows
            services.append(rule)
    n = sum(len(c.rules) for t in rs.tables.values() for c in t.chains.values())
    return rs, f"{n:,} rules"


def run(scenario: Path, services: int, repeat: int) -> tuple[float, int, str]:
    from pynetfilter.netfilter.host import Host
    from pynetfilter.replay.engine import Replay, read_frames

    addrs = (scenario / "addrs.json").read_text()
    routes = (scenario / "routes.json").read_text()
    rules = (scenario / "rules").read_text()
    best = float("inf")
    frames_n = 0
    size = ""
    for _ in range(repeat):
        rs, size = build(rules, services)
        host = Host.from_iproute(addrs, routes)
        frames = read_frames(str(scenario / "capture.pcap"), host)
        rp = Replay(rs, host, frames)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        for i in range(len(frames)):
            rp.step(i)
        best = min(best, time.perf_counter() - t0)
        frames_n = len(frames)
    return frames_n / best, frames_n, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--scenario", default="kube-service-tcp")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    scenario = ROOT / "tests" / "scenarios" / args.scenario
    print("| ruleset | packets | packets/s |")
    print("|---|---:|---:|")
    for n in (0, args.services):
        pps, frames, size = run(scenario, n, args.repeat)
        label = f"scenario rules + {n:,} Services ({size})" if n else f"scenario rules only ({size})"
        print(f"| {label} | {frames} | {pps:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
