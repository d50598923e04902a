"""-j REDIRECT (revision 0): destination NAT to the local machine, optionally to other ports.

Only in the nat table's PREROUTING and OUTPUT hooks; no shifted port maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext._nat import MAP_IPS, NatTarget, nat_setup
from pynetfilter.ext.base import Opt
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Redirect(NatTarget):
    name: ClassVar[str] = "REDIRECT"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING, Hook.OUTPUT)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("to-ports"),
        Opt("random", nargs=0),
    )
    list_prefix: ClassVar[str] = "redir ports "
    save_option: ClassVar[str] = "--to-ports"
    skip_colon: ClassVar[bool] = True
    has_base: ClassVar[bool] = False
    no_offset: ClassVar[bool] = True

    def tg(self, pkt: Packet, par: Par) -> int:
        """nf_nat_redirect_ipv4: DNAT to this host: loopback for local packets, else the primary
        address of the interface the packet came in on (dropped when it has none)."""
        from pynetfilter.netfilter.nat_tuple import MANIP_DST, NatRange
        from pynetfilter.netfilter.verdicts import NF_DROP

        if par.hook == Hook.OUTPUT:
            newdst = 0x7F000001
        else:
            dev = par.engine.host.interfaces.get(par.in_dev or "")
            # The first address of the device's list: its first primary address.
            newdst = dev.ifaddrs[0].local if dev is not None and dev.ifaddrs else 0
            if not newdst:
                return NF_DROP
        rng = NatRange(self.flags | MAP_IPS, newdst, newdst, self.min_port, self.max_port)
        return nat_setup(pkt, par, rng, MANIP_DST)


EXTENSION = Redirect
