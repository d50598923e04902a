"""The host's own packets that REJECT refused in OUTPUT, inferred from the replies on ``lo``.

Theory of operation.  A packet REJECT drops in filter OUTPUT never leaves the
host, so a ``tcpdump -i any`` capture does not hold it: only the reply REJECT
made, which went OUTPUT -> POSTROUTING (NAT undone: it reads as an answer to
the packet as its socket sent it) -> ``lo`` -> PREROUTING -> INPUT.  What the
reply tells about the packet it answers:

* an ICMP error quotes its IP header (the total length: its exact size) and
  at least 8 bytes of it (Linux quotes up to 576 bytes in all): the packet is
  the quote, padded with zeros where it was cut;
* a RST with ACK answers a segment without ACK, a SYN (seq = ack_seq - 1); its
  options do not show, so the host's nearest SYN in the capture lends its
  header (else Linux's defaults);
* a RST without ACK answers an ACKed segment: its ack_seq is the RST's seq, its
  seq what the connection's sender sent so far (conntrack's ``td_end``, or the
  capture's stream), its payload length and flags do not show.  A copy of the
  segment the capture shows (the same seq sent before or after), or the host's
  next segment (the length is the gap), tells; otherwise a guess is made.

Each candidate is run on the scratch engine (:mod:`pynetfilter.replay.infer`),
with a copy of its connection's conntrack entry when the host already tracks
it, once per outcome of the ``statistic`` matches it meets; the first that
filter OUTPUT rejects with exactly the captured reply is the explanation.  The
replay then sends it through OUTPUT on the real engine, whose REJECT generates
the reply (OUTPUT, POSTROUTING: nat looked up there for a connection without a
source binding yet), and takes the captured frame as that reply's looped copy,
through PREROUTING and INPUT with the connection the reply carries.  What had
to be guessed, and outcomes that explain the reply through other rules, become
the replay's warnings ("rejected", "ambiguous"), never silent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynetfilter.packet.model import (
    ACK,
    FIN,
    IP_DF,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    PSH,
    RST,
    SYN,
    Icmp,
    Packet,
    Tcp,
)
from pynetfilter.replay.capture import content_key, parse
from pynetfilter.replay.infer import MAX_RUNS, Forced, branches
from pynetfilter.replay.window import window

if TYPE_CHECKING:
    from pynetfilter.netfilter.pipeline import Engine, Outcome
    from pynetfilter.replay.capture import Frame
    from pynetfilter.replay.engine import Replay
    from pynetfilter.replay.infer import Scratch
    from pynetfilter.replay.window import Frames

REJECT_CODES = frozenset({0, 1, 2, 3, 9, 10, 13})  # the ICMP codes --reject-with sends
# Flags of an ACKed segment a RST without ACK answers, most likely first (payload unknown: none).
GUESSES = (ACK | FIN, ACK, ACK | PSH, ACK | PSH | FIN)
STREAM_WINDOW = 5.0  # seconds around the reply the capture is searched for the connection's segments
TEMPLATE_WINDOW = 60.0  # seconds around it the host's nearest SYN is looked for (window.BEHIND)
M32 = 0xFFFFFFFF


@dataclass
class Rejected:
    """The packet the socket sent, the statistic outcomes its run drew, what the reply did not tell."""

    packet: Packet
    decisions: list[bool]
    guessed: str  # "" when the reply and the capture tell the whole packet
    ambiguous: bool = False  # statistic outcomes that pass other rules explain the reply as well


class ReplyChoices(Forced):
    """``choices`` for a rejected packet's run: the generated reply's IP id is the captured one's."""

    def __init__(self, sent: Packet, decisions: list[bool], reply: Packet) -> None:
        super().__init__(sent, decisions)
        self.reply_id = reply.id

    def ip_id(self, saddr: int, daddr: int, proto: int) -> int | None:
        return self.reply_id


