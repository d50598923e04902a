"""-m pkttype (xt_pkttype): the link-layer packet type (unicast, broadcast, multicast, otherhost)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem, PynfError
from pynetfilter.ext.base import Match, Opt, Options, RuleContext

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


# libxt_pkttype's supported_types (PACKET_* values), names before aliases.
PKT_TYPES: tuple[tuple[str, int], ...] = (
    ("unicast", 0), ("broadcast", 1), ("multicast", 2), ("otherhost", 3),
    ("bcast", 1), ("mcast", 2), ("host", 0),
)

# skb->pkt_type as Meta.pkt_type names it (PACKET_* of linux/if_packet.h).
PACKET_TYPES = {"host": 0, "broadcast": 1, "multicast": 2, "otherhost": 3, "outgoing": 4, "loopback": 5}
PACKET_LOOPBACK = 5


def pkttype_name(value: int) -> str:
    return next((n for n, v in PKT_TYPES if v == value), str(value))


@dataclass(frozen=True, slots=True)
class Pkttype(Match):
    """struct xt_pkttype_info."""

    name: ClassVar[str] = "pkttype"
    options: ClassVar[tuple[Opt, ...]] = (Opt("pkt-type", invert=True, mandatory=True),)

    pkttype: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Pkttype:
        g = opts["pkt-type"]
        for name, value in PKT_TYPES:
            if name == g.value.lower():
                return cls(value, g.inverted)
        raise ParameterProblem(
            f'Bad packet type "{g.value}": expected unicast, broadcast, multicast or otherhost'
        )

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --pkt-type {pkttype_name(self.pkttype)}"

    def describe(self, numeric: bool) -> str:
        return f" PKTTYPE {'!' if self.invert else ''}= {pkttype_name(self.pkttype)}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        """pkttype_mt: looped-back packets count as multicast (to a multicast address) or broadcast."""
        kind = pkt.meta.pkt_type
        value = PACKET_TYPES.get(kind)
        if value is None:
            raise PynfError(f'packet type "{kind}" unknown: expected one of {", ".join(PACKET_TYPES)}')
        if value == PACKET_LOOPBACK:
            value = 2 if pkt.daddr >> 28 == 0xE else 1
        return (value == self.pkttype) != self.invert


EXTENSION = Pkttype
