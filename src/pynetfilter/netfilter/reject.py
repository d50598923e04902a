"""The packets REJECT sends: nf_send_reset's TCP RST and icmp_send's destination-unreachable.

Theory of operation.  Both builders return the reply as a new :class:`Packet`
(or None where the kernel sends nothing); ``ext/REJECT.py`` hands it to
``par.emit`` and the engine runs it through OUTPUT and POSTROUTING.

* RST (nf_reject_ipv4.c): addresses and ports swapped, TOS 0, ID 0, DF, TTL
  from the route (ip_default_ttl, 64).  If the offending segment had ACK, the
  RST's seq is its ack_seq and the RST has no ACK; otherwise seq 0, ACK set and
  ack_seq = seq + SYN + FIN + payload length.  Window 0.  The kernel leaves the
  checksum to the device (CHECKSUM_PARTIAL), so on a veth the wire carries the
  pseudo-header sum; ``meta.csum_partial`` says so.  Never for an RST, a later
  fragment, a bad checksum, or a packet routed as broadcast/multicast.
* ICMP (icmp.c __icmp_send): type 3 with the REJECT code, TOS
  ``(tos & 0x1E) | 0xC0`` (IPTOS_PREC_INTERNETCONTROL), TTL 64, no DF, the IP ID
  from the kernel's per-destination generator (random: a replay takes it from
  the capture through ``par.choices``).  The payload quotes the offending
  datagram as it is now (after the TTL decrement of forwarding) up to 576
  bytes in all.  Source: the original destination when it was local, else the
  address the route back to the sender prefers.  Never for later fragments,
  ICMP errors (and unknown ICMP types), non-host link-layer types,
  broadcast/multicast destinations; and rate-limited per destination
  (inet_peer_xrlim_allow: one per icmp_ratelimit = 1 s, a burst of 6).
"""

from __future__ import annotations

import struct
import weakref
from typing import TYPE_CHECKING, Any

from pynetfilter.model.tables import Hook
from pynetfilter.packet.model import (
    ACK,
    FIN,
    IP_DF,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    RST,
    SYN,
    Icmp,
    Meta,
    Packet,
    Tcp,
    Udp,
)

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par

DEFAULT_TTL = 64  # net.ipv4.ip_default_ttl
ICMP_DEST_UNREACH = 3
ICMP_ERROR_TYPES = frozenset({3, 4, 5, 11, 12})  # icmp_pointers[type].error
NR_ICMP_TYPES = 18
ICMP_QUOTE_MAX = 576  # the whole ICMP error datagram fits in the minimum MTU
IPTOS_TOS_MASK, IPTOS_PREC_INTERNETCONTROL = 0x1E, 0xC0
RATELIMIT = 1.0  # net.ipv4.icmp_ratelimit (ms -> s)
BURST = 6  # XRLIM_BURST_FACTOR

# Per engine: destination address -> (tokens in seconds, last time): the kernel's inet_peer rate state.
_peers: weakref.WeakKeyDictionary[Any, dict[int, tuple[float, float]]] = weakref.WeakKeyDictionary()


def fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return fold(sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)))


def pseudo_sum(saddr: int, daddr: int, proto: int, length: int) -> int:
    return fold((saddr >> 16) + (saddr & 0xFFFF) + (daddr >> 16) + (daddr & 0xFFFF) + proto + length)


def l4_length(pkt: Packet) -> int:
    """Bytes after the IP header (skb->len - ip_hdrlen)."""
    from pynetfilter.packet.wire import length

    return length(pkt) - pkt.ihl * 4


def packet_route(pkt: Packet, par: Par) -> Any:
    """skb_rtable(skb): the route the packet took (input route when it came in, else output)."""
    host = getattr(par.engine, "host", None)
    if host is None:
        return None
    if par.in_dev is not None and par.in_dev in host.interfaces:
        return host.route_input_addr(pkt.daddr, pkt.saddr, par.in_dev, pkt.tos)
    return host.route_output_addr(pkt.daddr, 0, None, pkt.tos)


def routed_broadcast(pkt: Packet, par: Par) -> bool:
    """RTCF_BROADCAST | RTCF_MULTICAST of the packet's route."""
    if pkt.daddr == 0xFFFFFFFF or pkt.daddr >> 28 == 0xE:
        return True
    route = packet_route(pkt, par)
    return getattr(route, "type", "") in ("broadcast", "multicast")


def tcp_reset(pkt: Packet, par: Par) -> Packet | None:
    """nf_send_reset: the RST answering *pkt*, or None where the kernel sends none."""
    oth = pkt.l4
    if pkt.later_fragment or pkt.proto != IPPROTO_TCP or not isinstance(oth, Tcp):
        return None
    if oth.flags & RST or not checksum_ok(pkt, par) or routed_broadcast(pkt, par):
        return None
    if oth.flags & ACK:
        seq, ack_seq, flags = oth.ack_seq, 0, RST
    else:
        payload = l4_length(pkt) - oth.doff * 4
        ack_seq = (oth.seq + bool(oth.flags & SYN) + bool(oth.flags & FIN) + payload) & 0xFFFFFFFF
        seq, flags = 0, RST | ACK
    # tcp_v4_check's partial sum: what CHECKSUM_PARTIAL leaves in the header for the device.
    partial = pseudo_sum(pkt.daddr, pkt.saddr, IPPROTO_TCP, 20)
    reply = Packet(pkt.daddr, pkt.saddr, IPPROTO_TCP,
                   Tcp(oth.dport, oth.sport, seq, ack_seq, 5, flags, 0, partial, 0),
                   tos=0, id=0, frag_off=IP_DF, ttl=DEFAULT_TTL)
    reply.meta = reply_meta(pkt)
    reply.meta.csum_partial = True
    return reply


