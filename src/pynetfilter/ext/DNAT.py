"""-j DNAT (xt_nat revision 2): rewrite the destination to an address/port range.

Only in the nat table's PREROUTING and OUTPUT hooks.  Revision 2 keeps a base
port, so ``--to-destination 10.233.0.1:8080-8090/9000`` (a shifted port map) works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext._nat import NatTarget, nat_setup
from pynetfilter.ext.base import Opt
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.nat_tuple import MANIP_DST

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Dnat(NatTarget):
    name: ClassVar[str] = "DNAT"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING, Hook.OUTPUT)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("to-destination", mandatory=True),
        Opt("random", nargs=0),
        Opt("persistent", nargs=0),
    )
    list_prefix: ClassVar[str] = "to:"
    save_option: ClassVar[str] = "--to-destination"

    def tg(self, pkt: Packet, par: Par) -> int:
        return nat_setup(pkt, par, self.nat_range(), MANIP_DST)


EXTENSION = Dnat
