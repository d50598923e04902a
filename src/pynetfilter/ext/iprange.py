"""-m iprange (xt_iprange revision 1): source/destination address within an inclusive range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import fmt_ipv4, parse_ipv4_addr

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


SRC_INV, DST_INV, SRC, DST = 0x01, 0x02, 0x10, 0x20


def parse_range(text: str, opt: str) -> tuple[int, int]:
    """``addr[-addr]`` with numeric addresses; a single address is a one-address range."""
    lo_s, sep, hi_s = text.partition("-")
    try:
        lo = parse_ipv4_addr(lo_s)
        hi = parse_ipv4_addr(hi_s) if sep else lo
    except ParameterProblem:
        raise ParameterProblem(f'iprange: bad value "{text}" for --{opt}: expected ip[-ip]') from None
    return lo, hi


@dataclass(frozen=True, slots=True)
class Iprange(Match):
    """struct xt_iprange_mtinfo (IPv4)."""

    name: ClassVar[str] = "iprange"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("src-range", invert=True),
        Opt("dst-range", invert=True),
    )

    src: tuple[int, int] = (0, 0)
    dst: tuple[int, int] = (0, 0)
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Iprange:
        src = dst = (0, 0)
        flags = 0
        for g in opts.items:
            if g.opt.name == "src-range":
                src = parse_range(g.value, "src-range")
                flags |= SRC | (SRC_INV if g.inverted else 0)
            else:
                dst = parse_range(g.value, "dst-range")
                flags |= DST | (DST_INV if g.inverted else 0)
        if not flags:
            raise ParameterProblem("iprange match: You must specify `--src-range' or `--dst-range'")
        return cls(src, dst, flags)

    def _parts(self) -> list[tuple[str, str, bool, tuple[int, int]]]:
        out = []
        if self.flags & SRC:
            out.append(("src-range", "source", bool(self.flags & SRC_INV), self.src))
        if self.flags & DST:
            out.append(("dst-range", "destination", bool(self.flags & DST_INV), self.dst))
        return out

    def save(self) -> str:
        return "".join(f"{' !' if i else ''} --{o} {fmt_ipv4(r[0])}-{fmt_ipv4(r[1])}"
                       for o, _, i, r in self._parts())

    def describe(self, numeric: bool) -> str:
        return "".join(f" {w} IP range {'! ' if i else ''}{fmt_ipv4(r[0])}-{fmt_ipv4(r[1])}"
                       for _, w, i, r in self._parts())


    def mt(self, pkt: Packet, par: Par) -> bool:
        f = self.flags
        if f & SRC and (self.src[0] <= pkt.saddr <= self.src[1]) == bool(f & SRC_INV):
            return False
        return not (f & DST and (self.dst[0] <= pkt.daddr <= self.dst[1]) == bool(f & DST_INV))


EXTENSION = Iprange
