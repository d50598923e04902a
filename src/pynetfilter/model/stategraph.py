"""Changing a CheckState's walked graph, exactly and undoably (pynetfilter.model.incremental).

Every change to the state goes through :meth:`StateChange._put` and friends, which log the old
value, so a refused change is undone in time proportional to it.  A walked edge added or
removed changes its target's hook support (``sup``: per hook bit, the walked edges bringing
it); a bit a node gains or loses flows on down the node's walked edges.  Removals are made
first: on a graph whose hook-reachable part has no cycle (the committed table's, less edges)
the counts are exact; additions after only add bits, so the result is exact as long as no
loop is reachable, which the caller then checks with :meth:`_reaches` and :meth:`_cycle_in`.
"""

from __future__ import annotations

from typing import Any

from pynetfilter.model.state import BITS, NO_SUPPORT, Adjacency, CheckState, entries

_MISSING = object()


class Fallback(Exception):
    """The incremental check cannot decide: check the whole table."""


class StateChange:
    """Changes to one CheckState, logged to be undone."""

    def __init__(self, state: CheckState) -> None:
        self.st = state
        self.undo_log: list[tuple[Any, Any, Any]] = []
        self.next_node = state.next_node
        self.orig: dict[int, int] = {}  # nodes whose mask changed -> their mask before

    # --- state changes, undone in reverse ------------------------------------------

    def _put(self, d: Any, k: Any, v: Any) -> None:
        self.undo_log.append((d, k, d.get(k, _MISSING)))
        d[k] = v

    def _drop(self, d: Any, k: Any) -> None:
        if k in d:
            self.undo_log.append((d, k, d[k]))
            del d[k]

    def _put_attr(self, name: str, value: Any) -> None:
        self.undo_log.append((self.st, name, getattr(self.st, name)))
        setattr(self.st, name, value)

    def undo(self) -> None:
        for d, k, old in reversed(self.undo_log):
            if d is self.st:
                setattr(d, k, old)
            elif old is _MISSING:
                d.pop(k, None)
            else:
                d[k] = old
        self.undo_log = []
        self.st.next_node = self.next_node

    def adjust(self, adj: Adjacency, x: int, y: int, c: int) -> None:
        """Add *c* (or remove, c < 0) to *x*'s entry for *y*."""
        v = adj.get(x)
        if v is None or type(v) is int:
            d = {} if v is None else {v: 1}
            k = d.get(y, 0) + c
            if k < 0:
                raise Fallback
            if k:
                d[y] = k
            else:
                del d[y]
            if not d:
                self._drop(adj, x)
            else:
                self._put(adj, x, y if d == {y: 1} else d)
            return
        d = v  # type: ignore[assignment]
        k = d.get(y, 0) + c
        if k < 0:
            raise Fallback
        if k:
            self._put(d, y, k)
        else:
            self._drop(d, y)
            if not d:
                self._drop(adj, x)

    # --- the walked graph ------------------------------------------------------------

    def _set_mask(self, n: int, mask: int) -> None:
        masks = self.st.masks
        old = masks.get(n, 0)
        if n not in self.orig:
            self.orig[n] = old
        if mask:
            self._put(masks, n, mask)
        else:
            self._drop(masks, n)

    def _support(self, t: int, bits: int, c: int) -> int:
        """Add *c* walked edges bringing *bits* to *t*: the bits *t* gains (c > 0) or loses."""
        sup = self.st.sup
        s = list(sup.get(t, NO_SUPPORT))
        changed = 0
        for b in BITS[bits]:
            before = s[b]
            after = s[b] = before + c
            if after < 0:
                raise Fallback
            if (before == 0) != (after == 0):
                changed |= 1 << b
        if any(s):
            self._put(sup, t, tuple(s))
        else:
            self._drop(sup, t)
        return changed

    def _flow(self, start: int, bits: int, sign: int) -> None:
        """*start* gained (sign 1) or lost (-1) *bits*: so do the nodes only it brought them to."""
        st = self.st
        stack = [(start, bits)]
        while stack:
            y, bits = stack.pop()
            mask = st.masks.get(y, 0)
            self._set_mask(y, mask | bits if sign > 0 else mask & ~bits)
            for z, c in entries(st.out, y).items():
                changed = self._support(z, bits, sign * c)
                if changed:
                    stack.append((z, changed))

    def _edge(self, x: int, y: int, c: int) -> None:
        """Add *c* (or remove, c < 0) walked rules of *x* jumping to *y*."""
        st = self.st
        self.adjust(st.out, x, y, c)
        mask = st.masks.get(x, 0)
        if mask:
            changed = self._support(y, mask, c)
            if changed:
                self._flow(y, changed, 1 if c > 0 else -1)

    def _reaches(self, start: int, goal: int) -> bool:
        """Whether the walk from *start* (a reachable node) reaches *goal*."""
        st = self.st
        seen = {start}
        stack = [start]
        while stack:
            y = stack.pop()
            if y == goal:
                return True
            for z in entries(st.out, y):
                if z not in seen and z in st.masks:
                    seen.add(z)
                    stack.append(z)
        return False

    def _cycle_in(self, nodes: set[int]) -> bool:
        """Whether the walked edges among *nodes* make a cycle."""
        out = self.st.out
        done: set[int] = set()
        for root in nodes:
            if root in done:
                continue
            on_path = {root}
            path = [(root, iter(entries(out, root)))]
            while path:
                y, it = path[-1]
                for z in it:
                    if z not in nodes or z in done:
                        continue
                    if z in on_path:
                        return True
                    on_path.add(z)
                    path.append((z, iter(entries(out, z))))
                    break
                else:
                    path.pop()
                    on_path.discard(y)
                    done.add(y)
        return False
