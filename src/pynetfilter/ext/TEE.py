"""-j TEE (xt_TEE revision 1): send a copy of the packet to a gateway; the original goes on.

The copy (nf_dup_ipv4) is untracked, has its TTL decremented when taken in PREROUTING or INPUT,
is routed towards the gateway (restricted to ``--oif`` when that device exists) and leaves
through OUTPUT and POSTROUTING as a locally sent packet; a copy never makes copies itself.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import fmt_ipv4
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.verdicts import XT_CONTINUE
from pynetfilter.syntax.names import host_to_ipv4, ipv4_to_anyname

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

IFNAMSIZ = 16


@dataclass(frozen=True, slots=True)
class Tee(Target):
    """struct xt_tee_tginfo: gw, oif."""

    name: ClassVar[str] = "TEE"
    options: ClassVar[tuple[Opt, ...]] = (Opt("gateway", mandatory=True), Opt("oif"))

    gw: int = 0
    oif: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tee:
        text = opts["gateway"].value
        gw = host_to_ipv4(text)
        if gw is None:  # XTTYPE_HOST: getaddrinfo; a prefix or a bad number is no host
            raise ParameterProblem(f'getaddrinfo: Name or service not known: "{text}"')
        g = opts.get("oif")
        oif = g.value.encode("utf-8", "surrogateescape")[:IFNAMSIZ - 1].decode("utf-8", "surrogateescape") \
            if g is not None else ""
        return cls(gw, oif)

    def save(self) -> str:
        return f" --gateway {fmt_ipv4(self.gw)}" + (f" --oif {self.oif}" if self.oif else "")

    def describe(self, numeric: bool) -> str:
        name = None if numeric else ipv4_to_anyname(self.gw)
        return f" TEE gw:{name or fmt_ipv4(self.gw)}" + (f" oif={self.oif}" if self.oif else "")

    def check(self, ctx: CheckContext) -> None:
        if self.gw == 0:
            raise KernelRefusal("TEE target: gateway 0.0.0.0 not allowed")

    def tg(self, pkt: Packet, par: Par) -> int:
        """tee_tg4 / nf_dup_ipv4: the copy is queued to go out through OUTPUT after this packet's
        hook; its route is the gateway's (ip_route_output_key with the gateway as destination)."""
        if getattr(par.engine, "tee_duplicating", False):
            return XT_CONTINUE  # nf_skb_duplicated: a copy being sent is not copied again
        host = par.engine.host
        oif = self.oif if self.oif and self.oif in host.interfaces else None
        route = host.route_output_addr(self.gw, 0, oif, pkt.tos & 0x1C)
        if not route.ok:
            par.log(f"TEE: no route to gateway {fmt_ipv4(self.gw)}: copy dropped", kind="note")
            return XT_CONTINUE
        dup = copy.deepcopy(pkt)
        dup.meta.ct = None
        dup.meta.untracked = True
        dup.meta.ctinfo = 7  # IP_CT_UNTRACKED
        dup.meta.ct_template = None
        if par.hook in (Hook.PREROUTING, Hook.INPUT):
            dup.ttl = (dup.ttl - 1) & 0xFF
        dup.ip_residual = 0  # ip_local_out recomputes the header checksum
        par.emit(dup, f"TEE copy to {fmt_ipv4(self.gw)}", route=route)
        return XT_CONTINUE


EXTENSION = Tee
