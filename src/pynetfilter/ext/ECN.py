"""-j ECN (ipt_ECN): set the IP ECT codepoint and/or the TCP ECE/CWR bits.  Only in mangle.

The TCP operations need the rule to say ``-p tcp`` (not inverted): the kernel's checkentry
refuses them otherwise, while the IP operation works for any protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint
from pynetfilter.netfilter.verdicts import NF_DROP, XT_CONTINUE
from pynetfilter.packet.model import CWR, ECE, IPPROTO_TCP, Tcp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

OP_SET_IP, OP_SET_ECE, OP_SET_CWR = 0x01, 0x10, 0x20  # IPT_ECN_OP_*
IP_MASK = 0x03  # IPT_ECN_IP_MASK
TCP_OPS = OP_SET_ECE | OP_SET_CWR


def _bit(g_value: str, opt: str, hi: int) -> int:
    try:
        return parse_uint(g_value, 0, hi)
    except ParameterProblem:
        raise ParameterProblem(f'ECN: bad value for option "--{opt}", or out of range (0-{hi}).') from None


@dataclass(frozen=True, slots=True)
class Ecn(Target):
    """struct ipt_ECN_info: operation, ip_ect, tcp.ece, tcp.cwr."""

    name: ClassVar[str] = "ECN"
    table: ClassVar[str | None] = "mangle"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ecn-tcp-remove", nargs=0, excl=("ecn-tcp-cwr", "ecn-tcp-ece")),
        Opt("ecn-tcp-cwr", excl=("ecn-tcp-remove",)),
        Opt("ecn-tcp-ece", excl=("ecn-tcp-remove",)),
        Opt("ecn-ip-ect"),
    )

    operation: int = 0
    ip_ect: int = 0
    ece: int = 0
    cwr: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ecn:
        op = ect = ece = cwr = 0
        for g in opts.items:  # in order: --ecn-tcp-remove overwrites the operation (ECN_parse)
            n = g.opt.name
            if n == "ecn-tcp-remove":
                op, ece, cwr = TCP_OPS, 0, 0
            elif n == "ecn-tcp-cwr":
                op, cwr = op | OP_SET_CWR, _bit(g.value, n, 1)
            elif n == "ecn-tcp-ece":
                op, ece = op | OP_SET_ECE, _bit(g.value, n, 1)
            else:
                op, ect = op | OP_SET_IP, _bit(g.value, n, 3)
        if not opts.items:
            raise ParameterProblem("ECN target: An operation is required")
        return cls(op, ect, ece, cwr)

    def _remove(self) -> bool:
        return self.operation == TCP_OPS and not self.ece and not self.cwr

    def _text(self, remove: str, ece: str, cwr: str, ect: str) -> str:
        if self._remove():
            return remove
        out = ""
        if self.operation & OP_SET_ECE:
            out += f"{ece}{self.ece}"
        if self.operation & OP_SET_CWR:
            out += f"{cwr}{self.cwr}"
        if self.operation & OP_SET_IP:
            out += f"{ect}{self.ip_ect}"
        return out

    def save(self) -> str:
        return self._text(" --ecn-tcp-remove", " --ecn-tcp-ece ", " --ecn-tcp-cwr ", " --ecn-ip-ect ")

    def exact_save(self) -> str | None:
        # --ecn-ip-ect N before --ecn-tcp-remove: the operation forgets it, the blob keeps N.
        if self.operation & OP_SET_IP or not self.ip_ect:
            return None
        tcp = f" --ecn-tcp-ece {self.ece}" if self.ece else ""
        tcp += f" --ecn-tcp-cwr {self.cwr}" if self.cwr else ""
        return f" --ecn-ip-ect {self.ip_ect} --ecn-tcp-remove{tcp}"

    def describe(self, numeric: bool) -> str:
        return " ECN" + self._text(" TCP remove", " ECE=", " CWR=", " ECT codepoint=")

    def check(self, ctx: CheckContext) -> None:
        if self.operation & TCP_OPS and (ctx.ip.proto != IPPROTO_TCP or ctx.ip.inv_proto):
            raise KernelRefusal("ECN target: cannot use operation on non-tcp rule")

    def tg(self, pkt: Packet, par: Par) -> int:
        """ecn_tg: set_ect_ip, then set_ect_tcp on any datagram whose protocol is TCP."""
        if self.operation & OP_SET_IP and pkt.tos & IP_MASK != self.ip_ect:
            pkt.tos = (pkt.tos & ~IP_MASK & 0xFF) | self.ip_ect  # ipv4_change_dsfield
        if self.operation & TCP_OPS and pkt.proto == IPPROTO_TCP:
            return XT_CONTINUE if self._set_tcp(pkt) else NF_DROP
        return XT_CONTINUE

    def _set_tcp(self, pkt: Packet) -> bool:
        """set_ect_tcp: reads the 20 bytes after the IP header as a TCP header, even in a later
        fragment (the kernel does not look at the fragment offset); False: fewer than 20 bytes."""
        want = 0
        mask = 0
        if self.operation & OP_SET_ECE:
            mask |= ECE
            want |= ECE if self.ece else 0
        if self.operation & OP_SET_CWR:
            mask |= CWR
            want |= CWR if self.cwr else 0
        tcph = pkt.l4
        if isinstance(tcph, Tcp) and not pkt.l4_partial:
            tcph.flags = (tcph.flags & ~mask) | want  # the checksum follows (inet_proto_csum_replace2)
            return True
        data = pkt.payload
        if len(data) < 20:
            return False
        flags = (data[13] & ~mask) | want
        if flags == data[13]:
            return True
        old = int.from_bytes(data[12:14], "big")
        new = (data[12] << 8) | flags
        out = bytearray(data)
        out[13] = flags
        if not pkt.meta.csum_partial:
            out[16:18] = _csum_replace(int.from_bytes(data[16:18], "big"), old, new).to_bytes(2, "big")
        pkt.payload = bytes(out)
        return True


def _csum_replace(check: int, old: int, new: int) -> int:
    """inet_proto_csum_replace2 (RFC 1624): the checksum after one 16-bit word changed."""
    s = (~check & 0xFFFF) + (~old & 0xFFFF) + new
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


EXTENSION = Ecn
