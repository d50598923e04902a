"""Matches whose answer needs state pynetfilter does not have say so in the packet's events.

The kernel recordings (tests/ext/eval/kernel/match_eval_more.json) show what these rules
count for received packets: -m osf with no fingerprints loaded and -m cgroup without a
socket never match.  Here: where the kernel's answer would depend on state pynetfilter
lacks (a loaded fingerprint database, a socket's cgroup, a BPF program's view of skb
fields it does not model, a pinned program), pynetfilter counts the rule as not matched
(its stated answer, not the kernel's) and a note on the packet says why.
"""

from __future__ import annotations

import json
from pathlib import Path

from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine, Outcome
from pynetfilter.packet.wire import parse
from tools.match_eval_packets import ACK, SYN, A, B, tcp, udp

DATA = json.loads((Path(__file__).parent / "kernel" / "match_eval_more.json").read_text())
RXHASH = 0xFFFFF000 + 32  # SKF_AD_OFF + SKF_AD_RXHASH


def _engine(rules: str) -> tuple[Ruleset, Engine]:
    rs = Ruleset.from_save(f"*mangle\n{rules}\nCOMMIT\n")
    host = Host.from_iproute(json.dumps(DATA["host"]["addr"]), json.dumps(DATA["host"]["route"]))
    return rs, Engine(rs, host)


def _notes(out: Outcome) -> list[str]:
    return [e.text for e in out.events if e.kind == "note"]


def test_osf_says_no_fingerprints_for_a_syn_only() -> None:
    rs, engine = _engine("-A PREROUTING -p tcp -m osf --genre Linux\n"
                         "-A PREROUTING -p tcp -m osf ! --genre Linux")
    syn = engine.receive(parse(tcp(A, B, 1111, 80, SYN)), "veth-b", 0.0)
    assert any("no OS fingerprints" in n for n in _notes(syn))
    ack = engine.receive(parse(tcp(A, B, 1111, 80, ACK)), "veth-b", 1.0)
    assert not _notes(ack)
    assert [r.packets for r in rs.table("mangle").chains["PREROUTING"].rules] == [0, 0]


def test_cgroup_of_a_socket_is_unknown() -> None:
    rs, engine = _engine("-A OUTPUT -m cgroup ! --cgroup 1\n-A OUTPUT -m cgroup --path /")
    pkt = parse(udp(B, A, 5000, 53, b"q"))
    pkt.meta.uid = 0  # sent by a process's socket
    out = engine.send(pkt, 0.0)
    assert any("socket's cgroup is not known" in n for n in _notes(out))
    assert [r.packets for r in rs.table("mangle").chains["OUTPUT"].rules] == [0, 0]
    kernel_made = parse(udp(B, A, 5001, 53, b"q"))  # no socket: no match, and nothing to say
    assert not _notes(engine.send(kernel_made, 1.0))


def test_bpf_ancillary_value_not_modelled() -> None:
    rs, engine = _engine(f'-A PREROUTING -m bpf --bytecode "2,32 0 0 {RXHASH},22 0 0 0"\n'
                         '-A PREROUTING -m bpf --bytecode "1,6 0 0 1"')
    out = engine.receive(parse(udp(A, B, 5000, 53, b"q")), "veth-b", 0.0)
    assert any("rxhash" in n for n in _notes(out))
    assert [r.packets for r in rs.table("mangle").chains["PREROUTING"].rules] == [0, 1]
