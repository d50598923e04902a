"""-m tcp (xt_tcpudp): ports, flags and option of TCP segments.  Needs -p tcp."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_port_range, parse_uint, service_name
from pynetfilter.packet.model import IP_OFFSET
from pynetfilter.packet.model import Tcp as TcpHeader

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

INV_SRCPT, INV_DSTPT, INV_FLAGS, INV_OPTION = 0x01, 0x02, 0x04, 0x08

# libxt_tcp's tcp_flag_names: print_tcpf walks it in this order.
FLAG_NAMES = (
    ("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10), ("URG", 0x20),
    ("ALL", 0x3F), ("NONE", 0x00),
)
_FLAG_BY_NAME = {n: v for n, v in FLAG_NAMES}


def transport_bytes(pkt: Packet) -> bytes:
    """What skb_header_pointer(skb, thoff, ...) reads when the transport header was not parsed:
    the IP payload (a later fragment's data, or a truncated/unknown header)."""
    return pkt.payload


def option_walk(buf: bytes, optlen: int) -> Iterator[int]:
    """The offsets tcp_find_option (and tcpmss) visit in the first *optlen* bytes of *buf*:
    kinds 0 and 1 are one byte, others skip by their length byte (0 counts as 1).

    The kernel reads a length byte even just past the options (from what follows them in
    the packet), so *buf* may run on beyond *optlen*.
    """
    i = 0
    while i < optlen:
        yield i
        if buf[i] < 2:
            i += 1
        else:
            i += (buf[i + 1] if i + 1 < len(buf) else 0) or 1


def parse_flags(text: str) -> int:
    out = 0
    for word in text.split(","):
        v = _FLAG_BY_NAME.get(word.upper())
        if v is None:
            raise ParameterProblem(f'Unknown TCP flag "{word}": expected FIN,SYN,RST,PSH,ACK,URG,ALL or NONE')
        out |= v
    return out


def fmt_flags(flags: int) -> str:
    names = []
    while flags:
        fname, bit = next((n, b) for n, b in FLAG_NAMES if flags & b)
        names.append(fname)
        flags &= ~bit
    return ",".join(names) if names else "NONE"


def print_ports(label: str, lo: int, hi: int, invert: bool, numeric: bool, proto: str) -> str:
    """libxt_tcp/udp print_ports: ``spt:80`` / ``dpts:!1:2``."""
    if lo == 0 and hi == 0xFFFF and not invert:
        return ""

    def port(p: int) -> str:
        name = None if numeric else service_name(p, proto)
        return name or str(p)

    bang = "!" if invert else ""
    if lo == hi:
        return f" {label}:{bang}{port(lo)}"
    return f" {label}s:{bang}{port(lo)}:{port(hi)}"


def parse_ports(text: str, proto: str) -> tuple[int, int]:
    lo, hi = parse_port_range(text, proto)
    if lo > hi:
        raise ParameterProblem(f'invalid portrange (min > max): "{text}", expected low:high')
    return lo, hi


def save_ports(opt: str, lo: int, hi: int, invert: bool, exact: bool = False) -> str:
    """The port option as save prints it; nothing for 0:65535, even inverted (unless *exact*)."""
    if lo == 0 and hi == 0xFFFF and not (exact and invert):
        return ""
    bang = " !" if invert else ""
    return f"{bang} --{opt} {lo}" if lo == hi else f"{bang} --{opt} {lo}:{hi}"


def exact_ports(spts: tuple[int, int], dpts: tuple[int, int], invflags: int) -> str | None:
    """Both port options where save prints "! --dport 0:65535" (which matches nothing) as nothing."""
    full = (0, 0xFFFF)
    if not (spts == full and invflags & INV_SRCPT or dpts == full and invflags & INV_DSTPT):
        return None
    return (save_ports("sport", *spts, bool(invflags & INV_SRCPT), True)
            + save_ports("dport", *dpts, bool(invflags & INV_DSTPT), True))


@dataclass(frozen=True, slots=True)
class Tcp(Match):
    """struct xt_tcp."""

    name: ClassVar[str] = "tcp"
    proto: ClassVar[int] = 6
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("source-port", invert=True, aliases=("sport",)),
        Opt("destination-port", invert=True, aliases=("dport",)),
        Opt("syn", nargs=0, invert=True, excl=("tcp-flags",)),
        Opt("tcp-flags", nargs=2, invert=True, excl=("syn",)),
        Opt("tcp-option", invert=True),
    )

    spts: tuple[int, int] = (0, 0xFFFF)
    dpts: tuple[int, int] = (0, 0xFFFF)
    option: int = 0
    flg_mask: int = 0
    flg_cmp: int = 0
    invflags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Tcp:
        spts = dpts = (0, 0xFFFF)
        option = mask = cmp = inv = 0
        for g in opts.items:
            n = g.opt.name
            if n == "source-port":
                spts = parse_ports(g.value, "tcp")
                inv |= INV_SRCPT if g.inverted else 0
            elif n == "destination-port":
                dpts = parse_ports(g.value, "tcp")
                inv |= INV_DSTPT if g.inverted else 0
            elif n == "syn":
                mask, cmp = 0x01 | 0x02 | 0x04 | 0x10, 0x02
                inv |= INV_FLAGS if g.inverted else 0
            elif n == "tcp-flags":
                mask, cmp = parse_flags(g.args[0]), parse_flags(g.args[1])
                inv |= INV_FLAGS if g.inverted else 0
            elif n == "tcp-option":
                option = parse_uint(g.value, 1, 255, "TCP option number")
                inv |= INV_OPTION if g.inverted else 0
        return cls(spts, dpts, option, mask, cmp, inv)

    def save(self) -> str:
        out = save_ports("sport", *self.spts, bool(self.invflags & INV_SRCPT))
        out += save_ports("dport", *self.dpts, bool(self.invflags & INV_DSTPT))
        if self.option or self.invflags & INV_OPTION:
            out += f"{' !' if self.invflags & INV_OPTION else ''} --tcp-option {self.option}"
        if self.flg_mask or self.invflags & INV_FLAGS:
            bang = " !" if self.invflags & INV_FLAGS else ""
            out += f"{bang} --tcp-flags {fmt_flags(self.flg_mask)} {fmt_flags(self.flg_cmp)}"
        return out

    def exact_save(self) -> str | None:
        ports = exact_ports(self.spts, self.dpts, self.invflags)
        if ports is None:
            return None
        plain = save_ports("sport", *self.spts, bool(self.invflags & INV_SRCPT)) \
            + save_ports("dport", *self.dpts, bool(self.invflags & INV_DSTPT))
        return ports + self.save()[len(plain):]

    def describe(self, numeric: bool) -> str:
        out = " tcp"
        out += print_ports("spt", *self.spts, bool(self.invflags & INV_SRCPT), numeric, "tcp")
        out += print_ports("dpt", *self.dpts, bool(self.invflags & INV_DSTPT), numeric, "tcp")
        if self.option or self.invflags & INV_OPTION:
            out += f" option={'!' if self.invflags & INV_OPTION else ''}{self.option}"
        if self.flg_mask or self.invflags & INV_FLAGS:
            out += f" flags:{'!' if self.invflags & INV_FLAGS else ''}"
            if numeric:
                out += f"0x{self.flg_mask:02X}/0x{self.flg_cmp:02X}"
            else:
                out += f"{fmt_flags(self.flg_mask)}/{fmt_flags(self.flg_cmp)}"
        return out

    def mt(self, pkt: Packet, par: Par) -> bool:
        """tcp_mt: later fragments never match (offset 8 bytes is an attack: dropped)."""
        fragoff = pkt.frag_off & IP_OFFSET
        if fragoff:
            if fragoff == 1:
                par.hotdrop = True
            return False
        th = pkt.l4
        opts: bytes | None = None
        if isinstance(th, TcpHeader):
            sport, dport, flags, doff = th.sport, th.dport, th.flags, th.doff
            # (the option bytes are only read for --tcp-option: taken there)
        else:
            raw = transport_bytes(pkt)
            if len(raw) < 20:  # truncated header
                par.hotdrop = True
                return False
            sport, dport, flags = raw[0] << 8 | raw[1], raw[2] << 8 | raw[3], raw[13]
            doff, opts = raw[12] >> 4, raw[20:]
            avail = len(opts)
        inv = self.invflags
        if (self.spts[0] <= sport <= self.spts[1]) == bool(inv & INV_SRCPT):
            return False
        if (self.dpts[0] <= dport <= self.dpts[1]) == bool(inv & INV_DSTPT):
            return False
        if ((flags & self.flg_mask) == self.flg_cmp) == bool(inv & INV_FLAGS):
            return False
        if self.option:
            if opts is None:
                assert isinstance(th, TcpHeader)
                opts, avail = th.options + pkt.payload[:1], len(th.options)
            if doff * 4 < 20:
                par.hotdrop = True
                return False
            optlen = doff * 4 - 20
            if avail < optlen:  # options run past the packet
                par.hotdrop = True
                return False
            found = any(opts[i] == self.option for i in option_walk(opts, optlen))
            return found != bool(inv & INV_OPTION)
        return True


EXTENSION = Tcp
