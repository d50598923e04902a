"""``pynf trace``: one packet through the pipeline, every table/chain/rule in the kernel's TRACE words.

Theory of operation.  The packet runs through :class:`Engine` with tracing on;
a small Engine subclass notes, for every trace event, the hook and devices it
happened at and renders the line as the kernel's nf_log_trace does (``TRACE:
nat:PREROUTING:rule:1 IN=eth0 OUT= ...``, the packet as LOG prints it).  Rule
numbers and words are ipt_do_table's: an unconditional rule with a standard
verdict is reported as ``policy``/``return`` (see traverse.trace_comment).

Random choices.  Where the kernel draws a random number (``-m statistic --mode
random``), the match calls :func:`decide`; with ``par.choices`` set it asks
that object instead of drawing.  The choices protocol is one method::

    choices.decide(kind: str, probability: Fraction | float, par: Par | None = None) -> bool

(True: the event of that probability happens, e.g. the statistic match's draw
is below its threshold; a float probability is taken exactly, and
statistic's p/2^31 is exact as a float).  :func:`explore` runs the packet once per outcome of
every choice met (depth first, each time on a fresh Engine so conntrack and
per-rule state do not leak between branches) and gives each branch its exact
probability: a kube-proxy Service with three endpoints yields three branches
of about 1/3 each (exactly 715827883/2^31, then the rest halved).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pynetfilter.netfilter.par import STATISTIC_SCALE, decide
from pynetfilter.netfilter.pipeline import Engine, Outcome

if TYPE_CHECKING:
    from pynetfilter.model.rule import Rule
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

TRACE_LOG_FLAGS = 0x0F  # NF_LOG_DEFAULT_MASK: the TCP sequence and options, IP options, UID

__all__ = ["STATISTIC_SCALE", "decide"]  # re-exported: the choices protocol lives in par.py
@dataclass(slots=True)
class Decision:
    kind: str
    probability: Fraction  # of the event
    taken: bool
    where: str  # table:chain:rule:N of the rule that made the choice

    @property
    def weight(self) -> Fraction:
        return self.probability if self.taken else 1 - self.probability


class Explorer:
    """A ``choices`` object that follows a forced prefix of outcomes, then takes each event."""

    def __init__(self, forced: list[bool], locate: Callable[[Par | None], str]) -> None:
        self.forced = forced
        self.locate = locate
        self.current: Callable[[], Par | None] = lambda: None  # the Par in use when none is passed
        self.made: list[Decision] = []

    def decide(self, kind: str, probability: Fraction | float, par: Par | None = None) -> bool:
        probability = Fraction(probability)
        par = par if par is not None else self.current()
        i = len(self.made)
        if probability <= 0 or probability >= 1:
            taken = probability >= 1
        else:
            taken = self.forced[i] if i < len(self.forced) else True
        self.made.append(Decision(kind, probability, taken, self.locate(par)))
        return taken


@dataclass(slots=True)
class Step:
    depth: int  # 0: the traced packet; 1: a packet the kernel generated while handling it (REJECT)
    hook: str
    table: str
    chain: str
    comment: str  # rule, return, policy
    rulenum: int
    in_dev: str | None
    out_dev: str | None
    line: str  # the kernel's TRACE log line


@dataclass(slots=True)
class Branch:
    probability: Fraction
    decisions: list[Decision]
    steps: list[Step]
    outcome: Outcome
    before: Packet  # the packet as it was handed in
    conntrack_active: bool = False
    now: float = 0.0


@dataclass(slots=True)
class TraceResult:
    branches: list[Branch] = field(default_factory=list)
    truncated: bool = False  # more branches existed than were explored


class TracingEngine(Engine):
    """Engine that records each trace event with its hook and devices."""

    def __init__(self, ruleset: Ruleset, host: Host, *, seed: int = 0) -> None:
        super().__init__(ruleset, host, seed=seed)
        self.steps: list[Step] = []
        self.depth = 0

    def new_par(self, name: str, pkt: Packet, st: Any) -> Par:
        par = super().new_par(name, pkt, st)
        par.events = _StepRecorder(self, pkt, st)
        self.current_par: Par | None = par  # traversals do not nest while a match runs
        return par

    def _finish(self, *args: Any, **kwargs: Any) -> Outcome:
        # Packets the kernel generates (REJECT replies) are sent from here: their steps get depth 1.
        self.depth += 1
        try:
            return super()._finish(*args, **kwargs)
        finally:
            self.depth -= 1


class _StepRecorder(list):  # type: ignore[type-arg]
    """Par.events that renders a trace event as it is appended: the packet as the rule saw it
    (the kernel logs before the target runs, so a MARK shows from the next line on)."""

    def __init__(self, engine: TracingEngine, pkt: Packet, st: Any) -> None:
        super().__init__()
        self.engine, self.pkt, self.st = engine, pkt, st

    def append(self, ev: Any) -> None:
        if ev.kind == "trace":
            from pynetfilter.netfilter.log import format_line

            st = self.st
            table, chain, comment, num = ev.text.rsplit(":", 3)
            line = format_line(self.pkt, f"TRACE: {ev.text} ", TRACE_LOG_FLAGS, st.in_dev, st.out_dev)
            self.engine.steps.append(Step(self.engine.depth, st.hook.name, table, chain, comment, int(num),
                                          st.in_dev, st.out_dev, line.rstrip()))
        super().append(ev)


def rule_locator(ruleset: Ruleset) -> Callable[[Par | None], str]:
    """par -> "table:chain:rule:N" of the rule being evaluated (built lazily, once)."""
    where: dict[int, str] = {}

    def locate(par: Par | None) -> str:
        if par is None:
            return "?"
        if not where:
            for tname, table in ruleset.tables.items():
                for cname, chain in table.chains.items():
                    for i, r in enumerate(chain.rules, 1):
                        where[id(r)] = f"{tname}:{cname}:rule:{i}"
        rule: Rule | None = par.rule
        return where.get(id(rule), f"{par.table}:?") if rule is not None else f"{par.table}:?"

    return locate


def run_once(ruleset: Ruleset, host: Host, pkt: Packet, iif: str | None, choices: Any, *, now: float = 0.0,
             seed: int = 0) -> tuple[Outcome, list[Step], bool]:
    """One traced run on a fresh engine: (outcome, steps, conntrack active)."""
    engine = TracingEngine(ruleset, host, seed=seed)
    engine.choices = choices
    if isinstance(choices, Explorer):
        choices.current = lambda: getattr(engine, "current_par", None)
    out = engine.send(pkt, now, trace=True) if iif is None else engine.receive(pkt, iif, now, trace=True)
    return out, engine.steps, engine.conntrack_active


def explore(ruleset: Ruleset, host: Host, pkt: Packet, iif: str | None, *, now: float = 0.0, seed: int = 0,
            limit: int = 64) -> TraceResult:
    """Every outcome of the random choices the packet meets, each with its exact probability."""
    locate = rule_locator(ruleset)
    result = TraceResult()
    pending: list[list[bool]] = [[]]
    while pending:
        if len(result.branches) >= limit:
            result.truncated = True
            break
        forced = pending.pop()
        explorer = Explorer(forced, locate)
        work = copy.deepcopy(pkt)
        outcome, steps, ct = run_once(ruleset, host, work, iif, explorer, now=now, seed=seed)
        prob = Fraction(1)
        for d in explorer.made:
            prob *= d.weight
        result.branches.append(Branch(prob, explorer.made, steps, outcome, pkt, ct, now))
        # Depth first: the other outcome of each choice made past the forced prefix.
        for j in range(len(explorer.made) - 1, len(forced) - 1, -1):
            d = explorer.made[j]
            if 0 < d.probability < 1:
                pending.append([x.taken for x in explorer.made[:j]] + [not d.taken])
    result.branches.sort(key=lambda b: [not d.taken for d in b.decisions])
    return result


# --- what a branch did, in words and as JSON ------------------------------------------


def _addr_port(addr: int, port: int | None) -> str:
    from pynetfilter.netfilter.host import fmt4

    return fmt4(addr) if port is None else f"{fmt4(addr)}:{port}"


def nat_changes(before: Packet, after: Packet) -> list[dict[str, str]]:
    """Source and destination rewrites between the packet handed in and the one that left."""
    out = []
    for kind, addr, port in (("SNAT", "saddr", "sport"), ("DNAT", "daddr", "dport")):
        a, b = getattr(before, addr), getattr(after, addr)
        pa, pb = getattr(before.l4, port, None), getattr(after.l4, port, None)
        if (a, pa) != (b, pb):
            out.append({"kind": kind, "from": _addr_port(a, pa), "to": _addr_port(b, pb)})
    return out


def conntrack_state(branch: Branch) -> dict[str, Any] | None:
    """The packet's conntrack entry as ``conntrack -L`` prints it, and its ctinfo."""
    if not branch.conntrack_active:
        return None
    meta = branch.outcome.packet.meta
    names = {0: "ESTABLISHED", 1: "RELATED", 2: "NEW", 3: "ESTABLISHED_REPLY", 4: "RELATED_REPLY",
             7: "UNTRACKED"}
    if meta.untracked:
        return {"state": "UNTRACKED", "entry": None}
    if meta.ct is None:
        return {"state": "INVALID", "entry": None}
    from pynetfilter.netfilter.conntrack.listing import line

    return {"state": names.get(meta.ctinfo, str(meta.ctinfo)), "entry": line(meta.ct, branch.now).rstrip()}


