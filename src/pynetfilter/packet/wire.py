"""IPv4 datagrams to and from bytes, as the kernel's receive path and netfilter see them.

Theory of operation.  :func:`parse` does what ``ip_rcv`` checks before the
PREROUTING hook and then decodes the transport header the way the matches
read it (``skb_header_pointer`` at the transport offset).  What netfilter
sees for odd packets, decided from the kernel:

* ``ip_rcv_core`` drops, before PREROUTING, a datagram shorter than 20 bytes,
  with version != 4, ihl < 5, a header longer than the data, a wrong header
  checksum, or a total length beyond the data or below the header length:
  these raise :class:`PacketError` ("dropped before netfilter").  Bytes past
  the total length (link padding) are trimmed, as ``pskb_trim_rcsum`` does.
  IP options are kept as bytes; their validity is checked by ``ip_rcv_finish``
  after PREROUTING, which is the pipeline's business, not this module's.
* A transport header that is not all there (TCP < 20 bytes, UDP or ICMP < 8,
  SCTP < 12) still reaches PREROUTING: ``l4`` is None and ``payload`` holds the
  bytes; ``-p tcp -m tcp`` (and udp, icmp, sctp) then hotdrop, conntrack calls
  it INVALID.  A TCP header with doff < 5 or options running past the data
  keeps its 20 fixed bytes in ``l4`` (xt_tcp matches ports and flags on them,
  and hotdrops only for ``--tcp-option``): ``doff`` is kept as on the wire.
* Later fragments (offset != 0) carry no transport header: ``l4`` is None.
  A first fragment has ``l4`` when its transport header is complete.
* ICMP errors (types 3, 4, 5, 11, 12) embed the original datagram, parsed by
  :func:`parse_inner` into ``Icmp.inner`` without ip_rcv's checks: it may be
  cut short (the kernel quotes at least 8 bytes of transport header, up to 576
  bytes in all).  An embedded header cut inside its transport header keeps
  the ports in ``l4`` with ``Packet.l4_partial`` set.  Bytes after the
  embedded datagram's total length stay in the outer ``payload``.
* SCTP chunks are decoded while each is whole (length >= 4, padded length
  within the data); what is left is ``payload`` (xt_sctp hotdrops on it).

:func:`to_bytes` writes a packet back: header and total lengths and the IP
header checksum recomputed, TCP/UDP/ICMP checksums recomputed over the new
bytes plus ``Packet.csum_residual`` (what the checksum covers beyond the
object: the rest of a fragmented or quoted datagram, or a sender's error),
so an address or port rewrite gives the checksum the kernel's incremental
update gives; SCTP's CRC32c is recomputed in full (sctp_manip_pkt does so),
unless it was wrong when parsed.  Lengths inside a quoted datagram (its total
length, UDP length) are the original's, not what was quoted.  A UDP checksum
of 0 on a parsed packet means "none" and stays 0; a computed 0 is sent as
0xFFFF.  With ``meta.csum_partial`` (CHECKSUM_PARTIAL) the TCP/UDP field holds
the pseudo-header sum, as the kernel keeps it for the device to finish.
"""

from __future__ import annotations

import struct

from pynetfilter.errors import PynfError
from pynetfilter.packet.model import (
    IP_OFFSET,
    IPPROTO_ICMP,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    Icmp,
    Packet,
    Sctp,
    Tcp,
    Udp,
)

ICMP_ERRORS = frozenset({3, 4, 5, 11, 12})  # icmp_is_err(): unreach, quench, redirect, time, param

_IP = struct.Struct("!BBHHHBBHII")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")
_ICMP = struct.Struct("!BBHI")
_SCTP = struct.Struct("!HHII")
_CHUNK = struct.Struct("!BBH")


class PacketError(PynfError):
    """Bytes the kernel would not take as an IPv4 datagram (ip_rcv drops them)."""


def _sum(data: bytes) -> int:
    """Ones'-complement sum of 16-bit big-endian words, as a residue mod 0xFFFF (2**16 == 1)."""
    if len(data) & 1:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


def _finish(s: int) -> int:
    """The checksum field for a sum: ~fold(s); never 0xFFFF, as the kernel's csum_fold gives."""
    return (0xFFFF - s % 0xFFFF) % 0xFFFF


