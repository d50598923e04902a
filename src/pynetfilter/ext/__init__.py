"""The registry of iptables extensions: one module each, named after its -m / -j name.

Each module ``pynetfilter.ext.<name>`` defines the extension's class and
exports it as ``EXTENSION``.  The lists below are the registry: a name absent
here is an unknown match or target, exactly as a missing libxt_*.so is to
iptables.  Modules are imported on first use, so loading a ruleset only pays
for the extensions it names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynetfilter.ext.base import Match, Target

MATCHES: tuple[str, ...] = (
    "addrtype", "ah", "bpf", "cgroup", "cluster", "comment", "connbytes", "connlabel", "connlimit",
    "connmark", "conntrack", "cpu", "dccp", "devgroup", "dscp", "ecn", "esp", "hashlimit", "helper",
    "icmp", "ipcomp", "iprange", "length", "limit", "mac", "mark", "multiport", "nfacct", "osf", "owner",
    "physdev", "pkttype", "policy", "quota", "rateest", "realm", "recent", "rpfilter", "sctp", "set",
    "socket", "state", "statistic", "string", "tcp", "tcpmss", "time", "tos", "ttl", "u32", "udp",
)

TARGETS: tuple[str, ...] = (
    "AUDIT", "CHECKSUM", "CLASSIFY", "CONNMARK", "CONNSECMARK", "CT", "DNAT", "DSCP", "ECN", "HMARK",
    "IDLETIMER", "LOG", "MARK", "MASQUERADE", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "RATEEST",
    "REDIRECT", "REJECT", "SECMARK", "SET", "SNAT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP", "TEE", "TOS",
    "TPROXY", "TRACE", "TTL",
)

# Targets iptables ships but this kernel lacks (pynetfilter.ext._absent): parsed, then refused
# when the table loads; not evaluated, so not in TARGETS.
ABSENT_TARGETS: tuple[str, ...] = ("CLUSTERIP", "LED", "ULOG")
ABSENT_MATCHES: tuple[str, ...] = ("ipvs",)

_MATCH_SET = frozenset(MATCHES + ABSENT_MATCHES)
_TARGET_SET = frozenset(TARGETS + ABSENT_TARGETS)
_loaded: dict[str, type] = {}


def _load(name: str) -> type:
    cls = _loaded.get(name)
    if cls is None:
        module = importlib.import_module(f"pynetfilter.ext.{name}")
        cls = module.EXTENSION
        _loaded[name] = cls
    return cls


def find_match(name: str) -> type[Match] | None:
    """The match class for ``-m name``, or None when no such extension exists."""
    if name not in _MATCH_SET:
        return None
    return _load(name)


def find_target(name: str) -> type[Target] | None:
    """The target class for ``-j NAME``, or None (then NAME may be a chain)."""
    if name not in _TARGET_SET:
        return None
    return _load(name)


def all_extensions() -> list[type]:
    return [_load(n) for n in (*MATCHES, *TARGETS)]
