"""-m length (xt_length): the IP packet's total length, a value or range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint_range

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet



def fmt_range(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}:{hi}"


@dataclass(frozen=True, slots=True)
class Length(Match):
    """struct xt_length_info."""

    name: ClassVar[str] = "length"
    options: ClassVar[tuple[Opt, ...]] = (Opt("length", invert=True, mandatory=True),)

    min: int = 0
    max: int = 0xFFFF
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Length:
        g = opts["length"]
        lo, hi, n = parse_uint_range(g.value, 0xFFFF, "length", "length")
        return cls(lo, hi if n >= 2 else lo, g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --length {fmt_range(self.min, self.max)}"

    def describe(self, numeric: bool) -> str:
        return f" length {'!' if self.invert else ''}{fmt_range(self.min, self.max)}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        """length_mt: the IP total length (skb->len after ip_rcv trims the link padding)."""
        from pynetfilter.packet.wire import length

        return (self.min <= length(pkt) <= self.max) != self.invert


EXTENSION = Length
