"""The compiled chain: sound candidates (never skips a rule that could match), rule order, and
incremental edits that leave it equal to a chain compiled afresh."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pynetfilter.cli.main import main
from pynetfilter.fastpath import classifier
from pynetfilter.fastpath.classifier import CompiledChain, compiled
from pynetfilter.fastpath.keys import packet_dport, port_match
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.traverse import ip_match
from pynetfilter.packet.model import Packet, Tcp, Udp
from tests.fuzzing import examples

ADDRS = ["10.233.0.1", "10.233.0.2", "10.233.1.0", "10.233.1.7", "10.233.200.9", "10.234.0.1"]
PREFIXES = [32, 31, 27, 24, 20, 16, 9, 8, 0]


def rule_words(r: random.Random) -> str:
    words = []
    if r.random() < 0.7:
        words.append(f"{'! ' if r.random() < 0.1 else ''}-d {r.choice(ADDRS)}/{r.choice(PREFIXES)}")
    if r.random() < 0.4:
        words.append(f"{'! ' if r.random() < 0.1 else ''}-s {r.choice(ADDRS)}/{r.choice(PREFIXES)}")
    proto = r.choice(["tcp", "udp", "icmp", None, None])
    ports = proto in ("tcp", "udp") and r.random() < 0.8
    if proto:  # a port match needs its protocol, not inverted
        words.append(f"{'! ' if r.random() < 0.1 and not ports else ''}-p {proto}")
    if ports:
        if r.random() < 0.5:
            words.append('-m comment --comment "svc"')
        port = r.choice(["80", "443", "53", "1000:2000", "80"])
        words.append(f"-m {proto} {'! ' if r.random() < 0.15 else ''}--dport {port}")
    words.append(r.choice(["-j ACCEPT", "-j DROP", "-j RETURN", "-j MARK --set-mark 1"]))
    return " ".join(words)


def packets(r: random.Random, n: int) -> list[Packet]:
    out = []
    for _ in range(n):
        d = sum(int(x) << (24 - 8 * i) for i, x in enumerate(r.choice(ADDRS).split(".")))
        s = sum(int(x) << (24 - 8 * i) for i, x in enumerate(r.choice(ADDRS).split(".")))
        d ^= r.choice([0, 0, 1, 0x80, 0x10000])
        proto = r.choice([6, 17, 1, 6, 17])
        port = r.choice([80, 443, 53, 1500, 9])
        l4 = Tcp(1234, port) if proto == 6 else Udp(1234, port) if proto == 17 else None
        frag = r.choice([0, 0, 0, 0, 5])  # a later fragment: ports unknown
        out.append(Packet(s, d, proto, l4, frag_off=frag))
    return out


def table_with(lines: list[str]) -> Ruleset:
    body = "".join(f"-A FORWARD {w}\n" for w in lines)
    return Ruleset.from_save(f"*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n"
                             f":FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                             f"{body}COMMIT\n")


def check_sound(cc: CompiledChain, rules: list, pkts: list[Packet]) -> None:
    assert cc.rules == rules and all(a is b for a, b in zip(cc.rules, rules, strict=True))
    assert cc.keys == sorted(set(cc.keys))
    for pkt in pkts:
        dport = packet_dport(pkt)
        cand = cc.candidates(pkt.daddr, pkt.saddr, pkt.proto, dport)
        assert cand == sorted(set(cand))
        got = {cc.number(k) - 1 for k in cand}
        for i, rule in enumerate(rules):
            could = ip_match(rule.ip, pkt, "eth0", "eth1")
            port = port_match(rule)
            if could and port is not None and dport is not None:
                could = dport == port
            if could:
                assert i in got, f"rule {i + 1} ({rule}) skipped for {pkt}"


@given(st.integers(0, 2**32))
@examples(60)
def test_candidates_never_skip_a_rule_that_could_match(seed: int) -> None:
    r = random.Random(seed)
    rs = table_with([rule_words(r) for _ in range(r.randrange(0, 60))])
    chain = rs.tables["mangle"].chains["FORWARD"]
    check_sound(compiled(chain), chain.rules, packets(r, 40))


@given(st.integers(0, 2**32))
@examples(40)
def test_edits_follow_the_chain(seed: int) -> None:
    """Random -A/-I/-R/-D/-F through the ruleset: the compiled form catches up by its edit log
    (not by compiling afresh) and stays sound and in order."""
    r = random.Random(seed)
    rs = table_with([rule_words(r) for _ in range(r.randrange(5, 40))])
    compiled(rs.tables["mangle"].chains["FORWARD"])
    for _ in range(30):
        chain = rs.tables["mangle"].chains["FORWARD"]
        n = len(chain.rules)
        op = r.choice("AAIIIRDDF" if n else "AI")
        if op == "A":
            rs.apply(f"-t mangle -A FORWARD {rule_words(r)}")
        elif op == "I":
            rs.apply(f"-t mangle -I FORWARD {r.randint(1, n + 1)} {rule_words(r)}")
        elif op == "R":
            rs.apply(f"-t mangle -R FORWARD {r.randint(1, n)} {rule_words(r)}")
        elif op == "D":
            rs.apply(f"-t mangle -D FORWARD {r.randint(1, n)}")
        elif r.random() < 0.2:
            rs.apply("-t mangle -F FORWARD")
        chain = rs.tables["mangle"].chains["FORWARD"]
        before = chain.base
        cc = compiled(chain)
        if before is not None and before[0].version == before[1]:
            assert cc is before[0], "an edit log that could be replayed was not"
        check_sound(cc, chain.rules, packets(r, 10))


def test_insertions_at_one_place_respace_the_keys() -> None:
    rs = table_with(["-d 10.233.0.1/32 -j ACCEPT", "-d 10.233.0.2/32 -j ACCEPT"])
    chain = rs.tables["mangle"].chains["FORWARD"]
    cc = compiled(chain)
    for i in range(300):  # always between the same two rules: the gap halves each time
        chain.insert(1, Ruleset.from_save(
            f"*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD -d 10.233.{i % 200}.3/32 -j DROP\nCOMMIT\n"
        ).tables["mangle"].chains["FORWARD"].rules[0])
        assert compiled(chain) is cc
    assert cc.keys == sorted(set(cc.keys)) and len(cc.keys) == 302
    check_sound(cc, chain.rules, packets(random.Random(7), 50))


def test_a_lost_edit_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit that bypasses the chain's log (chain.rules mutated directly) is a bug: with
    verification on (as in the tests) it fails loudly instead of giving stale candidates."""
    monkeypatch.setattr(classifier, "VERIFY", True)
    rs = table_with(["-d 10.233.0.1/32 -j ACCEPT"] * 6)
    chain = rs.tables["mangle"].chains["FORWARD"]
    compiled(chain)
    chain.rules.pop()
    with pytest.raises(AssertionError, match="lost an edit"):
        compiled(chain)


