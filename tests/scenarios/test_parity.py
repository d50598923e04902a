"""Kernel parity: replaying each recorded scenario gives the kernel's counters, rule by rule.

Every folder here was recorded by ``tools/record_scenarios.py`` on a real router namespace: its
``capture.pcap`` is what crossed the router, ``kernel-save.txt`` the router's ``iptables-legacy-save
-c`` afterwards.  ``pynf replay --counters`` of the capture over the same rules, addresses and
routes must print the same packet and byte counters for every rule and policy of every table.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tools.kernel import TRAFFIC_TOOLS, available, table_blocks

HERE = Path(__file__).resolve().parent
SCENARIOS = sorted(p.parent.name for p in HERE.glob("*/scenario.json"))
# Known divergences, each with the kernel behaviour the engine does not have yet.
KNOWN: dict[str, str] = {}


def replay_counters(folder: Path) -> str:
    from pynetfilter.replay.engine import replay

    rp = replay((folder / "rules").read_text(), (folder / "addrs.json").read_text(),
                (folder / "routes.json").read_text(), str(folder / "capture.pcap"), quiet=True,
                out=io.StringIO())
    return rp.engine.ruleset.save(counters=True)


def first_divergence(kernel: dict[str, str], ours: dict[str, str]) -> str | None:
    """The first line (table order of the kernel's save) where the counters or rules differ."""
    for table, block in kernel.items():
        mine = ours.get(table)
        if mine is None:
            return f"table {table}: missing from the replay's save"
        for k, m in zip(block.splitlines(), mine.splitlines(), strict=False):
            if k != m:
                return f"table {table}: kernel {k!r} / replay {m!r}"
        nk, nm = len(block.splitlines()), len(mine.splitlines())
        if nk != nm:
            return f"table {table}: {nk} lines in the kernel's, {nm} here"
    extra = sorted(set(ours) - set(kernel))
    return f"tables only in the replay: {extra}" if extra else None


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 25
    for name in SCENARIOS:
        for f in ("rules", "capture.pcap", "addrs.json", "routes.json", "kernel-save.txt"):
            assert (HERE / name / f).is_file(), f"{name}/{f} missing: run tools/record_scenarios.py {name}"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=False))
                                  if n in KNOWN else n for n in SCENARIOS])
def test_replay_counters_equal_the_kernels(name: str) -> None:
    folder = HERE / name
    kernel = table_blocks((folder / "kernel-save.txt").read_text())
    ours = table_blocks(replay_counters(folder))
    diverged = first_divergence(kernel, ours)
    assert diverged is None, f"{name}: {diverged}"


REASON = available(*TRAFFIC_TOOLS)


@pytest.mark.skipif(REASON is not None, reason=f"kernel not available: {REASON}")
def test_recordings_reproduce_on_this_kernel() -> None:
    """Re-record every scenario (about 10 s) and require what is deterministic to be unchanged:
    the rules as the kernel saves them, the router's addresses and routes."""
    tool = HERE.parent.parent / "tools" / "record_scenarios.py"
    p = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
