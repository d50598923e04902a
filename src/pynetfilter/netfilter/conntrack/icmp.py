"""ICMP and generic connection tracking (nf_conntrack_proto_icmp.c, nf_conntrack_proto_generic.c).

Theory of operation.  Queries (echo, timestamp, info, address mask) are tracked as
connections keyed by (type, code, id): the reply tuple has the answering type, so an echo
reply finds the echo request's entry.  A query's answer never starts an entry (INVALID).
Errors (unreachable, source quench, redirect, time exceeded, parameter problem) are not
connections: the datagram they embed is looked up (its tuple inverted, as the error travels
the other way) and, if it belongs to a connection whose address in that direction is the
error's destination, the error is RELATED to it; otherwise INVALID.  GRE is tracked by
addresses (and, for version 1, the call id as destination key): 30 s, 180 s and ASSURED once
answered.  Every other protocol is tracked by addresses alone (the generic tracker, 600 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_REPLY,
    IP_CT_IS_REPLY,
    IP_CT_RELATED,
    IPS_ASSURED,
    IPS_SEEN_REPLY,
    IPS_UNTRACKED,
    Conn,
    Tuple,
)
from pynetfilter.netfilter.conntrack.entry import _new_tuple as _new
from pynetfilter.packet.model import IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Icmp, Packet

if TYPE_CHECKING:
    from pynetfilter.netfilter.conntrack import Conntrack
    from pynetfilter.netfilter.conntrack.table import Zone

TIMEOUT = 30  # nf_conntrack_icmp_timeout
GENERIC_TIMEOUT = 600  # nf_conntrack_generic_timeout
GRE_UNREPLIED, GRE_REPLIED = 30, 180  # nf_conntrack_gre_timeout, nf_conntrack_gre_timeout_stream
IPPROTO_GRE = 47
NR_ICMP_TYPES = 18
ERRORS = frozenset({3, 4, 5, 11, 12})  # icmp_is_err
# invmap: a query type and the type that answers it (echo 8/0, timestamp 13/14, info 15/16, mask 17/18)
INVERSE = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17}
VALID_NEW = frozenset({8, 13, 15, 17})
ACCEPT, INVALID = 1, -1
IPS_NAT_CLASH = IPS_UNTRACKED  # the kernel reuses the bit
# Protocols whose tuple carries ports (nf_conntrack_proto_{tcp,udp,udplite,sctp,dccp}.c).
PORT_PROTOS = frozenset({IPPROTO_TCP, IPPROTO_UDP, 136, 132, 33})


def pkt_tuple(pkt: Packet) -> Tuple | None:
    """nf_ct_get_tuple: the tuple of a packet's own headers, None where they are too short."""
    proto = pkt.proto
    l4 = pkt.l4
    if proto == IPPROTO_ICMP:
        if isinstance(l4, Icmp):
            return Tuple(pkt.saddr, pkt.daddr, proto, l4.rest >> 16, l4.type << 8 | l4.code)
        return None
    if proto in PORT_PROTOS:
        if l4 is not None and not isinstance(l4, Icmp):
            return Tuple(pkt.saddr, pkt.daddr, proto, l4.sport, l4.dport)
        # An embedded datagram may carry only the first bytes of its transport header.
        if len(pkt.payload) >= 4:
            p = pkt.payload
            return Tuple(pkt.saddr, pkt.daddr, proto, p[0] << 8 | p[1], p[2] << 8 | p[3])
        return None
    if proto == IPPROTO_GRE:
        p = pkt.payload
        # gre_pkt_to_tuple: only version 1 (PPTP) carrying PPP has a key, the call id; the source
        # key would come from the PPTP helper's keymap, which is not modelled (0).
        if len(p) >= 8 and p[1] & 7 == 1 and p[2:4] == b"\x88\x0b":
            return Tuple(pkt.saddr, pkt.daddr, proto, 0, p[6] << 8 | p[7])
    return Tuple(pkt.saddr, pkt.daddr, proto)


def invert(t: Tuple) -> Tuple | None:
    """nf_ct_invert_tuple: ICMP queries invert to their answer type; other ICMP cannot be inverted."""
    if t.proto == IPPROTO_ICMP:
        answer = INVERSE.get(t.dport >> 8)
        if answer is None:
            return None
        return _new(Tuple, (t.dst, t.src, t.proto, t.sport, answer << 8 | (t.dport & 0xFF)))
    return _new(Tuple, (t.dst, t.src, t.proto, t.dport, t.sport))


def error(ct: Conntrack, pkt: Packet, zone: Zone, now: float) -> tuple[int, Conn | None, int, str]:
    """nf_conntrack_icmpv4_error: (ACCEPT, conn, ctinfo, "") for a RELATED error, (ACCEPT, None, 0, "")
    for a query (tracked normally), (INVALID, None, 0, why) otherwise."""
    ih = pkt.l4
    if not isinstance(ih, Icmp):
        return INVALID, None, 0, "short packet"
    if ih.type > NR_ICMP_TYPES:
        return INVALID, None, 0, "invalid icmp type"
    if ih.type not in ERRORS:
        return ACCEPT, None, 0, ""
    inner = ih.inner
    if inner is None or inner.ihl < 5 or inner.later_fragment:
        return INVALID, None, 0, "failed to get tuple"
    orig = pkt_tuple(inner)
    inverted = invert(orig) if orig is not None else None
    if inverted is None:
        return INVALID, None, 0, "failed to get tuple"
    found = ct.table.find(inverted, zone, now)
    if found is None:
        return INVALID, None, 0, "no connection for the embedded packet"
    conn, direction = found
    if conn.tuple_of(direction).dst != pkt.daddr:
        return INVALID, None, 0, "outer daddr != inner"
    ctinfo = IP_CT_RELATED + (IP_CT_IS_REPLY if direction == IP_CT_DIR_REPLY else 0)
    return ACCEPT, conn, ctinfo, ""


def packet(ct: Conntrack, conn: Conn, pkt: Packet, ctinfo: int, now: float) -> tuple[int, str]:
    """nf_conntrack_icmp_packet: only a query can make an entry; any packet renews it."""
    if (conn.orig.dport >> 8) not in VALID_NEW:
        return INVALID, "invalid icmp type"
    ct.refresh(conn, ctinfo, pkt, TIMEOUT, now)
    return ACCEPT, ""


def gre_packet(ct: Conntrack, conn: Conn, pkt: Packet, ctinfo: int, now: float) -> tuple[int, str]:
    """nf_conntrack_gre_packet: unreplied 30 s; once answered 180 s and ASSURED."""
    if conn.status & IPS_SEEN_REPLY:
        ct.refresh(conn, ctinfo, pkt, GRE_REPLIED, now)
        if not conn.status & IPS_NAT_CLASH:
            conn.status |= IPS_ASSURED
    else:
        ct.refresh(conn, ctinfo, pkt, GRE_UNREPLIED, now)
    return ACCEPT, ""


def generic_packet(ct: Conntrack, conn: Conn, pkt: Packet, ctinfo: int, now: float) -> tuple[int, str]:
    """nf_conntrack_generic_packet."""
    ct.refresh(conn, ctinfo, pkt, GENERIC_TIMEOUT, now)
    return ACCEPT, ""
