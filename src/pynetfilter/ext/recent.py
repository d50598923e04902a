"""-m recent (xt_recent, revision 1): named lists of recently seen addresses.

Evaluation follows xt_recent.c: the lists live in ``engine.recent`` by name,
created with the mask of the first rule naming them; a list remembers at most
IP_LIST_TOT addresses (the least recently updated one is dropped for a new
one) and, per address, the last 2^k time stamps (k from the largest
--hitcount of the rules using the list, 32 without one).  Times are jiffies
(HZ=250).  --rttl compares the TTL the packet had before this host forwarded
it (a forwarded packet's TTL plus one, as the kernel counts it in FORWARD,
OUTPUT and POSTROUTING for packets without a local socket)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext._nat import inet_aton
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.limit import HZ, jiffies
from pynetfilter.ext.types import fmt_ipv4, parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SET, CHECK, UPDATE, REMOVE, TTL, REAP = 1, 2, 4, 8, 16, 32
SOURCE, DEST = 0, 1
NAME_LEN = 200  # XT_RECENT_NAME_LEN
MAX_NSTAMPS = 65536  # XT_RECENT_MAX_NSTAMPS
_OPS = {"set": SET, "rcheck": CHECK, "update": UPDATE, "remove": REMOVE}
_ANY_OP = tuple(_OPS)


IP_LIST_TOT = 100  # xt_recent's ip_list_tot module parameter (its default; /sys/module/xt_recent)
IP_PKT_LIST_TOT = 0  # ip_pkt_list_tot: 0 unless the module was loaded with it


@dataclass(slots=True)
class RecentEntry:
    ttl: int
    stamps: list[int]
    index: int = 1  # a u8: one past the newest stamp
    nstamps: int = 1


@dataclass(slots=True)
class RecentTable:
    """struct recent_table: entries by (masked) address, in LRU order (dict order)."""

    name: str
    mask: int
    nstamps_max_mask: int
    entries: dict[int, RecentEntry] = field(default_factory=dict)

    def update(self, addr: int, e: RecentEntry, now: int) -> None:
        """recent_entry_update: a new stamp in the ring; the entry becomes the newest."""
        e.index &= self.nstamps_max_mask
        if e.index < len(e.stamps):
            e.stamps[e.index] = now
        else:
            e.stamps.append(now)
        e.index += 1
        e.nstamps = max(e.nstamps, e.index)
        del self.entries[addr]
        self.entries[addr] = e


def _stamp_mask(hit_count: int) -> int:
    if IP_PKT_LIST_TOT and hit_count < IP_PKT_LIST_TOT:
        n = IP_PKT_LIST_TOT
    elif hit_count:
        n = hit_count
    else:
        return 31
    return (1 << (n - 1).bit_length()) - 1


def recent_table(engine: Any, match: Recent) -> RecentTable:
    """The list *match* names: made as recent_mt_check makes it when the rules are loaded."""
    t: RecentTable | None = engine.recent.get(match.list_name)
    if t is not None:
        return t
    first, masks = match, [_stamp_mask(match.hit_count)]
    ruleset = getattr(engine, "ruleset", None)
    found = False
    for table in ruleset.tables.values() if ruleset is not None else ():
        for chain in table.chains.values():
            for rule in chain.rules:
                for m in rule.matches:
                    if isinstance(m, Recent) and m.list_name == match.list_name:
                        first = m if not found else first
                        found = True
                        masks.append(_stamp_mask(m.hit_count))
    t = engine.recent[match.list_name] = RecentTable(match.list_name, first.mask, max(masks))
    return t


def _after(a: int, b: int) -> bool:
    """time_after(a, b)."""
    return a > b


def _d(v: int) -> int:
    """printf %d of a u32."""
    return v - 2**32 if v >= 2**31 else v


@dataclass(frozen=True, slots=True)
class Recent(Match):
    """struct xt_recent_mtinfo_v1."""

    name: ClassVar[str] = "recent"
    options: ClassVar[tuple[Opt, ...]] = (
        *(Opt(op, nargs=0, invert=True, excl=_ANY_OP) for op in _ANY_OP),
        Opt("seconds"),
        Opt("reap", nargs=0),
        Opt("hitcount"),
        Opt("rttl", nargs=0, excl=("set", "remove")),
        Opt("name"),
        Opt("rsource", nargs=0),
        Opt("rdest", nargs=0),
        Opt("mask"),
    )

    seconds: int = 0
    hit_count: int = 0
    check_set: int = 0
    invert: bool = False
    list_name: str = "DEFAULT"
    side: int = SOURCE
    mask: int = 0xFFFFFFFF

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Recent:
        seconds = hits = check_set = 0
        invert = False
        name, side, mask = "DEFAULT", SOURCE, 0xFFFFFFFF
        for g in opts.items:
            n = g.opt.name
            if n in _OPS:
                check_set |= _OPS[n]
                invert = invert or g.inverted
            elif n == "seconds":
                seconds = parse_uint(g.value, 1, 2**32 - 1, "seconds", ext="recent", opt="seconds")
            elif n == "hitcount":
                hits = parse_uint(g.value, 0, 2**32 - 1, "a hit count", ext="recent", opt="hitcount")
            elif n == "rttl":
                check_set |= TTL
            elif n == "reap":
                check_set |= REAP
            elif n == "name":
                name = g.value[: NAME_LEN - 1]
            elif n == "rsource":
                side = SOURCE
            elif n == "rdest":
                side = DEST
            elif n == "mask":
                m = inet_aton(g.value)
                if m is None:
                    raise ParameterProblem(f'bad value "{g.value}" for --mask: expected an IPv4 netmask')
                mask = m
        if "reap" in opts and "seconds" not in opts:
            raise ParameterProblem('recent: option "--reap" also requires "--seconds"')
        if not check_set & (SET | CHECK | UPDATE | REMOVE):
            raise ParameterProblem("recent: you must specify one of `--set', `--rcheck' `--update' "
                                   "or `--remove'")
        return cls(seconds, hits, check_set, invert, name, side, mask)

    def check(self, ctx: CheckContext) -> None:
        modifiers = self.seconds or self.hit_count or self.check_set & (TTL | REAP)
        if self.check_set & (SET | REMOVE) and modifiers:
            raise KernelRefusal("recent: --set/--remove take no --seconds/--hitcount/--rttl/--reap (EINVAL)")
        if self.hit_count >= MAX_NSTAMPS:
            raise KernelRefusal(f"recent: hitcount {self.hit_count} above {MAX_NSTAMPS - 1} (EINVAL)")
        n = self.list_name
        if not n or n in (".", "..") or "/" in n:
            raise KernelRefusal(f'recent: invalid list name "{n}" (EINVAL)')

    def mt(self, pkt: Packet, par: Par) -> bool:
        t = recent_table(par.engine, self)
        now = jiffies(par.now)
        addr = (pkt.daddr if self.side == DEST else pkt.saddr) & t.mask
        ttl = pkt.ttl
        if par.out_dev is not None and pkt.meta.iif is not None:
            ttl = (ttl + 1) & 0xFF  # the TTL before forwarding (no local socket)
        ret = self.invert
        cs = self.check_set
        e = t.entries.get(addr)
        if e is not None and cs & TTL and not (ttl == e.ttl or ttl == 0 or e.ttl == 0):
            e = None
        if e is None:
            if not cs & SET:
                return ret
            if len(t.entries) >= IP_LIST_TOT:
                del t.entries[next(iter(t.entries))]
            t.entries[addr] = RecentEntry(ttl, [now])
            return not ret
        if cs & SET:
            ret = not ret
        elif cs & REMOVE:
            del t.entries[addr]
            return not ret
        elif cs & (CHECK | UPDATE):
            limit = now - ((self.seconds * HZ) & 0xFFFFFFFF)
            hits = 0
            for stamp in e.stamps[: e.nstamps]:
                if self.seconds and _after(limit, stamp):
                    continue
                hits += 1
                if not self.hit_count or hits >= self.hit_count:
                    ret = not ret
                    break
            if cs & REAP:
                oldest_addr = next(iter(t.entries))
                oldest = t.entries[oldest_addr]
                # Never reap the entry this packet is about to update (kernel fix of 2022).
                keep = oldest is e and cs & UPDATE and ret
                if not keep and _after(limit, oldest.stamps[oldest.index - 1]):
                    del t.entries[oldest_addr]
        if cs & SET or (cs & UPDATE and ret):
            t.update(addr, e, now)
            e.ttl = ttl
        return ret

    def _ops(self, pre: str, words: tuple[str, ...]) -> str:
        out = ""
        for bit, word in zip((SET, CHECK, UPDATE, REMOVE), words, strict=True):
            if self.check_set & bit:
                out += f" {pre}{word}"
        return out

    def save(self) -> str:
        out = " !" if self.invert else ""
        out += self._ops("--", ("set", "rcheck", "update", "remove"))
        if self.seconds:
            out += f" --seconds {_d(self.seconds)}"
        if self.check_set & REAP:
            out += " --reap"
        if self.hit_count:
            out += f" --hitcount {_d(self.hit_count)}"
        if self.check_set & TTL:
            out += " --rttl"
        out += f" --name {self.list_name} --mask {fmt_ipv4(self.mask)}"
        return out + (" --rsource" if self.side == SOURCE else " --rdest")

    def exact_save(self) -> str | None:
        # libxt_recent prints both counts as signed ints: "--seconds -1" reads back as nothing.
        if self.seconds < 2**31 and self.hit_count < 2**31:
            return None
        out = self.save()
        if self.seconds:
            out = out.replace(f" --seconds {_d(self.seconds)}", f" --seconds {self.seconds}", 1)
        if self.hit_count:
            out = out.replace(f" --hitcount {_d(self.hit_count)}", f" --hitcount {self.hit_count}", 1)
        return out

    def describe(self, numeric: bool) -> str:
        out = (" !" if self.invert else "") + " recent:"
        out += self._ops("", ("SET", "CHECK", "UPDATE", "REMOVE"))
        if self.seconds:
            out += f" seconds: {_d(self.seconds)}"
        if self.check_set & REAP:
            out += " reap"
        if self.hit_count:
            out += f" hit_count: {_d(self.hit_count)}"
        if self.check_set & TTL:
            out += " TTL-Match"
        out += f" name: {self.list_name}"
        out += " side: source" if self.side == SOURCE else " side: dest"
        return out + f" mask: {fmt_ipv4(self.mask)}"


EXTENSION = Recent