def _pseudo(pkt: Packet, l4len: int) -> int:
    a, b = pkt.saddr, pkt.daddr
    return ((a >> 16) + (a & 0xFFFF) + (b >> 16) + (b & 0xFFFF) + pkt.proto + l4len) % 0xFFFF


# --- parsing ---------------------------------------------------------------------------------


def parse(data: bytes) -> Packet:
    """An IPv4 datagram as it reaches PREROUTING; PacketError if ip_rcv would drop it."""
    data = bytes(data)
    n = len(data)
    if n < 20:
        raise PacketError(f"truncated IP header: {n} bytes, need 20")
    vihl = data[0]
    if vihl >> 4 != 4:
        raise PacketError(f"not IPv4: version {vihl >> 4}")
    hl = (vihl & 15) * 4
    if hl < 20:
        raise PacketError(f"bad IP header length: ihl {vihl & 15} < 5")
    if n < hl:
        raise PacketError(f"truncated IP header: {n} bytes, ihl says {hl}")
    if _sum(data[:hl]) != 0:
        raise PacketError("bad IP header checksum")
    tot = (data[2] << 8) | data[3]
    if tot > n:
        raise PacketError(f"IP total length {tot} beyond the {n} bytes of data")
    if tot < hl:
        raise PacketError(f"IP total length {tot} shorter than its {hl}-byte header")
    return _decode(data, hl, tot, inner=False)


def parse_inner(data: bytes) -> Packet | None:
    """The datagram an ICMP error quotes, as far as it goes; None when not even its IP header is."""
    data = bytes(data)
    if len(data) < 20 or data[0] >> 4 != 4 or (data[0] & 15) < 5 or len(data) < (data[0] & 15) * 4:
        return None
    hl = (data[0] & 15) * 4
    tot = (data[2] << 8) | data[3]
    end = min(tot, len(data)) if tot >= hl else len(data)
    return _decode(data, hl, end, inner=True)


