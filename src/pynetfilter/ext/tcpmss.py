"""-m tcpmss (xt_tcpmss): the MSS option of TCP SYN segments, a value or range.  Needs -p tcp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.length import fmt_range
from pynetfilter.ext.tcp import option_walk
from pynetfilter.ext.types import parse_uint_range
from pynetfilter.packet.model import IP_OFFSET
from pynetfilter.packet.model import Tcp as TcpHeader

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet



@dataclass(frozen=True, slots=True)
class Tcpmss(Match):
    """struct xt_tcpmss_match_info."""

    name: ClassVar[str] = "tcpmss"
    proto: ClassVar[int] = 6
    options: ClassVar[tuple[Opt, ...]] = (Opt("mss", invert=True, mandatory=True),)

    mss_min: int = 0
    mss_max: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tcpmss:
        g = opts["mss"]
        lo, hi, n = parse_uint_range(g.value, 0xFFFF, "mss", "tcpmss")
        if n == 1:
            hi = lo
        elif hi < lo:
            raise ParameterProblem(f'tcpmss: invalid range "{g.value}": expected min:max with min <= max')
        return cls(lo, hi, g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --mss {fmt_range(self.mss_min, self.mss_max)}"

    def describe(self, numeric: bool) -> str:
        return f" tcpmss match {'!' if self.invert else ''}{fmt_range(self.mss_min, self.mss_max)}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        """tcpmss_mt: the first MSS option (kind 2, length 4) decides; none matches only inverted.

        There is no fragment check: a later fragment's data is read as a TCP header.
        """
        th = pkt.l4
        if isinstance(th, TcpHeader) and not pkt.frag_off & IP_OFFSET:
            doff, opts, avail = th.doff, th.options + pkt.payload[:1], len(th.options)
        else:
            raw = pkt.payload
            if len(raw) < 20:
                par.hotdrop = True
                return False
            doff, opts = raw[12] >> 4, raw[20:]
            avail = len(opts)
        if doff * 4 < 20:
            par.hotdrop = True
            return False
        optlen = doff * 4 - 20
        if optlen and avail < optlen:
            par.hotdrop = True
            return False
        for i in option_walk(opts, optlen):
            if opts[i] == 2 and optlen - i >= 4 and opts[i + 1] == 4:
                mss = opts[i + 2] << 8 | opts[i + 3]
                return (self.mss_min <= mss <= self.mss_max) != self.invert
        return self.invert


EXTENSION = Tcpmss
