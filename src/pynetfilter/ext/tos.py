"""-m tos (xt_tos, revision 1): the IP TOS byte under a mask, numerically or by symbolic name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


# tos_values.c: the names, in the order tos_try_print_symbolic tries them.
TOS_SYMBOLS: tuple[tuple[str, int], ...] = (
    ("Minimize-Delay", 0x10), ("Maximize-Throughput", 0x08), ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02), ("Normal-Service", 0x00),
)


def parse_tos_mask(text: str, symbolic_mask: int) -> tuple[int, int]:
    """XTTYPE_TOSMASK: ``value[/mask]`` (mask defaults to 0xff) or a name (mask *symbolic_mask*)."""
    r = strtoul(text)
    if r is not None and r[0] <= 0xFF:
        value, rest = r
        mask = 0xFF
        if rest.startswith("/"):
            m = strtoul(rest[1:])
            if m is None or m[0] > 0xFF:
                raise ParameterProblem(f'Illegal value: "{text}": expected value[/mask], each 0-255')
            mask, rest = m
        if rest:
            raise ParameterProblem(f'Illegal value: "{text}": expected value[/mask], each 0-255')
        return value, mask
    for name, value in TOS_SYMBOLS:
        if name.lower() == text.lower():
            return value, symbolic_mask
    raise ParameterProblem(f'Symbolic name "{text}" is unknown: expected a number or a TOS name')


def tos_symbol(value: int, mask: int) -> str | None:
    """tos_try_print_symbolic: a name only for mask 0x3f."""
    if mask != 0x3F:
        return None
    return next((n for n, v in TOS_SYMBOLS if v == value), None)


@dataclass(frozen=True, slots=True)
class Tos(Match):
    """struct xt_tos_match_info."""

    name: ClassVar[str] = "tos"
    options: ClassVar[tuple[Opt, ...]] = (Opt("tos", invert=True, mandatory=True),)

    tos_mask: int = 0xFF
    tos_value: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tos:
        g = opts["tos"]
        value, mask = parse_tos_mask(g.value, 0x3F)
        return cls(mask, value, g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --tos 0x{self.tos_value:02x}/0x{self.tos_mask:02x}"

    def describe(self, numeric: bool) -> str:
        out = " tos match" + ("!" if self.invert else "")
        sym = None if numeric else tos_symbol(self.tos_value, self.tos_mask)
        return out + (f" {sym}" if sym is not None else f"0x{self.tos_value:02x}/0x{self.tos_mask:02x}")


    def mt(self, pkt: Packet, par: Par) -> bool:
        return (pkt.tos & self.tos_mask == self.tos_value) != self.invert


EXTENSION = Tos
