"""Packets as netfilter sees them: an IPv4 header, a transport header, payload, and skb metadata.

Theory of operation.  A :class:`Packet` is mutable, like an skb: NAT and
mangle targets change its fields in place, and :meth:`to_bytes` (in
pynetfilter.packet.wire) writes it back with lengths and checksums fixed.
Header fields are plain ints (addresses as 32-bit ints, host order) so
matching is attribute access and integer compares.  ``l4`` is the parsed
transport header of a first fragment, or None (later fragments, unknown or
truncated protocols); ``payload`` is what follows it (or the whole IP payload
when ``l4`` is None).  Metadata (:class:`Meta`) is what the kernel keeps in
the skb beside the data: marks, interfaces, the conntrack entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP = 1, 6, 17, 132
IP_MF, IP_DF = 0x2000, 0x4000
IP_OFFSET = 0x1FFF

# TCP flag bits
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


@dataclass(slots=True)
class Tcp:
    sport: int
    dport: int
    seq: int = 0
    ack_seq: int = 0
    doff: int = 5  # header length in 32-bit words
    flags: int = 0  # FIN..CWR bits
    window: int = 0
    check: int = 0
    urg_ptr: int = 0
    options: bytes = b""


@dataclass(slots=True)
class Udp:
    sport: int
    dport: int
    length: int = 8
    check: int = 0


@dataclass(slots=True)
class Icmp:
    type: int
    code: int
    check: int = 0
    rest: int = 0  # the 4 bytes after the checksum (id << 16 | seq for echo, gateway, mtu ...)
    # For errors (dest-unreachable, time-exceeded, parameter-problem, redirect, source-quench):
    # the embedded original datagram, parsed as far as it goes (None if unparsable).
    inner: Packet | None = None

    @property
    def id(self) -> int:
        return self.rest >> 16

    @property
    def seq(self) -> int:
        return self.rest & 0xFFFF


@dataclass(slots=True)
class Sctp:
    sport: int
    dport: int
    vtag: int = 0
    check: int = 0
    chunks: list[tuple[int, int, bytes]] = field(default_factory=list)  # (type, flags, value)


L4 = Tcp | Udp | Icmp | Sctp


@dataclass(slots=True)
class Meta:
    """skb metadata: what travels with a packet but is not in it."""

    iif: str | None = None  # input interface (None for locally generated packets)
    oif: str | None = None  # output interface, once routed
    mark: int = 0  # skb->mark (nfmark)
    priority: int = 0  # skb->priority (CLASSIFY)
    secmark: int = 0
    ct: Any = None  # the conntrack entry (pynetfilter.netfilter.conntrack.Conn) or None
    ctinfo: int = 0  # IP_CT_* (direction and state), see netfilter.conntrack
    untracked: bool = False  # NOTRACK / CT --notrack
    pkt_type: str = "host"  # host, broadcast, multicast, otherhost (from the link layer)
    # Socket facts the owner/socket matches use; a packet's source says what they are.
    uid: int | None = None
    gid: int | None = None
    socket: bool = False  # a local socket exists for it (socket match)
    groups: tuple[int, ...] = ()  # the socket owner's supplementary groups (owner --suppl-groups)
    socket_wildcard: bool = False  # the socket listens on 0.0.0.0 (socket: counts only with --nowildcard)
    socket_transparent: bool = False  # the socket has IP_TRANSPARENT (socket --transparent)
    socket_mark: int = 0  # the socket's mark, sk->sk_mark (socket --restore-skmark copies it to meta.mark)
    cpu: int = 0
    physdev_in: str | None = None
    physdev_out: str | None = None
    src_mac: bytes | None = None  # Ethernet source, for -m mac
    nfqueue: int | None = None
    trace: bool = False  # TRACE target was hit
    # The device the sending socket is bound to (SO_BINDTODEVICE): output routing may only use it.
    bound_dev: str | None = None
    # The link-layer header as received (Ethernet: dst, src, type), for LOG's MAC= field.
    mac_header: bytes | None = None
    # The L4 checksum is the pseudo-header sum the device is to finish (skb CHECKSUM_PARTIAL: locally
    # generated, or from a veth peer); the CHECKSUM target and REJECT's RST depend on it.
    csum_partial: bool = False
    # The conntrack template a raw-table CT target attached (the ext.CT.Ct instance: zone, helper, ...).
    ct_template: Any = None
    # The IP options as the input path compiled them (IPCB(skb)->opt: netfilter.ipopts.IpOptions).
    ip_opt: Any = None


@dataclass(slots=True)
class Packet:
    """An IPv4 datagram and its skb metadata."""

    saddr: int
    daddr: int
    proto: int
    l4: L4 | None = None
    payload: bytes = b""
    tos: int = 0
    id: int = 0
    frag_off: int = 0  # flags (DF, MF) and fragment offset in 8-byte units, as on the wire
    ttl: int = 64
    ihl: int = 5
    ip_options: bytes = b""
    check: int = 0
    tot_len: int = 0  # as parsed from the wire; wire.to_bytes recomputes it
    meta: Meta = field(default_factory=Meta)
    # What the transport checksum covers but the object does not hold (the rest of a fragmented
    # or ICMP-embedded datagram), or the error in a wrong checksum, as a ones'-complement sum;
    # wire.to_bytes adds it back, which is what the kernel's incremental checksum updates do.
    csum_residual: int = 0
    # The same for the IP header checksum: the error the kernel left in it (options the input path
    # filled in without ip_send_check, or a quoted header that was wrong); to_bytes adds it back.
    ip_residual: int = 0
    # An ICMP-embedded datagram cut inside its transport header: l4 holds the fields present
    # (ports at least), payload the raw header bytes; to_bytes writes the fields back over them.
    l4_partial: bool = False

    @property
    def fragment_offset(self) -> int:
        return (self.frag_off & IP_OFFSET) * 8

    @property
    def is_fragment(self) -> bool:
        return bool(self.frag_off & (IP_MF | IP_OFFSET))

    @property
    def later_fragment(self) -> bool:
        """Not the first fragment: iptables' -f matches these; ports are unknown."""
        return bool(self.frag_off & IP_OFFSET)
