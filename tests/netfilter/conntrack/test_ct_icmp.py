"""ICMP queries, errors RELATED or not, and the generic tracker."""

from __future__ import annotations

from ct_helpers import A, B, icmp, through, udp

from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.entry import IP_CT_RELATED_REPLY
from pynetfilter.packet.model import Packet


def test_echo_pairs_by_id() -> None:
    ct = Conntrack()
    through(ct, icmp(A, B, 8, rest=7 << 16 | 1), 0.0)
    p = through(ct, icmp(B, A, 0, rest=7 << 16 | 1), 0.1, incoming=False)
    assert p.meta.ctinfo == 3
    q = through(ct, icmp(B, A, 0, rest=8 << 16 | 1), 0.1, incoming=False)
    assert q.meta.ct is None


def test_error_for_a_tracked_datagram_is_related() -> None:
    ct = Conntrack()
    through(ct, udp(A, B, 5000, 9), 0.0)
    err = through(ct, icmp(B, A, 3, 3, inner=udp(A, B, 5000, 9)), 0.1, incoming=False)
    assert err.meta.ctinfo == IP_CT_RELATED_REPLY


def test_error_to_another_address_is_invalid() -> None:
    ct = Conntrack()
    through(ct, udp(A, B, 5000, 9), 0.0)
    err = through(ct, icmp(B, 0x0AE94709, 3, 3, inner=udp(A, B, 5000, 9)), 0.1, incoming=False)
    assert err.meta.ct is None and ct.invalid["outer daddr != inner"] == 1


def test_generic_protocol() -> None:
    ct = Conntrack()
    through(ct, Packet(A, B, 99, None, b"x"), 0.0)
    assert ct.listing(0.0).startswith("unknown  99 600 src=10.233.71.1 dst=10.233.71.2 [UNREPLIED] src=")
