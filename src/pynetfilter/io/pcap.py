"""Classic pcap files: read the IPv4 datagrams of a capture, write captures back (pcapng: io.pcapng).

Theory of operation.  :func:`read` walks a classic (libpcap) file of either
byte order, micro- or nanosecond timestamps, and yields one :class:`Record`
per IPv4 frame: its time, interface index and direction when the link type
says them, the link-layer source address and the IP bytes.  Link types:

* LINUX_SLL2 (276), what ``tcpdump -i any`` writes: protocol, interface
  index, packet type (0 host, 1 broadcast, 2 multicast, 3 otherhost are
  received, "In"; 4 outgoing is "Out") and the link-layer address (the
  source: the sender's for received frames, ours for outgoing ones).
* LINUX_SLL (113), the older cooked header: the same without the index.
* EN10MB (1): Ethernet, 802.1Q/802.1ad tags skipped; direction "In" unless
  the source MAC is one of ``out_macs`` (the capturing interface's own).
* RAW (101) and IPV4 (228): the datagram alone, direction "In".

Frames that are not IPv4 (ARP, IPv6, ...) are skipped and counted in
:attr:`Reader.skipped`.  A truncated or garbled file raises
:class:`PcapError` naming the record.  :class:`Writer` writes the same
format (LINUX_SLL2 by default) for tests and for emitting packets.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pynetfilter.errors import PynfError

LINKTYPE_EN10MB, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL2 = 1, 101, 113, 228, 276
MAGIC_US, MAGIC_NS = 0xA1B2C3D4, 0xA1B23C4D
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"  # a pcapng Section Header Block's type, in either byte order
ETH_P_IP, ETH_P_8021Q, ETH_P_8021AD = 0x0800, 0x8100, 0x88A8
PKT_TYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}
PACKET_OUTGOING = 4
ARPHRD_ETHER = 1


class PcapError(PynfError):
    """A capture file that cannot be read."""


@dataclass(slots=True)
class Record:
    number: int  # 1-based record number in the file (IPv4 or not)
    ts: float  # seconds since the epoch
    ts_ns: int  # the same, exact, in nanoseconds
    ifindex: int | None  # interface index (LINUX_SLL2), else None
    direction: str  # "In" or "Out"
    pkt_type: str  # host, broadcast, multicast, otherhost, outgoing
    src_mac: bytes | None  # link-layer source address, when the link type has one
    data: bytes  # the IPv4 datagram (as captured: may be cut short by the snap length)
    orig_len: int  # the frame's length on the wire (incl_len < orig_len: snapped)
    ifname: str | None = None  # pcapng: the interface's if_name, for link types without an index


def _open(source: str | Path | bytes | BinaryIO, name: str) -> tuple[BinaryIO, str]:
    """A binary stream of the capture: a file is read as it is iterated, never whole."""
    if isinstance(source, bytes):
        return io.BytesIO(source), name
    if not isinstance(source, str | Path):
        return source, name
    try:
        return open(source, "rb"), str(source)  # noqa: SIM115  (closed when iteration ends)
    except OSError as e:
        raise PcapError(f"{source}: {e.strerror or e}") from None


class Reader:
    """Iterate over a capture's IPv4 records; ``skipped`` counts the other frames by ethertype.

    The file is read record by record as it is iterated (memory: one record), and closed at the end.
    """

    def __init__(self, source: str | Path | bytes | BinaryIO, *, out_macs: Iterable[bytes] = (),
                 name: str = "<capture>", head: bytes = b"") -> None:
        self.f, self.name = _open(source, name)
        self.out_macs = frozenset(out_macs)
        self.skipped: dict[str, int] = {}
        self.records = 0
        head = head + self.f.read(24 - len(head))
        if len(head) < 24:
            raise PcapError(f"{self.name}: not a pcap file: {len(head)} bytes, the header alone is 24")
        for endian in "<>":
            magic = struct.unpack(endian + "I", head[:4])[0]
            if magic in (MAGIC_US, MAGIC_NS):
                break
        else:
            raise PcapError(f"{self.name}: not a pcap file (magic 0x{head[:4].hex()})")
        self.endian = endian
        self.nano = magic == MAGIC_NS
        _m, major, _minor, _tz, _sig, self.snaplen, link = struct.unpack(endian + "IHHiIII", head)
        if major != 2:
            raise PcapError(f"{self.name}: unsupported pcap version {major}")
        self.linktype = link & 0x0FFFFFFF  # the upper bits may carry FCS information
        if self.linktype not in (LINKTYPE_EN10MB, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_IPV4,
                                 LINKTYPE_LINUX_SLL2):
            raise PcapError(f"{self.name}: unsupported link type {self.linktype} (LINUX_SLL2, LINUX_SLL, "
                            "EN10MB and RAW are read)")

    def __iter__(self) -> Iterator[Record]:
        try:
            yield from self._records()
        finally:
            self.f.close()

    def _records(self) -> Iterator[Record]:
        f, n = self.f, 0
        rec = struct.Struct(self.endian + "IIII")
        scale = 1 if self.nano else 1000
        while True:
            head = f.read(16)
            if not head:
                return
            n += 1
            if len(head) < 16:
                raise PcapError(f"{self.name}: record {n}: truncated record header ({len(head)} of 16 bytes)")
            sec, frac, incl, orig = rec.unpack(head)
            if frac >= 1_000_000_000 // scale:
                raise PcapError(f"{self.name}: record {n}: garbled timestamp fraction {frac}")
            if incl > max(self.snaplen, 262144) and incl > 1 << 20:
                raise PcapError(f"{self.name}: record {n}: implausible captured length {incl}")
            frame = f.read(incl)
            if len(frame) < incl:
                raise PcapError(f"{self.name}: record {n}: truncated: {incl} bytes captured, "
                                f"{len(frame)} left in the file")
            self.records = n
            out = self._decode(n, frame)
            if out is None:
                continue
            ifindex, ptype, mac, ip, hdrlen = out
            ns = sec * 1_000_000_000 + frac * scale
            yield Record(n, ns / 1e9, ns, ifindex, "Out" if ptype == PACKET_OUTGOING else "In",
                         PKT_TYPES.get(ptype, str(ptype)), mac, ip, orig - hdrlen)

    def _skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def _decode(self, n: int, f: bytes) -> tuple[int | None, int, bytes | None, bytes, int] | None:
        """(ifindex, packet type, source address, IP bytes, link header length), None if not IPv4."""
        lt = self.linktype
        if lt == LINKTYPE_LINUX_SLL2:
            if len(f) < 20:
                raise PcapError(f"{self.name}: record {n}: {len(f)}-byte frame, LINUX_SLL2 needs 20")
            proto, _res, ifindex, _hatype, ptype, alen = struct.unpack_from("!HHIHBB", f)
            return self._ip(proto, ifindex, ptype, f[12:12 + min(alen, 8)], f[20:], 20)
        if lt == LINKTYPE_LINUX_SLL:
            if len(f) < 16:
                raise PcapError(f"{self.name}: record {n}: {len(f)}-byte frame, LINUX_SLL needs 16")
            ptype, _hatype, alen = struct.unpack_from("!HHH", f)
            proto = int.from_bytes(f[14:16], "big")
            return self._ip(proto, None, ptype, f[6:6 + min(alen, 8)], f[16:], 16)
        if lt == LINKTYPE_EN10MB:
            if len(f) < 14:
                raise PcapError(f"{self.name}: record {n}: {len(f)}-byte Ethernet frame, need 14")
            off, proto = 12, int.from_bytes(f[12:14], "big")
            while proto in (ETH_P_8021Q, ETH_P_8021AD) and len(f) >= off + 6:
                off += 4
                proto = int.from_bytes(f[off:off + 2], "big")
            src = f[6:12]
            ptype = PACKET_OUTGOING if src in self.out_macs else (1 if f[0:6] == b"\xff" * 6 else
                                                                  2 if f[0] & 1 else 0)
            return self._ip(proto, None, ptype, src, f[off + 2:], off + 2)
        if f[:1] and f[0] >> 4 == 4:  # RAW / IPV4
            return None, 0, None, f, 0
        self._skip("IPv6" if f[:1] and f[0] >> 4 == 6 else "unknown")
        return None

    def _ip(self, proto: int, ifindex: int | None, ptype: int, mac: bytes, ip: bytes,
            hdrlen: int) -> tuple[int | None, int, bytes | None, bytes, int] | None:
        if proto != ETH_P_IP:
            self._skip({0x0806: "ARP", 0x86DD: "IPv6"}.get(proto, f"0x{proto:04x}"))
            return None
        return ifindex, ptype, mac or None, ip, hdrlen


def open_capture(source: str | Path | bytes, *, out_macs: Iterable[bytes] = ()) -> Reader:
    """A reader for a classic pcap or a pcapng file (told apart by their first bytes)."""
    f, name = _open(source, "<capture>")
    head = f.read(4)
    if head == PCAPNG_MAGIC:
        from pynetfilter.io.pcapng import PcapngReader

        return PcapngReader(f, name, out_macs=out_macs, head=head)
    return Reader(f, out_macs=out_macs, name=name, head=head)


def read(source: str | Path | bytes, *, out_macs: Iterable[bytes] = ()) -> Iterator[Record]:
    """The IPv4 records of a capture, pcap or pcapng (see :class:`Reader` for skipped frames)."""
    return iter(open_capture(source, out_macs=out_macs))


class Writer:
    """Write a classic pcap (little-endian, microseconds unless ``nano``) of IPv4 datagrams."""

    def __init__(self, out: BinaryIO, linktype: int = LINKTYPE_LINUX_SLL2, *, nano: bool = False,
                 snaplen: int = 262144) -> None:
        if linktype not in (LINKTYPE_LINUX_SLL2, LINKTYPE_LINUX_SLL, LINKTYPE_EN10MB, LINKTYPE_RAW,
                            LINKTYPE_IPV4):
            raise PcapError(f"cannot write link type {linktype}")
        self.out, self.linktype, self.nano = out, linktype, nano
        out.write(struct.pack("<IHHiIII", MAGIC_NS if nano else MAGIC_US, 2, 4, 0, 0, snaplen, linktype))

    def write(self, data: bytes, ts: float = 0.0, *, ifindex: int = 0, direction: str = "In",
              src_mac: bytes = b"", dst_mac: bytes = b"\0" * 6, pkt_type: int | None = None) -> None:
        """One IPv4 datagram as a frame of the file's link type."""
        ptype = pkt_type if pkt_type is not None else (PACKET_OUTGOING if direction == "Out" else 0)
        mac = src_mac[:8]
        if self.linktype == LINKTYPE_LINUX_SLL2:
            frame = struct.pack("!HHIHBB8s", ETH_P_IP, 0, ifindex, ARPHRD_ETHER, ptype, len(mac), mac) + data
        elif self.linktype == LINKTYPE_LINUX_SLL:
            frame = struct.pack("!HHH8sH", ptype, ARPHRD_ETHER, len(mac), mac, ETH_P_IP) + data
        elif self.linktype == LINKTYPE_EN10MB:
            frame = dst_mac[:6].ljust(6, b"\0") + src_mac[:6].ljust(6, b"\0") + b"\x08\x00" + data
        else:
            frame = data
        unit = 1_000_000_000 if self.nano else 1_000_000
        ticks = round(ts * unit)
        self.out.write(struct.pack("<IIII", ticks // unit, ticks % unit, len(frame), len(frame)) + frame)


def write(path: str | Path, packets: Iterable[tuple[float, bytes]], linktype: int = LINKTYPE_RAW) -> int:
    """Write (timestamp, IPv4 bytes) pairs to *path*; returns how many."""
    n = 0
    with open(path, "wb") as f:
        w = Writer(f, linktype)
        for ts, data in packets:
            w.write(data, ts)
            n += 1
    return n
