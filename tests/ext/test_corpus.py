"""Every rule case of tests/ext/cases/*.t against what the kernel recorded for it.

For each case: pynetfilter must accept exactly the rules the kernel accepted,
save them as iptables-save did, and list them as ``iptables -L -n -v -x``
and ``iptables -L`` did.  The expected values come from
tools/record_kernel.py (run it as root to re-record).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.ext import connlabel
from pynetfilter.ext.cgroup import cgroup2_root
from pynetfilter.ext.connlabel import LABEL_FILE
from pynetfilter.ext.nfacct import KernelObjects, nfacct_names
from pynetfilter.ext.realm import REALMS_FILE
from pynetfilter.ext.set import ipset_family
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.syntax import fastparse
from pynetfilter.syntax.command import Command
from pynetfilter.syntax.listing import format_rule
from tools import cases as C

RECORDED = sorted(C.RULE_KERNEL.glob("*.json"))
# Case files recorded without a file iptables reads: their cases hold only where it is absent too.
RECORDED_WITHOUT = {"connlabel": LABEL_FILE}
# Case files recorded where a cgroup2 hierarchy is mounted (cgroup --path is checked against it).
_CG2 = cgroup2_root()
RECORDED_WITH = {"cgroup": _CG2 / "cgroup.controllers" if _CG2 else Path("/no cgroup2 mount"),
                 "realm": REALMS_FILE}  # realm names: iproute2's file (0 is "cosmos")


def _load() -> list[tuple[str, dict]]:
    out = []
    for path in RECORDED:
        data = json.loads(path.read_text())
        for i, case in enumerate(data["cases"]):
            if data.get("setup"):  # the "@ipset create ..." lines the file's rules need
                case = {**case, "setup": data["setup"]}
            if path.stem in RECORDED_WITHOUT:
                case = {**case, "absent": str(RECORDED_WITHOUT[path.stem])}
            if path.stem in RECORDED_WITH:
                case = {**case, "present": str(RECORDED_WITH[path.stem])}
            if C.labels_file(C.RULE_CASES / f"{path.stem}.t").exists():  # recorded with connlabel names
                case = {**case, "labels": str(C.labels_file(C.RULE_CASES / f"{path.stem}.t"))}
            out.append((f"{path.stem}:{i}:{case['chain']}:{case['rule']}", case))
    return out


CASES = _load()


def _ruleset(table: str, setup: list[list[str]] | None = None) -> Ruleset:
    rs = Ruleset()
    for argv in setup or []:
        if argv[:2] == ["ipset", "create"]:
            rs.ipsets[argv[2]] = ipset_family(argv[3:])
        elif argv[:2] == ["nfacct", "add"]:  # the objects -m nfacct rules name
            rs.ipsets = KernelObjects(rs.ipsets, [*nfacct_names(rs.ipsets), argv[2]])
        elif argv[0] == "iptables":
            rs.apply(argv[1:])
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


@pytest.fixture
def labels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pynetfilter reads the connlabel names the case file was recorded with."""
    case = request.node.callspec.params["case"]
    if case.get("labels"):
        monkeypatch.setattr(connlabel, "LABEL_FILE", Path(case["labels"]))
    connlabel.label_map.cache_clear()
    yield
    connlabel.label_map.cache_clear()


@pytest.mark.usefixtures("labels")
@pytest.mark.parametrize("case", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_rule_matches_kernel(case: dict) -> None:
    if case.get("absent") and Path(case["absent"]).exists():
        pytest.skip(f"recorded without {case['absent']}, which exists here (iptables reads it)")
    if case.get("present") and not Path(case["present"]).exists():
        pytest.skip(f"recorded with {case['present']}, which is missing here")
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


def test_every_accepted_rule_survives_a_state_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the kernel accepted, a state file (exact save) gives back as the same rule: values
    iptables-save's text cannot carry included (pynetfilter.syntax.exact), and only those are
    written in the exact form."""
    kept = exact = 0
    for ident, case in CASES:
        if not case["ok"] or (case.get("absent") and Path(case["absent"]).exists()) \
                or (case.get("present") and not Path(case["present"]).exists()):
            continue
        monkeypatch.setattr(connlabel, "LABEL_FILE", Path(case.get("labels") or LABEL_FILE))
        connlabel.label_map.cache_clear()
        fastparse.CACHE.ext.clear()  # parsed with another label file, an instance would be wrong here
        rs = _ruleset(case["table"], case.get("setup", []))
        rs.apply(["-t", case["table"], "-A", case["chain"], *shlex.split(case["rule"])])
        try:
            text = rs.save(counters=True, exact=True)
        except PynfError as e:
            raise AssertionError(f"{ident}: {e}") from None
        if "#pynf-exact " in text:  # only where iptables-save's own text would not do
            exact += 1
            plain = _ruleset(case["table"], case.get("setup", []))
            try:
                plain.restore_saved(rs.save(counters=True), counters=True)
                same = all([r.spec() for r in plain.tables[n].chains[c].rules] == [r.spec() for r in ch.rules]
                           for n, tb in rs.tables.items() for c, ch in tb.chains.items())
            except PynfError:
                same = False
            assert not same, f"{ident}: kept exactly, though iptables-save's text reads back the same"
        again = _ruleset(case["table"], case.get("setup", []))
        try:
            again.restore_saved(text, counters=True)
        except PynfError as e:
            raise AssertionError(f"{ident}: {e}") from None
        for name, table in rs.tables.items():
            for chain, ch in table.chains.items():
                got = [r.spec() for r in again.tables[name].chains[chain].rules]
                assert got == [r.spec() for r in ch.rules], ident
        kept += 1
    monkeypatch.undo()
    connlabel.label_map.cache_clear()
    fastparse.CACHE.ext.clear()
    assert kept > 2000 and exact > 0, (kept, exact)
