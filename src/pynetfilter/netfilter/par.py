"""What an extension sees while a packet traverses a table (the kernel's xt_action_param).

Theory of operation.  One :class:`Par` is made per table traversal.  Matches
read the packet and ``par``; targets may change the packet, and use ``par``
to reach netfilter's own state (conntrack, recent lists, hashlimit tables,
ipsets), to emit packets (REJECT replies go out through OUTPUT), and to log.
Per-rule state (limit buckets, quota, statistic nth counters) lives in the
engine keyed by rule: match and target objects are shared between rules, so
they hold no state themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pynetfilter.model.tables import Hook

if TYPE_CHECKING:
    import random

    from pynetfilter.model.rule import Rule
    from pynetfilter.packet.model import Packet


@dataclass(slots=True)
class Event:
    """Something the pipeline did beside the verdict: a log line, an emitted packet, a note."""

    kind: str  # "log", "nflog", "emit", "trace", "note", "queue"
    text: str = ""
    packet: Packet | None = None
    route: Any = None  # "emit": the route already chosen (TEE's copy goes via its gateway)


@dataclass(slots=True)
class Par:
    hook: Hook
    table: str
    in_dev: str | None
    out_dev: str | None
    now: float  # seconds, the engine's clock
    rng: random.Random
    engine: Any  # pynetfilter.netfilter.pipeline.Engine: host, conntrack, recent, hashlimit, ipsets
    fragoff: int = 0  # fragment offset of the packet (bytes), 0 for the first/only fragment
    thoff: int = 0  # transport header offset
    hotdrop: bool = False  # set by a match that wants the packet dropped at once (malformed header)
    rule: Rule | None = None  # the rule being evaluated (for per-rule state)
    events: list[Event] = field(default_factory=list)
    # The kernel's choice where the rules leave one open (statistic random, NAT port): a replay
    # sets these from what the capture shows; None means draw from rng.
    choices: Any = None

    def rule_state(self, owner: object) -> dict[str, Any]:
        """State private to (the current rule, this match/target): the kernel's per-rule data."""
        key = (id(self.rule), id(owner))
        states = self.engine.rule_states
        st = states.get(key)
        if st is None:
            st = states[key] = {"_pin": (self.rule, owner)}
        return st

    def log(self, text: str, kind: str = "log") -> None:
        self.events.append(Event(kind, text))

    def emit(self, pkt: Packet, why: str, route: Any = None) -> None:
        """Send a packet the kernel generates (REJECT's reply): it goes through OUTPUT."""
        self.events.append(Event("emit", why, pkt, route))


STATISTIC_SCALE = 1 << 31  # xt_statistic keeps its probability as a fraction of 2^31


def decide(par: Par, kind: str, numerator: int, denominator: int = STATISTIC_SCALE) -> bool:
    """A random event of probability numerator/denominator: asked of ``par.choices`` when set
    (a trace exploring branches, a replay following a capture: ``choices.decide(kind,
    probability, par)``), else drawn as the kernel does (xt_statistic:
    ``(get_random_u32() & 0x7FFFFFFF) < probability``)."""
    if par.choices is not None:
        return bool(par.choices.decide(kind, Fraction(numerator, denominator), par))
    return par.rng.randrange(denominator) < numerator
