"""The kernel objects rules name besides chains (ipsets, nfacct objects), and how a state file keeps them.

A state file is ``iptables-save -c`` text, which iptables-restore (and
iptables-legacy-restore) loads as is.  Its ipsets and nfacct objects ride in
comment lines before the first table, which iptables-restore skips::

    #pynf-objects clock 1733412345.678901
    #ipset create web hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x0c0ffee0
    #ipset add web 10.233.1.5,tcp:80 timeout 99.873
    #ipset-buckets web 10 120 17:2:x 530:4:x.x
    #ipset-free 1
    #nfacct { pkts = 00000000000000000003, bytes = 00000000000000000180 } = web;

``#ipset`` lines are ``ipset save`` lines (strip the ``#ipset `` and feed them
to ``ipset restore``), except that a timeout keeps its fraction of a second:
it is the time left at ``clock`` (the writer's wall time).  ``#ipset-buckets``
keeps what ``ipset save`` loses and ``ipset list`` shows: the table's bits,
the kernel's running ext_size sum and, per hash bucket, its index, array size
and which slots are used (``x``) or holes (``.``), so the member order and
"Size in memory" survive a reload; ``#ipset-free`` lists the free set indexes
below the last set (a new set takes the first).  ``#nfacct``
lines are ``nfacct list`` lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynetfilter.errors import PynfError
from pynetfilter.ext.nfacct import KernelObjects
from pynetfilter.netfilter import nfacct as nfacct_mod
from pynetfilter.netfilter.ipset import IpSet, families
from pynetfilter.netfilter.ipset_elem import fmt_member
from pynetfilter.netfilter.ipset_hash import Bucket
from pynetfilter.netfilter.ipset_print import header
from pynetfilter.netfilter.ipset_session import Session
from pynetfilter.netfilter.nfacct import NfAcct

_PREFIXES = ("#pynf-objects ", "#ipset ", "#ipset-buckets ", "#ipset-free ", "#ipset-stale ", "#nfacct ")


@dataclass
class Objects:
    sets: dict[str, IpSet] = field(default_factory=dict)
    free: list[int] = field(default_factory=list)  # holes in the kernel's set array
    nfacct: dict[str, NfAcct] = field(default_factory=dict)

    def session(self, now: float, rule_refs: Callable[[str], int]) -> Session:
        s = Session(self.sets, now=now, rule_refs=rule_refs)
        index: list[str | None] = list(self.sets)
        for i in sorted(self.free):
            index.insert(i, None)
        s.index = index
        return s

    def take(self, session: Session) -> None:
        self.sets = session.sets
        self.free = [i for i, n in enumerate(session.index) if n is None]

    def names(self) -> KernelObjects:
        """What a Ruleset's rules may refer to (its ``ipsets`` mapping)."""
        return KernelObjects(families(self.sets), self.nfacct)


def add(objs: Objects, ipsets: list[tuple[str, str]], accts: list[tuple[str, str]], now: float) -> None:
    """Add the sets of ``ipset save`` texts and the objects of ``nfacct list`` texts, each given as
    (file name, text); errors name the file."""
    for path, text in ipsets:
        session = objs.session(now, lambda name: 0)
        try:
            session.load_save(text)
        except PynfError as e:
            raise e.in_file(path) from None
        objs.take(session)
    for path, text in accts:
        try:
            more = nfacct_mod.load(text)
        except PynfError as e:
            raise e.in_file(path) from None
        for name, o in more.items():
            if name in objs.nfacct:
                raise PynfError(f'nfacct object "{name}" exists already').in_file(path)
            objs.nfacct[name] = o


def merge(objs: Objects, more: Objects) -> None:
    """Add *more*'s sets and nfacct objects (names must be new)."""
    for name, st in more.sets.items():
        if name in objs.sets:
            raise PynfError(f'ipset "{name}" is given twice')
        objs.sets[name] = st
    for name, o in more.nfacct.items():
        if name in objs.nfacct:
            raise PynfError(f'nfacct object "{name}" is given twice')
        objs.nfacct[name] = o


def shift(objs: Objects, delta: float) -> None:
    """Move every element's expiry by *delta* seconds (onto another clock: a capture's)."""
    for s in objs.sets.values():
        for e in s.elements.values():
            if e.expires is not None:
                e.expires += delta


