"""ipsets as the kernel keeps them: elements, extensions, hash layout; tested per packet as xt_set does.

Theory of operation.  An :class:`IpSet` holds what the kernel holds for a set:
its header (type, family, hash size, maxelem, timeout, extensions, initval),
its elements (key -> :class:`Element`: nomatch flag, expiry, counters, comment,
skbinfo) and, for hash types, the kernel's bucket layout
(:mod:`~pynetfilter.netfilter.ipset_hash`), which gives ``ipset list`` its
member order and "Size in memory".  :mod:`~pynetfilter.netfilter.ipset_session`
runs ipset's commands on a dict of sets; :func:`load` reads ``ipset save``
output into one (the dict an Engine keeps as ``engine.ipsets``).

A packet test takes the packet fields the rule's ``--match-set NAME src,dst,...``
directions select, one per dimension of the set's type, as the kernel's kadt
functions do:

* ``ip``/``net`` dimensions take the source or destination address; ``net``
  dimensions try every prefix length present in the set, most specific
  first, and the first element found decides (a ``nomatch`` element means
  "not in the set", or "in the set" with --return-nomatch);
* ``port`` dimensions take the protocol and the source or destination port
  (ICMP: type << 8 | code; protocols without ports: port 0; a later fragment
  of a protocol with ports is never in the set);
* ``bitmap:ip,mac`` compares the Ethernet address too
  (:mod:`~pynetfilter.netfilter.ipset_ipmac`);
* ``bitmap:port`` needs TCP or UDP; ``list:set`` tests its member sets in
  order, with the same directions; ``iface`` dimensions take the input (src)
  or output (dst) device;
* a ``family inet6`` set holds no IPv4 packet (ip_set_test's family check:
  iptables refuses to name one, but a list:set may hold one).

Times are absolute engine times: ``ipset save`` prints the seconds left,
counted from the time given to :func:`load`.  Sets with counters count the
packets and bytes of matching packets (unless the rule says
``! --update-counters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynetfilter.netfilter import ipset_types as T
from pynetfilter.netfilter.ipset_hash import REGION_SIZE, Layout
from pynetfilter.packet.model import IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP

IpsetError = T.IpsetError
IPPROTO_UDPLITE = 136
_PORTED = (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_UDPLITE, IPPROTO_ICMP)
TYPES = {name: t.dims for name, t in T.TYPES.items()}
ICMP_NAMES = T.ICMP_NAMES
COMMENT_RCU = 16  # sizeof(struct ip_set_comment_rcu) before the string


@dataclass(slots=True)
class Element:
    nomatch: bool = False
    expires: float | None = None  # absolute engine time, None: no timeout
    packets: int = 0
    bytes: int = 0
    comment: str | None = None
    skbmark: int = 0
    skbmarkmask: int = 0
    skbprio: int = 0
    skbqueue: int = 0
    ether: bytes | None = None  # bitmap:ip,mac: the MAC, None while unset
    held: int = 0  # bitmap:ip,mac with timeouts: an unset element's timeout, not yet started


@dataclass(slots=True)
class IpSet:
    name: str
    type: str
    family: str = "inet"
    options: dict[str, str] = field(default_factory=dict)  # create options as given
    elements: dict[tuple[Any, ...], Element] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # list:set, in order
    netmask: int = 32
    cidrs: list[list[int]] = field(default_factory=list)  # per dimension: prefix lengths, longest first
    timeout: int | None = None
    counters: bool = False
    comment: bool = False
    skbinfo: bool = False
    forceadd: bool = False
    maxelem: int = 65536
    bucketsize: int = 12
    initval: int = 0
    range: tuple[int, int] = (0, 0)  # bitmap types
    size: int = 8  # list:set
    layout: Layout | None = None
    # bitmap:ip,mac: the counters a deleted element left in its slot (the kernel does not clear them)
    stale: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)

    @property
    def dims(self) -> tuple[str, ...]:
        return T.TYPES[self.type].dims

    @property
    def bits(self) -> int:
        """The address width: 128 for a family inet6 set."""
        return 128 if self.family == "inet6" else 32

    @property
    def dsize(self) -> int:
        """ip_set_elem_len: the element struct with its extensions, each at its alignment."""
        t = T.TYPES[self.type]
        align = 8 if self.type in ("list:set", "bitmap:ip,mac") else 4 if t.elem_size else 1
        size = t.elem_size6 if self.family == "inet6" else t.elem_size
        for on, length, al in ((self.timeout is not None, 8, 8), (self.counters, 16, 8),
                               (self.comment, 8, 8), (self.skbinfo, 16, 4)):
            if on:
                size = -(-size // al) * al + length
                align = max(align, al)
        return -(-size // align) * align

    def live(self, key: tuple[Any, ...], now: float) -> bool:
        e = self.elements.get(key)
        return e is not None and (e.expires is None or e.expires > now)

    def ordered(self, now: float) -> list[tuple[Any, ...]]:
        """The live elements in the kernel's listing order."""
        if self.layout is not None:
            keys = list(self.layout)
        elif self.type == "list:set":
            keys = [(m,) for m in self.members]
        else:
            keys = sorted(self.elements)
        return [k for k in keys if self.live(k, now)]

    def memsize(self, now: float) -> int:
        """What ``ipset list`` prints as "Size in memory" (see README: kernel layout replayed)."""
        t = T.TYPES[self.type]
        comments = sum(COMMENT_RCU + len(e.comment.encode("utf-8", "surrogateescape")) + 1
                       for e in self.elements.values() if e.comment is not None)
        if self.layout is not None:
            base = t.base_mem6 if self.family == "inet6" else t.base_mem
            return (base - REGION_SIZE + self.layout.region_count() * REGION_SIZE
                    + self.layout.ext_size + comments)
        if self.type == "list:set":
            return t.base_mem + len(self.members) * self.dsize + comments
        step = 1 << (32 - self.netmask) if self.type == "bitmap:ip" else 1
        n = (self.range[1] - self.range[0]) // step + 1
        return t.base_mem + -(-n // 64) * 8 + n * self.dsize + comments

    def add(self, key: tuple[Any, ...], elem: Element, now: float = 0.0) -> None:
        """Store *key* (the caller checked it is new or may be overwritten)."""
        if key not in self.elements:
            if self.layout is not None:
                old = self.layout.place(key, lambda k: not self.live(k, now))
                if old is not None:
                    self._forget(old)
            elif self.type == "list:set":
                self.members.append(key[0])
            for i, part in enumerate(key):
                if self.dims[i] == "net":
                    plens = self.cidrs[i]
                    if part[1] not in plens:
                        plens.append(part[1])
                        plens.sort(reverse=True)
        self.elements[key] = elem

    def _forget(self, key: tuple[Any, ...]) -> None:
        del self.elements[key]
        for i, part in enumerate(key):
            if self.dims[i] == "net" and not any(k[i][1] == part[1] for k in self.elements):
                self.cidrs[i].remove(part[1])

    def remove(self, key: tuple[Any, ...]) -> None:
        if self.layout is not None:
            self.layout.remove(key)
        elif self.type == "list:set":
            self.members.remove(key[0])
        self._forget(key)

    def flush(self) -> None:
        if self.type == "bitmap:ip,mac":  # the bitmap is zeroed, the slots' counters stay
            self.stale.update({k: (e.packets, e.bytes) for k, e in self.elements.items()})
        self.elements.clear()
        self.members.clear()
        self.cidrs = [[] for _ in self.dims]
        if self.layout is not None:
            self.layout.clear()

    def lookup(self, values: list[Any], now: float) -> Element | None:
        """The element for the packet's values (per dimension), trying prefixes for net dimensions."""
        candidates: list[list[Any]] = [[]]
        for i, kind in enumerate(self.dims):
            v = values[i]
            if kind == "net":
                opts = [(v & T.mask(p, self.bits), p) for p in self.cidrs[i]]
            elif kind == "ip":
                opts = [v & T.mask(self.netmask, self.bits)]
            else:
                opts = [v]
            candidates = [c + [o] for c in candidates for o in opts]
        for c in candidates:
            e = self.elements.get(tuple(c))
            if e is not None and (e.expires is None or e.expires > now):
                return e
        return None


def load(text: str, now: float = 0.0) -> dict[str, IpSet]:
    """Read ``ipset save`` output (create and add lines); timeouts count from *now*."""
    from pynetfilter.netfilter.ipset_session import Session

    session = Session({}, now=now)
    session.load_save(text)
    return session.sets


def families(sets: dict[str, IpSet]) -> dict[str, str]:
    """name -> family, what a Ruleset needs for -m set's parse-time lookup."""
    return {n: ("unspec" if s.type == "list:set" else s.family) for n, s in sets.items()}


def _port_of(pkt: Any, src: bool) -> tuple[int, int] | None:
    """ip_set_get_ip4_port: (proto, port) for the packet, None when the ports cannot be had."""
    proto = pkt.proto
    if proto <= 0:
        return None
    if pkt.later_fragment:
        return None if proto in _PORTED else (proto, 0)
    l4 = pkt.l4
    if proto == IPPROTO_ICMP:
        return (proto, l4.type << 8 | l4.code) if l4 is not None else None
    if proto in _PORTED:
        if l4 is None:
            return None
        return proto, l4.sport if src else l4.dport
    return proto, 0


def packet_values(s: IpSet, pkt: Any, dir_flags: int,
                  devs: tuple[str | None, str | None]) -> list[Any] | None:
    """The packet's value for each of the set's dimensions (None: the packet has no such field)."""
    values: list[Any] = []
    for i, kind in enumerate(s.dims):
        src = bool(dir_flags & (1 << (i + 1)))
        if kind in ("ip", "net"):
            values.append(pkt.saddr if src else pkt.daddr)
        elif kind == "iface":
            dev = devs[0] if src else devs[1]
            if dev is None:
                return None
            values.append((dev, False))
        else:
            pp = _port_of(pkt, src)
            if pp is None:
                return None
            if s.type == "bitmap:port":
                if pp[0] not in (IPPROTO_TCP, IPPROTO_UDP):
                    return None
                values.append(pp[1])
            else:
                values.append(pp)
    return values


def test(sets: dict[str, IpSet], name: str, pkt: Any, dim: int, dir_flags: int, now: float,
         return_nomatch: bool = False, length: int = 0, counters: Any = None,
         devs: tuple[str | None, str | None] = (None, None)) -> bool:
    """ip_set_test: is *pkt* a member of set *name*?

    The element found has its counters bumped by *length* (sets with counters; pass length 0 for
    ``! --update-counters``); *counters*, if given, is a function (packets, bytes) -> bool the
    element's counters must pass (the rule's --packets-gt ... tests).  *devs* are the packet's
    input and output devices (hash:net,iface)."""
    s = sets.get(name)
    if s is None or dim < len(s.dims) or s.family == "inet6":  # IPv4 packets: a family mismatch
        return False
    if s.type == "bitmap:ip,mac":
        from pynetfilter.netfilter import ipset_ipmac

        return ipset_ipmac.kadt_test(s, pkt, dir_flags, now, length, counters) is not None
    if s.type == "list:set":
        for m in s.members:
            e = s.elements.get((m,))
            if e is not None and e.expires is not None and e.expires <= now:
                continue
            if test(sets, m, pkt, dim, dir_flags, now, return_nomatch, length, counters, devs):
                if s.counters and e is not None:
                    _count(e, length)
                return True
        return False
    values = packet_values(s, pkt, dir_flags, devs)
    if values is None:
        return False
    e = s.lookup(values, now)
    if e is None:
        return False
    if s.counters:
        # ip_set_match_extensions: the found element counts the packet, then its counters are tested.
        _count(e, length)
        if counters is not None and not counters(e.packets, e.bytes):
            return False
    matched = not e.nomatch
    if return_nomatch and "net" in s.dims:
        matched = not matched  # --return-nomatch: a nomatch element is the match, and vice versa
    return matched


def _count(e: Element, length: int) -> None:
    if length:
        e.packets += 1
        e.bytes += length
