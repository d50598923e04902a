"""IP options as the kernel's input path handles them (net/ipv4/ip_options.c).

Theory of operation. After PREROUTING and the input route lookup,
ip_rcv_finish compiles a datagram's options (:func:`compile_options`, the
kernel's ip_options_compile with an skb): it checks them (an error is an ICMP
parameter problem and a drop), and it writes into the datagram in place:
Record Route gets the address the host would answer from
(fib_compute_spec_dst) and its pointer advanced, a timestamp option the time
(and address), a full timestamp option its overflow count. The IP header
checksum is *not* fixed then, so INPUT and FORWARD see a header that no longer
sums to zero: that is why netfilter's checksum check (nf_ip_checksum, which
sums from the IP header on) fails in REJECT for such a datagram and the kernel
sends no reply, while the ICMP errors of the IP stack itself (ip_error, time
exceeded) go out and quote the header with the old checksum. The result is
kept in ``pkt.meta.ip_opt`` (IPCB(skb)->opt) as :class:`IpOptions`, the
checksum's error in ``pkt.ip_residual`` (which ``wire.to_bytes`` writes back).
A forwarded datagram then gets its Record Route slot rewritten with the
outgoing route's source and its checksum recomputed after the FORWARD hook
(:func:`forward_options`, ip_forward_options). An ICMP error echoes the
options that need it (:func:`echo_options`, __ip_options_echo) and fills them
as it goes out (:func:`build_options`, ip_options_build). Source routes are
dropped (accept_source_route is 0 by default), so the source-route halves of
those functions are not needed. """

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynetfilter.packet.model import Packet

IPOPT_END, IPOPT_NOOP, IPOPT_RR, IPOPT_TIMESTAMP, IPOPT_RA = 0, 1, 7, 68, 148
IPOPT_LSRR, IPOPT_SSRR, IPOPT_CIPSO = 131, 137, 134
IPOPT_TS_TSONLY, IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC = 0, 1, 3
HDR = 20  # option offsets are from the start of the IP header, as in struct ip_options


@dataclass(slots=True)
class IpOptions:
    """struct ip_options after compiling: where each option is and what the kernel still has to fill."""

    optlen: int = 0
    rr: int = 0
    rr_needaddr: bool = False
    ts: int = 0
    ts_needaddr: bool = False
    ts_needtime: bool = False
    srr: int = 0
    router_alert: int = 0
    cipso: int = 0


def _sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def timestamp_ms(now: float) -> int:
    """inet_current_timestamp: milliseconds since midnight UT."""
    return int(now % 86400 * 1000) & 0xFFFFFFFF


def compile_options(pkt: Packet, spec_dst: int, now: float,
                    unicast: object = None) -> tuple[IpOptions, int | None]:
    """ip_options_compile(net, opt, skb): (the compiled options, None) or (…, pp_ptr) on an error,
    pp_ptr being the offset from the IP header the ICMP parameter problem points at.
    *unicast*: a callable telling whether an address is a unicast one of this host's (prespecified
    timestamps name the hosts that are to stamp)."""
    buf = bytearray(pkt.ip_options)
    before = _sum(bytes(buf))
    opt = IpOptions(optlen=len(buf))
    pp = _walk(buf, opt, spec_dst, timestamp_ms(now), unicast)
    pkt.ip_options = bytes(buf)
    # The header checksum stays what it was: the packet carries the difference (wire.to_bytes).
    pkt.ip_residual = (pkt.ip_residual + before - _sum(bytes(buf))) % 0xFFFF
    pkt.meta.ip_opt = opt
    return opt, pp


def _walk(buf: bytearray, opt: IpOptions, spec_dst: int, ms: int, unicast: object) -> int | None:
    i, left = 0, len(buf)
    while left > 0:
        kind = buf[i]
        if kind == IPOPT_END:
            for j in range(i + 1, len(buf)):  # the rest is padding: made END
                buf[j] = IPOPT_END
            return None
        if kind == IPOPT_NOOP:
            i, left = i + 1, left - 1
            continue
        if left < 2:
            return HDR + i
        olen = buf[i + 1]
        if olen < 2 or olen > left:
            return HDR + i
        o = buf[i:i + olen]  # a copy; written back below
        pp = _one(kind, o, i, opt, spec_dst, ms, unicast)
        buf[i:i + olen] = o
        if pp is not None:
            return HDR + i + pp
        i, left = i + olen, left - olen
    return None


def _one(kind: int, o: bytearray, i: int, opt: IpOptions, spec_dst: int, ms: int,
         unicast: object) -> int | None:
    """One option at offset *i* of the options: None, or the error's offset inside the option."""
    olen = len(o)
    here = HDR + i
    if kind in (IPOPT_SSRR, IPOPT_LSRR):
        if olen < 3:
            return 1
        if o[2] < 4:
            return 2
        if opt.srr:
            return 0
        opt.srr = here
    elif kind == IPOPT_RR:
        if opt.rr:
            return 0
        if olen < 3:
            return 1
        if o[2] < 4:
            return 2
        if o[2] <= olen:
            if o[2] + 3 > olen:
                return 2
            o[o[2] - 1:o[2] + 3] = spec_dst.to_bytes(4, "big")
            o[2] += 4
            opt.rr_needaddr = True
        opt.rr = here
    elif kind == IPOPT_TIMESTAMP:
        return _timestamp(o, here, opt, spec_dst, ms, unicast)
    elif kind == IPOPT_RA:
        if olen < 4:
            return 1
        if o[2] == 0 and o[3] == 0:
            opt.router_alert = here
    elif kind == IPOPT_CIPSO:
        if opt.cipso:
            return 0
        opt.cipso = here
        # cipso_v4_validate: no CIPSO DOI is configured on a plain host, so every one is refused.
        return 1 if olen < 8 else 2
    return None  # IPOPT_SEC, IPOPT_SID and unknown options are passed on as they are


