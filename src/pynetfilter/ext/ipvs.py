"""-m ipvs (libxt_ipvs): IPVS connection properties; this kernel has no CONFIG_IP_VS (so no xt_ipvs).

iptables parses the options; the kernel then refuses the rule (see pynetfilter.ext._absent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext._absent import AbsentMatch
from pynetfilter.ext.base import Opt, Options, RuleContext
from pynetfilter.ext.conntrack import _port as getportbyname
from pynetfilter.ext.conntrack import parse_hostmask
from pynetfilter.syntax.words import parse_protocol

# XT_IPVS_* bits, in the option table's order (O_IPVS .. O_VPORTCTL).
BITS = {"ipvs": 1, "vproto": 2, "vaddr": 4, "vport": 8, "vdir": 16, "vmethod": 32, "vportctl": 64}
IPVS_PROPERTY, DIR = 1, 16
METHODS = {"GATE": 0x0003, "IPIP": 0x0002, "MASQ": 0x0000}  # IP_VS_CONN_F_DROUTE/TUNNEL/MASQ


def _ascii_upper(text: str) -> str:
    """What strcasecmp compares in the C locale: ASCII letters only fold."""
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in text)


@dataclass(frozen=True, slots=True)
class Ipvs(AbsentMatch):
    """struct xt_ipvs_mtinfo."""

    name: ClassVar[str] = "ipvs"
    module: ClassVar[str] = "xt_ipvs"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ipvs", nargs=0, invert=True),
        Opt("vproto", invert=True),
        Opt("vaddr", invert=True),
        Opt("vport", invert=True),
        Opt("vdir"),
        Opt("vmethod", invert=True),
        Opt("vportctl", invert=True),
    )

    vaddr: int = 0
    vmask: int = 0
    vport: int = 0
    l4proto: int = 0
    fwd_method: int = 0
    vportctl: int = 0
    invert: int = 0
    bitmask: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ipvs:
        vaddr = vmask = vport = proto = method = portctl = invert = bitmask = 0
        for g in opts.items:
            n = g.opt.name
            if n == "vproto":
                proto = parse_protocol(g.value)
            elif n == "vaddr":
                vaddr, vmask = parse_hostmask(g.value, "--vaddr")
            elif n == "vport":
                vport = getportbyname(g.value)
            elif n == "vportctl":
                portctl = getportbyname(g.value)
            elif n == "vdir":
                word = _ascii_upper(g.value)
                if word not in ("ORIGINAL", "REPLY"):
                    raise ParameterProblem(f'ipvs: Bad value for "--vdir" option: "{g.value}": '
                                           "expected ORIGINAL or REPLY")
                bitmask |= DIR
                invert = invert | DIR if word == "REPLY" else invert & ~DIR
            elif n == "vmethod":
                word = _ascii_upper(g.value)
                if word not in METHODS:
                    raise ParameterProblem(f'ipvs: Bad value for "--vmethod" option: "{g.value}": '
                                           "expected GATE, IPIP or MASQ")
                method = METHODS[word]
            bitmask |= BITS[n]
            if g.inverted:
                invert |= BITS[n]
        if not opts.items:
            raise ParameterProblem("IPVS: At least one option is required")
        if bitmask & ~IPVS_PROPERTY:
            if invert & IPVS_PROPERTY:
                raise ParameterProblem("! --ipvs cannot be together with other options")
            bitmask |= IPVS_PROPERTY
        return cls(vaddr, vmask, vport, proto, method, portctl, invert, bitmask)


EXTENSION = Ipvs
