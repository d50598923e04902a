#!/usr/bin/env python3
"""Record iptables-legacy-save's whole output (header lines and table order) after command sequences.

    sudo python3 tools/record_save.py              # every tests/restore/sequences/*.seq
    sudo python3 tools/record_save.py NAME...      # only these
    sudo python3 tools/record_save.py --check      # re-ask the kernel, fail on any difference

A sequence file holds one step a line, run in order in a fresh network
namespace: ``iptables ARGS`` (shell quoting), ``restore [FLAGS]: TEXT``
(iptables-restore input with ``\\n``/``\\r`` escapes) or ``save: ARGS``
(an iptables-save run whose output is not kept).  Recorded: each step's exit
status and first error line, /proc/net/ip_tables_names, and the full
``iptables-legacy-save`` and ``-c`` output under TZ=UTC with the second it
ran at (a run whose saves straddle a second is repeated), so a test can
print its own save at that instant and compare every byte.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import IPT, Namespace, available  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEQUENCES = ROOT / "tests" / "restore" / "sequences"
NS_PREFIX = os.environ.get("PYNF_NS_PREFIX", "pynf-rec")


@dataclass(frozen=True)
class Step:
    kind: str  # "iptables", "restore" or "save"
    args: list[str]
    text: str = ""  # restore input


def read_sequence(path: Path) -> list[Step]:
    steps = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" ")
        if head == "iptables":
            steps.append(Step("iptables", shlex.split(rest)))
        elif line.startswith(("restore", "save")):
            lead, _, body = line.partition(":")
            words = lead.split()
            text = body.strip().encode().decode("unicode_escape") if words[0] == "restore" else ""
            args = words[1:] if words[0] == "restore" else shlex.split(body)
            steps.append(Step(words[0], args, text))
        else:
            raise ValueError(f"{path.name}: bad step {line!r}: expected iptables, restore: or save:")
    return steps


def _run(ns: Namespace, argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(["ip", "netns", "exec", ns.name, *argv], input=stdin, capture_output=True,
                          env=env)


def record(path: Path) -> dict:
    steps = read_sequence(path)
    for _ in range(10):
        out = []
        with Namespace(NS_PREFIX) as ns:
            for s in steps:
                if s.kind == "iptables":
                    p = _run(ns, [IPT, "-w", *s.args])
                elif s.kind == "restore":
                    p = _run(ns, ["iptables-legacy-restore", "-w", *s.args], s.text.encode())
                else:
                    p = _run(ns, ["iptables-legacy-save", *s.args])
                err = p.stderr.decode("utf-8", "surrogateescape")
                out.append({"step": s.kind, "args": s.args, "rc": p.returncode,
                            "error": (err.strip().split("\n") or [""])[0]})
            names = _run(ns, ["cat", "/proc/net/ip_tables_names"]).stdout.decode().split()
            before = int(time.time())
            save = _run(ns, ["iptables-legacy-save"]).stdout.decode("utf-8", "surrogateescape")
            save_c = _run(ns, ["iptables-legacy-save", "-c"]).stdout.decode("utf-8", "surrogateescape")
            after = int(time.time())
        if before == after:
            return {"source": path.name, "steps": out, "names": names, "epoch": before, "tz": "UTC",
                    "save": save, "save_counters": save_c}
        time.sleep(0.2)
    raise RuntimeError(f"{path.name}: could not save within one second")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--check", action="store_true", help="compare with the recorded files (dates aside)")
    args = ap.parse_args()
    why = available()
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 2
    ok = True
    for p in sorted(SEQUENCES.glob("*.seq")):
        if args.names and p.stem not in args.names:
            continue
        data = record(p)
        dest = p.with_suffix(".json")
        if args.check:
            old = json.loads(dest.read_text()) if dest.exists() else {}
            keys = ("steps", "names")
            if [old.get(k) for k in keys] != [data[k] for k in keys]:
                print(f"DIFFERS: {dest}")
                ok = False
            continue
        dest.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"{p.name}: {len(data['steps'])} steps, tables {' '.join(data['names'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
