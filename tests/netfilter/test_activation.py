"""Conntrack and defragmentation activation: the engine's choice equals the kernel's, case by case.

The kernel registers conntrack's hooks in a namespace (and defragmentation with them) while a loaded
rule's checkentry holds nf_ct_netns_get, defragmentation alone while one holds nf_defrag_ipv4_enable
(-m socket, -j TPROXY); no table does by itself, not even nat.  Recorded by
``tools/record_activation.py`` into ``kernel/activation.json``: whether a fragmented datagram
reached a raw PREROUTING ``-f`` rule and whether ``conntrack -L`` listed it, before and after the
case's deletions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RECORDED = Path(__file__).parent / "kernel" / "activation.json"
CASES = json.loads(RECORDED.read_text())["cases"] if RECORDED.exists() else []


def activation(rules: str, after: list[str] = ()) -> dict[str, bool]:  # type: ignore[assignment]
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine

    rs = Ruleset.from_save(rules) if rules else Ruleset()
    for cmd in after:
        rs.apply(cmd)
    engine = Engine(rs, Host([], []))
    return {"conntrack": engine.conntrack_active, "defrag": engine.defrag_active}


def test_cases_are_recorded() -> None:
    assert len(CASES) >= 40, "run tools/record_activation.py"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_activation_is_the_kernels(case: dict) -> None:
    got = activation(case["rules"])
    assert got == case["kernel"]
    if "after" in case:
        assert activation(case["rules"], case["after"]) == case["kernel_after"]


@pytest.mark.parametrize("case", [c for c in CASES if "after" in c], ids=lambda c: c["name"])
def test_an_engine_follows_rule_changes(case: dict) -> None:
    """Rules deleted through the API after the engine was built give conntrack back, as in the kernel
    (whose recording deleted them from the loaded ruleset); loading them again takes it again."""
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine

    rs = Ruleset.from_save(case["rules"])
    engine = Engine(rs, Host([], []))
    assert {"conntrack": engine.conntrack_active, "defrag": engine.defrag_active} == case["kernel"]
    for cmd in case["after"]:
        rs.apply(cmd)
    engine.refresh()
    assert {"conntrack": engine.conntrack_active, "defrag": engine.defrag_active} == case["kernel_after"]
    rs.restore(case["rules"])
    engine.refresh()
    assert {"conntrack": engine.conntrack_active, "defrag": engine.defrag_active} == case["kernel"]


def test_no_table_alone_activates() -> None:
    """The nat table with only its policies: no conntrack, so its chains never run (nothing counted)."""
    rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" \
            ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
    assert activation(rules) == {"conntrack": False, "defrag": False}
