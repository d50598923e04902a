"""NAT as the kernel does it (nf_nat_core.c, nf_nat_proto.c): bindings per connection, manips per packet.

Theory of operation.  NAT hangs off conntrack.  The nat hook functions run at
PREROUTING/OUTPUT (priority -100, the destination side) and INPUT/POSTROUTING
(100, the source side).  For a connection's first packet (ctinfo NEW, or a
RELATED non-ICMP packet) whose entry has no binding for this side yet, the
nat table is consulted; a NAT target calls :meth:`Nat.setup_info`, which
picks the new tuple (:mod:`nat_tuple`), rewrites the entry's reply tuple and
sets IPS_SRC_NAT/IPS_DST_NAT; a table that sets nothing leaves the null
binding (the identity, except that a clashing source port is still moved).
Either way the side is then marked done (IPS_*_NAT_DONE), so the table is
never consulted again for that connection.

Every packet of the connection, either direction, is then rewritten to look
like the inverse of the other direction's tuple: the original direction gets
the new addresses, replies get the old ones back.  ICMP errors about a
connection (RELATED) are translated as a whole: the embedded header with the
other direction's tuple, the outer header like a reply.  Only fields change
here; ``packet.wire.to_bytes`` recomputes the checksums.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pynetfilter.ext._nat import MAP_IPS
from pynetfilter.ext.types import fmt_ipv4
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_ORIGINAL,
    IP_CT_DIR_REPLY,
    IP_CT_IS_REPLY,
    IP_CT_NEW,
    IP_CT_RELATED,
    IP_CT_RELATED_REPLY,
    IPS_CONFIRMED,
    IPS_DST_NAT,
    IPS_DST_NAT_DONE,
    IPS_DYING,
    IPS_FIXED_TIMEOUT,
    IPS_SRC_NAT,
    IPS_SRC_NAT_DONE,
    NF_CT_DEFAULT_ZONE_DIR,
    Conn,
    Tuple,
)
from pynetfilter.netfilter.conntrack.table import Zone
from pynetfilter.netfilter.conntrack.tcp_window import SYN_SENT, TIME_WAIT
from pynetfilter.netfilter.nat_tuple import (
    HARDER_THRESH,
    ICMP_INVERT,
    MANIP_DST,
    MANIP_SRC,
    PORT_PROTOS,
    NatRange,
    get_unique_tuple,
    invert,
)
from pynetfilter.netfilter.par import Event
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP
from pynetfilter.packet.model import IP_OFFSET, IPPROTO_ICMP, IPPROTO_TCP, Icmp, Packet, Tcp, Udp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.netfilter.pipeline import Engine, HookState

IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT
IPS_NAT_DONE_MASK = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE
# nf_nat_may_kill: an entry with one of these is never evicted; one needs all of these to be.
MAY_KILL_REFUSE = IPS_FIXED_TIMEOUT | IPS_DYING
MAY_KILL_NEEDED = IPS_SRC_NAT
ICMP_REDIRECT = 5
_POSTROUTING, _INPUT = Hook.POSTROUTING, Hook.INPUT

__all__ = ["MANIP_DST", "MANIP_SRC", "Nat", "NatRange", "hook2manip"]


def src_key(zone: int, proto: int, src: int, sport: int) -> int:
    """The bysource key of an original source: one integer (a tuple key would cost each entry
    72 bytes more)."""
    return (((zone << 16 | sport) << 32 | src) << 8) | proto


def hook2manip(hook: Hook) -> int:
    """HOOK2MANIP: the source side after routing (POSTROUTING, INPUT), else the destination."""
    return MANIP_SRC if hook in (Hook.POSTROUTING, Hook.INPUT) else MANIP_DST


def initialized(ct: Conn, manip: int) -> bool:
    """nf_nat_initialized: has this side of the connection got its binding?"""
    return bool(ct.status & (IPS_SRC_NAT_DONE if manip == MANIP_SRC else IPS_DST_NAT_DONE))


def _dir(ctinfo: int) -> int:
    return IP_CT_DIR_REPLY if ctinfo >= IP_CT_IS_REPLY else IP_CT_DIR_ORIGINAL


# null_binding's ranges by address.
_NULL_RANGES: dict[int, NatRange] = {}

# Dotted quads already written (NAT notes name the same few addresses over and over).
_ADDR_TEXT: dict[int, str] = {}


def _addr(a: int) -> str:
    text = _ADDR_TEXT.get(a)
    if text is None:
        if len(_ADDR_TEXT) >= 1 << 16:
            _ADDR_TEXT.clear()
        text = _ADDR_TEXT[a] = fmt_ipv4(a)
    return text


def _fmt(t: Tuple) -> str:
    if t.proto == IPPROTO_ICMP:
        return f"{_addr(t.src)}->{_addr(t.dst)} id {t.sport}"
    return f"{_addr(t.src)}:{t.sport}->{_addr(t.dst)}:{t.dport}"


def manip_pkt(pkt: Packet, target: Tuple, manip: int) -> None:
    """nf_nat_ipv4_manip_pkt: one side (source or destination) of *pkt* becomes *target*'s."""
    l4 = pkt.l4
    if l4 is None and target.proto in PORT_PROTOS and len(pkt.payload) >= 4 and not pkt.later_fragment:
        # An embedded datagram cut short inside its transport header: the ports are raw bytes.
        at = 0 if manip == MANIP_SRC else 2
        port = target.sport if manip == MANIP_SRC else target.dport
        pkt.payload = pkt.payload[:at] + port.to_bytes(2, "big") + pkt.payload[at + 2:]
    elif l4 is not None and not pkt.later_fragment:
        if target.proto in PORT_PROTOS and hasattr(l4, "sport"):
            if manip == MANIP_SRC:
                l4.sport = target.sport  # type: ignore[union-attr]
            else:
                l4.dport = target.dport  # type: ignore[union-attr]
        elif target.proto == IPPROTO_ICMP and isinstance(l4, Icmp) and l4.type in ICMP_INVERT:
            # Only queries carry an id; the "unused" word of an error is left alone.
            l4.rest = (target.sport << 16) | (l4.rest & 0xFFFF)
    if manip == MANIP_SRC:
        pkt.saddr = target.src
    else:
        pkt.daddr = target.dst


