"""Reading iproute2's JSON: ``ip -j addr show`` and ``ip -j route show table all``.

Theory of operation.  iproute2 prints a JSON list: one object per interface
(with its ``addr_info`` list) or per route (with a ``nexthops`` list when it
is multipath).  Only the keys the host needs are read, and each must have the
type iproute2 prints it with: counts and sizes as JSON numbers (``ifindex``,
``mtu``, ``prefixlen``, ``metric``), addresses and names as strings, and the
values ip(8) names from /etc/iproute2 (``group``, ``scope``, ``table``,
``tos``) as a string that is a name or a number (``ip -N`` prints numbers).
Anything else is a :class:`HostError` naming the entry (its position and its
``ifname`` or ``dst``), the key, what was expected and what was there::

    ip -j addr: entry 2 (ifname "eth0"), addr_info 1: "prefixlen" missing (expected an integer 0..32)

Non-UTF-8 bytes inside strings are kept (surrogate-escaped, as the ruleset's
interface names are): the kernel's interface names are bytes, and iproute2
prints them as they are.  IPv6 entries are skipped.
"""

from __future__ import annotations

import json
from typing import Any

from pynetfilter.netfilter.host import SCOPE, FibEntry, HostError, Ifaddr, Interface, ip4
from pynetfilter.netfilter.hostfile import _DEFAULT_SCOPE, _OCTET, ROUTE_TYPES, _prefix, number

IFNAMSIZ = 16  # a name is at most IFNAMSIZ - 1 bytes (dev_valid_name)
U32 = 0xFFFFFFFF
# rt_tables' reserved ids, as ``ip -N`` prints them: the names the host's fib uses.
TABLE_IDS = {"255": "local", "254": "main", "253": "default"}
ROUTE_TYPES_JSON = (*ROUTE_TYPES, "xresolve")  # rtnl_rtntype_n2a's names (RTN_*)
_MISSING = object()


def _show(value: Any) -> str:
    """A JSON value as an error shows it: short, on one line."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


class _Obj:
    """One JSON object of the output, with the words that name it in errors."""

    __slots__ = ("d", "where")

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise HostError(f"{where}: expected a JSON object, got {_show(value)}")
        self.d: dict[str, Any] = value
        self.where = where

    def fail(self, key: str, what: str, value: Any = _MISSING) -> HostError:
        if value is _MISSING:
            return HostError(f'{self.where}: "{key}" missing (expected {what})')
        return HostError(f'{self.where}: "{key}": expected {what}, got {_show(value)}')

    def get(self, key: str, what: str, default: Any) -> Any:
        v = self.d.get(key, _MISSING)
        if v is _MISSING:
            if default is _MISSING:
                raise self.fail(key, what)
            return default
        return v

    def string(self, key: str, what: str = "a string", default: Any = _MISSING) -> Any:
        v = self.get(key, what, default)
        if v is not default and not isinstance(v, str):
            raise self.fail(key, what, v)
        return v

    def uint(self, key: str, hi: int, default: Any = _MISSING, lo: int = 0) -> Any:
        what = f"an integer {lo}..{hi}"
        v = self.get(key, what, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(key, what, v)
        return v

    def named(self, key: str, names: dict[str, int], hi: int, what: str, default: int) -> int:
        """A value ip(8) prints by name or as a number: a name of *names*, else a number 0..hi."""
        v = self.get(key, what, default)
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= hi:
            return v
        if isinstance(v, str):
            if v in names:
                return names[v]
            n = number(v)
            if n is not None and n <= hi:
                return n
        raise self.fail(key, what, v)

    def addr(self, key: str, default: Any = _MISSING) -> Any:
        what = "an IPv4 address"
        v = self.string(key, what, default)
        if v is default:
            return v
        try:
            return ip4(v)
        except HostError:
            raise self.fail(key, what, v) from None

    def objects(self, key: str, what: str) -> list[_Obj]:
        """A list of objects (empty when the key is absent), each named for errors."""
        v = self.get(key, f"a list of {what}", [])
        if not isinstance(v, list):
            raise self.fail(key, f"a list of {what}", v)
        return [_Obj(x, f"{self.where}, {key} {i}") for i, x in enumerate(v, 1)]

    def strings(self, key: str) -> list[str]:
        v = self.get(key, "a list of strings", [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.fail(key, "a list of strings", v)
        return v


def _load(text: str, what: str, items: str) -> list[_Obj]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        at = e.doc[e.pos] if e.pos < len(e.doc) else ""
        found = f', found "{at}"' if at and not at.isprintable() else ""  # a control, a non-UTF-8 byte
        raise HostError(f"{what}: not JSON ({e.msg} at line {e.lineno} column {e.colno}{found})") from None
    except ValueError:  # an integer past int's digit limit
        raise HostError(f"{what}: not JSON (a number too long to read)") from None
    except RecursionError:
        raise HostError(f"{what}: not JSON as ip prints it (nested too deeply)") from None
    if not isinstance(data, list):
        raise HostError(f"{what}: expected a JSON list of {items}, got {_show(data)}")
    return [_Obj(e, f"{what}: entry {n}") for n, e in enumerate(data, 1)]


def _ifname(e: _Obj, key: str) -> str:
    what = f"an interface name (1 to {IFNAMSIZ - 1} bytes)"
    name = e.string(key, what)
    if not 0 < len(name.encode("utf-8", "surrogateescape")) < IFNAMSIZ:
        raise e.fail(key, what, name)
    return str(name)


def _mac(e: _Obj, key: str) -> bytes | None:
    what = "an Ethernet address (six hex octets, a:b:c:d:e:f)"
    text = e.string(key, what, None)
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 6 or not all(_OCTET.fullmatch(x) for x in parts):
        raise e.fail(key, what, text)
    return bytes(int(x, 16) for x in parts)


def parse_addr_json(text: str) -> list[Interface]:
    """``ip -j addr show`` -> the interfaces with their IPv4 addresses, in the kernel's order."""
    out: list[Interface] = []
    seen: dict[tuple[str, Any], int] = {}  # (key, value) -> the entry that has it
    for n, e in enumerate(_load(text, "ip -j addr", "interfaces"), 1):
        name = e.d.get("ifname")
        if isinstance(name, str):
            e.where += f' (ifname "{name[:IFNAMSIZ]}")'
        name = _ifname(e, "ifname")
        index = e.uint("ifindex", 2**31 - 1, lo=1)
        for key, value in (("ifname", name), ("ifindex", index)):
            if (key, value) in seen:
                raise HostError(f'{e.where}: "{key}" {_show(value)} again (entry {seen[key, value]} has it)')
            seen[key, value] = n
        flags = e.strings("flags")
        group = e.named("group", {"default": 0}, U32, "a device group (default, or a number)", 0)
        link_type = e.string("link_type", default="")
        mac = _mac(e, "address") if link_type == "ether" else None
        iface = Interface(name, index, e.uint("mtu", U32, 1500), mac, group, "UP" in flags,
                          "LOOPBACK" in flags)
        for a in e.objects("addr_info", "addresses"):
            family = a.string("family", '"inet" or "inet6"')
            if family != "inet":
                continue
            iface.ifaddrs.append(Ifaddr(a.addr("local"), a.uint("prefixlen", 32), a.addr("broadcast", 0),
                                        a.named("scope", SCOPE, 255, "a scope (global, link, host...)", 0),
                                        _flag(a, "secondary")))
        out.append(iface)
    return out


