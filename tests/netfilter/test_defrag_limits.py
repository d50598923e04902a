"""netfilter.defrag's bounds: the kernel's recorded answers (tools/record_defrag.py) and expiry's cost.

Each recorded case sent hand-made fragments to a namespace whose conntrack reassembles them and
noted, after every step, the fragment queues and memory (/proc/net/sockstat), the IP MIB's
reassembly counters and the datagrams that came out.  The same fragments go through a Defrag
with the case's sysctls; every step must show what the kernel showed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest

from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.defrag import IPQ_SIZE, Defrag, truesize
from pynetfilter.netfilter.pipeline import HookState
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_STOLEN
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_MF, Packet
from tools.kernel import available
from tools.record_defrag import ROOT, TOOLS, fragment

RECORDING = Path(__file__).parent / "kernel" / "defrag.json"
DOC = json.loads(RECORDING.read_text())
SYSCTL = {"net.ipv4.ipfrag_time": "timeout", "net.ipv4.ipfrag_high_thresh": "high_thresh",
          "net.ipv4.ipfrag_low_thresh": "low_thresh", "net.ipv4.ipfrag_max_dist": "max_dist"}


def st(now: float) -> HookState:
    return HookState(Hook.PREROUTING, "eth0", None, now, False, [], [])


def replay(case: dict) -> list[dict[str, int]]:
    """The case through a Defrag: what the kernel's observations would read after each step."""
    d = Defrag(None)
    for key, value in {**DOC["defaults"], **case.get("sysctl", {})}.items():
        setattr(d.fqdir, SYSCTL[key], value)
    now, datagrams, seen = 100.0, 0, []
    for step in case["steps"]:
        if "sleep" in step:
            now += step["sleep"]
            d.expire(now)  # the queues' timers fire by themselves in the kernel
        for spec in step.get("send", []):
            datagrams += d.hook(wire.parse(fragment(spec)), st(now)) == NF_ACCEPT
        now += 0.1
        seen.append({"inuse": len(d.queues), "memory": d.mem, **d.fqdir.snmp(), "datagrams": datagrams})
    return seen


@pytest.mark.parametrize("case", DOC["cases"], ids=lambda c: c["name"])
def test_kernel_case(case: dict) -> None:
    assert replay(case) == case["observed"]


def test_truesize_model_matches_the_recording() -> None:
    """A first fragment of n payload bytes costs a queue and the skb (small-fragments-memory)."""
    (case,) = [c for c in DOC["cases"] if c["name"] == "small-fragments-memory"]
    before = 0
    for step, seen in zip(case["steps"], case["observed"], strict=True):
        (spec,) = step["send"]
        assert seen["memory"] - before == IPQ_SIZE + truesize(20 + spec[2])
        before = seen["memory"]


def test_oversize_is_dropped_not_raised() -> None:
    """A datagram reassembling past 65,535 bytes is a reassembly failure (ip_frag_reasm), in any order."""
    for order in (1, -1):
        d = Defrag(None)
        frags = [wire.parse(fragment([77, i * 1480, 1480, 1, 0])) for i in range(44)]
        frags.append(wire.parse(fragment([77, 65120, 500, 0, 0])))
        verdicts = [d.hook(p, st(1.0)) for p in frags[::order]]
        assert set(verdicts) == {NF_STOLEN} and d.stats["reasm_fails"] == 1 and not d.queues and d.mem == 0


def test_expiry_order_survives_restarts() -> None:
    """Queues expire in the order their timers were armed; a restart (ip_frag_reinit) re-arms."""
    d = Defrag(None)
    d.fqdir.max_dist = 2
    first = wire.parse(fragment([1, 0, 8, 1, 0]))
    assert d.hook(first, st(0.0)) == NF_STOLEN
    for i in range(3):  # three fragments of other datagrams from the same source: too far for queue 1
        d.hook(wire.parse(fragment([10 + i, 0, 8, 1, 0])), st(1.0 + i))
    d.hook(wire.parse(fragment([1, 1480, 8, 1, 0])), st(10.0))  # queue 1 restarts at 10.0
    assert [q.key[2] for q in d.queues.values()] == [10, 11, 12, 1]
    d.expire(32.5)  # 10 and 11 were armed at 1.0 and 2.0
    assert [q.key[2] for q in d.queues.values()] == [12, 1] and d.stats["timeouts"] == 2
    d.expire(40.0)
    assert not d.queues and d.mem == 0 and d.stats["reasm_fails"] == 4 + 1  # 4 timeouts, 1 too far


def test_expiry_cost_does_not_depend_on_the_queues_held() -> None:
    """20,000 incomplete queues: each fragment looks at the oldest queue only (no scan of all)."""
    d = Defrag(None)
    d.fqdir.high_thresh = 1 << 40
    for i in range(20000):
        d.hook(Packet(0x0AE90102 + (i >> 16), 0x0AE90202, 253, None, bytes(8), id=i & 0xFFFF, frag_off=IP_MF),
               st(i * 0.001))
    assert len(d.queues) == 20000
    looked = 0

    class Counting(OrderedDict):  # type: ignore[type-arg]
        def values(self):  # type: ignore[no-untyped-def]
            nonlocal looked
            looked += 1
            return super().values()

    d.queues = Counting(d.queues)
    d.hook(Packet(0x0AE90103, 0x0AE90202, 253, None, bytes(8), id=1, frag_off=IP_MF), st(29.0))
    assert looked == 1  # one look at the oldest queue: not due
    d.expire(60.0)
    assert not d.queues and d.stats["timeouts"] == 20001 and d.mem == 0


def test_shared_by_the_engine_users() -> None:
    """ip_local_deliver's reassembly and conntrack's share the namespace's memory and counters."""
    class Engine:
        pass

    eng = Engine()
    a, b = Defrag(eng), Defrag(eng)
    a.hook(wire.parse(fragment([5, 0, 1480, 1, 0])), st(0.0))
    assert b.mem == a.mem == IPQ_SIZE + truesize(1500) and b.stats["reasm_reqds"] == 1


REASON = available(*TOOLS)


@pytest.mark.skipif(REASON is not None, reason=f"kernel not available: {REASON}")
def test_recording_is_current() -> None:
    """Ask this machine's kernel again about the cases that pin the limits."""
    cases = ["oversize-last-first", "high-thresh", "max-dist-boundary", "overlap"]
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "record_defrag.py"), "--check", *cases],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
