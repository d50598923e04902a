"""iptables' words: the core option table, names, numbers, protocols and addresses.

The pieces of do_parse() that do not depend on the parser's state: which
options exist and what they take, which commands allow which options
(iptables' commands_v_options), and the readers of the words themselves
(rule numbers, chain and target names, protocols, counters as sscanf reads
them, and -s/-d address lists with host and network names).
"""

from __future__ import annotations

import re

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext import find_target
from pynetfilter.ext.types import parse_ipv4_mask, protocol_by_name, try_uint
from pynetfilter.model.rule import CHAIN_PROTO_NUMBERS
from pynetfilter.model.tables import STANDARD_VERDICTS
from pynetfilter.syntax.names import host_to_ipv4, network_to_ipv4, numeric_to_ipv4

# Commands (short letter -> long name); the letter is the command's identity.
COMMANDS = {
    "A": "append", "C": "check", "D": "delete", "I": "insert", "R": "replace", "L": "list",
    "S": "list-rules", "F": "flush", "Z": "zero", "N": "new-chain", "X": "delete-chain",
    "E": "rename-chain", "P": "policy", "V": "version", "h": "help",
}
# iptables' original_opts, in order: (long name, letter, has_arg 0/1/2 = none/required/optional).
LONG_OPTS: tuple[tuple[str, str, int], ...] = (
    ("append", "A", 1), ("delete", "D", 1), ("check", "C", 1), ("insert", "I", 1),
    ("replace", "R", 1), ("list", "L", 2), ("list-rules", "S", 2), ("flush", "F", 2),
    ("zero", "Z", 2), ("new-chain", "N", 1), ("delete-chain", "X", 2), ("rename-chain", "E", 1),
    ("policy", "P", 1), ("source", "s", 1), ("destination", "d", 1), ("src", "s", 1),
    ("dst", "d", 1), ("protocol", "p", 1), ("in-interface", "i", 1), ("jump", "j", 1),
    ("table", "t", 1), ("match", "m", 1), ("numeric", "n", 0), ("out-interface", "o", 1),
    ("verbose", "v", 0), ("wait", "w", 2), ("wait-interval", "W", 2), ("exact", "x", 0),
    ("fragments", "f", 0), ("version", "V", 0), ("help", "h", 2), ("line-numbers", "0", 0),
    ("modprobe", "M", 1), ("set-counters", "c", 1), ("goto", "g", 1), ("ipv4", "4", 0),
    ("ipv6", "6", 0),
)
_LONG = {name: (letter, has_arg) for name, letter, has_arg in LONG_OPTS}
# IPT_OPTSTRING: letter -> has_arg
_OPTSTRING = "A:C:D:E:F::I:L::M:N:P:VX::Z::c:d:i:j:o:p:s:t:R:S::W::46bfg:h::m:nvw::x"
_SHORT: dict[str, int] = {}
for _m in re.finditer(r"(.)(:{0,2})", _OPTSTRING):
    _SHORT[_m.group(1)] = {"": 0, ":": 1, "::": 2}[_m.group(2)]
# Options recorded by set_option (the columns of commands_v_options) and those that may be inverted.
OPTFLAGS = "nsdpjvxio0cf"
_INVERTIBLE = set("sdpiof")
# commands_v_options: per command, "x" where an option is illegal.
_LEGAL = {
    "I": "x     x  x  ", "D": "x     x  xx ", "DN": "xxxxx xxxxxx", "R": "x     x  x  ",
    "A": "x     x  x  ", "L": " xxxx  xx xx", "F": "xxxxx xxxxxx", "Z": "xxxxx xxxxxx",
    "N": "xxxxx xxxxxx", "X": "xxxxx xxxxxx", "P": "xxxxx xxxx x", "E": "xxxxx xxxxxx",
    "S": "xxxxx xxxxxx", "ZN": "xxxxx xxxxxx", "C": "x     x  xx ",
}
MAX_NAME = 28  # XT_EXTENSION_MAXNAMELEN - 1: longest chain or target name
_RULE_CMDS = ("A", "C", "D", "I", "R")
# Kept for callers of the previous layout: letter -> (long name, aliases, takes argument, invertible).
CORE = {letter: (name, (), has_arg == 1, letter in _INVERTIBLE)
        for name, letter, has_arg in LONG_OPTS if letter not in COMMANDS}


