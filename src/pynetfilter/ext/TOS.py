"""-j TOS (xt_TOS revision 1): tos = (tos & ~mask) ^ value.  Only in the mangle table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.ext.tos import TOS_SYMBOLS
from pynetfilter.ext.tos import parse_tos_mask as parse_tos_value_mask
from pynetfilter.ext.types import parse_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SYMBOL_MASK = 0x3F  # the mask a symbolic name implies (revision 1's option max)
SYMBOLS = TOS_SYMBOLS
OPS = ("set-tos", "and-tos", "or-tos", "xor-tos")


def parse_tos_mask(text: str) -> tuple[int, int]:
    """XTTYPE_TOSMASK: ``value[/mask]`` (0-255, mask defaults to 0xff) or a symbolic name."""
    return parse_tos_value_mask(text, SYMBOL_MASK)


@dataclass(frozen=True, slots=True)
class TosTarget(Target):
    """struct xt_tos_target_info."""

    name: ClassVar[str] = "TOS"
    table: ClassVar[str | None] = "mangle"
    options: ClassVar[tuple[Opt, ...]] = tuple(Opt(o, excl=tuple(x for x in OPS if x != o)) for o in OPS)

    tos_value: int = 0
    tos_mask: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> TosTarget:
        if not opts.items:
            raise ParameterProblem("TOS: An action is required: expected --set-tos, --and/or/xor-tos")
        g = opts.items[0]
        n = g.opt.name
        if n == "set-tos":
            return cls(*parse_tos_mask(g.value))
        bits = parse_uint(g.value, 0, 0xFF, "an 8-bit value", ext="TOS", opt=n)
        if n == "and-tos":
            return cls(0, ~bits & 0xFF)
        if n == "or-tos":
            return cls(bits, bits)
        return cls(bits, 0)

    def save(self) -> str:
        return f" --set-tos 0x{self.tos_value:02x}/0x{self.tos_mask:02x}"

    def describe(self, numeric: bool) -> str:
        v, m = self.tos_value, self.tos_mask
        if numeric:
            return f" TOS set 0x{v:02x}/0x{m:02x}"
        if m == SYMBOL_MASK:
            for name, value in SYMBOLS:
                if value == v:
                    return f"  TOS set{name}"  # sic: tos_try_print_symbolic's spacing
        if v == 0:
            return f" TOS and 0x{~m & 0xFF:02x}"
        if v == m:
            return f" TOS or 0x{v:02x}"
        if m == 0:
            return f" TOS xor 0x{v:02x}"
        return f" TOS set 0x{v:02x}/0x{m:02x}"


    def tg(self, pkt: Packet, par: Par) -> int:
        """tos_tg: the whole DS field, ECN bits included: tos = (tos & ~mask) ^ value."""
        pkt.tos = (pkt.tos & ~self.tos_mask & 0xFF) ^ self.tos_value
        return XT_CONTINUE

EXTENSION = TosTarget
