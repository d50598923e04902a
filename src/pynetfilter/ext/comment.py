"""-m comment (xt_comment): a remark stored in the rule, matching every packet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import save_string

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


MAX_LEN = 255  # XT_MAX_COMMENT_LEN - 1


@dataclass(frozen=True, slots=True)
class Comment(Match):
    name: ClassVar[str] = "comment"
    options: ClassVar[tuple[Opt, ...]] = (Opt("comment", mandatory=True),)

    comment: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Comment:
        text = opts["comment"].value
        raw = text.encode("utf-8", "surrogateescape")
        if len(raw) > MAX_LEN:  # XTOPT_PUT copies at most 255 bytes: longer comments are cut, not refused
            text = raw[:MAX_LEN].decode("utf-8", "surrogateescape")
        return cls(text)

    def save(self) -> str:
        return " --comment" + save_string(self.comment)

    def describe(self, numeric: bool) -> str:
        return f" /* {self.comment} */"


    def mt(self, pkt: Packet, par: Par) -> bool:
        return True


EXTENSION = Comment
