"""What a capture tells the replay: its frames, which captured packets are egress copies, and the
choices the kernel made.

Theory of operation.  A :class:`Frame` is one captured IPv4 packet with its
interface and direction, parsed once.  :class:`Egress` remembers what the
engine put on the wire (forwarded or generated) so that the captured copy of
it is recognised and not fed to the engine again: by content after NAT and
mangle (addresses, ports, sequence numbers, flags, payload length; not TTL,
TOS, IP id or checksums), and fragments by (interface, addresses, protocol,
IP id), since the kernel refragments what it reassembled.
:class:`CaptureChoices` is the engine's ``choices``: where the kernel made a
choice the rules leave open, it finds the current packet's egress copy a
little later in the capture (same protocol, IP id, payload length, TCP
sequence or ICMP type and sequence: what survives forwarding and NAT) and
answers with what the kernel did: which ``statistic --mode random`` branch
led to the DNAT the packet got, which port NAT gave it, which IP id a
generated reply carries.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.packet.model import IP_MF, Icmp, Tcp

if TYPE_CHECKING:
    from pynetfilter.packet.model import Packet
    from pynetfilter.replay.window import Frames

EXPECT_WINDOW = 1.0  # seconds an egress copy may lag behind the packet the engine handled
LOOKAHEAD = 0.5  # seconds the kernel's choice is looked for after a packet


@dataclass(slots=True)
class Frame:
    """One captured IPv4 packet: when, where, which way, and the datagram."""

    n: int  # 1-based position in the capture
    ts: float
    ifname: str
    out: bool  # captured leaving the host
    pkt_type: str
    data: bytes
    src_mac: bytes | None = None
    pkt: Packet | None = None  # parsed lazily, once
    bad: str | None = None  # why ip_rcv would drop it (then it never reaches netfilter)


def parse(frame: Frame) -> Packet | None:
    """The frame's datagram, or None when ip_rcv would have dropped it before netfilter."""
    if frame.pkt is None and frame.bad is None:
        from pynetfilter.packet.wire import PacketError
        from pynetfilter.packet.wire import parse as parse_ip

        try:
            frame.pkt = parse_ip(frame.data)
        except PacketError as e:
            frame.bad = str(e)
    return frame.pkt


# --------------------------------------------------------------------------- matching egress copies


def _l4_key(p: Packet) -> tuple[Any, ...]:
    l4 = p.l4
    if p.fragment_offset or l4 is None:
        return (p.proto, None)
    if isinstance(l4, Tcp):
        return (p.proto, l4.sport, l4.dport, l4.seq, l4.ack_seq, l4.flags)
    if isinstance(l4, Icmp):
        inner = l4.inner
        ik = None if inner is None else (inner.saddr, inner.daddr, inner.proto, _l4_key(inner)[1:3])
        return (p.proto, l4.type, l4.code, l4.rest if l4.type in (0, 8, 13, 14) else None, ik)
    return (p.proto, getattr(l4, "sport", None), getattr(l4, "dport", None))


def content_key(p: Packet, oif: str | None) -> tuple[Any, ...]:
    """What an egress copy shares with the packet the engine sent: all but TTL/TOS/id/checksums."""
    return (oif, p.saddr, p.daddr, _l4_key(p), len(p.payload), p.frag_off & ~IP_MF & 0xFFFF)


@dataclass(slots=True)
class Expected:
    until: float
    key: tuple[Any, ...]
    frag: tuple[Any, ...]  # (oif, saddr, daddr, proto, id): any fragment of it is a copy
    origin: int  # the frame whose processing produced it


@dataclass
class Egress:
    """Packets the engine put on the wire and whose captured copies are still to come."""

    pending: list[Expected] = field(default_factory=list)

    def expect(self, p: Packet, oif: str | None, now: float, origin: int) -> None:
        self.pending.append(Expected(now + EXPECT_WINDOW, content_key(p, oif),
                                     (oif, p.saddr, p.daddr, p.proto, p.id), origin))

    def claim(self, p: Packet, oif: str, now: float) -> int | None:
        """The frame whose egress copy *p* is, or None: then it is the host's own output."""
        self.pending = [e for e in self.pending if e.until >= now]
        key = content_key(p, oif)
        for i, e in enumerate(self.pending):
            if e.key == key:
                del self.pending[i]
                return e.origin
        if p.is_fragment:
            frag = (oif, p.saddr, p.daddr, p.proto, p.id)
            for e in self.pending:
                if e.frag == frag:  # refragmented: every piece is a copy, keep the entry
                    return e.origin
        return None


# --------------------------------------------------------------------------- the kernel's choices


