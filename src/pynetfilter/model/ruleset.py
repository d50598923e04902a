"""Tables, chains and the Ruleset: the state iptables edits and the kernel checks.

Every change is made to a copy of the table and checked as the kernel checks a
replaced table (:func:`check_table`); only a table that passes replaces the
old one.  So a refused command or restore block changes nothing, as in the
kernel, where a table is swapped whole or not at all.
"""

from __future__ import annotations

import gc
import os
import shlex
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal, ParameterProblem, PynfError, TableMissing
from pynetfilter.model.check import check_table, rateest_names
from pynetfilter.model.commands import _zero, apply_command
from pynetfilter.model.rule import Jump, Rule
from pynetfilter.model.suggest import did_you_mean
from pynetfilter.model.tables import IPV4, Family, TableSpec

if TYPE_CHECKING:
    from pynetfilter.syntax.command import Command

VERSION = "0.1.0"
# The iptables whose output pynetfilter reproduces (iptables-save's header names it).
IPTABLES_VERSION = "1.8.9"


def save_stamp(now: float | None = None) -> str:
    """iptables-save's date: ctime() of *now*, $SOURCE_DATE_EPOCH or the clock (day padded: "Dec  2")."""
    if now is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
        now = float(epoch) if (epoch.isascii() and epoch.isdigit()) else time.time()
    return time.asctime(time.localtime(now))


class Chain:
    """A chain: built-in ones have a policy and policy counters."""

    __slots__ = ("name", "rules", "policy", "packets", "bytes")

    def __init__(self, name: str, policy: str | None = None) -> None:
        self.name = name
        self.rules: list[Rule] = []
        self.policy = policy
        self.packets = 0
        self.bytes = 0

    @property
    def builtin(self) -> bool:
        return self.policy is not None

    def copy(self) -> Chain:
        c = Chain(self.name, self.policy)
        c.rules = list(self.rules)
        c.packets, c.bytes = self.packets, self.bytes
        return c

    def __repr__(self) -> str:
        return f"Chain({self.name!r}, {len(self.rules)} rules)"


