"""The iptables commands (-A -I -R -D -C -N -X -F -Z -E -P) applied to a working copy of a table.

Each function changes only the copy it is given and raises a PynfError with
libiptc's wording (the errno text iptables prints first) where iptables
refuses; Ruleset.execute() and iptables-restore's blocks then check the copy
as the kernel does before it replaces the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext import TARGETS, find_target
from pynetfilter.model.rule import Jump, Rule
from pynetfilter.model.suggest import did_you_mean
from pynetfilter.model.tables import STANDARD_VERDICTS

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Table
    from pynetfilter.syntax.command import Command


def _resolve_jumps(table: Table, cmd: Command) -> None:
    """Resolve -j/-g against the table as do_command4 does.

    A name that is an existing chain is a jump to it (even when an extension has
    the same name); a name that is neither an extension nor a chain is refused,
    with the nearest target or user chain suggested.
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
    users = [c.name for c in table.user_chains()]
    if cmd.goto:
        hint = did_you_mean(name, users) or f": expected a user chain of {table.name}"
        raise ParameterProblem(f'goto "{name}" is not a chain{hint}')
    hint = did_you_mean(name, [*STANDARD_VERDICTS, *TARGETS, *users])
    raise ParameterProblem(f'Couldn\'t load target "{name}": No such file or directory'
                           f"{hint or ': expected a target extension or a chain'}")


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
        ed = table.edit(c.name)
        if rulenum is None:
            ed.chain.packets = ed.chain.bytes = 0
        for i in targets:
            old = ed.rules[i]
            ed.replace(i, Rule(old.ip, old.matches, old.target))
    return "".join(out)


def _check_new_chain_name(table: Table, name: str) -> None:
    if name in STANDARD_VERDICTS or find_target(name) is not None:
        raise ParameterProblem(f'chain name may not clash with target name: "{name}"')
    if name in table.chains:
        raise KernelRefusal("Chain already exists")
    if name.startswith("-") or name.startswith("!"):
        raise ParameterProblem(f'chain name not allowed to start with "{name[0]}": "{name}"')


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
        if getattr(r.target, "resolves", False):  # -j SET names sets too
            r.target.resolve(table.ipsets)  # type: ignore[union-attr]
    found = table.chains.get(cmd.chain)
    if found is None:
        hint = did_you_mean(cmd.chain, table.chains)
        if c in ("C", "D"):  # libiptc's TC_CHECK_ENTRY/TC_DELETE_ENTRY wording for ENOENT
            raise KernelRefusal("Bad rule (does a matching rule exist in that chain?): "
                                f'no chain "{cmd.chain}" in table {table.name}{hint}')
        raise KernelRefusal(f'No chain/target/match by that name: "{cmd.chain}" in table {table.name}{hint}')
    out = [format_rule_line(r) for r in cmd.rules] if cmd.verbose else []
    # -C changes nothing: it reads the chain as it is.
    chain = found if c == "C" else table.edit(cmd.chain)
    if c == "A":
        for r in cmd.rules:
            chain.append(r)
    elif c == "I":
        pos = (cmd.rulenum or 1) - 1
        if pos > len(chain.rules):
            raise KernelRefusal("Index of insertion too big")
        for r in cmd.rules:
            chain.insert(pos, r)
    elif c == "R":
        pos = (cmd.rulenum or 1) - 1
        if pos >= len(chain.rules):
            raise KernelRefusal("Index of replacement too big")
        chain.replace(pos, cmd.rules[0])
    else:
        for r in cmd.rules:
            try:
                idx = chain.rules.index(r)
            except ValueError:
                if type(r.target) is Jump:  # what iptables prints when a rule jumping to a chain is missing
                    raise KernelRefusal("No chain/target/match by that name: no such rule jumping to "
                                        f"{r.target.chain} in chain {cmd.chain}") from None
                raise KernelRefusal("Bad rule (does a matching rule exist in that chain?)") from None
            if c == "D":
                chain.delete(idx)
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
        table.edit(chain.name).delete(cmd.rulenum - 1)
    elif c == "N":
        assert cmd.chain is not None
        _check_new_chain_name(table, cmd.chain)
        table.add_chain(cmd.chain)
    elif c == "X":
        names = [cmd.chain] if cmd.chain else [ch.name for ch in table.user_chains()]
        # Without a name iptables tries every user chain and reports the last failure.
        failed: KernelRefusal | None = None
        for name in names:
            if cmd.verbose:
                out.append(f"Deleting chain `{name}'\n")
            ch = table.chain(name)
            if ch.builtin:
                raise KernelRefusal(f"Invalid argument: can't delete built-in chain {name}")
            if table.references(name):
                failed = KernelRefusal(f"Too many links: chain {name} is referenced")
            elif ch.rules:
                failed = KernelRefusal(f"Directory not empty: chain {name} has rules")
            else:
                table.remove_chain(name)
        if failed is not None:
            raise failed
    elif c == "F":
        chains = [table.chain(cmd.chain)] if cmd.chain else table.ordered_chains()
        for ch in chains:
            if cmd.verbose:
                out.append(f"Flushing chain `{ch.name}'\n")
            table.edit(ch.name).flush()
    elif c == "Z":
        out.append(_zero(table, cmd.chain, cmd.rulenum, cmd.verbose > 0))
    elif c == "E":
        _rename_chain(table, cmd.chain or "", cmd.newname or "")
    elif c == "P":
        policy = cmd.newname or ""
        ch = table.chains.get(cmd.chain or "")
        if ch is None or not ch.builtin:  # libiptc: ENOENT for both
            builtins = [h.name for h in table.spec.hooks]
            raise KernelRefusal(f'Bad built-in chain name: "{cmd.chain}"'
                                + (did_you_mean(cmd.chain or "", builtins)
                                   or ": expected one of " + ", ".join(builtins)))
        if policy not in ("ACCEPT", "DROP"):
            raise KernelRefusal(f'Bad policy name "{policy}"'
                                f"{did_you_mean(policy, ('ACCEPT', 'DROP')) or ': expected ACCEPT or DROP'}")
        ch = table.edit(ch.name).chain
        ch.policy = policy
        # iptc_set_policy without counters maps the policy's counters to none: zeroed at commit
        # (so a "-P" line in a -c restore undoes the ":CHAIN POLICY [p:b]" before it).
        ch.packets, ch.bytes = cmd.counters if cmd.counters is not None else (0, 0)
    return "".join(out)


