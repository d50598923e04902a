"""-m tcpmss (xt_tcpmss): the MSS option of TCP SYN segments, a value or range.  Needs -p tcp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.length import fmt_range
from pynetfilter.ext.types import parse_uint_range


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
        lo, hi, n = parse_uint_range(g.value, 0xFFFF, "mss")
        if n == 1:
            hi = lo
        elif hi < lo:
            raise ParameterProblem(f'tcpmss: invalid range "{g.value}": expected min:max with min <= max')
        return cls(lo, hi, g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --mss {fmt_range(self.mss_min, self.mss_max)}"

    def describe(self, numeric: bool) -> str:
        return f" tcpmss match {'!' if self.invert else ''}{fmt_range(self.mss_min, self.mss_max)}"


EXTENSION = Tcpmss
