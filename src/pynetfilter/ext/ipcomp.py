"""-m ipcomp (xt_ipcomp): the CPI of IPComp packets, a value or range.  Needs -p ipcomp (108).

``--compres`` is stored (and saved) but, as in the kernel, never evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint_range
from pynetfilter.packet.model import IP_OFFSET

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

U32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Ipcomp(Match):
    """struct xt_ipcomp: spis[2], invflags, hdrres."""

    name: ClassVar[str] = "ipcomp"
    proto: ClassVar[int] = 108
    options: ClassVar[tuple[Opt, ...]] = (Opt("ipcompspi", invert=True), Opt("compres", nargs=0))

    # Without --ipcompspi libxt_ipcomp leaves both ends 0: the rule matches CPI 0 only.
    spis: tuple[int, int] = (0, 0)
    invert: bool = False
    hdrres: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ipcomp:
        g = opts.get("ipcompspi")
        spis, inv = (0, 0), False
        if g is not None:
            lo, hi, n = parse_uint_range(g.value, U32, "ipcompspi", "ipcomp")
            spis, inv = ((lo, lo) if n == 1 else (lo, hi)), g.inverted
        return cls(spis, inv, "compres" in opts)

    def save(self) -> str:
        lo, hi = self.spis
        out = ""
        if not (lo == 0 and hi == U32):
            out = f"{' !' if self.invert else ''} --ipcompspi " + (f"{lo}:{hi}" if lo != hi else str(lo))
        return out + (" --compres" if self.hdrres else "")

    def exact_save(self) -> str | None:
        # The whole SPI range prints as nothing, inverted or not.
        if self.spis != (0, U32):
            return None
        return f"{' !' if self.invert else ''} --ipcompspi 0:{U32}" + (" --compres" if self.hdrres else "")

    def describe(self, numeric: bool) -> str:
        lo, hi = self.spis
        out = " comp "
        if lo != 0 or hi != U32 or self.invert:
            bang = "!" if self.invert else ""
            out += f"spi:{bang}{lo}" if lo == hi else f"spis:{bang}{lo}:{hi}"
        return out + (" reserved" if self.hdrres else "")

    def mt(self, pkt: Packet, par: Par) -> bool:
        """comp_mt: the 16-bit CPI (bytes 2-3 of struct ip_comp_hdr); later fragments never
        match, a header cut short drops the packet."""
        if pkt.frag_off & IP_OFFSET:
            return False
        raw = pkt.payload
        if len(raw) < 4:
            par.hotdrop = True
            return False
        cpi = raw[2] << 8 | raw[3]
        return (self.spis[0] <= cpi <= self.spis[1]) != self.invert


EXTENSION = Ipcomp
