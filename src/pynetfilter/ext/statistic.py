"""-m statistic (xt_statistic): match a random fraction, or every nth packet.

random: the kernel draws ``get_random_u32() & 0x7FFFFFFF`` and matches when it
is below the stored probability (a fraction of 2^31).  Here the draw is
``par.rng.random()`` scaled to 31 bits, unless ``par.choices`` is set: a trace
or replay then decides (``netfilter.par.decide``), so it can follow
each branch or reproduce what the kernel chose.  nth: a per-rule counter that
starts at every-1-packet (iptables' final check) and matches when it wraps
to 0."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint
from pynetfilter.netfilter.par import decide

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MODE_RANDOM, MODE_NTH = 0, 1
_STRTOD = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    r"(?:[pP][+-]?\d+)?|inf(?:inity)?|nan)",
    re.IGNORECASE | re.ASCII,
)


def parse_double(text: str, lo: float, hi: float, what: str) -> float:
    """XTTYPE_DOUBLE: the whole string is a strtod number in [lo, hi]."""
    m = _STRTOD.fullmatch(text)
    if m is None:
        raise ParameterProblem(f'statistic: bad value for option "--probability", or out of range '
                               f'({lo:g}-{hi:g}): "{text}" is not {what}')
    body = text.strip()
    v = float.fromhex(body) if "x" in body.lower() and "n" not in body.lower() else float(body)
    if not lo <= v <= hi:
        raise ParameterProblem(f'statistic: bad value for option "--probability", or out of range '
                               f'({lo:g}-{hi:g}): "{text}" is not {what}')
    return v


@dataclass(frozen=True, slots=True)
class Statistic(Match):
    """struct xt_statistic_info: mode, invert flag, probability (of 2^31) or every/packet."""

    name: ClassVar[str] = "statistic"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("mode", mandatory=True),
        Opt("probability", invert=True),
        Opt("every", invert=True),
        Opt("packet"),
    )

    mode: int = MODE_RANDOM
    invert: bool = False
    probability: int = 0
    every: int = 0  # stored minus one
    packet: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Statistic:
        word = opts["mode"].value
        if word not in ("random", "nth"):
            raise ParameterProblem(f'Bad mode "{word}": expected random or nth')
        mode = MODE_RANDOM if word == "random" else MODE_NTH
        invert = any(g.inverted for g in opts.items)
        prob = every = packet = 0
        if "probability" in opts:
            p = parse_double(opts["probability"].value, 0.0, 1.0, "a probability")
            prob = int(p * 0x80000000 + 0.5)
        if "every" in opts:
            every = parse_uint(opts["every"].value, 1, 2**32 - 1, "a packet count", ext="statistic",
                               opt="every") - 1
        if "packet" in opts:
            packet = parse_uint(opts["packet"].value, 0, 2**32 - 1, "a packet number", ext="statistic",
                                opt="packet")
        # statistic_check (the mode, then --packet), before the option table's "also requires"
        if mode == MODE_RANDOM and ("probability" not in opts or "every" in opts or "packet" in opts):
            raise ParameterProblem("--probability must be specified when using random mode "
                                   "(and no --every/--packet)")
        if mode == MODE_NTH and ("every" not in opts or "probability" in opts):
            raise ParameterProblem("--every and --packet must be specified when using nth mode "
                                   "(and no --probability)")
        if packet > every:
            raise ParameterProblem(f'the --packet p must be 0 <= p <= n-1: "{packet}"')
        if "every" in opts and "packet" not in opts:
            raise ParameterProblem('statistic: option "--every" also requires "--packet".')
        return cls(mode, invert, prob, every, packet)

    def mt(self, pkt: Packet, par: Par) -> bool:
        if self.mode == MODE_RANDOM:
            # (get_random_u32() & 0x7FFFFFFF) < probability, or a trace's / replay's choice.
            return decide(par, "statistic", self.probability) != self.invert
        st = par.rule_state(self)
        count = st.get("count", self.every - self.packet)
        count = 0 if count == self.every else count + 1
        st["count"] = count
        return (count == 0) != self.invert

    def _text(self, prefix: str) -> str:
        bang = "! " if self.invert else ""
        if self.mode == MODE_RANDOM:
            return f" {prefix}mode random {bang}{prefix}probability {self.probability / 0x80000000:.11f}"
        out = f" {prefix}mode nth {bang}{prefix}every {self.every + 1}"
        if self.packet or prefix:
            out += f" {prefix}packet {self.packet}"
        return out

    def save(self) -> str:
        return self._text("--")

    def describe(self, numeric: bool) -> str:
        return " statistic" + self._text("")


EXTENSION = Statistic
