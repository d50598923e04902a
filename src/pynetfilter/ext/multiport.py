"""-m multiport (xt_multiport, revision 1): up to 15 ports or port ranges.

Needs -p tcp, udp, udplite, sctp or dccp, given before the option.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Given, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_port, service_name
from pynetfilter.ext.udp import l4_ports
from pynetfilter.packet.model import IP_OFFSET

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MULTI_PORTS = 15  # XT_MULTI_PORTS
SOURCE, DESTINATION, EITHER = 0, 1, 2
PROTOS = {6: "tcp", 17: "udp", 136: "udplite", 132: "sctp", 33: "dccp"}
_OPTS = {"source-ports": SOURCE, "destination-ports": DESTINATION, "ports": EITHER}
_SAVE = {SOURCE: "sports", DESTINATION: "dports", EITHER: "ports"}


def _check_proto(g: Given) -> str:
    """check_proto: the -p in force when the option was met must be a port protocol."""
    proto, inverted = g.proto_then
    if not inverted and proto in PROTOS:
        return PROTOS[proto]
    if proto == 0 and not inverted:
        raise ParameterProblem(
            "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
        )
    raise ParameterProblem("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP")


def parse_multi_ports(text: str, proto: str) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """parse_multi_ports_v1: comma-separated ports and ``lo:hi`` ranges (a range takes two slots)."""
    ports: list[int] = []
    pflags: list[bool] = []
    words = text.split(",")
    for word in words:
        if len(ports) >= MULTI_PORTS:
            raise ParameterProblem(f'too many ports specified in "{text}": expected at most {MULTI_PORTS}')
        lo_s, colon, hi_s = word.partition(":")
        if colon and len(ports) == MULTI_PORTS - 1:
            raise ParameterProblem(f'too many ports specified in "{text}": expected at most {MULTI_PORTS}')
        lo = parse_port(lo_s, proto)
        if not colon:
            ports.append(lo)
            pflags.append(False)
            continue
        hi = parse_port(hi_s, proto)
        if lo >= hi:
            raise ParameterProblem(f'invalid portrange specified: "{word}", '
                                   "expected low:high with low < high")
        ports += [lo, hi]
        pflags += [True, False]
    return tuple(ports), tuple(pflags)


@dataclass(frozen=True, slots=True)
class Multiport(Match):
    """struct xt_multiport_v1."""

    name: ClassVar[str] = "multiport"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("source-ports", invert=True, aliases=("sports",), excl=("destination-ports", "ports")),
        Opt("destination-ports", invert=True, aliases=("dports",), excl=("source-ports", "ports")),
        Opt("ports", invert=True, excl=("source-ports", "destination-ports")),
    )

    flags: int = SOURCE
    ports: tuple[int, ...] = ()
    pflags: tuple[bool, ...] = ()
    invert: bool = False
    # Not kernel data: the rule's -p, which -L uses to name ports (getservbyport).
    ip_proto: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Multiport:
        if not opts.items:
            raise ParameterProblem("multiport expection an option: expected --sports, --dports or --ports")
        g = opts.items[0]
        proto = _check_proto(g)
        ports, pflags = parse_multi_ports(g.value, proto)
        return cls(_OPTS[g.opt.name], ports, pflags, g.inverted, ctx.proto)

    def check(self, ctx: CheckContext) -> None:
        if ctx.ip.proto not in PROTOS or ctx.ip.inv_proto:
            raise KernelRefusal("multiport: only valid for -p tcp, udp, udplite, sctp or dccp")
        if len(self.ports) > MULTI_PORTS:
            raise KernelRefusal(f"multiport: at most {MULTI_PORTS} ports")

    def _ports(self, proto: str | None) -> str:
        def one(p: int) -> str:
            name = service_name(p, proto) if proto else None
            return name or str(p)

        out: list[str] = []
        i = 0
        while i < len(self.ports):
            word = one(self.ports[i])
            if self.pflags[i]:
                i += 1
                word += ":" + one(self.ports[i])
            out.append(word)
            i += 1
        return ",".join(out)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --{_SAVE[self.flags]} {self._ports(None)}"

    def describe(self, numeric: bool) -> str:
        names = None if numeric else PROTOS.get(self.ip_proto)
        return f" multiport {_SAVE[self.flags]} {' !' if self.invert else ''}{self._ports(names)}"

    def mt(self, pkt: Packet, par: Par) -> bool:
        """multiport_mt: the first 4 transport bytes are the ports for every protocol it allows."""
        if pkt.frag_off & IP_OFFSET:
            return False
        pp = l4_ports(pkt, 4)
        if pp is None:
            par.hotdrop = True
            return False
        return self._ports_match(*pp)

    def _ports_match(self, src: int, dst: int) -> bool:
        """ports_match_v1: the first listed port or range that fits decides."""
        ports, pflags, flags = self.ports, self.pflags, self.flags
        i = 0
        while i < len(ports):
            lo = hi = ports[i]
            if pflags[i]:
                i += 1
                hi = ports[i]
            i += 1
            if ((flags != DESTINATION and lo <= src <= hi)
                    or (flags != SOURCE and lo <= dst <= hi)):
                return not self.invert
        return self.invert


EXTENSION = Multiport
