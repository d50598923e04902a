"""The kernel's table check (translate_table), run whenever a table is committed.

mark_source_chains() walks the rules from every hook's built-in chain, giving
each rule (not each chain) the mask of hooks whose walk reaches it, and
refusing a rule reached again while it is on the walked path (ELOOP).  The
walk follows a chain's rules in order and stops at the first unconditional
standard verdict: a rule with no match, an all-zero ``struct ipt_ip`` (no
-s/-d/-i/-o/-p/-f, where ``-i +`` is not zero but ``-s 0.0.0.0/0`` is) and
ACCEPT, DROP, QUEUE or RETURN; a built-in chain's policy and a user chain's
end are such verdicts too.  Every other rule continues the walk: a -j/-g to
a user chain is chased first (a goto is walked like a jump), then the walk
goes on with the next rule; an extension target (REJECT, NFQUEUE, DNAT...)
or no target just falls through.  A chain already walked for this hook is
not walked again.  So rules after an unconditional verdict are never walked:
they get hook mask 0 (the hook restrictions of their matches and target
never refuse them) and their jumps make no loop.  Then every match and
target runs its checkentry with its rule's hook mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import CheckContext, Extension
from pynetfilter.model.rule import ANY_IP, Jump, Rule, Verdict
from pynetfilter.model.tables import Hook

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Table


# strerror() texts a checkentry refusal may already start with (the errno iptables prints).
_ERRNO_TEXTS = ("Invalid argument", "No such file or directory", "Operation not supported",
                "Numerical result out of range", "Cannot allocate memory", "File exists",
                "No chain/target/match by that name")


def unconditional_verdict(rule: Rule) -> bool:
    """The kernel's unconditional() with a standard target of negative verdict: the walk stops here."""
    return type(rule.target) is Verdict and not rule.matches and (rule.ip is ANY_IP or rule.ip == ANY_IP)


def walked_rules(rules: list[Rule]) -> int:
    """How many of a chain's rules the walk reaches (it enters a chain only at its first rule)."""
    for i, r in enumerate(rules):
        if type(r.target) is Verdict and unconditional_verdict(r):
            return i + 1
    return len(rules)


def mark_source_chains(table: Table) -> dict[str, tuple[int, int]]:
    """Per chain: the hooks whose walk reaches it and how many of its rules are walked.

    Raises KernelRefusal on a loop the walk meets.
    """
    masks = {name: 0 for name in table.chains}
    walked: dict[str, int] = {}
    # Per chain, the user chains its walked rules jump or go to (in rule order).
    edges: dict[str, list[str]] = {}
    for name, chain in table.chains.items():
        # An insertion-ordered dict: KUBE-SERVICES jumps to N chains, a list's "in" made this O(N^2).
        seen: dict[str, None] = {}
        n = 0
        for r in chain.rules:  # one pass: walked_rules() and the jumps before the stop
            n += 1
            t = r.target
            if type(t) is Jump:
                seen[t.chain] = None
            elif type(t) is Verdict and unconditional_verdict(r):
                break
        walked[name] = n
        edges[name] = list(seen)
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
                raise KernelRefusal(f"Too many levels of symbolic links: chain loop reachable from "
                                    f"{Hook(hook).name}: {cycle} (ELOOP)")
            if nxt in done:
                continue
            done.add(nxt)
            masks[nxt] |= bit
            path.append(nxt)
            on_path.add(nxt)
            stack.append(0)
    return {name: (masks[name], walked[name]) for name in table.chains}


def hook_masks(table: Table) -> dict[str, int]:
    """Hooks reaching each chain (its walked rules have this mask); raises KernelRefusal on a loop."""
    return {name: mask for name, (mask, _) in mark_source_chains(table).items()}


def rateest_names(table: Table) -> set[str]:
    """The estimators the table's -j RATEEST rules make (xt_rateest_tg_checkentry)."""
    return {getattr(r.target, "est_name", "") for ch in table.chains.values() for r in ch.rules
            if isinstance(r.target, Extension) and type(r.target).name == "RATEEST"}