def _flag(e: _Obj, key: str) -> bool:
    v = e.get(key, "true or false", False)
    if not isinstance(v, bool):
        raise e.fail(key, "true or false", v)
    return v


def _is_ipv6(e: _Obj) -> bool:
    return any(":" in str(e.d.get(k, "")) for k in ("dst", "gateway", "prefsrc")) or "pref" in e.d


def parse_route_json(text: str) -> list[FibEntry]:
    """``ip -j route show table all`` -> the IPv4 routes (a multipath route by its first next hop)."""
    out: list[FibEntry] = []
    for e in _load(text, "ip -j route", "routes"):
        dst_text = e.d.get("dst")
        if isinstance(dst_text, str):
            e.where += f' (dst "{dst_text[:40]}")'
        if _is_ipv6(e):
            continue
        what = 'an IPv4 prefix (A.B.C.D, A.B.C.D/N or "default")'
        dst_text = e.string("dst", what)
        try:
            dst, plen = _prefix(dst_text)
        except HostError:
            raise e.fail("dst", what, dst_text) from None
        rtype = e.string("type", f"a route type ({', '.join(ROUTE_TYPES_JSON)})", "unicast")
        if rtype not in ROUTE_TYPES_JSON:
            raise e.fail("type", f"a route type ({', '.join(ROUTE_TYPES_JSON)})", rtype)
        flags = e.strings("flags")
        hops = e.objects("nexthops", "next hops")
        hop = hops[0] if hops else e  # multipath: the first next hop
        gw = hop.addr("gateway", None)
        dev = _ifname(hop, "dev") if "dev" in hop.d else None
        default_scope = _DEFAULT_SCOPE.get(rtype, 0 if gw else SCOPE["link"])
        table = e.get("table", "a table (local, main, default, or a number)", "main")
        if isinstance(table, int) and not isinstance(table, bool) and 0 <= table <= U32:
            table = str(table)
        if not isinstance(table, str) or not table:
            raise e.fail("table", "a table (local, main, default, or a number)", table)
        out.append(FibEntry(
            dst, plen, rtype, dev, gw, e.addr("prefsrc", None),
            e.named("scope", SCOPE, 255, "a scope (global, link, host...)", default_scope),
            e.uint("metric", U32, 0), TABLE_IDS.get(table, table),
            e.named("tos", {"default": 0}, 255, "a TOS (a number; ip -N prints names as numbers)", 0),
            "dead" in flags, _route_mtu(e),
        ))
    return out


def _route_mtu(e: _Obj) -> int:
    """The mtu metric of ``"metrics": [{"mtu": 1200}]`` (a locked one prints alike)."""
    for m in e.objects("metrics", "metrics"):
        if "mtu" in m.d:
            return int(m.uint("mtu", U32))
    return 0