def looks_like(reply: Packet) -> bool:
    """Could *reply* be what REJECT sent (a RST, or a destination-unreachable REJECT sends)?"""
    l4 = reply.l4
    if isinstance(l4, Tcp):
        return bool(l4.flags & RST)
    return isinstance(l4, Icmp) and l4.type == 3 and l4.code in REJECT_CODES and l4.inner is not None


def generated_reply(out: Outcome, reply: Packet) -> Outcome | None:
    """The reply *out* generated that left through lo as *reply* (the captured copy)."""
    want = content_key(reply, "lo")
    for g in out.generated:
        if g.verdict == "accept" and g.oif == "lo" and content_key(g.packet, "lo") == want:
            return g
    return None


# --------------------------------------------------------------------------- candidates from the reply


def from_icmp(frame: Frame, reply: Packet) -> tuple[Packet, str] | None:
    """The datagram an ICMP error quotes, padded with zeros to its total length where it was cut."""
    from pynetfilter.packet.wire import PacketError
    from pynetfilter.packet.wire import parse as parse_ip

    quote = frame.data[reply.ihl * 4 + 8:int.from_bytes(frame.data[2:4], "big")]  # no link-layer padding
    if len(quote) < 20:
        return None
    total = int.from_bytes(quote[2:4], "big")
    guessed = ""
    if len(quote) < total:
        guessed = f"{total - len(quote)} of its {total} bytes were not quoted (zeros)"
        quote += bytes(total - len(quote))
    try:
        return parse_ip(bytes(quote[:total])), guessed
    except PacketError:
        return None


def _segments(frames: Frames, i: int,
              wire: tuple[int, int, int, int]) -> tuple[list[Packet], list[Packet]]:
    """The host's segments of a connection (its wire addresses and ports, no RSTs) before and after
    frame *i*."""
    before: list[Packet] = []
    after: list[Packet] = []
    for j, f in frames.around(i, STREAM_WINDOW):
        if not f.out:
            continue
        p = parse(f)
        if p is not None and isinstance(p.l4, Tcp) and not p.is_fragment and not p.l4.flags & RST and \
                (p.saddr, p.l4.sport, p.daddr, p.l4.dport) == wire:
            (before if j < i else after).append(p)
    return before, after


def _template_syn(frames: Frames, i: int, saddr: int) -> Packet | None:
    """The host's SYN nearest to frame *i* within TEMPLATE_WINDOW (its options are the stack's: the
    same for every SYN).  A SYN that arrived too (same seq) was forwarded: another stack's,
    masqueraded."""
    near = [f for _, f in frames.around(i, TEMPLATE_WINDOW)]
    arrived = {p.l4.seq for f in near if not f.out and (p := parse(f)) is not None and isinstance(p.l4, Tcp)
               and p.l4.flags & (SYN | ACK) == SYN}
    best: tuple[float, Packet] | None = None
    for f in near:
        p = parse(f) if f.out else None
        if p is not None and p.saddr == saddr and isinstance(p.l4, Tcp) and \
                p.l4.flags & (SYN | ACK) == SYN and p.l4.seq not in arrived:
            d = abs(f.ts - frames[i].ts)
            if best is None or d < best[0]:
                best = (d, p)
    return best[1] if best is not None else None


def _linux_syn_options(mss: int) -> bytes:
    """tcp_syn_options with the default sysctls: MSS, SACK permitted + timestamps, window scale 7."""
    return bytes([2, 4]) + mss.to_bytes(2, "big") + bytes([4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 7])


def _segment(reply: Packet, seq: int, ack_seq: int, flags: int, like: Packet | None, payload: int) -> Packet:
    """The segment *reply* answers, with the header (options, window, TTL, TOS) of *like*."""
    r = reply.l4
    assert isinstance(r, Tcp)
    lt = like.l4 if like is not None else None
    opts = lt.options if isinstance(lt, Tcp) else b""
    doff = lt.doff if isinstance(lt, Tcp) else 5
    window = lt.window if isinstance(lt, Tcp) else 0
    tcp = Tcp(r.dport, r.sport, seq & M32, ack_seq & M32, doff, flags, window, 0, 0, opts)
    ttl, tos = (like.ttl, like.tos) if like is not None else (64, 0)
    return Packet(reply.daddr, reply.saddr, IPPROTO_TCP, tcp, bytes(payload), tos=tos, frag_off=IP_DF,
                  ttl=ttl)


