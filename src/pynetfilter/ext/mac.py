"""-m mac (xt_mac): the Ethernet source address; PREROUTING, INPUT and FORWARD only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


_HEX_PART = re.compile(r"[ \t\n\v\f\r]*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]*)")


def parse_mac(text: str) -> bytes:
    """XTTYPE_ETHERMAC: six strtoul(base 16) parts joined by ":", each spelled in at most 2 chars.

    A part strtoul cannot read counts as 0 read from no characters (so ":::::" is all zeros);
    the value is kept in a byte, as the C code stores it.
    """
    out = []
    pos = 0
    for i in range(6):
        m = _HEX_PART.match(text, pos)
        assert m is not None
        end = m.end() if m.group(2) else pos
        value = int(m.group(2), 16) if m.group(2) else 0
        if m.group(1) == "-":
            value = -value
        want = ":" if i < 5 else ""
        if end - pos > 2 or (text[end:end + 1] != want if want else end != len(text)):
            raise ParameterProblem(f'Invalid MAC address specified: "{text}", expected XX:XX:XX:XX:XX:XX')
        out.append(value & 0xFF)
        pos = end + 1
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Mac(Match):
    """struct xt_mac_info."""

    name: ClassVar[str] = "mac"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING, Hook.INPUT, Hook.FORWARD)
    options: ClassVar[tuple[Opt, ...]] = (Opt("mac-source", invert=True, mandatory=True),)

    srcaddr: bytes = bytes(6)
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Mac:
        g = opts["mac-source"]
        return cls(parse_mac(g.value), g.inverted)

    def _text(self) -> str:
        return ":".join(f"{b:02x}" for b in self.srcaddr)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --mac-source {self._text()}"

    def describe(self, numeric: bool) -> str:
        return f" MAC {'! ' if self.invert else ''}{self._text()}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        """mac_mt: no Ethernet header (loopback, locally generated): no match, even inverted."""
        src = pkt.meta.src_mac
        if src is None:
            return False
        return (src == self.srcaddr) != self.invert


EXTENSION = Mac
