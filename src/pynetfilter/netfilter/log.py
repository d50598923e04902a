"""Kernel log lines as nf_log_syslog writes them for IPv4 (the LOG target).

Theory of operation.  :func:`format_line` renders one packet the way
nf_log_ip_packet does: the prefix, ``IN=``/``OUT=`` devices, the link-layer
header when there is an input device (``MAC=dst:src:type`` as hex bytes, or
with --log-macdecode ``MACSRC= MACDST= MACPROTO=``), then the IP header
(``SRC DST LEN TOS PREC TTL ID``, ``CE DF MF``, ``FRAG:``, ``OPT (..)`` with
--log-ip-options), the transport header, ICMP errors' embedded datagram in
``[...]`` (one level deep), ``UID= GID=`` with --log-uid when a local socket
owns the packet, and ``MARK=`` when the packet has one.  Every field ends in a
space, so a line ends with one, exactly as dmesg shows it.  The line is taken
from the packet's wire bytes, so truncated headers print ``INCOMPLETE``.
"""

from __future__ import annotations

import struct

from pynetfilter.packet.model import Packet

# xt_LOG / nf_log flags
LOG_TCPSEQ, LOG_TCPOPT, LOG_IPOPT, LOG_UID, LOG_MACDECODE = 0x01, 0x02, 0x04, 0x08, 0x20
IP_CE, IP_DF, IP_MF, IP_OFFSET = 0x8000, 0x4000, 0x2000, 0x1FFF
# nf_log_syslog's required_len: bytes an ICMP message of this type needs (header included).
ICMP_REQUIRED = {0: 4, 3: 28, 4: 28, 5: 28, 8: 4, 11: 28, 12: 28, 13: 20, 14: 20, 17: 12, 18: 12}
TCP_FLAG_WORDS = ((0x80, "CWR"), (0x40, "ECE"), (0x20, "URG"), (0x10, "ACK"), (0x08, "PSH"), (0x04, "RST"),
                  (0x02, "SYN"), (0x01, "FIN"))


