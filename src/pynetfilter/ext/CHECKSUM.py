"""-j CHECKSUM (xt_CHECKSUM): fill in a missing checksum.  Mangle table only; --checksum-fill is required."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

OP_FILL = 0x01


@dataclass(frozen=True, slots=True)
class Checksum(Target):
    """struct xt_CHECKSUM_info."""

    name: ClassVar[str] = "CHECKSUM"
    table: ClassVar[str | None] = "mangle"
    options: ClassVar[tuple[Opt, ...]] = (Opt("checksum-fill", nargs=0, mandatory=True),)

    operation: int = OP_FILL

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Checksum:
        return cls(OP_FILL)

    def save(self) -> str:
        return " --checksum-fill" if self.operation & OP_FILL else ""

    def describe(self, numeric: bool) -> str:
        return " CHECKSUM" + (" fill" if self.operation & OP_FILL else "")


    def tg(self, pkt: Packet, par: Par) -> int:
        """checksum_tg: a packet whose L4 checksum the device was to finish (CHECKSUM_PARTIAL) gets
        the full checksum now (skb_checksum_help); the wire then carries the real value."""
        if self.operation & OP_FILL and pkt.meta.csum_partial:
            pkt.meta.csum_partial = False
        return XT_CONTINUE

EXTENSION = Checksum
