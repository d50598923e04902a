"""-j NOTRACK: iptables' alias for ``-j CT --notrack`` (CT revision 2, alias flag).  Raw table only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Notrack(Target):
    """xt_ct_target_info_v1 with flags XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS: no options."""

    name: ClassVar[str] = "NOTRACK"
    # xt_ct_tg_check returns before nf_ct_netns_get for a notrack template: no conntrack.
    needs_conntrack: ClassVar[bool] = False
    real_name: ClassVar[str | None] = "CT"
    table: ClassVar[str | None] = "raw"
    options: ClassVar[tuple[Opt, ...]] = ()

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Notrack:
        return cls()

    def describe(self, numeric: bool) -> str:
        return " NOTRACK"


    def tg(self, pkt: Packet, par: Par) -> int:
        """xt_ct_target with no template: untracked, unless conntrack already saw it (loopback)."""
        from pynetfilter.ext.CT import attached
        from pynetfilter.netfilter.conntrack.entry import IP_CT_UNTRACKED

        if not attached(pkt):
            pkt.meta.untracked = True
            pkt.meta.ctinfo = IP_CT_UNTRACKED
        return XT_CONTINUE

EXTENSION = Notrack
