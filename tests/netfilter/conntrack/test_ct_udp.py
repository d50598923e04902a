"""UDP: unreplied, replied and stream timeouts (nf_conntrack_proto_udp.c)."""

from __future__ import annotations

from ct_helpers import A, B, through, udp

from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.entry import IPS_ASSURED


def test_reply_within_two_seconds_is_not_a_stream() -> None:
    ct = Conntrack()
    through(ct, udp(A, B, 5000, 53), 0.0)
    through(ct, udp(B, A, 53, 5000), 0.5, incoming=False)
    p = through(ct, udp(A, B, 5000, 53), 1.0)
    assert not p.meta.ct.status & IPS_ASSURED and p.meta.ct.timeout == 31.0


def test_stream_after_two_seconds() -> None:
    ct = Conntrack()
    through(ct, udp(A, B, 5000, 53), 0.0)
    through(ct, udp(B, A, 53, 5000), 0.5, incoming=False)
    p = through(ct, udp(A, B, 5000, 53), 2.5)
    assert p.meta.ct.status & IPS_ASSURED and p.meta.ct.timeout == 122.5


def test_bad_length_is_invalid() -> None:
    ct = Conntrack()
    p = udp(A, B, 5000, 53)
    p.l4.length = 100
    through(ct, p, 0.0)
    assert p.meta.ct is None and ct.invalid["truncated/malformed packet"] == 1
