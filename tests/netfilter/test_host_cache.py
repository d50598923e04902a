"""The host's routing caches: a cached answer is the one a fresh computation gives.

Host caches route_input/route_output/fib_lookup/source_address/addr_type answers and looks
routes up through a per-prefix-length index.  These tests change the host every way its
description can change (attributes of the host, an interface, an address or a route; an
interface's address list or multicast groups; the interface maps) and check that the answers
follow, and compare the indexed lookup with the linear scan it replaces.
"""

from __future__ import annotations

import random

from pynetfilter.netfilter.host import (
    ERRORS,
    IPTOS_RT_MASK,
    FibEntry,
    Host,
    Ifaddr,
    Interface,
    _alias_order,
    ip4,
)

HOST = ("iface r0\niface r1 mtu 1400\naddr r0 10.233.1.1/24\naddr r1 10.233.2.1/24\n"
        "route 10.233.50.0/24 via 10.233.2.9\nroute unreachable 10.233.51.0/24\n")


def host() -> Host:
    return Host.from_file(HOST)


def test_forwarding_switch_is_seen() -> None:
    h = host()
    assert h.route_input_addr(ip4("10.233.2.5"), ip4("10.233.1.2"), "r0").kind == "forward"
    h.ip_forward = False
    assert h.route_input_addr(ip4("10.233.2.5"), ip4("10.233.1.2"), "r0").kind == "unreachable"
    h.ip_forward = True
    assert h.route_input_addr(ip4("10.233.2.5"), ip4("10.233.1.2"), "r0").kind == "forward"


def test_an_added_address_is_seen() -> None:
    h = host()
    src = ip4("10.233.1.77")
    assert h.route_input_addr(ip4("10.233.2.5"), src, "r0").kind == "forward"
    h.interfaces["r1"].ifaddrs.append(Ifaddr(src, 32))  # the source becomes one of ours
    assert h.route_input_addr(ip4("10.233.2.5"), src, "r0").kind == "martian"
    h.interfaces["r1"].ifaddrs.pop()
    assert h.route_input_addr(ip4("10.233.2.5"), src, "r0").kind == "forward"


def test_address_and_interface_changes_are_seen() -> None:
    h = host()
    dev = h.interfaces["r1"]
    assert h.source_address("r1", ip4("10.233.2.5")) == ip4("10.233.2.1")
    dev.ifaddrs[0].local = ip4("10.233.2.3")
    assert h.source_address("r1", ip4("10.233.2.5")) == ip4("10.233.2.3")
    dev.ifaddrs = [Ifaddr(ip4("10.233.2.4"), 24)]
    assert h.source_address("r1", ip4("10.233.2.5")) == ip4("10.233.2.4")
    group = ip4("239.1.2.3")
    assert h.route_input_addr(group, ip4("10.233.2.5"), "r1").kind == "martian"
    dev.mcast.add(group)
    assert h.route_input_addr(group, ip4("10.233.2.5"), "r1").kind == "local"
    dev.up = False
    assert h.route_input_addr(group, ip4("10.233.2.5"), "r1").kind == "martian"


def test_route_changes_are_seen() -> None:
    h = host()
    dst = ip4("10.233.50.7")
    assert h.route_output_addr(dst).gateway == ip4("10.233.2.9")
    r = next(r for r in h._main if r.plen == 24 and r.gateway)
    r.gateway = ip4("10.233.2.8")
    assert h.route_output_addr(dst).gateway == ip4("10.233.2.8")
    r.type = "blackhole"
    assert h.route_output_addr(dst).kind == "blackhole"
    assert h.route_output_addr(ip4("10.233.3.5"), 0, "r2").error == "ENODEV"
    h.interfaces["r2"] = Interface("r2", 9, ifaddrs=[Ifaddr(ip4("10.233.3.1"), 24)])
    assert h.route_output_addr(ip4("10.233.3.5"), 0, "r2").oif == "r2"


def _linear(table: list[FibEntry], daddr: int, tos: int, oif: str | None) -> FibEntry | str:
    """fib_table_lookup as a scan of the whole table (what the index must answer)."""
    for r in table:
        if not r.covers(daddr) or (r.tos and r.tos != tos & IPTOS_RT_MASK):
            continue
        if r.type in ERRORS:
            return ERRORS[r.type]
        if oif is not None and r.dev != oif:
            continue
        return r
    return ""


def test_the_prefix_index_answers_as_the_linear_scan() -> None:
    rnd = random.Random(7)
    devs = ["r0", "r1", "r2"]
    for _ in range(30):
        routes = []
        for _ in range(rnd.randrange(1, 60)):
            plen = rnd.choice([0, 8, 16, 23, 24, 24, 25, 30, 32])
            dst = rnd.choice([0x0AE90000, 0x0AE90100, 0x0AE90180, 0x0A000000, 0xC0A80001]) & (
                (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0)
            if rnd.random() < 0.1:
                dst |= 1  # host bits set: such a route covers nothing
            kind = rnd.choice(["unicast", "unicast", "local", "blackhole", "throw"])
            routes.append(FibEntry(dst, plen, kind, rnd.choice(devs), tos=rnd.choice([0, 0, 0, 0x10]),
                                   metric=rnd.randrange(3), table=rnd.choice(["main", "local"])))
        h = Host([Interface(d, i + 2) for i, d in enumerate(devs)], routes)
        table = sorted(routes, key=_alias_order)
        for _ in range(200):
            daddr = rnd.choice([0x0AE90105, 0x0AE90181, 0x0AE90001, 0x0A010101, 0xC0A80001, 0x08080808])
            tos = rnd.choice([0, 0x10, 0x14])
            oif = rnd.choice([None, *devs])
            assert h._table_lookup(h._main, daddr, tos, oif) == _linear(table, daddr, tos, oif)
            assert h.fib_lookup(daddr, tos, oif) == h._fib_lookup(daddr, tos, oif)
