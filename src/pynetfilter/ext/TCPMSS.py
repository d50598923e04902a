"""-j TCPMSS (xt_TCPMSS): set or clamp the MSS option of TCP SYN segments.

The kernel wants ``-p tcp`` and a ``-m tcp`` match that selects SYN, and allows
clamping to the path MTU only from FORWARD, OUTPUT and POSTROUTING.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.verdicts import NF_DROP, XT_CONTINUE
from pynetfilter.packet.model import Packet, Tcp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par

CLAMP_PMTU = 0xFFFF  # XT_TCPMSS_CLAMP_PMTU
MAX_MSS = 0xFFFF - 20  # libxt_TCPMSS: UINT16_MAX - sizeof(struct iphdr)
TCPHDR_SYN = 0x02
XT_TCP_INV_FLAGS = 0x04
CLAMP_HOOKS = hook_mask(Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)
TCPOPT_NOP, TCPOPT_MSS, TCPOLEN_MSS = 1, 2, 4
MIN_LEN = 40  # sizeof(struct iphdr) + sizeof(struct tcphdr)
DEFAULT_MTU = 1500


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
            raise ParameterProblem("TCPMSS target: At least one parameter is required: "
                                   "--set-mss or --clamp-mss-to-pmtu")
        mss = CLAMP_PMTU
        for g in opts.items:  # both may be given: the last one wins, as in libxt_TCPMSS
            mss = (parse_uint(g.value, 0, MAX_MSS, "an MSS", ext="TCPMSS", opt="set-mss")
                   if g.opt.name == "set-mss" else CLAMP_PMTU)
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


    def tg(self, pkt: Packet, par: Par) -> int:
        """tcpmss_tg4 / tcpmss_mangle_packet."""
        tcph = pkt.l4
        if par.fragoff or not isinstance(tcph, Tcp):
            return XT_CONTINUE if par.fragoff else NF_DROP
        hlen = tcph.doff * 4
        if hlen < 20 or len(tcph.options) < hlen - 20:
            return NF_DROP  # a header longer than the packet
        if self.mss == CLAMP_PMTU:
            # min(dst_mtu of the route out, MTU of the route back to the sender) - 40
            mtu = min(_dev_mtu(par, par.out_dev), _reverse_mtu(pkt, par))
            if mtu <= MIN_LEN:
                par.log(f"TCPMSS: unknown or invalid path-MTU ({mtu})", kind="note")
                return NF_DROP
            newmss = mtu - MIN_LEN
        else:
            newmss = self.mss
        opts = bytearray(tcph.options)
        i = 0
        while i <= len(opts) - TCPOLEN_MSS:
            if opts[i] == TCPOPT_MSS and opts[i + 1] == TCPOLEN_MSS:
                if int.from_bytes(opts[i + 2:i + 4], "big") > newmss:  # never raise the MSS
                    opts[i + 2:i + 4] = newmss.to_bytes(2, "big")
                    tcph.options = bytes(opts)
                return XT_CONTINUE
            i += 1 if opts[i] <= TCPOPT_NOP or opts[i + 1] == 0 else opts[i + 1]
        if pkt.payload or hlen >= 15 * 4:
            return XT_CONTINUE  # no room to insert it without moving data, or doff would wrap
        # RFC 879's default MSS is 536: an inserted option never says more.
        newmss = min(newmss, 536)
        tcph.options = bytes([TCPOPT_MSS, TCPOLEN_MSS]) + newmss.to_bytes(2, "big") + bytes(opts)
        tcph.doff += 1
        return XT_CONTINUE


def _dev_mtu(par: Par, dev: str | None) -> int:
    host = getattr(par.engine, "host", None)
    iface = host.interfaces.get(dev) if host is not None and dev else None
    return int(iface.mtu) if iface is not None else DEFAULT_MTU


def _reverse_mtu(pkt: Packet, par: Par) -> int:
    """tcpmss_reverse_mtu: the MTU of the route towards the packet's source."""
    host = getattr(par.engine, "host", None)
    if host is None:
        return DEFAULT_MTU
    route = host.route_output_addr(pkt.saddr, 0, None, 0)
    return _dev_mtu(par, route.oif) if route.ok else DEFAULT_MTU


EXTENSION = Tcpmss