class Table:
    """A table: built-in chains in hook order, then user chains."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.chains: dict[str, Chain] = {h.name: Chain(h.name, "ACCEPT") for h in spec.hooks}

    # The ipsets of the ruleset this table belongs to (set while a change is applied).
    ipsets: Mapping[str, str] = MappingProxyType({})

    def copy(self) -> Table:
        t = Table.__new__(Table)
        t.spec, t.name = self.spec, self.name
        t.ipsets = self.ipsets
        t.chains = {n: c.copy() for n, c in self.chains.items()}
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

    def flush(self) -> None:
        """What iptables-restore does at ``*table`` without --noflush."""
        for name in list(self.chains):
            c = self.chains[name]
            if c.builtin:
                c.rules = []
            else:
                del self.chains[name]

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


class Ruleset:
    """An IPv4 ruleset: the tables the kernel has loaded, as iptables-save sees them.

    >>> text = "*filter\\n:INPUT DROP [0:0]\\n-A INPUT -p tcp --dport 22 -j ACCEPT\\nCOMMIT\\n"
    >>> rs = Ruleset.from_save(text)
    >>> rs.apply("-A INPUT -i lo -j ACCEPT")
    ''
    >>> print(rs.save(header=False), end="")
    *filter
    :INPUT DROP [0:0]
    :FORWARD ACCEPT [0:0]
    :OUTPUT ACCEPT [0:0]
    -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
    -A INPUT -i lo -j ACCEPT
    COMMIT
    """

    def __init__(self, family: Family = IPV4) -> None:
        self.family = family
        self.tables: dict[str, Table] = {}
        # The ipsets that exist in the kernel (name -> family "inet", "inet6" or "unspec"):
        # iptables looks a -m set/-j SET name up there and refuses an unknown one.
        self.ipsets: dict[str, str] = {}
        # Moves each time a table is installed or instantiated: engines built on this ruleset
        # recompute what depends on the loaded rules (conntrack activation, hook lists).
        self.generation = 0

    # --- construction -------------------------------------------------------

    @classmethod
    def from_save(cls, text: str, *, counters: bool = True) -> Ruleset:
        """The ruleset of the host whose iptables-save printed *text*; counters kept by default.

        Its tables keep the text's order (iptables-save's): :meth:`restore` is what
        iptables-restore does on a host, which lists the tables it instantiates
        newest first.
        """
        rs = cls()
        rs.restore_saved(text, counters=counters)
        return rs

    def restore_saved(self, text: str, *, counters: bool = True) -> None:
        """Load iptables-save text of a host (a state file) with its tables in the host's order.

        iptables-save lists tables most recently instantiated first, so the
        tables new to this ruleset were instantiated in the reverse order of
        the text; they come after the ones it already had.
        """
        before = list(self.tables)
        self.restore(text, counters=counters)
        new = [name for name in self.tables if name not in before]
        self.tables = {**{n: self.tables[n] for n in before}, **{n: self.tables[n] for n in reversed(new)}}

    @classmethod
    def from_file(cls, path: str, *, counters: bool = True) -> Ruleset:
        with open(path, "rb") as f:  # no newline translation: iptables refuses a CR as it is
            return cls.from_save(f.read().decode("utf-8", "surrogateescape"), counters=counters)

    def table(self, name: str) -> Table:
        """The table, loading it (empty, policies ACCEPT) on first use like the kernel."""
        t = self.tables.get(name)
        if t is None:
            spec = self.family.tables.get(name)
            if spec is None:
                known = ", ".join(self.family.tables)
                raise ParameterProblem(f'can\'t initialize iptables table "{name}": expected one of {known}')
            t = Table(spec)
            self.tables[name] = t
            self.generation += 1
        return t

    def estimators(self) -> frozenset[str]:
        """The rate estimators the loaded tables' -j RATEEST rules keep alive."""
        return frozenset().union(*(rateest_names(t) for t in self.tables.values()))

    def commit(self, table: Table) -> None:
        """Check *table* as the kernel does and install it."""
        check_table(table, self.ipsets, self.estimators())
        self.tables[table.name] = table
        self.generation += 1

    # --- commands -----------------------------------------------------------

    def apply(self, command: str | list[str]) -> str:
        """Run one iptables command (``"-t nat -A PREROUTING ..."``); returns what it prints."""
        from pynetfilter.syntax.command import parse_command

        argv = shlex.split(command) if isinstance(command, str) else list(command)
        # A C program's argument ends at its first NUL byte: iptables sees no more of it.
        argv = [w.partition("\0")[0] if "\0" in w else w for w in argv]
        if argv and argv[0] in ("iptables", "iptables-legacy", "iptables-nft"):
            argv = argv[1:]
        cmd = parse_command(argv)
        return self.execute(cmd)

    def execute(self, cmd: Command) -> str:
        from pynetfilter.syntax import listing

        if not cmd.command:
            return ""
        if cmd.command not in ("V", "h") and cmd.table not in self.family.tables:
            raise TableMissing(f'can\'t initialize iptables table "{cmd.table}": Table does not exist '
                               f"(do you need to insmod?){did_you_mean(cmd.table, self.family.tables)}")
        if cmd.command in ("L", "S"):
            table = self.table(cmd.table)
            if cmd.chain is not None and cmd.chain not in table.chains:
                raise KernelRefusal(f'No chain/target/match by that name: "{cmd.chain}" in {table.name}'
                                    f"{did_you_mean(cmd.chain, table.chains)}")
            out = listing.list_rules(table, cmd) if cmd.command == "S" else listing.list_table(table, cmd)
            if cmd.zero_too:
                work = table.copy()
                work.ipsets = self.ipsets
                for ch in work.chains.values():
                    if ch.builtin:
                        ch.packets = ch.bytes = 0
                out += _zero(work, cmd.chain, cmd.rulenum if cmd.zero_num else None, cmd.verbose > 0)
                self.tables[table.name] = work
            return out
        if cmd.command == "V":
            return f"pynf iptables v{VERSION}\n"
        if cmd.command == "h":
            return "usage: iptables -[ACD] chain rule-specification [options]\n"
        work = self.table(cmd.table).copy()
        work.ipsets = self.ipsets
        if cmd.command != "C":
            # libiptc reads policy counters as "zeroed": replacing the table resets them.
            for ch in work.chains.values():
                if ch.builtin:
                    ch.packets = ch.bytes = 0
        result = apply_command(work, cmd)
        if cmd.command != "C":
            self.commit(work)
        return result

    # --- restore / save -----------------------------------------------------

    def restore(self, text: str, *, noflush: bool = False, counters: bool = False,
                table: str | None = None) -> None:
        """iptables-restore: each ``*table ... COMMIT`` block is checked and installed whole.

        As with iptables-restore, blocks before a failing one stay installed;
        the failing block and everything after it change nothing.
        """
        from pynetfilter.syntax.restore import restore_blocks

        # A load builds millions of objects and no reference cycles: the cyclic
        # collector would rescan the growing heap again and again for nothing.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for block in restore_blocks(text):
                if table is not None and block.table != table:
                    continue
                self._restore_block(block, noflush=noflush, counters=counters)
        finally:
            if was_enabled:
                gc.enable()

    def _restore_block(self, block: object, *, noflush: bool, counters: bool) -> None:
        from pynetfilter.syntax.restore import Block, apply_block

        assert isinstance(block, Block)
        if block.table not in self.family.tables:
            raise ParameterProblem(f'unable to initialize table "{block.table}": expected one of '
                                   + ", ".join(self.family.tables)
                                   + did_you_mean(block.table, self.family.tables), line=block.line)
        base = self.table(block.table)
        work = base.copy()
        work.ipsets = self.ipsets
        apply_block(work, block, noflush=noflush, counters=counters)
        try:
            check_table(work, self.ipsets, self.estimators())
        except PynfError as e:
            raise e.at_line(block.commit_line) from None
        self.tables[work.name] = work
        self.generation += 1

    def save(self, *, counters: bool = False, table: str | None = None, header: bool = True,
             now: float | None = None, exact: bool = False) -> str:
        """iptables-save text: tables most recently instantiated first, as the kernel lists them.

        The header and footer lines are iptables-save's own, dated with ctime()
        at *now* (default: $SOURCE_DATE_EPOCH if set, else the clock), in local
        time.  Saving one *table* instantiates it, as ``iptables-save -t`` does.
        """
        if table is not None:
            if table not in self.family.tables:
                raise KernelRefusal("Cannot initialize: Table does not exist (do you need to insmod?): "
                                    f'"{table}"{did_you_mean(table, self.family.tables)}')
            self.table(table)
        stamp = save_stamp(now)
        out: list[str] = []
        for t in reversed(self.tables.values()):
            if table is not None and t.name != table:
                continue
            if header:
                out.append(f"# Generated by iptables-save v{IPTABLES_VERSION} on {stamp}\n")
            out.append(t.save(counters, exact))
            if header:
                out.append(f"# Completed on {stamp}\n")
        return "".join(out)

    def __iter__(self) -> Iterable[Table]:
        return iter(self.tables.values())
