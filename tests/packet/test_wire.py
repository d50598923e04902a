"""packet.wire against packets the kernel made (tools/record_packets.py) and odd packets by hand."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import pytest

from pynetfilter.io.pcap import Reader
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_MF, Icmp, Packet, Sctp, Tcp, Udp
from pynetfilter.packet.wire import PacketError, length, parse, parse_inner, to_bytes

KERNEL = Path(__file__).parent / "kernel"
META = json.loads((KERNEL / "capture.json").read_text())


def ip(a: str) -> int:
    return int.from_bytes(bytes(int(x) for x in a.split(".")), "big")


def records(name: str) -> list:
    return list(Reader(KERNEL / name))


@pytest.mark.parametrize("name", ["router.pcap", "client.pcap", "server-eth.pcap"])
def test_kernel_packets_round_trip(name: str) -> None:
    recs = records(name)
    assert len(recs) >= 24
    for rec in recs:
        pkt = parse(rec.data)
        assert to_bytes(pkt) == rec.data[:pkt.tot_len], rec.number
        assert length(pkt) == pkt.tot_len
        if pkt.l4 is not None and not pkt.is_fragment:
            assert wire.l4_checksum_ok(pkt), rec.number


def test_kernel_packet_kinds() -> None:
    pkts = [parse(r.data) for r in records("router.pcap")]
    kinds = {(p.proto, type(p.l4).__name__, p.is_fragment) for p in pkts}
    assert {(6, "Tcp", False), (17, "Udp", False), (1, "Icmp", False), (17, "Udp", True),
            (17, "NoneType", True)} <= kinds
    syn = next(p for p in pkts if isinstance(p.l4, Tcp) and p.l4.flags == 0x02)
    assert syn.l4.options[:4] == b"\x02\x04\x02\x94"  # mss 660 (client MTU 700)
    err = next(p for p in pkts if isinstance(p.l4, Icmp) and p.l4.type == 3)
    assert err.l4.code == 3 and err.tos == 0xC0 and err.payload == b""
    inner = err.l4.inner
    assert inner is not None and isinstance(inner.l4, Udp) and inner.l4.dport == 9
    assert inner.payload == b"nobody home"
    echo = next(p for p in pkts if isinstance(p.l4, Icmp) and p.l4.type == 8)
    assert (echo.l4.id, echo.l4.seq, echo.payload) == (0x1234, 1, b"pynf-echo-payload")


def _nat_pairs() -> list[tuple[Packet, Packet]]:
    """(as received, as the router sent it after MASQUERADE or its reverse) for every forwarded packet."""
    idx = META["ifindex"]["router"]
    recs = records("router.pcap")
    ins = [r for r in recs if r.direction == "In"]
    outs = [r for r in recs if r.direction == "Out"]
    pairs = []
    for r in ins:
        p = parse(r.data)
        want = idx["s0"] if r.ifindex == idx["c0"] else idx["c0"]
        for o in outs:
            q = parse(o.data)
            if o.ifindex == want and (q.id, q.frag_off, q.proto, q.tot_len) == (p.id, p.frag_off, p.proto,
                                                                                 p.tot_len):
                outs.remove(o)
                pairs.append((p, q))
                break
    return pairs


def test_nat_rewrite_gives_the_kernels_checksums() -> None:
    client, router_s = ip(META["client"]), ip(META["router_s"])
    pairs = _nat_pairs()
    assert len(pairs) == 22  # all but the reply the router refragmented (2 in, 4 out: see test_defrag)
    for before, after in pairs:
        pkt = parse(to_bytes(before))
        pkt.ttl -= 1  # forwarded
        if pkt.saddr == client:
            pkt.saddr = router_s  # MASQUERADE
        else:
            pkt.daddr = client  # the reply, de-masqueraded
            if isinstance(pkt.l4, Icmp) and pkt.l4.inner is not None:
                pkt.l4.inner.saddr = client  # the quoted datagram is translated too
        if isinstance(pkt.l4, (Tcp, Udp)) and isinstance(after.l4, (Tcp, Udp)):
            pkt.l4.sport, pkt.l4.dport = after.l4.sport, after.l4.dport
        assert to_bytes(pkt) == to_bytes(after), (before, after)


def tcp_syn(**kw) -> Packet:
    return Packet(ip("10.233.1.1"), ip("10.233.2.2"), 6, Tcp(1234, 80, 7, 0, doff=6, flags=0x02, window=512,
                                                              options=b"\x02\x04\x05\xb4"), **kw)


def test_built_packets_parse_back() -> None:
    for pkt in (tcp_syn(), Packet(1, 2, 17, Udp(5, 53, length=13), b"query"),
                Packet(1, 2, 1, Icmp(8, 0, rest=0x00050001), b"ping"),
                Packet(1, 2, 132, Sctp(1, 2, 99, chunks=[(1, 0, b"init-chunk")]), b""),
                Packet(1, 2, 47, None, b"gre", ip_options=b"\x94\x04\x00\x00")):
        data = to_bytes(pkt)
        back = parse(data)
        assert length(pkt) == len(data) == back.tot_len
        assert to_bytes(back) == data
        assert back.payload == pkt.payload and back.ip_options == pkt.ip_options
        if pkt.l4 is not None:
            assert dataclasses.replace(back.l4, check=0) == dataclasses.replace(pkt.l4, check=0)
        assert wire.l4_checksum_ok(back)


@pytest.mark.parametrize("data, reason", [
    (b"\x45" * 10, "truncated IP header"),
    (b"\x65" + bytes(19), "not IPv4: version 6"),
    (b"\x44" + bytes(19), "ihl 4 < 5"),
    (b"\x46" + bytes(19), "ihl says 24"),
])
def test_ip_rcv_drops(data: bytes, reason: str) -> None:
    with pytest.raises(PacketError, match=reason):
        parse(data)


def test_bad_checksum_and_lengths() -> None:
    good = bytearray(to_bytes(tcp_syn()))
    bad = bytearray(good)
    bad[8] ^= 1  # ttl changed, checksum not
    with pytest.raises(PacketError, match="bad IP header checksum"):
        parse(bytes(bad))
    with pytest.raises(PacketError, match="beyond the 30 bytes"):
        parse(bytes(good[:30]))
    short = parse(bytes(good) + b"\0\0\0\0")  # link padding is trimmed
    assert to_bytes(short) == bytes(good)
    tiny = bytearray(good)
    tiny[2:4] = (16).to_bytes(2, "big")
    tiny[10:12] = b"\0\0"
    tiny[10:12] = wire._finish(wire._sum(bytes(tiny[:20]))).to_bytes(2, "big")
    with pytest.raises(PacketError, match="shorter than its 20-byte header"):
        parse(bytes(tiny))
    assert "\n" not in str(PacketError("x"))


def _cut(pkt: Packet, l4_bytes: int) -> bytes:
    """*pkt* with its transport header cut to *l4_bytes*, IP length and checksum fixed."""
    data = to_bytes(pkt)
    return to_bytes(Packet(pkt.saddr, pkt.daddr, pkt.proto, None, data[20:20 + l4_bytes]))


def test_truncated_transport_headers_reach_netfilter_without_l4() -> None:
    for pkt, k in ((tcp_syn(), 19), (Packet(1, 2, 17, Udp(1, 2)), 7), (Packet(1, 2, 1, Icmp(8, 0)), 7),
                   (Packet(1, 2, 132, Sctp(1, 2)), 11)):
        p = parse(_cut(pkt, k))
        assert p.l4 is None and len(p.payload) == k and length(p) == 20 + k


def test_odd_tcp_header_keeps_the_fixed_part() -> None:
    data = bytearray(to_bytes(tcp_syn()))
    data[32] = 0x30  # doff 3
    p = parse(bytes(data))  # the TCP checksum is now wrong: parse does not care, xt_tcp does not either
    assert isinstance(p.l4, Tcp) and p.l4.doff == 3 and p.l4.sport == 1234
    assert to_bytes(p) == bytes(data) and not wire.l4_checksum_ok(p)
    data[32] = 0xF0  # doff 15: options run past the data
    p = parse(bytes(data))
    assert p.l4.doff == 15 and p.l4.options == b"\x02\x04\x05\xb4" and to_bytes(p) == bytes(data)


def test_fragments() -> None:
    first = Packet(1, 2, 17, Udp(7, 9, length=108), b"x" * 32, id=5, frag_off=IP_MF)
    data = to_bytes(first)
    p = parse(data)
    assert isinstance(p.l4, Udp) and p.l4.length == 108  # the whole datagram's, kept
    later = parse(to_bytes(Packet(1, 2, 17, None, b"y" * 16, id=5, frag_off=5)))
    assert later.l4 is None and later.later_fragment and later.fragment_offset == 40
    tiny_first = Packet(1, 2, 6, None, b"z" * 8, frag_off=IP_MF)  # 8 bytes of TCP: no header
    assert parse(to_bytes(tiny_first)).l4 is None


def test_quoted_datagram_cut_to_8_bytes() -> None:
    orig = to_bytes(tcp_syn(id=77))
    err = Packet(ip("10.233.2.2"), ip("10.233.1.1"), 1, Icmp(3, 3, inner=parse_inner(orig[:28])))
    data = to_bytes(err)
    p = parse(data)
    inner = p.l4.inner
    assert inner.l4_partial and isinstance(inner.l4, Tcp) and (inner.l4.sport, inner.l4.dport) == (1234, 80)
    assert inner.tot_len == len(orig) and inner.l4.seq == 7
    assert length(p) == len(data) == 20 + 8 + 28
    inner.l4.sport, inner.saddr = 4321, ip("10.233.9.9")  # NAT of the quoted header
    again = parse(to_bytes(p))
    assert again.l4.inner.l4.sport == 4321 and wire.l4_checksum_ok(again)
    assert to_bytes(again)[28 + 2:28 + 4] == struct.pack("!H", len(orig))  # original total length kept
    assert parse_inner(b"\x45" * 10) is None


def test_quoted_udp_checksum_updates_like_the_kernel() -> None:
    """The quoted UDP checksum covers data not quoted: a rewrite adjusts it incrementally."""
    full = Packet(ip("10.233.1.1"), ip("10.233.2.2"), 17, Udp(1000, 53), b"d" * 40)
    data = to_bytes(full)
    quoted = parse_inner(data[:28])
    quoted.saddr, quoted.l4.sport = ip("10.233.7.7"), 2000
    full.saddr, full.l4.sport = ip("10.233.7.7"), 2000
    assert to_bytes(Packet(0, 0, 1, Icmp(3, 3, inner=quoted)))[28 + 26:28 + 28] == to_bytes(full)[26:28]


def test_udp_without_checksum_and_mangled_zero() -> None:
    data = bytearray(to_bytes(Packet(1, 2, 17, Udp(1, 2), b"abc")))
    data[26:28] = b"\0\0"
    p = parse(bytes(data))
    p.saddr = 99
    assert to_bytes(p)[26:28] == b"\0\0"
    for sport in range(2000):  # some port makes the sum 0: it is sent as 0xFFFF
        q = to_bytes(Packet(1, 2, 17, Udp(sport, 2), b"abc"))
        assert q[26:28] != b"\0\0"


def test_sctp_chunks_and_crc32c() -> None:
    assert wire.crc32c(b"123456789") == 0xE3069283
    pkt = Packet(1, 2, 132, Sctp(5000, 5001, 0xDEADBEEF, chunks=[(0, 3, b"abcde"), (14, 0, b"")]))
    data = to_bytes(pkt)
    p = parse(data)
    assert p.l4.chunks == [(0, 3, b"abcde"), (14, 0, b"")] and p.payload == b""
    assert wire.l4_checksum_ok(p) and len(data) == 20 + 12 + 12 + 4
    garbled = parse(data[:-4] + b"\x0e\x00\x00\x00")  # chunk length 0: left as payload
    assert garbled.l4.chunks == [(0, 3, b"abcde")] and garbled.payload == b"\x0e\x00\x00\x00"
    assert to_bytes(garbled) == data[:-4] + b"\x0e\x00\x00\x00"  # its CRC is wrong and stays so


def test_checksum_partial_keeps_the_pseudo_header_sum() -> None:
    pkt = tcp_syn()
    pkt.meta.csum_partial = True
    data = to_bytes(pkt)
    pseudo = (0x0AE9 + 0x0101 + 0x0AE9 + 0x0202 + 6 + 24) % 0xFFFF
    assert int.from_bytes(data[36:38], "big") == pseudo
