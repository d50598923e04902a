"""Every command sequence of tests/syntax/cases/*.cmds against what the kernel recorded for it.

Each step is an iptables command line run in order on one ruleset: pynetfilter
must exit with the kernel's iptables status (0, or the PynfError's status),
print the same stdout when it succeeds, and end with the same
``iptables-save -c`` text, table by table.  The expected values come from
tools/record_kernel.py (run it as root to re-record).
"""

from __future__ import annotations

import json

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.model.ruleset import Ruleset
from tools import cases as C
from tools.kernel import table_blocks

RECORDED = sorted(C.COMMAND_KERNEL.glob("*.json"))


def run_steps(steps: list[dict]) -> tuple[Ruleset, list[tuple[int, str, str]]]:
    rs = Ruleset()
    got = []
    for step in steps:
        try:
            out = rs.apply(step["argv"])
            got.append((0, out, ""))
        except PynfError as e:
            got.append((e.status, "", str(e)))
    return rs, got


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_steps_match_kernel(path) -> None:
    data = json.loads(path.read_text())
    _, got = run_steps(data["steps"])
    problems = []
    for n, (step, (rc, out, err)) in enumerate(zip(data["steps"], got, strict=True)):
        argv = " ".join(step["argv"])
        if rc != step["rc"]:
            problems.append(f"step {n} [{argv}]: rc {rc} ({err}), kernel rc {step['rc']} ({step['error']})")
        elif rc == 0 and out != step["out"]:
            problems.append(f"step {n} [{argv}]: stdout differs:\n--- ours\n{out}--- kernel\n{step['out']}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_final_state_matches_kernel(path) -> None:
    data = json.loads(path.read_text())
    rs, _ = run_steps(data["steps"])
    want = table_blocks(data["save"])
    got = table_blocks(rs.save(counters=True, header=False))
    for name, block in want.items():
        assert got.get(name, "") == block, f"table {name} differs"
    # A table pynetfilter loaded that the kernel did not is fine only if it is empty.
    for name in set(got) - set(want):
        assert all(not ln.startswith("-A") for ln in got[name].splitlines()), f"extra table {name}"
    assert [n for n in got if n in want] == list(want), "tables listed in another order than the kernel's"


def test_every_case_file_is_recorded() -> None:
    for path in sorted(C.COMMAND_CASES.glob("*.cmds")):
        rec = C.COMMAND_KERNEL / f"{path.stem}.json"
        assert rec.exists(), f"{path.name} not recorded: run tools/record_kernel.py {path.stem}"
        got = [s["argv"] for s in json.loads(rec.read_text())["steps"]]
        assert got == C.read_command_cases(path), f"{path.name} changed since recording"
