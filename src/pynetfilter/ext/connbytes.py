"""-m connbytes (xt_connbytes): a connection's packet/byte counters or average packet size.

Reads the entry's per-direction accounting (``Conn.packets``/``Conn.bytes``,
which include the packet being matched: conntrack counts it first); a packet
without an entry never matches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.conntrack import ct_get
from pynetfilter.ext.types import parse_uint, try_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

U64_MAX = 2**64 - 1
MODES = ("packets", "bytes", "avgpkt")  # XT_CONNBYTES_PKTS, _BYTES, _AVGPKT
DIRS = ("original", "reply", "both")  # XT_CONNBYTES_DIR_ORIGINAL, _REPLY, _BOTH


def parse_u64_range(text: str) -> tuple[int, int]:
    """XTTYPE_UINT64RC: ``from[:to]``; an empty from is 0, an empty or missing to is the maximum."""
    parts = text.split(":")
    if len(parts) > 2:
        raise ParameterProblem(f'bad value "{text}" for --connbytes: expected from[:to]')
    def part(word: str) -> int:
        if try_uint(word, 0, U64_MAX) is None:  # xtopt_parse_mint's words
            raise ParameterProblem(f'connbytes: bad value for option "--connbytes" near "{word}", '
                                   f"or out of range (0-{U64_MAX}): expected from[:to]")
        return parse_uint(word, 0, U64_MAX)

    lo = part(parts[0]) if parts[0] else 0
    hi = part(parts[1]) if len(parts) == 2 and parts[1] else U64_MAX
    if lo > hi:
        raise ParameterProblem(f'bad range "{text}": {lo} should be less than {hi}')
    return lo, hi


@dataclass(frozen=True, slots=True)
class Connbytes(Match):
    """struct xt_connbytes_info: an inverted range is stored with from and to swapped."""

    name: ClassVar[str] = "connbytes"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("connbytes", invert=True, mandatory=True),
        Opt("connbytes-dir", mandatory=True),
        Opt("connbytes-mode", mandatory=True),
    )

    count_from: int = 0
    count_to: int = U64_MAX
    what: int = 0
    direction: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connbytes:
        g = opts["connbytes"]
        lo, hi = parse_u64_range(g.value)
        if g.inverted:
            lo, hi = hi, lo
        d = opts["connbytes-dir"].value
        if d not in DIRS:
            raise ParameterProblem(f'Unknown --connbytes-dir "{d}": expected original, reply or both')
        m = opts["connbytes-mode"].value
        if m not in MODES:
            raise ParameterProblem(f'Unknown --connbytes-mode "{m}": expected packets, bytes or avgpkt')
        return cls(lo, hi, MODES.index(m), DIRS.index(d))

    def mt(self, pkt: Packet, par: Par) -> bool:
        ct, _ = ct_get(pkt)
        if ct is None:
            return False
        dirs = ((0,), (1,), (0, 1))[self.direction]
        pkts = sum(ct.packets[d] for d in dirs)
        nbytes = sum(ct.bytes[d] for d in dirs)
        if self.what == 0:
            what = pkts
        elif self.what == 1:
            what = nbytes
        else:
            what = nbytes // pkts if pkts else 0
        lo, hi = self.count_from, self.count_to
        if hi >= lo:
            return lo <= what <= hi
        return what < hi or what > lo  # an inverted range is stored swapped

    def _range(self, prefix: str) -> str:
        lo, hi, bang = self.count_from, self.count_to, ""
        if lo > hi:
            lo, hi, bang = hi, lo, " !"
        out = f"{bang} {prefix}connbytes {lo}"
        if hi and hi < U64_MAX:
            out += f":{hi}"
        return out

    def save(self) -> str:
        return (f"{self._range('--')} --connbytes-mode {MODES[self.what]}"
                f" --connbytes-dir {DIRS[self.direction]}")

    def exact_save(self) -> str | None:
        # --connbytes 0:0 prints as "0", which reads back as 0 to infinity.
        if self.count_from or self.count_to:
            return None
        return f" --connbytes 0:0 --connbytes-mode {MODES[self.what]} --connbytes-dir {DIRS[self.direction]}"

    def describe(self, numeric: bool) -> str:
        return (f"{self._range('')} connbytes mode {MODES[self.what]}"
                f" connbytes direction {DIRS[self.direction]}")


EXTENSION = Connbytes
