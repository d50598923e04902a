"""-m mark (xt_mark, revision 1): the packet's nfmark under a mask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import fmt_mark_mask, parse_mark_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet



@dataclass(frozen=True, slots=True)
class Mark(Match):
    name: ClassVar[str] = "mark"
    options: ClassVar[tuple[Opt, ...]] = (Opt("mark", invert=True, mandatory=True),)

    mark: int = 0
    mask: int = 0xFFFFFFFF
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Mark:
        g = opts["mark"]
        mark, mask = parse_mark_mask(g.value, "mark", "mark")
        return cls(mark, mask, g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --mark {fmt_mark_mask(self.mark, self.mask)}"

    def describe(self, numeric: bool) -> str:
        return f" mark match {'! ' if self.invert else ''}{fmt_mark_mask(self.mark, self.mask)}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        return (pkt.meta.mark & self.mask == self.mark) != self.invert


EXTENSION = Mark
