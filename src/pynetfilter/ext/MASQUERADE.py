"""-j MASQUERADE (revision 0): source NAT to the outgoing interface's address.

Only in the nat table's POSTROUTING hook.  ``--to-ports`` needs a port protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext._nat import MAP_IPS, NatTarget, nat_setup
from pynetfilter.ext.base import Opt
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.nat_tuple import MANIP_SRC, NatRange
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Masquerade(NatTarget):
    name: ClassVar[str] = "MASQUERADE"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.POSTROUTING)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("to-ports"),
        Opt("random", nargs=0),
        Opt("random-fully", nargs=0),
    )
    list_prefix: ClassVar[str] = "masq ports: "
    save_option: ClassVar[str] = "--to-ports"
    skip_colon: ClassVar[bool] = True
    has_base: ClassVar[bool] = False

    def tg(self, pkt: Packet, par: Par) -> int:
        """nf_nat_masquerade_ipv4: SNAT to the address the host would pick as source on the way out."""
        ct = pkt.meta.ct
        if ct is None or ct.orig.src == 0:
            return NF_ACCEPT  # a 0.0.0.0 source (DHCP) is not meant to be masqueraded
        newsrc = par.engine.host.source_address(par.out_dev, pkt.daddr)
        if not newsrc:
            par.log(f"MASQUERADE: {par.out_dev} ate my IP address", kind="note")
            return NF_DROP
        # The interface is remembered: if the route later leaves elsewhere, the connection dies.
        ct.proto["nat_masq_oif"] = par.out_dev
        # One NatRange per (target, address): they are immutable, and made per connection otherwise.
        key = (self.flags, newsrc, self.min_port, self.max_port)
        rng = _RANGES.get(key)
        if rng is None:
            if len(_RANGES) >= 4096:
                _RANGES.clear()
            rng = _RANGES[key] = NatRange(self.flags | MAP_IPS, newsrc, newsrc, self.min_port, self.max_port)
        return nat_setup(pkt, par, rng, MANIP_SRC)


_RANGES: dict[tuple[int, int, int, int], NatRange] = {}


EXTENSION = Masquerade
