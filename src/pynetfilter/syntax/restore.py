"""iptables-restore input: ``*table``, ``:CHAIN POLICY [p:b]``, rule lines, ``COMMIT``.

The line rules are iptables-restore's: a line starting with ``#`` is a
comment, an empty line is skipped, ``COMMIT`` must be exactly that, a rule
line may begin with a ``[packets:bytes]`` prefix (honoured only with
--counters), and words are split by add_param_to_argv(): double quotes group,
a backslash inside quotes takes the next character literally, single quotes
are ordinary characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pynetfilter.errors import ParameterProblem, PynfError, RestoreError
from pynetfilter.ext.types import strtoul

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Table


@dataclass(slots=True)
class ChainLine:
    line: int
    name: str
    policy: str
    counters: str | None


@dataclass(slots=True)
class RuleLine:
    line: int
    argv: list[str]
    counters: tuple[str, str] | None


@dataclass(slots=True)
class Block:
    table: str
    line: int
    items: list[ChainLine | RuleLine] = field(default_factory=list)
    commit_line: int = 0


def split_params(text: str) -> list[str]:
    """add_param_to_argv(): split a rule line into words."""
    out: list[str] = []
    buf: list[str] = []
    quote = False
    escaped = False
    have = False  # a word is open (possibly empty, after "")
    for ch in text:
        if quote:
            if escaped:
                buf.append(ch)
                escaped = False
                continue
            if ch == "\\":
                escaped = True
                continue
            if ch != '"':
                buf.append(ch)
                continue
            quote = False
            out.append("".join(buf))
            buf, have = [], False
            continue
        if ch == '"':
            quote = True
            have = True
            continue
        if ch in " \t\n\r\v\f":
            if buf or have:
                out.append("".join(buf))
                buf, have = [], False
            continue
        buf.append(ch)
        have = True
    if quote:
        raise ParameterProblem("unterminated quote: expected a closing \"")
    if buf or have:
        out.append("".join(buf))
    return out


def _counter_prefix(text: str, line: int) -> tuple[tuple[str, str], str]:
    end = text.find("]")
    if end < 0:
        raise RestoreError(f'bad counters "{text.split()[0]}": need ]', line=line)
    inner = text[1:end]
    if ":" not in inner:
        raise RestoreError(f'bad counters "[{inner}]": need :', line=line)
    pk, _, by = inner.partition(":")
    if not by:
        raise RestoreError(f'bad counters "[{inner}]": need ]', line=line)
    return (pk, by), text[end + 1:]


def restore_blocks(text: str) -> list[Block]:
    """Split restore input into table blocks.  Structural errors raise RestoreError."""
    blocks: list[Block] = []
    cur: Block | None = None
    lineno = 0
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if raw == "" or raw[0] == "#":
            continue
        line = raw.rstrip("\r") if raw.endswith("\r") else raw
        if line == "COMMIT" and cur is not None:
            cur.commit_line = lineno
            blocks.append(cur)
            cur = None
        elif line[:1] == "*" and cur is None:
            words = line[1:].split()
            if not words:
                raise RestoreError("table name invalid: expected *raw, *mangle, *nat, *filter or *security",
                                   line=lineno)
            cur = Block(words[0], lineno)
        elif line[:1] == ":" and cur is not None:
            words = line[1:].split()
            if not words:
                raise RestoreError('chain name invalid: expected ":CHAIN POLICY [packets:bytes]"', line=lineno)
            if len(words) < 2:
                raise RestoreError(f'can\'t parse policy name of chain "{words[0]}": expected a policy or -',
                                   line=lineno)
            cur.items.append(ChainLine(lineno, words[0], words[1], words[2] if len(words) > 2 else None))
        elif cur is not None:
            counters = None
            body = line
            if line[:1] == "[":
                counters, body = _counter_prefix(line, lineno)
            try:
                argv = split_params(body)
            except PynfError as e:
                raise e.at_line(lineno) from None
            cur.items.append(RuleLine(lineno, argv, counters))
        else:
            word = line.split()[0] if line.split() else line
            raise RestoreError(f'unexpected "{word}" outside a table: expected *table', line=lineno)
    if cur is not None:
        # iptables-restore counts the missing COMMIT on the line after the last.
        raise RestoreError("COMMIT expected", line=lineno + (0 if text.endswith("\n") else 1))
    return blocks


def _parse_counters(text: str | None, chain: str, line: int) -> tuple[int, int]:
    if text is None or not (text.startswith("[") and text.endswith("]")):
        raise ParameterProblem(f'invalid policy counters for chain "{chain}": expected [packets:bytes]',
                               line=line)
    pk, sep, by = text[1:-1].partition(":")
    a, b = strtoul(pk, 10), strtoul(by, 10)
    if not sep or a is None or b is None or a[1] or b[1]:
        raise ParameterProblem(f'invalid policy counters for chain "{chain}": expected [packets:bytes]',
                               line=line)
    return a[0], b[0]


def apply_block(table: Table, block: Block, *, noflush: bool, counters: bool) -> None:
    """Apply one block's lines to *table* (a working copy); errors carry the line."""
    from pynetfilter.model.ruleset import Chain, _check_new_chain_name, apply_command
    from pynetfilter.syntax.command import MAX_NAME, parse_command

    if not noflush:
        table.flush()
    for item in block.items:
        try:
            if isinstance(item, ChainLine):
                name = item.name
                if len(name) > MAX_NAME:
                    raise ParameterProblem(f'Invalid chain name "{name}" ({MAX_NAME} chars max)')
                existing = table.chains.get(name)
                if existing is None or not existing.builtin:
                    if existing is not None and noflush:
                        existing.rules = []
                    else:
                        _check_new_chain_name(table, name)
                        table.chains[name] = Chain(name)
                if item.policy != "-":
                    ch = table.chains[name]
                    if not ch.builtin:
                        raise ParameterProblem(
                            f'Can\'t set policy "{item.policy}" on "{name}": Bad built-in chain name')
                    if item.policy not in ("ACCEPT", "DROP"):
                        raise ParameterProblem(
                            f'Can\'t set policy "{item.policy}" on "{name}": expected ACCEPT or DROP')
                    ch.policy = item.policy
                    if counters:
                        ch.packets, ch.bytes = _parse_counters(item.counters, name, item.line)
            else:
                argv = item.argv
                if counters and item.counters is not None:
                    argv = ["--set-counters", item.counters[0], item.counters[1], *argv]
                cmd = parse_command(argv, in_restore=True, default_table=block.table)
                apply_command(table, cmd)
        except PynfError as e:
            raise e.at_line(item.line) from None
