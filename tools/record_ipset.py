#!/usr/bin/env python3
"""Record what the real ``ipset`` says to sequences of ipset (and iptables) commands.

    sudo python3 tools/record_ipset.py             # every tests/netfilter/ipset/cases/*.cmds
    sudo python3 tools/record_ipset.py basic refs  # only these case files
    sudo python3 tools/record_ipset.py --check     # re-ask the kernel, fail on any difference
    (--prefix NAME: the namespace's name prefix; a pid and a random tag are added)

A case file is one command per line, in shell quoting, run in order in a
fresh network namespace (ipsets and iptables tables are per namespace)::

    # comment
    ipset create a hash:ip timeout 30
    ipset add a 10.233.0.1
    iptables -A INPUT -m set --match-set a src     (run as iptables-legacy -w)
    nfacct add web                                  (run as nfacct)
    ipset restore -exist
    < create b hash:net                             (stdin of the command above)
    < add b 10.233.1.0/24

Recorded per step (tests/netfilter/ipset/kernel/NAME.json): the argv, the
stdin, the exit status, stdout and stderr.  tests/netfilter/ipset/test_cases.py
replays the same steps through ``pynf ipset --state`` / ``pynf iptables
--state`` / ``pynf nfacct --state`` on one state file and requires the same.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import IPT, Namespace, available  # noqa: E402

CASES = Path(__file__).resolve().parent.parent / "tests" / "netfilter" / "ipset" / "cases"
KERNEL = CASES.parent / "kernel"
PROGRAMS = {"ipset": ["ipset"], "iptables": [IPT, "-w"], "nfacct": ["nfacct"]}


def read_steps(path: Path) -> list[dict]:
    """The steps of a case file: {"argv": [...], "stdin": str | None}."""
    steps: list[dict] = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if raw.startswith("< ") or raw == "<":
            if not steps:
                raise ValueError(f"{path.name}:{n}: stdin line before any command")
            steps[-1]["stdin"] = (steps[-1]["stdin"] or "") + raw[2:] + "\n"
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        argv = shlex.split(line)
        if argv[0] not in PROGRAMS:
            raise ValueError(f"{path.name}:{n}: expected ipset, iptables or nfacct, got {argv[0]!r}")
        steps.append({"argv": argv, "stdin": None})
    return steps


def record(path: Path, prefix: str = "pynf-ipset") -> dict:
    """Run the case file in a fresh namespace named *prefix*-PID-RANDOM (deleted afterwards)."""
    out = []
    with Namespace(prefix) as ns:
        for step in read_steps(path):
            argv = step["argv"]
            r = ns.run(PROGRAMS[argv[0]] + argv[1:], stdin=step["stdin"] if step["stdin"] is not None else "")
            out.append({**step, "rc": r.rc, "out": r.out, "err": r.err})
        ns.run(["iptables-legacy-restore", "-w"], stdin="".join(
            f"*{t}\nCOMMIT\n" for t in ns.run(["cat", "/proc/net/ip_tables_names"]).out.split()))
        ns.run(["ipset", "destroy"])
        ns.run(["nfacct", "flush"])
    return {"source": path.name, "steps": out}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="case file stems (default: all)")
    ap.add_argument("--check", action="store_true", help="compare with the recordings instead")
    ap.add_argument("--prefix", default="pynf-ipset", help="namespace name prefix (a pid is added)")
    args = ap.parse_args()
    why = available("ipset", "nfacct")
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 1
    paths = sorted(CASES.glob("*.cmds"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    bad = 0
    for path in paths:
        data = record(path, args.prefix)
        dest = KERNEL / f"{path.stem}.json"
        text = json.dumps(data, indent=1) + "\n"
        if args.check:
            old = json.loads(dest.read_text()) if dest.exists() else None
            if masked(old) != masked(data):
                print(f"DIFFERS: {dest}")
                bad += 1
            continue
        KERNEL.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        print(f"{path.name}: {len(data['steps'])} steps")
    return 1 if bad else 0


_INITVAL = re.compile(r"initval 0x[0-9a-f]+")


_LEFT = re.compile(r"(?<=timeout )\d+(?= |$)", re.M)


def normalize(text: str) -> str:
    """Output without what changes from run to run: a set's random hash initval, and the seconds an
    element has left (a run may print 299 or 300 for a fresh timeout-300 element)."""
    return _LEFT.sub("N", _INITVAL.sub("initval 0x*", text))


def masked(data: dict | None) -> object:
    if data is None:
        return None
    return [(s["argv"], s["rc"], normalize(s["out"]), normalize(s["err"])) for s in data["steps"]]


if __name__ == "__main__":
    sys.exit(main())
