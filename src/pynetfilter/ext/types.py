"""Value parsers shared by the extensions, with libxtables' exact acceptance rules.

libxtables reads numbers with ``strtoul(..., base 0)``: ``0x1f`` is hex, ``010``
is octal, a leading ``-`` is refused.  Addresses accept the short dotted forms
(``10`` is 10.0.0.0, ``10.1`` is 10.1.0.0), each part a base-0 number.  Port
and protocol names come from the host's services and protocols databases,
as getservbyname(3) and getprotobyname(3) would give them.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pynetfilter.errors import ParameterProblem

# --- numbers -----------------------------------------------------------------

_HEX = re.compile(r"\s*\+?0[xX]([0-9a-fA-F]+)", re.ASCII)
_OCT = re.compile(r"\s*\+?0([0-7]*)", re.ASCII)
_DEC = re.compile(r"\s*\+?([1-9][0-9]*)", re.ASCII)


ERANGE = 2**64  # what strtoul's digits past ULONG_MAX read as: every range refuses it


def _int(digits: str, base: int) -> int:
    """The value of a number's digits; past 64 bits (C strtoul: ULONG_MAX and ERANGE, which
    xtables_strtoul_base refuses) :data:`ERANGE`, also for thousands of digits, which int() refuses."""
    digits = digits.lstrip("0") or "0"
    return int(digits, base) if len(digits) <= 64 else ERANGE


def strtoul(text: str, base: int = 0) -> tuple[int, str] | None:
    """C strtoul: the number at the start of *text* and the rest, or None.

    Refuses a leading minus, as xtables_strtoul_base does.
    """
    if text.lstrip().startswith("-"):
        return None
    if base in (0, 16):
        m = _HEX.match(text)
        if m:
            return _int(m.group(1), 16), text[m.end():]
        if base == 16:
            m = re.match(r"\s*\+?([0-9a-fA-F]+)", text, re.ASCII)
            return (_int(m.group(1), 16), text[m.end():]) if m else None
    if base == 0:
        m = _OCT.match(text)
        if m:
            return (_int(m.group(1), 8) if m.group(1) else 0), text[m.end():]
    m = _DEC.match(text) if base in (0, 10) else None
    if base == 10:
        m = re.match(r"\s*\+?([0-9]+)", text, re.ASCII)
    if m:
        return _int(m.group(1), 10), text[m.end():]
    return None


def parse_uint(text: str, lo: int = 0, hi: int = 2**32 - 1, what: str = "number", base: int = 0,
               *, ext: str = "", opt: str = "") -> int:
    """A whole-string number in [lo, hi] (xtables_strtoui).  Given the extension and option
    names, the refusal says what xtopt_parse_int says (an XTTYPE_UINT* option)."""
    r = strtoul(text, base)
    if r is None or r[1] != "" or not lo <= r[0] <= hi:
        if ext:  # xtopt_parse_int's words, then (given *what*) what the value was to be
            tail = f': "{text}" is not {what}' if what else "."
            raise ParameterProblem(f'{ext}: bad value for option "--{opt}", or out of range '
                                   f"({lo}-{hi}){tail}")
        raise ParameterProblem(f'bad value "{text}": expected {what} ({lo}-{hi})')
    return r[0]


def try_uint(text: str, lo: int = 0, hi: int = 2**32 - 1, base: int = 0) -> int | None:
    r = strtoul(text, base)
    if r is None or r[1] != "" or not lo <= r[0] <= hi:
        return None
    return r[0]


def parse_uint_range(text: str, hi: int, option: str, ext: str = "") -> tuple[int, int, int]:
    """XTTYPE_UINT{16,32}RC (iptables 1.8.9): ``a``, ``a:b``, ``a:``, ``:b`` or ``:``.

    Returns (first, second, number of components).  An empty component is
    0 (first) or *hi* (second); each must be a base-0 number in 0..hi; a
    second smaller than the first is not refused here.
    """
    vals: list[int] = []
    parts = text.split(":")
    if len(parts) > 2:
        raise ParameterProblem(f'{ext}: Too many components for option "--{option}" (max: 2): "{text}", '
                               "expected value[:value]")
    for n, part in enumerate(parts):
        if part == "":
            vals.append(hi if n == 1 else 0)
            continue
        r = strtoul(part)
        if r is None or r[1] != "" or r[0] > hi:
            # xtopt_parse_mint's words, naming the component it stopped at
            raise ParameterProblem(f'{ext}: bad value for option "--{option}" near "{part}", or out of range '
                                   f"(0-{hi}): expected value[:value]")
        vals.append(r[0])
    return vals[0], vals[-1], len(vals)


def parse_mark_mask(text: str, ext: str, opt: str) -> tuple[int, int]:
    """``value[/mask]`` as XTTYPE_MARKMASK32: mask defaults to 0xffffffff."""
    bad = ParameterProblem(f'{ext}: bad integer value for option "--{opt}", or out of range: "{text}", '
                           "expected value[/mask]")
    r = strtoul(text)
    if r is None or r[0] > 0xFFFFFFFF:
        raise bad
    value, rest = r
    if rest == "":
        return value, 0xFFFFFFFF
    if not rest.startswith("/"):
        raise bad
    m = strtoul(rest[1:])
    if m is None or m[1] != "" or m[0] > 0xFFFFFFFF:
        raise bad
    return value, m[0]


def fmt_mark_mask(value: int, mask: int) -> str:
    if mask == 0xFFFFFFFF:
        return f"0x{value:x}"
    return f"0x{value:x}/0x{mask:x}"


# --- addresses ---------------------------------------------------------------


def _dotted(text: str, is_mask: bool) -> int | None:
    parts = text.split(".", 3)
    if len(parts) < 4 and is_mask:
        return None
    octets = []
    for p in parts:
        v = try_uint(p, 0, 255)
        if v is None:
            return None
        octets.append(v)
    octets += [0] * (4 - len(octets))
    return (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]


def parse_ipv4_addr(text: str) -> int:
    """A numeric IPv4 address as libxtables reads it (no name resolution)."""
    if len(text) > 19:
        text = text[:19]
    v = _dotted(text, False)
    if v is None:
        raise ParameterProblem(f'host/network "{text}" not found: expected a numeric IPv4 address')
    return v


def parse_ipv4_mask(text: str) -> int:
    v = _dotted(text, True)
    if v is not None:
        return v
    bits = try_uint(text, 0, 32)
    if bits is None:
        raise ParameterProblem(f'invalid mask "{text}" specified: expected 0-32 or a dotted mask')
    return prefix_mask(bits)


def prefix_mask(bits: int) -> int:
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0


def parse_ipv4_net(text: str) -> tuple[int, int]:
    """``addr[/mask]``; the address is masked, as xtables_ipparse_any does."""
    addr, sep, mask = text.partition("/")
    m = parse_ipv4_mask(mask) if sep else 0xFFFFFFFF
    return parse_ipv4_addr(addr) & m, m


def parse_ipv4_nets(text: str) -> list[tuple[int, int]]:
    """Comma-separated networks (xtables_ipparse_multiple); duplicates removed."""
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        net = parse_ipv4_net(part)
        if net not in out:
            out.append(net)
    return out


def fmt_ipv4(addr: int) -> str:
    return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"


def mask_to_cidr(mask: int) -> int:
    """Prefix length of a contiguous mask, -1 otherwise (xtables_ipmask_to_cidr)."""
    if mask == 0xFFFFFFFF:
        return 32
    bits = 0xFFFFFFFE
    i = 31
    while i >= 0 and mask != bits:
        bits = (bits << 1) & 0xFFFFFFFF
        i -= 1
    return i


def fmt_ipv4_net(addr: int, mask: int) -> str:
    """``a.b.c.d/len`` or ``a.b.c.d/m.m.m.m`` as iptables-save prints -s/-d."""
    cidr = mask_to_cidr(mask)
    return f"{fmt_ipv4(addr)}/{cidr}" if cidr >= 0 else f"{fmt_ipv4(addr)}/{fmt_ipv4(mask)}"


def fmt_ipv4_net_list(addr: int, mask: int) -> str:
    """The form ``iptables -L -n`` prints: no /32, /N or dotted mask, 0.0.0.0/0."""
    if mask == 0xFFFFFFFF:
        return fmt_ipv4(addr)
    return fmt_ipv4_net(addr, mask)


# --- interfaces --------------------------------------------------------------

IFNAMSIZ = 16


def parse_iface(text: str) -> str:
    if len(text) >= IFNAMSIZ:
        raise ParameterProblem(
            f'interface name "{text}" must be shorter than IFNAMSIZ ({IFNAMSIZ - 1})'
        )
    return text


# --- services and protocols (the host's databases, as libc reads them) -------

_BUILTIN_PROTOCOLS = {
    "ip": 0, "icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "egp": 8, "igp": 9, "pup": 12, "udp": 17,
    "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36, "ddp": 37,
    "idpr-cmtp": 38, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "idrp": 45, "rsvp": 46,
    "gre": 47, "esp": 50, "ah": 51, "skip": 57, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "rspf": 73, "vmtp": 81, "eigrp": 88, "ospf": 89, "ax.25": 93, "ipip": 94, "etherip": 97,
    "encap": 98, "pim": 103, "ipcomp": 108, "vrrp": 112, "l2tp": 115, "isis": 124, "sctp": 132,
    "fc": 133, "mobility-header": 135, "udplite": 136, "mpls-in-ip": 137, "manet": 138, "hip": 139,
    "shim6": 140, "wesp": 141, "rohc": 142, "ethernet": 143,
}


@functools.cache
def _protocols() -> tuple[dict[str, int], dict[int, str]]:
    by_name: dict[str, int] = {}
    by_num: dict[int, str] = {}
    try:
        lines = Path("/etc/protocols").read_text().splitlines()
    except OSError:
        lines = [f"{n} {v}" for n, v in _BUILTIN_PROTOCOLS.items()]
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or not (fields[1].isascii() and fields[1].isdigit()):
            continue
        num = int(fields[1])
        for name in [fields[0], *fields[2:]]:
            by_name.setdefault(name, num)
        by_num.setdefault(num, fields[0])
    return by_name, by_num


def protocol_by_name(name: str) -> int | None:
    return _protocols()[0].get(name)


def protocol_name(num: int) -> str | None:
    return _protocols()[1].get(num)


@functools.cache
def _services_db() -> tuple[dict[tuple[str, str], int], dict[tuple[int, str], str]]:
    """/etc/services as getservbyname (name, proto) -> port and getservbyport (port, proto) -> name."""
    by_name: dict[tuple[str, str], int] = {}
    by_port: dict[tuple[int, str], str] = {}
    try:
        lines = Path("/etc/services").read_text().splitlines()
    except OSError:
        return by_name, by_port
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or "/" not in fields[1]:
            continue
        port, _, proto = fields[1].partition("/")
        if not (port.isascii() and port.isdigit()):
            continue
        by_port.setdefault((int(port), proto), fields[0])
        for name in [fields[0], *fields[2:]]:
            by_name.setdefault((name, proto), int(port))
    return by_name, by_port


def service_name(port: int, proto: str) -> str | None:
    """getservbyport(port, proto): the name -L prints without -n."""
    return _services_db()[1].get((port, proto))


def service_port(name: str, proto: str | None) -> int | None:
    """getservbyname(name, proto); proto None means any protocol."""
    table = _services_db()[0]
    if proto is not None:
        return table.get((name, proto))
    for p in ("tcp", "udp", "sctp", "dccp"):
        if (name, p) in table:
            return table[(name, p)]
    return None


def parse_port(text: str, proto: str | None = None) -> int:
    """xtables_parse_port: a number 0-65535 or a service name."""
    v = try_uint(text, 0, 65535)
    if v is not None:
        return v
    v = service_port(text, proto)
    if v is None:
        raise ParameterProblem(f'invalid port/service "{text}" specified: expected 0-65535 or a service name')
    return v


def parse_port_range(text: str, proto: str | None = None) -> tuple[int, int]:
    """``port``, ``lo:hi``, ``:hi`` or ``lo:`` (a range given backwards is swapped? no: refused)."""
    if ":" not in text:
        p = parse_port(text, proto)
        return p, p
    lo_s, _, hi_s = text.partition(":")
    lo = parse_port(lo_s, proto) if lo_s else 0
    hi = parse_port(hi_s, proto) if hi_s else 65535
    return lo, hi


def fmt_port_range(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}:{hi}"


# --- strings as iptables-save quotes them ------------------------------------

_NO_QUOTE = frozenset("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def save_string(value: str) -> str:
    """xtables_save_string: bare when safe, else double-quoted with \\ " ' escaped.

    Returns the text with its leading space, as extension save functions print it.
    """
    if value and all(c in _NO_QUOTE for c in value):
        return " " + value
    out = []
    for c in value:
        if c in "\"\\'":
            out.append("\\")
        out.append(c)
    return ' "' + "".join(out) + '"'


def inv(flag: bool) -> str:
    """The `` !`` prefix an inverted option prints in save text."""
    return " !" if flag else ""
