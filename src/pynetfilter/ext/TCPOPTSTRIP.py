"""-j TCPOPTSTRIP (xt_TCPOPTSTRIP): overwrite chosen TCP options with NOPs.  mangle, -p tcp.

The option list is a 256-bit map: names or numbers 2-255, saved as numbers in ascending order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.ext.types import try_uint
from pynetfilter.netfilter.verdicts import NF_DROP, XT_CONTINUE
from pynetfilter.packet.model import Tcp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

TCPOPT_NOP = 1
# libxt_TCPOPTSTRIP's tcp_optionmap, in its order (a number prints as the last name given it).
OPTION_NAMES = (("wscale", 3), ("mss", 2), ("sack-permitted", 4), ("sack", 5), ("timestamp", 8), ("md5", 19))
_BY_NAME = dict(OPTION_NAMES)
_BY_NUM = {num: name for name, num in OPTION_NAMES}


def parse_list(text: str) -> frozenset[int]:
    """parse_list: comma-separated names or numbers 0-255; 0 and 1 and repeats refused."""
    seen: set[int] = set()
    for part in text.split(","):
        option = _BY_NAME.get(part, 0)
        if option == 0:
            v = try_uint(part, 0, 255)
            if v is None:
                raise ParameterProblem(f'Bad TCP option value "{part}": expected a name or 2-255')
            option = v
        if option < 2:
            raise ParameterProblem("Option value may not be 0 or 1")
        if option in seen:
            raise ParameterProblem(f'Option "{part}" already specified')
        seen.add(option)
    return frozenset(seen)


@dataclass(frozen=True, slots=True)
class Tcpoptstrip(Target):
    """struct xt_tcpoptstrip_target_info: strip_bmap[8]."""

    name: ClassVar[str] = "TCPOPTSTRIP"
    table: ClassVar[str | None] = "mangle"
    proto: ClassVar[int] = 6
    options: ClassVar[tuple[Opt, ...]] = (Opt("strip-options"),)

    strip: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tcpoptstrip:
        g = opts.get("strip-options")
        return cls(parse_list(g.value) if g is not None else frozenset())

    def _list(self, numeric: bool) -> str:
        return ",".join(str(i) if numeric or i not in _BY_NUM else _BY_NUM[i] for i in sorted(self.strip))

    def save(self) -> str:
        return f" --strip-options {self._list(True)}" if self.strip else ""

    def describe(self, numeric: bool) -> str:
        return f" TCPOPTSTRIP options {self._list(numeric)}" if self.strip else ""

    def tg(self, pkt: Packet, par: Par) -> int:
        """tcpoptstrip_mangle_packet: every option whose kind is in the map becomes NOPs (its
        length bytes too); the walk goes on past an end-of-list option, as the kernel's does."""
        if par.fragoff:
            return XT_CONTINUE
        tcph = pkt.l4
        if not isinstance(tcph, Tcp):
            return NF_DROP  # no whole TCP header
        hdrlen = tcph.doff * 4
        if hdrlen < 20 or len(tcph.options) < hdrlen - 20:
            return NF_DROP  # skb_ensure_writable: the header runs past the packet
        opt = bytearray(tcph.options[:hdrlen - 20])
        i = 0
        end = hdrlen - 20
        while i < end - 1:
            optl = 1 if opt[i] <= TCPOPT_NOP or opt[i + 1] == 0 else opt[i + 1]
            if i + optl > end:
                break
            if opt[i] in self.strip:
                opt[i:i + optl] = bytes([TCPOPT_NOP]) * optl
            i += optl
        if self.strip:
            tcph.options = bytes(opt) + tcph.options[end:]
        return XT_CONTINUE


EXTENSION = Tcpoptstrip
