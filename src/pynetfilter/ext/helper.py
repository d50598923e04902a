"""-m helper (xt_helper): the name of the connection's conntrack helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import save_string

NAME_MAX = 29  # char name[30], NUL-terminated: longer names are cut


@dataclass(frozen=True, slots=True)
class Helper(Match):
    """struct xt_helper_info."""

    name: ClassVar[str] = "helper"
    options: ClassVar[tuple[Opt, ...]] = (Opt("helper", invert=True, mandatory=True),)

    helper: str = ""
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Helper:
        g = opts["helper"]
        raw = g.value.encode("utf-8", "surrogateescape")[:NAME_MAX]
        return cls(raw.decode("utf-8", "surrogateescape"), g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --helper{save_string(self.helper)}"

    def describe(self, numeric: bool) -> str:
        return f' helper match {"! " if self.invert else ""}"{self.helper}"'


EXTENSION = Helper
