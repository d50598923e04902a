"""-j MARK (xt_MARK revision 2): nfmark = (nfmark & ~mask) ^ value; every form saves as --set-xmark."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_mark_mask, parse_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

U32 = 0xFFFFFFFF
OPS = ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark")


def _excl(name: str) -> tuple[str, ...]:
    return tuple(o for o in OPS if o != name)


def parse_xmark_op(name: str, text: str, ext: str = "MARK") -> tuple[int, int]:
    """(value, mask) for one of the MARK/CONNMARK mark operations, as libxt_MARK computes them."""
    if name == "set-xmark":
        return parse_mark_mask(text, ext, name)
    if name == "set-mark":
        value, mask = parse_mark_mask(text, ext, name)
        return value, value | mask
    bits = parse_uint(text, 0, U32, "a 32-bit value", ext=ext, opt=name)
    if name == "and-mark":
        return 0, ~bits & U32
    if name == "or-mark":
        return bits, bits
    return bits, 0  # xor-mark


def describe_xmark(prefix: str, value: int, mask: int) -> str:
    """mark_tg_print / connmark_tg_print for a set operation."""
    if value == 0:
        return f" {prefix} and 0x{~mask & U32:x}"
    if value == mask:
        return f" {prefix} or 0x{value:x}"
    if mask == 0:
        return f" {prefix} xor 0x{value:x}"
    if mask == U32:
        return f" {prefix} set 0x{value:x}"
    return f" {prefix} xset 0x{value:x}/0x{mask:x}"


@dataclass(frozen=True, slots=True)
class MarkTarget(Target):
    """struct xt_mark_tginfo2."""

    name: ClassVar[str] = "MARK"
    options: ClassVar[tuple[Opt, ...]] = tuple(Opt(o, excl=_excl(o)) for o in OPS)

    mark: int = 0
    mask: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> MarkTarget:
        if not opts.items:
            raise ParameterProblem("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options "
                                   "is required")
        g = opts.items[0]
        return cls(*parse_xmark_op(g.opt.name, g.value))

    def save(self) -> str:
        return f" --set-xmark 0x{self.mark:x}/0x{self.mask:x}"

    def describe(self, numeric: bool) -> str:
        return describe_xmark("MARK", self.mark, self.mask)


    def tg(self, pkt: Packet, par: Par) -> int:
        """mark_tg: nfmark = (nfmark & ~mask) ^ mark."""
        pkt.meta.mark = (pkt.meta.mark & ~self.mask & U32) ^ self.mark
        return XT_CONTINUE

EXTENSION = MarkTarget
