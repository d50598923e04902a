"""-m recent (xt_recent, revision 1): named lists of recently seen addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.hashlimit import inet_aton
from pynetfilter.ext.types import fmt_ipv4, parse_uint

SET, CHECK, UPDATE, REMOVE, TTL, REAP = 1, 2, 4, 8, 16, 32
SOURCE, DEST = 0, 1
NAME_LEN = 200  # XT_RECENT_NAME_LEN
MAX_NSTAMPS = 65536  # XT_RECENT_MAX_NSTAMPS
_OPS = {"set": SET, "rcheck": CHECK, "update": UPDATE, "remove": REMOVE}
_ANY_OP = tuple(_OPS)


def _d(v: int) -> int:
    """printf %d of a u32."""
    return v - 2**32 if v >= 2**31 else v


@dataclass(frozen=True, slots=True)
class Recent(Match):
    """struct xt_recent_mtinfo_v1."""

    name: ClassVar[str] = "recent"
    options: ClassVar[tuple[Opt, ...]] = (
        *(Opt(op, nargs=0, invert=True, excl=_ANY_OP) for op in _ANY_OP),
        Opt("seconds"),
        Opt("reap", nargs=0),
        Opt("hitcount"),
        Opt("rttl", nargs=0, excl=("set", "remove")),
        Opt("name"),
        Opt("rsource", nargs=0),
        Opt("rdest", nargs=0),
        Opt("mask"),
    )

    seconds: int = 0
    hit_count: int = 0
    check_set: int = 0
    invert: bool = False
    list_name: str = "DEFAULT"
    side: int = SOURCE
    mask: int = 0xFFFFFFFF

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Recent:
        seconds = hits = check_set = 0
        invert = False
        name, side, mask = "DEFAULT", SOURCE, 0xFFFFFFFF
        for g in opts.items:
            n = g.opt.name
            if n in _OPS:
                check_set |= _OPS[n]
                invert = invert or g.inverted
            elif n == "seconds":
                seconds = parse_uint(g.value, 1, 2**32 - 1, "seconds")
            elif n == "hitcount":
                hits = parse_uint(g.value, 0, 2**32 - 1, "a hit count")
            elif n == "rttl":
                check_set |= TTL
            elif n == "reap":
                check_set |= REAP
            elif n == "name":
                name = g.value[: NAME_LEN - 1]
            elif n == "rsource":
                side = SOURCE
            elif n == "rdest":
                side = DEST
            elif n == "mask":
                m = inet_aton(g.value)
                if m is None:
                    raise ParameterProblem(f'bad value "{g.value}" for --mask: expected an IPv4 netmask')
                mask = m
        if "reap" in opts and "seconds" not in opts:
            raise ParameterProblem('recent: option "--reap" also requires "--seconds"')
        if not check_set & (SET | CHECK | UPDATE | REMOVE):
            raise ParameterProblem("recent: you must specify one of --set, --rcheck, --update or --remove")
        return cls(seconds, hits, check_set, invert, name, side, mask)

    def check(self, ctx: CheckContext) -> None:
        modifiers = self.seconds or self.hit_count or self.check_set & (TTL | REAP)
        if self.check_set & (SET | REMOVE) and modifiers:
            raise KernelRefusal("recent: --set/--remove take no --seconds/--hitcount/--rttl/--reap (EINVAL)")
        if self.hit_count >= MAX_NSTAMPS:
            raise KernelRefusal(f"recent: hitcount {self.hit_count} above {MAX_NSTAMPS - 1} (EINVAL)")
        n = self.list_name
        if not n or n in (".", "..") or "/" in n:
            raise KernelRefusal(f'recent: invalid list name "{n}" (EINVAL)')

    def _ops(self, pre: str, words: tuple[str, ...]) -> str:
        out = ""
        for bit, word in zip((SET, CHECK, UPDATE, REMOVE), words, strict=True):
            if self.check_set & bit:
                out += f" {pre}{word}"
        return out

    def save(self) -> str:
        out = " !" if self.invert else ""
        out += self._ops("--", ("set", "rcheck", "update", "remove"))
        if self.seconds:
            out += f" --seconds {_d(self.seconds)}"
        if self.check_set & REAP:
            out += " --reap"
        if self.hit_count:
            out += f" --hitcount {_d(self.hit_count)}"
        if self.check_set & TTL:
            out += " --rttl"
        out += f" --name {self.list_name} --mask {fmt_ipv4(self.mask)}"
        return out + (" --rsource" if self.side == SOURCE else " --rdest")

    def describe(self, numeric: bool) -> str:
        out = (" !" if self.invert else "") + " recent:"
        out += self._ops("", ("SET", "CHECK", "UPDATE", "REMOVE"))
        if self.seconds:
            out += f" seconds: {_d(self.seconds)}"
        if self.check_set & REAP:
            out += " reap"
        if self.hit_count:
            out += f" hit_count: {_d(self.hit_count)}"
        if self.check_set & TTL:
            out += " TTL-Match"
        out += f" name: {self.list_name}"
        out += " side: source" if self.side == SOURCE else " side: dest"
        return out + f" mask: {fmt_ipv4(self.mask)}"


EXTENSION = Recent
