"""-j CLUSTERIP (libipt_CLUSTERIP): ipt_CLUSTERIP was removed from the kernel (6.3).

iptables parses the options; the kernel then refuses the rule (see pynetfilter.ext._absent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext._absent import AbsentTarget
from pynetfilter.ext.base import Opt, Options, RuleContext
from pynetfilter.ext.mac import parse_mac
from pynetfilter.ext.types import parse_uint

MAX_NODES = 16  # CLUSTERIP_MAX_NODES
HASHMODES = {"sourceip": 1, "sourceip-sourceport": 2, "sourceip-sourceport-destport": 3}
# CLUSTERIP_check: any option given needs all of these (--hash-init is not among them).
FULL = frozenset(("new", "hashmode", "clustermac", "total-nodes", "local-node"))


@dataclass(frozen=True, slots=True)
class Clusterip(AbsentTarget):
    """struct ipt_clusterip_tgt_info."""

    name: ClassVar[str] = "CLUSTERIP"
    module: ClassVar[str] = "ipt_CLUSTERIP"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("new", nargs=0),
        Opt("hashmode"),
        Opt("clustermac"),
        Opt("total-nodes"),
        Opt("local-node"),
        Opt("hash-init"),
    )

    new: bool = False
    hash_mode: int = 0
    clustermac: bytes = bytes(6)
    total_nodes: int = 0
    local_node: int | None = None
    hash_init: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Clusterip:
        new, mode, mac, total, local, init = False, 0, bytes(6), 0, None, 0
        for g in opts.items:
            n = g.opt.name
            if n == "new":
                new = True
            elif n == "hashmode":
                if g.value not in HASHMODES:
                    raise ParameterProblem(f'Unknown hashmode "{g.value}"')
                mode = HASHMODES[g.value]
            elif n == "clustermac":
                mac = parse_mac(g.value)
                if not mac[0] & 1:
                    raise ParameterProblem("MAC has to be a multicast ethernet address")
            elif n == "total-nodes":
                total = parse_uint(g.value, 0, MAX_NODES, "", ext="CLUSTERIP", opt=n)
            elif n == "local-node":
                local = parse_uint(g.value, 0, MAX_NODES, "", ext="CLUSTERIP", opt=n)
            elif n == "hash-init":
                init = parse_uint(g.value, 0, 0xFFFFFFFF, "", ext="CLUSTERIP", opt=n)
        given = set(opts.names())
        if given and not given >= FULL:
            raise ParameterProblem("CLUSTERIP target: Invalid parameter combination")
        return cls(new, mode, mac, total, local, init)


EXTENSION = Clusterip
