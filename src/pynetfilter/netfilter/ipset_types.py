"""ipset's set types: their options, how ipset parses and prints elements, what the kernel stores.

Each :class:`SetType` says what ``ipset create`` accepts for the type, the
dimensions of its elements, the revision the kernel reports, and the sizes
"Size in memory" is made of.  The element struct sizes are the kernel's
(``struct hash_ip4_elem``, ``hash_ip6_elem`` ...); the per-set header sizes
(the ``struct htype`` and table header, which depend on kernel config and, for
family inet6, grow with the 128 prefix lengths a net type tracks) were measured
on this project's kernel (6.18, x86-64) with empty sets, see
tests/netfilter/ipset/cases/memsize.cmds and inet6_ops.cmds.

Parse errors carry ipset's own wording (``Syntax error: ...``); an
:class:`IpsetError` renders as ipset prints it: ``ipset v7.17: <text>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynetfilter.errors import PynfError
from pynetfilter.ext.types import protocol_by_name, protocol_name, service_port
from pynetfilter.packet.model import IPPROTO_ICMP

PROG = "ipset v7.17"
TRY_HELP = "Try `ipset help' for more information."
IFNAMSIZ = 16
MAX_TIMEOUT = 2147483  # UINT_MAX / 1000 / 2: ipset's timeout range
MAXNAMELEN = 32
IPPROTO_ICMPV6 = 58


class IpsetError(PynfError):
    """An ipset refusal; ``text`` is what ipset prints after its ``ipset v7.17: `` prefix."""

    def __init__(self, text: str, *, status: int = 1, usage: bool = False, bare: bool = False) -> None:
        super().__init__(text.replace("\n", "; "))
        self.text = text
        self.status = status
        self.usage = usage  # ipset adds "Try `ipset help' ..." (exit status 2)
        self.bare = bare  # printed without the "ipset v7.17: " prefix (a failed test)


def usage_error(text: str) -> IpsetError:
    return IpsetError(text, status=2, usage=True)


def syntax(text: str) -> IpsetError:
    return IpsetError(f"Syntax error: {text}")


@dataclass(frozen=True)
class SetType:
    name: str
    dims: tuple[str, ...]  # "ip", "net", "port", "iface", "set", "mac"
    revision: int
    create: tuple[str, ...]  # create options besides the extensions
    elem_size: int  # sizeof the kernel's IPv4 element struct (hash) or 0
    base_mem: int  # memsize of the empty set (one lock region), measured
    nomatch: bool = False
    elem_size6: int = 0  # sizeof the kernel's IPv6 element struct (hash types: family inet6)
    base_mem6: int = 0  # memsize of the empty family inet6 set, measured (inet6.cmds)


_EXT = ("timeout", "counters", "comment", "skbinfo")
_HASH = ("family", "-4", "-6", "hashsize", "maxelem", "bucketsize", "initval", "forceadd")
TYPES = {t.name: t for t in (
    SetType("hash:ip", ("ip",), 6, (*_HASH, "netmask"), 4, 216, False, 16, 224),
    SetType("hash:net", ("net",), 7, _HASH, 8, 456, True, 20, 1240),
    SetType("hash:ip,port", ("ip", "port"), 7, _HASH, 8, 216, False, 20, 232),
    SetType("hash:net,port", ("net", "port"), 8, _HASH, 8, 456, True, 20, 1240),
    SetType("hash:ip,port,ip", ("ip", "port", "ip"), 6, _HASH, 12, 208, False, 36, 232),
    SetType("hash:ip,port,net", ("ip", "port", "net"), 8, _HASH, 12, 464, True, 36, 1256),
    SetType("hash:net,iface", ("net", "iface"), 8, _HASH, 28, 488, True, 40, 1264),
    SetType("bitmap:ip", ("ip",), 3, ("range", "netmask"), 0, 88),
    SetType("bitmap:port", ("port",), 3, ("range",), 0, 72),
    SetType("bitmap:ip,mac", ("ip", "mac"), 3, ("range",), 8, 80),
    SetType("list:set", ("set",), 3, ("size",), 42, 80),
)}
# Types ipset knows whose kernel module this kernel lacks ("Kernel error received").
ABSENT = ("hash:mac", "hash:ip,mac", "hash:net,net", "hash:net,port,net",
          "hash:ip,mark")
# ipset's ICMP type names, first name of each type/code is the one printed.
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
_ICMP_BY_CODE: dict[int, str] = {}
for _n, (_t, _c) in ICMP_NAMES.items():
    _ICMP_BY_CODE.setdefault(_t << 8 | _c, _n)


def mask(plen: int, bits: int = 32) -> int:
    """The netmask of a prefix length, for 32-bit (inet) or 128-bit (inet6) addresses."""
    full = (1 << bits) - 1
    return full ^ ((1 << (bits - plen)) - 1)


def number(text: str, lo: int, hi: int) -> int:
    """ipset's string_to_number: base 0, range checked, its two messages."""
    body = text[1:] if text[:1] in "+-" else text
    try:
        v = int(body, 16) if body[:2].lower() == "0x" else int(body, 8) if body[:1] == "0" and body[1:] \
            else int(body, 10)
    except ValueError:
        raise syntax(f"'{text}' is invalid as number") from None
    v = -v if text.startswith("-") else v
    if not lo <= v <= hi:
        raise syntax(f"'{text}' is out of range {lo}-{hi}")
    return v


