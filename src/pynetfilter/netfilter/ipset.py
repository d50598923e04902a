"""ipsets as the kernel's xt_set sees them: loaded from ``ipset save`` text, tested per packet.

Theory of operation.  :func:`load` reads ``ipset save`` output (``create``
and ``add`` lines) into :class:`IpSet` objects by name, the dict an Engine
keeps as ``engine.ipsets``.  A test takes the packet fields the rule's
``--match-set NAME src,dst,...`` directions select, one per dimension of the
set's type, as the kernel's kadt functions do:

* ``ip``/``net`` dimensions take the source or destination address; ``net``
  dimensions try every prefix length present in the set, most specific
  first, and the first element found decides (a ``nomatch`` element means
  "not in the set", or "in the set" with --return-nomatch);
* ``port`` dimensions take the protocol and the source or destination port
  (ICMP: type << 8 | code; protocols without ports: port 0; a later fragment
  of a protocol with ports is never in the set);
* ``bitmap:port`` needs TCP or UDP; ``list:set`` tests its member sets in
  order, with the same directions.

Timeouts are kept as absolute engine times: ``ipset save`` prints the seconds
left, counted from the time given to :func:`load`.  Sets with counters count
the packets and bytes of matching packets (unless the rule says
``! --update-counters``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from pynetfilter.errors import PynfError
from pynetfilter.packet.model import IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP

IPPROTO_UDPLITE = 136
_PORTED = (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_UDPLITE, IPPROTO_ICMP)
# The hash/bitmap/list types loaded here and the kind of each dimension.
TYPES = {
    "hash:ip": ("ip",), "hash:net": ("net",), "hash:ip,port": ("ip", "port"),
    "hash:net,port": ("net", "port"), "hash:ip,port,ip": ("ip", "port", "ip"),
    "hash:ip,port,net": ("ip", "port", "net"), "bitmap:port": ("port",), "list:set": ("set",),
}
# ipset's ICMP type names (the ones ``ipset save`` prints), as type/code.
ICMP_NAMES = {
    "echo-reply": (0, 0), "pong": (0, 0), "network-unreachable": (3, 0), "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2), "port-unreachable": (3, 3), "fragmentation-needed": (3, 4),
    "source-route-failed": (3, 5), "network-unknown": (3, 6), "host-unknown": (3, 7),
    "network-prohibited": (3, 9), "host-prohibited": (3, 10), "TOS-network-unreachable": (3, 11),
    "TOS-host-unreachable": (3, 12), "communication-prohibited": (3, 13),
    "host-precedence-violation": (3, 14), "precedence-cutoff": (3, 15), "source-quench": (4, 0),
    "network-redirect": (5, 0), "host-redirect": (5, 1), "TOS-network-redirect": (5, 2),
    "TOS-host-redirect": (5, 3), "echo-request": (8, 0), "ping": (8, 0), "router-advertisement": (9, 0),
    "router-solicitation": (10, 0), "ttl-zero-during-transit": (11, 0),
    "ttl-zero-during-reassembly": (11, 1), "ip-header-bad": (12, 0), "required-option-missing": (12, 1),
    "timestamp-request": (13, 0), "timestamp-reply": (14, 0), "address-mask-request": (17, 0),
    "address-mask-reply": (18, 0),
}


class IpsetError(PynfError):
    """Bad ``ipset save`` input."""


@dataclass(slots=True)
class Element:
    nomatch: bool = False
    expires: float | None = None  # absolute engine time, None: no timeout
    packets: int = 0
    bytes: int = 0


@dataclass(slots=True)
class IpSet:
    name: str
    type: str
    family: str = "inet"
    options: dict[str, str] = field(default_factory=dict)
    elements: dict[tuple[Any, ...], Element] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # list:set
    netmask: int = 32  # hash:ip netmask option
    cidrs: list[list[int]] = field(default_factory=list)  # per dimension: prefix lengths, longest first

    @property
    def dims(self) -> tuple[str, ...]:
        return TYPES[self.type]

    @property
    def counters(self) -> bool:
        return "counters" in self.options

    def add(self, key: tuple[Any, ...], elem: Element) -> None:
        self.elements[key] = elem
        for i, part in enumerate(key):
            if self.dims[i] == "net":
                plens = self.cidrs[i]
                if part[1] not in plens:
                    plens.append(part[1])
                    plens.sort(reverse=True)

    def lookup(self, values: list[Any], now: float) -> Element | None:
        """The element for the packet's values (per dimension), trying prefixes for net dimensions."""
        candidates: list[list[Any]] = [[]]
        for i, kind in enumerate(self.dims):
            v = values[i]
            if kind == "net":
                opts = [(v & _mask(p), p) for p in self.cidrs[i]]
            elif kind == "ip":
                opts = [v & _mask(self.netmask)]
            else:
                opts = [v]
            candidates = [c + [o] for c in candidates for o in opts]
        for c in candidates:
            e = self.elements.get(tuple(c))
            if e is not None and (e.expires is None or e.expires > now):
                return e
        return None


def _mask(plen: int) -> int:
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0


def _addr(text: str, where: str) -> int:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise IpsetError(f'{where}: bad IPv4 address "{text}"')
    out = 0
    for p in parts:
        out = out << 8 | int(p)
    return out


def _net(text: str, where: str) -> tuple[int, int]:
    host, sep, plen = text.partition("/")
    p = int(plen) if sep and plen.isdigit() and int(plen) <= 32 else (32 if not sep else -1)
    if p < 0:
        raise IpsetError(f'{where}: bad prefix length in "{text}"')
    return _addr(host, where) & _mask(p), p


