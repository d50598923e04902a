"""Reading host descriptions: ``ip -j addr``/``ip -j route`` output, and a small hand-written format.

The hand-written format is one statement a line (``#`` starts a comment)::

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

import json
from typing import Any

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


def _scope(word: Any) -> int:
    if isinstance(word, int):
        return word
    if str(word) in SCOPE:
        return SCOPE[str(word)]
    if str(word).isdigit():
        return int(word)
    raise HostError(f'bad scope "{word}"')


def _int(word: Any, what: str) -> int:
    try:
        return int(str(word), 0)
    except ValueError:
        raise HostError(f'bad {what} "{word}"') from None


def _mac(text: str) -> bytes:
    try:
        return bytes(int(x, 16) for x in text.split(":"))
    except ValueError:
        raise HostError(f'bad MAC address "{text}"') from None


def _prefix(text: str) -> tuple[int, int]:
    if text == "default":
        return 0, 0
    addr, _, plen = text.partition("/")
    n = _int(plen, "prefix length") if plen else 32
    if not 0 <= n <= 32:
        raise HostError(f'bad prefix length in "{text}"')
    return ip4(addr) & _mask(n), n


# --- ip -j output -----------------------------------------------------------------


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise HostError(f"{what}: not JSON ({e.msg} at line {e.lineno})") from None


def parse_addr_json(text: str) -> list[Interface]:
    data = _load(text, "ip -j addr")
    if not isinstance(data, list):
        raise HostError("ip -j addr: expected a JSON list of interfaces")
    out = []
    for e in data:
        if not isinstance(e, dict) or "ifname" not in e or "ifindex" not in e:
            raise HostError("ip -j addr: an entry without ifname/ifindex")
        flags = e.get("flags", [])
        group = e.get("group", "default")
        mac = e.get("address") if e.get("link_type") == "ether" else None
        iface = Interface(
            e["ifname"], _int(e["ifindex"], "ifindex"), _int(e.get("mtu", 1500), "mtu"),
            _mac(mac) if mac else None, 0 if group == "default" else _int(group, "group"),
            "UP" in flags, "LOOPBACK" in flags,
        )
        for a in e.get("addr_info", []):
            if a.get("family") != "inet":
                continue
            brd = a.get("broadcast")
            iface.ifaddrs.append(Ifaddr(ip4(a["local"]), _int(a["prefixlen"], "prefixlen"),
                                        ip4(brd) if brd else 0, _scope(a.get("scope", "global")),
                                        bool(a.get("secondary", False))))
        out.append(iface)
    return out


def _is_ipv6(e: dict[str, Any]) -> bool:
    return any(":" in str(e.get(k, "")) for k in ("dst", "gateway", "prefsrc")) or "pref" in e


def parse_route_json(text: str) -> list[FibEntry]:
    data = _load(text, "ip -j route")
    if not isinstance(data, list):
        raise HostError("ip -j route: expected a JSON list of routes")
    out = []
    for e in data:
        if not isinstance(e, dict) or "dst" not in e:
            raise HostError("ip -j route: an entry without dst")
        if _is_ipv6(e):
            continue
        rtype = e.get("type", "unicast")
        dst, plen = _prefix(e["dst"])
        flags = e.get("flags", [])
        hop = e["nexthops"][0] if e.get("nexthops") else e  # multipath: the first next hop
        gw = hop.get("gateway")
        scope = e.get("scope")
        out.append(FibEntry(
            dst, plen, rtype, hop.get("dev"), ip4(gw) if gw else None,
            ip4(e["prefsrc"]) if e.get("prefsrc") else None,
            _scope(scope) if scope is not None else _DEFAULT_SCOPE.get(rtype, 0 if gw else SCOPE["link"]),
            _int(e.get("metric", 0), "metric"), str(e.get("table", "main")),
            _int(e.get("tos", 0), "tos") if e.get("tos") not in (None, "default") else 0,
            "dead" in flags, _route_mtu(e.get("metrics", [])),
        ))
    return out


def _route_mtu(metrics: Any) -> int:
    """The mtu metric of ``ip -j route``'s ``"metrics": [{"mtu": 1200}]`` (a locked one prints alike)."""
    if not isinstance(metrics, list):
        raise HostError("ip -j route: metrics is not a list")
    mtu = next((m["mtu"] for m in metrics if isinstance(m, dict) and "mtu" in m), 0)
    return _int(mtu, "mtu")


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
    return FibEntry(dst, plen, rtype, opts.get("dev"), gw, ip4(opts["src"]) if "src" in opts else None, scope,
                    _int(opts.get("metric", 0), "metric"), opts.get("table", "main"),
                    _int(opts.get("tos", 0), "tos"), mtu=_int(opts.get("mtu", 0), "mtu"))


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
        rpf = _int(w[1], "rp_filter")
        if rpf not in (0, 1, 2):
            raise HostError(f'rp_filter: expected 0, 1 or 2, not "{w[1]}"')
        return forward, rpf
    if what == "iface":
        name = w[1]
        iface = ifaces.get(name) or Interface(name, max(i.index for i in ifaces.values()) + 1)
        ifaces[name] = iface
        rest = w[2:]
        while rest:
            key = rest.pop(0)
            if key == "down":
                iface.up = False
            elif key in ("index", "mtu", "group"):
                setattr(iface, key, _int(rest.pop(0), key))
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

