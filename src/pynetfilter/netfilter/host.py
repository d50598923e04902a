"""The host a ruleset runs on: interfaces, addresses, routes, and the kernel's routing decisions.

Theory of operation.  A :class:`Host` holds what ``ip -j addr show`` and ``ip
-j route show table all`` print (or the small file format of
:mod:`pynetfilter.netfilter.hostfile`) and answers the questions netfilter's
callers ask the IPv4 routing code:

* ``route_input`` is ip_route_input: martian checks, the fib lookup, local
  delivery (local, broadcast, joined multicast), forwarding, or the error;
* ``route_output`` is ip_route_output_key: the source picked, local delivery
  over ``lo``, or out of an interface;
* ``addr_type`` is inet_dev_addr_type (-m addrtype), ``source_address`` is
  inet_select_addr on the route's next hop (MASQUERADE).

The fib is looked up as the kernel does without ``ip rule`` additions: the local and main
tables share one trie (longest prefix over both, local routes first on an equal prefix), then
the default table; other tables are kept but not consulted; inside a prefix, TOS then metric.
A Route's ``kind`` is the pipeline's disposition: "local", "forward" (leaves through ``oif``,
also for locally generated packets), or the failure ("unreachable", "blackhole", "prohibit",
"martian": martian addresses and failed source validation, rp_filter included); ``type`` is
the fib's RTN type, ``error`` the errno ``ip route get`` reports, ``mtu`` the mtu metric.

Every packet asks these questions, so the answers are cached by question (a route lookup then
costs one dict probe), and a fib table is searched through an index: per prefix length, in the
table's order, a map from destination to routes.  Both are dropped whenever the description
changes: assigning any attribute of the host, an interface, an address or a route, or editing
an interface's address list or groups or the host's interface maps moves a change counter the
caches are checked against (see ``host_changed``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.errors import PynfError

if TYPE_CHECKING:
    from pynetfilter.packet.model import Packet

# Route scopes (rtnetlink.h) and the names ip(8) prints for them.
SCOPE = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
# Route types whose lookup is an error (fib_props[].error) and the errno ip route get reports.
ERRORS = {"blackhole": "EINVAL", "unreachable": "EHOSTUNREACH", "prohibit": "EACCES", "throw": "EAGAIN",
          "nat": "EINVAL", "xresolve": "EINVAL"}
LOOPBACK_NET, MCAST_NET, ZERO_NET = 0x7F000000, 0xE0000000, 0x00000000
LBCAST = 0xFFFFFFFF
ALL_HOSTS = 0xE0000001  # 224.0.0.1, joined by every IPv4 interface that is up (ip_mc_up)
IPTOS_RT_MASK = 0x1C


class HostError(PynfError):
    """A host description (ip -j output or host file) that cannot be read."""


def ip4(text: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        raise HostError(f'bad IPv4 address "{text}"') from None


def fmt4(addr: int) -> str:
    return str(ipaddress.IPv4Address(addr))


def _mask(plen: int) -> int:
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0


def _is_loopback(a: int) -> bool:
    return a >> 24 == 127


def _is_multicast(a: int) -> bool:
    return a >> 28 == 0xE


# ipv4_is_zeronet as routing uses it now: only 0.0.0.0 (0.0.0.0/8 became ordinary unicast, Linux 5.3).
_is_zeronet = (0).__eq__


# --- change tracking: the routing caches' invalidation ------------------------------------------
#
# A Host answers the same questions for every packet of a flow, so its answers are cached (see
# Host._reset_caches).  They are good while nothing they were computed from changes: every attribute
# assignment on a Host, Interface, Ifaddr or FibEntry, and every edit of an interface's address
# list, its joined groups or the host's interface maps, moves this epoch, and a host whose
# caches were made in an older epoch drops them before its next answer.
_epoch = 0


def host_changed() -> None:
    """Something a routing answer depends on changed (called by the tracked objects themselves;
    only a change made behind their back, e.g. to a FibEntry list kept aside, needs it)."""
    global _epoch
    _epoch += 1


def _edit(method: Any) -> Any:
    def edit(self: Any, *args: Any, **kwargs: Any) -> Any:
        host_changed()
        return method(self, *args, **kwargs)

    edit.__name__ = method.__name__
    return edit


class _TrackedList(list):  # type: ignore[type-arg]
    """A list that tells the routing caches when it changes (an interface's addresses)."""

    __slots__ = ()


class _TrackedSet(set):  # type: ignore[type-arg]
    """A set that tells the routing caches when it changes (an interface's multicast groups)."""

    __slots__ = ()


class _TrackedDict(dict):  # type: ignore[type-arg]
    """A dict that tells the routing caches when it changes (the host's interfaces by name/index)."""

    __slots__ = ()


for _cls, _names in (
        (_TrackedList, ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
                        "__setitem__", "__delitem__", "__iadd__", "__imul__")),
        (_TrackedSet, ("add", "discard", "remove", "pop", "clear", "update", "difference_update",
                       "intersection_update", "symmetric_difference_update", "__ior__", "__iand__",
                       "__isub__", "__ixor__")),
        (_TrackedDict, ("__setitem__", "__delitem__", "pop", "popitem", "clear", "setdefault", "update",
                        "__ior__"))):
    for _name in _names:
        setattr(_cls, _name, _edit(getattr(_cls.__mro__[1], _name)))
