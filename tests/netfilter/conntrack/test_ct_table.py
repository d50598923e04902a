"""The table: zones per direction, already-tracked packets, confirm clashes, templates."""

from __future__ import annotations

from ct_helpers import A, B, through, udp

from pynetfilter.netfilter.conntrack import Conntrack, Zone
from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_NEW,
    IP_CT_UNTRACKED,
    NF_CT_FLAG_MARK,
    NF_CT_ZONE_DIR_ORIG,
    Tuple,
    template,
)
from pynetfilter.netfilter.verdicts import NF_DROP


def test_zones_separate_entries() -> None:
    ct = Conntrack()
    p = udp(A, B, 5000, 53)
    p.meta.ct, p.meta.ctinfo = template(zone=5), IP_CT_NEW
    through(ct, p, 0.0)
    q = through(ct, udp(A, B, 5000, 53), 0.0)  # zone 0: a second entry
    assert q.meta.ctinfo == IP_CT_NEW and q.meta.ct is not p.meta.ct
    t = Tuple(A, B, 17, 5000, 53)
    assert ct.lookup(t, 5) is p.meta.ct and ct.lookup(t, 0) is q.meta.ct
    assert "zone=5 use=1" in ct.listing(0.0)


def test_zone_from_mark_and_one_direction() -> None:
    ct = Conntrack()
    p = udp(A, B, 5000, 53)
    p.meta.mark = 0x10007
    p.meta.ct = template(zone_dir=NF_CT_ZONE_DIR_ORIG, zone_flags=NF_CT_FLAG_MARK)
    through(ct, p, 0.0)
    assert p.meta.ct.zone == 7 and " zone-orig=7 " in ct.listing(0.0)
    r = through(ct, udp(B, A, 53, 5000), 0.1, incoming=False)  # the reply direction is in zone 0
    assert r.meta.ct is p.meta.ct
    assert ct.find(Tuple(A, B, 17, 5000, 53), Zone(7, NF_CT_ZONE_DIR_ORIG)) == (p.meta.ct, 0)


def test_untracked_and_already_tracked() -> None:
    ct = Conntrack()
    p = udp(A, B, 5000, 53)
    p.meta.untracked = True
    through(ct, p, 0.0)
    assert p.meta.ct is None and p.meta.ctinfo == IP_CT_UNTRACKED and not ct.entries(0.0)
    q = through(ct, udp(A, B, 5001, 53), 0.0, incoming=False)
    conn = q.meta.ct
    through(ct, q, 0.0)  # looped back: keeps its entry and ctinfo
    assert q.meta.ct is conn and q.meta.ctinfo == IP_CT_NEW and conn.packets == [1, 0]


def test_confirm_clash_drops() -> None:
    from pynetfilter.model.tables import Hook
    from pynetfilter.netfilter.pipeline import HookState

    ct = Conntrack()
    st = HookState(Hook.PREROUTING, None, None, 0.0, False, [], [])
    p1, p2 = udp(A, B, 5000, 53), udp(A, B, 5000, 53)
    ct.in_hook(p1, st)
    ct.in_hook(p2, st)  # both unconfirmed, same tuple (two CPUs racing)
    assert ct.confirm(p1, st) != NF_DROP
    assert ct.confirm(p2, st) == NF_DROP and ct.stats["insert_failed"] == 1


def test_tuple_taken() -> None:
    ct = Conntrack()
    p = through(ct, udp(A, B, 5000, 53), 0.0)
    other = through(ct, udp(A, B, 5001, 53), 0.0).meta.ct
    assert ct.tuple_taken(Tuple(B, A, 17, 53, 5000), other, now=1.0)
    assert not ct.tuple_taken(Tuple(B, A, 17, 53, 5000), p.meta.ct, now=1.0)
    assert not ct.tuple_taken(Tuple(B, A, 17, 53, 5000), other, now=31.0)  # expired
