"""-j LOG (xt_LOG): log the packet to the kernel log at a syslog level, with a prefix and flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import save_string, try_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

DEFAULT_LEVEL = 4  # LOG_WARNING
PREFIX_MAX = 29  # sizeof(xt_log_info.prefix) - 1: longer prefixes are cut, silently

# XTTYPE_SYSLOGLEVEL names (exact, case-sensitive).
LEVEL_NAMES = {
    "alert": 1, "crit": 2, "debug": 7, "emerg": 0, "error": 3, "info": 6, "notice": 5,
    "panic": 0, "warning": 4,
}
# glibc prioritynames: the first name of each level, as -L prints it.
LEVEL_PRINT = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")

# (option, bit, -L word), in save/print order.
FLAGS = (
    ("log-tcp-sequence", 0x01, "tcp-sequence"),
    ("log-tcp-options", 0x02, "tcp-options"),
    ("log-ip-options", 0x04, "ip-options"),
    ("log-uid", 0x08, "uid"),
    ("log-macdecode", 0x20, "macdecode"),
)


def parse_level(text: str) -> int:
    """XTTYPE_SYSLOGLEVEL: a number 0-7 or a syslog level name."""
    v = try_uint(text, 0, 7)
    if v is None:
        v = LEVEL_NAMES.get(text)
    if v is None:
        raise ParameterProblem(f'log level "{text}" unknown: expected 0-7 or emerg, alert, crit, error, '
                               "warning, notice, info, debug")
    return v


def parse_prefix(text: str, size: int, opt: str) -> str:
    """XTTYPE_STRING with min 1, put into a char[size] (cut to size - 1)."""
    if text == "":
        raise ParameterProblem(f"Argument must have a minimum length of 1 characters: --{opt} \"\"")
    if "\n" in text:
        raise ParameterProblem(f'bad value for --{opt}: newlines are not allowed')
    raw = text.encode("utf-8", "surrogateescape")[: size - 1]
    return raw.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Log(Target):
    """struct xt_log_info."""

    name: ClassVar[str] = "LOG"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("log-level"),
        Opt("log-prefix"),
        *(Opt(o, nargs=0) for o, _, _ in FLAGS),
    )

    level: int = DEFAULT_LEVEL
    logflags: int = 0
    prefix: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Log:
        level, flags, prefix = DEFAULT_LEVEL, 0, ""
        bits = {o: b for o, b, _ in FLAGS}
        for g in opts.items:
            n = g.opt.name
            if n == "log-level":
                level = parse_level(g.value)
            elif n == "log-prefix":
                prefix = parse_prefix(g.value, PREFIX_MAX + 1, n)
            else:
                flags |= bits[n]
        return cls(level, flags, prefix)

    def save(self) -> str:
        out = ""
        if self.prefix:
            out += " --log-prefix" + save_string(self.prefix)
        if self.level != DEFAULT_LEVEL:
            out += f" --log-level {self.level}"
        for o, bit, _ in FLAGS:
            if self.logflags & bit:
                out += f" --{o}"
        return out

    def describe(self, numeric: bool) -> str:
        if numeric:
            out = f" LOG flags {self.logflags} level {self.level}"
        else:
            out = f" LOG level {LEVEL_PRINT[self.level]}"
            for _, bit, word in FLAGS:
                if self.logflags & bit:
                    out += f" {word}"
        if self.prefix:
            out += f' prefix "{self.prefix}"'
        return out

    def check(self, ctx: CheckContext) -> None:
        if self.level > 7:
            raise KernelRefusal(f"LOG target: level {self.level} out of range 0-7")


    def tg(self, pkt: Packet, par: Par) -> int:
        """log_tg: one kernel log line; the packet goes on."""
        from pynetfilter.netfilter.log import format_line

        par.log(format_line(pkt, self.prefix, self.logflags, par.in_dev, par.out_dev))
        return XT_CONTINUE

EXTENSION = Log
