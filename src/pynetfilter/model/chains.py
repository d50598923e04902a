"""A table's chains by name, in libiptc's order, where renaming a chain keeps its place.

The order of ``table.chains`` is observable: the kernel's check reports the first
refused rule in chain order, and the engine's "first rule naming a hashlimit table or
recent list gives its parameters" reads the chains in order.  libiptc renames a chain
where it stands, which a plain dict cannot do without rebuilding itself (O(chains));
:class:`ChainDict` renames in O(1).

It is a dict (name -> Chain, so lookups stay C-level dict lookups) plus ``_order``,
place -> Chain in chain order.  A chain's place key is its name, except after a rename
(the place keeps the name the chain was added under) and for a chain added under a
name a renamed chain's place still holds (a fresh key object): ``_place`` maps those
names to their place keys.  Iteration follows ``_order``; the dict's own order is
never used.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Chain

_name = attrgetter("name")


class _Place:
    """A place key no chain name can equal."""

    __slots__ = ()


class _Keys(KeysView[str]):
    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping)


class _Items(ItemsView[str, "Chain"]):
    def __iter__(self) -> Iterator[tuple[str, Chain]]:
        values = self._mapping._order.values()  # type: ignore[attr-defined]
        return zip(map(_name, values), values, strict=True)


class ChainDict(dict[str, "Chain"]):
    """name -> Chain; iterates in chain order; :meth:`rename` keeps the chain's place.

    Invariant: every value's ``name`` is its key (Table and WorkTable set it on rename).
    """

    __slots__ = ("_order", "_place")

    def __init__(self, items: Iterable[tuple[str, Chain]] = ()) -> None:
        super().__init__()
        self._order: dict[object, Chain] = {}
        self._place: dict[str, object] = {}
        for name, chain in items:
            self[name] = chain

    def __setitem__(self, name: str, chain: Chain) -> None:
        if dict.__contains__(self, name):
            dict.__setitem__(self, name, chain)
            self._order[self._place.get(name, name)] = chain
            return
        dict.__setitem__(self, name, chain)
        key: object = name
        if name in self._order:  # a renamed chain still stands at this name's place
            key = _Place()
            self._place[name] = key
        self._order[key] = chain

    def __delitem__(self, name: str) -> None:
        dict.__delitem__(self, name)
        del self._order[self._place.pop(name, name)]

    def rename(self, old: str, new: str) -> None:
        """Move the chain at *old* to the free name *new*, in its place (the chain's ``name`` is
        the caller's to set)."""
        if dict.__contains__(self, new):
            raise KeyError(new)
        chain = dict.pop(self, old)
        dict.__setitem__(self, new, chain)
        key = self._place.pop(old, old)
        if key != new:
            self._place[new] = key

    def pop(self, name: str, *default: Any) -> Any:
        if dict.__contains__(self, name):
            chain = self[name]
            del self[name]
            return chain
        if default:
            return default[0]
        raise KeyError(name)

    def popitem(self) -> tuple[str, Chain]:
        if not self._order:
            raise KeyError("popitem(): dictionary is empty")
        chain = next(reversed(self._order.values()))
        name: str = chain.name
        del self[name]
        return name, chain

    def setdefault(self, name: str, chain: Chain) -> Chain:  # type: ignore[override]
        if not dict.__contains__(self, name):
            self[name] = chain
        return dict.__getitem__(self, name)

    def update(self, *args: Any, **kw: Any) -> None:
        for name, chain in dict(*args, **kw).items():
            self[name] = chain

    def clear(self) -> None:
        dict.clear(self)
        self._order.clear()
        self._place.clear()

    def copy(self) -> ChainDict:  # type: ignore[override]
        c = ChainDict()
        dict.update(c, dict.items(self))
        c._order = self._order.copy()
        c._place = dict(self._place)
        return c

    def __iter__(self) -> Iterator[str]:
        return map(_name, self._order.values())

    def __reversed__(self) -> Iterator[str]:
        return map(_name, reversed(self._order.values()))

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        return _Keys(self)

    def values(self) -> ValuesView[Chain]:  # type: ignore[override]
        return self._order.values()

    def items(self) -> ItemsView[str, Chain]:  # type: ignore[override]
        return _Items(self)

    def __ior__(self, other: Any) -> Any:
        self.update(other)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (ChainDict, (list(self.items()),))

    def __repr__(self) -> str:
        return f"ChainDict({list(self.items())!r})"