def _proto_port(text: str, where: str) -> tuple[int, int]:
    from pynetfilter.syntax.words import parse_protocol

    proto_s, sep, port_s = text.rpartition(":")
    if not sep:
        proto_s, port_s = "tcp", text
    try:
        proto = parse_protocol(proto_s)
    except PynfError:
        raise IpsetError(f'{where}: unknown protocol "{proto_s}"') from None
    if proto == IPPROTO_ICMP:
        if port_s in ICMP_NAMES:
            t, c = ICMP_NAMES[port_s]
            return proto, t << 8 | c
        t_s, _, c_s = port_s.partition("/")
        if t_s.isdigit() and c_s.isdigit():
            return proto, int(t_s) << 8 | int(c_s)
        raise IpsetError(f'{where}: bad ICMP type "{port_s}"')
    if not port_s.isdigit() or int(port_s) > 0xFFFF:
        raise IpsetError(f'{where}: bad port "{port_s}"')
    return proto, int(port_s)


def _parse_key(s: IpSet, text: str, where: str) -> tuple[Any, ...]:
    if s.type == "list:set":
        return (text,)
    parts = text.split(",")
    if len(parts) != len(s.dims):
        raise IpsetError(f'{where}: "{text}" does not fit type {s.type}')
    key: list[Any] = []
    for kind, part in zip(s.dims, parts, strict=True):
        if kind == "ip":
            key.append(_addr(part, where) & _mask(s.netmask))
        elif kind == "net":
            key.append(_net(part, where))
        elif s.type == "bitmap:port":
            if not part.isdigit() or int(part) > 0xFFFF:
                raise IpsetError(f'{where}: bad port "{part}"')
            key.append(int(part))
        else:
            key.append(_proto_port(part, where))
    return tuple(key)


def load(text: str, now: float = 0.0) -> dict[str, IpSet]:
    """Read ``ipset save`` output; element timeouts count from *now* (the engine time of the save)."""
    sets: dict[str, IpSet] = {}
    for n, line in enumerate(text.splitlines(), 1):
        where = f"ipset line {n}"
        try:
            words = shlex.split(line, comments=False)
        except ValueError:
            raise IpsetError(f"{where}: unbalanced quotes") from None
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "create" and len(words) >= 3:
            name, typ = words[1], words[2]
            if typ not in TYPES:
                raise IpsetError(f'{where}: set type "{typ}" is not supported (expected one of '
                                 f'{", ".join(TYPES)})')
            opts: dict[str, str] = {}
            rest = words[3:]
            i = 0
            while i < len(rest):
                key = rest[i]
                flag = key in ("counters", "comment", "skbinfo", "forceadd")
                opts[key] = "" if flag or i + 1 >= len(rest) else rest[i + 1]
                i += 1 if flag else 2
            s = IpSet(name, typ, opts.get("family", "inet"), opts)
            s.cidrs = [[] for _ in TYPES[typ]]
            if "netmask" in opts:
                s.netmask = int(opts["netmask"]) if opts["netmask"].isdigit() else 32
            sets[name] = s
        elif words[0] == "add" and len(words) >= 3:
            s = sets.get(words[1])
            if s is None:
                raise IpsetError(f'{where}: set "{words[1]}" is not created before this line')
            elem = Element()
            extra = words[3:]
            for i, w in enumerate(extra):
                nxt = extra[i + 1] if i + 1 < len(extra) else "0"
                if w == "nomatch":
                    elem.nomatch = True
                elif w == "timeout" and nxt.isdigit() and int(nxt) > 0:
                    elem.expires = now + int(nxt)
                elif w == "packets" and nxt.isdigit():
                    elem.packets = int(nxt)
                elif w == "bytes" and nxt.isdigit():
                    elem.bytes = int(nxt)
            key = _parse_key(s, words[2], where)
            if s.type == "list:set":
                s.members.append(words[2])
            s.add(key, elem)
        else:
            raise IpsetError(f'{where}: expected "create NAME TYPE ..." or "add NAME ELEMENT ...", '
                             f'got "{line.strip()}"')
    for s in sets.values():
        for m in s.members:
            if m not in sets:
                raise IpsetError(f'list:set {s.name}: member set "{m}" does not exist')
    return sets


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


def test(sets: dict[str, IpSet], name: str, pkt: Any, dim: int, dir_flags: int, now: float,
         return_nomatch: bool = False, length: int = 0, counters: Any = None) -> bool:
    """ip_set_test: is *pkt* a member of set *name*?

    The element found has its counters bumped by *length* (sets with counters; pass length 0 for
    ``! --update-counters``); *counters*, if given, is a function (packets, bytes) -> bool the
    element's counters must pass (the rule's --packets-gt ... tests)."""
    s = sets.get(name)
    if s is None or dim < len(s.dims):
        return False
    if s.type == "list:set":
        for m in s.members:
            e = s.elements.get((m,))
            if e is not None and e.expires is not None and e.expires <= now:
                continue
            if test(sets, m, pkt, dim, dir_flags, now, return_nomatch, length, counters):
                if s.counters and e is not None:
                    _count(e, length)
                return True
        return False
    values: list[Any] = []
    for i, kind in enumerate(s.dims):
        src = bool(dir_flags & (1 << (i + 1)))
        if kind in ("ip", "net"):
            values.append(pkt.saddr if src else pkt.daddr)
        else:
            pp = _port_of(pkt, src)
            if pp is None:
                return False
            if s.type == "bitmap:port":
                if pp[0] not in (IPPROTO_TCP, IPPROTO_UDP):
                    return False
                values.append(pp[1])
            else:
                values.append(pp)
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
