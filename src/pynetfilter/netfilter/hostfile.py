"""The hand-written host description (``ip -j`` output is read by pynetfilter.netfilter.iproute).

One statement a line (``#`` starts a comment)::

    forward on                      # net.ipv4.ip_forward (default on)
    rp_filter 0                     # net.ipv4.conf.*.rp_filter as the kernel applies it (0, 1, 2)
    iface eth0 [index N] [mtu N] [mac 02:00:00:00:00:01] [group N] [down]
    addr eth0 10.0.0.1/24 [brd 10.0.0.255] [scope global|link|host]
    route [TYPE] PREFIX|default [via GW] [dev IFACE] [src ADDR] [metric N] [scope S] [table T] [tos T]
          [mtu N]

``lo`` (127.0.0.1/8) exists without being declared; interfaces get indexes
in order from 2 unless given.  Addresses create the routes the kernel adds
for them (fib_add_ifaddr): a local route in table local (also on a down
interface), and on an up interface the subnet route in main and the subnet
broadcast route; a second address in an existing subnet is a secondary one.
``route`` lines use ip-route(8) words; TYPE is unicast (default), local,
broadcast, blackhole, unreachable, prohibit or throw; TABLE is main
(default), local, default or a number.
"""

from __future__ import annotations

import re

from pynetfilter.netfilter.host import (
    SCOPE,
    FibEntry,
    Host,
    HostError,
    Ifaddr,
    Interface,
    _mask,
    fmt4,
    ip4,
)

ROUTE_TYPES = ("unicast", "local", "broadcast", "multicast", "anycast", "blackhole", "unreachable",
               "prohibit", "throw", "nat")
_DEFAULT_SCOPE = {"local": SCOPE["host"], "nat": SCOPE["host"], "broadcast": SCOPE["link"],
                  "multicast": SCOPE["link"], "anycast": SCOPE["link"]}


U32 = 0xFFFFFFFF
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
_OCTET = re.compile(r"[0-9a-fA-F]{1,2}")
# rt_tables' reserved ids: the names the host's fib uses.
TABLE_IDS = {"255": "local", "254": "main", "253": "default"}


def number(word: str) -> int | None:
    """A number as ip(8) reads one (strtoul base 0: decimal, 0x hex, 0 octal), None if it is not
    one (or has more digits than any value ip takes)."""
    if not _NUMBER.fullmatch(word) or len(word) > 24:
        return None
    if word[:2] in ("0x", "0X"):
        return int(word, 16)
    if word[0] == "0":
        return int(word, 8) if word.isdigit() and "8" not in word and "9" not in word else None
    return int(word)


def _int(word: str, what: str, hi: int = U32, lo: int = 0) -> int:
    n = number(word)
    if n is None or not lo <= n <= hi:
        raise HostError(f'bad {what} "{word}" (expected {lo}..{hi})')
    return n


def _scope(word: str) -> int:
    if word in SCOPE:
        return SCOPE[word]
    n = number(word)
    if n is None or n > 255:
        raise HostError(f'bad scope "{word}" (expected {", ".join(SCOPE)} or 0..255)')
    return n