def rule_refs(ruleset: Any) -> Callable[[str], int]:
    """References the loaded rules hold on each set: one per -m set match and per set of -j SET."""
    counts: dict[str, int] = {}
    for table in ruleset.tables.values():
        for chain in table.chains.values():
            for r in chain.rules:
                for ext in (*r.matches, r.target):
                    for attr in ("set_name", "add_set", "del_set", "map_set"):
                        ref = getattr(ext, attr, None)  # -m set: a name; -j SET: (name, dim, flags)
                        name = ref if isinstance(ref, str) else ref[0] if isinstance(ref, tuple) and ref[1] \
                            else ""
                        if name:
                            counts[name] = counts.get(name, 0) + 1
    return lambda name: counts.get(name, 0)


def split(text: str) -> tuple[str, str]:
    """(the object lines, the rest: iptables-save text)."""
    objs, rest = [], []
    for line in text.splitlines(keepends=True):
        (objs if line.startswith(_PREFIXES) else rest).append(line)
    return "".join(objs), "".join(rest)


def load(text: str, now: float | None = None) -> Objects:
    """The objects of a state file's comment lines; timeouts count from *now* (default: its clock)."""
    clock = 0.0
    ipset_lines, buckets, stale, out = [], [], [], Objects()
    nfacct_lines = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "#pynf-objects" and rest.startswith("clock "):
            clock = float(rest[6:])
        elif kind == "#ipset":
            ipset_lines.append(rest)
        elif kind == "#ipset-buckets":
            buckets.append(rest.split())
        elif kind == "#ipset-stale":
            stale.append(rest.split())
        elif kind == "#ipset-free":
            out.free = [int(w) for w in rest.split()]
        elif kind == "#nfacct":
            nfacct_lines.append(rest)
    session = Session({}, now=clock if now is None else now)
    session.fractional = True
    session.load_save("\n".join(ipset_lines))
    out.sets = session.sets
    for words in buckets:
        _restore_layout(out.sets[words[0]], int(words[1]), int(words[2]), words[3:])
    for words in stale:  # bitmap:ip,mac: counters deleted elements left in their slots
        out.sets[words[0]].stale = {(int(ip),): (int(p), int(b)) for ip, p, b in
                                    (w.split(":") for w in words[1:])}
    out.nfacct = nfacct_mod.load("\n".join(nfacct_lines))
    return out


def _restore_layout(s: IpSet, bits: int, ext_size: int, specs: list[str]) -> None:
    if s.layout is None:
        return
    keys = list(s.layout)
    s.layout.bits, s.layout.buckets, s.layout.ext_size = bits, {}, ext_size
    it = iter(keys)
    for spec in specs:
        idx, size, used = spec.split(":")
        b = Bucket(int(size))
        b.slots = [next(it) if c == "x" else None for c in used]
        s.layout.buckets[int(idx)] = b


def dump(objs: Objects, now: float) -> str:
    if not objs.sets and not objs.nfacct:
        return ""
    out = [f"#pynf-objects clock {now:.6f}\n"]
    for s in objs.sets.values():
        out.append(f"#ipset create {s.name} {s.type} {header(s)}\n")
        keys = s.ordered(now)
        out += [f"#ipset add {s.name} {fmt_member(s, k, s.elements[k], now, exact=True)}\n" for k in keys]
        if s.layout is not None:
            live = set(keys)
            specs = [f"{i}:{b.size}:" + "".join("x" if k in live else "." for k in b.slots)
                     for i, b in sorted(s.layout.buckets.items())]
            out.append(f"#ipset-buckets {s.name} {s.layout.bits} {s.layout.ext_size} {' '.join(specs)}\n")
        if s.stale:
            slots = " ".join(f"{k[0]}:{p}:{b}" for k, (p, b) in sorted(s.stale.items()))
            out.append(f"#ipset-stale {s.name} {slots}\n")
    if objs.free:
        out.append(f"#ipset-free {' '.join(map(str, objs.free))}\n")
    out += [f"#nfacct {line}\n" for line in nfacct_mod.dump(objs.nfacct).splitlines()]
    return "".join(out)