def addr(text: str) -> int:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) < 256 for p in parts):
        raise syntax(f"cannot parse {text}: resolving to IPv4 address failed")
    out = 0
    for p in parts:
        out = out << 8 | int(p)
    return out


def fmt_addr(v: int) -> str:
    return ".".join(str(v >> s & 0xFF) for s in (24, 16, 8, 0))


def cidr(text: str, bits: int = 32) -> int:
    """A prefix length: ipset reads a u8, then checks it against the address width."""
    plen = number(text, 0, 255)
    if plen > bits:
        raise syntax(f"'{text}' is out of range 0-{bits}")
    return plen


def addr_range(text: str) -> tuple[int, int, int]:
    """``A``, ``A/len`` or ``A-B``: (first, last, prefix length or 32); ipset reads the prefix
    length before the address."""
    if "-" in text and "/" not in text:
        a, _, b = text.partition("-")
        first, last = addr(a), addr(b)
        if first > last:
            first, last = last, first
        return first, last, 32
    host, sep, plen_s = text.partition("/")
    plen = cidr(plen_s) if sep else 32
    ip = addr(host)
    return ip & mask(plen), ip | (~mask(plen) & 0xFFFFFFFF), plen


def proto_ports(text: str, v6: bool = False) -> list[tuple[int, int]]:
    """``[proto:]port`` or, for protocols with ports, ``[proto:]from-to``: every (proto, port)."""
    proto_s, sep, port_s = text.partition(":")
    if not sep:
        proto_s, port_s = "tcp", text
    lo_s, dash, hi_s = port_s.partition("-")
    proto = int(proto_s) if (proto_s.isascii() and proto_s.isdigit()) else protocol_by_name(proto_s)
    if not dash or proto not in (6, 17, 132, 136, 33):
        return [proto_port(text, v6)]
    lo, hi = port(lo_s, proto_s), port(hi_s, proto_s)
    return [(proto, p) for p in range(min(lo, hi), max(lo, hi) + 1)]


def proto_port(text: str, v6: bool = False) -> tuple[int, int]:
    """``[proto:]port``: tcp by default; icmp (inet) and ipv6-icmp (inet6) take a type name or
    type/code."""
    proto_s, sep, port_s = text.partition(":")
    if not sep:
        proto_s, port_s = "tcp", text
    proto = number(proto_s, 0, 255) if (proto_s.isascii() and proto_s.isdigit()) else \
        protocol_by_name("ipv6-icmp" if proto_s == "icmpv6" else proto_s)
    if proto is None:
        raise syntax(f"cannot parse '{proto_s}' as a protocol")
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) and v6 != (proto == IPPROTO_ICMPV6):
        e = syntax("Protocol ICMPv6 can be used with family inet6 only" if v6 is False
                   else "Protocol ICMP can be used with family inet only")
        e.family_mismatch = True  # type: ignore[attr-defined]
        raise e
    if proto == IPPROTO_ICMPV6:
        from pynetfilter.netfilter.ipset_inet6 import icmpv6

        return proto, icmpv6(port_s)
    if proto == IPPROTO_ICMP:
        if port_s in ICMP_NAMES:
            t, c = ICMP_NAMES[port_s]
            return proto, t << 8 | c
        return proto, icmp_typecode(port_s, "ICMP")
    if proto in (6, 17, 132, 136, 33) or not sep:
        return proto, port(port_s, proto_s)
    if port_s != "0":
        raise syntax(f"Protocol {proto_s} can be used with pseudo port value 0 only.")
    return proto, 0


def icmp_typecode(text: str, what: str) -> int:
    """``TYPE/CODE`` (numbers, each 0-255), type << 8 | code."""
    t_s, slash, c_s = text.partition("/")
    if not slash:
        raise IpsetError(f"Cannot parse {text} as an {what} type/code.")
    return number(t_s, 0, 255) << 8 | number(c_s, 0, 255)


def port(text: str, proto_s: str = "tcp") -> int:
    """A number or a service name; ipset's three-line complaint when neither."""
    why = f"'{text}' is invalid as number"
    if (text.isascii() and text.isdigit()):
        if int(text) <= 0xFFFF:
            return int(text)
        why = f"'{text}' is out of range 0-65535"
    else:
        p = service_port(text, proto_s)
        if p is not None:
            return p
    raise syntax(f"{why}\nSyntax error: '{proto_s}' is invalid as number\n"
                 f"cannot parse '{text}' as a {proto_s} port")


def fmt_proto_port(pp: tuple[int, int]) -> str:
    proto, value = pp
    name = protocol_name(proto) or str(proto)
    if proto == IPPROTO_ICMPV6:
        from pynetfilter.netfilter.ipset_inet6 import fmt_icmpv6

        return f"{name}:{fmt_icmpv6(value)}"
    if proto == IPPROTO_ICMP:
        return f"icmp:{_ICMP_BY_CODE.get(value) or f'{value >> 8}/{value & 0xFF}'}"
    return f"{name}:{value}"


def fmt_net(net: tuple[int, int]) -> str:
    return fmt_addr(net[0]) + ("" if net[1] == 32 else f"/{net[1]}")
