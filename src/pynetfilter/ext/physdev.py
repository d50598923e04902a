"""-m physdev (xt_physdev): bridge port devices of bridged packets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_iface
from pynetfilter.model.tables import Hook

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


OP_IN, OP_OUT, OP_BRIDGED, OP_ISIN, OP_ISOUT = 0x01, 0x02, 0x04, 0x08, 0x10
_BITS = {
    "physdev-in": OP_IN, "physdev-out": OP_OUT, "physdev-is-bridged": OP_BRIDGED,
    "physdev-is-in": OP_ISIN, "physdev-is-out": OP_ISOUT,
}


@dataclass(frozen=True, slots=True)
class Physdev(Match):
    """struct xt_physdev_info: bitmask of given options, invert mask, port names."""

    name: ClassVar[str] = "physdev"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("physdev-in", invert=True),
        Opt("physdev-out", invert=True),
        Opt("physdev-is-in", nargs=0, invert=True),
        Opt("physdev-is-out", nargs=0, invert=True),
        Opt("physdev-is-bridged", nargs=0, invert=True),
    )

    bitmask: int = 0
    invert: int = 0
    physindev: str = ""
    physoutdev: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Physdev:
        bitmask = invert = 0
        indev = outdev = ""
        for g in opts.items:
            n = g.opt.name
            if n == "physdev-in":
                indev = parse_iface(g.value)
            elif n == "physdev-out":
                outdev = parse_iface(g.value)
            bitmask |= _BITS[n]
            invert |= _BITS[n] if g.inverted else 0
        if not bitmask:
            raise ParameterProblem("PHYSDEV: no physdev option specified: expected at least one")
        return cls(bitmask, invert, indev, outdev)

    def check(self, ctx: CheckContext) -> None:
        if (self.bitmask & (OP_OUT | OP_ISOUT)
                and (not self.bitmask & OP_BRIDGED or self.invert & OP_BRIDGED)
                and ctx.hook_mask & (1 << Hook.OUTPUT)):
            raise KernelRefusal("physdev match: --physdev-out and --physdev-is-out only supported in "
                                "the FORWARD and POSTROUTING chains with bridged traffic")

    def save(self) -> str:
        out = []

        def bang(bit: int) -> str:
            return " !" if self.invert & bit else ""

        if self.bitmask & OP_ISIN:
            out.append(f"{bang(OP_ISIN)} --physdev-is-in")
        if self.bitmask & OP_IN:
            out.append(f"{bang(OP_IN)} --physdev-in {self.physindev}")
        if self.bitmask & OP_ISOUT:
            out.append(f"{bang(OP_ISOUT)} --physdev-is-out")
        if self.bitmask & OP_OUT:
            out.append(f"{bang(OP_OUT)} --physdev-out {self.physoutdev}")
        if self.bitmask & OP_BRIDGED:
            out.append(f"{bang(OP_BRIDGED)} --physdev-is-bridged")
        return "".join(out)

    def describe(self, numeric: bool) -> str:
        return " PHYSDEV match" + self.save()


    def mt(self, pkt: Packet, par: Par) -> bool:
        """physdev_mt.  pynetfilter has no bridge model: a packet is bridged exactly when its
        metadata names a bridge port (``meta.physdev_in``/``physdev_out``, from a capture or
        the caller); otherwise only the inverted options match, as in the kernel."""
        from pynetfilter.netfilter.traverse import iface_match

        bits, inv = self.bitmask, self.invert
        indev, outdev = pkt.meta.physdev_in, pkt.meta.physdev_out
        if indev is None and outdev is None:  # !nf_bridge_info_exists(skb)
            return not bits & ~inv
        if bits & OP_BRIDGED and (outdev is not None) == bool(inv & OP_BRIDGED):
            return False
        if bits & OP_ISIN and (indev is not None) == bool(inv & OP_ISIN):
            return False
        if bits & OP_ISOUT and (outdev is not None) == bool(inv & OP_ISOUT):
            return False
        if bits & OP_IN and indev is not None and iface_match(self.physindev, indev) == bool(inv & OP_IN):
            return False
        if not bits & OP_OUT:
            return True
        if outdev is None:
            return False
        return iface_match(self.physoutdev, outdev) != bool(inv & OP_OUT)


EXTENSION = Physdev
