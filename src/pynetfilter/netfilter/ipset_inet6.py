"""``family inet6`` sets: IPv6 addresses and ICMPv6 type/codes as ipset reads and prints them.

ipset reads an IPv6 address as inet_pton does (no scope id, no prefix inside
the address) and prints it as glibc's inet_ntop: the first longest run of two
or more zero groups becomes ``::``, lower-case hex, and an address of the
form ``::a.b.c.d`` or ``::ffff:a.b.c.d`` ends in dotted IPv4.  Sets of this
family take no address ranges at all (ipset's ``plain IP address must be
supplied`` for ip dimensions, ``IP address or IP/cidr must be specified``
for net dimensions); prefix lengths run to 128.

ICMPv6 (``ipv6-icmp:`` or ``icmpv6:``) type names are ipset's own short table,
not ip6tables' (no ``beyond-scope``; ``neigbour-solicitation`` is a misspelt
alias ipset keeps), and each family refuses the other's ICMP.
"""

from __future__ import annotations

import ipaddress

from pynetfilter.netfilter import ipset_types as T

IPPROTO_ICMPV6 = 58
HOST = 128
ICMPV6_NAMES = {
    "no-route": (1, 0), "communication-prohibited": (1, 1), "address-unreachable": (1, 3),
    "port-unreachable": (1, 4), "packet-too-big": (2, 0), "ttl-zero-during-transit": (3, 0),
    "ttl-zero-during-reassembly": (3, 1), "bad-header": (4, 0), "unknown-header-type": (4, 1),
    "unknown-option": (4, 2), "echo-request": (128, 0), "ping": (128, 0), "echo-reply": (129, 0),
    "pong": (129, 0), "router-solicitation": (133, 0), "router-advertisement": (134, 0),
    "neighbour-solicitation": (135, 0), "neigbour-solicitation": (135, 0),
    "neighbour-advertisement": (136, 0), "neigbour-advertisement": (136, 0), "redirect": (137, 0),
}
_BY_CODE: dict[int, str] = {}
for _n, (_t, _c) in ICMPV6_NAMES.items():
    _BY_CODE.setdefault(_t << 8 | _c, _n)


def mask(plen: int) -> int:
    return ((1 << HOST) - 1) ^ ((1 << (HOST - plen)) - 1)


def addr(text: str) -> int:
    """inet_pton(AF_INET6): ipset's "resolving to IPv6 address failed" otherwise."""
    if "%" not in text and "/" not in text:
        try:
            return int(ipaddress.IPv6Address(text))
        except ValueError:
            pass
    raise T.syntax(f"cannot parse {text}: resolving to IPv6 address failed")


def fmt_addr(v: int) -> str:
    """glibc inet_ntop(AF_INET6)."""
    words = [v >> (112 - 16 * i) & 0xFFFF for i in range(8)]
    best, best_len, i = -1, 0, 0
    while i < 8:
        if words[i] == 0:
            j = i
            while j < 8 and words[j] == 0:
                j += 1
            if j - i > best_len:
                best, best_len = i, j - i
            i = j
        else:
            i += 1
    if best_len < 2:
        best = -1
    if best == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
        return ("::ffff:" if best_len == 5 else "::") + T.fmt_addr(v & 0xFFFFFFFF)
    if best < 0:
        return ":".join(f"{w:x}" for w in words)
    head = ":".join(f"{w:x}" for w in words[:best])
    tail = ":".join(f"{w:x}" for w in words[best + best_len:])
    return f"{head}::{tail}"


def ip_part(part: str) -> int:
    """An ``ip`` dimension of an inet6 set: one plain address."""
    if "/" in part or "-" in part:
        raise T.syntax(f"plain IP address must be supplied: {part}")
    return addr(part)


def net_part(part: str) -> tuple[int, int]:
    """A ``net`` dimension of an inet6 set: ``ADDR[/LEN]`` (the caller judges /0); ipset reads
    the prefix length before the address."""
    if "-" in part:
        raise T.syntax(f"IP address or IP/cidr must be specified: {part}")
    host, sep, plen_s = part.partition("/")
    plen = T.cidr(plen_s, HOST) if sep else HOST
    return addr(host) & mask(plen), plen


def icmpv6(port_s: str) -> int:
    if port_s in ICMPV6_NAMES:
        t, c = ICMPV6_NAMES[port_s]
        return t << 8 | c
    return T.icmp_typecode(port_s, "ICMPv6")


def fmt_icmpv6(value: int) -> str:
    return _BY_CODE.get(value) or f"{value >> 8}/{value & 0xFF}"
