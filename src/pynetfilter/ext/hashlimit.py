"""-m hashlimit (xt_hashlimit, revision 3): token buckets per flow, kept in a named
hash table; rates in 1/1000000 s units (XT_HASHLIMIT_SCALE_v2) or byte costs.

Evaluation (the tables, their buckets and garbage collection) lives in
pynetfilter.netfilter.hashlimit; tables are kept by name in ``engine.hashlimit``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext._nat import inet_aton
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.limit import atoi, parse_unit
from pynetfilter.ext.types import mask_to_cidr, parse_uint, strtoul

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SCALE = 1000000
U32, U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
HZ = 250
# user2credits multiplier: HZ * CREDITS_PER_JIFFY (POW2_BELOW64(U64 // (HZ*86400)) = 2^39) // SCALE
CREDIT_FACTOR = HZ * 2**39 // SCALE
BYTE_CREDIT_FACTOR = HZ * 2**24  # HZ * CREDITS_PER_JIFFY_BYTES
BYTE_SHIFT = 4
BURST_MAX = 1000000
GCINTERVAL = 1000
BYTE_EXPIRE, BYTE_EXPIRE_BURST = 15, 60
M_SIP, M_DIP, M_SPT, M_DPT, M_INVERT, M_BYTES, M_RATE_MATCH = 1, 2, 4, 8, 0x10, 0x20, 0x40
_MODES = {"dstip": M_DIP, "srcip": M_SIP, "srcport": M_SPT, "dstport": M_DPT}
RATES = (("day", SCALE * 86400), ("hour", SCALE * 3600), ("min", SCALE * 60), ("sec", SCALE))
UNITS = (("m", 1024 * 1024), ("k", 1024), ("", 1))
NAME_MAX = 255
# hashlimit_mt_check_common truncates larger htable sizes/maxima in the rule blob itself.
HTABLE_MAX_SIZE = 1048576


def atoll(text: str) -> int:
    return atoi(text) & U64


def cost_to_bytes(cost: int) -> int:
    r = U32 // cost if cost else U32
    return ((r - 1) << BYTE_SHIFT) & U64


def bytes_to_cost(n: int) -> int:
    return U32 // (((n >> BYTE_SHIFT) & U32) + 1)


def _factor(c: str) -> int:
    return {"m": 1024 * 1024, "k": 1024}.get(c, 1)


def parse_bytes(text: str) -> int | None:
    """``N[k|m]b/s`` as a byte cost, or None when *text* is no byte rate."""
    at = text.find("b/s")
    if at <= 0:
        return None
    r = atoll(text)
    if r == 0:
        return None
    n = r * _factor(text[at - 1])
    if n > U64:
        raise ParameterProblem(f'Rate value too large "{text}": expected at most {U64} bytes/s')
    cost = bytes_to_cost(n)
    if cost == 0:
        raise ParameterProblem(f'Rate too high "{text}"')
    return cost


def parse_rate(text: str) -> tuple[int, int] | None:
    """``N[/unit]`` -> (period in 1/SCALE s, unit seconds), or None when malformed."""
    num, slash, unit = text.partition("/")
    mult = 1
    if slash:
        m = parse_unit(unit)
        if m is None:
            return None
        mult = m
    r = atoll(num)
    if r == 0:
        return None
    val = SCALE * mult // r
    if val == 0:
        raise ParameterProblem(f'Rate too fast "{text}": expected at most {SCALE}/sec')
    return val, mult


def fmt_rate(period: int) -> tuple[str, int]:
    """print_rate: the text and the quantum (the unit in ms)."""
    if period == 0:
        return " inf", 0
    i = 1
    while i < len(RATES):
        mult = RATES[i][1]
        if period > mult or mult // period < mult % period:
            break
        i += 1
    name, mult = RATES[i - 1]
    return f" {mult // period}/{name}", mult // SCALE * 1000


def fmt_bytes(avg: int, burst: int, prefix: str) -> tuple[str, int]:
    r = cost_to_bytes(avg)
    i = 0
    while i < len(UNITS) - 1:
        name, thresh = UNITS[i]
        if r >= thresh and bytes_to_cost(r & ~(thresh - 1)) == avg:
            break
        i += 1
    out = f" {r // UNITS[i][1]}{UNITS[i][0]}b/s"
    if burst == 0:
        return out, BYTE_EXPIRE * 1000
    r = (r * burst) & U64
    i = 0
    while i < len(UNITS) - 1 and r < UNITS[i][1]:
        i += 1
    return out + f" {prefix}burst {r // UNITS[i][1]}{UNITS[i][0]}b", BYTE_EXPIRE_BURST * 1000


def fmt_mode(mode: int, sep: str) -> str:
    names = [n for n, bit in (("srcip", M_SIP), ("srcport", M_SPT), ("dstip", M_DIP), ("dstport", M_DPT))
             if mode & bit]
    return " " + sep.join(names)


def parse_plen(text: str, what: str) -> int:
    """XTTYPE_PLEN: 0-32, or a dotted mask (a non-contiguous one gives 255, which the kernel refuses)."""
    r = strtoul(text)
    if r is not None and r[1] == "" and r[0] <= 32:
        return r[0]
    mask = inet_aton(text)
    if mask is None:
        raise ParameterProblem(f'bad value "{text}" for {what}: expected a prefix length 0-32 or a netmask')
    cidr = mask_to_cidr(mask)
    return cidr if cidr >= 0 else 255


def user2credits(user: int) -> int:
    return ((user & U64) * CREDIT_FACTOR) & U64


@dataclass(frozen=True, slots=True)
class Hashlimit(Match):
    """struct xt_hashlimit_mtinfo3: name and hashlimit_cfg3."""

    name: ClassVar[str] = "hashlimit"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("hashlimit-upto", invert=True, excl=("hashlimit-above",), aliases=("hashlimit",)),
        Opt("hashlimit-above", invert=True, excl=("hashlimit-upto",)),
        Opt("hashlimit-srcmask"),
        Opt("hashlimit-dstmask"),
        Opt("hashlimit-burst"),
        Opt("hashlimit-htable-size"),
        Opt("hashlimit-htable-max"),
        Opt("hashlimit-htable-gcinterval"),
        Opt("hashlimit-htable-expire"),
        Opt("hashlimit-mode"),
        Opt("hashlimit-name", mandatory=True),
        Opt("hashlimit-rate-match", nargs=0),
        Opt("hashlimit-rate-interval"),
    )

    table_name: str = ""
    mode: int = 0
    avg: int = 0
    burst: int = 5
    size: int = 0
    max: int = 0
    gc_interval: int = GCINTERVAL
    expire: int = 0
    srcmask: int = 32
    dstmask: int = 32
    interval: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Hashlimit:
        mode, avg, burst, mult, interval = 0, 0, 5, 1, 0
        srcmask = dstmask = 32
        expire: int | None = None
        name = opts["hashlimit-name"].value
        if not name:
            raise ParameterProblem('bad value "": expected a hash table name of at least 1 character')
        name = name[: NAME_MAX - 1]
        sizes = {"hashlimit-htable-size": 0, "hashlimit-htable-max": 0,
                 "hashlimit-htable-gcinterval": GCINTERVAL}
        for g in opts.items:
            n = g.opt.name
            if n in ("hashlimit-upto", "hashlimit-above"):
                if g.inverted == (n == "hashlimit-upto"):
                    mode |= M_INVERT
                cost = parse_bytes(g.value)
                if cost is not None:
                    mode |= M_BYTES
                    avg, mult = cost, BYTE_EXPIRE
                else:
                    rate = parse_rate(g.value)
                    if rate is None:
                        raise ParameterProblem(f'bad value "{g.value}" for --{n}: '
                                               "expected N/sec|min|hour|day or N[kb|mb]b/s")
                    avg, mult = rate
            elif n == "hashlimit-burst":
                r = strtoul(g.value)
                if r is None or r[0] < 1 or r[0] > U64 or (r[1] == "" and r[0] > BURST_MAX):
                    raise ParameterProblem('bad value for option "--hashlimit-burst", or out of range '
                                           f'(1-{BURST_MAX}): "{g.value}"')
                burst = r[0] * _factor(r[1][:1])
                if burst > U64:
                    raise ParameterProblem(f'bad value "{g.value}" for --hashlimit-burst: too large')
            elif n in sizes:
                sizes[n] = parse_uint(g.value, what=n)
            elif n == "hashlimit-htable-expire":
                expire = parse_uint(g.value, what=n)
            elif n == "hashlimit-mode":
                for tok in g.value.replace("|", ",").split(","):
                    if tok and tok not in _MODES:
                        raise ParameterProblem(f'bad value "{g.value}" for --hashlimit-mode: '
                                               "expected srcip,srcport,dstip,dstport")
                    mode |= _MODES.get(tok, 0)
            elif n == "hashlimit-srcmask":
                srcmask = parse_plen(g.value, "--hashlimit-srcmask")
            elif n == "hashlimit-dstmask":
                dstmask = parse_plen(g.value, "--hashlimit-dstmask")
            elif n == "hashlimit-rate-match":
                mode |= M_RATE_MATCH
            elif n == "hashlimit-rate-interval":
                interval = atoi(g.value)
                if interval <= 0:
                    raise ParameterProblem(f'bad value "{g.value}" for --hashlimit-rate-interval: '
                                           "expected seconds > 0")
        if "hashlimit-upto" not in opts and "hashlimit-above" not in opts:
            raise ParameterProblem("You have to specify --hashlimit-upto or --hashlimit-above")
        if expire is None:
            expire = mult * 1000
        if mode & M_BYTES:
            nburst = 0
            if "hashlimit-burst" in opts:
                unit = cost_to_bytes(avg)
                if burst < unit:
                    given = opts["hashlimit-burst"].value
                    raise ParameterProblem(f'bad value "{given}": burst cannot be smaller than {unit}b')
                nburst = (burst // unit + (1 if burst % unit else 0)) & U32
                if "hashlimit-htable-expire" not in opts:
                    expire = BYTE_EXPIRE_BURST * 1000
            burst = nburst
        elif burst > BURST_MAX:
            raise ParameterProblem(f'bad value "{burst}" for --hashlimit-burst: expected 1-{BURST_MAX}')
        if mode & M_RATE_MATCH:
            if not mode & M_BYTES:
                avg //= mult
            if interval == 0:
                interval = 1 if mode & M_BYTES else mult
        return cls(name, mode, avg, burst, sizes["hashlimit-htable-size"], sizes["hashlimit-htable-max"],
                   sizes["hashlimit-htable-gcinterval"], expire, srcmask, dstmask, interval)

    def check(self, ctx: CheckContext) -> None:
        name = self.table_name
        if not name or name in (".", "..") or "/" in name:
            raise KernelRefusal(f'hashlimit: invalid table name "{name}" (EINVAL)')
        if self.gc_interval == 0 or self.expire == 0:
            raise KernelRefusal("hashlimit: htable-gcinterval and htable-expire must be non-zero (EINVAL)")
        if self.srcmask > 32 or self.dstmask > 32:
            raise KernelRefusal("hashlimit: srcmask/dstmask above 32 (EINVAL)")
        if self.mode & M_RATE_MATCH:
            if self.avg == 0 or self.avg > U32:
                raise KernelRefusal("hashlimit: invalid rate (ERANGE)")
            if self.interval == 0:
                raise KernelRefusal("hashlimit: invalid interval (EINVAL)")
        elif self.mode & M_BYTES:
            if ((self.avg & U32) * BYTE_CREDIT_FACTOR) >> 32 == 0:
                raise KernelRefusal("hashlimit: overflow, rate too high (EINVAL)")
        elif self.burst == 0 or user2credits(self.avg * self.burst) < user2credits(self.avg):
            raise KernelRefusal(f"hashlimit: overflow, try lower: {self.avg}/{self.burst} (ERANGE)")

    rewrites: ClassVar[bool] = True

    def stored(self) -> Hashlimit:
        if self.size <= HTABLE_MAX_SIZE and self.max <= HTABLE_MAX_SIZE:
            return self
        return replace(self, size=min(self.size, HTABLE_MAX_SIZE), max=min(self.max, HTABLE_MAX_SIZE))

    def mt(self, pkt: Packet, par: Par) -> bool:
        from pynetfilter.netfilter.hashlimit import hashlimit_mt
        from pynetfilter.netfilter.traverse import packet_len

        return hashlimit_mt(self, pkt, par, packet_len(pkt) if self.mode & M_BYTES else 0)

    def _text(self, pre: str, rate_text: str, quantum: int) -> str:
        out = rate_text
        if self.mode & (M_SIP | M_SPT | M_DIP | M_DPT):
            out += f" {pre}mode" + fmt_mode(self.mode, "," if pre else "-")
        if pre:
            out += f" {pre}name {self.table_name}"
        if self.size:
            out += f" {pre}htable-size {self.size}"
        if self.max:
            out += f" {pre}htable-max {self.max}"
        if self.gc_interval != GCINTERVAL:
            out += f" {pre}htable-gcinterval {self.gc_interval}"
        if self.expire != quantum:
            out += f" {pre}htable-expire {self.expire}"
        if self.srcmask != 32:
            out += f" {pre}srcmask {self.srcmask}"
        if self.dstmask != 32:
            out += f" {pre}dstmask {self.dstmask}"
        if self.mode & M_RATE_MATCH:
            out += f" {pre}rate-match"
            if self.interval != 1:
                out += f" {pre}rate-interval {self.interval}"
        return out

    def save(self) -> str:
        out = " --hashlimit-above" if self.mode & M_INVERT else " --hashlimit-upto"
        if self.mode & M_BYTES:
            text, quantum = fmt_bytes(self.avg, self.burst, "--hashlimit-")
        else:
            text, quantum = fmt_rate(self.avg)
            text += f" --hashlimit-burst {self.burst}"
        return out + self._text("--hashlimit-", text, quantum)

    def exact_save(self) -> str | None:
        # --hashlimit-rate-interval without --hashlimit-rate-match is kept, and printed only with it.
        if self.mode & M_RATE_MATCH or not self.interval:
            return None
        return self.save() + f" --hashlimit-rate-interval {self.interval}"

    def describe(self, numeric: bool) -> str:
        out = " limit: above" if self.mode & M_INVERT else " limit: up to"
        if self.mode & M_BYTES:
            text, quantum = fmt_bytes(self.avg, self.burst, "")
        else:
            period = self.avg * self.interval if self.interval else self.avg
            text, quantum = fmt_rate(period & U64)
            text += f" burst {self.burst}"
        return out + self._text("", text, quantum)


EXTENSION = Hashlimit
