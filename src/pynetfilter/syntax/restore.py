"""iptables-restore input: ``*table``, ``:CHAIN POLICY [p:b]``, rule lines, ``COMMIT``.

Read line by line as iptables-restore 1.8.9 (legacy) reads it: a line is
skipped only when empty or starting with ``#``; ``COMMIT`` must be exactly
that; ``*table`` opens a block and ``:CHAIN`` declares a chain only in the
right state, and any other line inside a block is a command (so ``COMMIT ``
or ``*nat`` there is a bad argument) while outside a block it just fails.  A
rule line may begin with a ``[packets:bytes]`` prefix (honoured only with
--counters), and words are split by add_param_to_argv(): double quotes group,
a backslash inside quotes takes the next character literally, single quotes
are ordinary characters.  Errors carry the line iptables-restore blames.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal, ParameterProblem, PynfError, RestoreError
from pynetfilter.ext import find_target
from pynetfilter.model.rule import Rule
from pynetfilter.syntax.command import Command, CommandParser, parse_command
from pynetfilter.syntax.exact import MARK, PLACEHOLDER, read_mark
from pynetfilter.syntax.fastparse import fast_line

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Table

MAX_NAME = 28  # XT_EXTENSION_MAXNAMELEN - 1: the longest chain name a ":CHAIN" line may declare
MAX_ARGC = 255  # add_argv(): argv (with the program name, "-t", the table) stays below this
MAX_PARAM = 1023  # add_param(): the longest word, in bytes
_BUILTIN_LABELS = ("ACCEPT", "DROP", "QUEUE", "RETURN")  # iptc_create_chain() refuses these too
_DELIMS = " \t\n"


@dataclass(slots=True)
class ChainLine:
    line: int
    name: str
    policy: str
    counters: str | None


@dataclass(slots=True)
class RuleLine:
    """A command line, split into words only when applied (so a huge input is never held as words)."""

    line: int
    text: str
    # A rule kept exactly (pynetfilter.syntax.exact): its counters and words, already split.
    words: tuple[tuple[str, str] | None, list[str]] | None = None


@dataclass(slots=True)
class BadLine:
    """A line that fails when reached (after the lines before it have been applied)."""

    line: int
    error: PynfError


@dataclass(slots=True)
class Block:
    table: str
    line: int
    items: list[ChainLine | RuleLine | BadLine] = field(default_factory=list)
    commit_line: int = 0  # 0: the input ended before COMMIT
    # Chains named like a target extension declared so far in this input (shared by its blocks).
    announced: set[str] = field(default_factory=set)


# add_param_to_argv() separates words by space, tab and newline only.
_PLAIN_WORD = re.compile(r'[^ \t\n"]*"[^"]*"|[^ \t\n"]+')
_BLANKS = re.compile(r"[ \t\n]+")


def split_params(text: str) -> list[str]:
    """add_param_to_argv(): split a rule line into words."""
    if "\\" not in text:
        # Fast path (no escapes): a word is plain characters, optionally ended by one
        # quoted part; a closing quote ends the word.
        if '"' not in text:
            return [w for w in _BLANKS.split(text) if w]
        if text.count('"') % 2 == 0:
            return [w.replace('"', "") for w in _PLAIN_WORD.findall(text)]
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
        if ch in " \t\n":
            if buf or have:
                out.append("".join(buf))
                buf, have = [], False
            continue
        buf.append(ch)
        have = True
    if buf or (have and not quote):  # an unterminated quote just ends the word
        out.append("".join(buf))
    return out


def _strtok(buf: str, pos: int, delims: str) -> tuple[str | None, int]:
    """C strtok() on *buf* from *pos*: the token and where the next call starts."""
    n = len(buf)
    while pos < n and buf[pos] in delims:
        pos += 1
    if pos >= n:
        return None, n
    end = pos
    while end < n and buf[end] not in delims:
        end += 1
    return buf[pos:end], min(end + 1, n)


def _counter_prefix(text: str, line: int) -> tuple[tuple[str, str], str]:
    """tokenize_rule_counters(): split ``[p:b] rest`` with strtok's semantics."""
    end = text.find("]")
    if end < 0:
        raise ParameterProblem(f"Bad line {line}: need ]: expected [packets:bytes] before the rule")
    pk, pos = _strtok(text, 1, ":")
    if pk is None:
        raise ParameterProblem(f"Bad line {line}: need :: expected [packets:bytes] before the rule")
    by, pos2 = _strtok(text, pos, "]")
    if by is None:
        raise ParameterProblem(f"Bad line {line}: need ]: expected [packets:bytes] before the rule")
    # strtok wrote a NUL after each token: the rule text stops at the first one past the "]".
    nuls = [x for x in (pos - 1, pos2 - 1) if x > end and text[x] in ":]"]
    rest_end = min(nuls, default=len(text))
    return (pk, by), text[end + 1:rest_end]