def _tcp_state(ct: Conn) -> int | None:
    proto = ct.proto
    try:
        info = proto.tcp  # (ProtoState's slot: proto.get("tcp") without the calls)
    except AttributeError:
        info = proto.get("tcp")
    return None if info is None else int(info.state)


def may_kill(ct: Conn) -> bool:
    """nf_nat_may_kill: a SNATed TCP connection in TIME_WAIT or later, not fixed or dying."""
    state = _tcp_state(ct)
    if state is None or state < TIME_WAIT:
        return False
    return not ct.status & MAY_KILL_REFUSE and ct.status & MAY_KILL_NEEDED == MAY_KILL_NEEDED


def seq_has_advanced(old: Conn, new: Conn) -> bool:
    """nf_seq_has_advanced: the new originator's sequence end is after the old one's (mod 2**32)."""
    diff = (new.proto["tcp"].seen[0].td_end - old.proto["tcp"].seen[0].td_end) & 0xFFFFFFFF
    return 0 < diff < 0x80000000


class Nat:
    """The NAT engine of one network namespace: bindings live on conntrack entries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # nf_nat_bysource: original source (zone, proto, addr, port, packed by src_key) -> the
        # connection, or its connections newest first: one per SNATed entry, so no list (nor key
        # tuple) unless a source has several.
        self.bysource: dict[int, Conn | list[Conn]] = {}

    # --- the hook function (nf_nat_ipv4_fn / nf_nat_inet_fn) -------------------------------

    def hook(self, pkt: Packet, st: HookState) -> int:
        meta = pkt.meta
        ct = meta.ct
        if ct is None or meta.untracked or ct.is_template:
            return NF_ACCEPT
        ctinfo = meta.ctinfo
        hook = st.hook
        manip = MANIP_SRC if hook in (_POSTROUTING, _INPUT) else MANIP_DST  # hook2manip
        if ctinfo in (IP_CT_RELATED, IP_CT_RELATED_REPLY):
            if pkt.proto == IPPROTO_ICMP:
                return NF_ACCEPT if self.icmp_reply_translation(pkt, ct, ctinfo, hook) else NF_DROP
            new = True
        else:
            new = ctinfo == IP_CT_NEW
        if new and not ct.status & (IPS_SRC_NAT_DONE if manip == MANIP_SRC else IPS_DST_NAT_DONE):
            # The nat table is consulted for a connection's first packet only.
            v = self.engine.run_table("nat", pkt, st)
            if v != NF_ACCEPT:
                return v
            if not initialized(ct, manip):
                self.null_binding(ct, hook, st.now)
        elif hook == _POSTROUTING and ctinfo < IP_CT_IS_REPLY:
            # _oif_changed(st, ct, ctinfo), written out
            proto = ct.proto
            try:
                masq = proto.nat_masq_oif
            except AttributeError:
                masq = proto.get("nat_masq_oif")
            if masq is not None and masq != st.out_dev:
                return self._kill(ct, st)
        return self.nat_packet(pkt, ct, ctinfo, manip)

    def _oif_changed(self, st: HookState, ct: Conn, ctinfo: int) -> bool:
        """nf_nat_oif_changed: a masqueraded connection whose route now leaves elsewhere."""
        masq = ct.proto.get("nat_masq_oif")
        return (masq is not None and st.hook == Hook.POSTROUTING and _dir(ctinfo) == IP_CT_DIR_ORIGINAL
                and masq != st.out_dev)

    def _kill(self, ct: Conn, st: HookState) -> int:
        self._table().remove(ct)  # nf_ct_kill_acct
        self.forget(ct)
        st.events.append(Event("note", f"nat: masqueraded {_fmt(ct.orig)} now leaves by {st.out_dev}:"
                                       " connection killed"))
        return NF_DROP

    # --- bindings (nf_nat_setup_info) ----------------------------------------------------------

    def setup_info(self, ct: Conn, rng: NatRange, manip: int, *, now: float, rand: Any = None,
                   choices: Any = None, par: Par | None = None) -> int:
        status = ct.status
        if status & IPS_CONFIRMED:
            return NF_ACCEPT
        if status & (IPS_SRC_NAT_DONE if manip == MANIP_SRC else IPS_DST_NAT_DONE):
            return NF_DROP  # the kernel WARNs: a binding is set up once
        curr = invert(ct.reply)
        zone = ct.zone
        # Only a new TCP connection's port search may take over a closing connection's port
        # (nf_nat_used_tuple_harder); for anything else its check is nf_nat_used_tuple's.
        taken = self.engine.conntrack.tuple_taken

        def used(t: Tuple) -> bool:  # (_used_fn's)
            return bool(taken(invert(t), ct, now))

        harder = None
        if curr.proto == IPPROTO_TCP and _tcp_state(ct) == SYN_SENT:
            def harder(t: Tuple, left: int) -> bool:
                if left > HARDER_THRESH:
                    return bool(taken(invert(t), ct, now))  # used(t)
                return self.used_tuple_harder(t, ct, now, left, par)
        new = get_unique_tuple(
            curr, rng, ct, manip,
            used=used,
            bysource=lambda t: self._bysource(t, zone, now),
            rand=rand if rand is not None else self.engine.rng,
            choices=choices if choices is not None else self.engine.choices,
            harder=harder,
        )
        if new != curr:
            ct.reply = invert(new)  # nf_conntrack_alter_reply: replies are recognised by it
            ct.status |= IPS_SRC_NAT if manip == MANIP_SRC else IPS_DST_NAT
            if par is not None:
                what = "SNAT" if manip == MANIP_SRC else "DNAT"
                par.log(f"nat: {what} {_fmt(curr)} to {_fmt(new)}", kind="note")
        if manip == MANIP_SRC:
            key = src_key(zone, ct.orig.proto, ct.orig.src, ct.orig.sport)
            old = self.bysource.get(key)
            if old is None:
                self.bysource[key] = ct
            elif type(old) is list:
                old.insert(0, ct)
            else:
                self.bysource[key] = [ct, old]
            ct.status |= IPS_SRC_NAT_DONE
        else:
            ct.status |= IPS_DST_NAT_DONE
        return NF_ACCEPT

    def null_binding(self, ct: Conn, hook: Hook, now: float) -> int:
        """nf_nat_alloc_null_binding: this side stays as it is (the reply tuple's address)."""
        manip = hook2manip(hook)
        ip = ct.reply.dst if manip == MANIP_SRC else ct.reply.src
        rng = _NULL_RANGES.get(ip)
        if rng is None:  # (immutable: one per address, not one per connection)
            if len(_NULL_RANGES) >= 1 << 16:
                _NULL_RANGES.clear()
            rng = _NULL_RANGES[ip] = NatRange(MAP_IPS, ip, ip)
        return self.setup_info(ct, rng, manip, now=now)

    def from_target(self, pkt: Packet, par: Par, rng: NatRange, manip: int) -> int:
        """What a NAT target does with its range: set up this side of the packet's connection."""
        ct = pkt.meta.ct
        if ct is None or pkt.meta.untracked:
            return NF_ACCEPT
        return self.setup_info(ct, rng, manip, now=par.now, rand=par.rng, choices=par.choices, par=par)

    # --- tuple bookkeeping -----------------------------------------------------------------

    def used_tuple(self, t: Tuple, ct: Conn, now: float) -> bool:
        """nf_nat_used_tuple: would *t*'s reply clash with another confirmed connection?
        (nf_conntrack_tuple_taken: one index probe when the tuple is free.)"""
        return bool(self.engine.conntrack.tuple_taken(invert(t), ct, now))

    def _used_fn(self, ct: Conn, now: float) -> Callable[[Tuple], bool]:
        """used_tuple for *ct*'s port search, bound once: the search asks up to 248 times."""
        taken = self.engine.conntrack.tuple_taken

        def used(t: Tuple) -> bool:
            return bool(taken(invert(t), ct, now))
        return used

    def used_tuple_harder(self, t: Tuple, ct: Conn, now: float, attempts_left: int,
                          par: Par | None = None) -> bool:
        """nf_nat_used_tuple_harder (Linux >= 6.4): the port search's last tries for a new TCP
        connection evict a closing SNATed connection whose reply tuple is in the way, provided the
        new sequence number is past the old one (so the server's late segments for the old
        connection are out of window for the new one).  Evicting makes the tuple free."""
        if attempts_left > HARDER_THRESH or t.proto != IPPROTO_TCP or _tcp_state(ct) != SYN_SENT:
            return self.used_tuple(t, ct, now)
        reply = invert(t)
        table = self._table()
        if ct.zone_dir == NF_CT_DEFAULT_ZONE_DIR:
            hit = table.node(reply, ct.zone)  # nf_conntrack_find_get: one bucket probe
            if hit is not None and hit[0].timeout <= now:
                table.remove(hit[0])
                hit = None
        else:
            hit = table.find(reply, Zone(ct.zone, ct.zone_dir), now)
        if hit is None:
            return False
        other, direction = hit
        if direction != IP_CT_DIR_REPLY or other is ct or not may_kill(other) \
                or not seq_has_advanced(other, ct):
            # nf_conntrack_find_get found it, not nf_conntrack_tuple_taken: no "found" counted
            return not (other is ct or (other.orig == ct.orig and other.zone == ct.zone))
        self.engine.conntrack.kill(other)
        if par is not None:
            par.log(f"nat: {_fmt(t)} taken over from closing connection {_fmt(other.orig)}", kind="note")
        return False

    def _table(self) -> Any:
        return self.engine.conntrack.table

    def _bysource(self, t: Tuple, zone: int, now: float) -> list[Tuple]:
        """find_appropriate_src's candidates: the translated sources other live connections got."""
        key = src_key(zone, t.proto, t.src, t.sport)
        conns = self.bysource.get(key)
        if conns is None:
            return []
        alive = [c for c in (conns if type(conns) is list else (conns,)) if c.timeout > now and c.confirmed]
        self._keep(key, alive)
        return [invert(c.reply) for c in alive]

    def _keep(self, key: int, conns: list[Conn]) -> None:
        if not conns:
            del self.bysource[key]
        else:
            self.bysource[key] = conns if len(conns) > 1 else conns[0]

    def forget(self, ct: Conn) -> None:
        """nf_nat_cleanup_conntrack: a destroyed connection leaves the bysource table (an empty
        source's key too: the table stays as large as the live SNATed connections)."""
        key = src_key(ct.zone, ct.orig.proto, ct.orig.src, ct.orig.sport)
        conns = self.bysource.get(key)
        if conns is ct:
            del self.bysource[key]
        elif type(conns) is list and ct in conns:  # identity: entries compare by identity
            conns.remove(ct)
            self._keep(key, conns)

    # --- per-packet manips (nf_nat_packet, nf_nat_icmp_reply_translation) ----------------

    def nat_packet(self, pkt: Packet, ct: Conn, ctinfo: int, manip: int) -> int:
        statusbit = IPS_SRC_NAT if manip == MANIP_SRC else IPS_DST_NAT
        if ctinfo >= IP_CT_IS_REPLY:
            statusbit ^= IPS_NAT_MASK
            other = ct.orig
        else:
            other = ct.reply
        if not ct.status & statusbit:
            return NF_ACCEPT
        # Look like the inverse of the other direction.
        l4 = pkt.l4
        cls = l4.__class__
        if (cls is Tcp or cls is Udp) and other.proto in PORT_PROTOS:
            # manip_pkt(pkt, invert(other), manip) for a port header, without the inverted tuple
            if manip == MANIP_SRC:
                if not pkt.frag_off & IP_OFFSET:
                    l4.sport = other.dport
                pkt.saddr = other.dst
            else:
                if not pkt.frag_off & IP_OFFSET:
                    l4.dport = other.sport
                pkt.daddr = other.src
        else:
            manip_pkt(pkt, invert(other), manip)
        return NF_ACCEPT

    def icmp_reply_translation(self, pkt: Packet, ct: Conn, ctinfo: int, hook: Hook) -> bool:
        icmp = pkt.l4
        if not isinstance(icmp, Icmp):
            return False  # truncated ICMP header: the kernel's writable check fails
        # A redirect about a translated connection would let the peers bypass us.
        if icmp.type == ICMP_REDIRECT and (ct.status & IPS_NAT_DONE_MASK != IPS_NAT_DONE_MASK
                                           or ct.status & IPS_NAT_MASK):
            return False
        manip = hook2manip(hook)
        direction = _dir(ctinfo)
        statusbit = IPS_SRC_NAT if manip == MANIP_SRC else IPS_DST_NAT
        if direction == IP_CT_DIR_REPLY:
            statusbit ^= IPS_NAT_MASK
        if not ct.status & statusbit:
            return True
        other = ct.tuple_of(1 - direction)
        inner = icmp.inner
        if inner is None:
            return False
        manip_pkt(inner, other, MANIP_DST if manip == MANIP_SRC else MANIP_SRC)
        target = invert(other)
        manip_pkt(pkt, Tuple(target.src, target.dst, IPPROTO_ICMP, target.sport, target.dport), manip)
        return True
