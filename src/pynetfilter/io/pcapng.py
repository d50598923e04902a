"""pcapng files (dumpcap, Wireshark, tcpdump -r's other format): the IPv4 records and what the
capturing program said about its losses.

Theory of operation.  A pcapng file is a sequence of blocks (type, length,
body, length again), in sections that each start with a Section Header Block
giving the byte order.  Each Interface Description Block (IDB) declares one
capture interface: its link type, snap length, name (``if_name``) and
timestamp unit (``if_tsresol``, default microseconds); packets name their
interface by its position in the section.  Enhanced Packet Blocks (EPB) carry
the packets (captured and original length, flags with the direction), Simple
Packet Blocks (SPB) a packet without time; the obsolete Packet Block is read
too.  Interface Statistics Blocks (ISB) say how many packets the interface
received and dropped (``isb_ifdrop``: dropped by the interface or driver,
``isb_osdrop``: by the operating system, e.g. a full capture ring) and EPBs may
carry ``epb_dropcount``; :attr:`PcapngReader.drops` sums them per interface.

Link layers are decoded as in :mod:`pynetfilter.io.pcap` (LINUX_SLL2 with
each packet's interface index: ``dumpcap -i any -y LINUX_SLL2``); a record of
another link type carries its interface's ``if_name`` (``dumpcap -i eth0 -i
eth1``: Ethernet frames, one IDB per interface), and its direction when the
EPB's flags give one (dumpcap leaves them out: the replay then compares MACs).

Own reader, not a library: the format is small and stable, the project has no
dependencies, and what it needs (ISB drop counters, per-interface snap length,
EPB direction flags) is exposed by python-pcapng (last release 2022) but skipped by
dpkt's reader, and scapy is a large dependency for one block walker.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pynetfilter.io.pcap import PACKET_OUTGOING, PKT_TYPES, PcapError, Reader, Record

SHB, IDB, PB, SPB, ISB, EPB = 0x0A0D0D0A, 1, 2, 3, 5, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_BLOCK = 16 << 20  # libpcap's largest block: a longer length is garbage, not a reason to read 4 GiB
OPT_ENDOFOPT, IF_NAME, IF_TSRESOL, IF_TSOFFSET = 0, 2, 9, 14
EPB_FLAGS, EPB_DROPCOUNT = 2, 4
ISB_IFRECV, ISB_IFDROP, ISB_OSDROP = 4, 5, 7


@dataclass
class Interface:
    """One Interface Description Block, and the statistics its ISBs and EPBs gave."""

    linktype: int
    snaplen: int
    name: str = ""
    units: int = 1_000_000  # timestamp ticks per second
    offset: int = 0  # seconds added to every timestamp
    received: int | None = None  # isb_ifrecv (the last ISB's)
    ifdrop: int = 0  # isb_ifdrop
    osdrop: int = 0  # isb_osdrop
    epb_drops: int = 0  # sum of epb_dropcount
    stats: bool = False  # an ISB was seen


def _options(body: bytes, pos: int, e: str) -> Iterator[tuple[int, bytes]]:
    while pos + 4 <= len(body):
        code, n = struct.unpack_from(e + "HH", body, pos)
        if code == OPT_ENDOFOPT:
            return
        yield code, body[pos + 4:pos + 4 + n]
        pos += 4 + n + (-n % 4)


def _u64(v: bytes, e: str) -> int:
    return struct.unpack(e + "Q", v[:8])[0] if len(v) >= 8 else 0


class PcapngReader(Reader):
    """Iterate over a pcapng file's IPv4 records; ``interfaces`` and ``drops`` once iterated."""

    def __init__(self, source: BinaryIO, name: str, *, out_macs: Iterable[bytes] = (),
                 head: bytes = b"") -> None:
        self.f, self.name = source, name
        self.head = head  # bytes of the first block already read (to tell pcapng from pcap)
        self.out_macs = frozenset(out_macs)
        self.skipped: dict[str, int] = {}
        self.records = 0
        self.interfaces: list[Interface] = []  # of every section, in file order
        self.linktype = 0
        self.snaplen = 0

    @property
    def drops(self) -> int:
        return sum(i.ifdrop + i.osdrop + i.epb_drops for i in self.interfaces)

    def _records(self) -> Iterator[Record]:
        """Block by block as the file is read (memory: one block)."""
        f, pos, n, e = self.f, 0, 0, "<"
        section: list[Interface] = []
        pending = self.head
        while True:
            head = pending + f.read(12 - len(pending))
            pending = b""
            if not head:
                return
            if len(head) < 12:
                raise PcapError(f"{self.name}: truncated block header at byte {pos}")
            btype = struct.unpack_from(e + "I", head)[0]
            if btype == SHB:
                magic = head[8:12]
                e = "<" if magic == struct.pack("<I", BYTE_ORDER_MAGIC) else ">" \
                    if magic == struct.pack(">I", BYTE_ORDER_MAGIC) else ""
                if not e:
                    raise PcapError(f"{self.name}: section header at byte {pos}: bad byte-order magic")
                section = []
            blen = struct.unpack_from(e + "I", head, 4)[0]
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                raise PcapError(f"{self.name}: block at byte {pos}: bad or truncated length {blen}")
            rest = f.read(blen - 12)
            if len(rest) < blen - 12:
                raise PcapError(f"{self.name}: block at byte {pos}: bad or truncated length {blen}")
            body = (head[8:] + rest)[:-4]
            pos += blen
            if btype == IDB:
                self._idb(body, e, section)
            elif btype == ISB and len(body) >= 12:
                iface = self._iface(section, struct.unpack_from(e + "I", body)[0])
                iface.stats = True
                for code, v in _options(body, 12, e):
                    if code == ISB_IFRECV:
                        iface.received = _u64(v, e)
                    elif code == ISB_IFDROP:
                        iface.ifdrop = _u64(v, e)
                    elif code == ISB_OSDROP:
                        iface.osdrop = _u64(v, e)
            elif btype in (EPB, SPB, PB):
                n += 1
                rec = self._packet(btype, body, e, section, n)
                if rec is not None:
                    yield rec

    def _idb(self, body: bytes, e: str, section: list[Interface]) -> None:
        if len(body) < 8:
            raise PcapError(f"{self.name}: interface description block of {len(body)} bytes")
        link, _res, snaplen = struct.unpack_from(e + "HHI", body)
        iface = Interface(link, snaplen)
        for code, v in _options(body, 8, e):
            if code == IF_NAME:
                iface.name = v.decode("utf-8", "replace").rstrip("\0")
            elif code == IF_TSRESOL and v:
                iface.units = 2 ** (v[0] & 0x7F) if v[0] & 0x80 else 10 ** v[0]
            elif code == IF_TSOFFSET:
                iface.offset = struct.unpack(e + "q", v[:8])[0] if len(v) >= 8 else 0
        section.append(iface)
        self.interfaces.append(iface)
        self.snaplen = max(self.snaplen, snaplen)

    def _iface(self, section: list[Interface], i: int) -> Interface:
        if i >= len(section):
            raise PcapError(f"{self.name}: a block names interface {i}, the section declares {len(section)}")
        return section[i]

    def _packet(self, btype: int, body: bytes, e: str, section: list[Interface], n: int) -> Record | None:
        flags = 0
        if btype == EPB:
            if len(body) < 20:
                raise PcapError(f"{self.name}: record {n}: enhanced packet block of {len(body)} bytes")
            ifn, hi, lo, incl, orig = struct.unpack_from(e + "IIIII", body)
            start = 20
        elif btype == PB:
            ifn, _drops, hi, lo, incl, orig = struct.unpack_from(e + "HHIIII", body)
            start = 20
        else:
            ifn, hi, lo = 0, 0, 0
            orig = struct.unpack_from(e + "I", body)[0]
            start, incl = 4, min(orig, len(body) - 4)
        iface = self._iface(section, ifn)
        if start + incl > len(body):
            raise PcapError(f"{self.name}: record {n}: truncated: {incl} bytes captured, "
                            f"{len(body) - start} in the block")
        frame = body[start:start + incl]
        if btype == EPB:
            for code, v in _options(body, start + incl + (-incl % 4), e):
                if code == EPB_FLAGS and len(v) >= 4:
                    flags = struct.unpack(e + "I", v[:4])[0]
                elif code == EPB_DROPCOUNT:
                    iface.epb_drops += _u64(v, e)
        self.records = n
        self.linktype = iface.linktype
        out = self._decode(n, frame)
        if out is None:
            return None
        ifindex, ptype, mac, ip, hdrlen = out
        if flags & 3 and ifindex is None:  # epb_flags direction: 1 inbound, 2 outbound
            ptype = PACKET_OUTGOING if flags & 3 == 2 else (ptype if ptype != PACKET_OUTGOING else 0)
        ticks = (hi << 32 | lo)
        ns = (ticks * 1_000_000_000) // iface.units + iface.offset * 1_000_000_000
        return Record(n, ns / 1e9, ns, ifindex, "Out" if ptype == PACKET_OUTGOING else "In",
                      PKT_TYPES.get(ptype, str(ptype)), mac, ip, orig - hdrlen,
                      None if ifindex is not None else iface.name or None)

