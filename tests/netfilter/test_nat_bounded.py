"""NAT's port search costs what the kernel's does, however large the table.

nf_nat_l4proto_unique_tuple tries at most 128 ports from a random offset, then ever smaller
rounds (64, 32, 16, 8) from new offsets: 248 tries when every port is taken, each one hash
lookup (nf_nat_used_tuple, or nf_conntrack_find_get in the tries that may take a closing
connection's port).  These tests count the table's bucket probes and the tuples found
taken, for a new connection whose every port is used, with a small table and with 20,000 more
entries: the counts are the same.  (The choices themselves are the kernel's: tests/netfilter/
test_nat.py and the parity scenarios replay recorded traffic.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.conntrack.entry import (
    IPS_ASSURED,
    IPS_SEEN_REPLY,
    IPS_SRC_NAT,
    IPS_SRC_NAT_DONE,
    Conn,
    Tuple,
)
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.nat import src_key
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet.model import SYN, Packet, Tcp, Udp

SCENARIO = Path(__file__).parent.parent / "scenarios" / "masquerade"
CLIENT, SERVER, ROUTER = 0x0AE90102, 0x0AE90202, 0x0AE90201  # 10.233.1.2, 10.233.2.2, 10.233.2.1
PORTS = range(20000, 20300)
RULES = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         "-A POSTROUTING -o rs -p udp -j SNAT --to-source 10.233.2.1:20000-20299\n"
         "-A POSTROUTING -o rs -p tcp -j SNAT --to-source 10.233.2.1:20000-20299\nCOMMIT\n")
TRIES = 128 + 64 + 32 + 16 + 8  # NF_NAT_MAX_ATTEMPTS, halved until below 16


def engine_with_ports_taken(proto: int, others: int) -> Engine:
    """A router SNATing to 300 ports, all of them used towards SERVER:53 (or :80), and *others*
    entries towards other servers."""
    host = Host.from_iproute((SCENARIO / "addrs.json").read_text(), (SCENARIO / "routes.json").read_text())
    engine = Engine(Ruleset.from_save(RULES), host, seed=1)
    dport = 80 if proto == 6 else 53
    status = IPS_SRC_NAT | IPS_SRC_NAT_DONE | IPS_SEEN_REPLY | IPS_ASSURED
    for i, port in enumerate(PORTS):
        engine.conntrack.add(Conn(Tuple(CLIENT, SERVER, proto, 30000 + i, dport),
                                  Tuple(SERVER, ROUTER, proto, dport, port), status=status, timeout=1e9,
                                  id=i + 1))
    for i in range(others):
        server = 0x0AEA0000 + i  # 10.234.x.y: elsewhere
        engine.conntrack.add(Conn(Tuple(CLIENT, server, proto, 40000 + i % 20000, dport),
                                  Tuple(server, ROUTER, proto, dport, 20000 + i % 300), status=status,
                                  timeout=1e9, id=1000 + i))
    return engine


def counting_probes(table: Any) -> list[int]:
    """Count the table's index probes (node and peek) from now on: [probes]."""
    count = [0]
    for name in ("node", "peek"):
        real = getattr(table, name)

        def probe(t: Tuple, zid: int = 0, real: Any = real) -> Any:
            count[0] += 1
            return real(t, zid)

        setattr(table, name, probe)
    return count


def search_cost(engine: Engine, proto: int) -> tuple[int, int, str]:
    """(index probes, tuples found taken, disposition) for one new connection to SERVER."""
    table: Any = engine.conntrack.table
    probes = counting_probes(table)
    found = engine.conntrack.stats["found"]
    pkt = Packet(CLIENT, SERVER, 17, Udp(50000, 53), b"x") if proto == 17 else \
        Packet(CLIENT, SERVER, 6, Tcp(50000, 80, seq=1, flags=SYN, window=64240))
    out = engine.receive(pkt, "rc", 1.0)
    del table.node, table.peek
    return probes[0], engine.conntrack.stats["found"] - found, out.disposition


@pytest.mark.parametrize("proto", [17, 6], ids=["udp", "tcp"])
def test_search_cost_does_not_grow_with_the_table(proto: int) -> None:
    small = search_cost(engine_with_ports_taken(proto, 0), proto)
    large = search_cost(engine_with_ports_taken(proto, 20000), proto)
    assert small == large
    probes, found, disposition = small
    assert disposition == "dropped"  # every port taken: confirm refuses the clash, as the kernel's
    if proto == 17:
        assert found == TRIES  # nf_conntrack_tuple_taken said "taken" once per try
    else:
        # The last 32 tries of a round look with nf_conntrack_find_get (closing connections may be
        # taken over, nf_nat_used_tuple_harder): those do not count as found.
        assert found == TRIES - (32 + 32 + 32 + 16 + 8)
    # One probe per try; two more: conntrack's lookup of the packet, and the destination side's
    # null binding checking its unchanged tuple.
    assert probes == TRIES + 2


def test_refused_flows_leave_no_nat_state() -> None:
    """A connection whose NAT found no free port is dropped at confirm; its source binding goes too."""
    engine = engine_with_ports_taken(17, 0)
    for sport in range(50000, 50020):
        out = engine.receive(Packet(CLIENT, SERVER, 17, Udp(sport, 53), b"x"), "rc", 1.0)
        assert out.disposition == "dropped"
    assert not any(src_key(0, 17, CLIENT, sport) in engine.nat.bysource for sport in range(50000, 50020))
    assert len(engine.conntrack.table) == len(PORTS)
    stats = engine.conntrack.stats
    assert (stats["insert_failed"], stats["drop"], stats["found"]) == (20, 20, 20 * TRIES)


def test_free_port_costs_one_probe() -> None:
    """With the tuple free, nf_nat_used_tuple is one probe of the table."""
    engine = engine_with_ports_taken(17, 0)
    taken: Any = engine.conntrack.tuple_taken
    ct = Conn(Tuple(CLIENT, 0x0AEB0001, 17, 1, 53), Tuple(0x0AEB0001, CLIENT, 17, 53, 1))
    probes = counting_probes(engine.conntrack.table)
    assert not taken(Tuple(0x0AEB0001, ROUTER, 17, 53, 20000), ct, 1.0) and probes == [1]