def rule_words(raw: str, line: int = 0) -> tuple[tuple[str, str] | None, list[str]]:
    """A command line's ``[p:b]`` prefix (if any) and its words, with add_argv()'s limits."""
    counters = None
    body = raw
    if raw[:1] == "[":
        counters, body = _counter_prefix(raw, line)
    argv = split_params(body)
    if len(argv) + (6 if counters is not None else 3) >= MAX_ARGC:
        raise ParameterProblem(f"Parser cannot handle more arguments: expected at most {MAX_ARGC - 1}")
    if len(body) > MAX_PARAM // 4 and max(map(len, argv), default=0) > MAX_PARAM // 4:
        for w in argv:
            if len(w.encode("utf-8", "surrogateescape")) > MAX_PARAM:
                raise ParameterProblem(f"Parameter too long!: expected at most {MAX_PARAM} bytes")
    return counters, argv


_TOKEN = re.compile(r"[^ \t\n]+")  # strtok(" \t\n") tokens


def _chain_line(lineno: int, raw: str) -> ChainLine | BadLine:
    words = raw[1:].split(" ")
    if len(words) == 3 and words[0] and words[1] and words[2] and "\t" not in raw and "\n" not in raw:
        return ChainLine(lineno, words[0], words[1], words[2])  # ":CHAIN POLICY [p:b]", as saved
    words = _TOKEN.findall(raw, 1)
    if not words:
        return BadLine(lineno, ParameterProblem(f"line {lineno} chain name invalid: expected :CHAIN POLICY",
                                                line=lineno))
    words += ["", None]
    return ChainLine(lineno, words[0], words[1] or "", words[2])


FGETS_BUFFER = 10240  # iptables-restore's line buffer: fgets() hands over at most 10239 bytes at a time


def fgets_lines(text: str) -> Iterator[tuple[int, str, bool]]:
    """The lines iptables-restore's fgets() loop sees: (number, text, ended by a newline).

    A line of 10239 bytes or more comes in pieces, each counted as a line of its
    own (so a long line can split a word, or hold two rules); a NUL byte ends
    the line where it stands (C strings), newline included.
    """
    lines = text.split("\n")
    last = len(lines)  # lines[-1] is what follows the last newline ("" when the text ends with one)
    if lines[-1] == "":
        lines.pop()
    if "\0" not in text and (not lines or max(map(len, lines)) * 4 < FGETS_BUFFER - 1):  # 4: UTF-8's widest
        # Every line whole (no generator in between: a ruleset has a million lines).
        if len(lines) < last:  # the text ends with a newline: every line is ended
            return zip(range(1, last), lines, repeat(True))
        return itertools.chain(zip(range(1, last), lines[:-1], repeat(True)), ((last, lines[-1], False),))
    return _fgets_pieces(lines, last)


def _fgets_pieces(lines: list[str], last: int) -> Iterator[tuple[int, str, bool]]:
    room = FGETS_BUFFER - 1
    n = 0
    for i, line in enumerate(lines, start=1):
        pieces: list[tuple[str, bool]] = [(line, i < last)]
        if len(line) * 4 >= room - 1:
            data = line.encode("utf-8", "surrogateescape") + (b"\n" if i < last else b"")
            if len(data) > room:
                pieces = []
                for at in range(0, len(data), room):
                    piece = data[at:at + room]
                    ended = piece.endswith(b"\n")
                    piece = piece[:-1] if ended else piece
                    pieces.append((piece.decode("utf-8", "surrogateescape"), ended))
        for piece, ended in pieces:
            n += 1
            nul = piece.find("\0")
            if nul >= 0:
                piece, ended = piece[:nul], False
            yield n, piece, ended


def _exact_item(mark: tuple[int, str], lineno: int, line: str) -> RuleLine | BadLine:
    """A ``#pynf-exact`` line and the placeholder line after it: the rule it keeps."""
    words = line.split(" ")
    if len(words) != 3 or words[0] != "-A" or words[2] != PLACEHOLDER:
        return BadLine(mark[0], RestoreError(f"{MARK.strip()}: expected the next line to be "
                                             f'"-A CHAIN {PLACEHOLDER}"', line=mark[0]))
    try:
        counters, argv = read_mark(mark[1])
    except PynfError as e:
        return BadLine(mark[0], e.at_line(mark[0]))
    return RuleLine(lineno, line, (counters, ["-A", words[1], *argv]))


