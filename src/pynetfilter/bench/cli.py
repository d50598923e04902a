"""``pynf bench services`` and ``pynf bench classbench``: run the measurements, print the figures.

Progress goes to stderr, one line per measurement; the result (a Markdown table, or ``--json``)
to stdout.  The kernel's part runs where it can (root, iproute2, iptables) and otherwise says in
one line why it was skipped; ``--no-kernel`` skips it on purpose.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pynetfilter.bench import report


def _classbench_dir() -> Path:
    """shared/reference/classbench beside the checkout (``../shared`` from the repository), found
    from this file in an editable install, else from the working directory."""
    for repo in (Path(__file__).resolve().parents[3], Path.cwd()):
        where = repo.parent / "shared" / "reference" / "classbench"
        if where.is_dir():
            return where
    return Path.cwd().parent / "shared" / "reference" / "classbench"


CLASSBENCH_DIR = _classbench_dir()
DEFAULT_SIZES = "100,1000,5000"  # a few minutes; the full list: 100,1000,5000,10000,20000,50000


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _csv(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def services_child(size: int, mode: str, endpoints: int, connections: int) -> dict[str, Any]:
    """One size and mode in a fresh interpreter, so its peak RSS is its own."""
    p = subprocess.run([sys.executable, "-m", "pynetfilter.bench.services", str(size), mode, str(endpoints),
                        str(connections)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"services={size} mode={mode}: {p.stderr.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(p.stdout)
    return result


def run_services(sizes: list[int], modes: list[str], endpoints: int = 10, connections: int = 200,
                 kernel: bool = True, kernel_connections: int = 1000) -> dict[str, Any]:
    from pynetfilter.bench.netns import RESTORE, unavailable
    from pynetfilter.bench.services import MODES

    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (expected {', '.join(MODES)})")
    start = time.perf_counter()
    results: list[dict[str, Any]] = []
    out: dict[str, Any] = {"results": results}
    why = None if kernel else "--no-kernel"
    why = why or unavailable(*RESTORE.values())
    if why:
        out["kernel_skipped"] = why
        _say(f"kernel: skipped: {why}")
    for size in sizes:
        for mode in modes:
            r = services_child(size, mode, endpoints, connections)
            _say(f"services={size} {mode}: first packet {r['first_packet_us']:,.1f} µs, "
                 f"update {r['update_us'] / 1e3:,.0f} ms, load {r['load_s']:.2f} s, RSS {r['rss_mb']:.0f} MB")
            results.append(r)
        if why:
            continue
        from pynetfilter.bench.netns import LabError
        from pynetfilter.bench.services import ruleset_text
        from pynetfilter.bench.services_kernel import measure_kernel

        text = ruleset_text(size, endpoints)
        for mode in RESTORE:
            try:
                r = measure_kernel(size, mode, endpoints, kernel_connections, text)
            except LabError as e:
                _say(f"services={size} {mode}: failed: {e}")
                out.setdefault("kernel_failed", []).append(f"services={size} {mode}: {e}")
                continue
            _say(f"services={size} {mode}: connect {r['first_packet_us']:,.1f} µs (baseline "
                 f"{r['baseline_us']:,.1f}), update {r['update_us'] / 1e3:,.1f} ms, load {r['load_s']:.2f} s")
            results.append(r)
    out["elapsed_s"] = time.perf_counter() - start
    return out


def run_classbench(sets: list[str], sizes: list[str], modes: list[str], packets: int = 1000,
                   kernel: bool = True, where: Path = CLASSBENCH_DIR) -> dict[str, Any] | None:
    """None when the ClassBench files are not there."""
    from pynetfilter.bench.classbench import parse
    from pynetfilter.bench.classify import CLASSIFIERS, measure_set
    from pynetfilter.bench.netns import unavailable

    if not where.is_dir():
        return None
    for mode in modes:
        if mode not in CLASSIFIERS:
            raise ValueError(f"unknown mode {mode!r} (expected {', '.join(CLASSIFIERS)})")
    start = time.perf_counter()
    results: list[dict[str, Any]] = []
    out: dict[str, Any] = {"results": results}
    why = None if kernel else "--no-kernel"
    why = why or unavailable("iptables-legacy-restore")
    if why:
        out["kernel_skipped"] = why
        _say(f"kernel: skipped: {why}")
    for name in (f"{s}_{z}" for s in sets for z in sizes):
        path = where / name
        if not path.exists():
            _say(f"{name}: no such rule set in {where}, skipped")
            continue
        rules = parse(path.read_text())
        rows = measure_set(name, rules, modes, packets)
        for r in rows:
            _say(f"{name} {r['mode']}: {r['ns_per_classification']:,.0f} ns per classification, "
                 f"build {r['build_s']:.3f} s")
        results.extend(rows)
        if why:
            continue
        from pynetfilter.bench.classbench_kernel import measure_kernel
        from pynetfilter.bench.netns import LabError

        try:
            k = measure_kernel(name, rules, float(rows[0]["mean_depth"]))
        except LabError as e:
            _say(f"{name} kernel-legacy: failed: {e}")
            out.setdefault("kernel_failed", []).append(f"{name}: {e}")
            continue
        _say(f"{name} kernel-legacy: {k['ns_per_rule']:.2f} ns per rule walked (R² {k['fit_r2']:.3f}), "
             f"~{k['ns_per_classification']:,.0f} ns per classification")
        results.append(k)
    out["elapsed_s"] = time.perf_counter() - start
    return out


def cmd_services(args: argparse.Namespace) -> int:
    try:
        sizes = [int(s) for s in _csv(args.sizes)]
        out = run_services(sizes, _csv(args.modes), args.endpoints, args.connections, args.kernel,
                           args.kernel_connections)
    except ValueError as e:
        print(f"pynf bench: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        sys.stdout.write(report.services_table(out["results"]))
        print(f"\n{len(sizes)} sizes in {out['elapsed_s']:.0f} s")
    if args.plot:
        _say(report.plot_services(out["results"], args.plot))
    return 0


def cmd_classbench(args: argparse.Namespace) -> int:
    try:
        out = run_classbench(_csv(args.sets), _csv(args.sizes), _csv(args.modes), args.packets, args.kernel,
                             Path(args.dir))
    except ValueError as e:
        print(f"pynf bench: {e}", file=sys.stderr)
        return 2
    if out is None:
        print(f"classbench: {args.dir} is absent (the ClassBench rule sets: shared/reference/classbench); "
              "skipped")
        return 0
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        sys.stdout.write(report.classbench_table(out["results"]))
    return 0


def add_parser(sub: Any) -> None:
    """Register ``bench`` (with ``services`` and ``classbench``) on the pynf command's subparsers."""
    p = sub.add_parser("bench", help="benchmarks: kube-proxy Services, ClassBench rule sets (and the kernel)")
    bsub = p.add_subparsers(dest="bench", required=True)
    s = bsub.add_parser("services", help="new-connection, established, update and load cost vs Services")
    s.add_argument("--sizes", default=DEFAULT_SIZES, help=f"Service counts (default {DEFAULT_SIZES})")
    s.add_argument("--endpoints", type=int, default=10, help="endpoints per Service (default 10)")
    s.add_argument("--modes", default="interpreter,compiled", help="pynetfilter modes (default both)")
    s.add_argument("--connections", type=int, default=200, help="connections per size and mode (median)")
    s.add_argument("--kernel", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure the kernel (root, iptables-legacy and iptables-nft; default on)")
    s.add_argument("--kernel-connections", type=int, default=1000,
                   help="the kernel's connections per size and tool (median; default 1000)")
    s.add_argument("--json", action="store_true", help='print {"results": [...]}')
    s.add_argument("--plot", metavar="FILE.png", help="first-packet cost vs Services, log-log (matplotlib)")
    s.set_defaults(func=cmd_services)
    c = bsub.add_parser("classbench", help="ns per classification on ClassBench rule sets")
    c.add_argument("--sets", default="acl1,fw1,ipc1", help="rule set families (default acl1,fw1,ipc1)")
    c.add_argument("--sizes", default="1k,10k", help="sizes (default 1k,10k; ipc1 also has 50k)")
    c.add_argument("--modes", default="interpreter,compiled", help="classifiers (default both)")
    c.add_argument("--packets", type=int, default=1000, help="sampled packets per set (default 1000)")
    c.add_argument("--kernel", action=argparse.BooleanOptionalAction, default=True,
                   help="also estimate the kernel's cost (root, iptables-legacy; default on)")
    c.add_argument("--dir", default=str(CLASSBENCH_DIR), help="where the ClassBench files are")
    c.add_argument("--json", action="store_true", help='print {"results": [...]}')
    c.set_defaults(func=cmd_classbench)
