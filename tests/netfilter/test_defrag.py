"""netfilter.defrag: the kernel's fragments (tools/record_packets.py) and ip_frag_queue's corner cases."""

from __future__ import annotations

import json
import random
from pathlib import Path

from pynetfilter.io.pcap import Reader
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.defrag import Defrag
from pynetfilter.netfilter.pipeline import HookState
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_STOLEN
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_DF, IP_MF, Packet, Udp

KERNEL = Path(__file__).parent.parent / "packet" / "kernel"
META = json.loads((KERNEL / "capture.json").read_text())
IDX = META["ifindex"]["router"]


def st(now: float = 0.0, hook: Hook = Hook.PREROUTING) -> HookState:
    return HookState(hook, "c0", None, now, False, [], [])


def kernel_fragments(direction: str, ifindex: int) -> list[Packet]:
    return [wire.parse(r.data) for r in Reader(KERNEL / "router.pcap")
            if r.direction == direction and r.ifindex == ifindex and wire.parse(r.data).is_fragment]


def reassemble(frags: list[Packet], d: Defrag | None = None, now: float = 0.0) -> tuple[list[int], Packet]:
    d = d or Defrag(None)
    verdicts = [d.hook(p, st(now)) for p in frags]
    return verdicts, frags[verdicts.index(NF_ACCEPT)] if NF_ACCEPT in verdicts else frags[-1]


def test_kernel_fragments_reassemble() -> None:
    frags = kernel_fragments("In", IDX["c0"])
    assert [f.fragment_offset for f in frags] == [0, 680, 1360, 2040]
    verdicts, whole = reassemble(frags)
    assert verdicts == [NF_STOLEN] * 3 + [NF_ACCEPT]
    assert whole is frags[-1] and not whole.is_fragment and isinstance(whole.l4, Udp)
    assert whole.payload == bytes(range(256)) * 8 and whole.l4.length == 8 + 2048
    assert wire.l4_checksum_ok(whole) and wire.length(whole) == 2076


def test_kernel_refragmented_reply_matches_after_nat() -> None:
    """The server's 2 fragments reassembled and de-masqueraded equal the router's 4 sent ones reassembled."""
    _, got = reassemble(kernel_fragments("In", IDX["s0"]))
    _, sent = reassemble(kernel_fragments("Out", IDX["c0"]))
    got.daddr = int.from_bytes(bytes(int(x) for x in META["client"].split(".")), "big")
    got.ttl -= 1
    assert wire.to_bytes(got) == wire.to_bytes(sent)


def test_any_order_and_metadata_of_the_head() -> None:
    frags = kernel_fragments("In", IDX["c0"])
    for seed in range(5):
        order = [wire.parse(wire.to_bytes(f)) for f in frags]
        for f in order:
            f.meta.iif = "c0"
        order[0].meta.mark = 7  # the first fragment's skb metadata survives (skb_morph)
        random.Random(seed).shuffle(order)
        order[-1].meta.iif = "other"
        verdicts, whole = reassemble(order)
        assert verdicts.count(NF_ACCEPT) == 1 and verdicts[-1] == NF_ACCEPT
        assert whole.payload == bytes(range(256)) * 8
        assert whole.meta.mark == 7 and whole.meta.iif == "other"