def _decode(data: bytes, hl: int, end: int, inner: bool) -> Packet:
    _v, tos, tot, ident, frag, ttl, proto, check, saddr, daddr = _IP.unpack_from(data)
    pkt = Packet(saddr, daddr, proto, None, b"", tos, ident, frag, ttl, hl // 4, data[20:hl], check, tot)
    if inner:  # a quoted header keeps its checksum, right or wrong (ip_rcv checked the outer one)
        pkt.ip_residual = -_sum(data[:hl]) % 0xFFFF
    seg = data[hl:end]
    if frag & IP_OFFSET:
        pkt.payload = seg
        return pkt
    k = len(seg)
    if proto == IPPROTO_TCP:
        if k >= 20:
            sport, dport, seq, ack, b12, flags, win, tcheck, urg = _TCP.unpack_from(seg)
            doff = b12 >> 4
            hlen = doff * 4
            if doff < 5:
                opts, pay = b"", seg[20:]
            elif hlen > k:
                opts, pay = seg[20:], b""
            else:
                opts, pay = seg[20:hlen], seg[hlen:]
            pkt.l4 = Tcp(sport, dport, seq, ack, doff, flags | (b12 & 15) << 8, win, tcheck, urg, opts)
            pkt.payload = pay
            pkt.csum_residual = -(_pseudo(pkt, k) + _sum(seg)) % 0xFFFF
            return pkt
        if inner and k >= 4:
            return _partial(pkt, seg, Tcp(*struct.unpack_from("!HH", seg),
                                          seq=int.from_bytes(seg[4:8], "big") if k >= 8 else 0))
    elif proto == IPPROTO_UDP:
        if k >= 8:
            pkt.l4 = udp = Udp(*_UDP.unpack_from(seg))
            pkt.payload = seg[8:]
            if udp.check:  # 0: the sender computed no checksum
                pkt.csum_residual = -(_pseudo(pkt, k) + _sum(seg)) % 0xFFFF
            return pkt
        if inner and k >= 4:
            return _partial(pkt, seg, Udp(*struct.unpack_from("!HH", seg)))
    elif proto == IPPROTO_ICMP:
        if k >= 8:
            typ, code, icheck, rest = _ICMP.unpack_from(seg)
            icmp = Icmp(typ, code, icheck, rest)
            pkt.l4, pkt.payload = icmp, seg[8:]
            if typ in ICMP_ERRORS and not inner:  # the kernel never quotes an error in an error
                icmp.inner = parse_inner(seg[8:])
                if icmp.inner is not None:
                    pkt.payload = seg[8 + _avail(icmp.inner):]
            pkt.csum_residual = -_sum(seg) % 0xFFFF
            return pkt
    elif proto == IPPROTO_SCTP:
        if k >= 12:
            sport, dport, vtag, scheck = _SCTP.unpack_from(seg)
            chunks, off = [], 12
            while off + 4 <= k:
                ctype, cflags, clen = _CHUNK.unpack_from(seg, off)
                if clen < 4 or off + ((clen + 3) & ~3) > k:
                    break
                chunks.append((ctype, cflags, seg[off + 4:off + clen]))
                off += (clen + 3) & ~3
            pkt.l4 = Sctp(sport, dport, vtag, scheck, chunks)
            pkt.payload = seg[off:]
            pkt.csum_residual = 0 if _sctp_check(seg) == scheck else 1
            return pkt
        if inner and k >= 4:
            return _partial(pkt, seg, Sctp(*struct.unpack_from("!HH", seg),
                                           vtag=int.from_bytes(seg[4:8], "big") if k >= 8 else 0))
    pkt.payload = seg
    return pkt


def _partial(pkt: Packet, seg: bytes, l4: Tcp | Udp | Sctp) -> Packet:
    pkt.l4, pkt.payload, pkt.l4_partial = l4, seg, True
    return pkt


def _avail(pkt: Packet) -> int:
    """Bytes a (possibly quoted, cut) datagram occupies: header, transport header, payload."""
    return 20 + len(_pad4(pkt.ip_options)) + _l4_len(pkt)


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), SCTP's checksum (RFC 9260 appendix A)."""
    crc, table = 0xFFFFFFFF, _CRC32C
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _sctp_check(seg: bytes) -> int:
    """The SCTP checksum field value for *seg*: CRC32c stored little-endian (sctp_compute_cksum)."""
    crc = crc32c(seg[:8] + b"\0\0\0\0" + seg[12:])
    return int.from_bytes(crc.to_bytes(4, "little"), "big")


# --- lengths -----------------------------------------------------------------------------------


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _tcp_head(t: Tcp) -> tuple[int, bytes]:
    """(doff, option bytes) to write: the parsed doff when the header was odd, else from options."""
    if t.doff < 5 or t.doff * 4 > 20 + len(t.options):
        return t.doff, t.options
    opts = _pad4(t.options)
    return 5 + len(opts) // 4, opts


def _l4_len(pkt: Packet) -> int:
    l4 = pkt.l4
    n = len(pkt.payload)
    if l4 is None or pkt.l4_partial:
        return n
    if isinstance(l4, Tcp):
        o = l4.options
        return n + 20 + (len(o) if l4.doff * 4 > 20 + len(o) else (len(o) + 3) & ~3)
    if isinstance(l4, Udp):
        return n + 8
    if isinstance(l4, Icmp):
        return n + 8 + (_avail(l4.inner) if l4.inner is not None else 0)
    return n + 12 + sum((len(v) + 7) & ~3 for _t, _f, v in l4.chunks)


def length(pkt: Packet) -> int:
    """The datagram's length in bytes (skb->len at the IP layer): what counters add.

    Every matching rule adds it to its byte counter, so the common headers are summed here
    without the calls of :func:`_l4_len` (which answers the rest, and agrees with this)."""
    o = pkt.ip_options
    n = 20 + len(pkt.payload)
    if o:
        n += (len(o) + 3) & ~3
    l4 = pkt.l4
    if l4 is None or pkt.l4_partial:
        return n
    cls = l4.__class__
    if cls is Tcp:
        o = l4.options
        if not o:
            return n + 20
        return n + 20 + (len(o) if l4.doff * 4 > 20 + len(o) else (len(o) + 3) & ~3)
    if cls is Udp:
        return n + 8
    return n - len(pkt.payload) + _l4_len(pkt)


