"""-j TCPMSS (xt_TCPMSS): set or clamp the MSS option of TCP SYN segments.

The kernel wants ``-p tcp`` and a ``-m tcp`` match that selects SYN, and allows
clamping to the path MTU only from FORWARD, OUTPUT and POSTROUTING.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint
from pynetfilter.model.tables import Hook, hook_mask

CLAMP_PMTU = 0xFFFF  # XT_TCPMSS_CLAMP_PMTU
MAX_MSS = 0xFFFF - 20  # libxt_TCPMSS: UINT16_MAX - sizeof(struct iphdr)
TCPHDR_SYN = 0x02
XT_TCP_INV_FLAGS = 0x04
CLAMP_HOOKS = hook_mask(Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)


def _is_syn_match(m: object) -> bool:
    """xt_TCPMSS's find_syn_match: a tcp match whose flag comparison includes SYN, not inverted."""
    if getattr(type(m), "name", None) != "tcp":
        return False
    cmp = getattr(m, "flg_cmp", 0)
    inv = getattr(m, "invflags", 0)
    return bool(cmp & TCPHDR_SYN) and not inv & XT_TCP_INV_FLAGS


@dataclass(frozen=True, slots=True)
class Tcpmss(Target):
    """struct xt_tcpmss_info."""

    name: ClassVar[str] = "TCPMSS"
    proto: ClassVar[int] = 6
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("set-mss"),
        Opt("clamp-mss-to-pmtu", nargs=0),
    )

    mss: int = CLAMP_PMTU

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tcpmss:
        if not opts.items:
            raise ParameterProblem("TCPMSS: no option given: expected --set-mss or --clamp-mss-to-pmtu")
        mss = CLAMP_PMTU
        for g in opts.items:  # both may be given: the last one wins, as in libxt_TCPMSS
            mss = parse_uint(g.value, 0, MAX_MSS, "an MSS") if g.opt.name == "set-mss" else CLAMP_PMTU
        return cls(mss)

    def save(self) -> str:
        return " --clamp-mss-to-pmtu" if self.mss == CLAMP_PMTU else f" --set-mss {self.mss}"

    def describe(self, numeric: bool) -> str:
        return " TCPMSS clamp to PMTU" if self.mss == CLAMP_PMTU else f" TCPMSS set {self.mss}"

    def check(self, ctx: CheckContext) -> None:
        if self.mss == CLAMP_PMTU and ctx.hook_mask & ~CLAMP_HOOKS:
            raise KernelRefusal(
                "TCPMSS target: path-MTU clamping only supported in FORWARD, OUTPUT and POSTROUTING"
            )
        if not any(_is_syn_match(m) for m in ctx.matches):
            raise KernelRefusal("TCPMSS target: only works on TCP SYN packets: expected a -m tcp SYN match")


EXTENSION = Tcpmss
