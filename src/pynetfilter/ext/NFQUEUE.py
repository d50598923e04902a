"""-j NFQUEUE (xt_NFQUEUE revision 3): hand the packet to a userspace queue or a range of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint, strtoul

F_BYPASS, F_CPU_FANOUT = 0x1, 0x2


def parse_balance(text: str) -> tuple[int, int]:
    """XTTYPE_UINT16RC ``first:last``: empty parts default to 0 and 65535; first < last."""
    parts: list[int] = []
    rest, lo = text, 0
    while True:
        if len(parts) == 2:
            raise ParameterProblem(f'bad value "{text}" for --queue-balance: expected first:last')
        if rest == "" or rest.startswith(":"):
            value = 0xFFFF if len(parts) == 1 else lo
            tail = rest
        else:
            r = strtoul(rest)
            if r is None or not lo <= r[0] <= 0xFFFF or (r[1] and not r[1].startswith(":")):
                raise ParameterProblem(f'bad value "{text}" for --queue-balance: expected first:last 0-65535')
            value, tail = r
            lo = value
        parts.append(value)
        if tail == "":
            break
        rest = tail[1:]
    if len(parts) != 2:
        raise ParameterProblem(f'bad range "{text}" for --queue-balance: expected first:last')
    if parts[0] >= parts[1]:
        raise ParameterProblem(f"bad range \"{text}\": {parts[0]} should be less than {parts[1]}")
    return parts[0], parts[1]


@dataclass(frozen=True, slots=True)
class Nfqueue(Target):
    """struct xt_NFQ_info_v3."""

    name: ClassVar[str] = "NFQUEUE"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("queue-num", excl=("queue-balance",)),
        Opt("queue-balance", excl=("queue-num",)),
        Opt("queue-bypass", nargs=0),
        Opt("queue-cpu-fanout", nargs=0),
    )

    queuenum: int = 0
    queues_total: int = 1
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Nfqueue:
        num, total, flags = 0, 1, 0
        for g in opts.items:
            n = g.opt.name
            if n == "queue-num":
                num = parse_uint(g.value, 0, 0xFFFF, "a queue number")
            elif n == "queue-balance":
                first, last = parse_balance(g.value)
                num, total = first, (last - first + 1) & 0xFFFF
            elif n == "queue-bypass":
                flags |= F_BYPASS
            elif n == "queue-cpu-fanout":
                flags |= F_CPU_FANOUT
        if "queue-cpu-fanout" in opts and "queue-balance" not in opts:
            raise ParameterProblem('NFQUEUE: option "--queue-cpu-fanout" also requires "--queue-balance"')
        return cls(num, total, flags)

    def _queues(self, dash: str) -> str:
        if self.queues_total > 1:
            last = self.queuenum + self.queues_total - 1
            return f" {dash}{'queue-balance' if dash else 'balance'} {self.queuenum}:{last}"
        return f" {dash}{'queue-num' if dash else 'num'} {self.queuenum}"

    def save(self) -> str:
        out = self._queues("--")
        if self.flags & F_BYPASS:
            out += " --queue-bypass"
        if self.flags & F_CPU_FANOUT:
            out += " --queue-cpu-fanout"
        return out

    def describe(self, numeric: bool) -> str:
        out = " NFQUEUE" + self._queues("")
        if self.flags & F_BYPASS:
            out += " bypass"
        if self.flags & F_CPU_FANOUT:
            out += " cpu-fanout"
        return out

    def check(self, ctx: CheckContext) -> None:
        if self.queues_total == 0:
            raise KernelRefusal("NFQUEUE target: queues_total 0 (range of 65536 queues)")
        if self.queuenum + self.queues_total - 1 > 0xFFFF:
            raise KernelRefusal("NFQUEUE target: queue range exceeds 65535 (ERANGE)")


EXTENSION = Nfqueue
