"""-j NETMAP: map a whole network 1:1 onto another (nat table, any of its hooks).

``--to`` is XTTYPE_HOSTMASK: the address as getaddrinfo reads it, then a prefix
length 0-32 or a dotted mask (a non-contiguous mask counts as /32).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext._nat import MAP_IPS, inet_aton, nat_setup, parse_host
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.ext.types import fmt_ipv4, mask_to_cidr, prefix_mask, try_uint
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


def parse_plen_mask(text: str) -> int:
    """xtopt_parse_plenmask: ``0-32`` (base 0) or a numeric mask; the mask it stands for."""
    bits = try_uint(text, 0, 32)
    if bits is None:
        mask = inet_aton(text)
        if mask is None:
            raise ParameterProblem(f'bad mask "{text}": expected a prefix length 0-32 or a dotted mask')
        bits = mask_to_cidr(mask)
        if bits < 0:
            return 0xFFFFFFFF  # the cidr (-1) is stored in a u8: 255 bits, which leaves the mask all ones
    return prefix_mask(bits)


@dataclass(frozen=True, slots=True)
class Netmap(Target):
    """struct nf_nat_ipv4_multi_range_compat, one range."""

    name: ClassVar[str] = "NETMAP"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING, Hook.INPUT, Hook.OUTPUT, Hook.POSTROUTING)
    options: ClassVar[tuple[Opt, ...]] = (Opt("to", mandatory=True),)
    needs_conntrack: ClassVar[bool] = True

    flags: int = MAP_IPS
    min_ip: int = 0
    max_ip: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Netmap:
        addr_s, slash, mask_s = opts["to"].value.partition("/")
        addr = parse_host(addr_s)
        mask = parse_plen_mask(mask_s) if slash else 0xFFFFFFFF
        lo = addr & mask
        return cls(MAP_IPS, lo, lo | (~mask & 0xFFFFFFFF))

    def _net(self) -> str:
        mask = ~(self.min_ip ^ self.max_ip) & 0xFFFFFFFF
        bits = mask_to_cidr(mask)
        return f"{fmt_ipv4(self.min_ip)}/{bits if bits >= 0 else fmt_ipv4(mask)}"

    def save(self) -> str:
        return f" --to {self._net()}"

    def describe(self, numeric: bool) -> str:
        return f" to:{self._net()}"

    def tg(self, pkt: Packet, par: Par) -> int:
        """netmap_tg: keep the host part, take the network part from the target's prefix;
        the destination before routing (PREROUTING, OUTPUT), the source after."""
        from pynetfilter.netfilter.nat import hook2manip
        from pynetfilter.netfilter.nat_tuple import MANIP_DST, NatRange

        netmask = ~(self.min_ip ^ self.max_ip) & 0xFFFFFFFF
        manip = hook2manip(par.hook)
        addr = pkt.daddr if manip == MANIP_DST else pkt.saddr
        new = (addr & ~netmask & 0xFFFFFFFF) | (self.min_ip & netmask)
        return nat_setup(pkt, par, NatRange(self.flags | MAP_IPS, new, new), manip)


EXTENSION = Netmap
