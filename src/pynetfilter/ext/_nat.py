"""Shared core of the NAT targets (libxt_NAT): struct nf_nat_range2, its parser and printer.

SNAT, DNAT, MASQUERADE and REDIRECT all keep one range of addresses and ports
plus flags; they differ in option names, the kernel's hook mask and how they
print.  Parsing follows libxt_NAT's parse_to()/parse_ports() to the letter,
quirks included (``ab:80`` is a port-only range, ``/9000x`` loses its ``x``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Given, Options, RuleContext, Target
from pynetfilter.ext.types import fmt_ipv4, service_port, strtoul

if TYPE_CHECKING:
    from pynetfilter.netfilter.nat_tuple import NatRange
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

# enum nf_nat_range_flags
MAP_IPS = 0x01
PROTO_SPECIFIED = 0x02
PROTO_RANDOM = 0x04
PERSISTENT = 0x08
PROTO_RANDOM_FULLY = 0x10
PROTO_OFFSET = 0x20

# Protocols whose NAT ranges carry ports (libxt_NAT's "portok"; ICMP's id counts too).
PORT_PROTOS = frozenset({6, 17, 132, 33, 1})

_OCTET = re.compile(r"(?:0|[1-9][0-9]{0,2})\Z")


def inet_pton4(text: str) -> int | None:
    """inet_pton(AF_INET): exactly four decimal octets, no leading zeros."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for p in parts:
        if not _OCTET.match(p) or int(p) > 255:
            return None
        value = (value << 8) | int(p)
    return value


_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def inet_aton(text: str) -> int | None:
    """glibc's inet_aton_exact (what getaddrinfo reads numerically): 1-4 parts, each
    hex, octal or decimal, the last filling the remaining bytes (``10.233`` is 10.0.0.233)."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    vals = []
    for p in parts:
        if not _ATON_PART.fullmatch(p):
            return None
        if p[:2] in ("0x", "0X"):
            vals.append(int(p[2:], 16))
        else:
            vals.append(int(p, 8) if p[0] == "0" else int(p))
    last_bits = 8 * (5 - len(vals))
    if any(v > 255 for v in vals[:-1]) or vals[-1] >= 1 << last_bits:
        return None
    value = 0
    for v in vals[:-1]:
        value = (value << 8) | v
    return ((value << last_bits) | vals[-1]) & 0xFFFFFFFF


def parse_host(text: str) -> int:
    """XTTYPE_HOST for IPv4: a numeric address as getaddrinfo reads it (names are not resolved)."""
    v = inet_aton(text)
    if v is None:
        raise ParameterProblem(f'bad address "{text}": expected a numeric IPv4 address')
    return v


def _strtoui(text: str, lo: int, hi: int) -> tuple[int, str] | None:
    """xtables_strtoui with an end pointer: the leading number in [lo, hi] and the rest."""
    r = strtoul(text)
    if r is None or not lo <= r[0] <= hi:
        return None
    return r


def _service(text: str) -> int | None:
    return service_port(text, None)


def parse_ports(text: str, proto: tuple[int, bool]) -> tuple[int, int, int, int]:
    """``port[-port[/base]]``: (flags, min, max, base), as libxt_NAT's parse_ports()."""
    if proto[0] not in PORT_PROTOS:
        raise ParameterProblem(
            f'Need TCP, UDP, SCTP or DCCP with port specification: port range "{text}" needs -p tcp, udp, '
            "sctp or dccp before it"
        )
    flags = PROTO_SPECIFIED
    r = _strtoui(text, 0, 65535)
    if r is None:
        port = _service(text)
        if port is None:
            raise ParameterProblem(f"Port `{text}' not valid: expected a number 0-65535 or a service name")
        return flags, port, port, 0
    port, rest = r
    if rest == "":
        return flags, port, port, 0
    if rest[0] == ":":
        raise ParameterProblem(f'Invalid port:port syntax - use dash: "{text}" (expected port-port)')
    if rest[0] != "-":
        raise ParameterProblem(f"Garbage after port value: `{rest}': expected -port or the end")
    arg = rest[1:]
    r = _strtoui(arg, 0, 65535)
    if r is None:
        raise ParameterProblem(f"Port `{arg}' not valid: expected a number 0-65535 (no service in a range)")
    maxport, rest = r
    if maxport < port:
        raise ParameterProblem(f"Port range `{arg}' funky: expected the lower port first in \"{text}\"")
    if rest == "":
        return flags, port, maxport, 0
    if rest[0] != "/":
        raise ParameterProblem(f"Garbage after port range: `{rest}': expected /baseport or the end")
    arg = rest[1:]
    r = _strtoui(arg, 1, 65535)
    if r is not None:
        base = r[0]  # libxt_NAT ignores anything after the base port's digits
    else:
        found = _service(arg)
        if found is None:
            raise ParameterProblem(f"Port `{arg}' not valid: expected a base port 1-65535 or a service name")
        base = found
    return flags | PROTO_OFFSET, port, maxport, base