del _cls, _names, _name


def _tracked(value: Any) -> Any:
    """*value* as its tracked kind (a plain list, set or dict is copied into one)."""
    t = type(value)
    if t is list:
        return _TrackedList(value)
    if t is set:
        return _TrackedSet(value)
    if t is dict:
        return _TrackedDict(value)
    return value


class _Tracked:
    """Mixin: assigning an attribute moves the epoch (containers become tracked ones)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        host_changed()
        object.__setattr__(self, name, _tracked(value))


@dataclass(slots=True)
class Ifaddr(_Tracked):
    """struct in_ifaddr: one IPv4 address of an interface, in the kernel's list order."""

    local: int
    prefixlen: int
    broadcast: int = 0
    scope: int = 0
    secondary: bool = False

    def covers(self, addr: int) -> bool:
        """inet_ifa_match: *addr* is in this address's subnet."""
        m = _mask(self.prefixlen)
        return (addr & m) == (self.local & m)


@dataclass(slots=True)
class Interface(_Tracked):
    name: str
    index: int
    mtu: int = 1500
    mac: bytes | None = None
    group: int = 0
    up: bool = True
    loopback: bool = False
    ifaddrs: list[Ifaddr] = field(default_factory=list)
    mcast: set[int] = field(default_factory=set)  # joined groups besides 224.0.0.1

    @property
    def addresses(self) -> list[tuple[int, int, int]]:
        """(address, prefix length, broadcast) of every IPv4 address, primaries and secondaries."""
        return [(a.local, a.prefixlen, a.broadcast) for a in self.ifaddrs]


@dataclass(slots=True)
class FibEntry(_Tracked):
    """One route (fib_alias + fib_info with a single next hop)."""

    dst: int
    plen: int
    type: str = "unicast"
    dev: str | None = None
    gateway: int | None = None
    prefsrc: int | None = None
    scope: int = 0
    metric: int = 0
    table: str = "main"
    tos: int = 0
    dead: bool = False
    mtu: int = 0  # the mtu metric (RTAX_MTU); 0: the device's MTU applies

    def covers(self, addr: int) -> bool:
        return (addr & _mask(self.plen)) == self.dst


@dataclass(frozen=True, slots=True)
class Route:
    """A routing decision: ``kind`` for the pipeline, the rest as ``ip route get`` shows it."""

    kind: str  # local, forward, unreachable, blackhole, prohibit, martian
    oif: str | None = None
    gateway: int | None = None
    src: int | None = None  # the preferred source (output), as ip route get's "src"
    table: str | None = None
    type: str = "unicast"  # RTN type: unicast, local, broadcast, multicast, or the failing type
    error: str | None = None  # errno name of a failure (EHOSTUNREACH, ENETUNREACH, EINVAL, EACCES)
    reason: str = ""
    mtu: int = 0  # the route's mtu metric, 0 if none (ip_input.dst_mtu: the MTU that applies)

    @property
    def ok(self) -> bool:
        return self.error is None


def _fail(kind: str, error: str, reason: str, rtype: str | None = None) -> Route:
    return Route(kind, type=rtype or kind, error=error, reason=reason)


_CACHE_MAX = 1 << 16  # answers a cache keeps before it starts over (each map is that bounded)


