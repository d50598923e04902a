"""-m comment (xt_comment): a remark stored in the rule, matching every packet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import save_string

MAX_LEN = 255  # XT_MAX_COMMENT_LEN - 1


@dataclass(frozen=True, slots=True)
class Comment(Match):
    name: ClassVar[str] = "comment"
    options: ClassVar[tuple[Opt, ...]] = (Opt("comment", mandatory=True),)

    comment: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Comment:
        text = opts["comment"].value
        if len(text.encode("utf-8", "surrogateescape")) > MAX_LEN:
            raise ParameterProblem(f'comment "{text[:20]}..." too long: expected at most {MAX_LEN} bytes')
        return cls(text)

    def save(self) -> str:
        return " --comment" + save_string(self.comment)

    def describe(self, numeric: bool) -> str:
        return f" /* {self.comment} */"


EXTENSION = Comment
