"""-m rpfilter (xt_rpfilter): reverse-path filter; raw and mangle PREROUTING only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.model.tables import Hook, hook_mask

# XT_RPFILTER_* flag bits, in print order.
FLAGS = (("loose", 0x01), ("validmark", 0x02), ("accept-local", 0x04), ("invert", 0x08))


@dataclass(frozen=True, slots=True)
class Rpfilter(Match):
    """struct xt_rpfilter_info."""

    name: ClassVar[str] = "rpfilter"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING)
    options: ClassVar[tuple[Opt, ...]] = tuple(Opt(n, nargs=0) for n, _ in FLAGS)

    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Rpfilter:
        bits = dict(FLAGS)
        flags = 0
        for g in opts.items:
            flags |= bits[g.opt.name]
        return cls(flags)

    def check(self, ctx: CheckContext) -> None:
        if ctx.table not in ("raw", "mangle"):
            raise KernelRefusal(f"rpfilter match: only valid in 'raw' or 'mangle' tables, not '{ctx.table}'")

    def save(self) -> str:
        return "".join(f" --{n}" for n, b in FLAGS if self.flags & b)

    def describe(self, numeric: bool) -> str:
        return " rpfilter" + "".join(f" {n}" for n, b in FLAGS if self.flags & b)


EXTENSION = Rpfilter