def make(payload_len: int, pieces: list[tuple[int, int, bool]], tos: int = 0,
         df: bool = False) -> list[Packet]:
    """Fragments (offset, length, more) of a UDP datagram with *payload_len* bytes of data."""
    data = wire.to_bytes(Packet(1, 2, 17, Udp(10, 20), bytes(i % 251 for i in range(payload_len)), id=9))
    body = data[20:]
    out = []
    for off, n, more in pieces:
        frag = (off // 8) | (IP_MF if more else 0) | (IP_DF if df else 0)
        raw = wire.to_bytes(Packet(1, 2, 17, None, body[off:off + n], tos=tos, id=9, frag_off=frag))
        out.append(wire.parse(raw))
    return out


def test_duplicates_are_dropped_alone() -> None:
    d = Defrag(None)
    frags = make(100, [(0, 40, True), (40, 40, True), (40, 40, True), (8, 16, True), (80, 28, False)])
    verdicts, whole = reassemble(frags, d)
    assert verdicts == [NF_STOLEN] * 4 + [NF_ACCEPT] and d.stats["duplicates"] == 2
    assert wire.length(whole) == 128 and wire.l4_checksum_ok(whole)


def test_overlap_discards_the_datagram() -> None:
    d = Defrag(None)
    frags = make(100, [(0, 40, True), (32, 48, True), (40, 40, True), (80, 28, False)])
    verdicts, _ = reassemble(frags, d)
    assert verdicts == [NF_STOLEN] * 4 and d.stats["overlaps"] == 1
    # A fragment spanning two runs that meet is an overlap, not a duplicate (runs never merge backwards).
    d = Defrag(None)
    frags = make(100, [(40, 40, True), (0, 40, True), (0, 80, True), (80, 28, False)])
    assert reassemble(frags, d)[0] == [NF_STOLEN] * 4 and d.stats["overlaps"] == 1


def test_inconsistent_ends_discard_the_datagram() -> None:
    for pieces in ([(80, 28, False), (0, 40, True), (72, 8, False)],  # a second, different last fragment
                   [(40, 28, False), (72, 8, True), (0, 40, True)],  # data beyond the end
                   [(0, 40, True), (40, 4, True)]):  # rounds down to nothing
        d = Defrag(None)
        assert NF_ACCEPT not in reassemble(make(100, pieces), d)[0] and d.stats["reasm_fails"] >= 1


def test_timeout_after_30_seconds() -> None:
    d = Defrag(None)
    a, b = make(100, [(0, 80, True), (80, 28, False)])
    assert d.hook(a, st(0.0)) == NF_STOLEN
    assert d.hook(b, st(30.0)) == NF_STOLEN  # the queue expired: this one starts a new datagram
    assert d.stats["timeouts"] == 1 and d.expired == [(30.0, a)]
    a, b = make(100, [(0, 80, True), (80, 28, False)])
    d = Defrag(None)
    assert (d.hook(a, st(0.0)), d.hook(b, st(29.9))) == (NF_STOLEN, NF_ACCEPT)


def test_ecn_and_df() -> None:
    ect, not_ect = make(100, [(0, 80, True)], tos=2), make(100, [(80, 28, False)], tos=0)
    assert NF_ACCEPT not in reassemble(ect + not_ect)[0]
    ce, ect0 = make(100, [(0, 80, True)], tos=3), make(100, [(80, 28, False)], tos=2)
    assert reassemble(ce + ect0)[1].tos == 3
    big_df = make(100, [(0, 80, True)], df=True) + make(100, [(80, 28, False)])
    assert reassemble(big_df)[1].frag_off == IP_DF  # the largest fragment had DF
    small_df = make(100, [(0, 80, True)]) + make(100, [(80, 28, False)], df=True)
    assert reassemble(small_df)[1].frag_off == 0


def test_what_is_not_queued() -> None:
    d = Defrag(None)
    whole = make(100, [(0, 108, False)])[0]
    assert d.hook(whole, st()) == NF_ACCEPT and not d.queues
    frag = make(100, [(0, 40, True)])[0]
    frag.meta.untracked = True
    assert d.hook(frag, st()) == NF_ACCEPT
    a, b = make(100, [(0, 80, True), (80, 28, False)])
    assert d.hook(a, st(hook=Hook.PREROUTING)) == NF_STOLEN
    assert d.hook(b, st(hook=Hook.OUTPUT)) == NF_STOLEN  # IP_DEFRAG_CONNTRACK_OUT: another queue
    assert len(d.queues) == 2
