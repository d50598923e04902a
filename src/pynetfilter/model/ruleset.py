"""Tables, chains and the Ruleset: the state iptables edits and the kernel checks.

Every change is made to a copy of the table and checked as the kernel checks a
replaced table (:func:`check_table`); only a table that passes replaces the
old one.  So a refused command or restore block changes nothing, as in the
kernel, where a table is swapped whole or not at all.
"""

from __future__ import annotations

import gc
import shlex
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal, ParameterProblem, PynfError, TableMissing
from pynetfilter.ext import find_target
from pynetfilter.model.check import check_table
from pynetfilter.model.rule import Jump, Rule
from pynetfilter.model.tables import IPV4, STANDARD_VERDICTS, Family, TableSpec

if TYPE_CHECKING:
    from pynetfilter.syntax.command import Command

VERSION = "0.1.0"


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
            raise KernelRefusal(f'No chain/target/match by that name: "{name}" in table {self.name}')
        return c

    def user_chains(self) -> list[Chain]:
        """User chains in libiptc's order (sorted by name, byte-wise)."""
        users = [c for c in self.chains.values() if not c.builtin]
        users.sort(key=lambda c: c.name.encode())
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

    def save(self, counters: bool = False) -> str:
        out = [f"*{self.name}"]
        chains = self.ordered_chains()
        for c in chains:
            if c.builtin:
                out.append(f":{c.name} {c.policy} [{c.packets}:{c.bytes}]")
            else:
                out.append(f":{c.name} - [0:0]")
        # Rules share interned match/target/IP objects: render each once.
        texts: dict[int, str] = {}
        for c in chains:
            head = f"-A {c.name}"
            for r in c.rules:
                text = head + r.save_spec(texts)
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

    # --- construction -------------------------------------------------------

    @classmethod
    def from_save(cls, text: str, *, counters: bool = True) -> Ruleset:
        """A ruleset from iptables-save (or iptables-restore) text; counters kept by default."""
        rs = cls()
        rs.restore(text, counters=counters)
        return rs

    @classmethod
    def from_file(cls, path: str, *, counters: bool = True) -> Ruleset:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return cls.from_save(f.read(), counters=counters)

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
        return t

    def commit(self, table: Table) -> None:
        """Check *table* as the kernel does and install it."""
        check_table(table, self.ipsets)
        self.tables[table.name] = table

    # --- commands -----------------------------------------------------------

    def apply(self, command: str | list[str]) -> str:
        """Run one iptables command (``"-t nat -A PREROUTING ..."``); returns what it prints."""
        from pynetfilter.syntax.command import parse_command

        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if argv and argv[0] in ("iptables", "iptables-legacy", "iptables-nft"):
            argv = argv[1:]
        cmd = parse_command(argv)
        return self.execute(cmd)

    def execute(self, cmd: Command) -> str:
        from pynetfilter.syntax import listing

        if not cmd.command:
            return ""
        if cmd.command not in ("V", "h") and cmd.table not in self.family.tables:
            raise TableMissing(f'can\'t initialize iptables table "{cmd.table}": Table does not exist')
        if cmd.command in ("L", "S"):
            table = self.table(cmd.table)
            if cmd.chain is not None and cmd.chain not in table.chains:
                raise KernelRefusal(f'No chain/target/match by that name: "{cmd.chain}" in {table.name}')
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
        try:
            base = self.table(block.table)
        except PynfError as e:
            raise e.at_line(block.line) from None
        work = base.copy()
        work.ipsets = self.ipsets
        apply_block(work, block, noflush=noflush, counters=counters)
        try:
            check_table(work, self.ipsets)
        except PynfError as e:
            raise e.at_line(block.commit_line) from None
        self.tables[work.name] = work

    def save(self, *, counters: bool = False, table: str | None = None, header: bool = True) -> str:
        """iptables-save text; tables in the order they were loaded."""
        out: list[str] = []
        stamp = time.strftime("%a %b %e %H:%M:%S %Y").replace("  ", " ")
        for t in self.tables.values():
            if table is not None and t.name != table:
                continue
            if header:
                out.append(f"# Generated by pynf-save v{VERSION} on {stamp}\n")
            out.append(t.save(counters))
            if header:
                out.append(f"# Completed on {stamp}\n")
        return "".join(out)

    def __iter__(self) -> Iterable[Table]:
        return iter(self.tables.values())


