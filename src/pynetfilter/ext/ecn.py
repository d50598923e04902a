"""-m ecn (xt_ecn): the TCP ECE/CWR flags (need -p tcp) and the IP header's ECT codepoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint
from pynetfilter.packet.model import Tcp as TcpHeader

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


OP_IP, OP_ECE, OP_CWR = 0x01, 0x10, 0x20  # XT_ECN_OP_MATCH_*
_BITS = {"ecn-tcp-cwr": OP_CWR, "ecn-tcp-ece": OP_ECE, "ecn-ip-ect": OP_IP}


@dataclass(frozen=True, slots=True)
class Ecn(Match):
    """struct xt_ecn_info."""

    name: ClassVar[str] = "ecn"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ecn-tcp-cwr", nargs=0, invert=True),
        Opt("ecn-tcp-ece", nargs=0, invert=True),
        Opt("ecn-ip-ect", invert=True),
    )

    operation: int = 0
    invert: int = 0
    ip_ect: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ecn:
        if not opts.items:
            raise ParameterProblem(
                "ECN match: some option required: expected --ecn-tcp-cwr, --ecn-tcp-ece or --ecn-ip-ect"
            )
        op = inv = ect = 0
        for g in opts.items:
            bit = _BITS[g.opt.name]
            op |= bit
            inv |= bit if g.inverted else 0
            if bit == OP_IP:
                ect = parse_uint(g.value, 0, 3, "an ECT codepoint", ext="ecn", opt=g.opt.name)
        return cls(op, inv, ect)

    def check(self, ctx: CheckContext) -> None:
        if self.operation & (OP_ECE | OP_CWR) and (ctx.ip.proto != 6 or ctx.ip.inv_proto):
            raise KernelRefusal("ecn: cannot match TCP bits for non-tcp packets")

    def save(self) -> str:
        out = ""
        for bit, text in ((OP_ECE, " --ecn-tcp-ece"), (OP_CWR, " --ecn-tcp-cwr"), (OP_IP, " --ecn-ip-ect")):
            if self.operation & bit:
                out += (" !" if self.invert & bit else "") + text
        if self.operation & OP_IP:
            out += f" {self.ip_ect}"
        return out

    def describe(self, numeric: bool) -> str:
        out = " ECN match"
        for bit, text in ((OP_ECE, "ECE"), (OP_CWR, "CWR"), (OP_IP, f"ECT={self.ip_ect}")):
            if self.operation & bit:
                out += " " + ("!" if self.invert & bit else "") + text
        return out


    def mt(self, pkt: Packet, par: Par) -> bool:
        """ecn_mt4: the ECT bits of the TOS byte, then the TCP ECE/CWR bits.

        The TCP part reads the header at the transport offset without a fragment check, so
        a later fragment's data is taken for it; fewer than 20 bytes there: no match.
        """
        op, inv = self.operation, self.invert
        if op & OP_IP and (pkt.tos & 3 == self.ip_ect) == bool(inv & OP_IP):
            return False
        if op & (OP_ECE | OP_CWR):
            th = pkt.l4
            if isinstance(th, TcpHeader):
                flags = th.flags
            elif len(pkt.payload) >= 20:
                flags = pkt.payload[13]
            else:
                return False
            for bit, tcpbit in ((OP_ECE, 0x40), (OP_CWR, 0x80)):
                if op & bit and bool(flags & tcpbit) == bool(inv & bit):
                    return False
        return True


EXTENSION = Ecn
