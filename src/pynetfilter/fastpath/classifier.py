"""A chain compiled for lookup: which of its rules can a packet match, in rule order.

Theory of operation.  Rules are filed in subtables by shape (tuple space search): a
subtable keys its rules on the destination and source address under fixed prefix lengths,
and on the protocol and destination port where its rules demand one (see
:mod:`pynetfilter.fastpath.keys`).  A packet probes each subtable once with its own fields
(one dict lookup each) and gets the rules each could match; merged in rule order, these
are the candidates.  The traversal then tries every candidate exactly as the interpreter
tries a rule, and never tries a non-candidate: the interpreter would have found it not
matching without side effects.  So verdicts, counters, traces and stateful matches are
the interpreter's, and a kube-proxy KUBE-SERVICES chain of any length costs two probes
(its Services' destination/protocol/port subtable and the wildcard one).

Rules carry *order keys*, integers increasing along the chain with gaps, so inserting or
deleting a rule touches its bucket and two parallel lists (a C memmove), never the other
rules' entries.  When an insertion finds no gap, the keys of a window around it are
spread again (doubling the window until it has room): amortized O(log N) per insertion.

Cost per chain entered: one probe per subtable (about 0.2 us each) and a merge when more
than one subtable answers; chains of at most :data:`LINEAR` rules are not indexed.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import TYPE_CHECKING

from pynetfilter.fastpath.keys import TCP, UDP, Key, Shape, rule_key, shape_masks

if TYPE_CHECKING:
    from pynetfilter.model.rule import Rule

GAP = 1 << 32  # order keys of a fresh chain: room for 32 insertions at one place
# Tests set PYNF_FASTPATH_VERIFY=1: every compiled chain is checked against its chain's rules.
VERIFY = bool(os.environ.get("PYNF_FASTPATH_VERIFY"))
LINEAR = 4  # chains this short are tried rule by rule: an index would cost more than it saves


class Subtable:
    __slots__ = ("shape", "dmask", "smask", "proto", "port", "buckets")

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.dmask, self.smask = shape_masks(shape)
        self.proto, self.port = shape[2], shape[3]
        self.buckets: dict[Key, list[int]] = {}


class CompiledChain:
    """The compiled form of one chain: its rules in order with their order keys, and the index."""

    __slots__ = ("rules", "keys", "entries", "shapes", "probes", "ports", "version")

    def __init__(self, rules: list[Rule]) -> None:
        self.version = 0
        self.rules: list[Rule] = list(rules)
        self.keys: list[int] = [i * GAP for i in range(len(rules))]
        # order key -> (rule, the bucket holding the key)
        self.entries: dict[int, tuple[Rule, list[int]]] = {}
        self.shapes: dict[Shape, Subtable] = {}
        self.probes: tuple[Subtable, ...] = ()
        self.ports = False  # some subtable keys on a port
        for k, r in zip(self.keys, self.rules, strict=True):
            self._file(k, r)
        self._reprobe()

    # --- index maintenance ------------------------------------------------------

    def _file(self, k: int, rule: Rule) -> None:
        shape, key = rule_key(rule)
        st = self.shapes.get(shape)
        if st is None:
            st = self.shapes[shape] = Subtable(shape)
            self._reprobe()
        bucket = st.buckets.get(key)
        if bucket is None:
            bucket = st.buckets[key] = [k]
        else:
            bucket.insert(bisect_left(bucket, k), k)
        self.entries[k] = (rule, bucket)

    def _unfile(self, k: int) -> None:
        rule, bucket = self.entries.pop(k)
        del bucket[bisect_left(bucket, k)]
        if not bucket:
            shape, key = rule_key(rule)
            st = self.shapes[shape]
            del st.buckets[key]
            if not st.buckets:
                del self.shapes[shape]
                self._reprobe()

    def _reprobe(self) -> None:
        # Probe order does not matter for the result (the hits are merged by order key).
        self.probes = tuple(self.shapes.values())
        self.ports = any(st.port for st in self.probes)

    def _new_key(self, i: int) -> int:
        keys = self.keys
        if not keys:
            return 0
        if i == len(keys):
            return keys[-1] + GAP
        if i == 0:
            return keys[0] - GAP
        a, b = keys[i - 1], keys[i]
        if b - a < 2:
            self._respace(i)
            a, b = keys[i - 1], keys[i]
        return (a + b) >> 1

    def _respace(self, i: int) -> None:
        """Spread the keys of a window of positions around *i* evenly between its neighbours."""
        keys, n = self.keys, len(self.keys)
        w = 8
        while True:
            lo, hi = max(0, i - w), min(n, i + w)
            left = keys[lo - 1] if lo > 0 else keys[lo] - GAP * w
            right = keys[hi] if hi < n else keys[hi - 1] + GAP * w
            step = (right - left) // (hi - lo + 2)
            if step >= 1 << 16 or (lo == 0 and hi == n):
                break
            w *= 2
        # Keys only move between their neighbours, so every bucket stays sorted; all old keys
        # leave the map before the new ones enter (a new key may equal another's old one).
        moved = []
        for j in range(lo, hi):
            new = left + step * (j - lo + 1) + (step if j >= i else 0)
            moved.append((j, keys[j], new, self.entries.pop(keys[j])))
        for j, old, new, entry in moved:
            bucket = entry[1]
            bucket[bisect_left(bucket, old)] = new
            self.entries[new] = entry
            keys[j] = new

    # --- the edits a Chain logs ---------------------------------------------------

    def insert(self, i: int, rule: Rule) -> None:
        k = self._new_key(i)
        self.keys.insert(i, k)
        self.rules.insert(i, rule)
        self._file(k, rule)

    def delete(self, i: int) -> None:
        k = self.keys.pop(i)
        del self.rules[i]
        self._unfile(k)

    def replace(self, i: int, rule: Rule) -> None:
        k = self.keys[i]
        self._unfile(k)
        self.rules[i] = rule
        self._file(k, rule)

    def flush(self) -> None:
        self.rules, self.keys, self.entries, self.shapes = [], [], {}, {}
        self._reprobe()

    def apply(self, edits: list[tuple[object, ...]]) -> None:
        for edit in edits:
            op = edit[0]
            if op == "insert":
                self.insert(edit[1], edit[2])  # type: ignore[arg-type]
            elif op == "delete":
                self.delete(edit[1])  # type: ignore[arg-type]
            elif op == "replace":
                self.replace(edit[1], edit[2])  # type: ignore[arg-type]
            else:
                self.flush()
        self.version += 1

    # --- lookup --------------------------------------------------------------------

    def candidates(self, daddr: int, saddr: int, proto: int, dport: int | None) -> list[int]:
        """Order keys of the rules the packet may match, ascending (do not modify the list)."""
        if len(self.keys) <= LINEAR or (dport is None and self.ports and proto in (TCP, UDP)):
            # Short chain, or ports the tcp/udp matches would not read cleanly: every rule.
            return self.keys
        found: list[int] | None = None
        merged = False
        for st in self.probes:
            if st.port:
                if dport is None:
                    continue  # not TCP/UDP: no rule of this subtable can match
                hit = st.buckets.get((daddr & st.dmask, saddr & st.smask, proto, dport))
            elif st.proto:
                hit = st.buckets.get((daddr & st.dmask, saddr & st.smask, proto))
            else:
                hit = st.buckets.get((daddr & st.dmask, saddr & st.smask))
            if hit:
                if found is None:
                    found = hit
                elif merged:
                    found += hit
                else:
                    found = found + hit
                    merged = True
        if found is None:
            return []
        if merged:
            found.sort()  # runs already sorted: timsort merges them in linear time
        return found

    def rule(self, k: int) -> Rule:
        return self.entries[k][0]

    def number(self, k: int) -> int:
        """The rule's 1-based position (what a trace prints): a bisection, only when tracing."""
        return bisect_left(self.keys, k) + 1


