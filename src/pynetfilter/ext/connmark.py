"""-m connmark (xt_connmark revision 1): the connection's mark under a mask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.conntrack import ct_get
from pynetfilter.ext.types import fmt_mark_mask, parse_mark_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Connmark(Match):
    """struct xt_connmark_mtinfo1."""

    name: ClassVar[str] = "connmark"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (Opt("mark", invert=True, mandatory=True),)

    mark: int = 0
    mask: int = 0xFFFFFFFF
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connmark:
        g = opts["mark"]
        mark, mask = parse_mark_mask(g.value, "connmark", "mark")
        return cls(mark, mask, g.inverted)

    def mt(self, pkt: Packet, par: Par) -> bool:
        ct, _ = ct_get(pkt)
        if ct is None:
            return False  # no entry: no match, even inverted
        return ((ct.mark & self.mask) == self.mark) != self.invert

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --mark {fmt_mark_mask(self.mark, self.mask)}"

    def describe(self, numeric: bool) -> str:
        # libxt_connmark prints " connmark match " then "!" or nothing, then " 0x..": two spaces.
        return f" connmark match {'!' if self.invert else ''} {fmt_mark_mask(self.mark, self.mask)}"


EXTENSION = Connmark
