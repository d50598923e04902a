"""-j CLASSIFY (xt_CLASSIFY): set skb->priority to a tc class.  From FORWARD, OUTPUT, POSTROUTING."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

# One sscanf %x conversion: blanks, an optional sign, an optional 0x, hex digits.
_SCANF_X = re.compile(r"\s*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)", re.ASCII)


def _scan_hex(text: str) -> tuple[int, str] | None:
    m = _SCANF_X.match(text)
    if m is None:
        return None
    value = int(m.group(2), 16)
    if value > 0xFFFFFFFF:
        value = 0xFFFFFFFF  # strtoul saturates
    if m.group(1) == "-":
        value = -value & 0xFFFFFFFF
    return value, text[m.end():]


def parse_class(text: str) -> int:
    """sscanf(text, "%x:%x") with 2 conversions; TC_H_MAKE(major << 16, minor)."""
    first = _scan_hex(text)
    if first is not None and first[1].startswith(":"):
        second = _scan_hex(first[1][1:])
        if second is not None:
            major, minor = first[0], second[0]
            return ((major << 16) & 0xFFFF0000) | (minor & 0xFFFF)
    raise ParameterProblem(f'Bad class value "{text}": expected major:minor in hex')


@dataclass(frozen=True, slots=True)
class Classify(Target):
    """struct xt_classify_target_info."""

    name: ClassVar[str] = "CLASSIFY"
    hooks: ClassVar[int] = hook_mask(Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)
    options: ClassVar[tuple[Opt, ...]] = (Opt("set-class", mandatory=True),)

    priority: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Classify:
        return cls(parse_class(opts["set-class"].value))

    def save(self) -> str:
        return f" --set-class {self.priority >> 16:04x}:{self.priority & 0xFFFF:04x}"

    def describe(self, numeric: bool) -> str:
        return f" CLASSIFY set {self.priority >> 16:x}:{self.priority & 0xFFFF:x}"


    def tg(self, pkt: Packet, par: Par) -> int:
        """classify_tg: skb->priority, for the qdisc."""
        pkt.meta.priority = self.priority
        return XT_CONTINUE

EXTENSION = Classify
