"""-m ttl (ipt_ttl): compare the IP time-to-live with --ttl-eq, --ttl-lt or --ttl-gt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


EQ, NE, LT, GT = 0, 1, 2, 3  # IPT_TTL_*
_SAVE = {EQ: " --ttl-eq", NE: " ! --ttl-eq", LT: " --ttl-lt", GT: " --ttl-gt"}
_LIST = {EQ: "==", NE: "!=", LT: "<", GT: ">"}


@dataclass(frozen=True, slots=True)
class Ttl(Match):
    """struct ipt_ttl_info."""

    name: ClassVar[str] = "ttl"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ttl-lt", excl=("ttl-gt", "ttl-eq")),
        Opt("ttl-gt", excl=("ttl-lt", "ttl-eq")),
        Opt("ttl-eq", invert=True, excl=("ttl-lt", "ttl-gt"), aliases=("ttl",)),
    )

    mode: int = EQ
    ttl: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ttl:
        if not opts.items:
            raise ParameterProblem("TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt'")
        g = opts.items[0]
        value = parse_uint(g.value, 0, 255, "a TTL", ext="ttl", opt=g.opt.name)
        mode = {"ttl-lt": LT, "ttl-gt": GT}.get(g.opt.name, NE if g.inverted else EQ)
        return cls(mode, value)

    def save(self) -> str:
        return f"{_SAVE[self.mode]} {self.ttl}"

    def describe(self, numeric: bool) -> str:
        return f" TTL match TTL {_LIST[self.mode]} {self.ttl}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        ttl = pkt.ttl
        if self.mode == EQ:
            return ttl == self.ttl
        if self.mode == NE:
            return ttl != self.ttl
        if self.mode == LT:
            return ttl < self.ttl
        return ttl > self.ttl


EXTENSION = Ttl