def restore_blocks(text: str) -> Iterator[Block]:
    """The table blocks of restore input, each yielded as soon as it is complete.

    A line outside a block that iptables-restore refuses raises when reached,
    so the blocks before it have already been applied.  A block the input
    leaves open is yielded with commit_line 0 and a final BadLine.
    """
    cur: Block | None = None
    lineno = 0
    announced: set[str] = set()
    exact: tuple[int, str] | None = None  # a "#pynf-exact" line waiting for its placeholder
    items: list[ChainLine | RuleLine | BadLine] = []  # cur.items, while a block is open
    for lineno, line, ended in fgets_lines(text):
        if line[:1] == "-" and cur is not None and exact is None:  # a rule line: the usual case
            items.append(RuleLine(lineno, line + "\n" if ended and '"' in line else line))
            continue
        if not line:
            if ended:
                continue  # an empty line; one a NUL emptied is a line iptables-restore parses
            if cur is None:
                raise RestoreError("the line starts with a NUL byte: expected *table", line=lineno)
            cur.items.append(RuleLine(lineno, line))
            continue
        # fgets() keeps the newline; it matters to "COMMIT\n" and to an unterminated quote.
        raw = line + "\n" if ended and ('"' in line or line == "COMMIT") else line
        c = raw[0]
        if c == "#":
            if cur is not None and line.startswith(MARK):
                exact = (lineno, line)
            continue
        if exact is not None:
            cur_line, exact = _exact_item(exact, lineno, line), None
            if cur is not None:
                cur.items.append(cur_line)
            continue
        if cur is not None:
            if raw == "COMMIT\n":
                cur.commit_line = lineno
                yield cur
                cur = None
            elif c == ":":
                cur.items.append(_chain_line(lineno, raw))
            else:
                cur.items.append(RuleLine(lineno, raw))
        elif c == "*":
            name, _ = _strtok(raw, 1, _DELIMS)
            if name is None:
                raise ParameterProblem(f"line {lineno} table name invalid: expected *raw, *mangle, *nat, "
                                       "*filter or *security", line=lineno)
            cur = Block(name, lineno, announced=announced)
            items = cur.items
        else:
            word = _strtok(raw, 0, _DELIMS)[0] or raw.strip()
            raise RestoreError(f'"{word}" outside a table: expected *table',
                               line=lineno)
    if cur is not None:
        # iptables-restore counts the missing COMMIT on the line after the last.
        cur.items.append(BadLine(lineno + 1, RestoreError(f"COMMIT expected at line {lineno + 1}",
                                                          line=lineno + 1)))
        yield cur


_LLU = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


def scan_llu(text: str) -> tuple[int, int] | None:
    """sscanf("%llu"): blanks, a sign, digits; the value (wrapped as in C) and where it ends."""
    m = _LLU.match(text)
    if m is None:
        return None
    v = min(int(m.group(2)), 2**64 - 1)
    return ((-v) % 2**64 if m.group(1) == "-" else v), m.end()


def _parse_counters(text: str | None, chain: str) -> tuple[int, int]:
    """parse_counters(): sscanf(text, "[%llu:%llu]") must fill both."""
    bad = ParameterProblem(f'invalid policy counters for chain "{chain}": expected [packets:bytes]')
    if text is None or not text.startswith("["):
        raise bad
    a = scan_llu(text[1:])
    if a is None or text[1 + a[1]:2 + a[1]] != ":":
        raise bad
    b = scan_llu(text[2 + a[1]:])
    if b is None:
        raise bad
    return a[0], b[0]


def _chain_item(table: Table, item: ChainLine, *, noflush: bool, counters: bool) -> None:
    name = item.name
    if len(name) > MAX_NAME:
        raise ParameterProblem(f'Invalid chain name "{name}" ({MAX_NAME} chars max)')
    existing = table.chains.get(name)
    if existing is None or not existing.builtin:
        if existing is not None and noflush:
            table.edit(name).flush()
        else:
            if existing is not None or name in _BUILTIN_LABELS:
                raise ParameterProblem(f'error creating chain "{name}": File exists')
            table.add_chain(name)
    if not item.policy:
        raise ParameterProblem(f"line {item.line} policy invalid: expected ACCEPT, DROP or -")
    if item.policy == "-":
        return
    pk = by = 0
    if counters:
        pk, by = _parse_counters(item.counters, name)
    if not table.chains[name].builtin:
        raise KernelRefusal(f'Can\'t set policy "{item.policy}" on "{name}" line {item.line}: '
                            "Bad built-in chain name")
    if item.policy not in ("ACCEPT", "DROP"):
        raise KernelRefusal(f'Can\'t set policy "{item.policy}" on "{name}" line {item.line}: '
                            "Bad policy name, expected ACCEPT or DROP")
    ch = table.edit(name).chain
    ch.policy = item.policy
    ch.packets, ch.bytes = pk, by


