"""-j RATEEST (xt_RATEEST): count packets into a named rate estimator that ``-m rateest`` reads.

iptables turns ``--rateest-interval`` and ``--rateest-ewmalog`` (times: ``250ms``, ``1s``,
``500us``, plain microseconds) into the kernel's interval code (-2..3, i.e. 250ms..8s) and
averaging log, and prints them back as times.  The estimator lives in the engine
(pynetfilter.netfilter.rateest), shared by every rule naming it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

USEC = 1_000_000
NAME_SIZE = 16
_UNITS = {"s": USEC, "sec": USEC, "secs": USEC, "ms": 1000, "msec": 1000, "msecs": 1000,
          "us": 1, "usec": 1, "usecs": 1}
_FLOAT = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.I | re.ASCII)


def get_time(text: str) -> int | None:
    """RATEEST_get_time: strtod, an optional unit, then the C conversion to unsigned int."""
    m = _FLOAT.match(text)
    if m is None:
        return None
    t = float(m.group(0))
    rest = text[m.end():]
    if rest:
        unit = _UNITS.get(rest.lower())
        if unit is None:
            return None
        t *= unit
    if math.isnan(t) or math.isinf(t) or abs(t) >= 2**63:
        return 0
    return int(t) & 0xFFFFFFFF  # (unsigned int) t, as x86-64 converts it


def fmt_time(usec: int) -> str:
    """RATEEST_print_time."""
    if usec >= USEC:
        return f" {usec / USEC:.1f}s"
    if usec >= 1000:
        return f" {usec / 1000:.1f}ms"
    return f" {usec}us"


@dataclass(frozen=True, slots=True)
class Rateest(Target):
    """struct xt_rateest_target_info: name, interval (signed), ewma_log."""

    name: ClassVar[str] = "RATEEST"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("rateest-name"), Opt("rateest-interval"), Opt("rateest-ewmalog"),
    )

    est_name: str = ""
    interval: int = 0
    ewma_log: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Rateest:
        values = {"rateest-interval": 0, "rateest-ewmalog": 0}
        for g in opts.items:
            if g.opt.name in values:
                v = get_time(g.value)
                if v is None:
                    word = g.opt.name.split("-")[1]
                    raise ParameterProblem(f'RATEEST: bad {word} value "{g.value}"')
                values[g.opt.name] = v
        interval, ewma = values["rateest-interval"], values["rateest-ewmalog"]
        # RATEEST_final_check runs before the mandatory-option check
        code = 0
        while code <= 5 and interval > (1 << code) * (USEC // 4):
            code += 1
        if code > 5:
            raise ParameterProblem("RATEEST: interval value is too large")
        log = 1
        while log < 32:
            w = 1.0 - 1.0 / (1 << log)
            if interval / (-math.log(w)) > ewma:
                break
            log += 1
        log -= 1
        if log == 0 or log >= 31:
            raise ParameterProblem("RATEEST: ewmalog value is out of range")
        for o in ("rateest-name", "rateest-interval", "rateest-ewmalog"):
            if o not in opts:
                raise ParameterProblem(f'RATEEST: option "--{o}" must be specified')
        raw = opts["rateest-name"].value.encode("utf-8", "surrogateescape")[:NAME_SIZE - 1]
        return cls(raw.decode("utf-8", "surrogateescape"), code - 2, log)

    def _text(self, prefix: str) -> str:
        interval = (USEC << (self.interval + 2)) // 4
        ewma = (interval * (1 << self.ewma_log)) & 0xFFFFFFFF
        return (f" {prefix}name {self.est_name} {prefix}interval{fmt_time(interval)}"
                f" {prefix}ewmalog{fmt_time(ewma)}")

    def save(self) -> str:
        return self._text("--rateest-")

    def describe(self, numeric: bool) -> str:
        return self._text("")

    def shared_object(self) -> tuple[tuple[str, str], tuple[object, ...]]:
        """The estimator is per name: other rules naming it must give the same parameters."""
        return ("RATEEST", self.est_name), (self.interval, self.ewma_log)

    def tg(self, pkt: Packet, par: Par) -> int:
        """xt_rateest_tg: the estimator counts the packet (skb->len)."""
        from pynetfilter.netfilter.rateest import estimator
        from pynetfilter.netfilter.traverse import packet_len

        est = estimator(par.engine.rateest, self.est_name, self.interval, self.ewma_log, par.now)
        est.advance(par.now)
        est.count(packet_len(pkt))
        return XT_CONTINUE


EXTENSION = Rateest
