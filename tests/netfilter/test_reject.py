"""REJECT's reply builders (netfilter/reject.py) on cases the kernel recordings pin down.

The byte-level comparisons with the kernel's replies are in tests/ext/eval/test_targets.py; these
check the refusals and the per-destination rate limit the recordings showed (6 at once, then 1/s).
"""

from __future__ import annotations

import random

from pynetfilter.model.tables import Hook
from pynetfilter.netfilter import reject
from pynetfilter.netfilter.par import Par
from pynetfilter.packet import wire
from pynetfilter.packet.model import ACK, RST, SYN, Icmp, Packet, Tcp, Udp

C, S = 0x0AE92801, 0x0AE92901


class _Engine:
    host = None


def par(now: float = 0.0, engine: object | None = None) -> Par:
    return Par(Hook.FORWARD, "filter", "r0", "r1", now, random.Random(1), engine or _Engine())


def test_rst_for_syn_acknowledges_it() -> None:
    syn = Packet(C, S, 6, Tcp(40000, 80, seq=100, flags=SYN), payload=b"abc")
    rst = reject.tcp_reset(syn, par())
    assert rst is not None and isinstance(rst.l4, Tcp)
    assert (rst.saddr, rst.daddr, rst.l4.sport, rst.l4.dport) == (S, C, 80, 40000)
    assert rst.l4.flags == RST | ACK and rst.l4.seq == 0 and rst.l4.ack_seq == 104
    assert (rst.id, rst.ttl, rst.frag_off, rst.tos) == (0, 64, 0x4000, 0)


def test_rst_for_ack_takes_its_sequence() -> None:
    seg = Packet(C, S, 6, Tcp(40000, 80, seq=5, ack_seq=777, flags=ACK))
    rst = reject.tcp_reset(seg, par())
    assert rst is not None and isinstance(rst.l4, Tcp)
    assert (rst.l4.flags, rst.l4.seq, rst.l4.ack_seq) == (RST, 777, 0)


def test_no_rst_for_rst_or_later_fragment() -> None:
    assert reject.tcp_reset(Packet(C, S, 6, Tcp(1, 2, flags=RST)), par()) is None
    assert reject.tcp_reset(Packet(C, S, 6, None, frag_off=3), par()) is None


def test_no_icmp_error_about_icmp_errors() -> None:
    inner = Packet(S, C, 17, Udp(1, 2))
    err = Packet(C, S, 1, Icmp(3, 3, inner=inner))
    assert reject.icmp_unreach(err, 3, par()) is None
    assert reject.icmp_unreach(Packet(C, S, 1, Icmp(200, 0)), 3, par()) is None  # unknown: an error
    assert reject.icmp_unreach(Packet(C, 0xFFFFFFFF, 17, Udp(1, 2)), 3, par()) is None


def test_icmp_quotes_at_most_576_bytes() -> None:
    big = Packet(C, S, 17, Udp(1000, 2000), payload=bytes(1200))
    big.meta.pkt_type = "host"
    reply = reject.icmp_unreach(big, 3, par())
    assert reply is not None
    data = wire.to_bytes(reply)
    assert len(data) == 576 and data[1] == 0xC0 and data[20:22] == b"\x03\x03"


def test_rate_limit_burst_then_one_per_second() -> None:
    engine = _Engine()
    sent = [reject.icmp_unreach(Packet(C, S, 17, Udp(1, 2)), 3, par(0.15 * i, engine)) is not None
            for i in range(8)]
    assert sent == [True] * 6 + [False, True]
