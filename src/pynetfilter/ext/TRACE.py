"""-j TRACE (xt_TRACE): mark the packet for rule tracing.  No options; raw table only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target


@dataclass(frozen=True, slots=True)
class Trace(Target):
    name: ClassVar[str] = "TRACE"
    table: ClassVar[str | None] = "raw"
    options: ClassVar[tuple[Opt, ...]] = ()

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Trace:
        return cls()


EXTENSION = Trace
