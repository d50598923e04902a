"""What the kernel's check of a committed table found, kept so the next change is checked
in time proportional to the change (pynetfilter.model.incremental).

Chains are graph nodes by number (a node keeps its number when its chain is renamed or
copied), so jump edges need no rewriting when names move.  Per node: the index of the
first unconditional verdict (the walk stops there; absent: the walk reaches every rule),
the walked jumps and gotos by target with their number of rules (the walked graph), the
hook mask, and per hook bit the number of walked edges from parents that have the bit
(``sup``): a node has a hook bit exactly while some walked edge brings it, which holds
because the hook-reachable part of the walked graph has no cycle (else the table is
refused).  Also: every rule jumping to a node, walked or not, by source node (for -X and
-E), the named objects RATEEST/IDLETIMER rules share, the estimators RATEEST rules make,
and what the check depended on besides the rules (ipsets, nfacct objects, estimators).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynetfilter.ext.base import Extension
from pynetfilter.ext.nfacct import nfacct_names
from pynetfilter.model.check import rateest_names, unconditional_verdict
from pynetfilter.model.rule import Jump, Verdict

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Table

HOOK_BITS = 5
# The hook bits of each mask, for walking a mask's bits without testing all five.
BITS: tuple[tuple[int, ...], ...] = tuple(tuple(b for b in range(HOOK_BITS) if m >> b & 1)
                                          for m in range(1 << HOOK_BITS))
NO_SUPPORT = (0,) * HOOK_BITS

# node -> {node: rules}, where most chains have one entry of one rule: kept as that node alone
# (an int), which saves a dict per chain (about 130 MB at 220,000 chains).
Adjacency = dict[int, "int | dict[int, int]"]


def entries(adj: Adjacency, x: int) -> dict[int, int]:
    """*x*'s entries (not to be changed: StateChange.adjust changes them)."""
    v = adj.get(x)
    if v is None:
        return {}
    return {v: 1} if type(v) is int else v  # type: ignore[return-value]


def _compact(adj: dict[int, dict[int, int]]) -> Adjacency:
    for x, d in adj.items():
        if len(d) == 1:
            ((y, c),) = d.items()
            if c == 1:
                adj[x] = y  # type: ignore[assignment]
    return adj  # type: ignore[return-value]


@dataclass(slots=True, eq=False)
class CheckState:
    node_of: dict[str, int]
    name_of: dict[int, str]
    builtin: frozenset[int]
    stop: dict[int, int]  # node -> index of its chain's first unconditional verdict
    out: Adjacency  # walked edges: node -> {target node: walked rules jumping there}
    masks: dict[int, int]  # node -> hook mask (absent: 0)
    sup: dict[int, tuple[int, ...]]  # node -> per hook bit, walked edges bringing it (absent: none)
    referrers: Adjacency  # node -> {source node: rules jumping to it, walked or not}
    shared: dict[tuple[str, str], tuple[tuple[object, ...], int]]  # object -> (parameters, rules)
    rateest: dict[str, int]  # estimator name -> RATEEST rules making it
    ipsets: dict[str, str]
    nfacct: frozenset[str]
    estimators: frozenset[str]  # the estimators the check saw
    next_node: int

    def walked(self, node: int, length: int) -> int:
        stop = self.stop.get(node)
        return length if stop is None else stop + 1


def table_estimators(table: Table) -> frozenset[str] | set[str]:
    """The estimators the table's -j RATEEST rules make (from its state when it has one)."""
    state: CheckState | None = table.checked
    return frozenset(state.rateest) if state is not None else rateest_names(table)


def build_state(table: Table, marks: Mapping[str, tuple[int, int]], ipsets: Mapping[str, str],
                estimators: frozenset[str]) -> CheckState:
    """The state of *table*, which check_table() passed with *marks* (its result), *ipsets* and
    *estimators* (the other tables' and its old version's: the table's own are added here)."""
    node_of = {name: n for n, name in enumerate(table.chains)}
    stop: dict[int, int] = {}
    out: dict[int, dict[int, int]] = {}
    referrers: dict[int, dict[int, int]] = {}
    shared: dict[tuple[str, str], tuple[tuple[object, ...], int]] = {}
    rateest: dict[str, int] = {}
    masks: dict[int, int] = {}
    for name, chain in table.chains.items():
        x = node_of[name]
        mask, walked = marks[name]
        if mask:
            masks[x] = mask
        rules = chain.rules
        if walked < len(rules) or (rules and type(rules[-1].target) is Verdict
                                   and unconditional_verdict(rules[-1])):
            stop[x] = walked - 1
        edges: dict[int, int] | None = None
        for i, r in enumerate(rules):
            t = r.target
            if type(t) is Jump:
                y = node_of[t.chain]
                into = referrers.get(y)
                if into is None:
                    into = referrers[y] = {}
                into[x] = into.get(x, 0) + 1
                if i < walked:
                    if edges is None:
                        edges = out[x] = {}
                    edges[y] = edges.get(y, 0) + 1
            elif isinstance(t, Extension):
                made = getattr(t, "shared_object", None)
                if made is not None:
                    key, params = made()
                    shared[key] = (params, shared[key][1] + 1 if key in shared else 1)
                if type(t).name == "RATEEST":
                    est: str = getattr(t, "est_name", "")
                    rateest[est] = rateest.get(est, 0) + 1
    sup: dict[int, list[int]] = {}
    for x, edges in out.items():
        bits = BITS[masks.get(x, 0)]
        if not bits:
            continue
        for y, c in edges.items():
            s = sup.get(y)
            if s is None:
                s = sup[y] = [0] * HOOK_BITS
            for b in bits:
                s[b] += c
    builtin = frozenset(node_of[h.name] for h in table.spec.hooks)
    return CheckState(node_of, {n: name for name, n in node_of.items()}, builtin, stop, _compact(out),
                      masks, {y: tuple(s) for y, s in sup.items()}, _compact(referrers), shared, rateest,
                      dict(ipsets), frozenset(nfacct_names(ipsets)), estimators | frozenset(rateest),
                      len(node_of))
