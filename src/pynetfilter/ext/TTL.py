"""-j TTL (ipt_TTL): set, decrement or increment the IPv4 TTL.  Only in the mangle table."""

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

MODE_SET, MODE_INC, MODE_DEC = 0, 1, 2
OPS = {"ttl-set": MODE_SET, "ttl-inc": MODE_INC, "ttl-dec": MODE_DEC}
SAVE = {MODE_SET: "--ttl-set", MODE_INC: "--ttl-inc", MODE_DEC: "--ttl-dec"}
PRINT = {MODE_SET: "set to", MODE_INC: "increment by", MODE_DEC: "decrement by"}


@dataclass(frozen=True, slots=True)
class TtlTarget(Target):
    """struct ipt_TTL_info."""

    name: ClassVar[str] = "TTL"
    table: ClassVar[str | None] = "mangle"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ttl-set", excl=("ttl-dec", "ttl-inc")),
        Opt("ttl-dec", excl=("ttl-set", "ttl-inc")),
        Opt("ttl-inc", excl=("ttl-set", "ttl-dec")),
    )

    mode: int = MODE_SET
    ttl: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> TtlTarget:
        if not opts.items:
            raise ParameterProblem("TTL: You must specify an action: --ttl-set, --ttl-dec or --ttl-inc")
        g = opts.items[0]
        mode = OPS[g.opt.name]
        return cls(mode, parse_uint(g.value, 0 if mode == MODE_SET else 1, 255, "a TTL value",
                                   ext="TTL", opt=g.opt.name))

    def save(self) -> str:
        return f" {SAVE[self.mode]} {self.ttl}"

    def describe(self, numeric: bool) -> str:
        return f" TTL {PRINT[self.mode]} {self.ttl}"

    def check(self, ctx: CheckContext) -> None:
        if self.mode != MODE_SET and self.ttl == 0:
            raise KernelRefusal("TTL target: increment/decrement by 0")


    def tg(self, pkt: Packet, par: Par) -> int:
        """ttl_tg: set, or add/subtract saturating at 255 and 0."""
        if self.mode == MODE_SET:
            pkt.ttl = self.ttl
        elif self.mode == MODE_INC:
            pkt.ttl = min(pkt.ttl + self.ttl, 255)
        else:
            pkt.ttl = max(pkt.ttl - self.ttl, 0)
        return XT_CONTINUE

EXTENSION = TtlTarget
