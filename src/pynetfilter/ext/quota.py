"""-m quota (xt_quota): matches until a byte budget is used up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint


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
        return cls(parse_uint(g.value, 0, 2**64 - 1, "a byte count"), g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --quota {self.quota}"

    def describe(self, numeric: bool) -> str:
        return f" quota: {self.quota} bytes"


EXTENSION = Quota
