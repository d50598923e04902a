"""-m string (xt_string, revision 1): search the packet for a pattern with a
textsearch algorithm (bm, kmp, fsm) between two offsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MAX_PATTERN = 128  # XT_STRING_MAX_PATTERN_SIZE
ALGO_SIZE = 16  # XT_STRING_MAX_ALGO_NAME_SIZE
FLAG_INVERT, FLAG_IGNORECASE = 1, 2
ALGOS = ("bm", "kmp", "fsm")
FSM_TYPE_MAX, FSM_RECUR_MAX, FSM_HEAD_IGNORE = 13, 4, 4
_HEX = frozenset("0123456789abcdefABCDEF")


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def parse_hex_string(text: str) -> bytes:
    """libxt_string's --hex-string: ``|41 42|`` hex blocks, ``\\x`` literals, other bytes as is."""
    s = to_bytes(text)
    n = len(s)
    if n == 0:
        raise ParameterProblem("bad value \"\": STRING must contain at least one char")

    def at(k: int) -> int:
        return s[k] if k < n else 0

    out = bytearray()
    i = 0
    in_hex = literal = False
    while i < n:
        if len(out) >= MAX_PATTERN:
            raise ParameterProblem(f'STRING too long "{text}": expected at most {MAX_PATTERN} bytes')
        c = s[i]
        if c == 0x5C and not in_hex:  # backslash
            literal = True
        elif c == 0x5C:
            raise ParameterProblem(f'bad value "{text}": cannot include literals in hex data')
        elif c == 0x7C:  # |
            if in_hex:
                in_hex = False
            else:
                in_hex = True
                while at(i + 1) == 0x20:
                    i += 1
            if i + 1 >= n:
                break
            i += 1
        if literal:
            if i + 1 >= n:
                raise ParameterProblem(f'bad value "{text}": bad literal placement at end of string')
            out.append(s[i + 1])
            i += 2
            literal = False
        elif in_hex:
            if i + 1 >= n:
                raise ParameterProblem(f'bad value "{text}": odd number of hex digits')
            if i + 2 >= n:
                raise ParameterProblem(f'bad value "{text}": invalid hex block, expected a closing "|"')
            for k in (i, i + 1):
                if chr(s[k]) not in _HEX:
                    raise ParameterProblem(f'bad value "{text}": invalid hex char {chr(s[k])!r}')
            out.append(int(s[i:i + 2], 16))
            i += 3 if at(i + 2) == 0x20 else 2
        else:
            out.append(s[i])
            i += 1
    return bytes(out)


def is_hex(p: bytes) -> bool:
    return any(not 0x20 <= b <= 0x7E for b in p) or (len(p) > 0 and p[-1] == 0x5C)


def fmt_pattern(p: bytes) -> str:
    if is_hex(p):
        return ' "|' + p.hex() + '|"'
    out = []
    for b in p:
        if b in (0x22, 0x5C):
            out.append("\\")
        out.append(chr(b))
    return ' "' + "".join(out) + '"'


def fsm_ok(p: bytes) -> bool:
    """ts_fsm's fsm_init: 4-byte tokens (u16 type, u8 recur, u8 value) within range."""
    if len(p) % 4 or not p:
        return False
    count = len(p) // 4
    for i in range(count):
        ttype = int.from_bytes(p[4 * i:4 * i + 2], "little")
        recur = p[4 * i + 2]
        if ttype > FSM_TYPE_MAX or recur > FSM_RECUR_MAX:
            return False
        if recur == FSM_HEAD_IGNORE and (i != 0 or i == count - 1):
            return False
    return True


@dataclass(frozen=True, slots=True)
class String(Match):
    """struct xt_string_info (revision 1)."""

    name: ClassVar[str] = "string"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("from"),
        Opt("to"),
        Opt("algo", mandatory=True),
        Opt("string", invert=True, excl=("hex-string",)),
        Opt("hex-string", invert=True, excl=("string",)),
        Opt("icase", nargs=0),
    )

    from_offset: int = 0
    to_offset: int = 0xFFFF
    algo: str = ""
    pattern: bytes = b""
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> String:
        frm, to, flags, pattern = 0, 0xFFFF, 0, b""
        algo = opts["algo"].value
        if len(to_bytes(algo)) > ALGO_SIZE - 1:
            algo = to_bytes(algo)[: ALGO_SIZE - 1].decode("utf-8", "surrogateescape")
        for g in opts.items:
            n = g.opt.name
            if n == "from":
                frm = parse_uint(g.value, 0, 0xFFFF, "an offset", ext="string", opt="from")
            elif n == "to":
                to = parse_uint(g.value, 0, 0xFFFF, "an offset", ext="string", opt="to")
            elif n == "string":
                pattern = to_bytes(g.value)
                if len(pattern) > MAX_PATTERN:
                    raise ParameterProblem(f'STRING too long "{g.value}": expected {MAX_PATTERN} bytes')
            elif n == "hex-string":
                pattern = parse_hex_string(g.value)
            elif n == "icase":
                flags |= FLAG_IGNORECASE
            if g.inverted:
                flags |= FLAG_INVERT
        if "string" not in opts and "hex-string" not in opts:
            raise ParameterProblem("STRING match: You must specify --string or --hex-string")
        return cls(frm, to, algo, pattern, flags)

    def check(self, ctx: CheckContext) -> None:
        if self.from_offset > self.to_offset:
            raise KernelRefusal(f"string: --from {self.from_offset} is above --to {self.to_offset} (EINVAL)")
        if self.algo not in ALGOS:
            raise KernelRefusal(f'string: no textsearch algorithm "{self.algo}" (ENOENT)')
        if not self.pattern:
            raise KernelRefusal("string: empty pattern (EINVAL)")
        if self.algo == "fsm" and (self.flags & FLAG_IGNORECASE or not fsm_ok(self.pattern)):
            raise KernelRefusal("string: pattern is no valid fsm token list (EINVAL)")

    def _tail(self, pre: str, upper: bool) -> str:
        out = ""
        if self.from_offset:
            out += f" {'FROM' if upper else pre + 'from'} {self.from_offset}"
        if self.to_offset != 0xFFFF:
            out += f" {'TO' if upper else pre + 'to'} {self.to_offset}"
        if self.flags & FLAG_IGNORECASE:
            out += " ICASE" if upper else f" {pre}icase"
        return out

    def save(self) -> str:
        bang = " !" if self.flags & FLAG_INVERT else ""
        opt = "--hex-string" if is_hex(self.pattern) else "--string"
        return f"{bang} {opt}{fmt_pattern(self.pattern)} --algo {self.algo}" + self._tail("--", False)

    def describe(self, numeric: bool) -> str:
        bang = "!" if self.flags & FLAG_INVERT else ""
        return f" STRING match {bang}{fmt_pattern(self.pattern)} ALGO name {self.algo}" + self._tail("", True)

    def mt(self, pkt: Packet, par: Par) -> bool:
        """string_mt: skb_find_text over the datagram from --from up to (not including) --to."""
        from pynetfilter.ext._textsearch import find
        from pynetfilter.packet.wire import to_bytes

        data = to_bytes(pkt)[self.from_offset:self.to_offset]
        icase = bool(self.flags & FLAG_IGNORECASE)
        at = find(self.algo, self.pattern, icase, data)
        # skb_find_text also wants the pattern's length (fsm: 4 bytes a token) to fit the window
        found = at is not None and at + len(self.pattern) <= self.to_offset - self.from_offset
        return found != bool(self.flags & FLAG_INVERT)


EXTENSION = String
