"""-j DSCP (xt_DSCP): set the DSCP bits of the TOS field.  Only in the mangle table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

DSCP_MAX = 0x3F
# dscp_helper.c's ds_classes, in its lookup order.
CLASSES = (
    ("CS0", 0x00), ("CS1", 0x08), ("CS2", 0x10), ("CS3", 0x18), ("CS4", 0x20), ("CS5", 0x28),
    ("CS6", 0x30), ("CS7", 0x38), ("BE", 0x00), ("AF11", 0x0A), ("AF12", 0x0C), ("AF13", 0x0E),
    ("AF21", 0x12), ("AF22", 0x14), ("AF23", 0x16), ("AF31", 0x1A), ("AF32", 0x1C), ("AF33", 0x1E),
    ("AF41", 0x22), ("AF42", 0x24), ("AF43", 0x26), ("EF", 0x2E),
)


def class_to_dscp(text: str) -> int:
    """The first class whose name starts *text* (case-insensitive), as class_to_dscp does."""
    low = text.lower()
    for name, value in CLASSES:
        if low.startswith(name.lower()):
            return value
    raise ParameterProblem(f"Invalid DSCP value `{text}': expected a class such as EF, AF41, CS1 or BE")


@dataclass(frozen=True, slots=True)
class DscpTarget(Target):
    """struct xt_DSCP_info."""

    name: ClassVar[str] = "DSCP"
    table: ClassVar[str | None] = "mangle"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("set-dscp", excl=("set-dscp-class",)),
        Opt("set-dscp-class", excl=("set-dscp",)),
    )

    dscp: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> DscpTarget:
        if not opts.items:
            raise ParameterProblem("DSCP target: Parameter --set-dscp is required (or --set-dscp-class)")
        g = opts.items[0]
        if g.opt.name == "set-dscp":
            return cls(parse_uint(g.value, 0, DSCP_MAX, "a DSCP value", ext="DSCP", opt=g.opt.name))
        return cls(class_to_dscp(g.value))

    def save(self) -> str:
        return f" --set-dscp 0x{self.dscp:02x}"

    def describe(self, numeric: bool) -> str:
        return f" DSCP set 0x{self.dscp:02x}"

    def check(self, ctx: CheckContext) -> None:
        if self.dscp > DSCP_MAX:
            raise KernelRefusal(f"DSCP target: value 0x{self.dscp:x} out of range 0-0x3f")


    def tg(self, pkt: Packet, par: Par) -> int:
        """dscp_tg: the upper six bits; the ECN bits stay."""
        pkt.tos = (pkt.tos & 0x03) | (self.dscp << 2)
        return XT_CONTINUE

EXTENSION = DscpTarget
