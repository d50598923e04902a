"""-m conntrack (xt_conntrack revision 3): connection state, status, tuple addresses and ports.

Also holds the helpers ``-m state`` (an alias of conntrack in iptables 1.8.9) shares.

Evaluation reads what conntrack attached to the packet (``meta.ct``,
``meta.ctinfo``): a packet without an entry is INVALID unless it is
UNTRACKED (NOTRACK / CT --notrack); the state bit of an entry is
``1 << (ctinfo % IP_CT_IS_REPLY + 1)``, so replies count as ESTABLISHED or
RELATED, and SNAT/DNAT are the entry's NAT status bits.  A packet without an
entry matches only a rule whose single test is --ctstate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import (
    fmt_ipv4,
    mask_to_cidr,
    parse_uint,
    prefix_mask,
    service_port,
    strtoul,
    try_uint,
)
from pynetfilter.syntax.words import parse_protocol

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

# xt_conntrack match_flags / invert_flags bits.
F_STATE, F_PROTO, F_ORIGSRC, F_ORIGDST = 0x01, 0x02, 0x04, 0x08
F_REPLSRC, F_REPLDST, F_STATUS, F_EXPIRES = 0x10, 0x20, 0x40, 0x80
F_ORIGSRC_PORT, F_ORIGDST_PORT, F_REPLSRC_PORT, F_REPLDST_PORT = 0x100, 0x200, 0x400, 0x800
F_DIRECTION, F_STATE_ALIAS = 0x1000, 0x2000

# State bits (XT_CONNTRACK_STATE_BIT(ctinfo) = 1 << (ctinfo + 1)) in print order.
S_INVALID, S_NEW, S_RELATED, S_ESTABLISHED = 0x01, 0x08, 0x04, 0x02
S_UNTRACKED, S_SNAT, S_DNAT = 0x100, 0x200, 0x400
STATE_NAMES = (
    ("INVALID", S_INVALID), ("NEW", S_NEW), ("RELATED", S_RELATED), ("ESTABLISHED", S_ESTABLISHED),
    ("UNTRACKED", S_UNTRACKED), ("SNAT", S_SNAT), ("DNAT", S_DNAT),
)
# Lookup order of the parser (strncasecmp prefix match: first hit wins).
_STATE_LOOKUP = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
_STATE_BIT = dict(STATE_NAMES)
_STATE_ORDER = tuple((s, _STATE_BIT[s]) for s in _STATE_LOOKUP)
STATUS_NAMES = (("EXPECTED", 0x01), ("SEEN_REPLY", 0x02), ("ASSURED", 0x04), ("CONFIRMED", 0x08))
_STATUS_LOOKUP = (("NONE", 0), *STATUS_NAMES)


IP_CT_IS_REPLY, IP_CT_UNTRACKED = 3, 7
# The tests mt makes after the state's (all but F_STATE and F_STATE_ALIAS).
_AFTER_STATE = (F_PROTO | F_ORIGSRC | F_ORIGDST | F_REPLSRC | F_REPLDST | F_STATUS | F_EXPIRES
                | F_ORIGSRC_PORT | F_ORIGDST_PORT | F_REPLSRC_PORT | F_REPLDST_PORT | F_DIRECTION)
IPS_SRC_NAT, IPS_DST_NAT = 1 << 4, 1 << 5
HZ = 250


def ct_get(pkt: Packet) -> tuple[Any, int]:
    """nf_ct_get: the packet's conntrack entry (None if none) and its ctinfo."""
    meta = pkt.meta
    if meta.untracked:
        return None, IP_CT_UNTRACKED
    return meta.ct, meta.ctinfo


def state_bit(ct: Any, ctinfo: int) -> int:
    """The XT_CONNTRACK_STATE bit of a packet (INVALID without an entry, UNTRACKED if untracked)."""
    if ct is not None:
        return 1 << (ctinfo % IP_CT_IS_REPLY + 1)
    return S_UNTRACKED if ctinfo == IP_CT_UNTRACKED else S_INVALID


def ct_direction(ctinfo: int) -> int:
    """CTINFO2DIR: 0 original, 1 reply."""
    return 1 if ctinfo >= IP_CT_IS_REPLY else 0


def prefix_lookup(word: str, names: tuple[tuple[str, int], ...]) -> int | None:
    """strncasecmp(word, NAME, len(word)) == 0 for the first NAME: abbreviations match."""
    if not word:
        return None
    up = word.upper()
    for name, bit in names:
        if name.startswith(up):
            return bit
    return None


