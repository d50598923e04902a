"""pcapng: dumpcap's real captures (tests/replay/scenarios) and hand-built blocks for what it
does not write (big-endian sections, timestamp units, EPB flags, SPBs, garbled files)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pynetfilter.io import pcap
from pynetfilter.io.pcap import LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, PcapError, open_capture
from pynetfilter.io.pcapng import PcapngReader

SCENARIOS = Path(__file__).resolve().parent.parent / "replay" / "scenarios"
DATAGRAM = bytes.fromhex("450000280001000040060000") + bytes([10, 233, 1, 2, 10, 233, 2, 2]) + bytes(20)


def _opt(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def _block(e: str, btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def _file(e: str, *blocks: bytes) -> bytes:
    shb = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    return _block(e, 0x0A0D0D0A, shb) + b"".join(blocks)


def test_dumpcap_capture_reads_as_tcpdump_would() -> None:
    """dumpcap -i any -y LINUX_SLL2: interface indexes, directions, nanosecond stamps, no drops."""
    r = open_capture(SCENARIOS / "pcapng" / "capture.pcapng")
    assert isinstance(r, PcapngReader)
    recs = list(r)
    assert r.interfaces[0].linktype == LINKTYPE_LINUX_SLL2 and r.interfaces[0].name == "any"
    assert r.interfaces[0].stats and r.interfaces[0].received == r.records and r.drops == 0
    assert len(recs) + sum(r.skipped.values()) == r.records
    assert {x.direction for x in recs} == {"In", "Out"} and all(x.ifindex for x in recs)
    assert all(b.ts_ns >= a.ts_ns for a, b in zip(recs, recs[1:], strict=False))


def test_dumpcap_drops_are_reported() -> None:
    r = open_capture(SCENARIOS / "pcapng-drops" / "capture.pcapng")
    list(r)
    assert r.drops > 0 and r.drops == r.interfaces[0].ifdrop  # type: ignore[attr-defined]


@pytest.mark.parametrize("e", ["<", ">"])
def test_hand_built_blocks(e: str) -> None:
    idb0 = _block(e, 1, struct.pack(e + "HHI", LINKTYPE_RAW, 0, 96) + _opt(e, 2, b"eth0")
                  + _opt(e, 9, bytes([9])) + _opt(e, 0, b""))
    idb1 = _block(e, 1, struct.pack(e + "HHI", LINKTYPE_RAW, 0, 0) + _opt(e, 9, bytes([0x80 | 10])))
    pad = bytes(-len(DATAGRAM) % 4)
    ts = 1_500_000_000_250_000_000  # ns, if_tsresol 9
    epb = _block(e, 6, struct.pack(e + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, 30, len(DATAGRAM))
                 + DATAGRAM[:30] + bytes(-30 % 4) + _opt(e, 2, struct.pack(e + "I", 2))
                 + _opt(e, 4, struct.pack(e + "Q", 3)))
    n = len(DATAGRAM)
    epb1 = _block(e, 6, struct.pack(e + "IIIII", 1, 0, 3 << 10, n, n) + DATAGRAM + pad)
    spb = _block(e, 3, struct.pack(e + "I", len(DATAGRAM)) + DATAGRAM + pad)
    isb = _block(e, 5, struct.pack(e + "III", 0, 0, 0) + _opt(e, 4, struct.pack(e + "Q", 5))
                 + _opt(e, 5, struct.pack(e + "Q", 7)) + _opt(e, 7, struct.pack(e + "Q", 11)))
    r = open_capture(_file(e, idb0, idb1, epb, epb1, spb, isb))
    recs = list(r)
    assert [x.number for x in recs] == [1, 2, 3]
    first = recs[0]
    assert first.ts_ns == ts and first.direction == "Out" and first.orig_len == len(DATAGRAM)
    assert len(first.data) == 30  # cut by the snap length: incl < orig
    assert recs[1].ts == 3.0 and recs[1].direction == "In"  # if_tsresol 2^-10
    assert recs[2].data == DATAGRAM
    i0 = r.interfaces[0]  # type: ignore[attr-defined]
    assert (i0.name, i0.received, i0.ifdrop, i0.osdrop, i0.epb_drops) == ("eth0", 5, 7, 11, 3)
    assert r.drops == 21  # type: ignore[attr-defined]


def test_garbled_pcapng() -> None:
    e = "<"
    idb = _block(e, 1, struct.pack(e + "HHI", LINKTYPE_RAW, 0, 0))
    good = _file(e, idb, _block(e, 6, struct.pack(e + "IIIII", 0, 0, 0, 40, 40) + DATAGRAM))
    cases = [
        (good[:-3], "bad or truncated length"),
        (good[:8] + b"\0\0\0\0" + good[12:], "bad byte-order magic"),
        (_file(e, _block(e, 6, struct.pack(e + "IIIII", 0, 0, 0, 40, 40) + DATAGRAM)),
         "names interface 0, the section declares 0"),
        (_file(e, idb, _block(e, 6, struct.pack(e + "IIIII", 0, 0, 0, 400, 400) + DATAGRAM)),
         "record 1: truncated"),
        (_file(e, idb, _block(e, 6, b"\0" * 8)), "enhanced packet block of 8 bytes"),
    ]
    for data, msg in cases:
        with pytest.raises(PcapError) as exc:
            list(open_capture(data))
        assert msg in str(exc.value) and "\n" not in str(exc.value), (msg, str(exc.value))


def test_read_dispatches_on_magic() -> None:
    assert len(list(pcap.read(SCENARIOS / "pcapng" / "capture.pcapng"))) == \
        len(list(open_capture(SCENARIOS / "pcapng" / "capture.pcapng")))


def test_named_interfaces_carry_their_names() -> None:
    """dumpcap -i rc -i rs -i rc2: Ethernet frames, one IDB per interface, no direction flags."""
    r = open_capture(SCENARIOS / "pcapng-ethernet" / "capture.pcapng")
    recs = list(r)
    assert [i.name for i in r.interfaces] == ["rc", "rs", "rc2"]  # type: ignore[attr-defined]
    assert {x.ifname for x in recs} == {"rc", "rs"} and all(x.ifindex is None for x in recs)
    assert all(x.src_mac is not None and len(x.src_mac) == 6 for x in recs)
