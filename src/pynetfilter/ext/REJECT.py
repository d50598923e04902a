"""-j REJECT (ipt_REJECT): drop the packet and answer with an ICMP error or a TCP RST.

Only in the filter table, from INPUT, FORWARD and OUTPUT; tcp-reset needs ``-p tcp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.verdicts import NF_DROP

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

# enum ipt_reject_with: index -> (name, alias); None where iptables has no entry.
ICMP_ECHOREPLY = 4
TCP_RESET = 7
REJECT_TYPES: tuple[tuple[str, str] | None, ...] = (
    ("icmp-net-unreachable", "net-unreach"),
    ("icmp-host-unreachable", "host-unreach"),
    ("icmp-proto-unreachable", "proto-unreach"),
    ("icmp-port-unreachable", "port-unreach"),
    None,  # echo-reply: no longer supported
    ("icmp-net-prohibited", "net-prohib"),
    ("icmp-host-prohibited", "host-prohib"),
    ("tcp-reset", "tcp-rst"),
    ("icmp-admin-prohibited", "admin-prohib"),
)
DEFAULT = 3  # icmp-port-unreachable
# reject type -> ICMP destination-unreachable code (ICMP_NET_UNREACH ... ICMP_PKT_FILTERED)
ICMP_CODES = {0: 0, 1: 1, 2: 2, 3: 3, 5: 9, 6: 10, 8: 13}


def parse_reject_type(text: str) -> int:
    """The first type whose name or alias starts with *text*, ignoring case (as iptables)."""
    low = text.lower()
    for i, names in enumerate(REJECT_TYPES):
        if names is not None and (names[0].startswith(low) or names[1].startswith(low)):
            return i
    if "echo-reply".startswith(low) or "echoreply".startswith(low):
        raise ParameterProblem("--reject-with echo-reply no longer supported")
    raise ParameterProblem(f'unknown reject type "{text}": expected e.g. icmp-port-unreachable or tcp-reset')


@dataclass(frozen=True, slots=True)
class Reject(Target):
    """struct ipt_reject_info."""

    name: ClassVar[str] = "REJECT"
    table: ClassVar[str | None] = "filter"
    hooks: ClassVar[int] = hook_mask(Hook.INPUT, Hook.FORWARD, Hook.OUTPUT)
    options: ClassVar[tuple[Opt, ...]] = (Opt("reject-with"),)

    with_: int = DEFAULT

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Reject:
        g = opts.get("reject-with")
        return cls(parse_reject_type(g.value) if g is not None else DEFAULT)

    @property
    def type_name(self) -> str:
        names = REJECT_TYPES[self.with_]
        assert names is not None
        return names[0]

    def save(self) -> str:
        return f" --reject-with {self.type_name}"

    def describe(self, numeric: bool) -> str:
        return f" reject-with {self.type_name}"

    def check(self, ctx: CheckContext) -> None:
        if self.with_ == ICMP_ECHOREPLY:
            raise KernelRefusal("REJECT target: echo-reply is no longer supported")
        if self.with_ == TCP_RESET and (ctx.ip.proto != 6 or ctx.ip.inv_proto):
            raise KernelRefusal("REJECT target: tcp-reset is only valid with -p tcp (not inverted)")

    def tg(self, pkt: Packet, par: Par) -> int:
        """reject_tg: send the reply (if the kernel would), drop the packet."""
        from pynetfilter.netfilter import reject

        if self.with_ == TCP_RESET:
            reply = reject.tcp_reset(pkt, par)
        else:
            reply = reject.icmp_unreach(pkt, ICMP_CODES[self.with_], par)
        if reply is not None:
            par.emit(reply, "REJECT")
        return NF_DROP


EXTENSION = Reject