def _rulenum(tok: str) -> int:
    v = try_uint(tok, 1, 2**31 - 1)
    if v is None:
        raise ParameterProblem(f'Invalid rule number "{tok}": expected a number 1-2147483647')
    return v


def _check_name(name: str, what: str) -> str:
    """xt_parse_target's checks (also used for chain names)."""
    if len(name) < 1:
        raise ParameterProblem(f"Invalid {what} name (too short)")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        raise ParameterProblem(f'Invalid {what} name "{name}" ({MAX_NAME} chars max)')
    if any(c in " \t\n\v\f\r" for c in name):
        raise ParameterProblem(f'Invalid {what} name "{name}": expected no white space')
    return name


def assert_valid_chain_name(name: str) -> None:
    """The checks -N makes on a new chain name before asking the kernel."""
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        raise ParameterProblem(f'chain name "{name}" too long (must be under {MAX_NAME + 1} chars)')
    if name[:1] in ("-", "!"):
        raise ParameterProblem(f'chain name not allowed to start with "{name[0]}": "{name}"')
    if name in STANDARD_VERDICTS or name in ("", "standard") or find_target(name) is not None:
        raise ParameterProblem(f'chain name may not clash with target name: "{name}"')
    if any(c in " \t\n\v\f\r" for c in name):
        raise ParameterProblem(f'Invalid chain name "{name}": expected no white space')


def parse_protocol(text: str) -> int:
    """xtables_parse_protocol: a number 0-255, a chain_protos name, or a protocols-database name."""
    v = try_uint(text, 0, 255)
    if v is not None:
        return v
    num = CHAIN_PROTO_NUMBERS.get(text)
    if num is None:
        num = protocol_by_name(text)
    if num is None:
        raise ParameterProblem(f'unknown protocol "{text}" specified: expected a protocol name or number')
    return num


def sscanf_llu(text: str) -> int | None:
    """sscanf(text, "%llu"): optional sign and decimal digits, wrapping and saturating as glibc does."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", text)
    if m is None:
        return None
    v = int(m.group(2))
    if v > 2**64 - 1:
        return 2**64 - 1
    return (-v) % 2**64 if m.group(1) == "-" else v


def sscanf_i(text: str) -> int | None:
    """sscanf(text, "%i"): a signed number in base 0 (hex, octal or decimal prefix)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if m is None:
        return None
    v = int(m.group(2), 0) if not m.group(2).startswith("0") or m.group(2)[:2].lower() == "0x" \
        else int(m.group(2), 8)
    return -v if m.group(1) == "-" else v


def parse_addresses(text: str) -> list[tuple[int, int]]:
    """xtables_ipparse_multiple: comma-separated ``addr[/mask]``, each address masked."""
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.lstrip(" \t\n\v\f\r")
        if len(part) > 255:
            raise ParameterProblem(f'Hostname too long: "{part[:20]}...": expected at most 255 characters')
        host, slash, mask_text = part.rpartition("/")
        if not slash:
            host, mask = part, 0xFFFFFFFF
        else:
            mask = parse_ipv4_mask(mask_text)
        if mask == 0:
            out.append((0, 0))
            continue
        addr = numeric_to_ipv4(host)
        if addr is None:
            addr = network_to_ipv4(host)
        if addr is None:
            addr = host_to_ipv4(host)
        if addr is None:
            raise ParameterProblem(f'host/network "{host}" not found: expected an IPv4 address')
        out.append((addr & mask, mask))
    return out
