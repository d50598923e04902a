"""-m esp (xt_esp): the SPI of ESP packets, a value or range.  Needs -p esp."""

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


def parse_spis(text: str, option: str) -> tuple[int, int]:
    lo, hi, n = parse_uint_range(text, U32, option, option[:-3])
    return (lo, lo) if n == 1 else (lo, hi)


def save_spis(option: str, spis: tuple[int, int], invert: bool) -> str:
    """--espspi/--ahspi as save prints it; nothing for 0:4294967295 even when inverted."""
    lo, hi = spis
    if lo == 0 and hi == U32:
        return ""
    return f"{' !' if invert else ''} --{option} {lo}" + (f":{hi}" if lo != hi else "")


def exact_spis(option: str, spis: tuple[int, int], invert: bool) -> str | None:
    """The SPI option where save_spis prints nothing but the inversion counts."""
    return f" ! --{option} 0:{U32}" if invert and spis == (0, U32) else None


def spi_mt(pkt: Packet, par: Par, spis: tuple[int, int], invert: bool, offset: int, hdrlen: int) -> bool:
    """esp_mt/ah_mt: the SPI at *offset* of a header of *hdrlen* bytes; later fragments never
    match, a header cut short drops the packet."""
    if pkt.frag_off & IP_OFFSET:
        return False
    raw = pkt.payload  # ESP and AH are never parsed: the payload starts at the transport offset
    if len(raw) < hdrlen:
        par.hotdrop = True
        return False
    spi = int.from_bytes(raw[offset:offset + 4], "big")
    return (spis[0] <= spi <= spis[1]) != invert


def print_spis(spis: tuple[int, int], invert: bool) -> str:
    """``spi:N`` / ``spis:!lo:hi`` without a leading space; empty for any SPI."""
    lo, hi = spis
    if lo == 0 and hi == U32 and not invert:
        return ""
    bang = "!" if invert else ""
    return f"spi:{bang}{lo}" if lo == hi else f"spis:{bang}{lo}:{hi}"


@dataclass(frozen=True, slots=True)
class Esp(Match):
    """struct xt_esp."""

    name: ClassVar[str] = "esp"
    proto: ClassVar[int] = 50
    options: ClassVar[tuple[Opt, ...]] = (Opt("espspi", invert=True),)

    spis: tuple[int, int] = (0, U32)
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Esp:
        g = opts.get("espspi")
        if g is None:
            return cls()
        return cls(parse_spis(g.value, "espspi"), g.inverted)

    def save(self) -> str:
        return save_spis("espspi", self.spis, self.invert)

    def exact_save(self) -> str | None:
        return exact_spis("espspi", self.spis, self.invert)

    def describe(self, numeric: bool) -> str:
        text = print_spis(self.spis, self.invert)
        return " esp" + (" " + text if text else "")

    def mt(self, pkt: Packet, par: Par) -> bool:
        return spi_mt(pkt, par, self.spis, self.invert, 0, 8)  # struct ip_esp_hdr: spi, seq


EXTENSION = Esp
