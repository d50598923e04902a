"""The crafted packets tools/record_match_eval.py sends through the kernel.

Every packet is built byte by byte (checksums correct, so nothing on the way
rewrites it) to reach one corner of a match: TCP flags and options, a first
and later fragments, truncated headers (the matches' hotdrop), ICMP errors,
SCTP chunk lists, ESP/AH SPIs, UDP-Lite/DCCP ports, IP options, TOS/ECN
values, broadcast and multicast destinations, spoofed sources for rpfilter.
"""

from __future__ import annotations

import ipaddress
import struct

from pynetfilter.packet.wire import crc32c  # SCTP's checksum
from tools.topology import checksum as csum

A, B = "10.233.200.1", "10.233.200.2"  # sender namespace, firewall namespace (veth pair)
BCAST = "10.233.200.255"
SECOND_NET_ADDR, FORWARD_DST = "10.233.201.1", "10.233.201.7"  # B's second veth (to C), forwarded there
BLACKHOLE_LOCAL = "10.233.203.1"  # blackhole route in B's local table
BLACKHOLE_MAIN = "10.233.202.1"  # blackhole route in B's main table
SPOOF_DUMMY, NO_ROUTE = "10.233.201.9", "10.233.99.1"
FWD = FORWARD_DST


def _a(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, tos: int = 0, ttl: int = 64, ident: int = 0x4242,
         frag: int = 0, options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(payload), ident, frag, ttl, proto, 0,
                      _a(src), _a(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return _a(src) + _a(dst) + struct.pack("!BBH", 0, proto, length)


def tcp(src: str, dst: str, sport: int, dport: int, flags: int, *, options: bytes = b"", payload: bytes = b"",
        seq: int = 1000, ack: int = 0, doff: int | None = None, **ip: int) -> bytes:
    d = doff if doff is not None else 5 + len(options) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, d << 4, flags, 64240, 0, 0) + options + payload
    c = csum(_pseudo(src, dst, 6, len(seg)) + seg)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return ipv4(src, dst, 6, seg, **ip)  # type: ignore[arg-type]


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"", proto: int = 17,
        **ip: int) -> bytes:
    dgram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = csum(_pseudo(src, dst, proto, len(dgram)) + dgram) or 0xFFFF
    dgram = dgram[:6] + struct.pack("!H", c) + dgram[8:]
    return ipv4(src, dst, proto, dgram, **ip)  # type: ignore[arg-type]


def icmp(src: str, dst: str, typ: int, code: int, rest: int = 0, body: bytes = b"", **ip: int) -> bytes:
    msg = struct.pack("!BBHI", typ, code, 0, rest) + body
    msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
    return ipv4(src, dst, 1, msg, **ip)  # type: ignore[arg-type]


def sctp(src: str, dst: str, sport: int, dport: int, chunks: list[tuple[int, int, bytes]],
         **ip: int) -> bytes:
    body = b""
    for ctype, cflags, value in chunks:
        chunk = struct.pack("!BBH", ctype, cflags, 4 + len(value)) + value
        body += chunk + b"\0" * (-len(chunk) % 4)
    pkt = struct.pack("!HHII", sport, dport, 0x01020304, 0) + body
    pkt = pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]
    return ipv4(src, dst, 132, pkt, **ip)  # type: ignore[arg-type]


SYN, ACK, FIN, RST, PSH, URG, ECE, CWR = 0x02, 0x10, 0x01, 0x04, 0x08, 0x20, 0x40, 0x80
MSS1460 = bytes([2, 4, 0x05, 0xB4])
SYN_OPTS = MSS1460 + bytes([4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 7])  # MSS, SACK-perm, TS, NOP, WS
HTTP = b"GET /index.html HTTP/1.1\r\nHost: Example.ORG\r\nUser-Agent: pynf\r\n\r\n"

# dst: "host" (B's MAC), "broadcast", "multicast"; src_mac None: the sender's own MAC
Frame = tuple[str, str, bytes, str | None]


def _udp_frag(offset_units: int, more: bool) -> bytes:
    return ipv4(A, FWD, 17, bytes(range(16)), frag=(0x2000 if more else 0) | offset_units, ident=0x777)


