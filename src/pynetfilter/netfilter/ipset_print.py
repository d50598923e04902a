"""``ipset list`` (plain, -terse, -name) and ``ipset save`` text of sets.

"Size in memory" is the kernel's own sum (mtype_head / bitmap / list:set
head): the set's header structs plus its bucket arrays or bitmap, element
extensions and comment strings, from :meth:`IpSet.memsize` and the replayed
hash layout.  "References" are the iptables rules naming the set plus the
list:set sets holding it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pynetfilter.netfilter import ipset_types as T
from pynetfilter.netfilter.ipset_elem import fmt_member

if TYPE_CHECKING:
    from pynetfilter.netfilter.ipset import IpSet


def header(s: IpSet) -> str:
    """The Header: line's text, which is also what ``create NAME TYPE`` is followed by in a save."""
    out: list[str] = []
    if s.layout is not None:
        out += [f"family {s.family}", f"hashsize {1 << s.layout.bits}", f"maxelem {s.maxelem}"]
        if s.netmask != s.bits:
            out.append(f"netmask {s.netmask}")
    elif s.type in ("bitmap:ip", "bitmap:ip,mac"):
        out.append(f"range {T.fmt_addr(s.range[0])}-{T.fmt_addr(s.range[1])}")
        if s.netmask != 32:
            out.append(f"netmask {s.netmask}")
    elif s.type == "bitmap:port":
        out.append(f"range {s.range[0]}-{s.range[1]}")
    else:
        out.append(f"size {s.size}")
    if s.timeout is not None:
        out.append(f"timeout {s.timeout}")
    out += [w for w in ("counters", "comment", "skbinfo") if getattr(s, w)]
    if s.layout is not None:
        out += [f"bucketsize {s.bucketsize}", f"initval 0x{s.initval:08x}"]
    return " ".join(out)


def list_sets(sets: Iterable[IpSet], now: float, refs: Callable[[str], int], names: bool = False,
              terse: bool = False) -> str:
    blocks: list[str] = []
    for s in sets:
        if names:
            blocks.append(f"{s.name}\n")
            continue
        keys = s.ordered(now)
        lines = [f"Name: {s.name}", f"Type: {s.type}", f"Revision: {T.TYPES[s.type].revision}",
                 f"Header: {header(s)}", f"Size in memory: {s.memsize(now)}",
                 f"References: {refs(s.name)}", f"Number of entries: {len(keys)}"]
        if not terse:
            lines.append("Members:")
            lines += [fmt_member(s, k, s.elements[k], now) for k in keys]
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks) if names else "\n".join(blocks)


def save_sets(sets: Iterable[IpSet], now: float) -> str:
    out: list[str] = []
    for s in sets:
        out.append(f"create {s.name} {s.type} {header(s)}\n")
        out += [f"add {s.name} {fmt_member(s, k, s.elements[k], now)}\n" for k in s.ordered(now)]
    return "".join(out)