# --- the commands on a table copy ----------------------------------------------


def _resolve_jumps(table: Table, cmd: Command) -> None:
    """Resolve -j/-g against the table as do_command4 does.

    A name that is an existing chain is a jump to it (even when an extension has
    the same name); a name that is neither an extension nor a chain is refused.
    """
    name = cmd.jumpto or cmd.jump or ""
    if name and name in table.chains:
        chain = table.chains[name]
        if cmd.rules and not isinstance(cmd.rules[0].target, Jump):
            cmd.rules = [Rule(r.ip, r.matches, Jump(name, cmd.goto), r.packets, r.bytes) for r in cmd.rules]
        if chain.builtin:
            raise KernelRefusal(f'Invalid argument: cannot jump to built-in chain "{name}"')
        return
    if cmd.jump is None:
        return
    if cmd.goto:
        raise ParameterProblem(f'goto "{cmd.jump}" is not a chain: expected a user chain of {table.name}')
    raise ParameterProblem(f'Couldn\'t load target "{cmd.jump}": expected a target extension or a chain')


def _check_iface_direction(cmd: Command) -> None:
    """-o in PREROUTING/INPUT and -i in POSTROUTING/OUTPUT, by chain name (the parser checks
    this too; kept for commands built without it)."""
    for r in cmd.rules[:1]:
        if cmd.chain in ("PREROUTING", "INPUT") and r.ip.outiface:
            raise ParameterProblem(f"Can't use -o with {cmd.chain}")
        if cmd.chain in ("POSTROUTING", "OUTPUT") and r.ip.iniface:
            raise ParameterProblem(f"Can't use -i with {cmd.chain}")


def _zero(table: Table, chain: str | None, rulenum: int | None, verbose: bool = False) -> str:
    """-Z [chain [rulenum]]: zero rule counters (and policy counters when not one rule)."""
    chains = [table.chain(chain)] if chain is not None else table.ordered_chains()
    out = []
    for c in chains:
        if rulenum is not None:
            if rulenum > len(c.rules):
                raise KernelRefusal("Index of counter too big")
            targets = [rulenum - 1]
        else:
            if verbose:
                out.append(f"Zeroing chain `{c.name}'\n")
            targets = list(range(len(c.rules)))
            c.packets = c.bytes = 0
        for i in targets:
            old = c.rules[i]
            c.rules[i] = Rule(old.ip, old.matches, old.target)
    return "".join(out)


def _check_new_chain_name(table: Table, name: str) -> None:
    if name in STANDARD_VERDICTS or find_target(name) is not None:
        raise ParameterProblem(f'chain name "{name}" may not clash with target name')
    if name in table.chains:
        raise KernelRefusal("Chain already exists")
    if name.startswith("-") or name.startswith("!"):
        raise ParameterProblem(f'chain name "{name}" not allowed to start with "-" or "!"')


def _rule_command(table: Table, cmd: Command) -> str:
    """-A/-I/-R/-D/-C with a rule specification; -v prints each rule first."""
    from pynetfilter.syntax.listing import format_rule_line

    c = cmd.command
    assert cmd.chain is not None
    _check_iface_direction(cmd)
    _resolve_jumps(table, cmd)
    for r in cmd.rules:
        for m in r.matches:
            if m.resolves:
                m.resolve(table.ipsets)
    chain = table.chains.get(cmd.chain)
    if chain is None:
        raise KernelRefusal(f'No chain/target/match by that name: "{cmd.chain}" in table {table.name}')
    out = [format_rule_line(r) for r in cmd.rules] if cmd.verbose else []
    if c == "A":
        chain.rules.extend(cmd.rules)
    elif c == "I":
        pos = (cmd.rulenum or 1) - 1
        if pos > len(chain.rules):
            raise KernelRefusal("Index of insertion too big")
        for r in cmd.rules:
            chain.rules.insert(pos, r)
    elif c == "R":
        pos = (cmd.rulenum or 1) - 1
        if pos >= len(chain.rules):
            raise KernelRefusal("Index of replacement too big")
        chain.rules[pos] = cmd.rules[0]
    else:
        for r in cmd.rules:
            try:
                idx = chain.rules.index(r)
            except ValueError:
                raise KernelRefusal("Bad rule (does a matching rule exist in that chain?)") from None
            if c == "D":
                del chain.rules[idx]
    return "".join(out)


