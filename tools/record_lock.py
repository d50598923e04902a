#!/usr/bin/env python3
"""Record how iptables-legacy and iptables-legacy-restore wait for a held xtables lock.

    sudo python3 tools/record_lock.py          # writes tests/io/cases/xtables_lock.json

In a throwaway network namespace, with $XTABLES_LOCKFILE pointing at a private
lock file that this script holds (flock), each command runs with a deadline of
DEADLINE seconds; recorded are its exit status (None: still waiting at the
deadline, then killed), its stderr and how long it ran, rounded to a second.
tests/io/test_statefile_lock.py runs pynf with the same wait options against a
held state lock and asks for the same outcome.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import Namespace, available  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "io" / "cases" / "xtables_lock.json"
DEADLINE = 3.0

# The wait options around a rule append (iptables) and a --noflush restore.
IPTABLES = [[], ["-w"], ["-w", "0"], ["-w", "1"], ["-w1"], ["--wait=1"], ["--wait", "2"],
            ["-w", "1", "-W", "100000"], ["-W", "100000"], ["-w", "1", "-W"], ["-w", "abc"], ["-w", "2x"]]
RESTORE = [[], ["-w"], ["-w", "0"], ["-w", "1"], ["--wait=1"], ["-w", "1", "-W", "100"], ["-W", "100"]]
# Read-only commands take the lock in iptables 1.8.9 too (pynf's readers need none: see statefile.py).
READERS = [["-S"], ["-w", "1", "-L", "-n"]]


def _run(ns: Namespace, argv: list[str], stdin: str | None) -> dict:
    start = time.monotonic()
    try:
        p = subprocess.run(["ip", "netns", "exec", ns.name, *argv], input=stdin, capture_output=True,
                           text=True, timeout=DEADLINE)
        rc: int | None = p.returncode
        err = p.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        err = (e.stderr or b"").decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    return {"rc": rc, "stderr": err, "seconds": round(time.monotonic() - start)}


def main() -> int:
    reason = available()
    if reason:
        print(f"record_lock: {reason}", file=sys.stderr)
        return 1
    cases = []
    with tempfile.TemporaryDirectory() as d, Namespace("pynf-lock") as ns:
        lock = os.path.join(d, "xtables.lock")
        os.environ["XTABLES_LOCKFILE"] = lock
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            for wait in IPTABLES:
                got = _run(ns, ["iptables-legacy", *wait, "-A", "INPUT", "-j", "ACCEPT"], None)
                cases.append({"tool": "iptables", "wait": wait, "command": ["-A", "INPUT", "-j", "ACCEPT"],
                              **got})
            for argv in READERS:
                got = _run(ns, ["iptables-legacy", *argv], None)
                cases.append({"tool": "iptables", "wait": [], "command": argv, **got})
            for wait in RESTORE:
                got = _run(ns, ["iptables-legacy-restore", "-n", *wait], "*filter\nCOMMIT\n")
                cases.append({"tool": "restore", "wait": wait, "command": ["-n"], **got})
        finally:
            os.close(fd)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"deadline": DEADLINE, "cases": cases}, indent=1) + "\n")
    for c in cases:
        print(c["tool"], c["wait"], c["command"], c["rc"], c["seconds"], repr(c["stderr"][:80]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