def where_it_went(o: Outcome) -> str:
    verdict = o.verdict.upper()
    if o.disposition == "local":
        return f"{verdict}: delivered locally"
    if o.disposition == "forward":
        return f"{verdict}: forwarded out {o.oif}"
    if o.disposition == "out":
        return f"{verdict}: sent out {o.oif}"
    return f"{verdict}: {o.reason or o.disposition}"


def branch_json(b: Branch) -> dict[str, Any]:
    o = b.outcome
    return {
        "probability": float(b.probability),
        "probability_exact": f"{b.probability.numerator}/{b.probability.denominator}",
        "choices": [{"kind": d.kind, "at": d.where, "probability": float(d.probability), "taken": d.taken}
                    for d in b.decisions],
        "trace": [{"hook": s.hook, "table": s.table, "chain": s.chain, "comment": s.comment,
                   "rule": s.rulenum, "in": s.in_dev, "out": s.out_dev, "line": s.line,
                   "generated": bool(s.depth)}
                  for s in b.steps],
        "verdict": o.verdict.upper(), "disposition": o.disposition, "oif": o.oif, "reason": o.reason,
        "summary": where_it_went(o),
        "nat": nat_changes(b.before, o.packet),
        "conntrack": conntrack_state(b),
        "events": [{"kind": e.kind, "text": e.text} for e in o.events if e.kind not in ("trace", "emit")],
        "generated": [where_it_went(g) for g in o.generated],
    }