def _rename_chain(table: Table, old: str, new: str) -> None:
    """libiptc's rename: the new name must be free, the old one a user chain; jumps follow."""
    if new in table.chains or new in STANDARD_VERDICTS:
        raise KernelRefusal(f'File exists: chain "{new}" already exists')
    ch = table.chains.get(old)
    if ch is None or ch.builtin:
        users = [c.name for c in table.user_chains()]
        raise KernelRefusal(f'No chain/target/match by that name: "{old}" is no user chain'
                            f"{did_you_mean(old, users)}")
    wide = len(new.encode("utf-8", "surrogateescape"))
    if wide > 31:  # libiptc: the name and its NUL must fit an ipt_chainlabel (32 bytes)
        raise KernelRefusal(f'Invalid argument: chain name "{new}" longer than 31 bytes')
    if wide > 28:
        # The kernel keeps the first 29 bytes (the ERROR target's errorname), a name no later
        # iptables command accepts (28 chars max): pynetfilter refuses it instead of keeping it.
        raise KernelRefusal(f'Invalid argument: chain name "{new}" longer than 28 characters (iptables '
                            "1.8.9 would keep its first 29 bytes, a name no iptables command can give)")
    table.rename_chain(old, new)
    for name in table.jumpers(old):  # the chains that may jump to it, the renamed one too
        chn = table.chains.get(name)
        if chn is None:
            continue
        hits = [i for i, r in enumerate(chn.rules) if type(r.target) is Jump and r.target.chain == old]
        if hits:
            ed = table.edit(name)
            for i in hits:
                r = ed.rules[i]
                ed.replace(i, Rule(r.ip, r.matches, Jump(new, r.target.goto), r.packets, r.bytes))  # type: ignore[union-attr]
