"""-m policy (xt_policy): the IPsec policy that processed (in) or will process (out)
the packet; --dir in is for PREROUTING/INPUT/FORWARD, --dir out for OUTPUT/POSTROUTING/FORWARD.

pynetfilter has no IPsec (xfrm) model: no packet went through or will go
through an IPsec policy, so, as the kernel answers for such packets,
``--pol none`` matches and ``--pol ipsec`` does not, whatever the elements say."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext._nat import inet_aton
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.hashlimit import parse_plen
from pynetfilter.ext.types import fmt_ipv4, mask_to_cidr, parse_uint, prefix_mask, protocol_name
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MATCH_IN, MATCH_OUT, MATCH_NONE, MATCH_STRICT = 1, 2, 4, 8
MODE_TRANSPORT, MODE_TUNNEL = 0, 1
MAX_ELEM = 4  # XT_POLICY_MAX_ELEM
IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP = 50, 51, 108
_IN_HOOKS = hook_mask(Hook.PREROUTING, Hook.INPUT)
_OUT_HOOKS = hook_mask(Hook.POSTROUTING, Hook.OUTPUT)
_FIELDS = ("reqid", "spi", "proto", "mode", "tunnel-dst", "tunnel-src")


@dataclass(frozen=True, slots=True)
class Elem:
    """struct xt_policy_elem: which fields are tested (``match``), inverted, and their values."""

    match: frozenset[str] = frozenset()
    invert: frozenset[str] = frozenset()
    reqid: int = 0
    spi: int = 0
    proto: int = 0
    mode: int = MODE_TRANSPORT
    saddr: tuple[int, int] = (0, 0)
    daddr: tuple[int, int] = (0, 0)


def parse_hostmask(text: str) -> tuple[int, int]:
    """XTTYPE_HOSTMASK: ``host[/len|/mask]``; the host is not masked, an odd mask means /32."""
    host, sep, mask = text.partition("/")
    addr = inet_aton(host)
    if addr is None:
        raise ParameterProblem(f'bad value "{text}": expected a numeric IPv4 address[/mask]')
    if not sep:
        return addr, 0xFFFFFFFF
    plen = parse_plen(mask, "the tunnel address mask")
    return addr, prefix_mask(plen) if plen <= 32 else 0xFFFFFFFF


def _fmt_hostmask(addr: int, mask: int) -> str:
    if mask == 0xFFFFFFFF:
        return fmt_ipv4(addr)
    cidr = mask_to_cidr(mask)
    return f"{fmt_ipv4(addr)}/{cidr if cidr >= 0 else fmt_ipv4(mask)}"


@dataclass(frozen=True, slots=True)
class Policy(Match):
    """struct xt_policy_info: flags and up to four policy elements."""

    name: ClassVar[str] = "policy"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("dir"),
        Opt("pol"),
        Opt("strict", nargs=0),
        *(Opt(n, invert=True, multi=True)
          for n in ("reqid", "spi", "tunnel-src", "tunnel-dst", "proto", "mode")),
        Opt("next", nargs=0, multi=True),
    )

    flags: int = 0
    elems: tuple[Elem, ...] = ()

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Policy:
        from pynetfilter.syntax.words import parse_protocol

        flags = 0
        elems: list[Elem] = [Elem()]
        for g in opts.items:
            n, e = g.opt.name, elems[-1]
            if n == "dir":
                if g.value not in ("in", "out"):
                    raise ParameterProblem(f'policy_match: invalid dir "{g.value}": expected in or out')
                flags |= MATCH_IN if g.value == "in" else MATCH_OUT
            elif n == "pol":
                if g.value not in ("none", "ipsec"):
                    raise ParameterProblem(f'invalid policy "{g.value}": expected none or ipsec')
                flags |= MATCH_NONE if g.value == "none" else 0
            elif n == "strict":
                flags |= MATCH_STRICT
            elif n == "next":
                if len(elems) == MAX_ELEM:
                    raise ParameterProblem(f"policy: maximum policy depth reached ({MAX_ELEM} elements)")
                elems.append(Elem())
            else:
                if n in e.match:
                    raise ParameterProblem(f"policy match: double --{n} option")
                value: dict[str, object] = {}
                if n == "reqid":
                    value["reqid"] = parse_uint(g.value, what="a reqid", ext="policy", opt="reqid")
                elif n == "spi":
                    value["spi"] = parse_uint(g.value, what="an SPI", ext="policy", opt="spi")
                elif n == "proto":
                    proto = parse_protocol(g.value)
                    if proto not in (IPPROTO_AH, IPPROTO_ESP, IPPROTO_COMP):
                        raise ParameterProblem(f'bad value "{g.value}": expected ah, esp or ipcomp')
                    value["proto"] = proto
                elif n == "mode":
                    if g.value not in ("transport", "tunnel"):
                        raise ParameterProblem(f'invalid mode "{g.value}": expected transport or tunnel')
                    value["mode"] = MODE_TUNNEL if g.value == "tunnel" else MODE_TRANSPORT
                else:
                    value["saddr" if n == "tunnel-src" else "daddr"] = parse_hostmask(g.value)
                inv = e.invert | {n} if g.inverted else e.invert
                elems[-1] = replace(e, match=e.match | {n}, invert=inv, **value)  # type: ignore[arg-type]
        if "next" in opts and "strict" not in opts:
            raise ParameterProblem('policy: option "--next" also requires "--strict"')
        if not flags & (MATCH_IN | MATCH_OUT):
            raise ParameterProblem("policy match: neither --dir in nor --dir out specified")
        if flags & MATCH_NONE:
            if flags & MATCH_STRICT:
                raise ParameterProblem("policy match: policy none but --strict given")
            if len(elems) > 1:
                raise ParameterProblem("policy match: policy none but policy given")
            elems = []
        for i, e in enumerate(elems):
            if flags & MATCH_STRICT and not e.match:
                raise ParameterProblem(f"policy match: empty policy element {i}. --strict is in effect, "
                                       "but at least one of reqid, spi, tunnel-src, tunnel-dst, proto "
                                       "or mode is required.")
            if e.match & {"tunnel-src", "tunnel-dst"} and (e.mode == MODE_TUNNEL) == ("mode" in e.invert):
                raise ParameterProblem("policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode")
        return cls(flags, tuple(elems))

    def check(self, ctx: CheckContext) -> None:
        if ctx.hook_mask & _IN_HOOKS and self.flags & MATCH_OUT:
            raise KernelRefusal("policy: output policy not valid in PREROUTING and INPUT (EINVAL)")
        if ctx.hook_mask & _OUT_HOOKS and self.flags & MATCH_IN:
            raise KernelRefusal("policy: input policy not valid in POSTROUTING and OUTPUT (EINVAL)")

    def mt(self, pkt: Packet, par: Par) -> bool:
        # match_policy_in/out return -1 without a sec_path / xfrm dst: then only "none" matches.
        return bool(self.flags & MATCH_NONE)

    def meta_note(self) -> str:
        return "policy: no IPsec model, no packet has a policy (--pol none matches, --pol ipsec does not)"

    def _entry(self, pre: str, e: Elem, numeric: bool) -> str:
        out = ""

        def bang(f: str) -> str:
            return " !" if f in e.invert else ""

        if "reqid" in e.match:
            out += f"{bang('reqid')} {pre}reqid {e.reqid}"
        if "spi" in e.match:
            out += f"{bang('spi')} {pre}spi 0x{e.spi:x}"
        if "proto" in e.match:
            name = None if numeric else protocol_name(e.proto)
            out += f"{bang('proto')} {pre}proto {name if name is not None else e.proto}"
        if "mode" in e.match:
            out += f"{bang('mode')} {pre}mode {'tunnel' if e.mode == MODE_TUNNEL else 'transport'}"
        if "tunnel-dst" in e.match:
            out += f"{bang('tunnel-dst')} {pre}tunnel-dst {_fmt_hostmask(*e.daddr)}"
        if "tunnel-src" in e.match:
            out += f"{bang('tunnel-src')} {pre}tunnel-src {_fmt_hostmask(*e.saddr)}"
        return out

    def _flags(self, pre: str) -> str:
        out = f" {pre}dir {'in' if self.flags & MATCH_IN else 'out'}"
        out += f" {pre}pol {'none' if self.flags & MATCH_NONE else 'ipsec'}"
        return out + (f" {pre}strict" if self.flags & MATCH_STRICT else "")

    def save(self) -> str:
        return self._flags("--") + " --next".join(self._entry("--", e, False) for e in self.elems)

    def describe(self, numeric: bool) -> str:
        out = " policy match" + self._flags("")
        for i, e in enumerate(self.elems):
            out += (f" [{i}]" if len(self.elems) > 1 else "") + self._entry("", e, numeric)
        return out


EXTENSION = Policy
