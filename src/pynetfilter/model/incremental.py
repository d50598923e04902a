"""Checking a changed table as check_table() would, in time proportional to the change.

The committed table passed the check (its CheckState says what the check found), so only what
the change can make the check decide differently is looked at:

* the walked graph: each edited chain's walked jumps that came or went (ChainEdit tallies them)
  change the targets' hook support; a hook bit lost or gained flows down the walked edges of
  the nodes that lose or gain it (``sup`` counts keep this exact: removals first, on a graph
  whose reachable part has no cycle, then additions);
* loops: a new walked edge A->B makes a loop the walk meets only when A is reachable and B
  reaches A; a loop of old edges can only be met where chains became reachable;
* checkentry, for exactly the rules the full check would check at a mask they did not pass
  at: rules new to the walked part (at their chain's mask), new rules the walk does not reach
  (at 0), and every walked rule of a chain whose mask gained a bit.  A rule that stays walked
  in a chain whose mask kept or lost bits needs none: every checkentry refuses only for hooks
  it is reached from (``mask & forbidden``), so passing at a mask means passing at any part;
* the named objects rules share, and the estimators RATEEST rules make.

What the check depends on besides the rules (ipsets, nfacct objects, the estimators of all
tables) may only have grown since the state was checked: checkentry refuses a rule for a
name it cannot find, so an object made since cannot refuse a rule that passed.

A checkentry refusal in one chain is reported as the full check would (its first refused
rule there).  Anything else (a loop, whose message is the walk's path; a shared object's
clash; refusals in several chains, reported in chain order; objects gone) falls back to
check_table() on the whole table, which is what a change of the whole table costs anyway.
State changes are undone when the change is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import Extension
from pynetfilter.ext.nfacct import nfacct_names
from pynetfilter.model.check import check_rule, check_table, keep_stored, refusal
from pynetfilter.model.rule import Jump, Rule
from pynetfilter.model.state import CheckState, build_state, table_estimators
from pynetfilter.model.stategraph import Fallback, StateChange
from pynetfilter.model.working import WorkTable


def commit(work: WorkTable, ipsets: Mapping[str, str], others: frozenset[str]) -> None:
    """Check *work* as check_table() does and install it in its committed table (*others*: the
    estimators the ruleset's other tables make)."""
    table = work.base
    state = table.checked
    if work.full is None and state is not None:
        update = _Update(state, work)
        try:
            checked = update.run(ipsets, others)
        except Fallback:
            update.undo()
        except KernelRefusal:
            update.undo()
            raise
        else:
            work.install()
            for r in checked:
                keep_stored(r)
            return
    estimators = others | table_estimators(table)  # what Ruleset.estimators() says
    work.materialize()
    marks = check_table(work, ipsets, estimators)
    work.install()
    table.checked = build_state(table, marks, ipsets, estimators)


class _Update(StateChange):
    """One change's effect on a CheckState: computed, checked, and undone if refused."""

    def __init__(self, state: CheckState, work: WorkTable) -> None:
        super().__init__(state)
        self.work = work

    # --- the change, read from the work ----------------------------------------------

    def _structure(self) -> None:
        """Chain names to nodes after the change (new chains get new nodes)."""
        st = self.st
        cur: dict[str, int | None] = {}
        self.fresh: dict[int, int] = {}  # id(new chain) -> node
        self.gone: list[int] = []
        nxt = st.next_node
        for op in self.work.log:
            kind, name = op[0], op[1]
            if kind == "add":
                cur[name] = nxt
                self.fresh[id(op[2])] = nxt
                nxt += 1
            elif kind == "del" or kind == "ren":
                n = cur[name] if name in cur else st.node_of.get(name)
                cur[name] = None
                if kind == "ren":
                    cur[op[2]] = n
                elif n is not None and n < st.next_node:
                    self.gone.append(n)
        self.cur, self.nxt = cur, nxt

    def _final(self, name: str) -> int:
        n = self.cur[name] if name in self.cur else self.st.node_of.get(name)
        if n is None:
            raise Fallback
        return n

    def _collect(self) -> None:
        """Walked edges, referrers, shared objects and estimators that came or went, and the rules
        that need their checkentry run."""
        st, work = self.st, self.work
        self.removed: list[tuple[int, int, int]] = []  # (source, target, rules): walked edges gone
        self.added: list[tuple[int, int, int]] = []
        self.refs: list[tuple[int, int, int]] = []  # (target, source, +-rules): jumps, walked or not
        self.enter: list[tuple[int, Rule]] = []  # rules new to the walked part of their chain
        self.zero: list[tuple[int, Rule]] = []  # new rules the walk does not reach
        self.stops: dict[int, int | None] = {}
        shared_out: list[Rule] = []
        shared_in: list[Rule] = []
        rateest: dict[str, int] = {}
        for ed in work.editors.values():
            x = st.node_of[ed.origin] if ed.origin is not None else self.fresh[id(ed.chain)]
            if work.lookup(ed.chain.name) is ed.chain:
                self.stops[x] = ed.stop
            for r, n in ed.walked.values():
                if n == 0:
                    continue
                t = r.target
                if n > 0:
                    self.enter.append((x, r))
                    if type(t) is Jump:
                        self.added.append((x, self._final(t.chain), n))
                elif type(t) is Jump:
                    y = st.node_of.get(t.chain)  # a jump that was walked: a committed chain's name
                    if y is None:
                        raise Fallback
                    self.removed.append((x, y, -n))
            for r, n in ed.present.values():
                if n == 0:
                    continue
                t = r.target
                if type(t) is Jump:
                    y = self._final(t.chain) if n > 0 else st.node_of.get(t.chain)
                    if y is None:
                        raise Fallback
                    self.refs.append((y, x, n))
                elif isinstance(t, Extension):
                    if getattr(t, "shared_object", None) is not None:
                        (shared_in if n > 0 else shared_out).extend([r] * abs(n))
                    if type(t).name == "RATEEST":
                        est: str = getattr(t, "est_name", "")
                        rateest[est] = rateest.get(est, 0) + n
                if n > 0:
                    walked = ed.walked.get(id(r))
                    if walked is None or walked[1] <= 0:
                        self.zero.append((x, r))
        self.rateest = rateest
        self.shared = self._shared(shared_out, shared_in)

    def _shared(self, gone: list[Rule], new: list[Rule]) -> dict[tuple[str, str], tuple[Any, int]]:
        """The shared objects' new (parameters, rules); Fallback on a clash (_shared_objects refuses)."""
        st = self.st
        after: dict[tuple[str, str], tuple[Any, int]] = {}
        for r in gone:
            key, _ = r.target.shared_object()  # type: ignore[union-attr]
            params, n = after[key] if key in after else st.shared[key]
            after[key] = (params, n - 1)
        for r in new:
            key, params = r.target.shared_object()  # type: ignore[union-attr]
            had, n = after[key] if key in after else st.shared.get(key, (params, 0))
            if n and had != params:
                raise Fallback
            after[key] = (params, n + 1)
        return after

    # --- the whole update ---------------------------------------------------------

    def run(self, ipsets: Mapping[str, str], others: frozenset[str]) -> list[Rule]:
        """Update the state to the work's table; the rules checked.  Fallback where it cannot."""
        st = self.st
        nfacct = nfacct_names(ipsets)
        if st.ipsets != ipsets or st.nfacct != nfacct:
            # Rules look objects up by name: ones made since cannot refuse a rule that passed.
            if not (st.ipsets.items() <= ipsets.items() and st.nfacct <= nfacct):
                raise Fallback
            self._put_attr("ipsets", dict(ipsets))
            self._put_attr("nfacct", frozenset(nfacct))
        self._structure()
        self._collect()
        own = dict(st.rateest)
        for est, n in self.rateest.items():
            own[est] = own.get(est, 0) + n
        estimators = others | frozenset(st.rateest) | frozenset(e for e, n in own.items() if n)
        if estimators != st.estimators:
            if not estimators >= st.estimators:  # as with ipsets: only a lost estimator can refuse
                raise Fallback
            self._put_attr("estimators", estimators)
        # From here the state changes (undone on Fallback).
        for est in self.rateest:
            if own[est]:
                self._put(st.rateest, est, own[est])
            else:
                self._drop(st.rateest, est)
        for key, (params, n) in self.shared.items():
            if n:
                self._put(st.shared, key, (params, n))
            else:
                self._drop(st.shared, key)
        for name, n in self.cur.items():
            if n is None:
                self._drop(st.node_of, name)
            else:
                self._put(st.node_of, name, n)
                self._put(st.name_of, n, name)
        st.next_node = self.nxt
        for x, stop in self.stops.items():
            if stop is None:
                self._drop(st.stop, x)
            else:
                self._put(st.stop, x, stop)
        for x, y, c in self.removed:
            self._edge(x, y, -c)
        for y, x, c in self.refs:
            self.adjust(st.referrers, y, x, c)
        for n in self.gone:  # a deleted chain had no rules and no jumps to it left
            if n in st.masks or n in st.sup or n in st.out or n in st.referrers:
                raise Fallback
            self._drop(st.name_of, n)
            self._drop(st.stop, n)
        for x, y, c in self.added:
            self._edge(x, y, c)
        if self._loops():
            raise Fallback
        return self._check(ipsets)

    def _loops(self) -> bool:
        st = self.st
        masks = st.masks
        pairs = {(y, x) for x, y, _ in self.added if x in masks and x not in st.builtin}
        if any(self._reaches(y, x) for y, x in pairs):
            return True
        newly = {n for n, old in self.orig.items() if not old and n in masks}
        return bool(newly) and self._cycle_in(newly)

    def _check(self, ipsets: Mapping[str, str]) -> list[Rule]:
        """Run checkentry where the full check would check at a mask a rule did not pass at; the
        rules whose blob it rewrites.  A refusal in one chain is the full check's first one (every
        other rule passes, as before); refusals in several chains: Fallback, for chain order."""
        st, work = self.st, self.work
        masks = st.masks
        todo: list[tuple[int, Rule, int]] = []
        grown = [n for n, old in self.orig.items() if masks.get(n, 0) & ~old]
        whole = set(grown)
        todo += [(x, r, masks.get(x, 0)) for x, r in self.enter if x not in whole]
        todo += [(x, r, 0) for x, r in self.zero]
        for n in grown:
            chain = work.lookup(st.name_of[n])
            if chain is None:
                raise Fallback
            rules = chain.rules
            mask = masks[n]
            todo += [(n, r, mask) for r in rules[:st.walked(n, len(rules))]]
        cache: set[tuple[object, ...]] = set()
        stored: list[Rule] = []
        failed: dict[int, dict[int, str]] = {}
        for x, r, mask in todo:
            try:
                if check_rule(r, mask, work.name, ipsets, st.estimators, cache):
                    stored.append(r)
            except KernelRefusal as e:
                failed.setdefault(x, {}).setdefault(id(r), e.message)
        if failed:
            if len(failed) > 1:
                raise Fallback
            ((x, bad),) = failed.items()
            name = st.name_of[x]
            chain = work.lookup(name)
            if chain is None:
                raise Fallback
            raise refusal(name, next(bad[id(r)] for r in chain.rules if id(r) in bad))
        return stored