def _timestamp(o: bytearray, here: int, opt: IpOptions, spec_dst: int, ms: int,
               unicast: object) -> int | None:
    olen = len(o)
    if opt.ts:
        return 0
    if olen < 4:
        return 1
    if o[2] < 5:
        return 2
    if o[2] > olen:  # full: count the overflow
        overflow = o[3] >> 4
        if overflow == 15:
            return 3
        opt.ts = here
        o[3] = (o[3] & 0xF) | (overflow + 1) << 4
        return None
    if o[2] + 3 > olen:
        return 2
    flag, timeat = o[3] & 0xF, None
    if flag == IPOPT_TS_TSONLY:
        opt.ts, timeat = here, o[2] - 1
        opt.ts_needtime = True
        o[2] += 4
    elif flag == IPOPT_TS_TSANDADDR:
        if o[2] + 7 > olen:
            return 2
        opt.ts = here
        o[o[2] - 1:o[2] + 3] = spec_dst.to_bytes(4, "big")
        timeat = o[2] + 3
        opt.ts_needaddr = opt.ts_needtime = True
        o[2] += 8
    elif flag == IPOPT_TS_PRESPEC:
        if o[2] + 7 > olen:
            return 2
        opt.ts = here
        addr = int.from_bytes(o[o[2] - 1:o[2] + 3], "big")
        if callable(unicast) and unicast(addr):
            return None  # another host's turn
        timeat = o[2] + 3
        opt.ts_needtime = True
        o[2] += 8
    if timeat is not None:
        o[timeat:timeat + 4] = ms.to_bytes(4, "big")
    return None


def forward_options(pkt: Packet, out_src: int) -> None:
    """ip_forward_options: the Record Route slot gets the outgoing route's source; checksum fixed."""
    opt = pkt.meta.ip_opt
    if opt is None or not opt.optlen:
        return
    if opt.rr_needaddr:
        buf = bytearray(pkt.ip_options)
        at = opt.rr - HDR
        slot = at + buf[at + 2] - 5
        buf[slot:slot + 4] = out_src.to_bytes(4, "big")
        pkt.ip_options = bytes(buf)
    pkt.ip_residual = 0  # ip_send_check


def header_stale(pkt: Packet) -> bool:
    """Whether the IP header no longer sums to zero (what nf_ip_checksum trips over)."""
    return pkt.ip_residual % 0xFFFF != 0


def echo_options(pkt: Packet, unicast: object = None) -> tuple[bytes, IpOptions] | None:
    """__ip_options_echo: the options an ICMP error about *pkt* carries, or None where it fails."""
    opt = pkt.meta.ip_opt
    dopt = IpOptions()
    if opt is None or not opt.optlen:
        return b"", dopt
    src = pkt.ip_options
    out = bytearray()
    if opt.rr:
        o = bytearray(src[opt.rr - HDR:opt.rr - HDR + src[opt.rr - HDR + 1]])
        dopt.rr = HDR + len(out)
        if opt.rr_needaddr and o[2] <= len(o):
            if o[2] + 3 > len(o):
                return None
            o[2] += 4
            dopt.rr_needaddr = True
        out += o
    if opt.ts:
        o = bytearray(src[opt.ts - HDR:opt.ts - HDR + src[opt.ts - HDR + 1]])
        dopt.ts = HDR + len(out)
        off = o[2]
        if off <= len(o):
            if opt.ts_needaddr:
                if off + 3 > len(o):
                    return None
                dopt.ts_needaddr, off = True, off + 4
            if opt.ts_needtime:
                if off + 3 > len(o):
                    return None
                if o[3] & 0xF != IPOPT_TS_PRESPEC:
                    dopt.ts_needtime, off = True, off + 4
                elif off + 7 <= len(o):
                    addr = int.from_bytes(o[off - 1:off + 3], "big")
                    if not (callable(unicast) and unicast(addr)):
                        dopt.ts_needtime, off = True, off + 8
            o[2] = off
        out += o
    if opt.cipso:
        out += src[opt.cipso - HDR:opt.cipso - HDR + src[opt.cipso - HDR + 1]]
    while len(out) % 4:
        out.append(IPOPT_END)
    dopt.optlen = len(out)
    return bytes(out), dopt


def build_options(options: bytes, dopt: IpOptions, saddr: int, now: float) -> bytes:
    """ip_options_build for a datagram this host sends: the echoed slots filled from its source."""
    buf = bytearray(options)
    if dopt.rr_needaddr:
        at = dopt.rr - HDR + buf[dopt.rr - HDR + 2] - 5
        buf[at:at + 4] = saddr.to_bytes(4, "big")
    if dopt.ts_needaddr:
        at = dopt.ts - HDR + buf[dopt.ts - HDR + 2] - 9
        buf[at:at + 4] = saddr.to_bytes(4, "big")
    if dopt.ts_needtime:
        at = dopt.ts - HDR + buf[dopt.ts - HDR + 2] - 5
        buf[at:at + 4] = timestamp_ms(now).to_bytes(4, "big")
    return bytes(buf)
