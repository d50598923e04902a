"""-m dccp (xt_dccp): DCCP ports, packet types and one option number.  Needs -p dccp.

The packet type is the 4-bit field of the generic header; iptables' ``INVALID``
names every type from 10 (DCCP_PKT_INVALID) to 15, so it sets bits 10-15 and
``iptables -L`` prints it once.  Options start after the type's own header part
(__dccp_hdr_len) and end at the data offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.tcp import print_ports
from pynetfilter.ext.types import parse_uint
from pynetfilter.ext.udp import parse_port_rc
from pynetfilter.packet.model import IP_OFFSET

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SRC_PORTS, DEST_PORTS, TYPE, OPTION = 0x01, 0x02, 0x04, 0x08
TYPE_NAMES = ("REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC",
              "SYNCACK", "INVALID")
INVALID = 10
_INVALID_BITS = 0xFFFF & ~((1 << INVALID) - 1)  # types 10..15: no valid DCCP packet type
DATA, ACK, DATAACK, REQUEST, RESPONSE, RESET = 2, 3, 4, 0, 1, 7
_ACK_TYPES = frozenset((DATAACK, ACK, 8, 9, 6, 5))  # with ack bits: DATAACK ACK SYNC SYNCACK CLOSE CLOSEREQ


def parse_types(text: str) -> int:
    """parse_dccp_types: a comma list of type names (any case); empty words are skipped."""
    mask = 0
    for word in (w for w in text.split(",") if w):
        idx = next((i for i, n in enumerate(TYPE_NAMES) if n.lower() == word.lower()), None)
        if idx is None:
            raise ParameterProblem(f"Unknown DCCP type `{word}': expected {','.join(TYPE_NAMES)}")
        mask |= _INVALID_BITS if idx == INVALID else 1 << idx
    return mask


def fmt_types(mask: int, numeric: bool) -> str:
    words = []
    for i in range(16):
        if mask >> i & 1:
            if numeric:
                words.append(str(i))
            else:
                words.append(TYPE_NAMES[min(i, INVALID)])
                if i >= INVALID:
                    break
    return ",".join(words)


def hdr_len(dtype: int, x: bool) -> int:
    """__dccp_hdr_len: generic header (12, or 16 with extended sequence numbers) plus the
    type's own part."""
    base = 16 if x else 12
    if dtype == DATA:
        return base
    if dtype in _ACK_TYPES:
        return base + 8  # struct dccp_hdr_ack_bits
    if dtype == REQUEST:
        return base + 4  # struct dccp_hdr_request: the service code
    return base + 12  # dccp_hdr_response, dccp_hdr_reset


@dataclass(frozen=True, slots=True)
class Dccp(Match):
    """struct xt_dccp_info."""

    name: ClassVar[str] = "dccp"
    proto: ClassVar[int] = 33
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("source-port", invert=True, aliases=("sport",)),
        Opt("destination-port", invert=True, aliases=("dport",)),
        Opt("dccp-types", invert=True),
        Opt("dccp-option", invert=True),
    )

    spts: tuple[int, int] = (0, 0xFFFF)
    dpts: tuple[int, int] = (0, 0xFFFF)
    typemask: int = 0
    option: int = 0
    flags: int = 0
    invflags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Dccp:
        spts = dpts = (0, 0xFFFF)
        typemask = option = flags = inv = 0
        for g in opts.items:
            n = g.opt.name
            if n == "source-port":
                bit, spts = SRC_PORTS, parse_port_rc(g.value)
            elif n == "destination-port":
                bit, dpts = DEST_PORTS, parse_port_rc(g.value)
            elif n == "dccp-types":
                bit, typemask = TYPE, parse_types(g.value)
            else:
                bit = OPTION
                try:
                    option = parse_uint(g.value, 1, 255, "a DCCP option number")
                except ParameterProblem:
                    raise ParameterProblem(
                        f'dccp: bad value for option "--dccp-option", or out of range (1-255): "{g.value}"'
                    ) from None
            flags |= bit
            inv |= bit if g.inverted else 0
        return cls(spts, dpts, typemask, option, flags, inv)

    def save(self) -> str:
        out = ""
        for bit, opt, (lo, hi) in ((SRC_PORTS, "sport", self.spts), (DEST_PORTS, "dport", self.dpts)):
            if self.flags & bit:
                bang = " !" if self.invflags & bit else ""
                out += f"{bang} --{opt} {lo}" if lo == hi else f"{bang} --{opt} {lo}:{hi}"
        if self.flags & TYPE:
            out += f"{' !' if self.invflags & TYPE else ''} --dccp-types {fmt_types(self.typemask, False)}"
        if self.flags & OPTION:
            out += f"{' !' if self.invflags & OPTION else ''} --dccp-option {self.option}"
        return out

    def exact_save(self) -> str | None:
        # An empty type list prints as nothing after --dccp-types: the next word would take its place.
        if not self.flags & TYPE or self.typemask:
            return None
        return self.save().replace(" --dccp-types ", ' --dccp-types ""', 1)

    def describe(self, numeric: bool) -> str:
        out = " dccp"
        if self.flags & SRC_PORTS:
            out += print_ports("spt", *self.spts, bool(self.invflags & SRC_PORTS), numeric, "dccp")
        if self.flags & DEST_PORTS:
            out += print_ports("dpt", *self.dpts, bool(self.invflags & DEST_PORTS), numeric, "dccp")
        if self.flags & TYPE:
            out += (" !" if self.invflags & TYPE else "") + " " + fmt_types(self.typemask, numeric)
        if self.flags & OPTION and (self.option or self.invflags & OPTION):
            out += f" option={'!' if self.invflags & OPTION else ''}{self.option}"
        return out

    def mt(self, pkt: Packet, par: Par) -> bool:
        """dccp_mt: later fragments never match; a generic header cut short drops the packet;
        each test given is inverted on its own."""
        if pkt.frag_off & IP_OFFSET:
            return False
        raw = pkt.payload  # DCCP is never parsed: the payload starts at the transport offset
        if len(raw) < 12:
            par.hotdrop = True
            return False
        flags, inv = self.flags, self.invflags
        sport, dport = raw[0] << 8 | raw[1], raw[2] << 8 | raw[3]
        if flags & SRC_PORTS and (self.spts[0] <= sport <= self.spts[1]) == bool(inv & SRC_PORTS):
            return False
        if flags & DEST_PORTS and (self.dpts[0] <= dport <= self.dpts[1]) == bool(inv & DEST_PORTS):
            return False
        dtype = raw[8] >> 1 & 0xF
        if flags & TYPE and bool(self.typemask >> dtype & 1) == bool(inv & TYPE):
            return False
        if flags & OPTION:
            found = self._find_option(raw, dtype, par)
            if found == bool(inv & OPTION):
                return False
        return True

    def _find_option(self, raw: bytes, dtype: int, par: Par) -> bool:
        """dccp_find_option: walk the options between the type's header and the data offset;
        a data offset short of that header, or options cut short, drop the packet."""
        start = hdr_len(dtype, bool(raw[8] & 1))
        end = raw[4] * 4
        if end < start:
            par.hotdrop = True
            return False
        if end == start:
            return False
        if len(raw) < end:
            par.hotdrop = True
            return False
        op = raw[start:end]
        i = 0
        while i < len(op):
            if op[i] == self.option:
                return True
            # the kernel reads the length byte from its 1 KiB buffer even past the options
            i += 1 if op[i] < 2 else ((op[i + 1] if i + 1 < len(op) else 0) or 1)
        return False


EXTENSION = Dccp
