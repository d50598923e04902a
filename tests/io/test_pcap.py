"""io.pcap on tcpdump's own captures (tools/record_packets.py) and on files it writes itself."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from pynetfilter.io import pcap
from pynetfilter.io.pcap import PcapError, Reader, Writer

KERNEL = Path(__file__).parent.parent / "packet" / "kernel"


def test_tcpdump_any_linux_sll2() -> None:
    r = Reader(KERNEL / "router.pcap")
    recs = list(r)
    assert r.linktype == pcap.LINKTYPE_LINUX_SLL2 and not r.nano
    assert len(recs) == 50 and r.skipped == {"ARP": 4} and r.records == 54
    assert {x.ifindex for x in recs} == {2, 3}  # c0 and s0 in the router
    assert sum(x.direction == "In" for x in recs) == 24 and sum(x.direction == "Out" for x in recs) == 26
    assert all(len(x.src_mac or b"") == 6 and x.pkt_type in ("host", "outgoing") for x in recs)
    assert all(a.ts <= b.ts for a, b in zip(recs, recs[1:], strict=False))
    assert recs[0].data[0] == 0x45 and recs[0].orig_len == len(recs[0].data)
    # The router's own MAC is the source of what it sends on that interface.
    macs = {(x.ifindex, x.src_mac) for x in recs if x.direction == "Out"}
    assert len(macs) == 2


def test_tcpdump_ethernet_nanoseconds() -> None:
    r = Reader(KERNEL / "server-eth.pcap")
    recs = list(r)
    assert r.linktype == pcap.LINKTYPE_EN10MB and r.nano and len(recs) == 24
    assert all(x.ifindex is None and x.direction == "In" for x in recs)
    server_mac = next(x.src_mac for x in recs if x.data[12:16] == bytes([10, 233, 32, 2]))
    out = list(pcap.read(KERNEL / "server-eth.pcap", out_macs=[server_mac]))
    assert sum(x.direction == "Out" for x in out) == 10  # what the server sent
    assert abs(out[0].ts - out[0].ts_ns / 1e9) < 1e-6


def _swap_endian(data: bytes) -> bytes:
    """A little-endian classic pcap rewritten big-endian (what a big-endian host's tcpdump writes)."""
    out = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", data[:24])))
    pos = 24
    while pos < len(data):
        hdr = struct.unpack("<IIII", data[pos:pos + 16])
        out += struct.pack(">IIII", *hdr) + data[pos + 16:pos + 16 + hdr[2]]
        pos += 16 + hdr[2]
    return bytes(out)


@pytest.mark.parametrize("linktype", [pcap.LINKTYPE_LINUX_SLL2, pcap.LINKTYPE_LINUX_SLL, pcap.LINKTYPE_EN10MB,
                                      pcap.LINKTYPE_RAW, pcap.LINKTYPE_IPV4])
@pytest.mark.parametrize("nano", [False, True])
def test_write_then_read(linktype: int, nano: bool) -> None:
    src = list(Reader(KERNEL / "router.pcap"))[:6]
    buf = io.BytesIO()
    w = Writer(buf, linktype, nano=nano)
    for x in src:
        w.write(x.data, x.ts, ifindex=x.ifindex or 0, direction=x.direction, src_mac=x.src_mac or b"")
    for data in (buf.getvalue(), _swap_endian(buf.getvalue())):
        back = list(Reader(data))
        assert [b.data for b in back] == [x.data for x in src]
        assert all(abs(b.ts - x.ts) < 2e-6 for b, x in zip(back, src, strict=True))
        if linktype in (pcap.LINKTYPE_LINUX_SLL2, pcap.LINKTYPE_LINUX_SLL):
            assert [b.direction for b in back] == [x.direction for x in src]
            assert [b.src_mac for b in back] == [x.src_mac for x in src]
        if linktype == pcap.LINKTYPE_LINUX_SLL2:
            assert [b.ifindex for b in back] == [x.ifindex for x in src]


def test_other_frames_are_counted() -> None:
    buf = io.BytesIO()
    Writer(buf, pcap.LINKTYPE_RAW)
    ipv6 = b"\x60" + bytes(39)
    frames = [(ipv6, "IPv6")]
    body = buf.getvalue() + b"".join(struct.pack("<IIII", 0, 0, len(f), len(f)) + f for f, _ in frames)
    r = Reader(body)
    assert list(r) == [] and r.skipped == {"IPv6": 1}
    sll2 = io.BytesIO()
    Writer(sll2)
    frame = struct.pack("!HHIHBB8s", 0x86DD, 0, 1, 1, 0, 6, b"abcdef") + ipv6
    r = Reader(sll2.getvalue() + struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)
    assert list(r) == [] and r.skipped == {"IPv6": 1}
    eth = io.BytesIO()
    Writer(eth, pcap.LINKTYPE_EN10MB)
    datagram = next(iter(Reader(KERNEL / "router.pcap"))).data
    vlan = b"\xff" * 6 + b"abcdef" + b"\x81\x00\x00\x05\x08\x00" + datagram  # an 802.1Q tag
    (rec,) = Reader(eth.getvalue() + struct.pack("<IIII", 0, 0, len(vlan), len(vlan)) + vlan)
    assert rec.pkt_type == "broadcast" and rec.src_mac == b"abcdef" and rec.data[0] == 0x45


def test_write_file(tmp_path: Path) -> None:
    data = next(iter(Reader(KERNEL / "router.pcap"))).data
    assert pcap.write(tmp_path / "x.pcap", [(1.5, data), (2.0, data)]) == 2
    assert [(r.ts, r.data) for r in pcap.read(tmp_path / "x.pcap")] == [(1.5, data), (2.0, data)]


def _one_line(e: PcapError) -> str:
    assert "\n" not in str(e)
    return str(e)


def test_garbled_captures(tmp_path: Path) -> None:
    good = (KERNEL / "router.pcap").read_bytes()
    cases = [
        (good[:10], "the header alone is 24"),
        (b"\x0a\x0d\x0d\x0a" + bytes(40), "not a pcap file"),  # pcapng: pcap.open_capture
        (b"GIF89a" + bytes(40), "not a pcap file"),
        (good[:20] + struct.pack("<I", 105), "unsupported link type 105"),
        (good[:24 + 10], "record 1: truncated record header"),
        (good[:-5], "truncated: "),
        (good[:24] + struct.pack("<IIII", 0, 0, 4, 4) + b"\0\0\x08\0", "record 1: 4-byte frame"),
        (good[:24] + struct.pack("<IIII", 0, 2_000_000, 0, 0), "garbled timestamp"),
    ]
    for data, msg in cases:
        with pytest.raises(PcapError) as e:
            list(Reader(data))
        assert msg in _one_line(e.value), (msg, str(e.value))
    with pytest.raises(PcapError, match="No such file"):
        Reader(tmp_path / "missing.pcap")
    with pytest.raises(PcapError, match="record 54"):  # the last record cut short
        list(Reader(good[:-5]))
