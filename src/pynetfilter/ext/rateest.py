"""-m rateest (xt_rateest): compare a rate estimator's bytes/packets per second with a
given rate (absolute mode, ``--rateest``) or with a second estimator (``--rateest1``,
``--rateest2``), optionally as the difference to given rates (``--rateest-delta``).

The estimators are made by -j RATEEST rules: the kernel refuses a rule naming an
estimator no loaded RATEEST rule makes.  The rates read are those of the engine's
estimators (pynetfilter.netfilter.rateest); one no packet has reached yet reads 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

F_INVERT, F_ABS, F_REL, F_DELTA, F_BPS, F_PPS = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
EQ, LT, GT = 1, 2, 3
_MODES = {"rateest-eq": EQ, "rateest-lt": LT, "rateest-gt": GT}
_MODE_NAMES = {EQ: "eq", LT: "lt", GT: "gt"}
NAME_SIZE = 16  # IFNAMSIZ
# iproute's rate suffixes (compared without case, first hit wins), bits per unit.
_SUFFIXES = (("bit", 1.0), ("Kibit", 1024.0), ("kbit", 1e3), ("Mibit", 1024.0**2), ("mbit", 1e6),
             ("Gibit", 1024.0**3), ("gbit", 1e9), ("Tibit", 1024.0**4), ("tbit", 1e12), ("Bps", 8.0),
             ("KiBps", 8.0 * 1024), ("KBps", 8e3), ("MiBps", 8.0 * 1024**2), ("MBps", 8e6),
             ("GiBps", 8.0 * 1024**3), ("GBps", 8e9), ("TiBps", 8.0 * 1024**4), ("TBps", 8e12))
_FLOAT = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.I | re.ASCII)


def _to_u32(v: float) -> int:
    """(uint32_t) of a double as x86-64 converts it (through a 64-bit integer)."""
    if math.isnan(v) or math.isinf(v) or abs(v) >= 2**63:
        return 0
    return int(v) & 0xFFFFFFFF


def parse_rate(text: str) -> int:
    """rateest_get_rate: bytes per second; a bare number is bits per second."""
    m = _FLOAT.match(text)
    if m is not None:
        bps, rest = float(m.group(0)), text[m.end():]
        if rest == "":
            return _to_u32(bps / 8.0)
        for name, scale in _SUFFIXES:
            if name.lower() == rest.lower():
                return _to_u32(bps * scale / 8.0)
    raise ParameterProblem(f"rateest: could not parse rate `{text}': expected a number and a unit like kbit")


def fmt_rate(rate: int, numeric: bool) -> str:
    """rateest_print_rate."""
    if numeric:
        return f" {rate}"
    bits = rate * 8.0
    if bits >= 1e9:
        return f" {bits / 1e6:.0f}Mbit"
    if bits >= 1e6:
        return f" {bits / 1e3:.0f}Kbit"
    return f" {bits:.0f}bit"


@dataclass(frozen=True, slots=True)
class Rateest(Match):
    """struct xt_rateest_match_info."""

    name: ClassVar[str] = "rateest"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("rateest1", aliases=("rateest",)), Opt("rateest2"),
        Opt("rateest-bps1", optional_arg=True), Opt("rateest-pps1", optional_arg=True),
        Opt("rateest-bps2", optional_arg=True, aliases=("rateest-bps",)),
        Opt("rateest-pps2", optional_arg=True, aliases=("rateest-pps",)),
        Opt("rateest-delta", nargs=0),
        Opt("rateest-lt", nargs=0, invert=True), Opt("rateest-gt", nargs=0, invert=True),
        Opt("rateest-eq", nargs=0, invert=True),
    )

    name1: str = ""
    name2: str = ""
    flags: int = 0
    mode: int = 0
    bps1: int = 0
    pps1: int = 0
    bps2: int = 0
    pps2: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Rateest:
        v: dict[str, int] = {"bps1": 0, "pps1": 0, "bps2": 0, "pps2": 0}
        name1 = name2 = ""
        flags = mode = 0
        for g in opts.items:
            n = g.opt.name
            if n == "rateest1":
                name1 = g.value[:NAME_SIZE - 1]
            elif n == "rateest2":
                name2, flags = g.value[:NAME_SIZE - 1], flags | F_REL
            elif n == "rateest-delta":
                flags |= F_DELTA
            elif n in _MODES:
                mode = _MODES[n]
                flags |= F_INVERT if g.inverted else 0
            else:
                key = n.removeprefix("rateest-")
                flags |= F_BPS if key.startswith("bps") else F_PPS
                if g.args:
                    if key.startswith("bps"):
                        v[key] = parse_rate(g.value)
                    else:
                        try:
                            v[key] = parse_uint(g.value, 0, 2**32 - 1, "pps")
                        except ParameterProblem:
                            raise ParameterProblem(f"rateest: could not parse pps `{g.value}'") from None
        if not flags & F_REL:
            flags |= F_ABS
        return cls(name1, name2, flags, mode, v["bps1"], v["pps1"], v["bps2"], v["pps2"])

    def _mode(self, prefix: str) -> str:
        return (" !" if self.flags & F_INVERT else "") + f" {prefix}{_MODE_NAMES.get(self.mode, '')}"

    def _save_rate(self, unit: str, r1: int, r2: int, numeric: bool) -> str:
        def rate(r: int) -> str:
            return fmt_rate(r, numeric) if unit == "bps" else f" {r}"

        if self.flags & F_DELTA:
            out = f" --rateest-{unit}1{rate(r1)}{self._mode('--rateest-')} --rateest-{unit}2"
        else:
            out = f"{self._mode('--rateest-')} --rateest-{unit}"
        if self.flags & (F_ABS | F_DELTA):
            out += rate(r2)
        return out

    def save(self) -> str:
        out = " --rateest-delta" if self.flags & F_DELTA else ""
        out += f" --rateest1 {self.name1}" if self.flags & F_REL else f" --rateest {self.name1}"
        if self.flags & F_BPS:
            out += self._save_rate("bps", self.bps1, self.bps2, False)
        if self.flags & F_PPS:
            out += self._save_rate("pps", self.pps1, self.pps2, True)
        if self.flags & F_REL:
            out += f" --rateest2 {self.name2}"
        return out

    def exact_save(self) -> str | None:
        # With both bps and pps the mode prints before each, and a second mode is refused.
        out, mode = self.save(), self._mode("--rateest-")
        if out.count(mode) < 2:
            return None
        head, sep, tail = out.partition(mode)
        return head + sep + tail.replace(mode, "")

    def describe(self, numeric: bool) -> str:
        f = self.flags
        out = f" rateest match {self.name1}" + (" delta" if f & F_DELTA else "")
        if f & F_BPS:
            out += " bps" + (fmt_rate(self.bps1, numeric) if f & F_DELTA else "")
            if f & F_ABS:
                out += fmt_rate(self.bps2, numeric) + self._mode("")
        if f & F_PPS:
            out += " pps" + (f" {self.pps1}" if f & F_DELTA else "")
            if f & F_ABS:
                out += self._mode("") + f" {self.pps2}"
        if f & F_REL:
            out += self._mode("") + f" {self.name2}"
            if f & F_BPS:
                out += " bps" + (fmt_rate(self.bps2, numeric) if f & F_DELTA else "")
            if f & F_PPS:
                out += " pps" + (f" {self.pps2}" if f & F_DELTA else "")
        return out

    def check(self, ctx: CheckContext) -> None:
        """xt_rateest_mt_checkentry."""
        if not self.flags & (F_BPS | F_PPS):
            raise KernelRefusal("rateest match: neither bps nor pps to compare")
        if self.mode not in _MODE_NAMES:
            raise KernelRefusal("rateest match: no --rateest-lt, --rateest-gt or --rateest-eq")
        for n in (self.name1, self.name2) if self.flags & F_REL else (self.name1,):
            if n not in ctx.estimators:
                raise KernelRefusal(f'rateest match: no rate estimator "{n}", made by -j RATEEST (ENOENT)')

    def mt(self, pkt: Packet, par: Par) -> bool:
        """xt_rateest_mt."""
        f = self.flags
        bps1, pps1 = self._rate(self.name1, par)
        if f & F_DELTA:
            bps1, pps1 = max(self.bps1 - bps1, 0), max(self.pps1 - pps1, 0)
        if f & F_ABS:
            bps2, pps2 = self.bps2, self.pps2
        else:
            bps2, pps2 = self._rate(self.name2, par)
            if f & F_DELTA:
                bps2, pps2 = max(self.bps2 - bps2, 0), max(self.pps2 - pps2, 0)
        ret = True
        for bit, a, b in ((F_BPS, bps1 & 0xFFFFFFFF, bps2), (F_PPS, pps1 & 0xFFFFFFFF, pps2)):
            if f & bit:
                ret &= a < b if self.mode == LT else a > b if self.mode == GT else a == b
        return ret != bool(f & F_INVERT)

    @staticmethod
    def _rate(name: str, par: Par) -> tuple[int, int]:
        est = par.engine.rateest.get(name)
        return est.rate(par.now) if est is not None else (0, 0)


EXTENSION = Rateest
