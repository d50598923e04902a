"""-m limit (xt_limit): a token bucket; the rate is stored as the mean gap between
packets in 1/10000 s (XT_LIMIT_SCALE), printed back in the largest exact-enough unit.

Evaluation keeps the kernel's integer arithmetic: time is counted in jiffies
(HZ=250, the engine clock's seconds times HZ, rounded down), the bucket in
credits (CREDITS_PER_JIFFY per jiffy, a u32), one packet costs
user2credits(avg) and the bucket holds at most user2credits(avg * burst).
The bucket is per rule (the kernel's ``master`` copy), so two rules with the
same options have separate buckets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SCALE = 10000  # XT_LIMIT_SCALE
HZ = 250  # CONFIG_HZ of the kernel the corpus was recorded on
CREDITS_PER_JIFFY = 128  # POW2_BELOW32(0xFFFFFFFF // (HZ * 86400)) for HZ=250
DEFAULT_AVG = SCALE * 3600 // 3  # 3/hour
DEFAULT_BURST = 5
_UNITS = (("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400))
# print_rate's table: largest unit first.
RATES = (("day", SCALE * 86400), ("hour", SCALE * 3600), ("min", SCALE * 60), ("sec", SCALE))


def atoi(text: str) -> int:
    """C atoi: optional blanks and sign, then decimal digits (0 if none)."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    n = 0
    for c in s:
        if not c.isdigit() or not c.isascii():
            break
        n = n * 10 + int(c)
    return sign * n


def parse_unit(word: str, units: tuple[tuple[str, int], ...] = _UNITS) -> int | None:
    """The multiplier of a unit given as any non-empty prefix (strncasecmp) of its name."""
    if not word:
        return None
    for name, mult in units:
        if name.startswith(word.lower()):
            return mult
    return None


def parse_rate(text: str, scale: int = SCALE) -> int:
    """libxt_limit parse_rate: ``N[/second|minute|hour|day]`` -> scale*mult/N."""
    num, slash, unit = text.partition("/")
    mult = 1
    if slash:
        m = parse_unit(unit)
        if m is None:
            raise ParameterProblem(f'bad rate "{text}": expected N/sec, N/min, N/hour or N/day')
        mult = m
    r = atoi(num) & 0xFFFFFFFF
    if r == 0:
        raise ParameterProblem(f'bad rate "{text}": expected a positive number per unit')
    val = scale * mult // r
    if val == 0:
        raise ParameterProblem(f'Rate too fast "{text}": expected at most {scale}/sec')
    return val


def fmt_rate(period: int) -> str:
    """print_rate: the first unit in which the rate is no longer well represented, minus one."""
    i = 1
    while i < len(RATES):
        mult = RATES[i][1]
        if period > mult or mult // period < mult % period:
            break
        i += 1
    name, mult = RATES[i - 1]
    return f"{mult // period}/{name}"


def jiffies(now: float) -> int:
    """The kernel's tick counter at engine time *now* (seconds): whole ticks of 1/HZ s."""
    return math.floor(now * HZ)


def user2credits(user: int) -> int:
    user &= 0xFFFFFFFF
    if user > 0xFFFFFFFF // (HZ * CREDITS_PER_JIFFY):
        return ((user // SCALE) * HZ * CREDITS_PER_JIFFY) & 0xFFFFFFFF
    return (user * HZ * CREDITS_PER_JIFFY) // SCALE


@dataclass(frozen=True, slots=True)
class Limit(Match):
    """struct xt_rateinfo (avg, burst)."""

    name: ClassVar[str] = "limit"
    options: ClassVar[tuple[Opt, ...]] = (Opt("limit"), Opt("limit-burst"))

    avg: int = DEFAULT_AVG
    burst: int = DEFAULT_BURST

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Limit:
        avg, burst = DEFAULT_AVG, DEFAULT_BURST
        if "limit" in opts:
            avg = parse_rate(opts["limit"].value)
        if "limit-burst" in opts:
            burst = parse_uint(opts["limit-burst"].value, 0, 10000, "a burst", ext="limit", opt="limit-burst")
        return cls(avg, burst)

    def check(self, ctx: CheckContext) -> None:
        if self.burst == 0 or user2credits(self.avg * self.burst) < user2credits(self.avg):
            raise KernelRefusal(f"limit: overflow, try lower: {self.avg}/{self.burst} (ERANGE)")

    def mt(self, pkt: Packet, par: Par) -> bool:
        st = par.rule_state(self)
        now = jiffies(par.now)
        cap = user2credits(self.avg * self.burst)
        if "credit" not in st:
            # checkentry fills the bucket; prev is the load time, which cannot matter: full is the cap.
            st["credit"], st["prev"] = cap, now
        # credit is a u32: a very long idle time wraps before the cap applies, as in the kernel.
        credit = (st["credit"] + (now - st["prev"]) * CREDITS_PER_JIFFY) & 0xFFFFFFFF
        st["prev"] = now
        credit = min(credit, cap)
        cost = user2credits(self.avg)
        ok = credit >= cost
        st["credit"] = credit - cost if ok else credit
        return ok

    def save(self) -> str:
        out = f" --limit {fmt_rate(self.avg)}"
        if self.burst != DEFAULT_BURST:
            out += f" --limit-burst {self.burst}"
        return out

    def describe(self, numeric: bool) -> str:
        return f" limit: avg {fmt_rate(self.avg)} burst {self.burst}"


EXTENSION = Limit
