"""IPv4 address <-> name lookups as iptables makes them, from the host's files only.

iptables reads ``-s``/``-d`` as a dotted number, then a network name
(getnetbyname: /etc/networks), then a host name (getaddrinfo: inet_aton
forms and /etc/hosts).  ``-L`` without ``-n`` prints a host name
(getnameinfo: /etc/hosts), else a network name (getnetbyaddr:
/etc/networks), else the number.  DNS is never asked: with no resolver
reachable getnameinfo fails and iptables falls back to the files, which is
what the real iptables does in a network namespace.
"""

from __future__ import annotations

import functools
from pathlib import Path

HOSTS = Path("/etc/hosts")
NETWORKS = Path("/etc/networks")


def _strtoui8(text: str) -> int | None:
    """xtables_strtoui(text, 0..255) in base 0."""
    t = text.lstrip(" \t\n\v\f\r")
    if t.startswith("+"):
        t = t[1:]
    try:
        if t[:2].lower() == "0x":
            v = int(t[2:], 16) if t[2:] and all(c in "0123456789abcdefABCDEF" for c in t[2:]) else None
        elif t.startswith("0"):
            v = int(t, 8) if all(c in "01234567" for c in t) else None
        else:
            v = int(t) if t and t.isascii() and t.isdigit() else None
    except ValueError:
        return None
    return v if v is not None and v <= 255 else None


def numeric_to_ipv4(text: str, is_mask: bool = False) -> int | None:
    """__numeric_to_ipaddr: up to four base-0 bytes (short forms pad with zeros), 19 chars read."""
    parts = text[:19].split(".", 3)
    if is_mask and len(parts) < 4:
        return None
    octets = []
    for p in parts:
        v = _strtoui8(p)
        if v is None:
            return None
        octets.append(v)
    octets += [0] * (4 - len(octets))
    return (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]


def inet_aton(text: str) -> int | None:
    """glibc inet_aton: 1-4 parts in C number syntax, the last filling the remaining bytes."""
    head = text
    for i, c in enumerate(text):
        if c in " \t\n\v\f\r":
            head = text[:i]
            break
    parts = head.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    vals = []
    for p in parts:
        if not p:
            return None
        try:
            if p[:2].lower() == "0x":
                v = int(p[2:], 16) if p[2:] else 0
            elif p.startswith("0"):
                v = int(p, 8)
            else:
                v = int(p, 10) if p.isascii() and p.isdigit() else None
        except ValueError:
            return None
        if v is None or v > 0xFFFFFFFF:
            return None
        vals.append(v)
    *lead, last = vals
    if any(v > 255 for v in lead) or last >= 1 << (8 * (4 - len(lead))):
        return None
    addr = 0
    for n, v in enumerate(lead):
        addr |= v << (24 - 8 * n)
    return addr | last


@functools.cache
def _networks() -> list[tuple[str, int, list[str]]]:
    out = []
    try:
        lines = NETWORKS.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        net = inet_network(fields[1])
        if net is not None:
            out.append((fields[0], net, fields[2:]))
    return out


def inet_network(text: str) -> int | None:
    """glibc inet_network: dotted parts, NOT shifted left when fewer than four."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or any(not p for p in parts):
        return None
    val = 0
    for p in parts:
        v = inet_aton(p)
        if v is None or v > 255:
            return None
        val = (val << 8) | v
    return val


@functools.cache
def _hosts() -> list[tuple[int, list[str]]]:
    out = []
    try:
        lines = HOSTS.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or ":" in fields[0]:
            continue
        addr = inet_aton(fields[0])
        if addr is not None and fields[0].count(".") == 3:
            out.append((addr, fields[1:]))
    return out


def network_to_ipv4(name: str) -> int | None:
    """getnetbyname from /etc/networks."""
    for net_name, net, aliases in _networks():
        if name == net_name or name in aliases:
            return net
    return None


def host_to_ipv4(name: str) -> int | None:
    """getaddrinfo without DNS: an inet_aton number, or the first /etc/hosts address of the name."""
    addr = inet_aton(name)
    if addr is not None:
        return addr
    for a, names in _hosts():
        if name in names:
            return a
    return None


def ipv4_to_anyname(addr: int) -> str | None:
    """xtables_ipaddr_to_anyname without the number fallback: a host, else a network name."""
    for a, names in _hosts():
        if a == addr:
            return names[0]
    for net_name, net, _aliases in _networks():
        if net == addr:
            return net_name
    return None
