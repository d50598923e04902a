"""Rules: the IP header part, matches, and one target, as the kernel stores them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pynetfilter.ext.types import fmt_ipv4_net, inv, protocol_name

if TYPE_CHECKING:
    from pynetfilter.ext.base import Match, Target

# libxtables' xtables_chain_protos (1.8.9), in order: names iptables reads and
# prints before asking the protocols database.
CHAIN_PROTO_LIST: tuple[tuple[str, int], ...] = (
    ("tcp", 6), ("sctp", 132), ("udp", 17), ("udplite", 136), ("icmp", 1), ("ipv6-icmp", 58),
    ("icmpv6", 58), ("esp", 50), ("ah", 51), ("mobility-header", 135), ("ipv6-mh", 135), ("mh", 135),
    ("all", 0),
)
CHAIN_PROTOS: dict[int, str] = {}
for _name, _num in CHAIN_PROTO_LIST:
    CHAIN_PROTOS.setdefault(_num, _name)
CHAIN_PROTO_NUMBERS = {name: num for name, num in CHAIN_PROTO_LIST}


def proto_to_name(proto: int, numeric: bool = False) -> str | None:
    """iptables' proto_to_name: xtables_chain_protos first, then (unless *numeric*) the database."""
    name = CHAIN_PROTOS.get(proto)
    if name is not None:
        return name
    if proto and not numeric:
        return protocol_name(proto)
    return None


def fmt_iface(name: str) -> str | None:
    """The interface as iptables prints it; None where it matches every interface."""
    if name == "" or name == "+":
        return None
    return name


@dataclass(frozen=True, slots=True)
class IpMatch:
    """struct ipt_ip: the part of a rule every packet is checked against first."""

    src: int = 0
    smsk: int = 0
    dst: int = 0
    dmsk: int = 0
    iniface: str = ""
    outiface: str = ""
    proto: int = 0
    frag: bool = False
    inv_src: bool = False
    inv_dst: bool = False
    inv_in: bool = False
    inv_out: bool = False
    inv_proto: bool = False
    inv_frag: bool = False

    def save(self) -> str:
        parts: list[str] = []
        if self.smsk or self.src or self.inv_src:
            parts.append(f"{inv(self.inv_src)} -s {fmt_ipv4_net(self.src, self.smsk)}")
        if self.dmsk or self.dst or self.inv_dst:
            parts.append(f"{inv(self.inv_dst)} -d {fmt_ipv4_net(self.dst, self.dmsk)}")
        i = fmt_iface(self.iniface)
        if i is not None:
            parts.append(f"{inv(self.inv_in)} -i {i}")
        o = fmt_iface(self.outiface)
        if o is not None:
            parts.append(f"{inv(self.inv_out)} -o {o}")
        if self.proto:
            name = proto_to_name(self.proto)
            parts.append(f"{inv(self.inv_proto)} -p {name if name else self.proto}")
        if self.frag:
            parts.append(f"{inv(self.inv_frag)} -f")
        return "".join(parts)


ANY_IP = IpMatch()


@dataclass(frozen=True, slots=True)
class Verdict:
    """A standard target: ACCEPT, DROP, QUEUE or RETURN."""

    name: str

    def save(self) -> str:
        return f" -j {self.name}"


@dataclass(frozen=True, slots=True)
class Jump:
    """A jump (-j CHAIN) or goto (-g CHAIN) to a user chain."""

    chain: str
    goto: bool = False

    def save(self) -> str:
        return f" -g {self.chain}" if self.goto else f" -j {self.chain}"


RuleTarget = "Verdict | Jump | Target | None"


class Rule:
    """A rule of a chain.  Equality ignores counters (as iptables -D/-C compare)."""

    __slots__ = ("ip", "matches", "target", "packets", "bytes")

    def __init__(
        self,
        ip: IpMatch,
        matches: tuple[Match, ...] = (),
        target: Verdict | Jump | Target | None = None,
        packets: int = 0,
        bytes: int = 0,
    ) -> None:
        self.ip = ip
        self.matches = matches
        self.target = target
        self.packets = packets
        self.bytes = bytes

    def spec(self) -> tuple[object, ...]:
        return (self.ip, self.matches, self.target)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(self.spec())

    def save_spec(self, memo: dict[int, str] | None = None) -> str:
        """The rule text after ``-A CHAIN`` (starting with a space), as iptables-save prints it.

        *memo* maps id() of shared (immutable) parts to their text, for savers
        that render many rules sharing the same objects.
        """
        if memo is None:
            memo = {}
        parts = [self.ip, *self.matches]
        if self.target is not None:
            parts.append(self.target)
        out = []
        for p in parts:
            text = memo.get(id(p))
            if text is None:
                if p is self.ip:
                    text = self.ip.save()
                elif isinstance(p, Verdict | Jump):
                    text = p.save()
                elif p is self.target:
                    text = f" -j {p.name}{p.save()}"  # type: ignore[union-attr]
                else:
                    text = f" -m {p.name}{p.save()}"  # type: ignore[union-attr]
                memo[id(p)] = text
            out.append(text)
        return "".join(out)

    def save(self, chain: str, counters: bool = False) -> str:
        prefix = f"[{self.packets}:{self.bytes}] " if counters else ""
        return f"{prefix}-A {chain}{self.save_spec()}"

    def __repr__(self) -> str:
        return f"Rule({self.save_spec().strip()!r})"
