"""The fixed shape of netfilter: hooks, tables, their built-in chains and priorities.

Hook numbers are the kernel's NF_INET_* values so bit masks (``1 << hook``)
mean what they mean in ``xt_check_match``.  The per-family layout lives in
:data:`IPV4`, so ip6tables can add its own :class:`Family` without touching
the rest of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Hook(IntEnum):
    PREROUTING = 0
    INPUT = 1
    FORWARD = 2
    OUTPUT = 3
    POSTROUTING = 4


ALL_HOOKS = frozenset(Hook)


def hook_mask(*hooks: Hook) -> int:
    mask = 0
    for h in hooks:
        mask |= 1 << h
    return mask


def hooks_of(mask: int) -> list[Hook]:
    return [h for h in Hook if mask & (1 << h)]


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    # Built-in chains in iptables-save order (the hook order).
    hooks: tuple[Hook, ...]
    # Priority of the table's hook functions (NF_IP_PRI_*), per hook.
    priority: dict[Hook, int]


def _spec(name: str, prio: dict[Hook, int]) -> TableSpec:
    return TableSpec(name, tuple(sorted(prio)), prio)


# Priorities from include/uapi/linux/netfilter_ipv4.h (NF_IP_PRI_*).
PRI_CONNTRACK_DEFRAG = -400
PRI_RAW = -300
PRI_CONNTRACK = -200
PRI_MANGLE = -150
PRI_NAT_DST = -100
PRI_FILTER = 0
PRI_SECURITY = 50
PRI_NAT_SRC = 100
PRI_CONNTRACK_CONFIRM = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    command: str  # iptables, ip6tables
    tables: dict[str, TableSpec]


IPV4 = Family(
    "ipv4",
    "iptables",
    {
        "raw": _spec("raw", {Hook.PREROUTING: PRI_RAW, Hook.OUTPUT: PRI_RAW}),
        "mangle": _spec("mangle", {h: PRI_MANGLE for h in Hook}),
        "nat": _spec(
            "nat",
            {
                Hook.PREROUTING: PRI_NAT_DST,
                Hook.INPUT: PRI_NAT_SRC,
                Hook.OUTPUT: PRI_NAT_DST,
                Hook.POSTROUTING: PRI_NAT_SRC,
            },
        ),
        "filter": _spec(
            "filter", {Hook.INPUT: PRI_FILTER, Hook.FORWARD: PRI_FILTER, Hook.OUTPUT: PRI_FILTER}
        ),
        "security": _spec(
            "security",
            {Hook.INPUT: PRI_SECURITY, Hook.FORWARD: PRI_SECURITY, Hook.OUTPUT: PRI_SECURITY},
        ),
    },
)

TABLE_NAMES = tuple(IPV4.tables)
BUILTIN_NAMES = frozenset(h.name for h in Hook)

# Verdicts a rule may name with -j that are not extensions (libiptc's labels).
STANDARD_VERDICTS = ("ACCEPT", "DROP", "QUEUE", "RETURN")