def from_rst(frames: Frames | list[Frame], i: int, reply: Packet, real: Engine) -> list[tuple[Packet, str]]:
    """The segments a RST may answer, the likeliest first, each with what had to be guessed."""
    frames = window(frames)
    r = reply.l4
    assert isinstance(r, Tcp)
    if r.flags & ACK:  # it answers a SYN
        like = _template_syn(frames, i, reply.daddr)
        if like is None:
            route = real.host.route_output_addr(reply.saddr)
            mtu = getattr(real.host.interfaces.get(route.oif or ""), "mtu", 1500) or 1500
            syn = _segment(reply, r.ack_seq - 1, 0, SYN, None, 0)
            assert isinstance(syn.l4, Tcp)
            syn.l4.options, syn.l4.doff, syn.l4.window = _linux_syn_options(mtu - 40), 10, 64240
            return [(syn, "its options (Linux's defaults: no SYN of the host in the capture)")]
        return [(_segment(reply, r.ack_seq - 1, 0, SYN, like, 0),
                 f"its options (those of the host's SYN {_describe(like)})")]
    seq, wire = _sent_so_far(real, reply)
    before, after = _segments(frames, i, wire) if wire is not None else ([], [])
    like = before[-1] if before else (after[0] if after else None)
    if seq is None:
        if not before:
            return []
        last = before[-1].l4
        assert isinstance(last, Tcp)
        seq = last.seq + len(before[-1].payload) + bool(last.flags & (SYN | FIN))
    for s in before + after:  # the same segment the capture shows (sent before, or again later): exact
        assert isinstance(s.l4, Tcp)
        if s.l4.seq == seq and s.l4.ack_seq == r.seq and s.l4.flags & ACK and (s.payload or s.l4.flags & FIN):
            return [(_segment(reply, seq, r.seq, s.l4.flags, s, len(s.payload)), "")]
    later = [s for s in after if isinstance(s.l4, Tcp) and 0 < (s.l4.seq - seq) & M32 < 0x10000]
    if later:  # the host's next segment: the payload length is the gap
        gap = (later[0].l4.seq - seq) & M32  # type: ignore[union-attr]
        return [(_segment(reply, seq, r.seq, f, like, gap), "its flags") for f in (ACK | PSH, ACK)]
    return [(_segment(reply, seq, r.seq, f, like, 0), "its payload length (none) and flags")
            for f in GUESSES]


def _sent_so_far(real: Engine, reply: Packet) -> tuple[int | None, tuple[int, int, int, int] | None]:
    """The next seq of the host's side of the connection a RST answers (conntrack's td_end, None if
    untracked), and that side's wire addresses and ports (after NAT)."""
    r = reply.l4
    assert isinstance(r, Tcp)
    sock = (reply.daddr, r.dport, reply.saddr, r.sport)
    ct = real.conntrack
    if ct is None:
        return None, sock
    from pynetfilter.netfilter.conntrack.entry import IP_CT_DIR_ORIGINAL, Tuple

    hit = ct.find(Tuple(reply.daddr, reply.saddr, IPPROTO_TCP, r.dport, r.sport))
    if hit is None:
        return None, sock
    conn, direction = hit
    other = conn.reply if direction == IP_CT_DIR_ORIGINAL else conn.orig
    wire = (other.dst, other.dport, other.src, other.sport)
    info = conn.proto.get("tcp")
    end = info.seen[direction].td_end if info is not None else 0
    return (end or None), wire


