"""Rule edits of one chain, made through the Chain edit API and tallied for the incremental checker.

A :class:`ChainEdit` notes which rules joined or left the chain, which joined or left the part
the kernel walks (up to the chain's first unconditional verdict), and how many rules jump to
each name, each edit in time proportional to the rules it moves in or out of the walked part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynetfilter.model.check import unconditional_verdict
from pynetfilter.model.rule import Jump, Rule

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Chain

# A rule's net change: id(rule) -> [rule, count] (the rule is held, so its id stays its own).
Tally = dict[int, list[Any]]


def _count(tally: Tally, r: Rule, n: int) -> None:
    e = tally.get(id(r))
    if e is None:
        tally[id(r)] = [r, n]
    else:
        e[1] += n


class ChainEdit:
    """One chain's edits, made through its edit API; with *refs* (the work's jump counts by name),
    also tallied for the incremental checker.

    ``stop`` is the index of the chain's first unconditional verdict (None: there is none), kept
    as the rules move, so each edit finds the rules it brings into or out of the walked part in
    time proportional to them.
    """

    __slots__ = ("chain", "origin", "stop", "present", "walked", "refs")

    def __init__(self, chain: Chain, origin: str | None = None, stop: int | None = None,
                 refs: dict[str, int] | None = None) -> None:
        self.chain = chain
        self.origin = origin  # the committed chain's name this is a copy of (None: a new chain)
        self.stop = stop
        self.present: Tally = {}
        self.walked: Tally = {}
        self.refs = refs

    @property
    def rules(self) -> list[Rule]:
        return self.chain.rules

    def _presence(self, r: Rule, n: int) -> None:
        _count(self.present, r, n)
        t = r.target
        if type(t) is Jump:
            assert self.refs is not None
            self.refs[t.chain] = self.refs.get(t.chain, 0) + n

    def _expose(self, i: int) -> int | None:
        """The rules from *i* on are walked now, up to the next unconditional verdict (its index)."""
        rules = self.chain.rules
        for j in range(i, len(rules)):
            r = rules[j]
            _count(self.walked, r, 1)
            if unconditional_verdict(r):
                return j
        return None

    def _inserted(self, i: int, r: Rule) -> None:
        self._presence(r, 1)
        stop = self.stop
        if stop is not None and i > stop:
            return
        rules = self.chain.rules
        if unconditional_verdict(r):
            # The rules walked before, now after the new stop, are walked no more.
            end = stop + 1 if stop is not None else len(rules) - 1
            for j in range(i + 1, end + 1):
                _count(self.walked, rules[j], -1)
            self.stop = i
        elif stop is not None:
            self.stop = stop + 1
        _count(self.walked, r, 1)

    def append(self, r: Rule) -> None:
        self.chain.append(r)
        if self.refs is not None:
            self._inserted(len(self.chain.rules) - 1, r)

    def insert(self, i: int, r: Rule) -> None:
        self.chain.insert(i, r)
        if self.refs is not None:
            self._inserted(i, r)

    def delete(self, i: int) -> None:
        r = self.chain.rules[i]
        self.chain.delete(i)
        if self.refs is None:
            return
        self._presence(r, -1)
        stop = self.stop
        if stop is None or i < stop:
            _count(self.walked, r, -1)
            if stop is not None:
                self.stop = stop - 1
        elif i == stop:
            _count(self.walked, r, -1)
            self.stop = self._expose(i)

    def replace(self, i: int, r: Rule) -> None:
        old = self.chain.rules[i]
        self.chain.replace(i, r)
        if self.refs is None:
            return
        self._presence(old, -1)
        self._presence(r, 1)
        stop = self.stop
        if stop is not None and i > stop:
            return
        _count(self.walked, old, -1)
        _count(self.walked, r, 1)
        if unconditional_verdict(r):
            if stop is None or i < stop:
                rules = self.chain.rules
                end = stop if stop is not None else len(rules) - 1
                for j in range(i + 1, end + 1):
                    _count(self.walked, rules[j], -1)
                self.stop = i
        elif i == stop:
            self.stop = self._expose(i + 1)

    def flush(self) -> None:
        rules = self.chain.rules
        if self.refs is not None:
            end = self.stop + 1 if self.stop is not None else len(rules)
            for j, r in enumerate(rules):
                self._presence(r, -1)
                if j < end:
                    _count(self.walked, r, -1)
            self.stop = None
        self.chain.flush()
