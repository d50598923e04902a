"""-m addrtype (xt_addrtype revision 1): routing type of the source/destination address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


# RTN_* in enumeration order: bit i of the mask is type i.
TYPES = (
    "UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE",
    "PROHIBIT", "THROW", "NAT", "XRESOLVE",
)
INVERT_SOURCE, INVERT_DEST, LIMIT_IFACE_IN, LIMIT_IFACE_OUT = 0x1, 0x2, 0x4, 0x8
_IN_FORBIDDEN = hook_mask(Hook.OUTPUT, Hook.POSTROUTING)
_OUT_FORBIDDEN = hook_mask(Hook.PREROUTING, Hook.INPUT)


def _type_bit(word: str) -> int | None:
    """strncasecmp(word, TYPE, len(word)): the first type the word abbreviates."""
    up = word.upper()
    for i, name in enumerate(TYPES):
        if word and name.startswith(up):
            return 1 << i
    return None


def parse_types(text: str) -> int:
    mask = 0
    for word in text.split(","):
        bit = _type_bit(word)
        if bit is None:
            raise ParameterProblem(f'addrtype: bad type "{word}": expected one of {",".join(TYPES)}')
        mask |= bit
    return mask


def fmt_types(mask: int) -> str:
    return ",".join(n for i, n in enumerate(TYPES) if mask & (1 << i))


@dataclass(frozen=True, slots=True)
class Addrtype(Match):
    """struct xt_addrtype_info_v1."""

    name: ClassVar[str] = "addrtype"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("src-type", invert=True),
        Opt("dst-type", invert=True),
        Opt("limit-iface-in", nargs=0, excl=("limit-iface-out",)),
        Opt("limit-iface-out", nargs=0, excl=("limit-iface-in",)),
    )

    source: int = 0
    dest: int = 0
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Addrtype:
        source = dest = flags = 0
        for g in opts.items:
            n = g.opt.name
            if n == "src-type":
                source = parse_types(g.value)
                flags |= INVERT_SOURCE if g.inverted else 0
            elif n == "dst-type":
                dest = parse_types(g.value)
                flags |= INVERT_DEST if g.inverted else 0
            elif n == "limit-iface-in":
                flags |= LIMIT_IFACE_IN
            else:
                flags |= LIMIT_IFACE_OUT
        if "src-type" not in opts and "dst-type" not in opts:
            raise ParameterProblem("addrtype: you must specify --src-type or --dst-type")
        return cls(source, dest, flags)

    def check(self, ctx: CheckContext) -> None:
        if self.flags & LIMIT_IFACE_IN and ctx.hook_mask & _IN_FORBIDDEN:
            raise KernelRefusal("addrtype match: --limit-iface-in is not valid in OUTPUT/POSTROUTING")
        if self.flags & LIMIT_IFACE_OUT and ctx.hook_mask & _OUT_FORBIDDEN:
            raise KernelRefusal("addrtype match: --limit-iface-out is not valid in PREROUTING/INPUT")

    def save(self) -> str:
        out = ""
        if self.source:
            out += f"{' !' if self.flags & INVERT_SOURCE else ''} --src-type {fmt_types(self.source)}"
        if self.dest:
            out += f"{' !' if self.flags & INVERT_DEST else ''} --dst-type {fmt_types(self.dest)}"
        if self.flags & LIMIT_IFACE_IN:
            out += " --limit-iface-in"
        if self.flags & LIMIT_IFACE_OUT:
            out += " --limit-iface-out"
        return out

    def describe(self, numeric: bool) -> str:
        out = " ADDRTYPE match"
        if self.source:
            out += f" src-type {'!' if self.flags & INVERT_SOURCE else ''}{fmt_types(self.source)}"
        if self.dest:
            out += f" dst-type {'!' if self.flags & INVERT_DEST else ''}{fmt_types(self.dest)}"
        if self.flags & LIMIT_IFACE_IN:
            out += " limit-in"
        if self.flags & LIMIT_IFACE_OUT:
            out += " limit-out"
        return out


    def mt(self, pkt: Packet, par: Par) -> bool:
        """addrtype_mt_v1: inet_dev_addr_type of each address (the host's answer), restricted to
        routes through the input (output) device with --limit-iface-in (-out)."""
        dev = None
        if self.flags & LIMIT_IFACE_IN:
            dev = par.in_dev
        elif self.flags & LIMIT_IFACE_OUT:
            dev = par.out_dev
        host = par.engine.host
        if self.source and self._hit(host.addr_type(pkt.saddr, dev), self.source) == bool(
                self.flags & INVERT_SOURCE):
            return False
        return not (self.dest and self._hit(host.addr_type(pkt.daddr, dev), self.dest) == bool(
            self.flags & INVERT_DEST))

    @staticmethod
    def _hit(rtype: str, mask: int) -> bool:
        i = _TYPE_INDEX.get(rtype)  # (the host answers in upper case already)
        if i is None:
            i = TYPES.index(rtype.upper())
        return bool(mask >> i & 1)


_TYPE_INDEX = {name: i for i, name in enumerate(TYPES)}


EXTENSION = Addrtype
