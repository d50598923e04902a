"""State files (iptables-save -c text with its ipsets and nfacct objects in comment lines) and the
``--ipsets FILE`` / ``--nfacct FILE`` options that give a command the host's objects.

The format of the object lines is pynetfilter.netfilter.objects'; the file as a
whole stays loadable by iptables-restore.
"""

from __future__ import annotations

import sys
import time

from pynetfilter.errors import PynfError
from pynetfilter.io import statefile
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter import objects
from pynetfilter.netfilter.objects import Objects


def read(path: str) -> str:
    """The file's bytes as iptables reads them: no newline translation (a CR stays a CR)."""
    if path == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        with open(path, "rb") as f:
            data = f.read()
    return data.decode("utf-8", "surrogateescape")


def add_files(objs: Objects, ipsets: list[str], accts: list[str], now: float) -> None:
    """Add the sets of ``ipset save`` files and the objects of ``nfacct list`` files."""
    objects.add(objs, [(p, read(p)) for p in ipsets], [(p, read(p)) for p in accts], now)


def ruleset_from(text: str, objs: Objects, *, counters: bool = True) -> Ruleset:
    """A Ruleset whose rules may name *objs*' sets and nfacct objects."""
    rs = Ruleset()
    rs.ipsets = objs.names()
    rs.restore(text, counters=counters)
    return rs


def load_state(path: str, ipsets: list[str] | None = None, accts: list[str] | None = None,
               now: float | None = None) -> tuple[Ruleset, Objects]:
    """The state file's ruleset and objects (a missing file is a fresh host), plus the given files'."""
    data = statefile.read_state(path)
    if data is None:
        objs, rules = Objects(), ""
    else:
        obj_text, rules = objects.split(data.decode("utf-8", "surrogateescape"))
        try:
            objs = objects.load(obj_text)
        except PynfError as e:
            raise e.in_file(path) from None
    add_files(objs, ipsets or [], accts or [], time.time() if now is None else now)
    rs = Ruleset()
    rs.ipsets = objs.names()
    if rules:
        try:
            rs.restore_saved(rules, counters=True)  # tables in the order the host lists them
        except PynfError as e:
            raise e.in_file(path) from None
    return rs, objs


def state_text(rs: Ruleset, objs: Objects, now: float | None = None) -> str:
    return objects.dump(objs, time.time() if now is None else now) + rs.save(counters=True, exact=True)


def write_state(path: str, rs: Ruleset, objs: Objects, now: float | None = None, *,
                follow: bool = False) -> None:
    """Replace the state file (see pynetfilter.io.statefile: exclusive temporary file, fsync,
    rename; mode and owner kept; a symlink only with *follow*)."""
    statefile.write_state(path, state_text(rs, objs, now).encode("utf-8", "surrogateescape"),
                          follow=follow)


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


def locked(path: str, wait: int | None = None, follow: bool = False) -> statefile.StateLock:
    """The writers' lock of the state at *path* (of its target with *follow*; a symlink
    without *follow* is refused here, before anything is read)."""
    return statefile.StateLock(statefile.target(path, follow), wait)
