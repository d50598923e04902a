"""-m rpfilter (xt_rpfilter): reverse-path filter; raw and mangle PREROUTING only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.pkttype import PACKET_LOOPBACK, PACKET_TYPES
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


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


    def mt(self, pkt: Packet, par: Par) -> bool:
        """rpfilter_mt: would the reply to the source leave through the interface the packet came in?

        The host's fib answers (no ip rules, so --validmark's mark selects nothing); a source
        reached through a local route counts only with --accept-local; --loose accepts any
        interface.  Loopback traffic and DHCP-style zero sources always pass.
        """
        invert = bool(self.flags & 0x08)
        host = par.engine.host
        dev = host.interfaces.get(par.in_dev) if par.in_dev else None
        if PACKET_TYPES.get(pkt.meta.pkt_type) == PACKET_LOOPBACK or (dev is not None and dev.loopback):
            return not invert
        s, d = pkt.saddr, pkt.daddr
        if s >> 24 == 0 and (d == 0xFFFFFFFF or d >> 8 == 0xE00000):  # zeronet to lbcast/224.0.0.0/24
            return not invert
        res = host.fib_lookup(s, pkt.tos)
        if isinstance(res, str):  # no route, or a route type that is an error (blackhole...)
            return invert
        if res.type != "unicast" and (res.type != "local" or not self.flags & 0x04):
            return invert
        ok = res.dev == par.in_dev or bool(self.flags & 0x01)
        return ok != invert


EXTENSION = Rpfilter