def apply_command(table: Table, cmd: Command) -> str:
    """Apply one editing command to *table* (a working copy); returns what iptables prints."""
    c = cmd.command
    if not c:
        return ""  # a line iptables-restore ignores (-6)
    if c in ("A", "C", "I", "R") or (c == "D" and cmd.rules):
        return _rule_command(table, cmd)
    out: list[str] = []
    if c == "D":
        chain = table.chain(cmd.chain or "")
        assert cmd.rulenum is not None
        if cmd.rulenum > len(chain.rules):
            raise KernelRefusal("Index of deletion too big")
        del chain.rules[cmd.rulenum - 1]
    elif c == "N":
        assert cmd.chain is not None
        _check_new_chain_name(table, cmd.chain)
        table.chains[cmd.chain] = Chain(cmd.chain)
    elif c == "X":
        names = [cmd.chain] if cmd.chain else [ch.name for ch in table.user_chains()]
        for name in names:
            if cmd.verbose:
                out.append(f"Deleting chain `{name}'\n")
            ch = table.chain(name)
            if ch.builtin:
                raise KernelRefusal(f"Can't delete built-in chain {name}")
            if table.references(name):
                raise KernelRefusal(f"Too many links: chain {name} is referenced")
            if ch.rules:
                raise KernelRefusal(f"Directory not empty: chain {name} has rules")
            del table.chains[name]
    elif c == "F":
        chains = [table.chain(cmd.chain)] if cmd.chain else table.ordered_chains()
        for ch in chains:
            if cmd.verbose:
                out.append(f"Flushing chain `{ch.name}'\n")
            ch.rules = []
    elif c == "Z":
        out.append(_zero(table, cmd.chain, cmd.rulenum, cmd.verbose > 0))
    elif c == "E":
        _rename_chain(table, cmd.chain or "", cmd.newname or "")
    elif c == "P":
        ch = table.chain(cmd.chain or "")
        policy = cmd.newname or ""
        if not ch.builtin:
            raise KernelRefusal(f"Bad built-in chain name {ch.name}: policies are for built-in chains")
        if policy not in ("ACCEPT", "DROP"):
            raise KernelRefusal(f'Bad policy name "{policy}": expected ACCEPT or DROP')
        ch.policy = policy
        if cmd.counters is not None:
            ch.packets, ch.bytes = cmd.counters
    return "".join(out)


def _rename_chain(table: Table, old: str, new: str) -> None:
    """libiptc's rename: the new name must be free, the old one a user chain; jumps follow."""
    if new in table.chains or new in STANDARD_VERDICTS:
        raise KernelRefusal(f'File exists: chain "{new}" already exists')
    ch = table.chains.get(old)
    if ch is None or ch.builtin:
        raise KernelRefusal(f'No chain/target/match by that name: "{old}" is no user chain')
    if len(new.encode()) > 28:
        raise KernelRefusal(f'Invalid argument: chain name "{new}" longer than 28 characters')
    table.chains = {(new if n == old else n): v for n, v in table.chains.items()}
    ch.name = new
    for chn in table.chains.values():
        for i, r in enumerate(chn.rules):
            if type(r.target) is Jump and r.target.chain == old:
                chn.rules[i] = Rule(r.ip, r.matches, Jump(new, r.target.goto), r.packets, r.bytes)
