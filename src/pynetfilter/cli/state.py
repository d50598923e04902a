"""State files (iptables-save -c text with its ipsets and nfacct objects in comment lines) and the
``--ipsets FILE`` / ``--nfacct FILE`` options that give a command the host's objects.

The format of the object lines is pynetfilter.netfilter.objects'; the file as a
whole stays loadable by iptables-restore.
"""

from __future__ import annotations

import os
import time

from pynetfilter.errors import PynfError
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter import objects
from pynetfilter.netfilter.objects import Objects


def read(path: str) -> str:
    """The file's bytes as iptables reads them: no newline translation (a CR stays a CR)."""
    if path == "-":
        import sys

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
    if not os.path.exists(path):
        objs, rules = Objects(), ""
    else:
        text = read(path)
        obj_text, rules = objects.split(text)
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


def write_state(path: str, rs: Ruleset, objs: Objects, now: float | None = None) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(objects.dump(objs, time.time() if now is None else now))
        f.write(rs.save(counters=True))
    os.replace(tmp, path)
