"""-j AUDIT (xt_AUDIT): record the packet in the audit log as accepted, dropped or rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

TYPES = ("accept", "drop", "reject")  # XT_AUDIT_TYPE_* 0, 1, 2


@dataclass(frozen=True, slots=True)
class Audit(Target):
    """struct xt_audit_info."""

    name: ClassVar[str] = "AUDIT"
    options: ClassVar[tuple[Opt, ...]] = (Opt("type", mandatory=True),)

    type: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Audit:
        text = opts["type"].value
        if text.lower() not in TYPES:
            raise ParameterProblem(f'Bad action type value "{text}": expected accept, drop or reject')
        return cls(TYPES.index(text.lower()))

    def save(self) -> str:
        return f" --type {TYPES[self.type]}"

    def describe(self, numeric: bool) -> str:
        return f" AUDIT {TYPES[self.type]}"


    def tg(self, pkt: Packet, par: Par) -> int:
        """audit_tg: an AUDIT_NETFILTER_PKT record (type 1324); the packet goes on."""
        def ip(a: int) -> str:
            return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"

        mark = f"{pkt.meta.mark:#x}" if pkt.meta.mark else "0"  # printf's %#x prints 0 as "0"
        par.log(f"mark={mark} saddr={ip(pkt.saddr)} daddr={ip(pkt.daddr)} proto={pkt.proto}", kind="audit")
        return XT_CONTINUE

EXTENSION = Audit
