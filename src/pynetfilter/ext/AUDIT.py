"""-j AUDIT (xt_AUDIT): record the packet in the audit log as accepted, dropped or rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target

TYPES = ("accept", "drop", "reject")  # XT_AUDIT_TYPE_* 0, 1, 2


@dataclass(frozen=True, slots=True)
class Audit(Target):
    """struct xt_audit_info."""

    name: ClassVar[str] = "AUDIT"
    options: ClassVar[tuple[Opt, ...]] = (Opt("type", mandatory=True),)

    type: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Audit:
        text = opts["type"].value
        if text.lower() not in TYPES:
            raise ParameterProblem(f'Bad action type value "{text}": expected accept, drop or reject')
        return cls(TYPES.index(text.lower()))

    def save(self) -> str:
        return f" --type {TYPES[self.type]}"

    def describe(self, numeric: bool) -> str:
        return f" AUDIT {TYPES[self.type]}"


EXTENSION = Audit
