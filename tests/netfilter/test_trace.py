"""pynf trace against the kernel's TRACE output (recorded by tools/record_hosts.py trace).

Each case holds the router's rules (``-t raw -j TRACE`` first), its addresses
and routes, the packet as ``pynf trace`` words, and the kernel's TRACE lines
for that packet.  The kernel starts tracing after the TRACE rule, so pynf's
lines for that rule are left out; every other line must name the same
table:chain:comment:number with the same devices and packet fields.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from pynetfilter.cli.main import main
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.trace import Explorer, decide, explore
from pynetfilter.netfilter.trace_packet import minimal_host, parse_words

KERNEL = Path(__file__).parent / "kernel" / "trace"
CASES = sorted(p.name for p in KERNEL.iterdir() if (p / "case.json").exists())
FIELDS = ("IN", "OUT", "SRC", "DST", "PROTO", "SPT", "DPT", "TTL", "MARK", "TYPE", "CODE")
TRACE_RULE = ("raw:PREROUTING:rule:1", "raw:OUTPUT:rule:1")


def _key(line: str) -> tuple[str, ...]:
    """The rule token and the packet fields that do not depend on the sender's kernel (ID, options)."""
    head = line.split("[", 1)[0]
    token = head.split()[1]
    got = dict(re.findall(r"\b([A-Z]+)=(\S*)", head))
    return (token, *(f"{f}={got.get(f, '')}" for f in FIELDS))


def _pynf_branches(name: str) -> tuple[list[list[tuple[str, ...]]], list[Fraction]]:
    d = KERNEL / name
    case = json.loads((d / "case.json").read_text())
    ruleset = Ruleset.from_save((d / "rules").read_text())
    host = Host.from_iproute((d / "addrs.json").read_text(), (d / "routes.json").read_text())
    tp = parse_words(case["words"])
    if tp.iif is None:
        tp.packet.saddr = host.route_output(tp.packet).src or 0
    result = explore(ruleset, host, tp.packet, tp.iif)
    lines = [[_key(s.line) for s in b.steps if s.depth == 0 and s.line.split()[1] not in TRACE_RULE]
             for b in result.branches]
    return lines, [b.probability for b in result.branches]


@pytest.mark.parametrize("name", CASES)
def test_trace_lines_match_the_kernel(name: str) -> None:
    kernel = [_key(line) for line in json.loads((KERNEL / name / "case.json").read_text())["kernel"]]
    branches, probs = _pynf_branches(name)
    assert sum(probs) == 1
    # With random choices the kernel took one branch; it must be one pynf shows.
    assert kernel in branches, "\n".join(["kernel:", *map(str, kernel), "pynf:", *map(str, branches[0])])


def test_kube_service_branches_have_exact_probabilities() -> None:
    branches, probs = _pynf_branches("kube-statistic")
    assert len(branches) == 3
    p1 = Fraction(715827883, 1 << 31)  # int(0.33333333349 * 2^31 + 0.5)
    assert probs == [p1, (1 - p1) / 2, (1 - p1) / 2]
    assert [b[3][0] for b in branches] == ["nat:SEP1:rule:1", "nat:SEP2:rule:1", "nat:SEP3:rule:1"]


def test_decide_without_choices_draws_like_the_kernel() -> None:
    import random

    class P:
        choices = None
        rng = random.Random(1)

    hits = sum(decide(P(), "statistic", 1 << 29) for _ in range(4000))  # type: ignore[arg-type]
    assert 850 < hits < 1150  # a quarter
    assert not any(decide(P(), "statistic", 0) for _ in range(100))  # type: ignore[arg-type]


def test_explorer_fixes_certain_outcomes() -> None:
    ex = Explorer([False], lambda par: "x")
    assert ex.decide("statistic", Fraction(1), None) is True  # type: ignore[arg-type]
    assert ex.decide("statistic", Fraction(0), None) is False  # type: ignore[arg-type]
    assert ex.decide("statistic", Fraction(1, 2), None) is True  # type: ignore[arg-type]
    assert [d.weight for d in ex.made] == [1, 1, Fraction(1, 2)]


