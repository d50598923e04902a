"""The IP input path around the hooks: options, ip_error, ip_forward's checks, and their ICMP errors.

Theory of operation. The pipeline calls these between PREROUTING and
INPUT/FORWARD: :func:`ip_rcv_options` compiles a datagram's options once its
route is known (netfilter.ipopts; a source route is dropped, as with
accept_source_route 0); :func:`ip_error` is a failed route's input function;
:func:`time_exceeded` is ip_forward's TTL check; :func:`forward_options`
finishes the options of a forwarded datagram after FORWARD. Three places in
the kernel's input path answer a datagram with an ICMP error and drop it,
before or instead of INPUT/FORWARD:

* ip_error, the input function of a failed route: net unreachable (no route
  at all), host unreachable (an ``unreachable`` route), communication
  administratively prohibited (``prohibit``: ICMP_PKT_FILTERED, code 13);
  a ``blackhole`` route drops silently, and so does a host that does not
  forward.  It is rate-limited per sender (ip_rt_error_cost 1 s, burst 5 s)
  on the same inet_peer bucket icmp_send's own limit then draws from;
* ip_forward: time exceeded in transit when the TTL would reach 0; then, before
  the FORWARD hook and the TTL decrement, fragmentation needed (with the
  next-hop MTU) for a datagram with DF set that is larger than the output
  route's MTU (:func:`ip_exceeds_mtu`: the route's mtu metric, else the
  device's).  A datagram without DF goes on and is fragmented after
  POSTROUTING, counted once;
* ip_options_compile: parameter problem, pointing at the bad option byte.

:func:`icmp_send` builds the error as __icmp_send does: none for a datagram
that was not addressed to this host at the link layer, was routed as broadcast
or multicast, is a later fragment, or is itself an ICMP error (or of an
unknown ICMP type); source address the destination when the datagram was for
this host, else the address the route back prefers; TOS ``(tos & 0x1E) |
0xC0``; the options that need it echoed (Record Route, timestamps, filled
with the reply's source); the per-destination rate limit (not towards
loopback, and never for fragmentation needed: PMTU discovery depends on
every one of them, icmpv4_xrlim_allow); the quote of the datagram as it is, header checksum included, up
to 576 bytes in all.  The caller runs the error through OUTPUT and
POSTROUTING (``Engine.send(..., generated=True)``), where it is counted.
The global limit (icmp_msgs_per_sec 1000, burst 50) is not modelled: a
capture at that rate is beyond what a replay is for.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from pynetfilter.netfilter import ipopts, reject
from pynetfilter.netfilter.ipopts import build_options, echo_options
from pynetfilter.netfilter.par import Event
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_DF, IPPROTO_ICMP, Icmp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.netfilter.pipeline import Engine, HookState
    from pynetfilter.packet.model import Packet

ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB = 3, 11, 12
ICMP_NET_UNREACH, ICMP_HOST_UNREACH, ICMP_FRAG_NEEDED, ICMP_PKT_FILTERED = 0, 1, 4, 13
IP_MAX_MTU = 0xFFFF
ICMP_EXC_TTL = 0
# ip_error: the errno of the failed route -> the unreachable code (EINVAL, a blackhole: none).
ROUTE_ERROR_CODE = {"ENETUNREACH": ICMP_NET_UNREACH, "EHOSTUNREACH": ICMP_HOST_UNREACH,
                    "EACCES": ICMP_PKT_FILTERED}
ERROR_COST, ERROR_BURST = 1.0, 5.0  # net.ipv4.route.error_cost / error_burst (HZ, 5 * HZ)


# --- the pipeline's entry points -------------------------------------------------------------


def ip_rcv_options(engine: Engine, pkt: Packet, route: Any, st: HookState) -> str | None:
    """ip_rcv_options: compile the options in place; the reason for a drop, or None."""
    host = engine.host
    opt, pp = ipopts.compile_options(pkt, _spec_dst(engine, pkt, route), st.now,
                                     lambda a: host.addr_type(a) == "UNICAST")
    if pp is not None:
        _emit(engine, pkt, st, lambda par: icmp_send(pkt, ICMP_PARAMETERPROB, 0, pp << 24, route, par))
        return f"bad IP option at byte {pp}"
    if opt.srr:
        return "source route option (accept_source_route is off)"
    return None


def ip_error(engine: Engine, pkt: Packet, route: Any, st: HookState) -> None:
    """dst_input of a failed route: the ICMP error (if any) is emitted into ``st.events``."""
    _emit(engine, pkt, st, lambda par: route_error(pkt, route, par))


def time_exceeded(engine: Engine, pkt: Packet, route: Any, st: HookState) -> None:
    """ip_forward's too_many_hops: time exceeded in transit."""
    _emit(engine, pkt, st, lambda par: icmp_send(pkt, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, route, par))


def ip_exceeds_mtu(engine: Engine, pkt: Packet, route: Any, st: HookState) -> bool:
    """ip_forward's MTU check: True (and fragmentation needed emitted) when *pkt* has DF set and is
    larger than the forward route's MTU.  A datagram larger than its input device's MTU cannot have
    come off that wire whole: it is a GSO packet (GRO, or TSO from a veth peer, as captures taken
    with offloads on show them), which passes when its segments fit (skb_gso_validate_network_len);
    their size is not in the capture, and the input device's MTU bounds it."""
    if pkt.frag_off & IP_DF == 0:
        return False
    mtu = dst_mtu(engine.host, route)
    length = wire.length(pkt)
    if length <= mtu:
        return False
    dev_in = engine.host.interfaces.get(pkt.meta.iif or "")
    if dev_in is not None and length > dev_in.mtu and dev_in.mtu <= mtu:
        return False
    _emit(engine, pkt, st, lambda par: icmp_send(pkt, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu, route, par))
    return True


