"""Conntrack values: tuples, connection entries, status bits and ctinfo (shared by conntrack and NAT).

Names and numbers are the kernel's (include/uapi/linux/netfilter/nf_conntrack_common.h).
A tuple is (src, dst, proto, sport, dport) with addresses as 32-bit ints; for
ICMP, sport is the echo id and dport is ``type << 8 | code`` as the kernel keys
it.  A :class:`Conn` has its original and reply tuples (the reply one is what
NAT rewrites), status bits, marks, zone, expiry time, per-direction counters
and the protocol's state (TCP's state machine data lives in ``proto``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# ctinfo (enum ip_conntrack_info)
IP_CT_ESTABLISHED = 0
IP_CT_RELATED = 1
IP_CT_NEW = 2
IP_CT_IS_REPLY = 3
IP_CT_ESTABLISHED_REPLY = 3
IP_CT_RELATED_REPLY = 4
IP_CT_UNTRACKED = 7

# status bits (enum ip_conntrack_status)
IPS_EXPECTED = 1 << 0
IPS_SEEN_REPLY = 1 << 1
IPS_ASSURED = 1 << 2
IPS_CONFIRMED = 1 << 3
IPS_SRC_NAT = 1 << 4
IPS_DST_NAT = 1 << 5
IPS_SEQ_ADJUST = 1 << 6
IPS_SRC_NAT_DONE = 1 << 7
IPS_DST_NAT_DONE = 1 << 8
IPS_DYING = 1 << 9
IPS_FIXED_TIMEOUT = 1 << 10
IPS_TEMPLATE = 1 << 11
IPS_UNTRACKED = 1 << 12
IPS_HELPER = 1 << 13
IPS_OFFLOAD = 1 << 14

IP_CT_DIR_ORIGINAL = 0
IP_CT_DIR_REPLY = 1

# Zones (include/uapi/linux/netfilter/nf_conntrack_zones_common.h): a zone applies to the
# original direction, the reply direction or both; NF_CT_FLAG_MARK takes the id from skb->mark.
NF_CT_ZONE_DIR_ORIG = 1 << IP_CT_DIR_ORIGINAL
NF_CT_ZONE_DIR_REPL = 1 << IP_CT_DIR_REPLY
NF_CT_DEFAULT_ZONE_DIR = NF_CT_ZONE_DIR_ORIG | NF_CT_ZONE_DIR_REPL
NF_CT_FLAG_MARK = 1


@dataclass(frozen=True, slots=True)
class Tuple:
    src: int
    dst: int
    proto: int
    sport: int = 0
    dport: int = 0

    def invert(self) -> Tuple:
        """The tuple of the other direction (ICMP echo request <-> reply is the protocol's job)."""
        return Tuple(self.dst, self.src, self.proto, self.dport, self.sport)


@dataclass(slots=True)
class Conn:
    """struct nf_conn: one connection as conntrack tracks it."""

    orig: Tuple
    reply: Tuple
    zone: int = 0
    status: int = 0
    mark: int = 0
    secmark: int = 0
    timeout: float = 0.0  # absolute expiry time on the engine clock
    id: int = 0
    helper: str | None = None
    master: Conn | None = None  # for RELATED (expected) connections
    # per direction [orig, reply]: packets and bytes (connbytes, conntrack -L with accounting)
    packets: list[int] = field(default_factory=lambda: [0, 0])
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    proto: dict[str, Any] = field(default_factory=dict)  # protocol state: TCP state, windows, ...
    labels: int = 0
    zone_dir: int = NF_CT_DEFAULT_ZONE_DIR  # directions the zone id applies to
    zone_flags: int = 0  # NF_CT_FLAG_MARK on a template (CT --zone mark)

    @property
    def confirmed(self) -> bool:
        return bool(self.status & IPS_CONFIRMED)

    def tuple_of(self, direction: int) -> Tuple:
        return self.orig if direction == IP_CT_DIR_ORIGINAL else self.reply

    @property
    def is_template(self) -> bool:
        return bool(self.status & IPS_TEMPLATE)

    def zone_id(self, direction: int) -> int:
        """nf_ct_zone_id: the zone id a tuple of *direction* is keyed with (0 where it does not apply)."""
        return self.zone if self.zone_dir & (1 << direction) else 0


_NO_TUPLE = Tuple(0, 0, 0)


def template(zone: int = 0, zone_dir: int = NF_CT_DEFAULT_ZONE_DIR, zone_flags: int = 0,
             helper: str | None = None) -> Conn:
    """A conntrack template (what -j CT attaches in the raw table): set as ``pkt.meta.ct`` with
    ctinfo IP_CT_NEW, conntrack takes the zone (and helper) from it for the new entry."""
    return Conn(_NO_TUPLE, _NO_TUPLE, zone=zone, status=IPS_TEMPLATE | IPS_CONFIRMED, helper=helper,
                zone_dir=zone_dir, zone_flags=zone_flags)