def _shared_objects(table: Table) -> None:
    """Named kernel objects rules share (RATEEST estimators, IDLETIMER timers): a rule naming one
    that an earlier rule made with other parameters is refused (EINVAL) by its checkentry."""
    made: dict[tuple[str, str], tuple[object, ...]] = {}
    for name, chain in table.chains.items():
        for r in chain.rules:
            shared = getattr(r.target, "shared_object", None)
            if shared is None:
                continue
            key, params = shared()
            if made.setdefault(key, params) != params:
                raise KernelRefusal(f"Invalid argument: chain {name}: {key[0]} target: {key[1]!r} exists "
                                    "with other parameters")


# What iptables prints (libiptc's strerror) for the errno a refusal names as "(ENAME)" at its end.
_ERRNO_NAMES = {"ENOENT": "No chain/target/match by that name", "ERANGE": "Numerical result out of range",
                "EDOM": "Numerical argument out of domain", "EINVAL": "Invalid argument",
                "EEXIST": "File exists", "ENOMEM": "Cannot allocate memory",
                "EOPNOTSUPP": "Operation not supported"}


def _errno_text(message: str) -> str:
    """The errno words to put before a checkentry refusal: EINVAL unless it names another."""
    if message.startswith(_ERRNO_TEXTS):
        return ""
    tag = message.rpartition("(")[2].rstrip(")")
    return _ERRNO_NAMES.get(tag, "Invalid argument") + ": " if message.endswith(")") else "Invalid argument: "


def refusal(chain: str, message: str) -> KernelRefusal:
    """What iptables prints for a rule of *chain* a checkentry refused with *message*: the errno
    of the kernel's refusal (EINVAL unless the extension names another); dmesg says why."""
    return KernelRefusal(f"{_errno_text(message)}chain {chain}: {message}")


def keep_stored(r: Rule) -> None:
    """Put in *r* what the kernel keeps of extensions whose checkentry rewrites their blob."""
    r.matches = tuple(m.stored() for m in r.matches)
    if isinstance(r.target, Extension):
        r.target = r.target.stored()


def check_rule(r: Rule, mask: int, table: str, ipsets: Mapping[str, str], estimators: frozenset[str],
               cache: set[tuple[object, ...]]) -> bool:
    """Run the checkentry of every match and the target of *r* reached with hook *mask*; raise
    the first KernelRefusal.  Returns whether one of them rewrites its blob (see keep_stored).

    Extensions and IP parts are shared between rules (fastparse interns them), so one check per
    (extension, IP part, hook mask) covers them all: *cache* holds the ones that passed.
    """
    exts: list[Extension] = list(r.matches)
    t = r.target
    if isinstance(t, Extension):
        exts.append(t)
    stored = False
    for ext in exts:
        stored = stored or type(ext).rewrites
        key: tuple[object, ...] = (id(ext), id(r.ip), mask)
        if ext is t:  # a target's check may look at the rule's matches (TCPMSS)
            key += tuple(id(m) for m in r.matches)
        if key in cache:
            continue
        type(ext).kernel_check(ext, CheckContext(r.ip, table, mask, r.matches, ipsets, estimators))
        cache.add(key)
    return stored


def check_table(table: Table, ipsets: Mapping[str, str] | None = None,
                estimators: frozenset[str] = frozenset()) -> dict[str, tuple[int, int]]:
    """Raise KernelRefusal if the kernel would refuse to load *table* (*ipsets*: the sets that exist;
    *estimators*: the rate estimators other loaded tables, or this table's old version, made).

    Returns mark_source_chains()'s marks (per chain: hook mask, rules walked).
    """
    marks = mark_source_chains(table)
    # The new table's RATEEST rules make their estimators as the kernel checks them; a rateest
    # rule checked before the RATEEST rule that makes its estimator is the one case this misses.
    estimators = estimators | rateest_names(table)
    _shared_objects(table)
    cache: set[tuple[object, ...]] = set()
    objects = ipsets or {}
    for name, chain in table.chains.items():
        chain_mask, walked = marks[name]
        for i, r in enumerate(chain.rules):
            mask = chain_mask if i < walked else 0
            try:
                stored = check_rule(r, mask, table.name, objects, estimators, cache)
            except KernelRefusal as e:
                raise refusal(name, e.message) from None
            if stored:
                keep_stored(r)
    return marks