class CaptureChoices:
    """The engine's ``choices``: the kernel's open decisions, read from what the capture shows next."""

    def __init__(self, frames: Frames | list[Frame]) -> None:
        from pynetfilter.replay.window import Frames

        self.frames = frames if isinstance(frames, Frames) else Frames.of(frames)
        self.i = 0
        self._egress_cache: tuple[int, Packet | None] | None = None

    def at(self, i: int) -> None:
        self.i = i
        self._egress_cache = None

    def egress(self) -> Packet | None:
        """The current packet as it left the host (after NAT), if the capture shows it leave."""
        if self._egress_cache is not None and self._egress_cache[0] == self.i:
            return self._egress_cache[1]
        cur = self.frames[self.i]
        found = p = parse(cur)
        if not cur.out and p is not None:
            found, want = None, _flow_free_key(p)
            for f in self.frames.after(self.i):
                if f.ts - cur.ts > LOOKAHEAD:
                    break
                q = parse(f) if f.out and f.ifname != cur.ifname else None
                if q is not None and _flow_free_key(q) == want:
                    found = q
                    break
        self._egress_cache = (self.i, found)
        return found

    def decide(self, kind: str, probability: float, par: Any = None) -> bool:
        """statistic --mode random: True when the branch the rule starts is the one the kernel took."""
        rule = getattr(par, "rule", None)
        if par is not None and rule is not None:
            taken = _branch_taken(par, rule, self.egress())
            if taken is not None:
                return taken
        rng = getattr(par, "rng", None)
        return (rng.random() if rng is not None else 0.5) < probability

    def nat_key(self, orig: Any, manip: int) -> int | None:
        """The port (ICMP: id) NAT gave the connection whose first packet is the current one."""
        from pynetfilter.netfilter.nat_tuple import MANIP_SRC

        e = self.egress()
        if e is None or e.l4 is None:
            return None
        if isinstance(e.l4, Icmp):
            return e.l4.id
        return int(getattr(e.l4, "sport" if manip == MANIP_SRC else "dport", 0)) or None

    def ip_id(self, saddr: int, daddr: int, proto: int) -> int | None:
        """The IP id of a packet the kernel generates now (REJECT): the next such packet's.  NAT may
        still rewrite its source (an ICMP error about a DNATed connection leaves from the virtual
        IP), so without a packet from *saddr* the next one to *daddr* is taken."""
        cur = self.frames[self.i]
        other: int | None = None
        for f in itertools.chain((cur,), self.frames.after(self.i)):
            if f.ts - cur.ts > LOOKAHEAD:
                break
            p = parse(f)
            if f.out and p is not None and (p.daddr, p.proto) == (daddr, proto):
                if p.saddr == saddr:
                    return p.id
                if other is None:
                    other = p.id
        return other


def _flow_free_key(p: Packet) -> tuple[Any, ...]:
    """What survives forwarding and NAT: protocol, IP id, payload length, TCP seq / ICMP type+seq."""
    l4 = p.l4
    extra: Any = None
    if isinstance(l4, Tcp):
        extra = (l4.seq, l4.flags)
    elif isinstance(l4, Icmp):
        extra = (l4.type, l4.seq if l4.type in (0, 8) else None)
    return (p.proto, p.id, len(p.payload), p.fragment_offset, extra)


def _branch_taken(par: Any, rule: Any, egress: Packet | None) -> bool | None:
    """Did the kernel take *rule*'s branch?  Judged by the DNATs it leads to, or by a drop."""
    from pynetfilter.model.rule import Jump, Verdict

    table = par.engine.ruleset.tables[par.table]
    dests = _dnat_dests(table, rule, set())
    if dests:
        if egress is None:
            # No copy left the host: a branch that DNATs to one of its own addresses (a
            # host-network endpoint) delivered it locally; otherwise the capture cannot tell.
            local = {a.local for dev in par.engine.host.interfaces.values() for a in dev.ifaddrs}
            return True if any(lo <= a <= hi for a in local for lo, hi, _p, _q in dests) else None
        port = getattr(egress.l4, "dport", None)
        return any(lo <= egress.daddr <= hi and (plo is None or port is None or plo <= port <= phi)
                   for lo, hi, plo, phi in dests)
    t = rule.target
    if isinstance(t, Verdict) and t.name == "DROP" or getattr(t, "name", "") == "REJECT":
        return egress is None
    if isinstance(t, Jump) or t is None:
        return None
    return None


def _dnat_dests(table: Any, rule: Any, seen: set[str]) -> list[tuple[int, int, int | None, int | None]]:
    """Destination ranges of the DNATs reachable from *rule* (its target, through jumps)."""
    from pynetfilter.model.rule import Jump

    t = rule.target
    if isinstance(t, Jump):
        if t.chain in seen:
            return []
        seen.add(t.chain)
        out = []
        for r in table.chains[t.chain].rules:
            out += _dnat_dests(table, r, seen)
        return out
    if getattr(t, "name", "") == "DNAT":
        from pynetfilter.ext._nat import MAP_IPS, PROTO_SPECIFIED

        flags = t.flags
        lo, hi = (t.min_ip, t.max_ip) if flags & MAP_IPS else (0, 0xFFFFFFFF)
        plo, phi = (t.min_port, t.max_port) if flags & PROTO_SPECIFIED else (None, None)
        return [(lo, hi, plo, phi)]
    return []
