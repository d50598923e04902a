"""State files (iptables-save -c text with its ipsets and nfacct objects in comment lines) and the
``--ipsets FILE`` / ``--nfacct FILE`` options that give a command the host's objects.

The format of the object lines is pynetfilter.netfilter.objects'; the file as a
whole stays loadable by iptables-restore.  A state may have a journal beside it
(``pynf serve``'s, see pynetfilter.serve): every reader replays it on top of the
text, and a writer that replaces the text folds it in and removes it.

While ``pynf serve`` runs a client's command, :data:`backend` is set and the
functions here load from and write to the server's live state instead of the
file; the commands (cli.main, cli.ipset) are the same code either way, which is
what keeps their output identical.  This module is imported by the client path
before any server is asked, so it imports the ruleset model only when used.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pynetfilter.io.statefile import StateLock
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.objects import Objects


class Backend(Protocol):
    """Where the commands' state lives while a server runs them (pynetfilter.serve.store)."""

    def load(self, path: str, ipsets: list[str], accts: list[str], now: float | None,
             ) -> tuple[Ruleset, Objects]: ...

    def locked(self, path: str, wait: int | None, follow: bool) -> AbstractContextManager[Any]: ...

    def write(self, path: str, rs: Ruleset, objs: Objects, now: float | None, follow: bool) -> None: ...

    def rule_refs(self, rs: Ruleset) -> Callable[[str], int]: ...


backend: Backend | None = None
# Set by the client (pynetfilter.serve.client) in a pynf process: called with the state's path
# while a writer waits for its lock; raises to hand the command to a server that appeared.
watch: Callable[[str], None] | None = None
# What this process read from its stdin (a command handed to a server after reading it sends it).
stdin_taken: bytes | None = None


def read(path: str) -> str:
    """The file's bytes as iptables reads them: no newline translation (a CR stays a CR)."""
    global stdin_taken
    if path == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        stdin_taken = (stdin_taken or b"") + data
    else:
        with open(path, "rb") as f:
            data = f.read()
    return data.decode("utf-8", "surrogateescape")


def add_files(objs: Objects, ipsets: list[str], accts: list[str], now: float) -> None:
    """Add the sets of ``ipset save`` files and the objects of ``nfacct list`` files."""
    from pynetfilter.netfilter import objects

    objects.add(objs, [(p, read(p)) for p in ipsets], [(p, read(p)) for p in accts], now)


def ruleset_from(text: str, objs: Objects, *, counters: bool = True) -> Ruleset:
    """A Ruleset whose rules may name *objs*' sets and nfacct objects."""
    from pynetfilter.model.ruleset import Ruleset

    rs = Ruleset()
    rs.ipsets = objs.names()
    rs.restore(text, counters=counters)
    return rs


def load_state(path: str, ipsets: list[str] | None = None, accts: list[str] | None = None,
               now: float | None = None) -> tuple[Ruleset, Objects]:
    """The state file's ruleset and objects (a missing file is a fresh host), plus the given files'."""
    if backend is not None:
        return backend.load(path, ipsets or [], accts or [], now)
    from pynetfilter.serve import journal

    data, records = journal.read(path)
    rs, objs, _ = build_state(path, data, records, ipsets or [], accts or [], now)
    return rs, objs


def build_state(path: str, data: bytes | None, records: list[dict[str, Any]], ipsets: list[str],
                accts: list[str], now: float | None) -> tuple[Ruleset, Objects, str]:
    """The ruleset and objects of state text *data* with journal *records* replayed on top and the
    given files' objects added, and the object lines they were loaded from."""
    from pynetfilter.errors import PynfError
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter import objects
    from pynetfilter.netfilter.objects import Objects

    if data is None:
        objs, obj_text, rules = Objects(), "", ""
    else:
        obj_text, rules = objects.split(data.decode("utf-8", "surrogateescape"))
        try:
            objs = objects.load(obj_text)
        except PynfError as e:
            raise e.in_file(path) from None
    stamp = time.time() if now is None else now
    if not records:  # the files' objects first: the state's rules may name them
        add_files(objs, ipsets, accts, stamp)
    rs = Ruleset()
    rs.ipsets = objs.names()
    if rules:
        try:
            rs.restore_saved(rules, counters=True)  # tables in the order the host lists them
        except PynfError as e:
            raise e.in_file(path) from None
    if records:
        from pynetfilter.serve import journal

        objs, replayed = journal.replay(rs, objs, records, path)
        obj_text = obj_text if replayed is None else replayed
        add_files(objs, ipsets, accts, stamp)
        rs.ipsets = objs.names()
    return rs, objs, obj_text


def state_text(rs: Ruleset, objs: Objects, now: float | None = None) -> str:
    from pynetfilter.netfilter import objects

    return objects.dump(objs, time.time() if now is None else now) + rs.save(counters=True, exact=True)


def write_state(path: str, rs: Ruleset, objs: Objects, now: float | None = None, *,
                follow: bool = False) -> None:
    """Replace the state file (see pynetfilter.io.statefile: exclusive temporary file, fsync,
    rename; mode and owner kept; a symlink only with *follow*), then drop the journal it folds in.
    A writer holds the lock, so no server is appending to that journal."""
    if backend is not None:
        backend.write(path, rs, objs, now, follow)
        return
    from pynetfilter.io import statefile
    from pynetfilter.serve import journal

    statefile.write_state(path, state_text(rs, objs, now).encode("utf-8", "surrogateescape"),
                          follow=follow)
    journal.discard(os.path.realpath(path))


def rule_refs(rs: Ruleset) -> Callable[[str], int]:
    """References the rules hold on each set (the server keeps them between commands)."""
    if backend is not None:
        return backend.rule_refs(rs)
    from pynetfilter.netfilter.objects import rule_refs as count

    return count(rs)


def state_options(argv: list[str], usage: str, objects: tuple[str, ...] = ("ipsets", "nfacct"),
                  ) -> tuple[str, bool, dict[str, list[str]], list[str]] | None:
    """``--state FILE [--follow] [--ipsets F]... [--nfacct F]...`` before a command's own words
    (*objects*: which of the two the command takes); None after printing *usage*."""
    if len(argv) < 2 or argv[0] != "--state":
        print(usage, file=sys.stderr)
        return None
    state, rest = argv[1], argv[2:]
    follow = False
    files: dict[str, list[str]] = {name: [] for name in objects}
    while rest:
        if rest[0] == "--follow":
            follow, rest = True, rest[1:]
        elif len(rest) >= 2 and rest[0][2:] in files and rest[0].startswith("--"):
            files[rest[0][2:]].append(rest[1])
            rest = rest[2:]
        else:
            break
    return state, follow, files, rest


def command_words(words: list[str]) -> list[str]:
    """The words an iptables command runs: a leading program name dropped, each word cut at its
    first NUL (all iptables would see of it).  The journal replays these words."""
    if words and words[0] in ("iptables", "iptables-legacy", "iptables-nft"):
        words = words[1:]
    return [w.partition("\0")[0] for w in words]


def locked(path: str, wait: int | None = None, follow: bool = False,
           ) -> AbstractContextManager[StateLock | None]:
    """The writers' lock of the state at *path* (of its target with *follow*; a symlink
    without *follow* is refused here, before anything is read)."""
    if backend is not None:
        return backend.locked(path, wait, follow)
    from pynetfilter.io import statefile

    seen = watch
    return statefile.StateLock(statefile.target(path, follow), wait,
                               watch=None if seen is None else (lambda: seen(path)))