def parse_to(text: str, proto: tuple[int, bool]) -> tuple[int, int, int, int, int, int]:
    """``[ip[-ip]][:port[-port[/base]]]``: (flags, min_ip, max_ip, min_port, max_port, base)."""
    if "[" in text:
        raise ParameterProblem(f'bad address "{text}": expected no [brackets] for IPv4')
    colon = text.find(":")
    if colon >= 0 and ":" in text[colon + 1:]:
        colon = -1  # two colons: iptables takes it for an IPv6 address
    flags = 0
    ports = (0, 0, 0)
    addr = text
    if colon >= 0:
        pflags, *p = parse_ports(text[colon + 1:], proto)
        flags |= pflags
        ports = (p[0], p[1], p[2])
        if colon in (0, 2):  # libxt_NAT: ":port" or "[]:port" means no address
            return flags, 0, 0, *ports
        addr = text[:colon]
    flags |= MAP_IPS
    lo_s, dash, hi_s = addr.partition("-")
    lo = inet_pton4(lo_s)
    if lo is None:
        raise ParameterProblem(f'bad IP address "{lo_s}": expected a dotted IPv4 address')
    hi = lo
    if dash:
        hi_v = inet_pton4(hi_s)
        if hi_v is None:
            raise ParameterProblem(f'bad IP address "{hi_s}": expected a dotted IPv4 address')
        hi = hi_v
    return flags, lo, hi, *ports


@dataclass(frozen=True, slots=True)
class NatTarget(Target):
    """struct nf_nat_range2 (the older targets keep the same data in nf_nat_ipv4_multi_range_compat)."""

    # How the range is introduced in -L and save text, and whether a port-only range drops its ":".
    list_prefix: ClassVar[str] = "to:"
    save_option: ClassVar[str] = "--to-destination"
    skip_colon: ClassVar[bool] = False
    # Revision 0 targets keep no base port (a "/base" keeps only its flag).
    has_base: ClassVar[bool] = True
    # libxt_NAT's DNAT_fcheck: older revisions refuse shifted port maps.
    no_offset: ClassVar[bool] = False

    flags: int = 0
    min_ip: int = 0
    max_ip: int = 0
    min_port: int = 0
    max_port: int = 0
    base_port: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Self:
        flags = min_ip = max_ip = min_port = max_port = base = 0
        for g in opts.items:
            n = g.opt.name
            if n in ("to-destination", "to-source"):
                f, min_ip, max_ip, min_port, max_port, base = parse_to(g.value, _proto(g))
                flags |= f
            elif n == "to-ports":
                f, min_port, max_port, base = parse_ports(g.value, _proto(g))
                flags |= f
            elif n == "random":
                flags |= PROTO_RANDOM
            elif n == "random-fully":
                flags |= PROTO_RANDOM_FULLY
            elif n == "persistent":
                flags |= PERSISTENT
        if cls.no_offset and flags & PROTO_OFFSET:
            raise ParameterProblem("Shifted portmap ranges not supported with this kernel: "
                                   f"{cls.name} revision has no /baseport")
        if not cls.has_base:
            base = 0
        return cls(flags, min_ip, max_ip, min_port, max_port, base)

    # Every NAT target makes the kernel load conntrack (nf_ct_netns_get in checkentry).
    needs_conntrack: ClassVar[bool] = True

    def nat_range(self) -> NatRange:
        """The range the kernel hands to nf_nat_setup_info (revision 0 keeps no base port).

        Made once per target (both are immutable): DNAT asks for it on every new connection."""
        got = _RANGES.get(id(self))
        if got is not None and got[0] is self:
            return got[1]
        from pynetfilter.netfilter.nat_tuple import NatRange

        rng = NatRange(self.flags, self.min_ip, self.max_ip, self.min_port, self.max_port, self.base_port)
        if len(_RANGES) >= _RANGES_MAX:
            _RANGES.clear()
        _RANGES[id(self)] = (self, rng)  # (the target is kept: its id stays its own)
        return rng

    def range_text(self) -> str:
        out = ""
        if self.flags & MAP_IPS:
            out = fmt_ipv4(self.min_ip)
            if self.max_ip != self.min_ip:
                out += "-" + fmt_ipv4(self.max_ip)
        if self.flags & PROTO_SPECIFIED:
            out += f":{self.min_port}"
            if self.max_port != self.min_port:
                out += f"-{self.max_port}"
            if self.flags & PROTO_OFFSET:
                out += f"/{self.base_port}"
        return out

    def _print(self, rangeopt: str, flag_prefix: str) -> str:
        text = self.range_text()
        out = ""
        if text:
            if text[0] == ":" and self.skip_colon:
                text = text[1:]
            out = f" {rangeopt}{text}"
        if self.flags & PROTO_RANDOM:
            out += f" {flag_prefix}random"
        if self.flags & PROTO_RANDOM_FULLY:
            out += f" {flag_prefix}random-fully"
        if self.flags & PERSISTENT:
            out += f" {flag_prefix}persistent"
        return out

    def exact_save(self) -> str | None:
        if self.flags & PROTO_OFFSET and not self.base_port:
            # A revision-0 target keeps the /base flag but not the port: iptables-save prints "/0",
            # which no parser takes back; any base port parses to this same blob.
            return dataclasses.replace(self, base_port=1).save()
        return None

    def save(self) -> str:
        return self._print(self.save_option + " ", "--")

    def describe(self, numeric: bool) -> str:
        return self._print(self.list_prefix, "")


# NatTarget.nat_range's answers by id(target), with the target itself.
_RANGES: dict[int, tuple[NatTarget, NatRange]] = {}
_RANGES_MAX = 1 << 16


def _proto(g: Given) -> tuple[int, bool]:
    return g.proto_then


def nat_setup(pkt: Packet, par: Par, rng: NatRange, manip: int) -> int:
    """Hand *rng* to the engine's NAT (nf_nat_setup_info) for the packet's connection."""
    nat = par.engine.nat
    if nat is None:  # no conntrack: nothing to bind (cannot happen with a nat table loaded)
        from pynetfilter.netfilter.verdicts import NF_ACCEPT

        return NF_ACCEPT
    return int(nat.from_target(pkt, par, rng, manip))
