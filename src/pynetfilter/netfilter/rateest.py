"""Rate estimators: what -j RATEEST feeds and -m rateest reads (net/core/gen_estimator.c).

Theory of operation.  An estimator is per network namespace and named; the engine keeps them in
``engine.rateest`` (name -> :class:`Estimator`), made by the first RATEEST rule that fires.
The target adds each packet's length and one packet to its counters.  Every
``(HZ/4) << (interval+2)`` jiffies the kernel's timer folds the counters into exponentially
weighted averages (``avbps``, ``avpps``, in 1/256 units, scaled by ``1 << (10 - intvl_log)``
per interval): :meth:`Estimator.advance` runs those ticks up to a given time.  ``rate(now)``
is what gen_estimator_read gives: (bytes per second, packets per second).

The timer's phase is set when the kernel loaded the rule: :func:`load` makes the estimators at a
given load time; without it an estimator is made at its first packet, and its first tick comes one
interval later (a capture alone does not show the load time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

M64 = (1 << 64) - 1
HZ = 250  # CONFIG_HZ of the kernel checked against: the timer period is counted in jiffies


@dataclass(slots=True)
class Estimator:
    name: str
    interval: int  # -2..3: the period is 2**(interval+2) quarter seconds
    ewma_log: int
    start: float  # engine time the estimator was made
    bytes: int = 0
    packets: int = 0
    last_bytes: int = 0
    last_packets: int = 0
    avbps: int = 0
    avpps: int = 0
    ticks: int = 0

    @property
    def period(self) -> float:
        """(HZ/4) << intvl_log jiffies: with HZ=250, 248 ms (not 250) for the shortest interval."""
        return ((HZ // 4) << (self.interval + 2)) / HZ

    def count(self, length: int) -> None:
        """xt_rateest_tg: the packet is added to the estimator's basic counters."""
        self.bytes += length
        self.packets += 1

    def advance(self, now: float) -> None:
        """est_timer, once per period elapsed since the last tick."""
        intvl_log = self.interval + 2
        while self.start + (self.ticks + 1) * self.period <= now:
            self.ticks += 1
            brate = ((self.bytes - self.last_bytes) << (10 - intvl_log)) & M64
            brate = ((brate >> self.ewma_log) - (self.avbps >> self.ewma_log)) & M64
            prate = ((self.packets - self.last_packets) << (10 - intvl_log)) & M64
            prate = ((prate >> self.ewma_log) - (self.avpps >> self.ewma_log)) & M64
            self.avbps = (self.avbps + brate) & M64
            self.avpps = (self.avpps + prate) & M64
            self.last_bytes, self.last_packets = self.bytes, self.packets

    def rate(self, now: float) -> tuple[int, int]:
        """gen_estimator_read: (bps, pps) as of *now*."""
        self.advance(now)
        return self.avbps >> 8, self.avpps >> 8


def estimator(store: dict[str, Estimator], name: str, interval: int, ewma_log: int,
              now: float) -> Estimator:
    """The estimator *name*, made on first use (xt_rateest_tg_checkentry's lookup-or-create)."""
    est = store.get(name)
    if est is None:
        est = store[name] = Estimator(name, interval, ewma_log, now)
    return est


def load(engine: Any, now: float) -> None:
    """Make the estimators every RATEEST rule of the engine's ruleset names, as the kernel does when
    the rules are loaded (*now*: the load time, which sets the timers' phase); the first rule naming
    an estimator gives its parameters."""
    for table in engine.ruleset.tables.values():
        for chain in table.chains.values():
            for r in chain.rules:
                t = r.target
                if getattr(type(t), "name", None) == "RATEEST":
                    estimator(engine.rateest, t.est_name, t.interval, t.ewma_log, now)
