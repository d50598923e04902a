"""-m quota (xt_quota): matches until a byte budget is used up.

The budget is per rule; a packet longer than what is left empties it (the
kernel lets no smaller packet through afterwards)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Quota(Match):
    """struct xt_quota_info (flags, quota)."""

    name: ClassVar[str] = "quota"
    options: ClassVar[tuple[Opt, ...]] = (Opt("quota", invert=True, mandatory=True),)

    quota: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Quota:
        g = opts["quota"]
        return cls(parse_uint(g.value, 0, 2**64 - 1, "a byte count", ext="quota", opt="quota"), g.inverted)

    def mt(self, pkt: Packet, par: Par) -> bool:
        from pynetfilter.netfilter.traverse import packet_len

        st = par.rule_state(self)
        left = st.get("quota", self.quota)
        n = packet_len(pkt)
        if left >= n:
            st["quota"] = left - n
            return not self.invert
        st["quota"] = 0
        return self.invert

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --quota {self.quota}"

    def describe(self, numeric: bool) -> str:
        return f" quota: {self.quota} bytes"


EXTENSION = Quota
