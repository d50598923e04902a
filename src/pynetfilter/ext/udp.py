"""-m udp (xt_tcpudp): source and destination port ranges of UDP datagrams.  Needs -p udp."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.tcp import exact_ports, print_ports, save_ports
from pynetfilter.ext.types import service_port
from pynetfilter.packet.model import IP_OFFSET, Sctp, Tcp
from pynetfilter.packet.model import Udp as UdpHeader

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

INV_SRCPT, INV_DSTPT = 0x01, 0x02
_GLIBC_NUM = re.compile(r"\s*([+-]?)([0-9]+)", re.ASCII)


def getportbyname(text: str) -> int | None:
    """xtables_getportbyname: getaddrinfo(NULL, text) as glibc resolves a service.

    A decimal text (strtoul base 10, whitespace and sign allowed) is taken
    modulo 2**16 unless, as a C int, it is negative; anything else is a
    service name.  So ``65536`` is port 0 and ``0x35`` is unknown.
    """
    m = _GLIBC_NUM.fullmatch(text)
    if m is None:
        return service_port(text, None) if text else 0
    value = int(m.group(2))
    value = min(value, 2**64 - 1)
    if m.group(1) == "-":
        value = (2**64 - value) % 2**64
    as_int = value & 0xFFFFFFFF
    if as_int >= 2**31:  # a negative int: looked up as a name, which fails
        return service_port(text, None)
    return as_int & 0xFFFF


def parse_port_rc(text: str) -> tuple[int, int]:
    """XTTYPE_PORTRC (xtopt_parse_mport): ``p``, ``a:b``, ``a:``, ``:b``; no order check."""
    parts = text.split(":")
    if len(parts) > 2:
        raise ParameterProblem(f'too many components in port range "{text}": expected port[:port]')
    vals = [0, 0xFFFF]
    for n, part in enumerate(parts):
        if part == "":
            continue
        p = getportbyname(part)
        if p is None:
            raise ParameterProblem(
                f'Port "{part}" does not resolve to anything: expected 0-65535 or a service'
            )
        vals[n] = p
    if len(parts) == 1:
        vals[1] = vals[0]
    return vals[0], vals[1]


@dataclass(frozen=True, slots=True)
class Udp(Match):
    """struct xt_udp."""

    name: ClassVar[str] = "udp"
    proto: ClassVar[int] = 17
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("source-port", invert=True, aliases=("sport",)),
        Opt("destination-port", invert=True, aliases=("dport",)),
    )

    spts: tuple[int, int] = (0, 0xFFFF)
    dpts: tuple[int, int] = (0, 0xFFFF)
    invflags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Udp:
        spts = dpts = (0, 0xFFFF)
        inv = 0
        for g in opts.items:
            if g.opt.name == "source-port":
                spts = parse_port_rc(g.value)
                inv |= INV_SRCPT if g.inverted else 0
            else:
                dpts = parse_port_rc(g.value)
                inv |= INV_DSTPT if g.inverted else 0
        return cls(spts, dpts, inv)

    def save(self) -> str:
        return (save_ports("sport", *self.spts, bool(self.invflags & INV_SRCPT))
                + save_ports("dport", *self.dpts, bool(self.invflags & INV_DSTPT)))

    def exact_save(self) -> str | None:
        return exact_ports(self.spts, self.dpts, self.invflags)

    def describe(self, numeric: bool) -> str:
        return (" udp"
                + print_ports("spt", *self.spts, bool(self.invflags & INV_SRCPT), numeric, "udp")
                + print_ports("dpt", *self.dpts, bool(self.invflags & INV_DSTPT), numeric, "udp"))

    def mt(self, pkt: Packet, par: Par) -> bool:
        """udp_mt: later fragments never match; a header cut short drops the packet."""
        if pkt.frag_off & IP_OFFSET:
            return False
        ports = l4_ports(pkt)
        if ports is None:
            par.hotdrop = True
            return False
        sport, dport = ports
        return ((self.spts[0] <= sport <= self.spts[1]) != bool(self.invflags & INV_SRCPT)
                and (self.dpts[0] <= dport <= self.dpts[1]) != bool(self.invflags & INV_DSTPT))


def l4_ports(pkt: Packet, need: int = 8) -> tuple[int, int] | None:
    """The two 16-bit port fields at the transport offset, or None when fewer than *need*
    bytes are there (skb_header_pointer failing)."""
    l4 = pkt.l4
    if isinstance(l4, (Tcp, UdpHeader, Sctp)):
        return l4.sport, l4.dport
    raw = pkt.payload
    if len(raw) < need:
        return None
    return raw[0] << 8 | raw[1], raw[2] << 8 | raw[3]


EXTENSION = Udp
