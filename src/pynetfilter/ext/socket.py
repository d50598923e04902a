"""-m socket (xt_socket, revision 3): a local socket exists for the packet; PREROUTING/INPUT only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.model.tables import Hook, hook_mask

TRANSPARENT, NOWILDCARD, RESTORESKMARK = 1, 2, 4
_FLAGS = (("transparent", TRANSPARENT), ("nowildcard", NOWILDCARD), ("restore-skmark", RESTORESKMARK))


@dataclass(frozen=True, slots=True)
class Socket(Match):
    """struct xt_socket_mtinfo3 (flags)."""

    name: ClassVar[str] = "socket"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING, Hook.INPUT)
    options: ClassVar[tuple[Opt, ...]] = tuple(Opt(n, nargs=0) for n, _ in _FLAGS)

    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Socket:
        flags = 0
        for n, bit in _FLAGS:
            if n in opts:
                flags |= bit
        return cls(flags)

    def save(self) -> str:
        return "".join(f" --{n}" for n, bit in _FLAGS if self.flags & bit)

    def describe(self, numeric: bool) -> str:
        return " socket" + self.save()


EXTENSION = Socket
