#!/usr/bin/env python3
"""Benchmark: load and save a large kube-proxy ruleset, beside the kernel's own restore tools.

    python3 tools/bench_load.py                       # 20,000 services x 10 endpoints
    python3 tools/bench_load.py --services 1000       # smaller

Generates the kube-proxy (iptables mode) restore input with tools/gen_kube_proxy.py,
then times, each in a fresh process:
  * pynetfilter: parse + validate (Ruleset.from_save) and iptables-save text out,
    with peak memory;
  * iptables-legacy-restore and iptables-nft-restore loading the same file into a
    throwaway network namespace (root only), and iptables-legacy-save reading it back.
Finally it checks that pynetfilter's save text equals the kernel's, table by table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.kernel import Namespace, available, table_blocks  # noqa: E402


def child(path: str, out: str) -> None:
    """Runs in its own process: load, save, report times and peak RSS as JSON."""
    from pynetfilter.model.ruleset import Ruleset

    text = Path(path).read_text()
    t0 = time.perf_counter()
    rs = Ruleset.from_save(text, counters=False)
    t1 = time.perf_counter()
    saved = rs.save()
    t2 = time.perf_counter()
    Path(out).write_text(saved)
    rules = sum(len(c.rules) for t in rs.tables.values() for c in t.chains.values())
    chains = sum(len(t.chains) for t in rs.tables.values())
    print(json.dumps({
        "load_s": t1 - t0, "save_s": t2 - t1, "rules": rules, "chains": chains,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def timed(argv: list[str], stdin_path: str | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    with open(stdin_path) if stdin_path else open(os.devnull) as f:
        p = subprocess.run(argv, stdin=f, capture_output=True, text=True)
    return time.perf_counter() - t0, p


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=20000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--no-kernel", action="store_true", help="skip the iptables-*-restore comparison")
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0

    work = Path(tempfile.mkdtemp(prefix="pynf-bench-"))
    rules_file = work / "kube.rules"
    t0 = time.perf_counter()
    gen = [sys.executable, str(ROOT / "tools" / "gen_kube_proxy.py"), "--services", str(args.services),
           "--endpoints", str(args.endpoints), "--nodeports", "0.2", "-o", str(rules_file)]
    subprocess.run(gen, check=True)
    gen_s = time.perf_counter() - t0
    lines = sum(1 for line in rules_file.open() if line.startswith("-A"))
    print(f"input: {args.services} services x {args.endpoints} endpoints: {lines:,} rules, "
          f"{rules_file.stat().st_size / 1e6:.1f} MB (generated in {gen_s:.1f} s)")

    pynf_out = work / "pynf.save"
    wall, p = timed([sys.executable, __file__, "--child", str(rules_file), str(pynf_out)])
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        return 1
    r = json.loads(p.stdout)
    rows = [("pynetfilter load+validate", r["load_s"]), ("pynetfilter save", r["save_s"])]
    print(f"pynetfilter: {r['rules']:,} rules in {r['chains']:,} chains; process wall {wall:.1f} s; "
          f"peak RSS {r['peak_rss_mb']:.0f} MB")

    why = None if not args.no_kernel else "--no-kernel"
    why = why or available()
    same = None
    if why is None:
        for tool in ("iptables-legacy-restore", "iptables-nft-restore"):
            with Namespace("pynf-bench") as ns:
                secs, p = timed(["ip", "netns", "exec", ns.name, tool, "-w"], str(rules_file))
                if p.returncode != 0:
                    print(f"{tool} failed: {p.stderr.strip()[:300]}")
                    continue
                rows.append((f"{tool} (kernel load)", secs))
                if tool == "iptables-legacy-restore":
                    t1 = time.perf_counter()
                    kernel_save = ns.save()
                    rows.append(("iptables-legacy-save", time.perf_counter() - t1))
                    ours = table_blocks(pynf_out.read_text())
                    theirs = table_blocks(kernel_save)
                    same = ours == theirs
    else:
        print(f"kernel comparison skipped: {why}")
    print()
    print("| step | seconds |")
    print("|---|---:|")
    for name, secs in rows:
        print(f"| {name} | {secs:.1f} |")
    if same is not None:
        print(f"\npynetfilter save == iptables-legacy-save (every table, byte for byte): {same}")
    return 0 if same in (None, True) else 1


if __name__ == "__main__":
    sys.exit(main())
