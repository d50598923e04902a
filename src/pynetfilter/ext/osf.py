"""-m osf (xt_osf): passive OS fingerprinting of TCP SYNs against the fingerprints
loaded into the kernel (nfnl_osf).  Needs -p tcp; PREROUTING, INPUT and FORWARD only.

pynetfilter holds no fingerprint database, so it answers as a kernel with none
loaded: no packet matches, inverted or not (the kernel never reads
``! --genre``'s inversion), and the trace says so for each TCP SYN it sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.packet.model import Tcp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

GENRE_LEN = 32  # MAXGENRELEN: the genre is cut to 31 characters
F_GENRE, F_TTL, F_LOG, F_INVERT = 0x1, 0x2, 0x4, 0x8


def _level(text: str, opt: str) -> int:
    try:
        return parse_uint(text, 0, 2, opt)
    except ParameterProblem:
        raise ParameterProblem(
            f'osf: bad value for option "--{opt}", or out of range (0-2): "{text}"'
        ) from None


@dataclass(frozen=True, slots=True)
class Osf(Match):
    """struct xt_osf_info."""

    name: ClassVar[str] = "osf"
    proto: ClassVar[int] = 6
    hooks: ClassVar[int] = hook_mask(Hook.INPUT, Hook.PREROUTING, Hook.FORWARD)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("genre", invert=True, mandatory=True), Opt("ttl"), Opt("log"),
    )

    genre: str = ""
    flags: int = 0
    ttl: int = 0
    loglevel: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Osf:
        g = opts["genre"]
        flags = F_INVERT if g.inverted else 0
        ttl = loglevel = 0
        if (t := opts.get("ttl")) is not None:
            ttl, flags = _level(t.value, "ttl"), flags | F_TTL
        if (lg := opts.get("log")) is not None:
            loglevel, flags = _level(lg.value, "log"), flags | F_LOG
        return cls(g.value[:GENRE_LEN - 1], flags, ttl, loglevel)

    def save(self) -> str:
        out = (" !" if self.flags & F_INVERT else "") + f" --genre {self.genre}"
        if self.flags & F_TTL:
            out += f" --ttl {self.ttl}"
        if self.flags & F_LOG:
            out += f" --log {self.loglevel}"
        return out

    def describe(self, numeric: bool) -> str:
        return f" OS fingerprint match {'! ' if self.flags & F_INVERT else ''}{self.genre}"

    def mt(self, pkt: Packet, par: Par) -> bool:
        """nf_osf_match: only a TCP SYN is compared, with the loaded fingerprints: none here."""
        tcp = pkt.l4
        if isinstance(tcp, Tcp) and tcp.flags & 0x02:
            par.log("osf: no OS fingerprints are loaded (pynetfilter has no nfnl_osf database): "
                    "no match, as the kernel without fingerprints", kind="note")
        return False


EXTENSION = Osf
