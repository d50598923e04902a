"""-j CT (xt_CT revision 2): a conntrack template: notrack, helper, timeout policy, events, zone.

Only in the raw table.  The kernel resolves the helper (by name and the rule's ``-p``) at load time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import try_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

F_NOTRACK, F_NOTRACK_ALIAS, F_ZONE_DIR_ORIG, F_ZONE_DIR_REPL, F_ZONE_MARK = 0x1, 0x2, 0x4, 0x8, 0x10
HELPER_SIZE = 16
TIMEOUT_KEEP = 4  # iptables 1.8.9 keeps only this much of --timeout (observed)

CT_EVENTS = (
    "new", "related", "destroy", "reply", "assured", "protoinfo", "helper", "mark", "natseqinfo", "secmark",
)
EXP_EVENTS = ("new",)

# Conntrack helpers this kernel has built in: name -> IP protocols they register for.
HELPERS: dict[str, tuple[int, ...]] = {
    "amanda": (17,), "ftp": (6,), "irc": (6,), "netbios-ns": (17,), "pptp": (6,), "sane": (6,),
    "sip": (6, 17), "snmp": (17,), "snmp_trap": (17,), "tftp": (17,), "RAS": (17,), "Q.931": (6,),
}


def parse_events(text: str, table: tuple[str, ...], opt: str) -> int:
    mask = 0
    for word in text.split(","):
        if word not in table:
            raise ParameterProblem(f'Unknown event type "{word}" for --{opt}: expected {",".join(table)}')
        mask |= 1 << table.index(word)
    return mask


def fmt_events(mask: int, table: tuple[str, ...]) -> str:
    return ",".join(name for i, name in enumerate(table) if mask & (1 << i))


def cut(text: str, keep: int) -> str:
    return text.encode("utf-8", "surrogateescape")[:keep].decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Ct(Target):
    """struct xt_ct_target_info_v1."""

    name: ClassVar[str] = "CT"
    table: ClassVar[str | None] = "raw"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("notrack", nargs=0),
        Opt("helper"),
        Opt("timeout"),
        Opt("ctevents"),
        Opt("expevents"),
        Opt("zone-orig"),
        Opt("zone-reply"),
        Opt("zone"),
    )

    flags: int = 0
    zone: int = 0
    ct_events: int = 0
    exp_events: int = 0
    helper: str = ""
    timeout: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ct:
        flags = zone = ct_events = exp_events = 0
        helper = timeout = ""
        for g in opts.items:
            n = g.opt.name
            if n == "notrack":
                flags |= F_NOTRACK
            elif n == "helper":
                helper = cut(g.value, HELPER_SIZE - 1)
            elif n == "timeout":
                timeout = cut(g.value, TIMEOUT_KEEP)
            elif n == "ctevents":
                ct_events = parse_events(g.value, CT_EVENTS, n)
            elif n == "expevents":
                exp_events = parse_events(g.value, EXP_EVENTS, n)
            else:
                if n == "zone-orig":
                    flags |= F_ZONE_DIR_ORIG
                elif n == "zone-reply":
                    flags |= F_ZONE_DIR_REPL
                zone = 0
                if g.value.lower() == "mark":
                    flags |= F_ZONE_MARK
                else:
                    v = try_uint(g.value, 0, 0xFFFF)
                    if v is None:
                        raise ParameterProblem(f'bad zone "{g.value}": expected a zone ID 0-65535 or mark')
                    zone = v
        return cls(flags, zone, ct_events, exp_events, helper, timeout)

    @property
    def needs_conntrack(self) -> bool:  # type: ignore[override]
        """xt_ct_tg_check takes conntrack (nf_ct_netns_get) for a template, not for --notrack."""
        return not self.flags & F_NOTRACK

    def _text(self, dash: str) -> str:
        out = ""
        if self.flags & F_NOTRACK:
            out += f" {dash}notrack"
        if self.helper:
            out += f" {dash}helper {self.helper}"
        if self.timeout:
            out += f" {dash}timeout {self.timeout}"
        if self.ct_events:
            out += f" {dash}ctevents {fmt_events(self.ct_events, CT_EVENTS)}"
        if self.exp_events:
            out += f" {dash}expevents {fmt_events(self.exp_events, EXP_EVENTS)}"
        if self.flags & F_ZONE_MARK or self.zone:
            out += f" {dash}zone"
            direction = self.flags & (F_ZONE_DIR_ORIG | F_ZONE_DIR_REPL)
            if direction == F_ZONE_DIR_ORIG:
                out += "-orig"
            elif direction == F_ZONE_DIR_REPL:
                out += "-reply"
            out += " mark" if self.flags & F_ZONE_MARK else f" {self.zone}"
        return out

    def save(self) -> str:
        return self._text("--")

    def exact_save(self) -> str | None:
        # The zone's direction flags print only for one direction and a zone that prints.
        dirs = self.flags & (F_ZONE_DIR_ORIG | F_ZONE_DIR_REPL)
        both = F_ZONE_DIR_ORIG | F_ZONE_DIR_REPL
        if not dirs or (dirs != both and (self.zone or self.flags & F_ZONE_MARK)):
            return None
        rest = dataclasses.replace(self, flags=self.flags & ~(both | F_ZONE_MARK), zone=0)._text("--")
        value = "mark" if self.flags & F_ZONE_MARK else str(self.zone)
        return rest + "".join(f" --zone-{d} {value}" for d, bit in (("orig", F_ZONE_DIR_ORIG),
                                                                    ("reply", F_ZONE_DIR_REPL)) if dirs & bit)

    def describe(self, numeric: bool) -> str:
        return " CT" + self._text("")

    def check(self, ctx: CheckContext) -> None:
        if self.flags & F_NOTRACK:
            return
        proto = 0 if ctx.ip.inv_proto else ctx.ip.proto
        if self.helper and proto not in HELPERS.get(self.helper, ()):
            raise KernelRefusal(f'CT target: no conntrack helper "{self.helper}" for protocol {proto} '
                                "(ENOENT)")
        if self.timeout:
            if not proto:
                raise KernelRefusal("CT target: --timeout needs -p with a protocol, not inverted (EINVAL)")
            raise KernelRefusal(f'CT target: no timeout policy "{self.timeout}" (ENOENT)')


    def tg(self, pkt: Packet, par: Par) -> int:
        """xt_ct_target: attach the template (zone, helper, timeout, events) or mark untracked; a
        packet that already has a conntrack entry (seen on loopback) is left alone."""
        from pynetfilter.netfilter.conntrack.entry import IP_CT_NEW, IP_CT_UNTRACKED

        if attached(pkt):
            return XT_CONTINUE
        if self.flags & F_NOTRACK:
            pkt.meta.untracked = True
            pkt.meta.ctinfo = IP_CT_UNTRACKED
        else:
            pkt.meta.ct_template = self
            pkt.meta.ctinfo = IP_CT_NEW
        return XT_CONTINUE

    def zone_for(self, pkt: Packet) -> int:
        """nf_ct_zone_tmpl: the zone id, taken from the nfmark with ``--zone mark``."""
        return pkt.meta.mark & 0xFFFF if self.flags & F_ZONE_MARK else self.zone


def attached(pkt: Packet) -> bool:
    """skb->_nfct != 0: a conntrack entry, the untracked marker or a template."""
    m = pkt.meta
    return m.ct is not None or m.untracked or m.ct_template is not None

EXTENSION = Ct
