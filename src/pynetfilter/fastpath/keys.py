"""What the classifier may index a rule by, and the matching fields of a packet.

A rule may be skipped for a packet only where the interpreter, trying it, would find it not
matching *and* would have caused nothing: its IP part (``ip_packet_match``) is pure, and so
are the leading matches this module passes over (``-m comment``) and the first port match it
keys on (``-m tcp``/``-m udp`` ``--dport`` of one port).  A rule's matches after that one are
never used: a stateful match (statistic, limit, recent, quota...) must run exactly when the
interpreter would run it, so the classifier never looks past it.

Fields used: the destination and source address under a prefix quantized down to one of
:data:`PREFIXES` (a /27 source is indexed by its /24), the protocol, the destination port.
None of them changes during a table traversal (NAT mangles the packet after it, in the nat
hook), so a packet's candidate rules are computed once per chain entered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.ext.comment import Comment
from pynetfilter.ext.tcp import INV_DSTPT as TCP_INV_DSTPT
from pynetfilter.ext.tcp import Tcp
from pynetfilter.ext.udp import INV_DSTPT as UDP_INV_DSTPT
from pynetfilter.ext.udp import Udp
from pynetfilter.packet.model import IP_OFFSET
from pynetfilter.packet.model import Tcp as TcpHeader
from pynetfilter.packet.model import Udp as UdpHeader

if TYPE_CHECKING:
    from pynetfilter.model.rule import Rule
    from pynetfilter.packet.model import Packet

# Prefix lengths a subtable may key on: few enough that a packet probes few subtables,
# fine enough that a bucket holds few rules (the TupleMerge idea: a rule goes to the
# longest listed length not longer than its own prefix).
PREFIXES = (32, 24, 16, 8, 0)
_MASKS = {n: (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF for n in PREFIXES}
TCP, UDP = 6, 17

# A subtable's shape: (destination prefix, source prefix, keyed on protocol, keyed on port).
Shape = tuple[int, int, bool, bool]
# A rule's key in its subtable: the masked addresses, then the protocol and the port if keyed.
Key = tuple[int, ...]


def quantize(mask: int) -> int:
    """The longest of PREFIXES whose mask the rule's (possibly non-contiguous) mask covers."""
    for n in PREFIXES:
        m = _MASKS[n]
        if mask & m == m:
            return n
    return 0


def port_match(rule: Rule) -> int | None:
    """The one destination port the rule's first port match demands, if only pure matches
    come before it; None where the rule cannot be indexed by port."""
    proto = rule.ip.proto
    if rule.ip.inv_proto or proto not in (TCP, UDP):
        return None
    for m in rule.matches:
        kind = type(m)
        if kind is Comment:
            continue
        if kind is Tcp and proto == TCP:
            inv = m.invflags & TCP_INV_DSTPT  # type: ignore[attr-defined]
        elif kind is Udp and proto == UDP:
            inv = m.invflags & UDP_INV_DSTPT  # type: ignore[attr-defined]
        else:
            return None
        lo, hi = m.dpts  # type: ignore[attr-defined]
        return lo if lo == hi and not inv else None
    return None


def rule_key(rule: Rule) -> tuple[Shape, Key]:
    """The subtable shape and key a rule is filed under."""
    ip = rule.ip
    dlen = 0 if ip.inv_dst else quantize(ip.dmsk)
    slen = 0 if ip.inv_src else quantize(ip.smsk)
    d = ip.dst & _MASKS[dlen]
    s = ip.src & _MASKS[slen]
    port = port_match(rule)
    if port is not None:
        return (dlen, slen, True, True), (d, s, ip.proto, port)
    if ip.proto and not ip.inv_proto:
        return (dlen, slen, True, False), (d, s, ip.proto)
    return (dlen, slen, False, False), (d, s)


def shape_masks(shape: Shape) -> tuple[int, int]:
    return _MASKS[shape[0]], _MASKS[shape[1]]


def packet_dport(pkt: Packet) -> int | None:
    """The destination port the tcp/udp matches would read, or None where they would not
    read one cleanly (a later fragment, a header cut short: they may drop the packet, so
    every rule is tried as the interpreter tries it); None too for other protocols."""
    p = pkt.proto
    if p == TCP:
        l4 = pkt.l4
        if type(l4) is TcpHeader and not pkt.frag_off & IP_OFFSET and not pkt.l4_partial:
            return l4.dport
    elif p == UDP:
        l4 = pkt.l4
        if type(l4) is UdpHeader and not pkt.frag_off & IP_OFFSET and not pkt.l4_partial:
            return l4.dport
    return None