def _describe(p: Packet) -> str:
    from pynetfilter.replay.engine import describe

    return describe(p)


# --------------------------------------------------------------------------- the trial runs


def explain(scratch: Scratch, real: Engine, frames: Frames | list[Frame], i: int,
            reply: Packet) -> Rejected | None:
    """The packet whose rejection in OUTPUT sent *reply* (frame *i*, captured arriving on lo)."""
    frames = window(frames)
    if not looks_like(reply):
        return None
    if reply.proto == IPPROTO_ICMP:
        got = from_icmp(frames[i], reply)
        cands = [got] if got is not None else []
    else:
        cands = from_rst(frames, i, reply, real)
    now = frames[i].ts
    for cand, guessed in cands:
        found = _trials(scratch, real, cand, reply, now)
        if found:
            return Rejected(cand, found[0][0], guessed, len({sig for _d, sig in found}) > 1)
    return None


def _trials(scratch: Scratch, real: Engine, cand: Packet, reply: Packet,
            now: float) -> list[tuple[list[bool], tuple[str, ...]]]:
    """Run *cand* on the scratch engine (with a copy of its connection's entry), once per outcome of
    every ``statistic --mode random`` it meets (the reply, NAT undone, does not show which the kernel
    drew): the outcomes of each run where filter OUTPUT rejected it with *reply*, and the rules the
    run passed."""
    from pynetfilter.netfilter.conntrack.icmp import pkt_tuple

    ct = real.conntrack
    t = pkt_tuple(cand)
    hit = ct.find(t) if ct is not None and t is not None else None
    def with_entry() -> None:  # the scratch engine starts empty: give it the connection's entry
        if hit is not None and scratch.conntrack is not None:
            scratch.conntrack.table.insert(copy.deepcopy(hit[0]), now)

    return [(made, sig) for out, made, sig in
            branches(scratch, real, cand, now, MAX_RUNS, lambda forced: ReplyChoices(cand, forced, reply),
                     with_entry)
            if out.verdict == "drop" and generated_reply(out, reply) is not None]


def replay_reply(rp: Replay, i: int, f: Frame) -> tuple[str, Outcome] | None:
    """Replay frame *i*, captured arriving on lo, as a reply REJECT sent when filter OUTPUT refused
    one of the host's own packets: that packet through OUTPUT (the engine generates the reply),
    then the reply's looped copy (this frame) through PREROUTING and INPUT.  The step's action and
    outcome; None when the frame is no such reply."""
    from pynetfilter.replay.engine import _fresh, describe
    from pynetfilter.replay.infer import Scratch

    reply, eng = parse(f), rp.engine
    if reply is None or not looks_like(reply):
        return None
    if rp.scratch is None:
        rp.scratch = Scratch(eng.ruleset, eng.host)
    rej = explain(rp.scratch, eng, rp.frames, i, reply)
    if rej is None:
        return None
    what = describe(rej.packet)
    if rej.guessed:
        rp.warnings.add("rejected", f.n, f", {what}: {rej.guessed}")
    if rej.ambiguous:
        rp.warnings.add("ambiguous", f.n)
    eng.choices = ReplyChoices(rej.packet, rej.decisions, reply)
    try:
        out = eng.send(rej.packet, f.ts)
    finally:
        eng.choices = rp.choices
    rp.expect_generated(out, f)
    g = generated_reply(out, reply)
    if g is None:  # the trial run rejected it so: only state the trial did not copy differs
        rp.warnings.add("unexplained", f.n)
        return f"loopback (UNEXPLAINED: {what} was not rejected as on the trial)", out
    pkt = _fresh(f)
    pkt.meta.ct, pkt.meta.ctinfo, pkt.meta.pkt_type = g.packet.meta.ct, g.packet.meta.ctinfo, f.pkt_type
    looped = rp.receive_looped(pkt, f.ts)
    rp.expect_generated(looped, f)
    return f"loopback (REJECT's reply to {what}, rejected in OUTPUT)", looped