def parse_word_list(text: str, names: tuple[tuple[str, int], ...], what: str) -> int:
    """A comma-separated list of (abbreviated) names, as libxt_conntrack reads them."""
    out = 0
    rest = text
    while "," in rest:
        word, rest = rest.split(",", 1)
        bit = prefix_lookup(word, names)
        if bit is None:
            raise ParameterProblem(f'Bad {what} "{word},{rest}": expected a comma-separated list')
        out |= bit
    bit = prefix_lookup(rest, names)
    if bit is None:
        raise ParameterProblem(f'Bad {what} "{rest}": expected one of {",".join(n for n, _ in names)}')
    return out | bit


def fmt_bits(mask: int, names: tuple[tuple[str, int], ...]) -> str:
    return ",".join(n for n, b in names if mask & b)


def fmt_states(mask: int) -> str:
    return fmt_bits(mask, STATE_NAMES)


def fmt_status(mask: int) -> str:
    return fmt_bits(mask, STATUS_NAMES) or "NONE"


# --- addresses as getaddrinfo (inet_aton) reads them -----------------------


def inet_aton(text: str) -> int | None:
    """glibc inet_aton, exact: 1-4 parts, each base 0; the last part fills the remaining bytes."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    vals = []
    for p in parts:
        if not re.fullmatch(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*", p):
            return None
        r = strtoul(p) if not re.fullmatch(r"0[xX]", p) else (0, "")
        if r is None or r[1] != "":
            return None
        vals.append(r[0])
    last_bits = 8 * (5 - len(vals))
    *head, last = vals
    if any(v > 255 for v in head) or last >= 1 << last_bits:
        return None
    addr = 0
    for v in head:
        addr = (addr << 8) | v
    return (addr << last_bits) | last


def parse_plen_mask(text: str, what: str) -> int:
    """XTTYPE_PLENMASK: a prefix length or a dotted mask; >32 or non-contiguous means all ones."""
    if "." in text:
        m = inet_aton(text)
        if m is None:
            raise ParameterProblem(f'bad mask "{text}" for {what}: expected a network mask or a CIDR 0-32')
        return m if mask_to_cidr(m) >= 0 else 0xFFFFFFFF
    r = strtoul(text)
    if r is None or r[1] != "" or r[0] > 0xFFFFFFFF:
        raise ParameterProblem(f'bad mask "{text}" for {what}: expected a network mask or a CIDR 0-32')
    return prefix_mask(r[0]) if r[0] <= 32 else 0xFFFFFFFF


def parse_hostmask(text: str, what: str) -> tuple[int, int]:
    """XTTYPE_HOSTMASK: ``host[/mask]``; the address is stored unmasked."""
    host, sep, mask = text.partition("/")
    addr = inet_aton(host)
    if addr is None:
        raise ParameterProblem(f'host "{host}" for {what} not found: expected a numeric IPv4 address')
    return addr, parse_plen_mask(mask, what) if sep else 0xFFFFFFFF


def fmt_addr(addr: int, mask: int, numeric: bool) -> str:
    if not numeric and addr == 0:
        return "anywhere"
    cidr = mask_to_cidr(mask)
    suffix = "" if cidr == 32 else f"/{cidr}" if cidr >= 0 else "/" + fmt_ipv4(mask)
    return fmt_ipv4(addr) + suffix


# --- ports as xtables_getportbyname (getaddrinfo) reads them ---------------


def _port(text: str) -> int:
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", text)
    if m:
        v = int(m.group(2))
        v = 2**64 - 1 if v >= 2**64 else v
        if m.group(1) == "-":
            v = (-v) % 2**64
        v &= 0xFFFFFFFF  # stored in an int
        if v < 2**31:
            return v & 0xFFFF
    else:
        p = service_port(text, None)
        if p is not None:
            return p
    raise ParameterProblem(f'Port "{text}" does not resolve to anything: expected a port number or service')


def parse_port_rc(text: str, what: str) -> tuple[int, int]:
    """XTTYPE_PORTRC: ``port[:port]``; an empty low end is 0, an empty high end 65535."""
    parts = text.split(":")
    if len(parts) > 2:
        raise ParameterProblem(f'conntrack: Too many components for option "{what}" (max: 2): "{text}", '
                               "expected port[:port]")
    lo = _port(parts[0]) if parts[0] else 0
    if len(parts) == 1:
        return lo, lo
    return lo, _port(parts[1]) if parts[1] else 0xFFFF


def parse_u32_range(text: str, what: str) -> tuple[int, int]:
    """XTTYPE_UINT32RC: ``n[:m]``; empty ends are 0 and 4294967295."""
    parts = text.split(":")
    if len(parts) > 2:
        raise ParameterProblem(f'bad range "{text}" for {what}: expected n[:m]')
    vals = []
    for i, p in enumerate(parts):
        if p and try_uint(p) is None:  # xtopt_parse_mint's words
            raise ParameterProblem(f'conntrack: bad value for option "{what}" near "{p}", or out of range '
                                   "(0-4294967295): expected n[:m]")
        vals.append(parse_uint(p) if p else (0 if i == 0 else 2**32 - 1))
    return vals[0], vals[-1]


_ADDR_OPTS = {
    "ctorigsrc": F_ORIGSRC, "ctorigdst": F_ORIGDST, "ctreplsrc": F_REPLSRC, "ctrepldst": F_REPLDST,
}
_PORT_OPTS = {
    "ctorigsrcport": F_ORIGSRC_PORT, "ctorigdstport": F_ORIGDST_PORT,
    "ctreplsrcport": F_REPLSRC_PORT, "ctrepldstport": F_REPLDST_PORT,
}


@dataclass(frozen=True, slots=True)
class Conntrack(Match):
    """struct xt_conntrack_mtinfo3 (IPv4 part)."""

    name: ClassVar[str] = "conntrack"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ctstate", invert=True),
        Opt("ctproto", invert=True),
        *(Opt(n, invert=True) for n in _ADDR_OPTS),
        Opt("ctstatus", invert=True),
        Opt("ctexpire", invert=True),
        *(Opt(n, invert=True) for n in _PORT_OPTS),
        Opt("ctdir"),
    )

    match_flags: int = 0
    invert_flags: int = 0
    state_mask: int = 0
    status_mask: int = 0
    l4proto: int = 0
    # (addr, mask) for origsrc, origdst, replsrc, repldst
    addrs: tuple[tuple[int, int], ...] = ((0, 0),) * 4
    # (low, high) for origsrc, origdst, replsrc, repldst ports
    ports: tuple[tuple[int, int], ...] = ((0, 0),) * 4
    expires: tuple[int, int] = (0, 0)

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Conntrack:
        if not opts.items:
            raise ParameterProblem("conntrack: At least one option is required")
        flags = inv = state = status = proto = 0
        addrs = [(0, 0)] * 4
        ports = [(0, 0)] * 4
        expires = (0, 0)
        for g in opts.items:
            n = g.opt.name
            bit = 0
            if n == "ctstate":
                bit, state = F_STATE, parse_word_list(g.value, _STATE_ORDER, "ctstate")
            elif n == "ctproto":
                bit, proto = F_PROTO, parse_protocol(g.value)
            elif n in _ADDR_OPTS:
                bit = _ADDR_OPTS[n]
                addrs[list(_ADDR_OPTS).index(n)] = parse_hostmask(g.value, "--" + n)
            elif n in _PORT_OPTS:
                bit = _PORT_OPTS[n]
                ports[list(_PORT_OPTS).index(n)] = parse_port_rc(g.value, "--" + n)
            elif n == "ctstatus":
                bit, status = F_STATUS, parse_word_list(g.value, _STATUS_LOOKUP, "ctstatus")
            elif n == "ctexpire":
                bit, expires = F_EXPIRES, parse_u32_range(g.value, "--ctexpire")
            elif n == "ctdir":
                word = g.value.upper()
                if word not in ("ORIGINAL", "REPLY"):
                    raise ParameterProblem(
                        f'conntrack: bad value "{g.value}" for --ctdir: expected ORIGINAL or REPLY'
                    )
                flags |= F_DIRECTION
                inv = inv | F_DIRECTION if word == "REPLY" else inv & ~F_DIRECTION
                continue
            flags |= bit
            if g.inverted:
                inv |= bit
        return cls(flags, inv, state, status, proto, tuple(addrs), tuple(ports), expires)

    def mt(self, pkt: Packet, par: Par) -> bool:
        f, inv = self.match_flags, self.invert_flags
        meta = pkt.meta
        if meta.untracked:  # ct_get's
            ct, ctinfo = None, IP_CT_UNTRACKED
        else:
            ct, ctinfo = meta.ct, meta.ctinfo
        if f & F_STATE:
            if ct is not None:  # state_bit's
                status = ct.status
                bit = (1 << (ctinfo % IP_CT_IS_REPLY + 1)) | (S_SNAT if status & IPS_SRC_NAT else 0) | (
                    S_DNAT if status & IPS_DST_NAT else 0)
            else:
                bit = S_UNTRACKED if ctinfo == IP_CT_UNTRACKED else S_INVALID
            if bool(self.state_mask & bit) == bool(inv & F_STATE):
                return False
        if ct is None:
            return bool(f & F_STATE)
        if not f & _AFTER_STATE:
            return True  # --ctstate alone (the common rule): nothing else to test
        if f & F_DIRECTION and (ct_direction(ctinfo) == 0) == bool(inv & F_DIRECTION):
            return False
        tuples = (ct.orig, ct.orig, ct.reply, ct.reply)
        for i, bit in enumerate((F_ORIGSRC, F_ORIGDST, F_REPLSRC, F_REPLDST)):
            if f & bit:
                addr, mask = self.addrs[i]
                got = tuples[i].src if i % 2 == 0 else tuples[i].dst
                if (((got ^ addr) & mask) == 0) == bool(inv & bit):
                    return False
        if f & F_PROTO and (ct.orig.proto == self.l4proto) == bool(inv & F_PROTO):
            return False
        for i, bit in enumerate((F_ORIGSRC_PORT, F_ORIGDST_PORT, F_REPLSRC_PORT, F_REPLDST_PORT)):
            if f & bit:
                lo, hi = self.ports[i]
                got = tuples[i].sport if i % 2 == 0 else tuples[i].dport
                if (lo <= got <= hi) == bool(inv & bit):
                    return False
        if f & F_STATUS and bool(self.status_mask & ct.status) == bool(inv & F_STATUS):
            return False
        if f & F_EXPIRES:
            # nf_ct_expires in jiffies, then whole seconds.
            left = max(0, math.floor(ct.timeout * HZ) - math.floor(par.now * HZ)) // HZ
            lo, hi = self.expires
            if (lo <= left <= hi) == bool(inv & F_EXPIRES):
                return False
        return True

    def _dump(self, prefix: str, numeric: bool, exact: bool = False) -> str:
        f, inv = self.match_flags, self.invert_flags
        out: list[str] = []

        def bang(bit: int) -> str:
            return " !" if inv & bit else ""

        if f & F_STATE:
            word = "state" if f & F_STATE_ALIAS else "ctstate"
            out.append(f"{bang(F_STATE)} {prefix}{word} {fmt_states(self.state_mask)}")
        if f & F_PROTO:
            out.append(f"{bang(F_PROTO)} {prefix}ctproto {self.l4proto}")
        for (name, bit), (addr, mask) in zip(_ADDR_OPTS.items(), self.addrs, strict=True):
            if f & bit:
                out.append(f"{bang(bit)} {prefix}{name} {fmt_addr(addr, mask, numeric)}")
        for (name, bit), (lo, hi) in zip(_PORT_OPTS.items(), self.ports, strict=True):
            if f & bit:
                text = str(lo) if (hi == 0 and not exact) or lo == hi else f"{lo}:{hi}"
                out.append(f"{bang(bit)} {prefix}{name} {text}")
        if f & F_STATUS:
            out.append(f"{bang(F_STATUS)} {prefix}ctstatus {fmt_status(self.status_mask)}")
        if f & F_EXPIRES:
            lo, hi = self.expires
            out.append(f"{bang(F_EXPIRES)} {prefix}ctexpire {lo if lo == hi else f'{lo}:{hi}'}")
        if f & F_DIRECTION:
            out.append(f" {prefix}ctdir {'REPLY' if inv & F_DIRECTION else 'ORIGINAL'}")
        return "".join(out)

    def save(self) -> str:
        return self._dump("--", True)

    def exact_save(self) -> str | None:
        # "--ctorigsrcport 1000:0" keeps 0 as the high end, which save does not print.
        lossy = any(self.match_flags & bit and hi == 0 and lo
                    for (_, bit), (lo, hi) in zip(_PORT_OPTS.items(), self.ports, strict=True))
        return self._dump("--", True, exact=True) if lossy else None

    def describe(self, numeric: bool) -> str:
        return self._dump("", numeric)


EXTENSION = Conntrack
