"""-j CONNSECMARK (xt_CONNSECMARK): copy the security mark between packet and connection.

The kernel allows it only in the mangle and security tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MODE_SAVE, MODE_RESTORE = 1, 2
WORDS = {MODE_SAVE: "save", MODE_RESTORE: "restore"}


@dataclass(frozen=True, slots=True)
class Connsecmark(Target):
    """struct xt_connsecmark_target_info."""

    name: ClassVar[str] = "CONNSECMARK"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("save", nargs=0, excl=("restore",)),
        Opt("restore", nargs=0, excl=("save",)),
    )

    mode: int = MODE_SAVE

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connsecmark:
        if not opts.items:
            raise ParameterProblem("CONNSECMARK target: parameter required: expected --save or --restore")
        return cls(MODE_SAVE if opts.items[0].opt.name == "save" else MODE_RESTORE)

    def save(self) -> str:
        return f" --{WORDS[self.mode]}"

    def describe(self, numeric: bool) -> str:
        return f" CONNSECMARK {WORDS[self.mode]}"

    def check(self, ctx: CheckContext) -> None:
        if ctx.table not in ("mangle", "security"):
            raise KernelRefusal(f"CONNSECMARK target: only valid in mangle or security, not {ctx.table}")


    def tg(self, pkt: Packet, par: Par) -> int:
        """connsecmark_tg: save copies a set secmark to a connection that has none; restore the reverse."""
        ct = pkt.meta.ct
        if ct is None or pkt.meta.untracked:
            return XT_CONTINUE
        if self.mode == MODE_SAVE:
            if pkt.meta.secmark and not ct.secmark:
                ct.secmark = pkt.meta.secmark
        elif not pkt.meta.secmark and ct.secmark:
            pkt.meta.secmark = ct.secmark
        return XT_CONTINUE

EXTENSION = Connsecmark