def _mac(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6 or not all(_OCTET.fullmatch(x) for x in parts):
        raise HostError(f'bad MAC address "{text}" (expected six hex octets, a:b:c:d:e:f)')
    return bytes(int(x, 16) for x in parts)


def _prefix(text: str) -> tuple[int, int]:
    if text == "default":
        return 0, 0
    addr, slash, plen = text.partition("/")
    if slash and not (plen.isascii() and plen.isdigit() and len(plen) <= 2 and int(plen) <= 32):
        raise HostError(f'bad prefix length in "{text}" (expected 0..32)')
    n = int(plen) if slash else 32
    return ip4(addr) & _mask(n), n


# --- the hand-written format --------------------------------------------------------


def kernel_routes(iface: Interface) -> list[FibEntry]:
    """The routes fib_add_ifaddr creates for *iface*'s addresses."""
    routes = []
    for a in iface.ifaddrs:
        m = _mask(a.prefixlen)
        prim = a
        if a.secondary:
            prim = next(p for p in iface.ifaddrs if not p.secondary and p.covers(a.local)
                        and p.prefixlen == a.prefixlen)
        src = prim.local
        routes.append(FibEntry(a.local, 32, "local", iface.name, None, src, SCOPE["host"], table="local"))
        if not iface.up:
            continue
        if a.broadcast and a.broadcast != 0xFFFFFFFF:
            routes.append(FibEntry(a.broadcast, 32, "broadcast", iface.name, None, src, SCOPE["link"],
                                   table="local"))
        prefix = a.local & m
        if prefix and not a.secondary and (prefix != a.local or a.prefixlen < 32):
            kind, table = ("local", "local") if iface.loopback else ("unicast", "main")
            routes.append(FibEntry(prefix, a.prefixlen, kind, iface.name, None, src,
                                   SCOPE["host"] if iface.loopback else SCOPE["link"], table=table))
            if a.prefixlen < 31:
                routes.append(FibEntry(prefix | (~m & 0xFFFFFFFF), 32, "broadcast", iface.name, None, src,
                                       SCOPE["link"], table="local"))
    return routes


def _words(line: str) -> list[str]:
    return line.split("#", 1)[0].split()


def _route(words: list[str]) -> FibEntry:
    rtype = "unicast"
    if words and words[0] in ROUTE_TYPES:
        rtype = words.pop(0)
    if not words:
        raise HostError("route: expected a prefix")
    dst, plen = _prefix(words.pop(0))
    opts: dict[str, str] = {}
    while words:
        key = words.pop(0)
        if key not in ("via", "dev", "src", "metric", "scope", "table", "tos", "proto", "mtu") or not words:
            raise HostError(f'route: unexpected "{key}"')
        opts[key] = words.pop(0)
    gw = ip4(opts["via"]) if "via" in opts else None
    scope = _scope(opts["scope"]) if "scope" in opts else _DEFAULT_SCOPE.get(
        rtype, 0 if gw or rtype != "unicast" else SCOPE["link"])
    table = opts.get("table", "main")
    return FibEntry(dst, plen, rtype, opts.get("dev"), gw, ip4(opts["src"]) if "src" in opts else None, scope,
                    _int(opts.get("metric", "0"), "metric"), TABLE_IDS.get(table, table),
                    _int(opts.get("tos", "0"), "tos", 255), mtu=_int(opts.get("mtu", "0"), "mtu"))


def parse_host_file(text: str) -> Host:
    lo = Interface("lo", 1, 65536, bytes(6), 0, True, True, [Ifaddr(0x7F000001, 8, 0, SCOPE["host"])])
    ifaces: dict[str, Interface] = {"lo": lo}
    routes: list[FibEntry] = []
    forward, rpf = True, 0
    for n, line in enumerate(text.splitlines(), 1):
        w = _words(line)
        if not w:
            continue
        try:
            forward, rpf = _statement(w, ifaces, routes, forward, rpf)
        except HostError as e:
            raise e.at_line(n) from None
        except (IndexError, StopIteration):
            raise HostError(f"{w[0]}: incomplete statement", line=n) from None
    indexes: dict[int, str] = {}
    for i in ifaces.values():
        if i.index in indexes:
            raise HostError(f'iface {i.name}: index {i.index} is {indexes[i.index]}\'s already')
        indexes[i.index] = i.name
    for r in routes:
        if r.dev and r.dev not in ifaces:
            raise HostError(f'route: no interface "{r.dev}"')
    kernel = [r for i in ifaces.values() for r in kernel_routes(i)]
    for r in routes:
        if r.gateway is not None and r.dev is None:
            # fib_check_nh: a gateway without a device is reached through the subnet route covering it.
            link = next((k for k in kernel if k.table == "main" and k.covers(r.gateway)), None)
            if link is None:
                raise HostError(f"route: gateway {fmt4(r.gateway)} is not on a connected subnet")
            r.dev = link.dev
    return Host(list(ifaces.values()), kernel + routes, ip_forward=forward, rp_filter=rpf)


def _statement(w: list[str], ifaces: dict[str, Interface], routes: list[FibEntry], forward: bool,
               rpf: int) -> tuple[bool, int]:
    what = w[0]
    if what == "forward":
        if w[1] not in ("on", "off", "1", "0"):
            raise HostError(f'forward: expected on or off, not "{w[1]}"')
        return w[1] in ("on", "1"), rpf
    if what == "rp_filter":
        if w[1] not in ("0", "1", "2"):
            raise HostError(f'rp_filter: expected 0, 1 or 2, not "{w[1]}"')
        return forward, int(w[1])
    if what == "iface":
        name = w[1]
        if len(name.encode("utf-8", "surrogateescape")) > 15:  # IFNAMSIZ - 1
            raise HostError(f'iface: bad name "{name}" (expected at most 15 bytes)')
        iface = ifaces.get(name) or Interface(name, max(i.index for i in ifaces.values()) + 1)
        ifaces[name] = iface
        rest = w[2:]
        while rest:
            key = rest.pop(0)
            if key == "down":
                iface.up = False
            elif key in ("index", "mtu", "group"):
                lo, hi = (1, 2**31 - 1) if key == "index" else (0, U32)
                setattr(iface, key, _int(rest.pop(0), key, hi, lo))
            elif key == "mac":
                iface.mac = _mac(rest.pop(0))
            else:
                raise HostError(f'iface: unexpected "{key}"')
        return forward, rpf
    if what == "addr":
        iface = ifaces.get(w[1])
        if iface is None:
            raise HostError(f'addr: no interface "{w[1]}" (declare it with iface first)')
        addr, plen = w[2].partition("/")[0], _prefix(w[2])[1]
        a = Ifaddr(ip4(addr), plen)
        rest = w[3:]
        while rest:
            key = rest.pop(0)
            if key == "brd":
                a.broadcast = ip4(rest.pop(0))
            elif key == "scope":
                a.scope = _scope(rest.pop(0))
            else:
                raise HostError(f'addr: unexpected "{key}"')
        if any(p.local == a.local and p.prefixlen == plen for p in iface.ifaddrs):
            raise HostError(f"addr: {w[2]} is already on {iface.name} (the kernel answers EEXIST)")
        a.secondary = any(not p.secondary and p.prefixlen == plen and p.covers(a.local)
                          for p in iface.ifaddrs)
        if a.secondary:
            iface.ifaddrs.append(a)
        else:  # inet_insert_ifa: after the last primary of the same or a narrower scope
            at = 0
            for i, p in enumerate(iface.ifaddrs):
                if not p.secondary and a.scope <= p.scope:
                    at = i + 1
            iface.ifaddrs.insert(at, a)
        return forward, rpf
    if what == "route":
        routes.append(_route(w[1:]))
        return forward, rpf
    raise HostError(f'unknown statement "{what}" (expected forward, rp_filter, iface, addr or route)')

