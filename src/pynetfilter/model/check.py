"""The kernel's table check (translate_table), run whenever a table is committed.

mark_source_chains() walks from every hook's built-in chain through jumps and
gotos, giving each chain the mask of hooks that reach it and refusing a cycle
on the walked path (ELOOP).  A loop among chains no hook reaches is accepted,
as the kernel accepts it.  Then every match and target runs its checkentry
with the hook mask of its chain: a chain nothing reaches has mask 0, so
hook restrictions never refuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import CheckContext, Extension
from pynetfilter.model.rule import Jump
from pynetfilter.model.tables import Hook

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Table


def hook_masks(table: Table) -> dict[str, int]:
    """Hooks reaching each chain; raises KernelRefusal on a reachable loop."""
    masks = {name: 0 for name in table.chains}
    # Per chain, the user chains its rules jump or go to (in rule order).
    edges: dict[str, list[str]] = {}
    for name, chain in table.chains.items():
        seen: list[str] = []
        for r in chain.rules:
            t = r.target
            if type(t) is Jump and t.chain not in seen:
                seen.append(t.chain)
        edges[name] = seen
    for hook in table.spec.hooks:
        start = hook.name
        bit = 1 << hook
        masks[start] |= bit
        done: set[str] = {start}
        path: list[str] = [start]
        on_path: set[str] = {start}
        stack: list[int] = [0]
        while stack:
            top = path[-1]
            i = stack[-1]
            nexts = edges[top]
            if i >= len(nexts):
                stack.pop()
                on_path.discard(path.pop())
                continue
            stack[-1] = i + 1
            nxt = nexts[i]
            if nxt in on_path:
                cycle = " -> ".join([*path[path.index(nxt):], nxt])
                raise KernelRefusal(f"chain loop reachable from {Hook(hook).name}: {cycle} (ELOOP)")
            if nxt in done:
                continue
            done.add(nxt)
            masks[nxt] |= bit
            path.append(nxt)
            on_path.add(nxt)
            stack.append(0)
    return masks


def check_table(table: Table, ipsets: Mapping[str, str] | None = None) -> None:
    """Raise KernelRefusal if the kernel would refuse to load *table* (*ipsets*: the sets that exist)."""
    masks = hook_masks(table)
    # Extensions and IP parts are shared between rules (fastparse interns them),
    # so one check per (extension, IP part, hook mask) covers them all.
    cache: set[tuple[object, ...]] = set()
    for name, chain in table.chains.items():
        mask = masks[name]
        for r in chain.rules:
            exts: list[Extension] = list(r.matches)
            t = r.target
            if isinstance(t, Extension):
                exts.append(t)
            for ext in exts:
                key: tuple[object, ...] = (id(ext), id(r.ip), mask)
                if ext is t:  # a target's check may look at the rule's matches (TCPMSS)
                    key += tuple(id(m) for m in r.matches)
                if key in cache:
                    continue
                ctx = CheckContext(r.ip, table.name, mask, r.matches, ipsets or {})
                try:
                    type(ext).kernel_check(ext, ctx)
                except KernelRefusal as e:
                    raise KernelRefusal(f"chain {name}: {e.message}") from None
                cache.add(key)

