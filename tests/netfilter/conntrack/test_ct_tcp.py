"""TCP tracking cases the recorded flows do not reach (tests/netfilter/conntrack/test_kernel.py does)."""

from __future__ import annotations

from ct_helpers import A, B, handshake, tcp, through

from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.entry import IP_CT_ESTABLISHED, IP_CT_NEW, IPS_ASSURED
from pynetfilter.netfilter.conntrack.tcp_window import SYN_SENT2, Side, after, before, parse_options
from pynetfilter.packet.model import ACK, FIN, RST, SYN, Tcp


def test_handshake_established_and_assured() -> None:
    ct = Conntrack()
    handshake(ct)
    (conn,) = ct.entries(0.0)
    assert conn.proto["tcp"].state == 3 and conn.status & IPS_ASSURED
    assert ct.listing(1.0).startswith("tcp      6 431999 ESTABLISHED src=10.233.71.1")


def test_simultaneous_open() -> None:
    ct = Conntrack()
    through(ct, tcp(A, B, 1000, 80, SYN, seq=100), 0.0)
    p = through(ct, tcp(B, A, 80, 1000, SYN, seq=500), 0.0, incoming=False)
    assert p.meta.ct.proto["tcp"].state == SYN_SENT2


def test_ack_in_syn_sent_is_invalid() -> None:
    ct = Conntrack()
    through(ct, tcp(A, B, 1000, 80, SYN, seq=100), 0.0)
    p = through(ct, tcp(A, B, 1000, 80, ACK, seq=101, ack=7), 0.0)
    assert p.meta.ct is None and ct.invalid


def test_syn_retransmit_keeps_timeout() -> None:
    ct = Conntrack()
    through(ct, tcp(A, B, 1000, 80, SYN, seq=100), 0.0)
    p = through(ct, tcp(A, B, 1000, 80, SYN, seq=100), 50.0)
    assert p.meta.ctinfo == IP_CT_NEW and p.meta.ct.timeout == 120.0


def test_reopen_after_close_makes_a_new_entry() -> None:
    ct = Conntrack()
    handshake(ct)
    through(ct, tcp(A, B, 1000, 80, FIN | ACK, seq=101, ack=501), 1.0)
    through(ct, tcp(B, A, 80, 1000, FIN | ACK, seq=501, ack=102), 1.0, incoming=False)
    through(ct, tcp(A, B, 1000, 80, ACK, seq=102, ack=502), 1.0)
    (old,) = ct.entries(1.0)
    assert old.proto["tcp"].state == 7  # TIME_WAIT
    p = through(ct, tcp(A, B, 1000, 80, SYN, seq=9000), 2.0)
    assert p.meta.ctinfo == IP_CT_NEW and p.meta.ct is not old


def test_entry_expires() -> None:
    ct = Conntrack()
    through(ct, tcp(A, B, 1000, 80, SYN, seq=100), 0.0)
    assert ct.entries(119.0) and not ct.entries(120.0)
    p = through(ct, tcp(A, B, 1000, 80, SYN, seq=100), 121.0)
    assert p.meta.ctinfo == IP_CT_NEW


def test_rst_in_window_closes() -> None:
    ct = Conntrack()
    handshake(ct)
    p = through(ct, tcp(B, A, 80, 1000, RST, seq=501), 1.0, incoming=False)
    assert p.meta.ct.proto["tcp"].state == 8 and p.meta.ct.timeout == 11.0


def test_truncated_header_is_invalid() -> None:
    ct = Conntrack()
    p = tcp(A, B, 1000, 80, SYN)
    assert isinstance(p.l4, Tcp)
    p.l4.doff = 8  # options promised, none there
    through(ct, p, 0.0)
    assert p.meta.ct is None and ct.invalid["truncated packet"] == 1


def test_established_ctinfo_after_reply() -> None:
    ct = Conntrack()
    handshake(ct)
    p = through(ct, tcp(A, B, 1000, 80, ACK, seq=101, ack=501, data=b"abc"), 1.0)
    assert p.meta.ctinfo == IP_CT_ESTABLISHED


def test_sequence_helpers_and_options() -> None:
    assert before(0xFFFFFFF0, 5) and after(5, 0xFFFFFFF0)
    s = Side()
    parse_options(Tcp(1, 2, options=b"\x02\x04\x05\xb4\x04\x02\x01\x03\x03\x0f"), s)
    assert s.td_scale == 14 and s.flags == 0x03
