"""-m ah (ipt_ah): the SPI of AH packets, a value or range.  Needs -p ah."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.esp import U32, exact_spis, parse_spis, print_spis, save_spis, spi_mt

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Ah(Match):
    """struct ipt_ah."""

    name: ClassVar[str] = "ah"
    proto: ClassVar[int] = 51
    options: ClassVar[tuple[Opt, ...]] = (Opt("ahspi", invert=True),)

    spis: tuple[int, int] = (0, U32)
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ah:
        g = opts.get("ahspi")
        if g is None:
            return cls()
        return cls(parse_spis(g.value, "ahspi"), g.inverted)

    def save(self) -> str:
        return save_spis("ahspi", self.spis, self.invert)

    def exact_save(self) -> str | None:
        return exact_spis("ahspi", self.spis, self.invert)

    def describe(self, numeric: bool) -> str:
        # libipt_ah prints " ah " and the SPI text right after it.
        return " ah " + print_spis(self.spis, self.invert)

    def mt(self, pkt: Packet, par: Par) -> bool:
        # struct ip_auth_hdr: nexthdr, hdrlen, reserved(2), spi, seq_no
        return spi_mt(pkt, par, self.spis, self.invert, 4, 12)


EXTENSION = Ah