def reply_meta(pkt: Packet) -> Meta:
    """nskb->mark = IP4_REPLY_MARK (fwmark_reflect off: 0); nf_ct_attach: the reply is RELATED."""
    from pynetfilter.netfilter.conntrack.entry import IP_CT_IS_REPLY, IP_CT_RELATED, IP_CT_RELATED_REPLY

    meta = Meta()
    ct = pkt.meta.ct
    if ct is not None and not pkt.meta.untracked:
        meta.ct = ct
        meta.ctinfo = IP_CT_RELATED_REPLY if pkt.meta.ctinfo < IP_CT_IS_REPLY else IP_CT_RELATED
    return meta


def checksum_ok(pkt: Packet, par: Par) -> bool:
    """nf_ip_checksum: packets received with a full checksum are verified; local ones are partial."""
    if par.hook == Hook.OUTPUT or pkt.meta.csum_partial or pkt.is_fragment:
        return True
    from pynetfilter.netfilter.ipopts import header_stale
    from pynetfilter.packet.wire import l4_checksum_ok

    # The sum starts at the IP header (skb->data), which adds nothing when its checksum is right;
    # options the input path filled in (Record Route, timestamps) left it wrong: no reply then.
    udp_unchecked = isinstance(pkt.l4, Udp) and pkt.l4.check == 0
    return l4_checksum_ok(pkt) and (udp_unchecked or not header_stale(pkt))


def icmp_unreach(pkt: Packet, code: int, par: Par) -> Packet | None:
    """nf_send_unreach + __icmp_send: the ICMP destination-unreachable for *pkt*, or None."""
    if pkt.later_fragment or pkt.meta.pkt_type != "host" or routed_broadcast(pkt, par):
        return None
    if pkt.proto == IPPROTO_ICMP:
        icmp = pkt.l4
        if not isinstance(icmp, Icmp) or icmp.type > NR_ICMP_TYPES or icmp.type in ICMP_ERROR_TYPES:
            return None  # no ICMP error about an ICMP error; an unknown type counts as one
    if pkt.proto in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP) and not checksum_ok(pkt, par):
        return None
    from pynetfilter.packet.wire import parse, to_bytes

    local = par.in_dev is not None and _is_local(pkt, par)
    saddr = pkt.daddr if local else _source_towards(pkt, par)
    # No rate limit on loopback: a locally generated packet's error goes back through lo.
    if par.in_dev is not None and not _rate_allow(par, pkt.saddr):
        par.log(f"REJECT: ICMP to {_dotted(pkt.saddr)} suppressed by icmp_ratelimit", kind="note")
        return None
    quote = to_bytes(pkt)[:ICMP_QUOTE_MAX - 20 - 8]
    header = bytes([ICMP_DEST_UNREACH, code, 0, 0, 0, 0, 0, 0])
    icmp = header[:2] + (~ones_sum(header + quote) & 0xFFFF).to_bytes(2, "big") + header[4:] + quote
    tos = (pkt.tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, tos, 20 + len(icmp), _ip_id(par, saddr, pkt.saddr), 0,
                               DEFAULT_TTL, IPPROTO_ICMP, 0, saddr, pkt.saddr))
    ip[10:12] = (~ones_sum(bytes(ip)) & 0xFFFF).to_bytes(2, "big")
    # Parsed back so the embedded datagram is a Packet, as NAT's ICMP error translation wants it.
    reply = parse(bytes(ip) + icmp)
    reply.meta = reply_meta(pkt)
    return reply


def _dotted(a: int) -> str:
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


def _is_local(pkt: Packet, par: Par) -> bool:
    """RTCF_LOCAL: the packet was routed for local delivery."""
    if par.hook == Hook.INPUT:
        return True
    route = packet_route(pkt, par)
    return getattr(route, "kind", "") == "local" and getattr(route, "type", "") == "local"


def _source_towards(pkt: Packet, par: Par) -> int:
    """The source address the output route to the original sender prefers (fl4.saddr = 0)."""
    host = getattr(par.engine, "host", None)
    if par.in_dev is None or host is None:
        return pkt.saddr  # a local packet: the route back is local, to the same address
    route = host.route_output_addr(pkt.saddr, 0, None, 0)
    return int(route.src) if getattr(route, "src", None) else pkt.daddr


def _ip_id(par: Par, saddr: int, daddr: int) -> int:
    """The kernel's ip_idents counter for (saddr, daddr, ICMP) is keyed by a secret: not predictable.
    A replay's ``choices`` answer with the id the capture shows, or None when the capture does not
    hold the packet (an error the capture missed): then it is drawn as without a capture."""
    pick = getattr(par.choices, "ip_id", None)
    got = pick(saddr, daddr, IPPROTO_ICMP) if pick is not None else None
    return int(got) & 0xFFFF if got is not None else par.rng.getrandbits(16)


def _rate_allow(par: Par, daddr: int) -> bool:
    """icmpv4_xrlim_allow: the per-destination limit of ICMP errors."""
    return peer_allow(par.engine, par.now, daddr, RATELIMIT, BURST * RATELIMIT)


def peer_allow(engine: Any, now: float, daddr: int, cost: float, burst: float) -> bool:
    """inet_peer_xrlim_allow: a token bucket per destination (inet_peer), starting full.  ip_error
    draws on the same bucket with its own cost and burst (ip_rt_error_cost, ip_rt_error_burst)."""
    try:
        peers = _peers.setdefault(engine, {})
    except TypeError:  # an engine that cannot be weakly referenced: no memory, no limit
        return True
    tokens, last = peers.get(daddr, (burst, now))
    tokens = min(tokens + (now - last), burst)
    allowed = tokens >= cost
    if allowed:
        tokens -= cost
    peers[daddr] = (tokens, now)
    return allowed
