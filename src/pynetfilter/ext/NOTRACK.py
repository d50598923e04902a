"""-j NOTRACK: iptables' alias for ``-j CT --notrack`` (CT revision 2, alias flag).  Raw table only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target


@dataclass(frozen=True, slots=True)
class Notrack(Target):
    """xt_ct_target_info_v1 with flags XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS: no options."""

    name: ClassVar[str] = "NOTRACK"
    real_name: ClassVar[str | None] = "CT"
    table: ClassVar[str | None] = "raw"
    options: ClassVar[tuple[Opt, ...]] = ()

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Notrack:
        return cls()

    def describe(self, numeric: bool) -> str:
        return " NOTRACK"


EXTENSION = Notrack
