"""Every registered extension is complete: parse/save/describe and its packet-time evaluation."""

from __future__ import annotations

import pytest

from pynetfilter.ext import MATCHES, TARGETS, find_match, find_target
from pynetfilter.ext.base import Match, Target


@pytest.mark.parametrize("name", MATCHES)
def test_match_is_evaluated(name: str) -> None:
    cls = find_match(name)
    assert cls is not None and cls.name == name
    assert cls.mt is not Match.mt, f"-m {name} has no mt(): netfilter could not evaluate it"


@pytest.mark.parametrize("name", TARGETS)
def test_target_is_evaluated(name: str) -> None:
    cls = find_target(name)
    assert cls is not None and cls.name == name
    assert cls.tg is not Target.tg, f"-j {name} has no tg(): netfilter could not run it"
