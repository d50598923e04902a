"""The copy of a table one command or restore block changes: copy-on-write, over the committed table.

A :class:`WorkTable` shares the committed table's chains and copies one (``Chain.copy()``, which
keeps the fast path's edit log) the first time the change edits it; the committed table is not
touched until the change passes the kernel's check, so a refused change leaves nothing behind.
Lookups go to the work's own chains first, then the committed ones.  Anything that needs every
chain (listing them, -F or -Z of the whole table, a restore without --noflush) first
*materializes* the work: a full ChainDict of the result, after which the change is checked whole.

Structural changes (a chain added, deleted, renamed, or replaced by its copy) are logged, to be
replayed on the committed ChainDict when the change is installed.  Rule edits go through a
ChainEdit (pynetfilter.model.edits), which tallies them for the incremental checker.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pynetfilter.model.chains import ChainDict
from pynetfilter.model.edits import ChainEdit
from pynetfilter.model.ruleset import Chain
from pynetfilter.model.state import entries
from pynetfilter.model.table import Table

if TYPE_CHECKING:
    from pynetfilter.model.state import CheckState


def replay(chains: ChainDict, log: list[tuple[Any, ...]]) -> None:
    """Make a work's structural changes (its log) on *chains*."""
    for op in log:
        kind = op[0]
        if kind == "set" or kind == "add":
            chains[op[1]] = op[2]
        elif kind == "del":
            del chains[op[1]]
        else:
            chains.rename(op[1], op[2])


_UNBOUND = object()


class _Overlay(Mapping[str, Chain]):
    """The work's chains as a mapping: its own, then the committed table's."""

    __slots__ = ("_work",)

    def __init__(self, work: WorkTable) -> None:
        self._work = work

    def __getitem__(self, name: str) -> Chain:
        ch = self._work.lookup(name)
        if ch is None:
            raise KeyError(name)
        return ch

    def get(self, name: str, default: Any = None) -> Any:
        ch = self._work.lookup(name)
        return default if ch is None else ch

    def __contains__(self, name: object) -> bool:
        return self._work.lookup(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._work.materialize())

    def __len__(self) -> int:
        return len(self._work.materialize())


class WorkTable(Table):
    """A table being changed, over the committed *base* it leaves alone (see the module doc).

    With *state* (the base's CheckState) the edits are tallied for the incremental checker;
    without, the work is materialized at once and checked whole.
    """

    def __init__(self, base: Table, state: CheckState | None) -> None:
        self.spec, self.name, self.ipsets = base.spec, base.name, base.ipsets
        self.checked = None
        self.base = base
        self.state = state
        self.log: list[tuple[Any, ...]] = []
        self.editors: dict[int, ChainEdit] = {}  # id(chain) -> editor, for the chains the work owns
        self.refs: dict[str, int] = {}  # net change of the rules jumping to each name
        self.moved: dict[str, str | None] = {}  # committed name -> current name (None: deleted)
        self._bind: dict[str, Chain | None] = {}  # names whose chain differs from the base's (None: gone)
        self.full: ChainDict | None = None
        self.chains = _Overlay(self)  # type: ignore[assignment]
        if state is None:
            self.materialize()

    def lookup(self, name: object) -> Chain | None:
        if self.full is not None:
            return self.full.get(name)  # type: ignore[call-overload, no-any-return]
        ch = self._bind.get(name, _UNBOUND)  # type: ignore[call-overload]
        if ch is _UNBOUND:
            return self.base.chains.get(name)  # type: ignore[call-overload, no-any-return]
        return ch  # type: ignore[no-any-return]

    def materialize(self) -> ChainDict:
        """The work's chains as a full ChainDict (from now on the work edits that)."""
        if self.full is None:
            full = self.base.chains.copy()
            replay(full, self.log)
            self.full = full
            self.chains = full
        return self.full

    def install(self) -> None:
        """Make the committed table what the work is (after the check passed)."""
        if self.full is not None:
            self.base.chains = self.full
        else:
            replay(self.base.chains, self.log)

    # --- edits -------------------------------------------------------------------

    def edit(self, name: str) -> ChainEdit:
        ch = self.lookup(name)
        if ch is None:
            raise KeyError(name)
        ed = self.editors.get(id(ch))
        if ed is not None:
            return ed
        copy = ch.copy()
        if self.full is not None:
            ed = ChainEdit(copy)
            self.full[name] = copy
        else:
            # A committed chain is copied before anything else changes it (a rename too), so
            # its name here is its committed name.
            state = self.state
            assert state is not None
            ed = ChainEdit(copy, name, state.stop.get(state.node_of[name]), self.refs)
            self._bind[name] = copy
            self.log.append(("set", name, copy))
        self.editors[id(copy)] = ed
        return ed

    def add_chain(self, name: str) -> Chain:
        ch = Chain(name)
        if self.full is not None:
            self.full[name] = ch
            self.editors[id(ch)] = ChainEdit(ch)
        else:
            self._bind[name] = ch
            self.log.append(("add", name, ch))
            self.editors[id(ch)] = ChainEdit(ch, refs=self.refs)
        return ch

    def remove_chain(self, name: str) -> None:
        if self.full is not None:
            del self.full[name]
            return
        ch = self.lookup(name)
        if ch is None:
            raise KeyError(name)
        ed = self.editors.get(id(ch))
        origin = name if ed is None else ed.origin  # an untouched chain is a committed one
        if origin is not None:
            self.moved[origin] = None
        self._bind[name] = None
        self.log.append(("del", name))

    def rename_chain(self, old: str, new: str) -> Chain:
        ed = self.edit(old)
        ch = ed.chain
        ch.name = new
        if self.full is not None:
            self.full.rename(old, new)
            return ch
        if ed.origin is not None:
            self.moved[ed.origin] = new
        self._bind[old] = None
        self._bind[new] = ch
        self.log.append(("ren", old, new))
        return ch

    def zero_policies(self) -> None:
        for h in self.spec.hooks:  # only the chains whose counters change are copied
            c = self.chains[h.name]
            if c.packets or c.bytes:
                c = self.edit(h.name).chain
                c.packets = c.bytes = 0

    def flush(self) -> None:
        """iptables-restore's ``*table`` without --noflush: only the (flushed) built-in chains remain."""
        self.full = ChainDict((h.name, self.lookup(h.name)) for h in self.spec.hooks)  # type: ignore[misc]
        self.chains = self.full
        for h in self.spec.hooks:
            self.edit(h.name).flush()

    # --- what -X and -E look up ------------------------------------------------

    def references(self, name: str) -> int:
        state = self.state
        if self.full is not None or state is None:
            return super().references(name)
        node = state.node_of.get(name)
        into = entries(state.referrers, node) if node is not None else {}
        return sum(into.values()) + self.refs.get(name, 0)

    def jumpers(self, name: str) -> list[str]:
        state = self.state
        if self.full is not None or state is None:
            return super().jumpers(name)
        names: dict[str, None] = {}
        node = state.node_of.get(name)
        for src in entries(state.referrers, node) if node is not None else ():
            base = state.name_of[src]
            now = self.moved.get(base, base)
            if now is not None:
                names[now] = None
        for ed in self.editors.values():
            names[ed.chain.name] = None
        return list(names)