def dst_mtu(host: Any, route: Any) -> int:
    """ip_dst_mtu_maybe_forward when forwarding: the route's mtu metric, else its device's MTU (a
    learned path MTU is not used for forwarding unless ip_forward_use_pmtu, default off)."""
    if route.mtu:
        return min(route.mtu, IP_MAX_MTU)
    dev = host.interfaces.get(route.oif or "")
    return min(dev.mtu if dev is not None else 1500, IP_MAX_MTU)


def forward_options(engine: Engine, pkt: Packet, route: Any) -> None:
    """ip_forward_options with ip_rt_get_source: the forward route's preferred source."""
    back = engine.host.route_output_addr(pkt.daddr, 0, None, pkt.tos)
    src = back.src if back.ok and back.src else engine.host.source_address(route.oif, pkt.daddr)
    ipopts.forward_options(pkt, src)


def _spec_dst(engine: Engine, pkt: Packet, route: Any) -> int:
    """fib_compute_spec_dst: the address this host answers the sender from."""
    if route.kind == "local" and route.type == "local":
        return pkt.daddr
    host = engine.host
    if pkt.saddr:
        back = host.route_output_addr(pkt.saddr, 0, None, pkt.tos)
        if back.ok and back.src:
            return int(back.src)
    dev = host.interfaces.get(pkt.meta.iif or "")
    return dev.ifaddrs[0].local if dev is not None and dev.ifaddrs else 0


def _emit(engine: Engine, pkt: Packet, st: HookState, make: Any) -> None:
    par = engine.new_par("", pkt, st)
    err = make(par)
    st.events.extend(par.events)
    if err is not None:
        st.events.append(Event("emit", "icmp_send", err))


# --- the ICMP errors ----------------------------------------------------------------------------


def route_error(pkt: Packet, route: Any, par: Par) -> Packet | None:
    """The ICMP error ip_error sends for a datagram whose input route failed, or None."""
    engine = par.engine
    if not engine.host.ip_forward:
        return None  # !IN_DEV_FORWARD: counted as an address error, no answer
    code = ROUTE_ERROR_CODE.get(route.error or "")
    if code is None:
        return None
    if not reject.peer_allow(engine, par.now, pkt.saddr, ERROR_COST, ERROR_BURST):
        par.log(f"ip_error: ICMP to {reject._dotted(pkt.saddr)} suppressed by the route error limit",
                kind="note")
        return None
    return icmp_send(pkt, ICMP_DEST_UNREACH, code, 0, route, par)


def icmp_send(pkt: Packet, typ: int, code: int, info: int, route: Any, par: Par) -> Packet | None:
    """__icmp_send for *pkt*, which took input route *route*: the error datagram, or None."""
    if pkt.meta.pkt_type != "host" or getattr(route, "type", "") in ("broadcast", "multicast"):
        return None
    if pkt.later_fragment:
        return None
    if pkt.proto == IPPROTO_ICMP:
        icmp = pkt.l4
        if not isinstance(icmp, Icmp) or icmp.type > reject.NR_ICMP_TYPES \
                or icmp.type in reject.ICMP_ERROR_TYPES:
            return None
    host = par.engine.host
    local = getattr(route, "kind", "") == "local" and getattr(route, "type", "") == "local"
    tos = (pkt.tos & reject.IPTOS_TOS_MASK) | reject.IPTOS_PREC_INTERNETCONTROL
    echoed = echo_options(pkt, lambda a: host.addr_type(a) == "UNICAST")
    if echoed is None:
        return None  # __ip_options_echo refused the options
    options, dopt = echoed
    back = host.route_output_addr(pkt.saddr, pkt.daddr if local else 0, None, tos)
    if not back.ok:
        return None
    saddr = pkt.daddr if local else (back.src if back.src is not None else pkt.daddr)
    pmtu = typ == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED  # icmpv4_xrlim_allow: never limited
    if back.kind != "local" and not pmtu and not reject.peer_allow(
            par.engine, par.now, pkt.saddr, reject.RATELIMIT, reject.BURST * reject.RATELIMIT):
        par.log(f"icmp_send: ICMP to {reject._dotted(pkt.saddr)} suppressed by icmp_ratelimit", kind="note")
        return None
    mtu = host.interfaces[back.oif].mtu if back.oif in host.interfaces else 1500
    room = min(mtu, reject.ICMP_QUOTE_MAX) - 20 - len(options) - 8
    if room <= 20:
        return None
    from pynetfilter.packet.wire import parse, to_bytes

    quote = to_bytes(pkt)[:room]
    header = struct.pack("!BBHI", typ, code, 0, info)
    body = header[:2] + (~reject.ones_sum(header + quote) & 0xFFFF).to_bytes(2, "big") + header[4:] + quote
    options = build_options(options, dopt, saddr, par.now)
    hl = 20 + len(options)
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x40 | hl // 4, tos, hl + len(body),
                               reject._ip_id(par, saddr, pkt.saddr), 0, reject.DEFAULT_TTL, IPPROTO_ICMP, 0,
                               saddr, pkt.saddr) + options)
    ip[10:12] = (~reject.ones_sum(bytes(ip)) & 0xFFFF).to_bytes(2, "big")
    err = parse(bytes(ip) + body)  # parsed back: NAT translates the embedded datagram as a Packet
    # Mark 0 (IP4_REPLY_MARK); the original's conntrack entry attached as RELATED (even one that
    # will never be confirmed, as after ip_error), as for REJECT's replies: the same icmp_send.
    err.meta = reject.reply_meta(pkt)
    return err
