"""-m icmp (ipt_icmp): ICMP type and code range, by name or ``type[/code]``.  Needs -p icmp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul
from pynetfilter.packet.model import IP_OFFSET
from pynetfilter.packet.model import Icmp as IcmpHeader

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

# libipt_icmp's icmp_codes: (name, type, code_min, code_max), in its order.
ICMP_CODES: tuple[tuple[str, int, int, int], ...] = (
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
)


def _range(text: str) -> tuple[int, int, str] | None:
    """libxt_icmp.h's parse_range: ``n[:m]`` (strtoul numbers 0-255) and the text after it."""
    r = strtoul(text)
    if r is None or r[0] > 255:
        return None
    lo, rest = r
    hi = lo
    if rest[:1] == ":":
        r = strtoul(rest[1:])
        if r is None or r[0] > 255:
            return None
        hi, rest = r
    return lo, hi, rest


def parse_icmp_type(text: str) -> tuple[int, int, int]:
    """__ipt_parse_icmp (iptables 1.8.9): a type name (any unambiguous case-insensitive prefix)
    or ``type[/code[:code]]``."""
    low = text.lower()
    hits = [c for c in ICMP_CODES if c[0].lower().startswith(low)]
    if len(hits) > 1:
        raise ParameterProblem(f"Ambiguous ICMP type `{text}': `{hits[0][0]}' or `{hits[1][0]}'?")
    if hits:
        return hits[0][1], hits[0][2], hits[0][3]
    got = _range(text)
    if got is None:
        raise ParameterProblem(f"Unknown ICMP type `{text}': expected a type name or number 0-255")
    typ, typ_hi, rest = got
    code_lo, code_hi = 0, 0xFF
    if rest[:1] == "/":
        got = _range(rest[1:])
        if got is None:
            raise ParameterProblem(f"Unknown ICMP code `{text}': expected type/code[:code], codes 0-255")
        code_lo, code_hi, rest = got
    if rest:
        raise ParameterProblem(f"unknown character {rest[0]}: in ICMP type `{text}'")
    if typ_hi != typ:
        raise ParameterProblem(f"ICMP type range not supported: `{text}'")
    return typ, code_lo, code_hi


@dataclass(frozen=True, slots=True)
class Icmp(Match):
    """struct ipt_icmp."""

    name: ClassVar[str] = "icmp"
    proto: ClassVar[int] = 1
    options: ClassVar[tuple[Opt, ...]] = (Opt("icmp-type", invert=True, mandatory=True),)

    type: int = 0xFF
    code_min: int = 0
    code_max: int = 0xFF
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Icmp:
        g = opts["icmp-type"]
        return cls(*parse_icmp_type(g.value), g.inverted)

    def save(self) -> str:
        bang = " !" if self.invert else ""
        if self.type == 0xFF:  # iptables 1.8.9 saves every type 255 as "any", whatever its codes
            return f"{bang} --icmp-type any"
        code = f"/{self.code_min}" if (self.code_min, self.code_max) != (0, 0xFF) else ""
        return f"{bang} --icmp-type {self.type}{code}"

    def exact_save(self) -> str | None:
        # save prints a code range by its low end, and type 255 as "any" whatever its codes.
        codes = (self.code_min, self.code_max)
        if codes == (0, 0xFF) or (self.type != 0xFF and self.code_min == self.code_max):
            return None
        text = str(self.code_min) if self.code_min == self.code_max else f"{self.code_min}:{self.code_max}"
        return f"{' !' if self.invert else ''} --icmp-type {self.type}/{text}"

    def describe(self, numeric: bool) -> str:
        bang = "!" if self.invert else ""
        if not numeric:
            for name, typ, lo, hi in ICMP_CODES:
                if (typ, lo, hi) == (self.type, self.code_min, self.code_max):
                    return f" icmp {bang}{name}"
        out = " icmp" + (" !" if self.invert else "") + f"type {self.type}"
        if self.code_min == self.code_max:
            out += f" code {self.code_min}"
        elif (self.code_min, self.code_max) != (0, 0xFF):
            out += f" codes {self.code_min}-{self.code_max}"
        return out

    def mt(self, pkt: Packet, par: Par) -> bool:
        """icmp_match: type 0xff ("any") matches every type and code of a whole ICMP header."""
        if pkt.frag_off & IP_OFFSET:
            return False
        ic = pkt.l4
        if isinstance(ic, IcmpHeader):
            typ, code = ic.type, ic.code
        elif len(pkt.payload) >= 8:  # struct icmphdr: type, code, checksum, 4 more bytes
            typ, code = pkt.payload[0], pkt.payload[1]
        else:
            par.hotdrop = True
            return False
        hit = self.type == 0xFF or (typ == self.type and self.code_min <= code <= self.code_max)
        return hit != self.invert


EXTENSION = Icmp
