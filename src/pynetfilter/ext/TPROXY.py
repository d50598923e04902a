"""-j TPROXY (revision 1): hand a packet to a local transparent-proxy socket.

Kernel rules: only mangle PREROUTING, and only with ``-p tcp`` or ``-p udp``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext._nat import parse_host
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import fmt_ipv4, parse_mark_mask, service_port
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

_NUMERIC_SERVICE = re.compile(r"\s*([+-]?)([0-9]+)", re.ASCII)


def parse_service_port(text: str) -> int:
    """XTTYPE_PORT: getaddrinfo(NULL, text) — strtoul base 10 into an int, else a service name.

    As in glibc the number is truncated: 65536 gives port 0, and a number that
    is negative as an int (``-1``) is looked up as a name, which fails.
    """
    m = _NUMERIC_SERVICE.fullmatch(text)
    if text == "" or m:
        value = 0
        if m:
            value = min(int(m.group(2)), 2**64 - 1)
            if m.group(1) == "-":
                value = -value % 2**64
        value &= 0xFFFFFFFF
        if value < 0x80000000:
            return value & 0xFFFF
    else:
        port = service_port(text, None)
        if port is not None:
            return port
    raise ParameterProblem(
        f'Port "{text}" does not resolve to anything: expected a port number or service name'
    )


@dataclass(frozen=True, slots=True)
class Tproxy(Target):
    """struct xt_tproxy_target_info_v1 (IPv4 address)."""

    name: ClassVar[str] = "TPROXY"
    needs_defrag: ClassVar[bool] = True  # tproxy_tg4_check: nf_defrag_ipv4_enable, no conntrack
    table: ClassVar[str | None] = "mangle"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("on-port", mandatory=True),
        Opt("on-ip"),
        Opt("tproxy-mark"),
    )

    mark_mask: int = 0
    mark_value: int = 0
    laddr: int = 0
    lport: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tproxy:
        mask = value = laddr = lport = 0
        for g in opts.items:
            n = g.opt.name
            if n == "on-port":
                lport = parse_service_port(g.value)
            elif n == "on-ip":
                laddr = parse_host(g.value)
            elif n == "tproxy-mark":
                value, mask = parse_mark_mask(g.value, "TPROXY", g.opt.name)
        return cls(mask, value, laddr, lport)

    def save(self) -> str:
        return (f" --on-port {self.lport} --on-ip {fmt_ipv4(self.laddr)}"
                f" --tproxy-mark 0x{self.mark_value:x}/0x{self.mark_mask:x}")

    def describe(self, numeric: bool) -> str:
        return (f" TPROXY redirect {fmt_ipv4(self.laddr)}:{self.lport}"
                f" mark 0x{self.mark_value:x}/0x{self.mark_mask:x}")

    def tg(self, pkt: Packet, par: Par) -> int:
        """tproxy_tg4: hand the packet to a transparent local socket (the established one for its
        tuple, else a listener on --on-ip:--on-port) and mark it; no such socket: drop.  Sockets
        are not modelled: ``pkt.meta.socket`` says whether the lookup finds a transparent one."""
        from pynetfilter.ext.types import fmt_ipv4
        from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP

        l4 = pkt.l4
        if l4 is None or not hasattr(l4, "dport"):
            return NF_DROP  # no transport header to look a socket up by
        # nf_tproxy_laddr4: --on-ip, else the incoming device's first primary address, else daddr.
        dev = par.engine.host.interfaces.get(par.in_dev or "")
        primaries = [a.local for a in dev.ifaddrs if not a.secondary] if dev is not None else []
        laddr = self.laddr or (primaries[0] if primaries else pkt.daddr)
        lport = self.lport or l4.dport  # type: ignore[union-attr]
        if not pkt.meta.socket:
            par.log(f"TPROXY: no transparent socket for {fmt_ipv4(laddr)}:{lport} (packet metadata)",
                    kind="note")
            return NF_DROP
        pkt.meta.mark = (pkt.meta.mark & ~self.mark_mask & 0xFFFFFFFF) ^ self.mark_value
        par.log(f"TPROXY: socket {fmt_ipv4(laddr)}:{lport} from packet metadata", kind="note")
        return NF_ACCEPT

    def check(self, ctx: CheckContext) -> None:
        if ctx.ip.proto not in (6, 17) or ctx.ip.inv_proto:
            raise KernelRefusal("TPROXY target: can be used only with -p tcp or -p udp")


EXTENSION = Tproxy
