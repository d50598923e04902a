"""Property tests: malformed packets and captures give one-line errors, never a crash.

Random and mutated bytes go through the packet parser, the whole pipeline (a
router with conntrack, NAT, REJECT and LOG loaded) and the capture reader.
"""

from __future__ import annotations

import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pynetfilter.errors import PynfError
from pynetfilter.io.pcap import read
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet import wire
from pynetfilter.packet.model import (
    IP_DF,
    IP_MF,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SYN,
    Icmp,
    Packet,
    Tcp,
    Udp,
)

HOST = """
iface a0
iface b0
addr a0 10.233.1.1/24
addr b0 10.233.2.1/24
"""

RULES = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 9 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --tcp-flags SYN SYN -j TCPMSS --set-mss 1000
-A FORWARD -j MARK --set-mark 0x1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.233.1.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.233.2.9:8080
-A POSTROUTING -o b0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "bad " --log-tcp-options --log-ip-options
-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT
-A INPUT -p icmp -m u32 --u32 "0>>22&0x3C@0>>24=8" -m string --algo bm --string "x" -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m multiport --dports 1:1000 -m length --length 40:1500 -j ACCEPT
-A FORWARD -p sctp -m sctp --chunk-types any INIT -j ACCEPT
-A FORWARD -f -j ACCEPT
COMMIT
"""

A, B, C = 0x0AE90102, 0x0AE90101, 0x0AE90209  # 10.233.1.2, 10.233.1.1, 10.233.2.9
_SYN = Packet(A, B, IPPROTO_TCP, Tcp(40000, 80, seq=1, flags=SYN, window=8192), id=1, frag_off=IP_DF)
TCP_SYN = wire.to_bytes(_SYN)
UDP = wire.to_bytes(Packet(A, B, IPPROTO_UDP, Udp(54321, 53), b"A", id=2))
ICMP_ERR = wire.to_bytes(Packet(C, A, IPPROTO_ICMP, Icmp(3, 3, inner=wire.parse(TCP_SYN)), id=3))
FRAG = wire.to_bytes(Packet(A, C, IPPROTO_UDP, None, b"x" * 24, id=4, frag_off=IP_MF))
SEEDS = [TCP_SYN, UDP, ICMP_ERR, FRAG]


def _engine() -> Engine:
    return Engine(Ruleset.from_save(RULES), Host.from_file(HOST))


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int, fix: bool) -> bytes:
    b = bytearray(base)
    for pos, val in edits:
        b[pos % len(b)] = val
    b = b[: max(0, len(b) - cut)]
    if fix and len(b) >= 20:  # a valid IP header checksum, so the damage reaches netfilter
        ihl = min((b[0] & 15) * 4, len(b)) or 20
        b[10:12] = b"\0\0"
        total = sum(struct.unpack(f"!{ihl // 2}H", bytes(b[: ihl // 2 * 2])))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        b[10:12] = struct.pack("!H", ~total & 0xFFFF)
    return bytes(b)


PACKETS = st.one_of(
    st.binary(max_size=80),
    st.builds(_mutate, st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)),
                                                        max_size=6), st.integers(0, 30), st.booleans()),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(PACKETS, st.sampled_from(["a0", "b0", "lo", "out"])), min_size=1, max_size=6))
def test_packets_never_crash_the_engine(packets: list[tuple[bytes, str]]) -> None:
    engine = _engine()
    for t, (data, where) in enumerate(packets):
        try:
            pkt = wire.parse(data)
        except PynfError as e:
            assert "\n" not in str(e)
            continue
        out = engine.send(pkt, float(t)) if where == "out" else engine.receive(pkt, where, float(t))
        assert out.verdict in ("accept", "drop", "queue", "stolen")
        wire.to_bytes(out.packet)  # whatever the rules did, the packet still serializes


def _pcap(linktype: int, records: list[bytes]) -> bytes:
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    body = b"".join(struct.pack("<IIII", 1, 0, len(r), len(r)) + r for r in records)
    return head + body


@settings(max_examples=800, deadline=None)
@given(st.sampled_from([276, 113, 1, 101]), st.lists(st.binary(max_size=90), max_size=4),
       st.integers(0, 40), st.binary(max_size=8))
def test_captures_give_one_line_errors(linktype: int, records: list[bytes], cut: int, junk: bytes) -> None:
    data = _pcap(linktype, records)
    data = data[: max(0, len(data) - cut)] + junk
    try:
        for rec in read(data):
            with contextlib.suppress(PynfError):
                wire.parse(rec.data)
    except PynfError as e:
        assert "\n" not in str(e)
