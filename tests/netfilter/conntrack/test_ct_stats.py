"""``conntrack -S``: the kernel's counters on a router (tools/record_ct_stats.py), step by step.

The recorded router saw raw packets from its client (new connections, invalid ones, SNAT with
every port taken); the engine, with the router's rules and addresses, gets the very same packets
and must count what the kernel's CPUs counted between them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.conntrack import STAT_NAMES
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet import wire
from tools.kernel import available
from tools.record_ct_stats import ROOT, TOOLS, build

RECORDING = Path(__file__).parent.parent / "kernel" / "ct_stats.json"
CASES = json.loads(RECORDING.read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_kernel_counters(case: dict) -> None:
    host = Host.from_iproute(json.dumps(case["addrs"]), json.dumps(case["routes"]))
    engine = Engine(Ruleset.from_save(case["rules"]), host, seed=1)
    now = 1.0
    for step, want in zip(case["steps"], case["observed"], strict=True):
        for spec in step:
            engine.receive(wire.parse(build(spec)), "rc", now)
            now += 0.001
        assert {k: engine.conntrack.stats[k] for k in STAT_NAMES} == want


REASON = available(*TOOLS)


@pytest.mark.skipif(REASON is not None, reason=f"kernel not available: {REASON}")
def test_recording_is_current() -> None:
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "record_ct_stats.py"), "--check"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