def test_cli_trace_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    d = KERNEL / "kube-statistic"
    words = json.loads((d / "case.json").read_text())["words"]
    argv = ["trace", str(d / "rules"), "--addrs", str(d / "addrs.json"), "--routes", str(d / "routes.json")]
    assert main(argv + words) == 0
    text = capsys.readouterr().out
    assert "branch 1 of 3: probability 0.3333333335 (715827883/2147483648)" in text
    assert "TRACE: nat:SEP2:rule:1 IN=r0 OUT=" in text
    assert "nat: DNAT 10.233.1.100:80 -> 10.233.2.2:8083" in text
    assert "verdict: ACCEPT: forwarded out r1" in text
    assert main(argv + ["--json"] + words) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [b["probability_exact"] for b in doc["branches"]] == [
        "715827883/2147483648", "1431655765/4294967296", "1431655765/4294967296"]
    first = doc["branches"][0]
    assert first["trace"][3]["line"].startswith("TRACE: nat:SVC:rule:1 IN=r0 OUT= ")
    assert first["conntrack"]["state"] == "NEW"
    assert first["choices"][0]["at"] == "nat:SVC:rule:1"


def test_cli_minimal_host_and_local_packets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "r"
    rules.write_text("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n"
                     "-A INPUT -p tcp --dport 22 -j DROP\n-A OUTPUT -o eth1 -p udp -j ACCEPT\nCOMMIT\n")
    assert main(["trace", str(rules), "-p", "tcp", "-s", "10.233.0.1", "-d", "10.233.0.2", "--dport", "22",
                 "-i", "eth0"]) == 0
    out = capsys.readouterr().out
    assert "TRACE: filter:INPUT:rule:1 IN=eth0 OUT=" in out and "verdict: DROP: rule" in out
    assert main(["trace", str(rules), "-p", "udp", "-s", "10.233.0.1", "-d", "10.233.9.9", "-o", "eth1"]) == 0
    out = capsys.readouterr().out
    assert "TRACE: filter:OUTPUT:rule:1 IN= OUT=eth1" in out and "sent out eth1" in out


@pytest.mark.parametrize("words, message", [
    (["-p", "tcp", "-d", "10.233.0.2", "-i", "eth0"], "needs a source"),
    (["-p", "tcp", "-s", "10.233.0.1", "-i", "eth0"], "needs a destination"),
    (["-p", "tcp", "-s", "10.233.0.1", "-d", "10.233.0.2"], "-i IFACE"),
    (["-p", "udp", "-s", "1.2.3.4", "-d", "10.233.0.2", "-i", "eth0", "--syn"], "need -p tcp"),
    (["-p", "tcp", "-s", "10.233.0.1", "-d", "10.233.0.2", "-i", "eth0", "--dport", "nosuch"], "nosuch"),
    (["--frobnicate"], 'unknown packet option "--frobnicate"'),
    (["-p", "icmp", "-s", "10.233.0.1", "-d", "10.233.0.2", "-i", "eth0", "--icmp-type", "bogus"], "bogus"),
])
def test_bad_packet_words_are_one_line_errors(words: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "r"
    rules.write_text("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
    assert main(["trace", str(rules), *words]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_minimal_host_routes() -> None:
    tp = parse_words(["-p", "tcp", "-s", "10.233.0.1", "-d", "10.233.0.2", "-i", "eth0", "--syn"])
    host = minimal_host(tp)
    assert host.route_input(tp.packet, "eth0").kind == "local"
    tp = parse_words(["-p", "tcp", "-s", "10.233.0.1", "-d", "10.233.0.2", "-i", "eth0", "-o", "eth1"])
    assert tp.iif == "eth0"  # -i and -o: a forwarded packet
    r = minimal_host(tp).route_input(tp.packet, "eth0")
    assert (r.kind, r.oif) == ("forward", "eth1")
    tp = parse_words(["-p", "tcp", "-s", "10.233.0.1", "-d", "10.233.0.2", "-o", "eth1"])
    assert tp.iif is None and tp.packet.meta.bound_dev == "eth1"  # -o alone: generated here, bound to eth1
