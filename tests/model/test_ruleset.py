"""The Python API as the README shows it; kernel-semantics live in the recorded corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynetfilter import KernelRefusal, ParameterProblem, Ruleset
from pynetfilter.ext.MARK import EXTENSION as MARK
from pynetfilter.model.check import hook_masks
from pynetfilter.model.tables import Hook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kube-node.rules"


def test_readme_api() -> None:
    rs = Ruleset.from_save(EXAMPLE.read_text())
    rs.apply("-t nat -I KUBE-SERVICES 1 -d 10.233.0.10/32 -p tcp --dport 53 -j ACCEPT")
    listing = rs.apply("-t nat -L KUBE-SERVICES -n -v --line-numbers")
    assert listing.splitlines()[2].startswith("1 ")
    first = rs.tables["nat"].chains["KUBE-SERVICES"].rules[0]
    assert first.save_spec() == " -d 10.233.0.10/32 -p tcp -m tcp --dport 53 -j ACCEPT"
    assert "[0:0] -A KUBE-SERVICES -d 10.233.0.10/32" in rs.save(counters=True)


def test_mark_target_holds_kernel_form() -> None:
    rs = Ruleset()
    rs.apply("-t nat -N KUBE-MARK-MASQ")
    rs.apply("-t nat -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000")
    target = rs.tables["nat"].chains["KUBE-MARK-MASQ"].rules[0].target
    assert isinstance(target, MARK)
    assert target.save() == " --set-xmark 0x4000/0x4000"


def test_refused_command_changes_nothing() -> None:
    rs = Ruleset.from_save(EXAMPLE.read_text())
    before = rs.save(counters=True, header=False)
    with pytest.raises(KernelRefusal):
        rs.apply("-t nat -A KUBE-POSTROUTING -j REDIRECT")  # reached from POSTROUTING only
    with pytest.raises(ParameterProblem):
        rs.apply("-A INPUT -p tcp --dprot 22")
    assert rs.save(counters=True, header=False) == before


def test_hook_masks_follow_jumps() -> None:
    rs = Ruleset.from_save(EXAMPLE.read_text())
    masks = hook_masks(rs.tables["nat"])
    assert masks["KUBE-SERVICES"] == (1 << Hook.PREROUTING) | (1 << Hook.OUTPUT)
    assert masks["KUBE-POSTROUTING"] == 1 << Hook.POSTROUTING