def test_explain_compiled(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules"
    svc = "".join(f"-A KUBE-SERVICES -d 10.233.0.{i}/32 -p tcp -m comment --comment \"s{i}\" -m tcp "
                  f"--dport 80 -j KUBE-SVC-{i}\n" for i in range(1, 7))
    chains = "".join(f":KUBE-SVC-{i} - [0:0]\n" for i in range(1, 7))
    rules.write_text(f"*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                     f":POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n{chains}{svc}"
                     "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-SVC-1\nCOMMIT\n")
    assert main(["explain-compiled", str(rules), "--chain", "KUBE-SERVICES"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["*nat", "chain KUBE-SERVICES: 7 rules, 2 subtables (one probe each)",
                       "  subtable dst/32 proto dport: 6 rules in 6 buckets (largest 1)",
                       "  subtable any: 1 rule in 1 bucket (largest 1)"]
    assert out[4].split()[:5] == ["1", "dst", "10.233.0.1/32", "tcp", "dport"]
    assert main(["explain-compiled", str(rules), "--chain", "NOPE"]) == 1
    assert "no chain NOPE" in capsys.readouterr().err


def test_the_engine_uses_the_compiled_path_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """A packet for the last of 2,000 Service rules tries a handful of rules, not 2,000."""
    from pynetfilter.fastpath import traverse as fast
    from pynetfilter.netfilter import traverse as slow
    from pynetfilter.netfilter.hostfile import parse_host_file
    from pynetfilter.netfilter.pipeline import Engine

    tried = {"n": 0}
    real = slow.ip_match

    def counting(*args):  # type: ignore[no-untyped-def]
        tried["n"] += 1
        return real(*args)

    monkeypatch.setattr(fast, "ip_match", counting)
    monkeypatch.setattr(slow, "ip_match", counting)
    lines = [f"-d 10.233.{i // 250}.{i % 250 + 1}/32 -p tcp -m tcp --dport 80 -j ACCEPT" for i in range(2000)]
    host = parse_host_file("iface eth0\niface eth1\naddr eth0 10.233.100.1/24\naddr eth1 10.233.101.1/24\n"
                           "route 10.233.0.0/16 via 10.233.101.2\n")
    for fastpath, most in ((True, 10), (False, 4000)):
        rs = table_with(lines)
        engine = Engine(rs, host) if fastpath else Engine(rs, host, fastpath=False)
        tried["n"] = 0
        out = engine.receive(Packet(0x0AE96402, 0x0AE907FA, 6, Tcp(1000, 80)), "eth0", 0.0)
        assert out.verdict == "accept"
        assert rs.tables["mangle"].chains["FORWARD"].rules[-1].packets == 1
        assert 0 < tried["n"] <= most, (fastpath, tried["n"])
