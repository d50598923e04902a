"""-m sctp (xt_sctp): SCTP ports and chunk types (with chunk flags).  Needs -p sctp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.tcp import parse_ports, print_ports
from pynetfilter.ext.udp import l4_ports
from pynetfilter.packet.model import IP_OFFSET

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SRC_PORTS, DEST_PORTS, CHUNK_TYPES = 0x01, 0x02, 0x04
MATCH_ANY, MATCH_ALL, MATCH_ONLY = 0x01, 0x02, 0x04
_MATCH_TYPES = {"any": MATCH_ANY, "all": MATCH_ALL, "only": MATCH_ONLY}
_MATCH_NAMES = {v: k for k, v in _MATCH_TYPES.items()}
ALL_CHUNKS = (1 << 256) - 1
NUM_FLAGS = 4  # XT_NUM_SCTP_FLAGS

# libxt_sctp's sctp_chunk_names: (name, chunk type, valid flags), in its order.
CHUNKS: tuple[tuple[str, int, str], ...] = (
    ("DATA", 0, "----IUBE"), ("INIT", 1, "--------"), ("INIT_ACK", 2, "--------"),
    ("SACK", 3, "--------"), ("HEARTBEAT", 4, "--------"), ("HEARTBEAT_ACK", 5, "--------"),
    ("ABORT", 6, "-------T"), ("SHUTDOWN", 7, "--------"), ("SHUTDOWN_ACK", 8, "--------"),
    ("ERROR", 9, "--------"), ("COOKIE_ECHO", 10, "--------"), ("COOKIE_ACK", 11, "--------"),
    ("ECN_ECNE", 12, "--------"), ("ECN_CWR", 13, "--------"), ("SHUTDOWN_COMPLETE", 14, "-------T"),
    ("I_DATA", 64, "----IUBE"), ("RE_CONFIG", 130, "--------"), ("PAD", 132, "--------"),
    ("ASCONF", 193, "--------"), ("ASCONF_ACK", 128, "--------"), ("FORWARD_TSN", 192, "--------"),
    ("I_FORWARD_TSN", 194, "--------"),
)
_CHUNK_NAME = {typ: name for name, typ, _ in CHUNKS}


def parse_chunks(text: str) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """The chunk list: (chunk bitmap, flag_info entries (chunktype, flag, mask)).

    As libxt_sctp does, a flag entry records the chunk's index in the name
    table, not its type (the same for DATA, ABORT and SHUTDOWN_COMPLETE).
    """
    if text.upper() == "ALL":
        return ALL_CHUNKS, ()
    if text.upper() == "NONE":
        return 0, ()
    chunkmap = 0
    flags: list[list[int]] = []
    for word in (w for w in text.split(",") if w):
        cname, colon, cflags = word.partition(":")
        idx = next((i for i, c in enumerate(CHUNKS) if c[0].lower() == cname.lower()), None)
        if idx is None:
            raise ParameterProblem(f'Unknown sctp chunk "{cname}": expected a chunk type name')
        chunkmap |= 1 << CHUNKS[idx][1]
        valid = CHUNKS[idx][2]
        for ch in cflags:
            pos = valid.find(ch.upper())
            if pos < 0:
                raise ParameterProblem(
                    f'Invalid flags "{cflags}" for chunk type {idx}: expected some of {valid}'
                )
            bit = 1 << (7 - pos)
            entry = next((e for e in flags if e[0] == idx), None)
            if entry is None:
                if len(flags) == NUM_FLAGS:
                    raise ParameterProblem(f"too many chunk types with flags: at most {NUM_FLAGS}")
                entry = [idx, 0, 0]
                flags.append(entry)
            entry[2] |= bit
            if "A" <= ch <= "Z":
                entry[1] |= bit
    return chunkmap, tuple((e[0], e[1], e[2]) for e in flags)


@dataclass(frozen=True, slots=True)
class Sctp(Match):
    """struct xt_sctp_info."""

    name: ClassVar[str] = "sctp"
    proto: ClassVar[int] = 132
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("source-port", invert=True, aliases=("sport",)),
        Opt("destination-port", invert=True, aliases=("dport",)),
        Opt("chunk-types", nargs=2, invert=True),
    )

    spts: tuple[int, int] = (0, 0xFFFF)
    dpts: tuple[int, int] = (0, 0xFFFF)
    chunkmap: int = 0
    chunk_match_type: int = 0
    flag_info: tuple[tuple[int, int, int], ...] = ()
    flags: int = 0
    invflags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Sctp:
        spts = dpts = (0, 0xFFFF)
        chunkmap = mtype = flags = inv = 0
        finfo: tuple[tuple[int, int, int], ...] = ()
        for g in opts.items:
            n = g.opt.name
            if n == "source-port":
                bit = SRC_PORTS
                spts = parse_ports(g.value, "sctp")
            elif n == "destination-port":
                bit = DEST_PORTS
                dpts = parse_ports(g.value, "sctp")
            else:
                bit = CHUNK_TYPES
                mtype = _MATCH_TYPES.get(g.args[0].lower(), 0)
                if not mtype:
                    raise ParameterProblem(f'bad chunk match type "{g.args[0]}": expected all, any or only')
                chunkmap, finfo = parse_chunks(g.args[1])
            flags |= bit
            inv |= bit if g.inverted else 0
        return cls(spts, dpts, chunkmap, mtype, finfo, flags, inv)

    def _chunks(self, numeric: bool) -> str:
        out = " " + _MATCH_NAMES[self.chunk_match_type]
        if self.chunkmap == 0:
            return out + " NONE"
        if self.chunkmap == ALL_CHUNKS:
            return out + " ALL"
        words = []
        for typ in range(256):
            if not self.chunkmap >> typ & 1:
                continue
            word = f"0x{typ:04X}" if numeric else _CHUNK_NAME.get(typ, "")
            for ctype, flag, mask in self.flag_info:
                if ctype == typ and mask:
                    valid = CHUNKS[typ][2]
                    word += ":" + "".join(
                        valid[7 - b] if flag >> b & 1 else valid[7 - b].lower()
                        for b in range(7, -1, -1) if mask >> b & 1
                    )
            words.append(word)
        return out + " " + ",".join(words)

    def save(self) -> str:
        out = ""
        for bit, opt, (lo, hi) in ((SRC_PORTS, "sport", self.spts), (DEST_PORTS, "dport", self.dpts)):
            if self.flags & bit:
                bang = " !" if self.invflags & bit else ""
                out += f"{bang} --{opt} {lo}" if lo == hi else f"{bang} --{opt} {lo}:{hi}"
        if self.flags & CHUNK_TYPES:
            out += (" !" if self.invflags & CHUNK_TYPES else "") + " --chunk-types" + self._chunks(False)
        return out

    def exact_save(self) -> str | None:
        # A flag entry holds the chunk's index in the name table (libxt_sctp), which save looks
        # up as a chunk type: past SHUTDOWN_COMPLETE (I_DATA's flags) the flags are not printed.
        if not self.flags & CHUNK_TYPES or all(CHUNKS[idx][1] == idx for idx, _, _ in self.flag_info):
            return None
        words, flagged = [], set()
        for idx, flag, mask in self.flag_info:
            name, typ, valid = CHUNKS[idx]
            words.append(name + ":" + "".join(valid[7 - b] if flag >> b & 1 else valid[7 - b].lower()
                                              for b in range(7, -1, -1) if mask >> b & 1))
            flagged.add(typ)
        words += [_CHUNK_NAME.get(t, "") for t in range(256) if self.chunkmap >> t & 1 and t not in flagged]
        bang = " !" if self.invflags & CHUNK_TYPES else ""
        plain = self.save()
        head = plain[:plain.index(bang + " --chunk-types")]
        return (head + bang + " --chunk-types "
                + _MATCH_NAMES[self.chunk_match_type] + " " + ",".join(words))

    def describe(self, numeric: bool) -> str:
        out = " sctp"
        if self.flags & SRC_PORTS:
            out += print_ports("spt", *self.spts, bool(self.invflags & SRC_PORTS), numeric, "sctp")
        if self.flags & DEST_PORTS:
            out += print_ports("dpt", *self.dpts, bool(self.invflags & DEST_PORTS), numeric, "sctp")
        if self.flags & CHUNK_TYPES:
            out += (" !" if self.invflags & CHUNK_TYPES else "") + self._chunks(numeric)
        return out

    def mt(self, pkt: Packet, par: Par) -> bool:
        """sctp_mt: ports, then the chunk walk; each test given is inverted on its own."""
        if pkt.frag_off & IP_OFFSET:
            return False
        ports = l4_ports(pkt, 12)  # the common header: ports, verification tag, checksum
        if ports is None:
            par.hotdrop = True
            return False
        flags, inv = self.flags, self.invflags
        if flags & SRC_PORTS and (self.spts[0] <= ports[0] <= self.spts[1]) == bool(inv & SRC_PORTS):
            return False
        if flags & DEST_PORTS and (self.dpts[0] <= ports[1] <= self.dpts[1]) == bool(inv & DEST_PORTS):
            return False
        if flags & CHUNK_TYPES:
            hit = self._chunks_match(pkt, par)
            if par.hotdrop or hit == bool(inv & CHUNK_TYPES):
                return False
        return True

    def _flags_ok(self, ctype: int, cflags: int) -> bool:
        """match_flags: the first flag entry naming the chunk decides (by libxt_sctp's index)."""
        for entry_type, flag, mask in self.flag_info:
            if entry_type == ctype:
                return cflags & mask == flag
        return True

    def _chunks_match(self, pkt: Packet, par: Par) -> bool:
        """match_packet: walk the chunks (each padded to 4 bytes) to the end of the datagram."""
        from pynetfilter.packet.wire import to_bytes

        data = to_bytes(pkt)
        offset, end = pkt.ihl * 4 + 12, len(data)
        mtype, cmap = self.chunk_match_type, self.chunkmap
        pending = cmap  # MATCH_ALL: the chunk types still to be seen
        while True:
            if offset + 4 > end or data[offset + 2:offset + 4] == b"\0\0":  # cut short or length 0
                par.hotdrop = True
                return False
            ctype, cflags = data[offset], data[offset + 1]
            offset += (int.from_bytes(data[offset + 2:offset + 4], "big") + 3) & ~3
            if cmap >> ctype & 1:
                ok = self._flags_ok(ctype, cflags)
                if mtype == MATCH_ANY and ok:
                    return True
                if mtype == MATCH_ALL and ok:
                    pending &= ~(1 << ctype)
                if mtype == MATCH_ONLY and not ok:
                    return False
            elif mtype == MATCH_ONLY:
                return False
            if offset >= end:
                break
        if mtype == MATCH_ALL:
            return pending == 0
        return mtype == MATCH_ONLY


EXTENSION = Sctp
