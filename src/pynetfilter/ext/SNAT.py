"""-j SNAT (xt_nat revision 0): rewrite the source to an address/port range.

Only in the nat table's POSTROUTING and INPUT hooks.  Revision 0 has no room for
a base port: ``:1000-2000/3000`` keeps only the shifted-map flag and saves as ``/0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext._nat import NatTarget, nat_setup
from pynetfilter.ext.base import Opt
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.nat_tuple import MANIP_SRC

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Snat(NatTarget):
    name: ClassVar[str] = "SNAT"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.POSTROUTING, Hook.INPUT)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("to-source", mandatory=True),
        Opt("random", nargs=0),
        Opt("random-fully", nargs=0),
        Opt("persistent", nargs=0),
    )
    list_prefix: ClassVar[str] = "to:"
    save_option: ClassVar[str] = "--to-source"
    has_base: ClassVar[bool] = False

    def tg(self, pkt: Packet, par: Par) -> int:
        return nat_setup(pkt, par, self.nat_range(), MANIP_SRC)


EXTENSION = Snat