def dotted(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def mac_text(pkt: Packet, flags: int) -> str:
    """dump_mac_header for an Ethernet device."""
    hdr = pkt.meta.mac_header
    if hdr is None:
        if pkt.meta.src_mac is None:
            return "MAC= "
        hdr = bytes(6) + pkt.meta.src_mac + b"\x08\x00"  # destination unknown to the capture
    if flags & LOG_MACDECODE and len(hdr) >= 14:
        src, dst = ":".join(f"{b:02x}" for b in hdr[6:12]), ":".join(f"{b:02x}" for b in hdr[0:6])
        return f"MACSRC={src} MACDST={dst} MACPROTO={hdr[12]:02x}{hdr[13]:02x} "
    return "MAC=" + ":".join(f"{b:02x}" for b in hdr) + " "


def format_line(pkt: Packet, prefix: str, flags: int, in_dev: str | None, out_dev: str | None) -> str:
    """One LOG line (without the syslog level), as nf_log_ip_packet prints it."""
    from pynetfilter.packet.wire import to_bytes

    out = [f"{prefix}IN={in_dev or ''} OUT={out_dev or ''} "]
    if in_dev:
        out.append(mac_text(pkt, flags))
    data = to_bytes(pkt)
    _dump_ip(out, data, 0, flags, pkt)
    return "".join(out)


def _dump_ip(out: list[str], data: bytes, off: int, flags: int, pkt: Packet) -> None:
    """dump_ipv4_packet at *off* (0: the packet; else the datagram inside an ICMP error)."""
    if len(data) - off < 20:
        out.append("TRUNCATED")
        return
    ver_ihl, tos, tot_len, ident, frag, ttl, proto = struct.unpack_from("!BBHHHBB", data, off)
    ihl = (ver_ihl & 0x0F) * 4
    out.append(f"SRC={dotted(data[off + 12:off + 16])} DST={dotted(data[off + 16:off + 20])} ")
    out.append(f"LEN={tot_len} TOS=0x{tos & 0x1E:02X} PREC=0x{tos & 0xE0:02X} TTL={ttl} ID={ident} ")
    for bit, word in ((IP_CE, "CE"), (IP_DF, "DF"), (IP_MF, "MF")):
        if frag & bit:
            out.append(word + " ")
    fragment = frag & IP_OFFSET
    if fragment:
        out.append(f"FRAG:{fragment} ")
    if flags & LOG_IPOPT and ihl > 20:
        opts = data[off + 20:off + ihl]
        if len(opts) < ihl - 20:
            out.append("TRUNCATED")
            return
        out.append("OPT (" + opts.hex().upper() + ") ")
    l4 = off + ihl
    rest = len(data) - l4
    if proto == 6:
        if _dump_tcp(out, data, l4, bool(fragment), flags):
            return
    elif proto in (17, 136):
        out.append("PROTO=UDP " if proto == 17 else "PROTO=UDPLITE ")
        if not fragment:
            if rest < 8:
                out.append(f"INCOMPLETE [{rest} bytes] ")
                return
            sport, dport, ulen = struct.unpack_from("!HHH", data, l4)
            out.append(f"SPT={sport} DPT={dport} LEN={ulen} ")
    elif proto == 1:
        out.append("PROTO=ICMP ")
        if not fragment:
            _dump_icmp(out, data, off, l4, flags, pkt)
    elif proto in (50, 51):
        out.append("PROTO=ESP " if proto == 50 else "PROTO=AH ")
        need = 8 if proto == 50 else 12  # struct ip_esp_hdr / ip_auth_hdr
        if not fragment:
            if rest < need:
                out.append(f"INCOMPLETE [{rest} bytes] ")
                return
            spi = struct.unpack_from("!I", data, l4 if proto == 50 else l4 + 4)[0]
            out.append(f"SPI=0x{spi:x} ")
    else:
        out.append(f"PROTO={proto} ")
    if off == 0:
        if flags & LOG_UID and pkt.meta.uid is not None and pkt.meta.socket:
            gid = pkt.meta.gid if pkt.meta.gid is not None else pkt.meta.uid
            out.append(f"UID={pkt.meta.uid} GID={gid} ")
        if pkt.meta.mark:
            out.append(f"MARK=0x{pkt.meta.mark:x} ")


def _dump_tcp(out: list[str], data: bytes, l4: int, fragment: bool, flags: int) -> bool:
    """nf_log_dump_tcp_header; True when the line ends here (a truncated header)."""
    out.append("PROTO=TCP ")
    if fragment:
        return False
    rest = len(data) - l4
    if rest < 20:
        out.append(f"INCOMPLETE [{rest} bytes] ")
        return True
    sport, dport, seq, ack, off_res, tflags, window, _check, urg = struct.unpack_from("!HHIIBBHHH", data, l4)
    out.append(f"SPT={sport} DPT={dport} ")
    if flags & LOG_TCPSEQ:
        out.append(f"SEQ={seq} ACK={ack} ")
    out.append(f"WINDOW={window} RES=0x{(off_res & 0x0F) << 2:02x} ")
    out.extend(word + " " for bit, word in TCP_FLAG_WORDS if tflags & bit)
    out.append(f"URGP={urg} ")
    hlen = (off_res >> 4) * 4
    if flags & LOG_TCPOPT and hlen > 20:
        opts = data[l4 + 20:l4 + hlen]
        if len(opts) < hlen - 20:
            out.append("OPT (TRUNCATED)")
            return True
        out.append("OPT (" + opts.hex().upper() + ") ")
    return False


def _dump_icmp(out: list[str], data: bytes, off: int, l4: int, flags: int, pkt: Packet) -> None:
    rest = len(data) - l4
    if rest < 8:
        out.append(f"INCOMPLETE [{rest} bytes] ")
        return
    typ, code, _check, word = struct.unpack_from("!BBHI", data, l4)
    out.append(f"TYPE={typ} CODE={code} ")
    if rest < ICMP_REQUIRED.get(typ, 0):
        out.append(f"INCOMPLETE [{rest} bytes] ")
        return
    if typ in (0, 8):
        out.append(f"ID={word >> 16} SEQ={word & 0xFFFF} ")
    elif typ == 12:
        out.append(f"PARAMETER={word >> 24} ")
    elif typ in (3, 4, 5, 11):
        if typ == 5:
            out.append(f"GATEWAY={dotted(data[l4 + 4:l4 + 8])} ")
        if off == 0:  # only one level of embedded datagram
            out.append("[")
            _dump_ip(out, data, l4 + 8, flags, pkt)
            out.append("] ")
        if typ == 3 and code == 4:
            out.append(f"MTU={word & 0xFFFF} ")
