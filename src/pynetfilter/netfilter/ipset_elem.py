"""ipset elements as text: parsing ``ipset add/del/test`` elements, printing ``ipset list`` members.

An element's text is split at commas into one part per dimension of the set
type (ipset's own error when the count is wrong).  An ``ip`` part may be a
range or a CIDR (``add`` then adds every address, as the kernel's uadt
loops); ``net`` parts keep their prefix length; ``port`` parts are
``[proto:]port`` (bitmap:port: a port or a port range); ``iface`` parts are
``[physdev:]NAME``.  A family inet6 set's addresses are 128-bit integers
(:mod:`~pynetfilter.netfilter.ipset_inet6`: no ranges, prefixes to /128).
Port parts may be ``from-to`` for protocols with ports (add/del take every
port; test refuses the range).  The keys made here are what :mod:`pynetfilter.netfilter.ipset`
stores and tests packets against.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from pynetfilter.netfilter import ipset_inet6 as inet6
from pynetfilter.netfilter import ipset_types as T

if TYPE_CHECKING:
    from pynetfilter.netfilter.ipset import Element, IpSet


def split(s: IpSet, text: str) -> list[str]:
    t = T.TYPES[s.type]
    if len(t.dims) == 1:
        if "," in text and t.dims[0] != "set":
            raise T.syntax(f"Elem separator in {text}, but settype {s.type} supports none.")
        return [text]
    parts = text.split(",", len(t.dims) - 1)
    if len(parts) < len(t.dims):
        which = ("Second", "Third")[len(parts) - 1]
        raise T.syntax(f"{which} element is missing from {text}.")
    return parts


def parse_keys(s: IpSet, text: str, *, expand: bool = True) -> list[tuple[Any, ...]]:
    """The keys *text* stands for in set *s* (several for an address range on add/del)."""
    parts = split(s, text)
    options: list[list[Any]] = []
    v6 = s.family == "inet6"
    for kind, part in zip(T.TYPES[s.type].dims, parts, strict=True):
        if kind == "set":
            options.append([part])
        elif kind == "ip" and v6:
            options.append([inet6.ip_part(part) & T.mask(s.netmask, 128)])
        elif kind == "net" and v6:
            net = inet6.net_part(part)
            if net[1] == 0 and s.type != "hash:net,iface":
                raise T.IpsetError("The value of the CIDR parameter of the IP address is invalid")
            options.append([net])
        elif kind == "ip":
            first, last, _ = T.addr_range(part)
            if s.type == "bitmap:ip":
                first &= T.mask(s.netmask)
                last &= T.mask(s.netmask)
            step = 1 << (32 - s.netmask) if s.netmask < 32 else 1
            first &= T.mask(s.netmask)
            if not expand:
                last = first
            if (last - first) // step >= 1 << 16:
                raise T.IpsetError("Range too big")
            options.append(list(range(first, last + 1, step)))
        elif kind == "net":
            host, sep, plen_s = part.partition("/")
            plen = T.cidr(plen_s) if sep else 32  # ipset reads the length first
            ip = T.addr(host)
            if plen == 0 and s.type != "hash:net,iface":  # only this type's uadt takes /0
                raise T.IpsetError("The value of the CIDR parameter of the IP address is invalid")
            options.append([(ip & T.mask(plen), plen)])
        elif kind == "port" and s.type == "bitmap:port":
            lo_s, dash, hi_s = part.rpartition(":")[2].partition("-")
            lo = T.port(lo_s)
            hi = T.port(hi_s) if dash else lo
            options.append(list(range(min(lo, hi), max(lo, hi) + 1)) if expand else [lo])
        elif kind == "port":
            pps = T.proto_ports(part, v6)
            if len(pps) > 1 and not expand:
                raise T.IpsetError(f"FROM-TO port range is not allowed in command test with set type "
                                   f"{s.type} and family {s.family}")
            options.append(pps)
        else:  # iface
            phys = part.startswith("physdev:")
            name = part[8:] if phys else part
            if not name or len(name) >= T.IFNAMSIZ:
                raise T.syntax(f"Invalid interface name: {name}")
            options.append([(name, phys)])
    keys: list[tuple[Any, ...]] = [()]
    for opts in options:
        keys = [k + (o,) for k in keys for o in opts]
    return keys


def fmt_key(s: IpSet, key: tuple[Any, ...]) -> str:
    out = []
    v6 = s.family == "inet6"
    for kind, part in zip(T.TYPES[s.type].dims, key, strict=True):
        if kind == "ip":
            out.append(inet6.fmt_addr(part) if v6 else T.fmt_addr(part))
        elif kind == "net" and v6:
            out.append(inet6.fmt_addr(part[0]) + ("" if part[1] == 128 else f"/{part[1]}"))
        elif kind == "net":
            out.append(T.fmt_net(part))
        elif kind == "port":
            out.append(str(part) if s.type == "bitmap:port" else T.fmt_proto_port(part))
        elif kind == "iface":
            out.append(("physdev:" if part[1] else "") + part[0])
        else:
            out.append(part)
    return ",".join(out)


def remaining(expires: float, now: float) -> int:
    """ip_set_timeout_get: whole seconds left, at least 1 while not expired."""
    left = int(expires - now)
    return left if left > 0 else 1


def fmt_member(s: IpSet, key: tuple[Any, ...], e: Element, now: float, exact: bool = False) -> str:
    """One member line of ``ipset list`` / the element of an ``add`` line of ``ipset save``
    (*exact*: the time left with its fraction, for state files)."""
    ipmac = s.type == "bitmap:ip,mac"
    out = [T.fmt_addr(key[0]) + ("" if e.ether is None else "," + _ether(e.ether)) if ipmac
           else fmt_key(s, key)]
    if s.timeout is not None and ipmac and e.ether is None:
        out.append(f"timeout {e.held}")  # not started until the MAC is filled: printed as stored
    elif s.timeout is not None:
        left = "0" if e.expires is None else f"{max(e.expires - now, 0.001):.6f}" if exact \
            else str(remaining(e.expires, now))
        out.append(f"timeout {left}")
    if e.nomatch:
        out.append("nomatch")
    if s.counters:
        out.append(f"packets {e.packets} bytes {e.bytes}")
    if s.comment and e.comment is not None:
        out.append('comment "' + e.comment + '"')
    if s.skbinfo:
        if e.skbmark or e.skbmarkmask:
            mark = f"0x{e.skbmark:x}" + ("" if e.skbmarkmask == 0xFFFFFFFF else f"/0x{e.skbmarkmask:x}")
            out.append(f"skbmark {mark}")
        if e.skbprio:
            out.append(f"skbprio {e.skbprio >> 16:x}:{e.skbprio & 0xFFFF:x}")
        if e.skbqueue:
            out.append(f"skbqueue {e.skbqueue}")
    return " ".join(out)


def _ether(mac: bytes) -> str:
    return ":".join(f"{b:02X}" for b in mac)


def shell_words(line: str) -> list[str]:
    """A restore line split as ipset splits it (quotes group a comment's words)."""
    try:
        return shlex.split(line, comments=False)
    except ValueError:
        raise T.syntax(f"unbalanced quotes in {line.strip()}") from None
