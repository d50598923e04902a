"""UDP (and UDP-Lite) connection tracking (nf_conntrack_proto_udp.c).

Theory of operation.  UDP has no states: an entry is "unreplied" until a packet comes back
(30 s), and a stream once packets still flow more than two seconds after the entry was
created with a reply seen (120 s, and ASSURED from then on).  The first reply itself only
renews the short timeout: SEEN_REPLY is set after the protocol has looked at the packet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.netfilter.conntrack.entry import IPS_ASSURED, IPS_CONFIRMED, IPS_SEEN_REPLY, Conn
from pynetfilter.packet.model import Udp

if TYPE_CHECKING:
    from pynetfilter.netfilter.conntrack import Conntrack
    from pynetfilter.packet.model import Packet

UNREPLIED, REPLIED = 30, 120  # nf_conntrack_udp_timeout, nf_conntrack_udp_timeout_stream
STREAM_DELAY = 2.0  # a reply seen this long after creation makes a stream
IPS_NAT_CLASH = 1 << 12  # shares the UNTRACKED bit: only ever set on NAT clash entries
ACCEPT, INVALID = 1, -1


def error(pkt: Packet) -> str:
    """udp_error: a header that does not fit the datagram (checksums are not verified: see README)."""
    uh = pkt.l4
    if not isinstance(uh, Udp):
        return "short packet"
    udplen = 8 + len(pkt.payload)
    if uh.length > udplen or uh.length < 8:
        return "truncated/malformed packet"
    return ""


def packet(ct: Conntrack, conn: Conn, pkt: Packet, ctinfo: int, now: float) -> tuple[int, str]:
    """nf_conntrack_udp_packet."""
    why = error(pkt)
    if why:
        return INVALID, why
    status = conn.status
    if not status & IPS_CONFIRMED:
        conn.proto["stream_ts"] = now + STREAM_DELAY
    if status & IPS_SEEN_REPLY:
        extra, stream = UNREPLIED, False
        if now > conn.proto.get("stream_ts", now):
            extra, stream = REPLIED, not status & IPS_ASSURED
        ct.refresh(conn, ctinfo, pkt, extra, now)
        if stream and not status & IPS_NAT_CLASH:
            conn.status |= IPS_ASSURED
    else:
        ct.refresh(conn, ctinfo, pkt, UNREPLIED, now)
    return ACCEPT, ""
