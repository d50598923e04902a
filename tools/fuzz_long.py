#!/usr/bin/env python3
"""Run every fuzz test at once, each for a wall-clock budget, and report examples and failures.

    python3 tools/fuzz_long.py                 # 32 minutes, every Hypothesis test of the fuzz suites
    python3 tools/fuzz_long.py --minutes 5 -k json

Each test runs in its own ``pytest --fuzz-long -x`` process (niced), stopped when the budget is
spent; a test that fails stops at once and its output is kept.  Examples are counted by
tests/conftest.py (``$PYNF_FUZZ_COUNT``).  Exit status 1 if any test failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ["tests/test_fuzz.py", "tests/test_fuzz_packets.py", "tests/test_fuzz_inputs.py",
          "tests/netfilter/conntrack/test_ct_listing.py::test_mutated_state_loads_or_says_why"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=32.0)
    ap.add_argument("-k", default="", help="only tests matching this pytest -k expression")
    args = ap.parse_args()
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             *(["-k", args.k] if args.k else []), *SUITES], cwd=ROOT, capture_output=True,
                            text=True)
    tests = [ln for ln in listed.stdout.splitlines() if "::" in ln and "[" not in ln]  # Hypothesis tests
    with tempfile.TemporaryDirectory() as counts:
        env = {**os.environ, "PYNF_FUZZ_COUNT": counts}
        procs = []
        for t in tests:
            log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (read after the process ends)
            argv = ["nice", "-n", "10", sys.executable, "-m", "pytest", "--fuzz-long", "-x", "-q", "-p",
                    "no:cacheprovider", t]
            p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
            procs.append((t, p, log))
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline and any(p.poll() is None for _, p, _ in procs):
            time.sleep(5)
        failed = 0
        print(f"{'test':<75} {'examples':>9}  result")
        for t, p, log in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
                result = f"no failure in {args.minutes:g} min"
            else:
                log.seek(0)
                out = log.read()
                ok = p.returncode == 0
                result = "passed (all examples)" if ok else "FAILED"
                if not ok:
                    failed += 1
                    print(out[-4000:], file=sys.stderr)
            f = Path(counts) / (t.replace("/", "_").replace("::", "__") + ".count")
            n = f.read_text().strip() if f.exists() else "<200"
            print(f"{t:<75} {n:>9}  {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
