"""-j TRACE (xt_TRACE): mark the packet for rule tracing.  No options; raw table only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Trace(Target):
    name: ClassVar[str] = "TRACE"
    table: ClassVar[str | None] = "raw"
    options: ClassVar[tuple[Opt, ...]] = ()

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Trace:
        return cls()


    def tg(self, pkt: Packet, par: Par) -> int:
        """trace_tg: skb->nf_trace = 1; every later rule the packet meets is traced."""
        pkt.meta.trace = True
        return XT_CONTINUE

EXTENSION = Trace
