"""-m u32 (xt_u32): tests on 32-bit words read from the packet, libxt_u32's grammar
``loc[op num]...=range[,range]...[&&...]`` with ops ``& << >> @``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


MAXSIZE = 10  # XT_U32_MAXSIZE
AND, LEFTSH, RIGHTSH, AT = 0, 1, 2, 3
_OP_TEXT = {AND: "&", LEFTSH: "<<", RIGHTSH: ">>", AT: "@"}
_SPACE = " \t\n\v\f\r"

Location = tuple[tuple[int, int], ...]  # (nextop, number); the first nextop is unused
Test = tuple[Location, tuple[tuple[int, int], ...]]  # locations, value ranges


def _err(pos: int, what: str) -> ParameterProblem:
    return ParameterProblem(f"u32: at char {pos}: {what}")


def _number(s: str, i: int) -> tuple[int, int]:
    r = strtoul(s[i:])
    if r is None or r[0] > 0xFFFFFFFF:
        raise _err(i, "not a number or out of range: expected 0-0xffffffff")
    return r[0], len(s) - len(r[1])


def parse_u32(s: str) -> tuple[Test, ...]:
    tests: list[Test] = []
    locs: list[tuple[int, int]] = []
    vals: list[tuple[int, int]] = []
    state, i, n = 0, 0, len(s)
    while True:
        while i < n and s[i] in _SPACE:
            i += 1
        if i >= n:
            if state == 0:
                raise ParameterProblem("u32: abrupt end of input after location specifier: expected =value")
            if not vals:
                raise ParameterProblem("u32: test ended with no value specified")
            tests.append((tuple(locs), tuple(vals)))
            if len(tests) > MAXSIZE:
                raise _err(i, f'too many "&&"s: expected at most {MAXSIZE} tests')
            return tuple(tests)
        c = s[i]
        if state == 0:
            if c == "=":
                if not locs:
                    raise _err(i, "location spec missing")
                i += 1
                state = 1
                continue
            op = AND
            if locs:
                if c == "&":
                    op = AND
                elif c in "<>":
                    i += 1
                    if s[i:i + 1] != c:
                        raise _err(i, f"a second {c!r} was expected")
                    op = LEFTSH if c == "<" else RIGHTSH
                elif c == "@":
                    op = AT
                else:
                    raise _err(i, "operator expected: & << >> @ or =")
                i += 1
            num, i = _number(s, i)
            locs.append((op, num))
            if len(locs) > MAXSIZE:
                raise _err(i, f"too many operators: expected at most {MAXSIZE} numbers")
        else:
            if c == "&":
                i += 1
                if s[i:i + 1] != "&":
                    raise _err(i, "a second '&' was expected")
                if not vals:
                    raise _err(i, "value spec missing")
                tests.append((tuple(locs), tuple(vals)))
                if len(tests) > MAXSIZE:  # the next test would be number MAXSIZE + 1
                    raise _err(i, f'too many "&&"s: expected at most {MAXSIZE} tests')
                i += 1
                state, locs, vals = 0, [], []
                continue
            if vals:
                if c != ",":
                    raise _err(i, 'expected "," or "&&"')
                i += 1
            lo, i = _number(s, i)
            while i < n and s[i] in _SPACE:
                i += 1
            hi = lo
            if s[i:i + 1] == ":":
                hi, i = _number(s, i + 1)
            vals.append((lo, hi))
            if len(vals) > MAXSIZE:
                raise _err(i, f'too many ","s: expected at most {MAXSIZE} values')


def fmt_u32(tests: tuple[Test, ...]) -> str:
    out = []
    for locs, vals in tests:
        text = f"0x{locs[0][1]:x}" + "".join(f"{_OP_TEXT[op]}0x{num:x}" for op, num in locs[1:])
        text += "=" + ",".join(f"0x{lo:x}" if lo == hi else f"0x{lo:x}:0x{hi:x}" for lo, hi in vals)
        out.append(text)
    return ' "' + "&&".join(out) + '"'


@dataclass(frozen=True, slots=True)
class U32(Match):
    """struct xt_u32: the tests and the invert flag."""

    name: ClassVar[str] = "u32"
    options: ClassVar[tuple[Opt, ...]] = (Opt("u32", invert=True, mandatory=True),)

    tests: tuple[Test, ...] = ()
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> U32:
        g = opts["u32"]
        return cls(parse_u32(g.value), g.inverted)

    def check(self, ctx: CheckContext) -> None:
        for locs, _vals in self.tests:
            for op, num in locs[1:]:
                if op in (LEFTSH, RIGHTSH) and num > 31:
                    raise KernelRefusal(f"u32: shift by {num} (more than 31) (EINVAL)")

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --u32" + fmt_u32(self.tests)

    def describe(self, numeric: bool) -> str:
        return f" u32{' !' if self.invert else ''}" + fmt_u32(self.tests)


    def mt(self, pkt: Packet, par: Par) -> bool:
        from pynetfilter.packet.wire import to_bytes

        return u32_match(self.tests, to_bytes(pkt)) != self.invert


def u32_match(tests: tuple[Test, ...], data: bytes) -> bool:
    """u32_match_it over the datagram *data* (skb->data is the IP header, skb->len its length).

    Arithmetic is 32-bit unsigned as in C; a word that would be read past the end (or an
    offset that wraps) makes the tests false (which ``!`` then turns into a match).
    """
    size = len(data)
    for locs, vals in tests:
        at = 0
        pos = locs[0][1]
        if size < 4 or pos > size - 4:
            return False
        val = int.from_bytes(data[pos:pos + 4], "big")
        for op, num in locs[1:]:
            if op == AND:
                val &= num
            elif op == LEFTSH:
                val = (val << num) & 0xFFFFFFFF
            elif op == RIGHTSH:
                val >>= num
            else:  # "@": move the base by the value so far, read the word *num* bytes on
                if at + val > 0xFFFFFFFF:
                    return False
                at += val
                pos = num
                if at + 4 > 0xFFFFFFFF or size < at + 4 or pos > size - at - 4:
                    return False
                val = int.from_bytes(data[at + pos:at + pos + 4], "big")
        if not any(lo <= val <= hi for lo, hi in vals):
            return False
    return True


EXTENSION = U32
