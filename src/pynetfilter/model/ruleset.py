"""Chains and the Ruleset: the state iptables edits and the kernel checks.

Every change is made to a working copy of the table and checked as the kernel
checks a replaced table; only a table that passes replaces the old one.  So a
refused command or restore block changes nothing, as in the kernel, where a
table is swapped whole or not at all.  The copy is copy-on-write over the
committed table (pynetfilter.model.working) and the check looks only at what
the change can change (pynetfilter.model.incremental), so a change costs time
in proportion to itself, not to the ruleset; ``Ruleset.incremental = False``
keeps the reference path: a whole copy, checked whole (check_table).
"""

from __future__ import annotations

import gc
import os
import shlex
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pynetfilter.errors import KernelRefusal, ParameterProblem, PynfError, TableMissing
from pynetfilter.model.check import check_table
from pynetfilter.model.commands import _zero, apply_command
from pynetfilter.model.rule import Rule
from pynetfilter.model.state import build_state, table_estimators
from pynetfilter.model.suggest import did_you_mean
from pynetfilter.model.table import Table
from pynetfilter.model.tables import IPV4, Family

if TYPE_CHECKING:
    from pynetfilter.syntax.command import Command

VERSION = "0.1.0"
# The iptables whose output pynetfilter reproduces (iptables-save's header names it).
IPTABLES_VERSION = "1.8.9"
# New rulesets check changes incrementally (Ruleset.incremental).
INCREMENTAL = True


def save_stamp(now: float | None = None) -> str:
    """iptables-save's date: ctime() of *now*, $SOURCE_DATE_EPOCH or the clock (day padded: "Dec  2")."""
    if now is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
        now = float(epoch) if (epoch.isascii() and epoch.isdigit()) else time.time()
    return time.asctime(time.localtime(now))


class Chain:
    """A chain: built-in ones have a policy and policy counters.

    Edits go through :meth:`append`, :meth:`insert`, :meth:`replace`, :meth:`delete` and
    :meth:`flush` (never ``chain.rules`` directly): they log what changed, so the fast path's
    compiled form of the chain (``pynetfilter.fastpath``) follows in time proportional to the
    edit, not to the chain.  ``base`` is a compiled form and its version from which ``edits``
    lead to this chain's rules; ``compiled`` is this chain's own, current when ``edits`` is empty.
    """

    __slots__ = ("name", "rules", "policy", "packets", "bytes", "base", "edits", "serial")

    def __init__(self, name: str, policy: str | None = None) -> None:
        self.name = name
        self.rules: list[Rule] = []
        self.policy = policy
        self.packets = 0
        self.bytes = 0
        self.base: tuple[Any, int] | None = None
        self.edits: list[tuple[Any, ...]] = []
        self.serial = 0  # moves at every edit: caches of what a chain's rules need key on it

    @property
    def builtin(self) -> bool:
        return self.policy is not None

    def copy(self) -> Chain:
        c = Chain(self.name, self.policy)
        c.rules = list(self.rules)
        c.packets, c.bytes = self.packets, self.bytes
        if self.base is not None:  # both copies may follow the compiled form; the first one takes it
            c.base, c.edits = self.base, list(self.edits)
        return c

    # --- edits (logged for the compiled form) -----------------------------------

    def _log(self, edit: tuple[Any, ...]) -> None:
        self.serial += 1
        if self.base is None:
            return
        self.edits.append(edit)
        if len(self.edits) > 64 + (len(self.rules) >> 3):  # replaying would cost more than compiling
            self.base, self.edits = None, []

    def append(self, rule: Rule) -> None:
        self.rules.append(rule)
        self._log(("insert", len(self.rules) - 1, rule))

    def insert(self, index: int, rule: Rule) -> None:
        self.rules.insert(index, rule)
        self._log(("insert", index, rule))

    def replace(self, index: int, rule: Rule) -> None:
        self.rules[index] = rule
        self._log(("replace", index, rule))

    def delete(self, index: int) -> None:
        del self.rules[index]
        self._log(("delete", index))

    def flush(self) -> None:
        self.rules = []
        self._log(("flush",))

    def __repr__(self) -> str:
        return f"Chain({self.name!r}, {len(self.rules)} rules)"


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
        # Check changes incrementally (pynetfilter.model.incremental); False: the reference path,
        # a whole copy of the table checked whole each time.
        self.incremental = INCREMENTAL

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
        return frozenset().union(*(table_estimators(t) for t in self.tables.values()))

    def commit(self, table: Table) -> None:
        """Check *table* as the kernel does and install it."""
        estimators = self.estimators()
        marks = check_table(table, self.ipsets, estimators)
        self.tables[table.name] = table
        table.checked = build_state(table, marks, self.ipsets, estimators) if self.incremental else None
        self.generation += 1

    def _begin(self, name: str) -> Table:
        """The working copy of table *name* a change is made to (copy-on-write unless the
        reference path is asked for)."""
        from pynetfilter.model.working import WorkTable

        table = self.table(name)
        work = WorkTable(table, table.checked) if self.incremental else table.copy()
        work.ipsets = self.ipsets
        return work

    def _install(self, work: Table, check: bool = True) -> None:
        """Check *work* (unless not *check*) and make it the table."""
        from pynetfilter.model import incremental
        from pynetfilter.model.working import WorkTable

        if not isinstance(work, WorkTable):  # the reference path: the whole copy replaces the table
            if check:
                check_table(work, self.ipsets, self.estimators())
            self.tables[work.name] = work
        elif check:
            others = frozenset().union(*(table_estimators(t) for t in self.tables.values()
                                         if t is not work.base))
            incremental.commit(work, self.ipsets, others)
        else:  # -L -Z: the same rules, new counters (what the check found still holds)
            work.install()

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
                work = self._begin(table.name)
                work.zero_policies()
                out += _zero(work, cmd.chain, cmd.rulenum if cmd.zero_num else None, cmd.verbose > 0)
                self._install(work, check=False)
            return out
        if cmd.command == "V":
            return f"pynf iptables v{VERSION}\n"
        if cmd.command == "h":
            return "usage: iptables -[ACD] chain rule-specification [options]\n"
        work = self._begin(cmd.table)
        if cmd.command != "C":
            work.zero_policies()
        result = apply_command(work, cmd)
        if cmd.command != "C":
            self._install(work)
            self.generation += 1
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
        work = self._begin(block.table)
        apply_block(work, block, noflush=noflush, counters=counters)
        try:
            self._install(work)
        except PynfError as e:
            raise e.at_line(block.commit_line) from None
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