def render_text(result: TraceResult) -> str:
    lines: list[str] = []
    many = len(result.branches) > 1
    for n, b in enumerate(result.branches, 1):
        j = branch_json(b)
        if many:
            p = b.probability
            lines.append(f"branch {n} of {len(result.branches)}: probability {float(p):.10g} "
                         f"({p.numerator}/{p.denominator})")
            for d in j["choices"]:
                lines.append(f"  {d['kind']} at {d['at']}: {'taken' if d['taken'] else 'not taken'} "
                             f"(p={d['probability']:.10g})")
        ind = "  " if many else ""
        for s in b.steps:
            lines.append(f"{ind}{'  [generated] ' if s.depth else ''}{s.line}")
        for e in j["events"]:
            lines.append(f"{ind}{e['kind']}: {e['text']}")
        lines.append(f"{ind}verdict: {j['summary']}")
        for c in j["nat"]:
            lines.append(f"{ind}nat: {c['kind']} {c['from']} -> {c['to']}")
        ct = j["conntrack"]
        if ct is None:
            lines.append(f"{ind}conntrack: not active (no rule needs it)")
        else:
            lines.append(f"{ind}conntrack: {ct['state']}" + (f"; {ct['entry']}" if ct["entry"] else ""))
        for g in j["generated"]:
            lines.append(f"{ind}generated packet: {g}")
    if result.truncated:
        lines.append(f"(stopped after {len(result.branches)} branches)")
    return "\n".join(lines) + "\n"