class Host(_Tracked):
    def __init__(self, interfaces: list[Interface], routes: list[FibEntry], *, ip_forward: bool = True,
                 rp_filter: int = 0) -> None:
        self.ip_forward = ip_forward
        self.rp_filter = rp_filter  # max(all, dev) of net.ipv4.conf.*.rp_filter, as IN_DEV_RPFILTER
        self.interfaces = {i.name: i for i in interfaces}
        self.by_index = {i.index: i for i in interfaces}
        self.routes = [r for r in routes if not r.dead]
        # One trie for local and main (fib_trie's merged tables), then the default table.
        key = _alias_order
        self._main = sorted((r for r in self.routes if r.table in ("local", "main")), key=key)
        self._default = sorted((r for r in self.routes if r.table == "default"), key=key)
        self._local = sorted((r for r in self.routes if r.table == "local"), key=key)
        self.custom_local_routes = any(r.table == "local" and r.type == "local" and r.plen < 32
                                       and not (r.dev == "lo" and r.dst == LOOPBACK_NET) for r in self.routes)
        self._reset_caches()

    # --- caches (valid for one epoch: see host_changed) ---------------------------------------

    def _reset_caches(self) -> None:
        """Forget every cached answer: the routing questions are asked again of the description.

        The answers are pure functions of the description and the question, so a cached one is
        the very answer a fresh computation gives (Routes are frozen: sharing one is safe)."""
        d = self.__dict__
        d["_cache_epoch"] = _epoch
        d["_c_in"] = {}  # route_input_addr
        d["_c_out"] = {}  # route_output_addr
        d["_c_fib"] = {}  # fib_lookup
        d["_c_dev"] = {}  # _dev_of_addr
        d["_c_src"] = {}  # source_address
        d["_c_type"] = {}  # addr_type
        d["_c_idx"] = {}  # id(fib table list) -> (the list, its prefix index)

    def _index(self, table: list[FibEntry]) -> list[tuple[int, dict[int, list[FibEntry]]]]:
        """*table* as runs of equal prefix length, in its order, each a map from the run's
        destinations to their aliases (in order): a lookup probes one dict per prefix length
        instead of testing every route."""
        got = self._c_idx.get(id(table))
        if got is not None and got[0] is table:
            return got[1]  # type: ignore[no-any-return]
        runs: list[tuple[int, dict[int, list[FibEntry]]]] = []
        plen = -1
        for r in table:
            if r.plen != plen or not runs:
                plen = r.plen
                runs.append((_mask(plen), {}))
            runs[-1][1].setdefault(r.dst, []).append(r)
        self._c_idx[id(table)] = (table, runs)
        return runs

    # --- construction -----------------------------------------------------------

    @classmethod
    def from_iproute(cls, addr_json: str, route_json: str, *, ip_forward: bool = True,
                     rp_filter: int = 0, names: tuple[str, str] | None = None) -> Host:
        """From ``ip -j addr show`` and ``ip -j route show table all`` output (see
        pynetfilter.netfilter.iproute); *names*: the two files', for errors."""
        from pynetfilter.netfilter.iproute import parse_addr_json, parse_route_json

        try:
            ifaces = parse_addr_json(addr_json)
        except PynfError as e:
            raise (e.in_file(names[0]) if names else e) from None
        try:
            routes = parse_route_json(route_json)
        except PynfError as e:
            raise (e.in_file(names[1]) if names else e) from None
        return cls(ifaces, routes, ip_forward=ip_forward, rp_filter=rp_filter)

    @classmethod
    def from_file(cls, text: str) -> Host:
        """From the hand-written host file format (see pynetfilter.netfilter.hostfile)."""
        from pynetfilter.netfilter.hostfile import parse_host_file

        return parse_host_file(text)

    # --- look-ups ---------------------------------------------------------------

    def iface_by_index(self, i: int) -> Interface | None:
        return self.by_index.get(i)

    def _dev_of_addr(self, addr: int) -> Interface | None:
        """__ip_dev_find: the interface holding *addr* (up or not)."""
        if self._cache_epoch != _epoch:
            self._reset_caches()
        cache = self._c_dev
        try:
            return cache[addr]  # type: ignore[no-any-return]
        except KeyError:
            pass
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        dev = cache[addr] = self._find_dev_of_addr(addr)
        return dev

    def _find_dev_of_addr(self, addr: int) -> Interface | None:
        for dev in self.interfaces.values():
            if any(a.local == addr for a in dev.ifaddrs):
                return dev
        r = self._table_lookup(self._local, addr, 0, None)
        if isinstance(r, FibEntry) and r.type == "local" and r.dev:
            return self.interfaces.get(r.dev)
        return None

    def _table_lookup(self, table: list[FibEntry], daddr: int, tos: int, oif: str | None) -> FibEntry | str:
        """fib_table_lookup: the first usable alias by prefix length; an errno name, or "" if none."""
        if self._cache_epoch != _epoch:
            self._reset_caches()
        rtos = tos & IPTOS_RT_MASK
        for mask, dsts in self._index(table):
            aliases = dsts.get(daddr & mask)  # the run's aliases that cover daddr
            if aliases is None:
                continue
            for r in aliases:
                if r.tos and r.tos != rtos:
                    continue
                if r.type in ERRORS:
                    return ERRORS[r.type]
                if oif is not None and r.dev != oif:
                    continue  # fib_lookup_good_nhc: the next hop must use the requested device
                return r
        return ""

    def fib_lookup(self, daddr: int, tos: int = 0, oif: str | None = None) -> FibEntry | str:
        """fib_lookup without custom rules: main (with local merged), then default."""
        if self._cache_epoch != _epoch:
            self._reset_caches()
        cache = self._c_fib
        key = (daddr, tos, oif)
        res = cache.get(key)
        if res is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            res = cache[key] = self._fib_lookup(daddr, tos, oif)
        return res

    def _fib_lookup(self, daddr: int, tos: int, oif: str | None) -> FibEntry | str:
        res = self._table_lookup(self._main, daddr, tos, oif)
        if isinstance(res, FibEntry):
            return res
        if res in ("", "EAGAIN"):  # no match, or a throw route: the default table's rule is next
            res = self._table_lookup(self._default, daddr, tos, oif)
            if isinstance(res, FibEntry):
                return res
        return "ENETUNREACH" if res in ("", "EAGAIN") else res

    def _validate_source(self, saddr: int, daddr: int, tos: int, oif: str | None, dev: str) -> str | None:
        """fib_validate_source: None if acceptable, else the errno name."""
        rpf = self.rp_filter
        # The fast path: without rp_filter only "is the source one of ours" is checked, unless the
        # packet leaves where it came in (a redirect case) or local routes were added by hand.
        if not rpf and dev != oif and not self.custom_local_routes:
            return "EINVAL" if self._dev_of_addr(saddr) is not None else None
        res = self.fib_lookup(saddr, tos)
        if isinstance(res, str):
            return "EINVAL" if rpf else None
        if res.type != "unicast":
            return "EINVAL"
        if res.dev == dev:
            return None
        if not self.interfaces[dev].ifaddrs:
            return "EINVAL" if rpf else None
        return "EINVAL" if rpf == 1 else None

    def route_input(self, pkt: Packet, iif: str) -> Route:
        """ip_route_input: what happens to *pkt* arriving on *iif* after PREROUTING."""
        if iif not in self.interfaces:
            raise HostError(f'no interface "{iif}" on this host')
        # route_input_addr(pkt.daddr, pkt.saddr, iif, pkt.tos), its cache probe written out
        if self._cache_epoch != _epoch:
            self._reset_caches()
        key = (pkt.daddr, pkt.saddr, iif, pkt.tos)
        route = self._c_in.get(key)
        if route is None:
            route = self.route_input_addr(*key)
        return route

    def route_input_addr(self, daddr: int, saddr: int, iif: str, tos: int = 0) -> Route:
        if self._cache_epoch != _epoch:
            self._reset_caches()
        cache = self._c_in
        key = (daddr, saddr, iif, tos)
        route = cache.get(key)
        if route is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            route = cache[key] = self._route_input_addr(daddr, saddr, iif, tos)
        return route

    def _route_input_addr(self, daddr: int, saddr: int, iif: str, tos: int) -> Route:
        dev = self.interfaces[iif]
        if _is_multicast(daddr):
            joined = dev.up and (daddr == ALL_HOSTS or daddr in dev.mcast)
            if not joined or _is_multicast(saddr) or saddr == LBCAST:
                return _fail("martian", "EINVAL", "multicast not joined", "multicast")
            if not _is_zeronet(saddr) and self._validate_source(saddr, daddr, tos, None, iif):
                return _fail("martian", "EINVAL", "martian source", "multicast")
            return Route("local", "lo", type="multicast")
        if _is_multicast(saddr) or saddr == LBCAST:
            return _fail("martian", "EINVAL", "martian source")
        if daddr == LBCAST or (saddr == 0 and daddr == 0):
            return self._broadcast_in(saddr, daddr, tos, iif)
        if _is_zeronet(saddr) or _is_loopback(saddr) and not _is_loopback(daddr):
            return _fail("martian", "EINVAL", "martian source")
        if _is_zeronet(daddr) or _is_loopback(daddr):
            return _fail("martian", "EINVAL", "martian destination")
        res = self.fib_lookup(daddr, tos)
        if isinstance(res, str):
            if not self.ip_forward:
                res = "EHOSTUNREACH"
            return _fail(_KIND_OF_ERROR.get(res, "unreachable"), res, "no route")
        if res.type == "broadcast":
            return self._broadcast_in(saddr, daddr, tos, iif)
        if res.type == "local":
            err = self._validate_source(saddr, daddr, tos, None, iif)
            if err:
                return _fail("martian", err, "martian source")
            return Route("local", "lo", src=None, table=res.table, type="local")
        if not self.ip_forward:
            return _fail("unreachable", "EHOSTUNREACH", "forwarding disabled")
        if res.type != "unicast":
            return _fail("martian", "EINVAL", "martian destination", res.type)
        err = self._validate_source(saddr, daddr, tos, res.dev, iif)
        if err:
            return _fail("martian", err, "martian source")
        return Route("forward", res.dev, res.gateway, table=res.table, mtu=res.mtu)

    def _broadcast_in(self, saddr: int, daddr: int, tos: int, iif: str) -> Route:
        if not _is_zeronet(saddr):
            err = self._validate_source(saddr, 0, tos, None, iif)
            if err:
                return _fail("martian", err, "martian source", "broadcast")
        return Route("local", "lo", type="broadcast")

    def route_output(self, pkt: Packet) -> Route:
        """ip_route_output_key for a local *pkt* (saddr 0: the kernel picks; bound_dev: SO_BINDTODEVICE)."""
        return self.route_output_addr(pkt.daddr, pkt.saddr, pkt.meta.bound_dev, pkt.tos)

    def route_output_addr(self, daddr: int, saddr: int = 0, oif: str | None = None, tos: int = 0) -> Route:
        if self._cache_epoch != _epoch:
            self._reset_caches()
        cache = self._c_out
        key = (daddr, saddr, oif, tos)
        route = cache.get(key)
        if route is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            route = cache[key] = self._route_output_addr(daddr, saddr, oif, tos)
        return route

    def _route_output_addr(self, daddr: int, saddr: int, oif: str | None, tos: int) -> Route:
        dev: Interface | None = None
        if saddr:
            if _is_multicast(saddr) or saddr == LBCAST or _is_zeronet(saddr):
                return _fail("martian", "EINVAL", "bad source")
            found = self._dev_of_addr(saddr)
            if found is None:
                return _fail("unreachable", "ENETUNREACH", "source is not a local address")
            if oif is None and (_is_multicast(daddr) or daddr == LBCAST):
                return self._make_output(daddr, saddr, found, None)
        if oif is not None:
            dev = self.interfaces.get(oif)
            if dev is None:
                return _fail("unreachable", "ENODEV", f'no interface "{oif}"')
            if not dev.up:
                return _fail("unreachable", "ENETUNREACH", "interface down")
            if (daddr & 0xFFFFFF00) == MCAST_NET or daddr == LBCAST:
                return self._make_output(daddr, saddr or self.select_addr(dev, 0, SCOPE["link"]), dev, None)
            if not saddr and _is_multicast(daddr):
                saddr = self.select_addr(dev, 0, 0)
        if not daddr:
            src = saddr or LOOPBACK_NET + 1
            return Route("local", "lo", src=src, type="local")
        res = self.fib_lookup(daddr, tos, oif)
        if isinstance(res, str):
            if dev is not None:  # "the destination is on link" when an interface was given
                return self._make_output(daddr, saddr or self.select_addr(dev, 0, SCOPE["link"]), dev, None)
            return _fail(_KIND_OF_ERROR.get(res, "unreachable"), res, "no route")
        if res.type == "local":
            src = saddr or res.prefsrc or daddr
            return Route("local", "lo", src=src, table=res.table, type="local")
        out = self.interfaces.get(res.dev or "")
        if out is None:
            return _fail("unreachable", "ENETUNREACH", "route without a device")
        if not saddr:
            saddr = res.prefsrc or self.select_addr(out, res.gateway or 0, res.scope)
        return self._make_output(daddr, saddr, out, res)

    def _make_output(self, daddr: int, saddr: int, dev: Interface, res: FibEntry | None) -> Route:
        """__mkroute_output: the route type from the destination, local delivery over lo."""
        if _is_loopback(saddr) and not dev.loopback:
            return _fail("martian", "EINVAL", "loopback source out of a non-loopback device")
        rtype = res.type if res is not None else "unicast"
        if daddr == LBCAST:
            rtype = "broadcast"
        elif _is_multicast(daddr):
            rtype = "multicast"
        elif _is_zeronet(daddr):
            return _fail("martian", "EINVAL", "zero destination")
        gw = res.gateway if res is not None and rtype not in ("broadcast", "multicast") else None
        table = res.table if res is not None else None
        kind = "local" if dev.loopback else "forward"
        return Route(kind, dev.name, gw, src=saddr, table=table, type=rtype, mtu=res.mtu if res else 0)

    def select_addr(self, dev: Interface, dst: int, scope: int) -> int:
        """inet_select_addr: a primary address of *dev* within *scope* (on *dst*'s subnet if
        possible), else any interface's non-link-scope primary address."""
        addr = 0
        for a in dev.ifaddrs:
            if a.secondary or min(a.scope, SCOPE["host"]) > scope:
                continue
            if not dst or a.covers(dst):
                return a.local
            addr = addr or a.local
        if addr:
            return addr
        for other in self.interfaces.values():  # in the kernel's device list order, lo first
            for a in other.ifaddrs:
                if not a.secondary and a.scope != SCOPE["link"] and min(a.scope, SCOPE["host"]) <= scope:
                    return a.local
        return 0

    def source_address(self, oif: str, daddr: int) -> int:
        """MASQUERADE's source: inet_select_addr(oif, next hop, universe); 0 if there is none."""
        if self._cache_epoch != _epoch:
            self._reset_caches()
        cache = self._c_src
        key = (oif, daddr)
        src = cache.get(key)
        if src is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            src = cache[key] = self._source_address(oif, daddr)
        return src

    def _source_address(self, oif: str, daddr: int) -> int:
        dev = self.interfaces.get(oif)
        if dev is None:
            return 0
        res = self.fib_lookup(daddr, 0, oif)
        nexthop = res.gateway if isinstance(res, FibEntry) and res.gateway else daddr
        return self.select_addr(dev, nexthop, 0)

    def addr_type(self, addr: int, dev: str | None = None) -> str:
        """inet_dev_addr_type: the RTN name xt_addrtype tests (limit-iface: the route must use *dev*)."""
        if self._cache_epoch != _epoch:
            self._reset_caches()
        cache = self._c_type
        key = (addr, dev)
        name = cache.get(key)
        if name is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            name = cache[key] = self._addr_type(addr, dev)
        return name

    def _addr_type(self, addr: int, dev: str | None) -> str:
        if _is_zeronet(addr) or addr == LBCAST:
            return "BROADCAST"
        if _is_multicast(addr):
            return "MULTICAST"
        # The local table shares the main table's trie, so both are searched here.
        res = self._table_lookup(self._main, addr, 0, None)
        if isinstance(res, FibEntry) and (dev is None or res.dev == dev):
            return res.type.upper()
        return "UNICAST"


_KIND_OF_ERROR = {"EINVAL": "blackhole", "EACCES": "prohibit", "EHOSTUNREACH": "unreachable"}


def _alias_order(r: FibEntry) -> tuple[int, int, int, int]:
    # Longest prefix first; on a prefix, local-table aliases first (tb_id 255 > 254), then TOS
    # (a TOS-specific route before the TOS-0 one), then metric.
    return (-r.plen, 0 if r.table == "local" else 1, -r.tos, r.metric)
