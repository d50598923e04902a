"""-j NFLOG (xt_NFLOG): pass the packet to a netlink logging group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.ext.LOG import parse_prefix
from pynetfilter.ext.types import parse_uint, save_string
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

PREFIX_SIZE = 64  # sizeof(xt_nflog_info.prefix)
F_COPY_LEN = 0x1  # XT_NFLOG_F_COPY_LEN: --nflog-size was given


@dataclass(frozen=True, slots=True)
class Nflog(Target):
    """struct xt_nflog_info."""

    name: ClassVar[str] = "NFLOG"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("nflog-group"),
        Opt("nflog-prefix"),
        Opt("nflog-range", excl=("nflog-size",)),
        Opt("nflog-size", excl=("nflog-range",)),
        Opt("nflog-threshold"),
    )

    length: int = 0
    group: int = 0
    threshold: int = 0
    flags: int = 0
    prefix: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Nflog:
        length = group = threshold = flags = 0
        prefix = ""
        for g in opts.items:
            n = g.opt.name
            if n == "nflog-group":
                group = parse_uint(g.value, 0, 0xFFFF, "a netlink group number", ext="NFLOG", opt=n)
            elif n == "nflog-prefix":
                prefix = parse_prefix(g.value, PREFIX_SIZE, n)
            elif n == "nflog-range":
                length = parse_uint(g.value, 0, 0xFFFFFFFF, "a length", ext="NFLOG", opt=n)
            elif n == "nflog-size":
                length = parse_uint(g.value, 0, 0xFFFFFFFF, "a length", ext="NFLOG", opt=n)
                flags |= F_COPY_LEN
            elif n == "nflog-threshold":
                threshold = parse_uint(g.value, 0, 0xFFFF, "a threshold", ext="NFLOG", opt=n)
        return cls(length, group, threshold, flags, prefix)

    def _text(self, dash: str) -> str:
        out = ""
        if self.prefix:
            out += f" {dash}nflog-prefix" + save_string(self.prefix)
        if self.group:
            out += f" {dash}nflog-group {self.group}"
        if self.flags & F_COPY_LEN:
            out += f" {dash}nflog-size {self.length}"
        elif self.length:
            out += f" {dash}nflog-range {self.length}"
        if self.threshold:
            out += f" {dash}nflog-threshold {self.threshold}"
        return out

    def save(self) -> str:
        return self._text("--")

    def describe(self, numeric: bool) -> str:
        return self._text("")


    def tg(self, pkt: Packet, par: Par) -> int:
        """nflog_tg: hand a copy to nfnetlink_log group ``group``; the packet goes on."""
        size = f" size {self.length}" if self.flags & F_COPY_LEN or self.length else ""
        par.log(f"group {self.group} prefix {self.prefix!r}{size}", kind="nflog")
        return XT_CONTINUE

EXTENSION = Nflog
