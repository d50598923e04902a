"""``pynf bench classbench``: the ClassBench converter, its packets, and the measurement."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from pynetfilter.bench.classbench import (
    ClassBenchError,
    covers,
    packet_for,
    parse,
    ports_of,
    restore_text,
    to_iptables,
)
from pynetfilter.bench.classify import measure_set
from pynetfilter.bench.cli import CLASSBENCH_DIR
from pynetfilter.bench.services import HOST_FILE
from pynetfilter.cli.main import main
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine, HookState
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP

FAMILIES = ("acl1", "fw1", "ipc1")
needs_sets = pytest.mark.skipif(not CLASSBENCH_DIR.is_dir(),
                                reason=f"ClassBench rule sets not found ({CLASSBENCH_DIR})")

LINES = """@10.1.2.3/32\t192.168.0.0/16\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000\t
@10.1.0.0/16\t0.0.0.0/0\t1024 : 65535\t53 : 53\t0x11/0xFF\t0x1000/0x1000\t
@0.0.0.0/0\t10.9.9.8/31\t0 : 65535\t0 : 65535\t0x2f/0xFF\t0x0000/0x0000\t
@10.1.2.200/24\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000\t
"""


def test_conversion_of_each_kind_of_rule() -> None:
    rules = parse(LINES)
    assert [to_iptables(r, k) for k, r in enumerate(rules)] == [
        "-A FORWARD -s 10.1.2.3/32 -d 192.168.0.0/16 -p tcp -m tcp --dport 80 -j ACCEPT",
        "-A FORWARD -s 10.1.0.0/16 -p udp -m udp --sport 1024:65535 --dport 53 -j DROP",
        "-A FORWARD -d 10.9.9.8/31 -p 47 -j ACCEPT",
        "-A FORWARD -s 10.1.2.0/24 -j DROP",  # host bits cleared, as iptables does
    ]
    rs = Ruleset.from_save(restore_text(rules))
    assert len(rs.tables["filter"].chains["FORWARD"].rules) == 4


def test_ports_without_tcp_or_udp_are_refused_with_the_line() -> None:
    with pytest.raises(ClassBenchError, match="line 2: port ranges"):
        parse(LINES.splitlines()[0] + "\n@1.2.3.4/32\t0.0.0.0/0\t0 : 65535\t80 : 80\t0x00/0x00\t0x0/0x0\n")


def test_packet_lies_inside_its_rule() -> None:
    rnd = random.Random(3)
    for r in parse(LINES):
        for _ in range(20):
            p = packet_for(r, rnd)
            assert covers(r, p.saddr, p.daddr, p.proto, *ports_of(p))


def _first_match(engine: Engine, pkt: object) -> tuple[int, int]:
    """The verdict and the 1-based rule number of the first match, from the engine's own trace."""
    st = HookState(Hook.FORWARD, "rc", "rs", 0.0, True, [], [])
    v = engine.run_hook(Hook.FORWARD, pkt, st)  # type: ignore[arg-type]
    return v, int(st.events[-1].text.rsplit(":", 1)[1])


@needs_sets
@pytest.mark.parametrize("family", FAMILIES)
def test_packet_for_rule_k_first_matches_rule_k_or_an_overlapping_earlier_one(family: str) -> None:
    rules = parse((CLASSBENCH_DIR / f"{family}_1k").read_text())
    engine = Engine(Ruleset.from_save(restore_text(rules)), Host.from_file(HOST_FILE), fastpath=False)
    rnd = random.Random(7)
    exact = 0
    for k in list(range(12)) + [len(rules) // 3, len(rules) // 2, len(rules) - 2, len(rules) - 1]:
        pkt = packet_for(rules[k], rnd)
        fields = (pkt.saddr, pkt.daddr, pkt.proto, *ports_of(pkt))
        verdict, n = _first_match(engine, pkt)
        assert n <= k + 1, f"rule {k + 1}'s packet went past it to {n}"
        # An earlier first match is only right where that rule covers the packet too.
        assert n == k + 1 or covers(rules[n - 1], *fields)
        assert not any(covers(rules[j], *fields) for j in range(n - 1))
        assert verdict == (NF_ACCEPT if (n - 1) % 2 == 0 else NF_DROP)
        exact += n == k + 1
    assert exact >= 8  # overlaps are the exception


@needs_sets
def test_measure_set_rows() -> None:
    rules = parse((CLASSBENCH_DIR / "fw1_1k").read_text())[:300]
    rows = measure_set("fw1_1k[:300]", rules, ["interpreter", "compiled"], packets=60, repeat=1)
    assert [r["mode"] for r in rows] == ["interpreter", "compiled"]
    for r in rows:
        assert r["rules"] == 300 and r["packets"] == 60
        assert r["ns_per_classification"] > 0 and r["build_s"] >= 0 and r["ruleset_mb"] > 0  # type: ignore[operator]
        assert 1 < r["mean_depth"] <= 301  # type: ignore[operator]


def test_cli_without_the_sets_says_so_and_succeeds(tmp_path: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["bench", "classbench", "--dir", str(tmp_path / "absent"), "--no-kernel"]) == 0
    assert out.getvalue().count("\n") == 1 and "absent" in out.getvalue()


@needs_sets
def test_cli_json_on_one_small_set(tmp_path: Path) -> None:
    head = (CLASSBENCH_DIR / "acl1_1k").read_text().splitlines(True)[:200]
    (tmp_path / "acl1_1k").write_text("".join(head))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["bench", "classbench", "--dir", str(tmp_path), "--sets", "acl1,fw1", "--sizes", "1k",
                   "--packets", "40", "--no-kernel", "--json"])
    assert rc == 0
    doc = json.loads(out.getvalue())
    rows = [(r["set"], r["mode"]) for r in doc["results"]]
    assert rows == [("acl1_1k", "interpreter"), ("acl1_1k", "compiled")]
    assert "fw1_1k: no such rule set" in err.getvalue()
