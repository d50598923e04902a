"""The replay's inputs, read as far as they go, with what they cannot tell noted (replay.warnings).

Theory of operation.  :func:`read_frames` turns a pcap or pcapng capture into
:class:`Frame` objects for the host: packets cut by the snap length are
padded with zeros up to their IP length (so the byte counters, which count the
whole datagram, stay exact), packets on interfaces the host files do not know
are skipped, and the capturing program's own count of lost packets (pcapng
interface statistics) is kept.  :func:`local_routes` gives the local table the
kernel builds from the addresses (fib_add_ifaddr) when the routes were taken
without it.  :func:`open_connections` finds TCP connections whose first
captured packet is not a SYN: the capture started after they opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pynetfilter.errors import PynfError
from pynetfilter.packet.model import Packet, Tcp
from pynetfilter.replay.capture import Frame, parse

if TYPE_CHECKING:
    from pynetfilter.netfilter.host import Host
    from pynetfilter.replay.warnings import Warnings

TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10


class ReplayError(PynfError):
    """A capture or host description the replay cannot use."""


def read_frames(path: str | bytes, host: Host, iface: str | None = None,
                warnings: Warnings | None = None) -> list[Frame]:
    """The capture's IPv4 packets in timestamp order (ARP, IPv6 and the like are skipped); *path*
    is the capture file's name, or its contents.  All of them: the replay itself streams
    (:func:`iter_frames` through a replay.window.Frames)."""
    frames = list(iter_frames(path, host, iface, warnings))
    frames.sort(key=lambda f: f.ts)  # stable: equal timestamps keep the capture's order
    return frames


def iter_frames(path: str | bytes, host: Host, iface: str | None = None,
                warnings: Warnings | None = None) -> Iterator[Frame]:
    """The capture's IPv4 packets in capture order, read as they are asked for."""
    from pynetfilter.io.pcap import open_capture

    macs: list[bytes] = []
    if iface is not None:
        dev = host.interfaces.get(iface)
        if dev is None:
            raise ReplayError(f"--iface {iface}: no such interface in the host's addresses")
        macs = [dev.mac] if dev.mac else []
    reader = open_capture(path, out_macs=macs)
    unknown: set[int] = set()
    unknown_names: set[str] = set()
    for rec in reader:
        if rec.ifindex is not None:
            dev = host.iface_by_index(rec.ifindex)
            if dev is None:
                if warnings is None:
                    raise ReplayError(f"packet {rec.number}: interface index {rec.ifindex} is not in the "
                                      "host's addresses (were they taken on the capturing host?)")
                extra = "" if rec.ifindex in unknown else f", interface index {rec.ifindex}"
                unknown.add(rec.ifindex)
                warnings.add("iface", rec.number, extra)
                continue
            name = dev.name
        elif iface is not None:
            name = iface
        elif rec.ifname is not None:  # pcapng of named interfaces (Ethernet)
            dev = host.interfaces.get(rec.ifname)
            if dev is None:
                if warnings is None:
                    raise ReplayError(f"packet {rec.number}: interface {rec.ifname} is not in the host's "
                                      "addresses (were they taken on the capturing host?)")
                warnings.add("iface", rec.number, "" if rec.ifname in unknown_names else f", {rec.ifname}")
                unknown_names.add(rec.ifname)
                continue
            name = dev.name
            if dev.mac and rec.src_mac == dev.mac:  # sent by this interface: no flags said so
                rec.direction = "Out"
        else:
            raise ReplayError("this capture does not say which interface each packet used: give --iface NAME")
        data = rec.data
        if len(data) < rec.orig_len:
            if warnings is not None:
                warnings.add("snaplen", rec.number, f", {len(data)} of its {rec.orig_len} bytes")
                if len(data) < _headers(data):
                    warnings.add("snapheader", rec.number, f", {len(data)} of {_headers(data)} bytes")
            data = data + bytes(rec.orig_len - len(data))
        yield Frame(rec.number, rec.ts, name, rec.direction == "Out", rec.pkt_type, data, rec.src_mac)
    drops = getattr(reader, "drops", 0)
    if drops and warnings is not None:
        parts = [f"interface {i.name or n}: isb_ifdrop {i.ifdrop}, isb_osdrop {i.osdrop}"
                 + (f", epb_dropcount {i.epb_drops}" if i.epb_drops else "")
                 for n, i in enumerate(reader.interfaces) if i.ifdrop or i.osdrop or i.epb_drops]  # type: ignore[attr-defined]
        warnings.add("drops", None, f"the pcapng interface statistics report {drops} dropped "
                     f"({'; '.join(parts)})", count=drops)


