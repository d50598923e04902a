"""-j HMARK (xt_HMARK): nfmark = jhash of the (masked) addresses, ports and protocol, modulo N, + offset.

The hash is symmetric (the smaller address and port go first), so both directions of a flow
get the same mark.  For an ICMP error the quoted datagram's fields are used; later fragments
hash without ports.  ``--hmark-tuple ct`` hashes the conntrack entry's tuples instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import mask_to_cidr, parse_ipv4_mask, parse_uint, prefix_mask
from pynetfilter.netfilter.nat_tuple import jhash2
from pynetfilter.netfilter.verdicts import XT_CONTINUE
from pynetfilter.packet.model import IPPROTO_ICMP, Icmp

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

M32 = 0xFFFFFFFF
# XT_HMARK_* flag bits (the userspace option ids share the numbering).
SADDR_MASK, DADDR_MASK, SPI, SPI_MASK, SPORT, DPORT, SPORT_MASK, DPORT_MASK = range(8)
PROTO_MASK, RND, MODULUS, OFFSET, CT = range(8, 13)
# proto_ports_offset: where the 4 "port" bytes are (TCP, UDP, DCCP, ESP, SCTP, UDP-Lite; AH's SPI).
PORTS_AT = {6: 0, 17: 0, 33: 0, 50: 0, 132: 0, 136: 0, 51: 4}
ICMP_ERRORS = (3, 4, 5, 11, 12)
NR_ICMP_TYPES = 18
# --hmark-tuple words: (flag, which field they set to all ones).
TUPLE = (("ct", CT), ("src", SADDR_MASK), ("dst", DADDR_MASK), ("sport", SPORT_MASK),
         ("dport", DPORT_MASK), ("proto", PROTO_MASK), ("spi", SPI_MASK))
_NUMERIC = {"hmark-sport-mask": (SPORT_MASK, 0xFFFF), "hmark-dport-mask": (DPORT_MASK, 0xFFFF),
            "hmark-spi-mask": (SPI_MASK, M32), "hmark-sport": (SPORT, 0xFFFF),
            "hmark-dport": (DPORT, 0xFFFF), "hmark-spi": (SPI, M32),
            "hmark-proto-mask": (PROTO_MASK, 0xFFFF), "hmark-rnd": (RND, M32),
            "hmark-mod": (MODULUS, M32), "hmark-offset": (OFFSET, M32)}


def _prefix(text: str, opt: str) -> int:
    """XTTYPE_PLENMASK (IPv4): a prefix length or a dotted mask; a length over 32, or a mask that
    is no prefix (its length reads as -1, i.e. 255), gives the full mask."""
    bad = f'HMARK: bad value for option "--{opt}", neither a valid network mask nor valid CIDR (0-32).'
    if "." not in text:
        try:
            return prefix_mask(min(parse_uint(text, 0, M32), 32))
        except ParameterProblem:
            raise ParameterProblem(bad) from None
    try:
        mask = parse_ipv4_mask(text)
    except ParameterProblem:
        raise ParameterProblem(bad) from None
    inv = ~mask & M32
    return mask if inv & (inv + 1) == 0 else M32


def _tuple_word(word: str) -> int | None:
    """hmark_parse: strncasecmp(word, name, len(word)): any prefix of a name, first name wins."""
    low = word.lower()
    for name, flag in TUPLE:
        if low and name.startswith(low):
            return flag
    return None


@dataclass(frozen=True, slots=True)
class Hmark(Target):
    """struct xt_hmark_info (IPv4 part); ports kept as (src, dst) host-order 16-bit values."""

    name: ClassVar[str] = "HMARK"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("hmark-tuple"), Opt("hmark-src-prefix"), Opt("hmark-dst-prefix"),
        *(Opt(n) for n in _NUMERIC),
    )

    flags: int = 0
    src_mask: int = 0
    dst_mask: int = 0
    port_mask: tuple[int, int] = (0, 0)
    port_set: tuple[int, int] = (0, 0)
    proto_mask: int = 0
    hashrnd: int = 0
    hmodulus: int = 0
    hoffset: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Hmark:
        f = dict(src_mask=0, dst_mask=0, proto_mask=0, hashrnd=0, hmodulus=0, hoffset=0)
        pmask, pset = [0, 0], [0, 0]
        flags = 0
        given: set[int] = set()  # xflags: which options (and tuple words) were seen
        for g in opts.items:
            n = g.opt.name
            if n == "hmark-tuple":
                flags |= cls._tuple(g.value, f, pmask, given)
                continue
            if n in ("hmark-src-prefix", "hmark-dst-prefix"):
                bit = SADDR_MASK if n == "hmark-src-prefix" else DADDR_MASK
                if bit in given:
                    raise ParameterProblem(f'HMARK: option "--{n}" can only be used once.')
                f["src_mask" if bit == SADDR_MASK else "dst_mask"] = _prefix(g.value, n)
            else:
                bit, hi = _NUMERIC[n]
                lo = 1 if n == "hmark-mod" else 0
                try:
                    v = parse_uint(g.value, lo, hi)
                except ParameterProblem:
                    raise ParameterProblem(
                        f'HMARK: bad value for option "--{n}", or out of range ({lo}-{hi}).') from None
                if bit in (SPORT_MASK, DPORT_MASK):
                    pmask[bit - SPORT_MASK] = v
                elif bit == SPI_MASK:
                    pmask[:] = [v >> 16, v & 0xFFFF]
                elif bit in (SPORT, DPORT):
                    pset[bit - SPORT] = v
                elif bit == SPI:
                    pset[:] = [v >> 16, v & 0xFFFF]
                else:
                    key = {PROTO_MASK: "proto_mask", RND: "hashrnd", MODULUS: "hmodulus", OFFSET: "hoffset"}
                    f[key[bit]] = v
            given.add(bit)
            flags |= 1 << bit
        if MODULUS not in given:
            raise ParameterProblem("--hmark-mod is mandatory")
        if RND not in given:
            raise ParameterProblem("--hmark-rnd is mandatory")
        if SPI_MASK in given and given & {SPORT_MASK, DPORT_MASK}:
            raise ParameterProblem("you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time")
        if not given & {SADDR_MASK, DADDR_MASK, SPI_MASK, SPORT_MASK, DPORT_MASK, PROTO_MASK, SPORT,
                        DPORT, SPI, CT}:
            raise ParameterProblem("you have to specify --hmark-tuple at least")
        return cls(flags, f["src_mask"], f["dst_mask"], (pmask[0], pmask[1]), (pset[0], pset[1]),
                   f["proto_mask"], f["hashrnd"], f["hmodulus"], f["hoffset"])

    @staticmethod
    def _tuple(text: str, f: dict[str, int], pmask: list[int], given: set[int]) -> int:
        """hmark_parse_type: each word sets its flag and makes its mask all ones."""
        words = text.split(",")
        if words[-1] == "" and len(words) > 1:
            raise ParameterProblem('"--hmark-tuple" requires a list of types with no spaces, '
                                   'e.g. src,dst,sport,dport,proto')
        flags = 0
        for i, word in enumerate(words):
            bit = _tuple_word(word)
            if bit is None:
                raise ParameterProblem(f'Bad type "{",".join(words[i:])}"')
            if bit == SADDR_MASK:
                f["src_mask"] = M32
            elif bit == DADDR_MASK:
                f["dst_mask"] = M32
            elif bit in (SPORT_MASK, DPORT_MASK):
                pmask[bit - SPORT_MASK] = 0xFFFF
            elif bit == PROTO_MASK:
                f["proto_mask"] = 0xFFFF
            elif bit == SPI_MASK:
                pmask[:] = [0xFFFF, 0xFFFF]
            given.add(bit)
            flags |= 1 << bit
        return flags

    def _has(self, bit: int) -> bool:
        return bool(self.flags & (1 << bit))

    def _spi(self, pair: tuple[int, int]) -> int:
        return pair[0] << 16 | pair[1]

    def save(self) -> str:
        out = ""
        if self._has(SADDR_MASK):
            out += f" --hmark-src-prefix {mask_to_cidr(self.src_mask)}"
        if self._has(DADDR_MASK):
            out += f" --hmark-dst-prefix {mask_to_cidr(self.dst_mask)}"
        return out + self._common("--hmark-", "0x{:04x}", "0x{:08x}", "0x{:02x}")

    def _common(self, p: str, f16: str, f32: str, fproto: str) -> str:
        out = ""
        for bit, word, value, fmt in (
            (SPORT_MASK, "sport-mask", self.port_mask[0], f16),
            (DPORT_MASK, "dport-mask", self.port_mask[1], f16),
            (SPI_MASK, "spi-mask", self._spi(self.port_mask), f32), (SPORT, "sport", self.port_set[0], f16),
            (DPORT, "dport", self.port_set[1], f16), (SPI, "spi", self._spi(self.port_set), f32),
            (PROTO_MASK, "proto-mask", self.proto_mask, fproto), (RND, "rnd", self.hashrnd, f32),
        ):
            if self._has(bit):
                out += f" {p}{word} {fmt.format(value)}" if p else f"{word} {fmt.format(value)} "
        if p:
            if self._has(MODULUS):
                out += f" {p}mod {self.hmodulus}"
            if self._has(OFFSET):
                out += f" {p}offset {self.hoffset}"
            if self._has(CT):
                out += f" {p}tuple ct"
        return out

    def describe(self, numeric: bool) -> str:
        out = " HMARK "
        if self._has(MODULUS):
            out += f"mod {self.hmodulus} "
        if self._has(OFFSET):
            out += f"+ 0x{self.hoffset:x} "
        if self._has(CT):
            out += "ct, "
        if self._has(SADDR_MASK):
            out += f"src-prefix {mask_to_cidr(self.src_mask)} "
        if self._has(DADDR_MASK):
            out += f"dst-prefix {mask_to_cidr(self.dst_mask)} "
        return out + self._common("", "0x{:x}", "0x{:x}", "0x{:x}")

    def check(self, ctx: CheckContext) -> None:
        if self._has(SPI) and (self._has(SPORT) or self._has(DPORT)):
            raise KernelRefusal("HMARK target: spi-set and port-set can't be combined")
        if self._has(SPI_MASK) and (self._has(SPORT_MASK) or self._has(DPORT_MASK)):
            raise KernelRefusal("HMARK target: spi-mask and port-mask can't be combined")

    def tg(self, pkt: Packet, par: Par) -> int:
        """hmark_tg_v4."""
        t = self._ct_tuple(pkt) if self._has(CT) else self._pkt_tuple(pkt)
        if t is not None:
            pkt.meta.mark = self.hash(*t)
        return XT_CONTINUE

    def hash(self, src: int, dst: int, ports: int, proto: int) -> int:
        """hmark_hash: jhash_3words of the ordered addresses and ports, then reciprocal_scale."""
        if dst < src:
            src, dst = dst, src
        h = jhash2([src, dst, ports], self.hashrnd) ^ (proto & self.proto_mask)
        return (((h * self.hmodulus) >> 32) + self.hoffset) & M32

    def _ports(self, sport: int, dport: int) -> int:
        """hmark_swap_ports: mask, set, then the larger port in the high half."""
        s = (sport & self.port_mask[0]) | self.port_set[0]
        d = (dport & self.port_mask[1]) | self.port_set[1]
        return (d << 16 | s) if d > s else (s << 16 | d)

    def _pkt_tuple(self, pkt: Packet) -> tuple[int, int, int, int] | None:
        ip = pkt
        if pkt.proto == IPPROTO_ICMP and isinstance(pkt.l4, Icmp) and not pkt.later_fragment:
            icmp = pkt.l4
            if icmp.type <= NR_ICMP_TYPES and icmp.type in ICMP_ERRORS:
                if icmp.inner is None:
                    return None  # no quoted IP header to read
                ip = icmp.inner
        src, dst = ip.saddr & self.src_mask, ip.daddr & self.dst_mask
        proto = ip.proto
        if proto == IPPROTO_ICMP or ip.is_fragment or proto not in PORTS_AT:
            return src, dst, 0, proto
        l4 = ip.l4
        if l4 is not None and not ip.l4_partial and hasattr(l4, "sport"):
            return src, dst, self._ports(l4.sport, l4.dport), proto
        raw = ip.payload  # ESP/AH (or a header cut short): the raw bytes
        at = PORTS_AT[proto]
        if len(raw) < at + 4:
            return src, dst, 0, proto
        return src, dst, self._ports(int.from_bytes(raw[at:at + 2], "big"),
                                     int.from_bytes(raw[at + 2:at + 4], "big")), proto

    def _ct_tuple(self, pkt: Packet) -> tuple[int, int, int, int] | None:
        ct = pkt.meta.ct
        if ct is None:
            return None
        orig, reply = ct.orig, ct.reply
        src, dst = orig.src & self.src_mask, reply.src & self.dst_mask
        if orig.proto == IPPROTO_ICMP:
            return src, dst, 0, orig.proto
        return src, dst, self._ports(orig.sport, reply.sport), orig.proto


EXTENSION = Hmark
