"""Every rule case of tests/ext/cases/*.t against what the kernel recorded for it.

For each case: pynetfilter must accept exactly the rules the kernel accepted,
save them as iptables-save did, and list them as ``iptables -L -n -v -x``
and ``iptables -L`` did.  The expected values come from
tools/record_kernel.py (run it as root to re-record).
"""

from __future__ import annotations

import json
import shlex

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.ext.set import ipset_family
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.syntax.command import Command
from pynetfilter.syntax.listing import format_rule
from tools import cases as C

RECORDED = sorted(C.RULE_KERNEL.glob("*.json"))


def _load() -> list[tuple[str, dict]]:
    out = []
    for path in RECORDED:
        data = json.loads(path.read_text())
        for i, case in enumerate(data["cases"]):
            if data.get("setup"):  # the "@ipset create ..." lines the file's rules need
                case = {**case, "setup": data["setup"]}
            out.append((f"{path.stem}:{i}:{case['chain']}:{case['rule']}", case))
    return out


CASES = _load()


def _ruleset(table: str, setup: list[list[str]] | None = None) -> Ruleset:
    rs = Ruleset()
    for argv in setup or []:
        if argv[:2] == ["ipset", "create"]:
            rs.ipsets[argv[2]] = ipset_family(argv[3:])
    for u in C.USER_CHAINS:
        rs.apply(["-t", table, "-N", u])
    return rs


def run_case(case: dict) -> tuple[bool, list[str], list[str], list[str], str]:
    rs = _ruleset(case["table"], case.get("setup", []))
    try:
        rs.apply(["-t", case["table"], "-A", case["chain"], *shlex.split(case["rule"])])
    except PynfError as e:
        return False, [], [], [], str(e)
    chain = rs.table(case["table"]).chains[case["chain"]]
    save = [r.save_spec() for r in chain.rules]
    list_n = [format_rule(r, i, Command(numeric=True, verbose=1, exact=True)).rstrip("\n")
              for i, r in enumerate(chain.rules, 1)]
    lst = [format_rule(r, i, Command()).rstrip("\n") for i, r in enumerate(chain.rules, 1)]
    return True, save, list_n, lst, ""


@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_rule_matches_kernel(case: dict) -> None:
    ok, save, list_n, lst, err = run_case(case)
    if not case["ok"]:
        assert not ok, f"kernel refused ({case['error']}), pynetfilter accepted: {save}"
        return
    assert ok, f"kernel accepted, pynetfilter refused: {err}"
    assert save == case["save"]
    assert list_n == case["list_n"]
    assert lst == case["list"]


def test_every_case_file_is_recorded() -> None:
    for path in sorted(C.RULE_CASES.glob("*.t")):
        want = [(c.table, c.chain, c.rule) for c in C.read_rule_cases(path)]
        rec = C.RULE_KERNEL / f"{path.stem}.json"
        assert rec.exists(), f"{path.name} not recorded: run tools/record_kernel.py {path.stem}"
        got = [(c["table"], c["chain"], c["rule"]) for c in json.loads(rec.read_text())["cases"]]
        assert got == want, f"{path.name} changed since recording: run tools/record_kernel.py {path.stem}"
