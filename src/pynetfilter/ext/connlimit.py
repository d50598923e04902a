"""-m connlimit (xt_connlimit revision 1): number of connections per address group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.conntrack import parse_plen_mask
from pynetfilter.ext.types import parse_uint

F_INVERT, F_DADDR = 0x01, 0x02


def count_bits(mask: int) -> int:
    """libxt_connlimit's count_bits4: 32 minus the bit length of the inverted mask."""
    return 32 - ((~mask) & 0xFFFFFFFF).bit_length()


@dataclass(frozen=True, slots=True)
class Connlimit(Match):
    """struct xt_connlimit_info: ``--connlimit-upto`` is ``above`` with the invert flag."""

    name: ClassVar[str] = "connlimit"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("connlimit-upto", invert=True, excl=("connlimit-above",)),
        Opt("connlimit-above", invert=True, excl=("connlimit-upto",)),
        Opt("connlimit-mask"),
        Opt("connlimit-saddr", nargs=0, excl=("connlimit-daddr",)),
        Opt("connlimit-daddr", nargs=0, excl=("connlimit-saddr",)),
    )

    limit: int = 0
    mask: int = 0xFFFFFFFF
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connlimit:
        flags = 0
        limit = None
        mask = 0xFFFFFFFF
        for g in opts.items:
            n = g.opt.name
            if n in ("connlimit-upto", "connlimit-above"):
                limit = parse_uint(g.value, 0, 2**32 - 1, f"--{n} count")
                upto = (n == "connlimit-upto") != g.inverted
                flags = flags | F_INVERT if upto else flags & ~F_INVERT
            elif n == "connlimit-mask":
                mask = parse_plen_mask(g.value, "--connlimit-mask")
            elif n == "connlimit-daddr":
                flags |= F_DADDR
            elif n == "connlimit-saddr":
                flags &= ~F_DADDR
        if limit is None:
            raise ParameterProblem('connlimit: expected "--connlimit-above" or "--connlimit-upto"')
        return cls(limit, mask, flags)

    def save(self) -> str:
        kind = "upto" if self.flags & F_INVERT else "above"
        addr = "daddr" if self.flags & F_DADDR else "saddr"
        return f" --connlimit-{kind} {self.limit} --connlimit-mask {count_bits(self.mask)} --connlimit-{addr}"

    def describe(self, numeric: bool) -> str:
        addr = "dst" if self.flags & F_DADDR else "src"
        op = "<=" if self.flags & F_INVERT else ">"
        return f" #conn {addr}/{count_bits(self.mask)} {op} {self.limit}"


EXTENSION = Connlimit
