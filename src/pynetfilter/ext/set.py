"""-m set (xt_set, revision 4): membership of packet fields in an ipset, with counters.

iptables looks the set up by name in the kernel; here the Ruleset's ``ipsets``
(name -> family) stands for the kernel's sets: an unknown name is refused.
Evaluation tests the packet against the engine's sets (``engine.ipsets``,
loaded from ``ipset save`` text by pynetfilter.netfilter.ipset); a set the
engine does not have holds nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

DIM_MAX = 6  # IPSET_DIM_MAX
MAXNAMELEN = 32  # IPSET_MAXNAMELEN
F_RETURN_NOMATCH, F_SKIP_COUNTER, F_SKIP_SUBCOUNTER = 1 << 7, 1 << 8, 1 << 10
OP_NONE, OP_EQ, OP_NE, OP_LT, OP_GT = 0, 1, 2, 3, 4
_COUNTERS = ("packets-eq", "packets-lt", "packets-gt", "bytes-eq", "bytes-lt", "bytes-gt")


def ipset_family(create_args: list[str]) -> str:
    """The family of a set from ``ipset create NAME`` arguments (TYPE [options])."""
    if create_args and create_args[0].startswith("list:"):
        return "unspec"
    for i, word in enumerate(create_args[:-1]):
        if word == "family":
            return "inet6" if create_args[i + 1] in ("inet6", "ipv6") else "inet"
    return "inet"


def parse_dirs(text: str) -> tuple[int, int]:
    """``src|dst[,...]``: (dimension, flags with bit i set for a src at dimension i)."""
    dim = flags = 0
    parts = text.split(",")
    if len(parts) > DIM_MAX:
        raise ParameterProblem(f'bad value "{text}": expected at most {DIM_MAX} src/dst options')
    for part in parts:
        dim += 1
        if part.startswith("src"):
            flags |= 1 << dim
        elif not part.startswith("dst"):
            raise ParameterProblem(f'bad value "{part}": expected (a comma separated list of) src or dst')
    return dim, flags


@dataclass(frozen=True, slots=True)
class Set(Match):
    """struct xt_set_info_match_v4: the set (by name), directions, flags and counter tests."""

    name: ClassVar[str] = "set"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("match-set", nargs=2, invert=True, multi=True, aliases=("set",)),
        Opt("return-nomatch", nargs=0, invert=True, multi=True),
        Opt("update-counters", nargs=0, invert=True, multi=True),
        Opt("update-subcounters", nargs=0, invert=True, multi=True),
        *(Opt(n, invert=True, multi=True) for n in _COUNTERS),
    )

    set_name: str = ""
    dim: int = 0
    dir_flags: int = 0
    invert: bool = False
    flags: int = 0
    packets: tuple[int, int] = (OP_NONE, 0)
    bytes: tuple[int, int] = (OP_NONE, 0)

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Set:
        name, dim, dirs, invert, flags = "", 0, 0, False, 0
        counters = {"packets": (OP_NONE, 0), "bytes": (OP_NONE, 0)}
        for g in opts.items:
            n = g.opt.name
            if n == "match-set":
                if dim:
                    raise ParameterProblem("--match-set can be specified only once")
                invert = g.inverted
                name = g.args[0]
                if len(name) > MAXNAMELEN - 1:
                    raise ParameterProblem(f'setname "{name}" too long: expected {MAXNAMELEN - 1} chars')
                dim, dirs = parse_dirs(g.args[1])
            elif n == "return-nomatch":
                if g.inverted:
                    raise ParameterProblem("--return-nomatch flag cannot be inverted")
                flags |= F_RETURN_NOMATCH
            elif n == "update-counters":
                flags |= F_SKIP_COUNTER if g.inverted else 0
            elif n == "update-subcounters":
                flags |= F_SKIP_SUBCOUNTER if g.inverted else 0
            else:
                what, _, op = n.partition("-")
                if counters[what][0] != OP_NONE:
                    raise ParameterProblem(f"only one of the --{what}-[eq|lt|gt] is allowed")
                if g.inverted and op != "eq":
                    raise ParameterProblem(f"--{n} option cannot be inverted")
                r = strtoul(g.value)
                if r is None or r[1] != "" or r[0] > 2**64 - 1:
                    raise ParameterProblem(f'Cannot parse "{g.value}" as a counter value: expected a number')
                code = {"eq": OP_NE if g.inverted else OP_EQ, "lt": OP_LT, "gt": OP_GT}[op]
                counters[what] = (code, r[0])
        if not dim:
            raise ParameterProblem("You must specify --match-set with proper arguments")
        return cls(name, dim, dirs, invert, flags, counters["packets"], counters["bytes"])

    resolves: ClassVar[bool] = True

    def resolve(self, ipsets: Mapping[str, str]) -> None:
        # libxt_set asks the kernel for the set by name while parsing (exit status 2).
        if self.set_name not in ipsets:
            raise ParameterProblem(
                f'Set {self.set_name} doesn\'t exist: expected the name of an existing ipset')
        if ipsets[self.set_name] == "inet6":  # get_set_byname compares the rule's family
            raise ParameterProblem(
                f"The protocol family of set {self.set_name} is IPv6, which is not applicable.")

    def check(self, ctx: CheckContext) -> None:
        family = ctx.ipsets.get(self.set_name)
        if family is None:
            raise KernelRefusal(f"Set {self.set_name} doesn't exist")
        if family == "inet6":
            raise KernelRefusal(f"The protocol family of set {self.set_name} is IPv6: expected an IPv4 set")

    def mt(self, pkt: Packet, par: Par) -> bool:
        from pynetfilter.netfilter.ipset import test
        from pynetfilter.netfilter.traverse import packet_len

        length = 0 if self.flags & F_SKIP_COUNTER else packet_len(pkt)
        check = None
        if self.packets[0] != OP_NONE or self.bytes[0] != OP_NONE:
            def check(packets: int, nbytes: int) -> bool:
                return _counter_ok(packets, self.packets) and _counter_ok(nbytes, self.bytes)
        hit = test(par.engine.ipsets, self.set_name, pkt, self.dim, self.dir_flags, par.now,
                   bool(self.flags & F_RETURN_NOMATCH), length, check)
        return hit != self.invert

    def _text(self, opt: str, sep: str) -> str:
        dirs = ",".join("src" if self.dir_flags & (1 << i) else "dst" for i in range(1, self.dim + 1))
        out = f"{' !' if self.invert else ''} {opt} {self.set_name} {dirs}"
        if self.flags & F_RETURN_NOMATCH:
            out += f" {sep}return-nomatch"
        if self.flags & F_SKIP_COUNTER:
            out += f" ! {sep}update-counters"
        if self.flags & F_SKIP_SUBCOUNTER:
            out += f" ! {sep}update-subcounters"
        for what, (op, value) in (("packets", self.packets), ("bytes", self.bytes)):
            if op == OP_EQ:
                out += f" {sep}{what}-eq {value}"
            elif op == OP_NE:
                out += f" ! {sep}{what}-eq {value}"
            elif op == OP_LT:
                out += f" {sep}{what}-lt {value}"
            elif op == OP_GT:
                out += f" {sep}{what}-gt {value}"
        return out

    def save(self) -> str:
        return self._text("--match-set", "--")

    def describe(self, numeric: bool) -> str:
        return self._text("match-set", "")


def _counter_ok(value: int, test: tuple[int, int]) -> bool:
    """ip_set_match_counter."""
    op, want = test
    return (op == OP_NONE or (op == OP_EQ and value == want) or (op == OP_NE and value != want)
            or (op == OP_LT and value < want) or (op == OP_GT and value > want))


EXTENSION = Set
