"""-j CONNMARK (xt_CONNMARK revision 2): set the conntrack mark, or copy it from/to the nfmark."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.MARK import OPS as MARK_OPS
from pynetfilter.ext.MARK import U32, describe_xmark, parse_xmark_op
from pynetfilter.ext.types import parse_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MODE_SET, MODE_SAVE, MODE_RESTORE = 0, 1, 2
SHIFT_LEFT, SHIFT_RIGHT = 0, 1
OPS = (*MARK_OPS, "save-mark", "restore-mark")
SHIFT_OPS = ("left-shift-mark", "right-shift-mark")


def _excl(name: str) -> tuple[str, ...]:
    return tuple(o for o in OPS if o != name)


@dataclass(frozen=True, slots=True)
class Connmark(Target):
    """struct xt_connmark_tginfo2."""

    name: ClassVar[str] = "CONNMARK"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        *(Opt(o, nargs=0 if o.endswith(("save-mark", "restore-mark")) else 1, excl=_excl(o)) for o in OPS),
        Opt("left-shift-mark"),
        Opt("right-shift-mark"),
        Opt("ctmask", excl=("mask",)),
        Opt("nfmask", excl=("mask",)),
        Opt("mask", excl=("ctmask", "nfmask")),
    )

    ctmark: int = 0
    ctmask: int = U32
    nfmask: int = U32
    shift_dir: int = SHIFT_LEFT
    shift_bits: int = 0
    mode: int = MODE_SET

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connmark:
        ctmark, ctmask, nfmask = 0, U32, U32
        shift_dir, shift_bits, mode = SHIFT_LEFT, 0, MODE_SET
        if not any(n in OPS for n in opts.names()):
            raise ParameterProblem("CONNMARK target: No operation specified: "
                                   "expected --set-mark, --save-mark, ...")
        for g in opts.items:
            n = g.opt.name
            if n in MARK_OPS:
                mode = MODE_SET
                ctmark, ctmask = parse_xmark_op(n, g.value, "CONNMARK")
            elif n == "save-mark":
                mode = MODE_SAVE
            elif n == "restore-mark":
                mode = MODE_RESTORE
            elif n in SHIFT_OPS:
                shift_dir = SHIFT_LEFT if n == "left-shift-mark" else SHIFT_RIGHT
                shift_bits = parse_uint(g.value, 0, 32, "a shift count", ext="CONNMARK", opt=n)
            elif n == "ctmask":
                ctmask = parse_uint(g.value, 0, U32, "a 32-bit mask", ext="CONNMARK", opt=n)
            elif n == "nfmask":
                nfmask = parse_uint(g.value, 0, U32, "a 32-bit mask", ext="CONNMARK", opt=n)
            elif n == "mask":
                ctmask = nfmask = parse_uint(g.value, 0, U32, "a 32-bit mask", ext="CONNMARK", opt=n)
        return cls(ctmark, ctmask, nfmask, shift_dir, shift_bits, mode)

    def _shift(self, dash: str) -> str:
        if self.shift_bits:
            return f" {dash}{SHIFT_OPS[self.shift_dir]} {self.shift_bits}"
        return ""

    def save(self) -> str:
        if self.mode == MODE_SET:
            out = f" --set-xmark 0x{self.ctmark:x}/0x{self.ctmask:x}"
        else:
            op = "save-mark" if self.mode == MODE_SAVE else "restore-mark"
            out = f" --{op} --nfmask 0x{self.nfmask:x} --ctmask 0x{self.ctmask:x}"
        return out + self._shift("--")

    def exact_save(self) -> str | None:
        # --set-mark M --mask K keeps K as the nfmask too, which --set-xmark does not print.
        if self.mode == MODE_SET and self.nfmask != U32:
            return f" --set-xmark 0x{self.ctmark:x}/0x{self.ctmask:x} --nfmask 0x{self.nfmask:x}" \
                + self._shift("--")
        return None

    def describe(self, numeric: bool) -> str:
        if self.mode == MODE_SET:
            out = describe_xmark("CONNMARK", self.ctmark, self.ctmask)
        elif self.mode == MODE_SAVE:
            if self.nfmask == U32 and self.ctmask == U32:
                out = " CONNMARK save"
            elif self.nfmask == self.ctmask:
                out = f" CONNMARK save mask 0x{self.nfmask:x}"
            else:
                out = f" CONNMARK save nfmask 0x{self.nfmask:x} ctmask ~0x{self.ctmask:x}"
        elif self.ctmask == U32 and self.nfmask == U32:
            out = " CONNMARK restore"
        elif self.ctmask == self.nfmask:
            out = f" CONNMARK restore mask 0x{self.ctmask:x}"
        else:
            out = f" CONNMARK restore ctmask 0x{self.ctmask:x} nfmask ~0x{self.nfmask:x}"
        return out + self._shift("")

    def check(self, ctx: CheckContext) -> None:
        if self.shift_bits > 31:
            raise KernelRefusal(f"CONNMARK target: shift of {self.shift_bits} bits out of range 0-31")


    def _shifted(self, value: int) -> int:
        if self.shift_dir == SHIFT_RIGHT:
            return value >> self.shift_bits
        return (value << self.shift_bits) & U32

    def tg(self, pkt: Packet, par: Par) -> int:
        """connmark_tg_shift: set/save to the connection's mark, or restore it to the nfmark."""
        ct = pkt.meta.ct
        if ct is None or pkt.meta.untracked:
            return XT_CONTINUE
        if self.mode == MODE_SET:
            ct.mark = self._shifted((ct.mark & ~self.ctmask & U32) ^ self.ctmark)
        elif self.mode == MODE_SAVE:
            ct.mark = (ct.mark & ~self.ctmask & U32) ^ self._shifted(pkt.meta.mark & self.nfmask)
        else:
            pkt.meta.mark = (pkt.meta.mark & ~self.nfmask & U32) ^ self._shifted(ct.mark & self.ctmask)
        return XT_CONTINUE

EXTENSION = Connmark
