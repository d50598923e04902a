"""replay.infer on the recorded local-clusterip host: which packets a socket may have sent for a
captured one, and scratch runs that leave no trace in the replay's counters."""

from __future__ import annotations

import copy
from pathlib import Path

from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host, ip4
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.replay.infer import Forced, Scratch, candidates, infer
from tests.replay.test_engine import syn

HERE = Path(__file__).resolve().parent / "scenarios" / "local-clusterip"
EXTRA = """*nat
-A OUTPUT -d 10.233.7.7/32 -p tcp -m multiport --dports 443,8443 -j DNAT --to-destination 10.233.2.11
-A OUTPUT -d 10.233.7.8/32 -p tcp -m multiport --dports 80,81 -j DNAT --to-destination 10.233.2.13:9090
-A OUTPUT -d 10.233.2.2/32 -p tcp -m tcp --dport 25 -j REDIRECT --to-ports 2525
COMMIT
"""


def setup(extra: str = "") -> tuple[Engine, Scratch]:
    rs = Ruleset()
    rs.restore((HERE / "rules").read_text())
    if extra:
        rs.restore(extra, noflush=True)
    host = Host.from_iproute((HERE / "addrs.json").read_text(), (HERE / "routes.json").read_text())
    eng = Engine(rs, host)
    return eng, Scratch(rs, host)


def test_candidates_follow_the_nat_output_paths() -> None:
    eng, scratch = setup(EXTRA)
    got = candidates(eng, syn("10.233.2.1", "10.233.2.11", 40000, 8080), scratch.paths)
    assert got == [(ip4("10.233.2.11"), 8080), (ip4("10.233.100.10"), 80)]  # as captured, the Service
    # A DNAT without a port keeps it: the captured one, where --dports allows it.
    got = candidates(eng, syn("10.233.2.1", "10.233.2.11", 40000, 443), scratch.paths)
    assert got == [(ip4("10.233.2.11"), 443), (ip4("10.233.7.7"), 443)]
    # A DNAT to a port: every port the rules on the way select.
    got = candidates(eng, syn("10.233.2.1", "10.233.2.13", 40000, 9090), scratch.paths)
    assert got == [(ip4("10.233.2.13"), 9090), (ip4("10.233.7.8"), 80), (ip4("10.233.7.8"), 81)]
    got = candidates(eng, syn("10.233.2.1", "127.0.0.1", 40000, 2525), scratch.paths)
    assert got == [(ip4("127.0.0.1"), 2525), (ip4("10.233.2.2"), 25)]
    assert candidates(eng, syn("10.233.2.1", "10.233.2.2", 40000, 80), scratch.paths) == \
        [(ip4("10.233.2.2"), 80)]


def test_scratch_runs_leave_the_counters_as_they_were() -> None:
    eng, scratch = setup()
    before = eng.ruleset.save(counters=True, header=False)  # the header holds the clock
    captured = syn("10.233.2.1", "10.233.2.12", 40000, 8080)
    inf = infer(scratch, eng, copy.deepcopy(captured), "rs", 1.0)
    assert eng.ruleset.save(counters=True, header=False) == before
    assert inf is not None and inf.nat and inf.others == ["as captured"]
    assert (inf.packet.saddr, inf.packet.daddr, inf.packet.l4.dport) == (  # type: ignore[union-attr]
        ip4("10.233.1.1"), ip4("10.233.100.10"), 80)
    # The kernel's branch: the first statistic (endpoint 0) not taken, the second (endpoint 1) taken.
    assert inf.decisions == [False, True]
    eng.choices = Forced(captured, inf.decisions)
    out = eng.send(inf.packet, 1.0)
    assert (out.oif, out.packet.saddr, out.packet.daddr) == ("rs", captured.saddr, captured.daddr)
    assert out.packet.l4.sport == 40000  # type: ignore[union-attr]  # MASQUERADE --random-fully's port


def test_a_packet_no_nat_rule_produces_is_fed_as_captured() -> None:
    eng, scratch = setup()
    assert infer(scratch, eng, syn("10.233.2.1", "10.233.2.2", 40000, 22), "rs", 1.0) is None