class _RestoreParser(CommandParser):
    """do_parse where a ``:CHAIN`` line has announced a chain named like a target extension.

    iptables-restore announces every declared chain (xtables_announce_chain), and
    a ``-j`` to an announced name is then the chain, not the extension.
    """

    def __init__(self, argv: list[str], *, default_table: str, chains: set[str]) -> None:
        super().__init__(argv, in_restore=True, default_table=default_table)
        self._announced = chains

    def _set_jump(self, name: str, goto: bool) -> None:
        if name in self._announced and not goto:
            self.jumpto = name
            self.cmd.jump = name
            return
        super()._set_jump(name, goto)


def _zero(table: Table, cmd: Command, new_rules: set[int]) -> None:
    """-Z inside a block: libiptc zeroes the policies and the rules it read from the kernel.

    Rules added in this block keep the counters they were given.
    """
    chains = [table.chain(cmd.chain)] if cmd.chain else list(table.chains.values())
    for c in chains:
        if cmd.rulenum is not None:
            if cmd.rulenum > len(c.rules):
                raise KernelRefusal("Index of counter zeroing too big")
            idxs: Iterable[int] = (cmd.rulenum - 1,)
        else:
            idxs = range(len(c.rules))
        ed = table.edit(c.name)
        if cmd.rulenum is None and c.builtin:
            ed.chain.packets = ed.chain.bytes = 0
        for i in idxs:
            r = ed.rules[i]
            if id(r) not in new_rules:
                ed.replace(i, Rule(r.ip, r.matches, r.target))


def _unchanged(table: Table, block: Block) -> bool:
    """A --noflush block that changes nothing (libiptc then does not replace the table)."""
    for item in block.items:
        if type(item) is not ChainLine or item.policy != "-":
            return False
        ch = table.chains.get(item.name)
        if ch is None or not ch.builtin:
            return False
    return True


def apply_block(table: Table, block: Block, *, noflush: bool, counters: bool,
                announced: set[str] | None = None) -> None:
    """Apply one block's lines to *table* (a working copy); errors carry the line.

    *announced* collects, across the blocks of one input, the chains declared
    with a ``:CHAIN`` line that are named like a target extension.
    """
    if announced is None:
        announced = block.announced
    enabled = gc.isenabled()
    gc.disable()  # a block adds many objects and frees none: collecting meanwhile is wasted time
    try:
        _apply(table, block, noflush, counters, announced)
    finally:
        if enabled:
            gc.enable()


def _parse_line(item: RuleLine, table: str, counters: bool, announced: set[str]) -> Command:
    """A command line's words, parsed as do_parse does in iptables-restore."""
    ctrs, argv = rule_words(item.text, item.line) if item.words is None else item.words
    if counters and ctrs is not None:
        argv = ["--set-counters", ctrs[0], ctrs[1], *argv]
    if announced and not announced.isdisjoint(argv):
        return _RestoreParser(argv, default_table=table, chains=announced).parse()
    return parse_command(argv, in_restore=True, default_table=table)


def _apply(table: Table, block: Block, noflush: bool, counters: bool, announced: set[str]) -> None:
    from pynetfilter.model.commands import apply_command

    if not noflush:
        table.flush()
    if not noflush or not _unchanged(table, block):
        # libiptc reads policy counters as "zeroed": a commit that replaces the table
        # resets them, unless a ":CHAIN POLICY [p:b]" line of the block sets them.
        table.zero_policies()
    added: list[list[Rule]] = []  # the rules this block added (-A, -I, -R)
    name = block.table
    for item in block.items:
        try:
            if type(item) is RuleLine:
                # Plain "-A" lines straight from their text (syntax/fastparse.py), else words.
                cmd = fast_line(item.text, name, announced, counters) if item.words is None else None
                if cmd is None:
                    cmd = _parse_line(item, name, counters, announced)
                if cmd.command == "Z":
                    _zero(table, cmd, {id(r) for rs in added for r in rs})
                else:
                    apply_command(table, cmd)
                    if cmd.rules:
                        added.append(cmd.rules)
            elif type(item) is ChainLine:
                _chain_item(table, item, noflush=noflush, counters=counters)
                if find_target(item.name) is not None:
                    announced.add(item.name)
            else:
                assert isinstance(item, BadLine)
                raise item.error
        except PynfError as e:
            raise e.at_line(item.line) from None
