"""-j NFQUEUE (xt_NFQUEUE revision 3): hand the packet to a userspace queue or a range of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint, strtoul
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_QUEUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

F_BYPASS, F_CPU_FANOUT = 0x1, 0x2


def parse_balance(text: str) -> tuple[int, int]:
    """XTTYPE_UINT16RC ``first:last``: empty parts default to 0 and 65535; first < last."""
    parts: list[int] = []
    rest, lo = text, 0
    while True:
        if len(parts) == 2:
            raise ParameterProblem(f'NFQUEUE: Too many components for option "--queue-balance" (max: 2): '
                                   f'"{text}", expected first:last')
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
                num = parse_uint(g.value, 0, 0xFFFF, "a queue number", ext="NFQUEUE", opt=g.opt.name)
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


    def tg(self, pkt: Packet, par: Par) -> int:
        """nfqueue_tg_v3: pick the queue; nobody listens here, so the packet is dropped (nf_queue's
        -ESRCH) unless --queue-bypass lets it continue with the next hook function."""
        queue = self.queuenum
        if self.queues_total > 1:
            if self.flags & F_CPU_FANOUT:
                queue += pkt.meta.cpu % self.queues_total
            else:  # nfqueue_hash: jhash of the addresses with a boot-time random seed
                pick = getattr(par.choices, "nfqueue", None)
                queue += int(pick(pkt, self.queues_total)) if pick else par.rng.randrange(self.queues_total)
        pkt.meta.nfqueue = queue
        if self.flags & F_BYPASS:
            par.log(f"queue {queue}: no listener, bypassed", kind="queue")
            return NF_ACCEPT
        par.log(f"queue {queue}: no listener, dropped", kind="queue")
        return NF_QUEUE

EXTENSION = Nfqueue
