"""Conntrack values: tuples, connection entries, status bits and ctinfo (shared by conntrack and NAT).

Names and numbers are the kernel's (include/uapi/linux/netfilter/nf_conntrack_common.h).
A tuple is (src, dst, proto, sport, dport) with addresses as 32-bit ints; for
ICMP, sport is the echo id and dport is ``type << 8 | code`` as the kernel keys
it.  A :class:`Conn` has its original and reply tuples (the reply one is what
NAT rewrites), status bits, marks, zone, expiry time, per-direction counters
and the protocol's state (TCP's state machine data lives in ``proto``).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, NamedTuple

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


class Tuple(NamedTuple):
    """struct nf_conntrack_tuple (IPv4).

    A NamedTuple rather than a frozen dataclass: tuples are hashed and compared on every
    table lookup (two per packet, up to 248 per NAT port search), and a tuple's hash and
    equality run in C, three times faster than a dataclass's generated methods.
    """

    src: int
    dst: int
    proto: int
    sport: int = 0
    dport: int = 0

    def invert(self) -> Tuple:
        """The tuple of the other direction (ICMP echo request <-> reply is the protocol's job)."""
        return _new_tuple(Tuple, (self.dst, self.src, self.proto, self.dport, self.sport))


# tuple.__new__ skips NamedTuple's Python-level __new__: the NAT port search builds tuples in a loop.
_new_tuple = tuple.__new__


_SLOTTED = frozenset({"tcp", "sctp", "stream_ts", "nat_masq_oif"})


class ProtoState(MutableMapping[str, Any]):
    """union nf_conntrack_proto and the bits of extensions kept on an entry: a mapping of the
    trackers' and NAT's keys (``tcp``: TcpInfo, ``sctp``, UDP's ``stream_ts``, MASQUERADE's
    ``nat_masq_oif``) held in slots, any other key in a dict made when first needed.  Every UDP
    and TCP entry has one: a dict of one key costs 184 bytes, this 72."""

    __slots__ = ("tcp", "sctp", "stream_ts", "nat_masq_oif", "_more")

    def __init__(self, items: Any = ()) -> None:
        if items:  # (every new entry makes an empty one)
            for k, v in dict(items).items():
                self[k] = v

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key) if key in _SLOTTED else self._more[key]
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return getattr(self, key) if key in _SLOTTED else self._more[key]
        except (AttributeError, KeyError):
            return default

    def __contains__(self, key: object) -> bool:
        if key in _SLOTTED:
            return hasattr(self, key)  # type: ignore[arg-type]
        more = getattr(self, "_more", None)
        return more is not None and key in more

    def __setitem__(self, key: str, value: Any) -> None:
        if key in _SLOTTED:
            setattr(self, key, value)
            return
        more = getattr(self, "_more", None)
        if more is None:
            more = self._more = {}
        more[key] = value

    def __delitem__(self, key: str) -> None:
        try:
            if key in _SLOTTED:
                delattr(self, key)
            else:
                del self._more[key]
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        for k in ("tcp", "sctp", "stream_ts", "nat_masq_oif"):
            if hasattr(self, k):
                yield k
        yield from getattr(self, "_more", None) or ()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Conn:
    """struct nf_conn: one connection as conntrack tracks it.

    A plain class with __slots__ (no per-entry __dict__, no per-entry lists): a full table holds
    nf_conntrack_max (262,144) of these.  The per-direction counters are four integers; the
    ``packets`` and ``bytes`` lists are built when read.  Entries compare by identity, as the
    kernel compares nf_conn pointers.
    """

    __slots__ = ("orig", "reply", "zone", "status", "mark", "secmark", "timeout", "id", "helper",
                 "master", "proto", "labels", "zone_dir", "zone_flags", "_pkts0", "_pkts1",
                 "_bytes0", "_bytes1")

    def __init__(self, orig: Tuple, reply: Tuple, zone: int = 0, status: int = 0, mark: int = 0,
                 secmark: int = 0, timeout: float = 0.0, id: int = 0, helper: str | None = None,
                 master: Conn | None = None, packets: list[int] | None = None,
                 bytes: list[int] | None = None, proto: Any = None, labels: int = 0,
                 zone_dir: int = NF_CT_DEFAULT_ZONE_DIR, zone_flags: int = 0) -> None:
        self.orig = orig
        self.reply = reply
        self.zone = zone
        self.status = status
        self.mark = mark
        self.secmark = secmark
        self.timeout = timeout  # absolute expiry time on the engine clock (relative until confirmed)
        self.id = id
        self.helper = helper
        self.master = master  # for RELATED (expected) connections
        # protocol state: TCP's, ... (any mapping given is copied into the entry's own)
        self.proto: ProtoState = ProtoState() if proto is None else ProtoState(proto)
        self.labels = labels
        self.zone_dir = zone_dir  # directions the zone id applies to
        self.zone_flags = zone_flags  # NF_CT_FLAG_MARK on a template (CT --zone mark)
        self._pkts0, self._pkts1 = packets if packets is not None else (0, 0)
        self._bytes0, self._bytes1 = bytes if bytes is not None else (0, 0)

    # per direction [orig, reply]: packets and bytes (connbytes, conntrack -L with accounting)
    @property
    def packets(self) -> list[int]:
        return [self._pkts0, self._pkts1]

    @packets.setter
    def packets(self, value: list[int]) -> None:
        self._pkts0, self._pkts1 = value

    @property
    def bytes(self) -> list[int]:
        return [self._bytes0, self._bytes1]

    @bytes.setter
    def bytes(self, value: list[int]) -> None:
        self._bytes0, self._bytes1 = value

    def account(self, direction: int, length: int) -> None:
        """nf_ct_acct_update: one packet of *length* bytes in *direction*."""
        if direction == IP_CT_DIR_ORIGINAL:
            self._pkts0 += 1
            self._bytes0 += length
        else:
            self._pkts1 += 1
            self._bytes1 += length

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

    def __repr__(self) -> str:
        return (f"Conn({self.orig!r}, {self.reply!r}, zone={self.zone}, status={self.status:#x}, "
                f"mark={self.mark:#x}, timeout={self.timeout}, id={self.id})")


_NO_TUPLE = Tuple(0, 0, 0)


def template(zone: int = 0, zone_dir: int = NF_CT_DEFAULT_ZONE_DIR, zone_flags: int = 0,
             helper: str | None = None) -> Conn:
    """A conntrack template (what -j CT attaches in the raw table): set as ``pkt.meta.ct`` with
    ctinfo IP_CT_NEW, conntrack takes the zone (and helper) from it for the new entry."""
    return Conn(_NO_TUPLE, _NO_TUPLE, zone=zone, status=IPS_TEMPLATE | IPS_CONFIRMED, helper=helper,
                zone_dir=zone_dir, zone_flags=zone_flags)
