"""-m cpu (xt_cpu): the number of the CPU processing the packet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet



@dataclass(frozen=True, slots=True)
class Cpu(Match):
    """struct xt_cpu_info."""

    name: ClassVar[str] = "cpu"
    options: ClassVar[tuple[Opt, ...]] = (Opt("cpu", invert=True, mandatory=True),)

    cpu: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Cpu:
        g = opts["cpu"]
        return cls(parse_uint(g.value, 0, 2**32 - 1, "a CPU number", ext="cpu", opt="cpu"), g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --cpu {self.cpu}"

    def describe(self, numeric: bool) -> str:
        return f" cpu {'! ' if self.invert else ''}{self.cpu}"


    def mt(self, pkt: Packet, par: Par) -> bool:
        """cpu_mt: the CPU that handles the packet is packet metadata (``meta.cpu``), as a
        capture or the caller says; pynetfilter runs no CPUs of its own."""
        return (pkt.meta.cpu == self.cpu) != self.invert


EXTENSION = Cpu