def _headers(data: bytes) -> int:
    """Bytes of IP and transport header a datagram starts with (what matches and conntrack read)."""
    if len(data) < 20:
        return 20
    ihl = (data[0] & 15) * 4
    later = int.from_bytes(data[6:8], "big") & 0x1FFF
    return ihl + (0 if later else {6: 20, 17: 8, 1: 8, 132: 12}.get(data[9], 0))


# --------------------------------------------------------------------------- routes without the local table


def has_local_table(route_json: str) -> bool:
    """Do the routes include the local table (``ip -j route show table all``)?"""
    try:
        routes = json.loads(route_json)
    except (ValueError, RecursionError):
        return True  # the host parser names the problem
    return not isinstance(routes, list) or any(isinstance(r, dict) and r.get("table") == "local"
                                               for r in routes)


def local_routes(addr_json: str) -> list[dict[str, Any]]:
    """The local table the kernel adds for the addresses (fib_add_ifaddr), as ``ip -j route``
    prints it: a local route per address, a broadcast route for the prefix's all-ones address
    (below /31) and for a ``brd`` given apart, and the whole prefix as local on a loopback device."""
    from pynetfilter.netfilter.host import fmt4
    from pynetfilter.netfilter.iproute import parse_addr_json

    out: list[dict[str, Any]] = []
    for dev in parse_addr_json(addr_json):
        for a in dev.ifaddrs:
            src = fmt4(a.local)
            base = {"dev": dev.name, "table": "local", "protocol": "kernel", "prefsrc": src}
            if dev.loopback and a.prefixlen < 32:
                net = a.local & (0xFFFFFFFF << (32 - a.prefixlen)) & 0xFFFFFFFF
                out.append({"type": "local", "dst": f"{fmt4(net)}/{a.prefixlen}", "scope": "host", **base})
            out.append({"type": "local", "dst": src, "scope": "host", **base})
            if a.prefixlen < 31:  # the prefix's all-ones address, whatever `brd` says
                bcast = a.local | (0xFFFFFFFF >> a.prefixlen)
                out.append({"type": "broadcast", "dst": fmt4(bcast), "scope": "link", **base})
            if a.broadcast and a.broadcast not in (0xFFFFFFFF, a.local | (0xFFFFFFFF >> a.prefixlen)):
                out.append({"type": "broadcast", "dst": fmt4(a.broadcast), "scope": "link", **base})
    return out


# --------------------------------------------------------------------------- connections open at the start


def _flow(p: Any) -> tuple[Any, ...]:
    a, b = (p.saddr, p.l4.sport), (p.daddr, p.l4.dport)
    return (min(a, b), max(a, b))


def open_connections(frames: Iterable[Frame], warnings: Warnings) -> None:
    """Note TCP connections whose first captured packet is an ACK (every segment of an open
    connection carries one) without SYN or RST, and of which the capture shows another segment
    that is no RST: a stray ACK (crafted, or one that outlived its connection) gets only a RST.

    One pass in time order; memory per connection, not per packet."""
    first_seg: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}  # its first non-RST segment
    more: set[tuple[Any, ...]] = set()  # connections with a second distinct non-RST segment
    firsts: dict[tuple[Any, ...], tuple[Frame, Packet]] = {}
    for f in frames:
        p = parse(f)
        if p is None or not isinstance(p.l4, Tcp) or p.is_fragment:
            continue
        k = _flow(p)
        if not p.l4.flags & TCP_RST:  # distinct segments: a router's egress copy is the same one
            seg = (p.saddr, p.l4.sport, p.l4.seq, p.l4.ack_seq, p.l4.flags)
            seen = first_seg.get(k)
            if seen is None:
                first_seg[k] = seg
            elif seen != seg:
                more.add(k)
        if k not in firsts:
            firsts[k] = (f, p)
    for k, (f, p) in sorted(firsts.items(), key=lambda kv: kv[1][0].ts):
        assert isinstance(p.l4, Tcp)
        fl = p.l4.flags
        if k in more and fl & TCP_ACK and not fl & (TCP_SYN | TCP_RST):
            from pynetfilter.replay.engine import describe

            warnings.add("midconn", f.n, f", {describe(p)}")