def l4_checksum_ok(pkt: Packet) -> bool:
    """Whether the transport checksum was right when parsed (nf_ip_checksum; whole datagrams only)."""
    return pkt.csum_residual == 0


# --- writing -----------------------------------------------------------------------------------


def to_bytes(pkt: Packet) -> bytes:
    """The datagram on the wire: lengths and checksums made consistent with the fields."""
    return _encode(pkt, inner=False)


def _encode(pkt: Packet, inner: bool) -> bytes:
    opts = _pad4(pkt.ip_options)
    hl = 20 + len(opts)
    l4b = _encode_l4(pkt, hl, inner)
    tot = hl + len(l4b)
    if inner and pkt.tot_len:
        tot = pkt.tot_len  # a quoted datagram keeps its original length
    hdr = bytearray(_IP.pack(0x40 | hl // 4, pkt.tos, tot, pkt.id, pkt.frag_off, pkt.ttl, pkt.proto, 0,
                             pkt.saddr, pkt.daddr) + opts)
    hdr[10:12] = _finish(_sum(bytes(hdr)) + pkt.ip_residual).to_bytes(2, "big")
    return bytes(hdr) + l4b


def _encode_l4(pkt: Packet, hl: int, inner: bool) -> bytes:
    l4 = pkt.l4
    if l4 is None or isinstance(l4, Icmp) and pkt.l4_partial:
        return pkt.payload
    if pkt.l4_partial:
        return struct.pack("!HH", l4.sport, l4.dport) + pkt.payload[4:]
    built = pkt.tot_len == 0  # made in code, not parsed: no residual, fresh lengths
    if isinstance(l4, Tcp):
        doff, opts = _tcp_head(l4)
        seg = bytearray(_TCP.pack(l4.sport, l4.dport, l4.seq, l4.ack_seq, doff << 4 | (l4.flags >> 8) & 15,
                                  l4.flags & 0xFF, l4.window, 0, l4.urg_ptr) + opts + pkt.payload)
        seg[16:18] = _l4_check(pkt, seg).to_bytes(2, "big")
        return bytes(seg)
    if isinstance(l4, Udp):
        ulen = l4.length
        # The UDP length is the sender's unless the datagram is new or changed size (never quoted
        # or fragmented ones, whose length covers bytes that are not here).
        if not pkt.is_fragment and (built or not inner and pkt.tot_len != hl + 8 + len(pkt.payload)):
            ulen = 8 + len(pkt.payload)
        seg = bytearray(_UDP.pack(l4.sport, l4.dport, ulen & 0xFFFF, 0) + pkt.payload)
        if built or l4.check != 0:
            seg[6:8] = (_l4_check(pkt, seg) or 0xFFFF).to_bytes(2, "big")  # 0 means "none": CSUM_MANGLED_0
        return bytes(seg)
    if isinstance(l4, Icmp):
        body = _encode(l4.inner, inner=True) if l4.inner is not None else b""
        seg = bytearray(_ICMP.pack(l4.type, l4.code, 0, l4.rest) + body + pkt.payload)
        seg[2:4] = _finish(_sum(bytes(seg)) + pkt.csum_residual).to_bytes(2, "big")
        return bytes(seg)
    chunks = b"".join(_CHUNK.pack(t, f, 4 + len(v)) + _pad4(v) for t, f, v in l4.chunks)
    seg = bytearray(_SCTP.pack(l4.sport, l4.dport, l4.vtag, 0) + chunks + pkt.payload)
    check = l4.check if pkt.csum_residual else _sctp_check(bytes(seg))  # a wrong CRC stays as it was
    seg[8:12] = check.to_bytes(4, "big")
    return bytes(seg)


def _l4_check(pkt: Packet, seg: bytearray) -> int:
    """TCP/UDP checksum of *seg* (check field zero) with the pseudo-header and the residual."""
    p = _pseudo(pkt, len(seg))
    if pkt.meta.csum_partial:  # CHECKSUM_PARTIAL: the field holds the pseudo-header sum, unfinished
        return p or 0xFFFF
    return _finish(p + _sum(bytes(seg)) + pkt.csum_residual)
