"""The fast path must give exactly the full parser's answer wherever it answers at all."""

from __future__ import annotations

import json
import shlex

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.syntax.command import CommandParser
from pynetfilter.syntax.fastparse import fast_rule
from tools import cases as C


def _corpus_rules() -> list[tuple[str, list[str]]]:
    out = []
    for path in sorted(C.RULE_KERNEL.glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            out.append((case["table"], ["-A", case["chain"], *shlex.split(case["rule"])]))
            if case.get("ok"):
                for saved in case["save"]:
                    out.append((case["table"], ["-A", case["chain"], *shlex.split(saved)]))
    # Rule lines of the restore cases (kube-proxy, Docker, ufw, firewalld, Calico ...).
    from pynetfilter.syntax.restore import split_params

    for path in sorted(C.SCRIPT_CASES.glob("*.rules")):
        table = "filter"
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif line.startswith("-A "):
                try:
                    out.append((table, split_params(line)))
                except PynfError:
                    continue
    return out


RULES = _corpus_rules()


def _full(argv: list[str], table: str):  # type: ignore[no-untyped-def]
    return CommandParser(argv, in_restore=True, default_table=table).parse()


def test_fast_path_equals_full_parser() -> None:
    if not RULES:
        pytest.skip("no recorded corpus")
    answered = 0
    for table, argv in RULES:
        fast = fast_rule(argv, table)
        if fast is None:
            continue
        answered += 1
        try:
            full = _full(argv, table)
        except PynfError as e:
            pytest.fail(f"fast path accepted what the full parser refuses ({e}): {argv}")
        assert [r.save_spec() for r in fast.rules] == [r.save_spec() for r in full.rules], argv
        assert fast.rules == full.rules, argv
        assert (fast.chain, fast.jump, fast.goto) == (full.chain, full.jump, full.goto), argv
    # The fast path must carry the bulk of real, saved rules.
    assert answered >= len(RULES) // 3


def test_fast_path_declines_unusual_shapes() -> None:
    for argv in (
        ["-A", "INPUT", "-p", "tcp", "--dport", "80"],  # implicit -m tcp
        ["-A", "INPUT", "-s", "10.233.0.1,10.233.0.2"],  # expands to two rules
        ["-A", "INPUT", "-p", "tcp", "-m", "tcp", "--dpo", "80"],  # abbreviation
        ["-A", "INPUT", "!", "-m", "tcp"],
        ["-I", "INPUT", "-j", "ACCEPT"],
    ):
        assert fast_rule(argv, "filter") is None, argv
