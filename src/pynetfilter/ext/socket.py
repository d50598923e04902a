"""-m socket (xt_socket, revision 3): a local socket exists for the packet; PREROUTING/INPUT only.

pynetfilter has no sockets: the answer comes from the packet's metadata.
``meta.socket`` says a socket would be found for it; ``meta.socket_wildcard``
(the socket listens on 0.0.0.0), ``meta.socket_transparent``
(IP_TRANSPARENT) and ``meta.socket_mark`` refine it as xt_socket uses them:
a wildcard listener counts only with --nowildcard, --transparent needs a
transparent socket, --restore-skmark copies the socket's mark to the packet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

TRANSPARENT, NOWILDCARD, RESTORESKMARK = 1, 2, 4
_FLAGS = (("transparent", TRANSPARENT), ("nowildcard", NOWILDCARD), ("restore-skmark", RESTORESKMARK))


@dataclass(frozen=True, slots=True)
class Socket(Match):
    """struct xt_socket_mtinfo3 (flags)."""

    name: ClassVar[str] = "socket"
    needs_defrag: ClassVar[bool] = True  # socket_mt_enable_defrag: defrag without conntrack
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

    def mt(self, pkt: Packet, par: Par) -> bool:
        meta = pkt.meta
        if not meta.socket:
            return False
        wildcard = not self.flags & NOWILDCARD and meta.socket_wildcard
        transparent = meta.socket_transparent if self.flags & TRANSPARENT else True
        if self.flags & RESTORESKMARK and not wildcard and transparent:
            meta.mark = meta.socket_mark
        return not wildcard and transparent

    def meta_note(self) -> str:
        return "socket: answered from packet metadata (meta.socket)"

    def save(self) -> str:
        return "".join(f" --{n}" for n, bit in _FLAGS if self.flags & bit)

    def describe(self, numeric: bool) -> str:
        return " socket" + self.save()


EXTENSION = Socket
