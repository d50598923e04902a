"""-m dscp (xt_dscp): the DSCP field of the IP header, by value or DiffServ class name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


DSCP_MAX = 0x3F
# dscp_helper.c's ds_classes, in its order.
DS_CLASSES: tuple[tuple[str, int], ...] = (
    ("CS0", 0x00), ("CS1", 0x08), ("CS2", 0x10), ("CS3", 0x18), ("CS4", 0x20), ("CS5", 0x28),
    ("CS6", 0x30), ("CS7", 0x38), ("BE", 0x00), ("AF11", 0x0A), ("AF12", 0x0C), ("AF13", 0x0E),
    ("AF21", 0x12), ("AF22", 0x14), ("AF23", 0x16), ("AF31", 0x1A), ("AF32", 0x1C), ("AF33", 0x1E),
    ("AF41", 0x22), ("AF42", 0x24), ("AF43", 0x26), ("EF", 0x2E),
)


def class_to_dscp(text: str) -> int:
    """class_to_dscp: the first class the text starts with (case-insensitive), so "cs7x" is CS7."""
    for name, value in DS_CLASSES:
        if text.lower().startswith(name.lower()):
            return value
    raise ParameterProblem(f'Invalid DSCP value "{text}": expected a class such as EF, AF41 or CS1')


@dataclass(frozen=True, slots=True)
class Dscp(Match):
    """struct xt_dscp_info."""

    name: ClassVar[str] = "dscp"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("dscp", invert=True, excl=("dscp-class",)),
        Opt("dscp-class", invert=True, excl=("dscp",)),
    )

    dscp: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Dscp:
        if not opts.items:
            raise ParameterProblem("DSCP match: Parameter --dscp is required")
        g = opts.items[0]
        if g.opt.name == "dscp":
            value = parse_uint(g.value, 0, DSCP_MAX, "a DSCP value", ext="dscp", opt=g.opt.name)
        else:
            value = class_to_dscp(g.value)
        return cls(value, g.inverted)

    def check(self, ctx: CheckContext) -> None:
        if self.dscp > DSCP_MAX:
            raise KernelRefusal(f"dscp {self.dscp} out of range (EDOM)")

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --dscp 0x{self.dscp:02x}"

    def describe(self, numeric: bool) -> str:
        return f" DSCP match {'!' if self.invert else ''}0x{self.dscp:02x}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        return (pkt.tos >> 2 == self.dscp) != self.invert


EXTENSION = Dscp