def compiled(chain: object) -> CompiledChain:
    """The chain's compiled form, catching up with the edits logged since it was made.

    ``chain.base`` is a (compiled form, version) pair the chain's ``edits`` lead from; the
    form is shared by a chain and its copies until one of them catches up (and takes it),
    after which the others' versions no longer match and they compile afresh.
    """
    base = chain.base  # type: ignore[attr-defined]
    edits = chain.edits  # type: ignore[attr-defined]
    rules = chain.rules  # type: ignore[attr-defined]
    if base is not None:
        cc, version = base
        if cc.version == version:
            if not edits and (not VERIFY or _same(cc.rules, rules)):
                return cc  # type: ignore[no-any-return]
            try:
                cc.apply(edits)
            except (IndexError, KeyError):  # an edit the log missed: compile afresh
                cc.version = -1
            else:
                if len(cc.rules) == len(rules) and (not VERIFY or _same(cc.rules, rules)):
                    chain.base, chain.edits = (cc, cc.version), []  # type: ignore[attr-defined]
                    return cc  # type: ignore[no-any-return]
                if VERIFY:
                    raise AssertionError(f"compiled chain {chain.name} lost an edit")  # type: ignore[attr-defined]
                cc.version = -1
    cc = CompiledChain(rules)
    chain.base, chain.edits = (cc, cc.version), []  # type: ignore[attr-defined]
    return cc


def _same(a: list[Rule], b: list[Rule]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
