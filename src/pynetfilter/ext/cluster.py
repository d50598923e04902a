"""-m cluster (xt_cluster): one of N cluster nodes owns a connection, by a jhash of its
original source address (of the master connection for a related one).

A packet without conntrack never matches.  As the kernel does, the match turns a
multicast link-layer packet sent to a unicast address into a packet for this host
(pkt_type host), so that the node can accept traffic flooded to a multicast MAC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

NODES_MAX = 32  # XT_CLUSTER_NODES_MAX
F_INV = 0x1


def _u32(g_value: str, opt: str, lo: int, hi: int) -> int:
    try:
        return parse_uint(g_value, lo, hi, opt)
    except ParameterProblem:
        raise ParameterProblem(
            f'cluster: bad value for option "--{opt}", or out of range ({lo}-{hi}): "{g_value}"'
        ) from None


def node_of(src: int, total_nodes: int, seed: int) -> int:
    """xt_cluster_hash: jhash_1word of the address as the kernel holds it (__be32 read on a
    little-endian machine), scaled to the node count (reciprocal_scale)."""
    from pynetfilter.netfilter.nat_tuple import jhash2

    be = int.from_bytes(src.to_bytes(4, "big"), "little")
    return (jhash2([be], seed) * total_nodes) >> 32


@dataclass(frozen=True, slots=True)
class Cluster(Match):
    """struct xt_cluster_match_info."""

    name: ClassVar[str] = "cluster"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("cluster-total-nodes", mandatory=True),
        Opt("cluster-local-node", invert=True, excl=("cluster-local-nodemask",)),
        Opt("cluster-local-nodemask", invert=True, excl=("cluster-local-node",)),
        Opt("cluster-hash-seed", mandatory=True),
    )

    total_nodes: int = 1
    node_mask: int = 0
    hash_seed: int = 0
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Cluster:
        total = _u32(opts["cluster-total-nodes"].value, "cluster-total-nodes", 1, NODES_MAX)
        seed = _u32(opts["cluster-hash-seed"].value, "cluster-hash-seed", 0, 2**32 - 1)
        node, nodemask = opts.get("cluster-local-node"), opts.get("cluster-local-nodemask")
        if node is not None:
            mask = 1 << (_u32(node.value, "cluster-local-node", 1, NODES_MAX) - 1)
            if mask >= 1 << total:
                raise ParameterProblem(
                    "cluster match: `--cluster-local-node' must be <= `--cluster-total-nodes'"
                )
            inv = node.inverted
        elif nodemask is not None:
            mask = _u32(nodemask.value, "cluster-local-nodemask", 1, NODES_MAX)
            if mask >= 1 << total:
                raise ParameterProblem(
                    "cluster match: `--cluster-local-nodemask' too big for `--cluster-total-nodes'"
                )
            inv = nodemask.inverted
        else:
            raise ParameterProblem(
                "cluster match: `--cluster-local-node' or `--cluster-local-nodemask' is missing"
            )
        return cls(total, mask, seed, F_INV if inv else 0)

    def save(self) -> str:
        bang = " !" if self.flags & F_INV else ""
        return (f"{bang} --cluster-local-nodemask 0x{self.node_mask:08x} --cluster-total-nodes "
                f"{self.total_nodes} --cluster-hash-seed 0x{self.hash_seed:08x}")

    def exact_save(self) -> str | None:
        # --cluster-local-nodemask takes 1-32 only: a higher node's bit is given by its number.
        if self.node_mask <= NODES_MAX:
            return None
        bang = " !" if self.flags & F_INV else ""
        return (f"{bang} --cluster-local-node {self.node_mask.bit_length()} --cluster-total-nodes "
                f"{self.total_nodes} --cluster-hash-seed 0x{self.hash_seed:08x}")

    def describe(self, numeric: bool) -> str:
        bang = "!" if self.flags & F_INV else ""
        return (f" cluster {bang}node_mask=0x{self.node_mask:08x} total_nodes={self.total_nodes} "
                f"hash_seed=0x{self.hash_seed:08x}")

    def check(self, ctx: CheckContext) -> None:
        if self.total_nodes > NODES_MAX:
            raise KernelRefusal(f"cluster match: {self.total_nodes} nodes: at most {NODES_MAX}")
        if self.node_mask >= 1 << self.total_nodes:
            raise KernelRefusal("cluster match: node mask higher than the number of nodes")

    def mt(self, pkt: Packet, par: Par) -> bool:
        meta = pkt.meta
        if meta.pkt_type == "multicast" and pkt.daddr >> 28 != 0xE:
            meta.pkt_type = "host"
        ct = meta.ct
        if ct is None or meta.untracked:
            return False
        owner = ct.master if ct.master is not None else ct
        node = node_of(owner.orig.src, self.total_nodes, self.hash_seed)
        return bool(1 << node & self.node_mask) != bool(self.flags & F_INV)


EXTENSION = Cluster