def frames() -> list[Frame]:
    big = bytes(i & 0xFF for i in range(1160))
    icmp_inner = udp(B, A, 53, 5353, b"x" * 4)[:28]
    out: list[Frame] = [
        ("tcp-syn", "host", tcp(A, B, 1111, 80, SYN, options=SYN_OPTS, tos=0x10), None),
        ("tcp-synack-mss536", "host", tcp(A, B, 80, 1111, SYN | ACK, options=bytes([2, 4, 2, 24])), None),
        ("tcp-ack-ect1", "host", tcp(A, B, 40000, 443, ACK, tos=0x01, ack=5), None),
        ("tcp-fin-ece-cwr", "host", tcp(A, B, 1500, 8080, FIN | ACK | ECE | CWR, tos=0x02), None),
        ("tcp-rst", "host", tcp(A, B, 22, 22, RST, ttl=5), None),
        ("tcp-http", "host", tcp(A, B, 1234, 80, PSH | ACK, payload=HTTP, ack=7), None),
        ("tcp-ts-only", "host", tcp(A, B, 2000, 81, ACK, options=bytes([1, 1, 8, 10]) + bytes(8)), None),
        ("tcp-allflags", "host", tcp(A, B, 3000, 82, 0x3F, ttl=200), None),
        ("tcp-noflags", "host", tcp(A, B, 3001, 83, 0, tos=0xB8), None),
        # Fragments are sent to be forwarded: a local one would wait for reassembly before INPUT.
        ("tcp-first-frag", "host", tcp(A, FWD, 1999, 80, SYN, options=MSS1460, frag=0x2000, ident=0x55),
         None),
        ("tcp-frag-off16", "host", ipv4(A, FWD, 6, bytes(24), frag=2, ident=0x55), None),
        ("tcp-frag-off8", "host", ipv4(A, FWD, 6, bytes(24), frag=1, ident=0x56), None),
        ("tcp-truncated", "host", ipv4(A, B, 6, struct.pack("!HHII", 1111, 80, 1, 0)), None),
        ("tcp-doff15-short", "host", tcp(A, B, 1112, 80, SYN, doff=15, options=MSS1460), None),
        ("tcp-doff3", "host", tcp(A, B, 1113, 80, SYN, doff=3), None),
        ("tcp-mss-badlen", "host", tcp(A, B, 1114, 80, SYN, options=bytes([2, 3, 5, 0])), None),
        ("udp-dns", "host", udp(A, B, 5353, 53, b"\x12\x34query"), None),
        ("udp-bcast", "broadcast", udp(A, BCAST, 68, 67, b"dhcp"), None),
        ("udp-mcast", "multicast", udp(A, "224.0.0.1", 5000, 5000, b"m", ttl=1), None),
        ("udp-lbcast-zero", "broadcast", udp("0.0.0.0", "255.255.255.255", 68, 67, b"discover"), None),
        ("udp-later-frag", "host", _udp_frag(3, False), None),
        ("udp-truncated", "host", ipv4(A, B, 17, struct.pack("!HHH", 7, 53, 6)), None),
        ("udp-forward", "host", udp(A, FORWARD_DST, 33000, 9999, b"fwd", ttl=30), None),
        ("udp-to-dummy-addr", "host", udp(A, SECOND_NET_ADDR, 33001, 9998, b"loc"), None),
        ("udp-spoof-dummy", "host", udp(SPOOF_DUMMY, B, 1024, 68, b"s"), None),
        ("udp-no-route-src", "host", udp(NO_ROUTE, B, 1025, 69, b"s"), None),
        ("udp-own-src", "host", udp(B, B, 1026, 70, b"s"), None),
        ("udp-blackhole-src", "host", udp(BLACKHOLE_MAIN, B, 1027, 71, b"s"), None),
        ("udp-to-blackhole-local", "host", udp(A, BLACKHOLE_LOCAL, 1028, 72, b"s"), None),
        ("udp-big", "host", udp(A, B, 4000, 4001, big, tos=0x28), None),
        ("udp-ipopts", "host", udp(A, B, 4002, 53, b"opt", options=bytes([1, 1, 1, 0])), None),
        ("udp-other-mac", "host", udp(A, B, 4003, 4004, b"mac"), "02:00:00:00:00:99"),
        ("udplite", "host", udp(A, B, 1000, 2000, b"lite", proto=136), None),
        ("dccp", "host", ipv4(A, B, 33, struct.pack("!HH", 3050, 3100) + bytes(12)), None),
        ("icmp-echo", "host", icmp(A, B, 8, 0, 0x00010001, b"ping" * 4), None),
        ("icmp-echoreply", "host", icmp(A, B, 0, 0, 0x00010001, b"pong"), None),
        ("icmp-port-unreach", "host", icmp(A, B, 3, 3, 0, icmp_inner), None),
        ("icmp-ttl-exceeded", "host", icmp(A, B, 11, 1, 0, icmp_inner), None),
        ("icmp-timestamp", "host", icmp(A, B, 13, 0, 0x00020001, bytes(12)), None),
        ("icmp-truncated", "host", ipv4(A, B, 1, bytes([8, 0, 0xF7, 0xFF])), None),
        ("icmp-later-frag", "host", ipv4(A, FWD, 1, bytes(16), frag=4, ident=0x99), None),
        ("sctp-init", "host", sctp(A, B, 5000, 6000, [(1, 0, bytes(16))]), None),
        ("sctp-data-sack", "host", sctp(A, B, 4500, 6001, [(0, 0x03, bytes(13)), (3, 0, bytes(12))]), None),
        ("sctp-data-i", "host", sctp(A, B, 4501, 6000, [(0, 0x0B, bytes(12))]), None),
        ("sctp-abort-t", "host", sctp(A, B, 7000, 6002, [(6, 0x01, b"")]), None),
        ("sctp-zero-len", "host", ipv4(A, B, 132, struct.pack("!HHII", 5000, 6000, 1, 0) + bytes(4)), None),
        ("sctp-truncated", "host", ipv4(A, B, 132, struct.pack("!HHI", 5000, 6000, 1)), None),
        ("esp-256", "host", ipv4(A, B, 50, struct.pack("!II", 256, 1) + bytes(16)), None),
        ("esp-big", "host", ipv4(A, B, 50, struct.pack("!II", 0x20000, 1) + bytes(16)), None),
        ("esp-truncated", "host", ipv4(A, B, 50, struct.pack("!I", 256)), None),
        ("ah-500", "host", ipv4(A, B, 51, struct.pack("!BBHII", 17, 4, 0, 500, 1) + bytes(12)), None),
        ("ah-7", "host", ipv4(A, B, 51, struct.pack("!BBHII", 17, 4, 0, 7, 1) + bytes(12)), None),
        ("ah-truncated", "host", ipv4(A, B, 51, struct.pack("!BBHI", 17, 4, 0, 500)), None),
        ("gre", "host", ipv4(A, B, 47, bytes([0, 0, 8, 0]) + bytes(20), tos=0x03), None),
    ]
    return out
