"""A table: its chains by name (a ChainDict, in libiptc's order) and the changes commands make.

Changes go through :meth:`Table.edit` (rules, counters, policy), :meth:`Table.add_chain`,
:meth:`Table.remove_chain` and :meth:`Table.rename_chain`: here they change the table itself
(the reference path works on a whole copy), while a WorkTable (pynetfilter.model.working)
makes them copy-on-write over the committed table.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal
from pynetfilter.model.chains import ChainDict
from pynetfilter.model.edits import ChainEdit
from pynetfilter.model.rule import Jump
from pynetfilter.model.suggest import did_you_mean
from pynetfilter.model.tables import TableSpec

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Chain
    from pynetfilter.model.state import CheckState


class Table:
    """A table: built-in chains in hook order, then user chains."""

    def __init__(self, spec: TableSpec) -> None:
        from pynetfilter.model.ruleset import Chain  # ruleset imports this module

        self.spec = spec
        self.name = spec.name
        self.chains: ChainDict = ChainDict((h.name, Chain(h.name, "ACCEPT")) for h in spec.hooks)
        # What the kernel's check of this table found (pynetfilter.model.state), for checking
        # the next change incrementally; None: check it whole.
        self.checked: CheckState | None = None

    # The ipsets of the ruleset this table belongs to (set while a change is applied).
    ipsets: Mapping[str, str] = MappingProxyType({})

    def copy(self) -> Table:
        t = Table.__new__(Table)
        t.spec, t.name = self.spec, self.name
        t.ipsets = self.ipsets
        t.chains = ChainDict((n, c.copy()) for n, c in self.chains.items())
        t.checked = None
        return t

    def chain(self, name: str) -> Chain:
        c = self.chains.get(name)
        if c is None:
            raise KernelRefusal(f'No chain/target/match by that name: "{name}" in table {self.name}'
                                f"{did_you_mean(name, self.chains)}")
        return c

    def user_chains(self) -> list[Chain]:
        """User chains in libiptc's order (sorted by name, byte-wise)."""
        users = [c for c in self.chains.values() if not c.builtin]
        users.sort(key=lambda c: c.name.encode("utf-8", "surrogateescape"))
        return users

    def ordered_chains(self) -> list[Chain]:
        return [c for c in self.chains.values() if c.builtin] + self.user_chains()

    def references(self, name: str) -> int:
        return sum(
            1
            for c in self.chains.values()
            for r in c.rules
            if type(r.target) is Jump and r.target.chain == name
        )

    def jumpers(self, name: str) -> list[str]:
        """Names of the chains that may hold a rule jumping to *name* (here: every chain)."""
        return list(self.chains)

    # --- changes (a WorkTable makes them copy-on-write) ------------------------------

    def edit(self, name: str) -> ChainEdit:
        """The chain's rules and counters to change, through the ChainEdit's edit methods."""
        return ChainEdit(self.chains[name])

    def add_chain(self, name: str) -> Chain:
        from pynetfilter.model.ruleset import Chain

        c = self.chains[name] = Chain(name)
        return c

    def remove_chain(self, name: str) -> None:
        del self.chains[name]

    def rename_chain(self, old: str, new: str) -> Chain:
        """Rename a chain where it stands (jumps to it are the caller's to follow)."""
        c = self.chains[old]
        self.chains.rename(old, new)
        c.name = new
        return c

    def zero_policies(self) -> None:
        """Zero the built-in chains' policy counters: libiptc reads them as "zeroed", so
        replacing the table resets them."""
        for c in self.chains.values():
            if c.builtin:
                c.packets = c.bytes = 0

    def flush(self) -> None:
        """What iptables-restore does at ``*table`` without --noflush."""
        for name in list(self.chains):
            if self.chains[name].builtin:
                self.edit(name).flush()
            else:
                self.remove_chain(name)

    def save(self, counters: bool = False, exact: bool = False) -> str:
        """iptables-save text of the table; with *exact*, a rule the text cannot carry is
        written as pynetfilter.syntax.exact's two lines (state files)."""
        out = [f"*{self.name}"]
        chains = self.ordered_chains()
        for c in chains:
            if c.builtin:
                out.append(f":{c.name} {c.policy} [{c.packets}:{c.bytes}]")
            else:
                out.append(f":{c.name} - [0:0]")
        # Rules share interned match/target/IP objects: render each once.
        texts: dict[int, str] = {}
        suspects: dict[int, bool] = {}
        if exact:
            from pynetfilter.syntax.exact import exact_lines, needs_exact
        for c in chains:
            head = f"-A {c.name}"
            for r in c.rules:
                text = head + r.save_spec(texts)
                if exact and needs_exact(r, suspects, texts):
                    out.append(exact_lines(r, c.name, self.name, counters))
                    continue
                out.append(f"[{r.packets}:{r.bytes}] {text}" if counters else text)
        out.append("COMMIT")
        return "\n".join(out) + "\n"
