"""-j SYNPROXY (xt_SYNPROXY): answer a client's SYN with a SYN-cookie SYN-ACK; open the connection
to the server only once the client's ACK proves the cookie.

Load time (exact): ``-p tcp`` (not inverted), only from INPUT and FORWARD, and conntrack turns
on (nf_ct_netns_get).  ``--wscale`` and ``--mss`` are read as 32-bit numbers and stored in 8
and 16 bits, so ``--mss 70000`` saves as 4464.

Packet time, modelled: the verdicts and the SYN-ACK.  A segment whose checksum is wrong, or with
no whole TCP header, is dropped; a SYN (without ACK, FIN, RST) is stolen and answered with a
SYN-ACK built as synproxy_send_client_synack builds it (addresses and ports swapped, ack = seq + 1,
window 0, the options the client offered and the rule allows: without timestamps only MSS); an
ACK (without FIN, RST, SYN) is stolen when it answers a SYN-ACK this engine sent for the same
addresses and ports (a client can only ACK a cookie it received), else dropped; anything else
continues.  The SYN-ACK's sequence number is a SYN cookie keyed by a boot-time secret and its
timestamp value a clock: both come from ``par.choices.synproxy_cookie(pkt)`` when a replay knows
them (what the kernel sent), else from the engine's random generator (a note says so).  Not
modelled: the SYN synproxy then sends to the server and the server-side handshake done by
synproxy's own hooks (a note says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.verdicts import NF_DROP, NF_STOLEN, XT_CONTINUE
from pynetfilter.packet.model import ACK, CWR, ECE, FIN, RST, SYN, Tcp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

OPT_MSS, OPT_WSCALE, OPT_SACK_PERM, OPT_TIMESTAMP, OPT_ECN = 0x01, 0x02, 0x04, 0x08, 0x10
_FLAG = {"sack-perm": OPT_SACK_PERM, "timestamp": OPT_TIMESTAMP, "ecn": OPT_ECN}


def _u32(text: str, opt: str) -> int:
    from pynetfilter.errors import ParameterProblem

    try:
        return parse_uint(text, 0, 0xFFFFFFFF)
    except ParameterProblem:
        raise ParameterProblem(
            f'SYNPROXY: bad value for option "--{opt}", or out of range (0-4294967295).') from None


@dataclass(frozen=True, slots=True)
class Synproxy(Target):
    """struct xt_synproxy_info: options, wscale (u8), mss (u16)."""

    name: ClassVar[str] = "SYNPROXY"
    proto: ClassVar[int] = 6
    hooks: ClassVar[int] = hook_mask(Hook.INPUT, Hook.FORWARD)
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("sack-perm", nargs=0), Opt("timestamp", nargs=0), Opt("wscale"), Opt("mss"), Opt("ecn", nargs=0),
    )

    options_set: int = 0
    wscale: int = 0
    mss: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Synproxy:
        flags = wscale = mss = 0
        for g in opts.items:
            n = g.opt.name
            if n == "wscale":
                flags, wscale = flags | OPT_WSCALE, _u32(g.value, n) & 0xFF
            elif n == "mss":
                flags, mss = flags | OPT_MSS, _u32(g.value, n) & 0xFFFF
            else:
                flags |= _FLAG[n]
        return cls(flags, wscale, mss)

    def _text(self, dash: str, sep: str) -> str:
        out = ""
        if self.options_set & OPT_SACK_PERM:
            out += f"{dash}sack-perm{sep}"
        if self.options_set & OPT_TIMESTAMP:
            out += f"{dash}timestamp{sep}"
        if self.options_set & OPT_WSCALE:
            out += f"{dash}wscale {self.wscale}{sep}"
        if self.options_set & OPT_MSS:
            out += f"{dash}mss {self.mss}{sep}"
        if self.options_set & OPT_ECN:
            out += f"{dash}ecn{sep}"
        return out

    def save(self) -> str:
        return self._text(" --", "")

    def describe(self, numeric: bool) -> str:
        return " SYNPROXY " + self._text("", " ")

    def tg(self, pkt: Packet, par: Par) -> int:
        """synproxy_tg4."""
        from pynetfilter.netfilter.reject import checksum_ok

        th = pkt.l4
        if not checksum_ok(pkt, par) or not isinstance(th, Tcp) or len(th.options) < th.doff * 4 - 20:
            return NF_DROP
        key = (pkt.saddr, pkt.daddr, th.sport, th.dport)
        issued = _issued(par)
        if th.flags & SYN and not th.flags & (ACK | FIN | RST):
            issued.add(key)
            par.emit(self._synack(pkt, th, par), "SYNPROXY SYN-ACK")
            return NF_STOLEN
        if th.flags & ACK and not th.flags & (FIN | RST | SYN):
            if key not in issued:
                return NF_DROP  # no cookie of ours is acknowledged
            issued.discard(key)
            par.log("SYNPROXY: cookie accepted; the SYN to the server is not modelled", kind="note")
            return NF_STOLEN
        return XT_CONTINUE

    def _synack(self, pkt: Packet, th: Tcp, par: Par) -> Packet:
        """synproxy_send_client_synack."""
        from pynetfilter.netfilter.conntrack.entry import IP_CT_ESTABLISHED, IP_CT_IS_REPLY
        from pynetfilter.netfilter.reject import DEFAULT_TTL, pseudo_sum
        from pynetfilter.packet.model import IP_DF, IPPROTO_TCP, Meta
        from pynetfilter.packet.model import Packet as Pkt

        offered, mss_in, wscale_in, tsval_in = parse_options(th.options[:th.doff * 4 - 20])
        if th.flags & ECE and th.flags & CWR:
            offered |= OPT_ECN
        opts = offered & self.options_set
        choice = getattr(par.choices, "synproxy_cookie", None)
        isn, tsval = choice(pkt) if choice is not None else (None, None)
        if isn is None:
            isn = par.rng.getrandbits(32)
            par.log("SYNPROXY: the SYN cookie (a keyed hash of a boot-time secret) is not known: "
                    "the SYN-ACK's sequence number is made up", kind="note")
        if not opts & OPT_TIMESTAMP:
            opts &= ~(OPT_WSCALE | OPT_SACK_PERM | OPT_ECN)
        elif tsval is None:
            tsval = par.rng.getrandbits(32)
            par.log("SYNPROXY: the timestamp cookie (a clock value) is made up", kind="note")
        out = b""
        if opts & OPT_MSS:
            out += bytes([2, 4]) + self.mss.to_bytes(2, "big")
        if opts & OPT_TIMESTAMP:
            out += bytes([4, 2, 8, 10] if opts & OPT_SACK_PERM else [1, 1, 8, 10])
            out += (tsval or 0).to_bytes(4, "big") + tsval_in.to_bytes(4, "big")
        elif opts & OPT_SACK_PERM:
            out += bytes([1, 1, 4, 2])
        if opts & OPT_WSCALE:
            out += bytes([1, 3, 3, self.wscale])
        flags = SYN | ACK | (ECE if opts & OPT_ECN else 0)
        hlen = 20 + len(out)
        reply = Pkt(pkt.daddr, pkt.saddr, IPPROTO_TCP,
                    Tcp(th.dport, th.sport, isn, (th.seq + 1) & 0xFFFFFFFF, hlen // 4, flags, 0,
                        pseudo_sum(pkt.daddr, pkt.saddr, IPPROTO_TCP, hlen), 0, out),
                    tos=0, id=0, frag_off=IP_DF, ttl=DEFAULT_TTL)
        reply.meta = Meta()
        reply.meta.csum_partial = True  # synproxy_send_tcp leaves the sum to the device
        if pkt.meta.ct is not None:
            reply.meta.ct = pkt.meta.ct
            reply.meta.ctinfo = IP_CT_ESTABLISHED + IP_CT_IS_REPLY
        del mss_in, wscale_in
        return reply


def parse_options(opts: bytes) -> tuple[int, int, int, int]:
    """synproxy_parse_options: (options offered, mss, wscale, tsval) of the client's SYN."""
    offered = mss = wscale = tsval = 0
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts):
            break
        size = opts[i + 1]
        if size < 2 or i + size > len(opts):
            break
        if kind == 2 and size == 4:
            offered, mss = offered | OPT_MSS, int.from_bytes(opts[i + 2:i + 4], "big")
        elif kind == 3 and size == 3:
            offered, wscale = offered | OPT_WSCALE, min(opts[i + 2], 14)
        elif kind == 8 and size == 10:
            offered, tsval = offered | OPT_TIMESTAMP, int.from_bytes(opts[i + 2:i + 6], "big")
        elif kind == 4 and size == 2:
            offered |= OPT_SACK_PERM
        i += size
    return offered, mss, wscale, tsval


def _issued(par: Par) -> set[tuple[int, int, int, int]]:
    """The flows this engine answered with a cookie (the kernel's cookies are per network namespace)."""
    engine = par.engine
    issued = getattr(engine, "synproxy_cookies", None)
    if issued is None:
        issued = set()
        engine.synproxy_cookies = issued
    return issued


EXTENSION = Synproxy
