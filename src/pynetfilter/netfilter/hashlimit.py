"""hashlimit's named hash tables: one token bucket per flow key (xt_hashlimit.c, revision 3).

Theory of operation.  The kernel creates a table when the first rule naming
it is loaded, with *that rule's* configuration (mode, masks, rate, burst,
expiry); later rules with the same name share the table and its buckets even
if their options differ.  :func:`table_for` reproduces that by taking the
first rule in the ruleset that names the table.  Entries are keyed by the
masked addresses and ports the table's mode selects; each holds a bucket in
the kernel's units (u64 credits, CREDITS_PER_JIFFY = 2^39 per jiffy at
HZ=250; byte mode and rate-match mode have their own arithmetic).  An entry
unused for ``expire`` ms is removed by the garbage collector, which runs
every ``gc_interval`` ms after the table was created; until then an expired
entry is still found and reused, as in the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.ext.limit import HZ, jiffies

if TYPE_CHECKING:
    from pynetfilter.ext.hashlimit import Hashlimit

U32, U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
SCALE_V2 = 1000000  # XT_HASHLIMIT_SCALE_v2
CPJ = 2**39  # POW2_BELOW64(U64 / (HZ * 86400)) at HZ=250
CPJ_BYTES = 2**24  # POW2_BELOW32(U32 / HZ) at HZ=250
BYTE_SHIFT = 4
M_SIP, M_DIP, M_SPT, M_DPT, M_INVERT, M_BYTES, M_RATE_MATCH = 1, 2, 4, 8, 0x10, 0x20, 0x40
# htable_create without --hashlimit-htable-size: 8192 buckets on any machine with more than 1 GiB.
DEFAULT_SIZE = 8192
# proto_ports_offset(): where the two ports are for protocols that have them.
_PORTS_AT = {6: 0, 17: 0, 33: 0, 50: 0, 132: 0, 136: 0, 51: 4}


def msecs_to_jiffies(ms: int) -> int:
    return -(-ms * HZ // 1000)  # rounded up, as the kernel does for HZ dividing 1000


def user2credits(user: int) -> int:
    return ((user & U64) * (HZ * CPJ // SCALE_V2)) & U64


def user2credits_byte(user: int) -> int:
    return ((user & U32) * HZ * CPJ_BYTES) >> 32


@dataclass(slots=True)
class Entry:
    expires: int
    prev: int
    credit: int = 0
    credit_cap: int = 0
    cost: int = 0
    # rate-match mode
    interval: int = 0
    prev_window: int = 0
    current_rate: int = 0
    rate: int = 0
    burst: int = 0


@dataclass(slots=True)
class Htable:
    name: str
    cfg: Hashlimit
    created: int  # jiffies
    size: int
    max: int
    next_gc: int
    entries: dict[tuple[int, int, int, int], Entry] = field(default_factory=dict)

    def gc(self, now: int) -> None:
        """Run the garbage-collector passes that were due by *now*."""
        step = max(1, msecs_to_jiffies(self.cfg.gc_interval))
        while self.next_gc <= now:
            t = self.next_gc
            for key in [k for k, e in self.entries.items() if t - e.expires >= 0]:
                del self.entries[key]
            self.next_gc += step

    def key(self, pkt: Any) -> tuple[int, int, int, int]:
        """hashlimit_init_dst: masked addresses and the ports the mode selects."""
        mode = self.cfg.mode
        src = _maskl(pkt.saddr, self.cfg.srcmask) if mode & M_SIP else 0
        dst = _maskl(pkt.daddr, self.cfg.dstmask) if mode & M_DIP else 0
        sport = dport = 0
        if mode & (M_SPT | M_DPT):
            sport, dport = _ports(pkt)
        return (src, dst, sport if mode & M_SPT else 0, dport if mode & M_DPT else 0)

    def init(self, e: Entry) -> None:
        """rateinfo_init, from the table's configuration."""
        c = self.cfg
        if c.mode & M_RATE_MATCH:
            if c.mode & M_BYTES:
                r = U32 // (c.avg & U32) if c.avg & U32 else U32
                e.rate = ((r - 1) << BYTE_SHIFT) & U64
                e.burst = c.burst * e.rate if c.burst else e.rate
            else:
                e.rate = SCALE_V2 // c.avg if c.avg else 0
                e.burst = c.burst + e.rate
            e.interval = c.interval
        elif c.mode & M_BYTES:
            e.credit = CPJ_BYTES * HZ
            e.cost = user2credits_byte(c.avg)
            e.credit_cap = c.burst
        else:
            e.credit = user2credits(c.avg * c.burst)
            e.cost = user2credits(c.avg)
            e.credit_cap = e.credit

    def recalc(self, e: Entry, now: int) -> None:
        """rateinfo_recalc: refill the bucket for the jiffies since the last packet."""
        delta = (now - e.prev) & U64
        if delta == 0:
            return
        mode = self.cfg.mode
        if mode & M_RATE_MATCH:
            interval = e.interval * HZ
            if delta < interval:
                return
            e.prev = now
            e.prev_window = int(e.current_rate * interval > delta * e.rate)
            e.current_rate = 0
            return
        e.prev = now
        if mode & M_BYTES:
            old = e.credit
            e.credit = (e.credit + CPJ_BYTES * delta) & U64
            cap = CPJ_BYTES * HZ
            if old >= e.credit:  # overflow
                e.credit = cap
                return
        else:
            e.credit = (e.credit + delta * CPJ) & U64
            cap = e.credit_cap
        e.credit = min(e.credit, cap)


def _maskl(addr: int, plen: int) -> int:
    return addr & (U32 << (32 - plen)) & U32 if plen else 0


def _ports(pkt: Any) -> tuple[int, int]:
    at = _PORTS_AT.get(pkt.proto)
    if at is None:
        return 0, 0
    l4 = pkt.l4
    if l4 is not None and at == 0 and hasattr(l4, "sport"):
        return l4.sport, l4.dport
    # A later fragment (or AH): the bytes where the ports would be.
    data = pkt.payload[at:at + 4]
    if len(data) < 4:
        return 0, 0
    return int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")


def table_for(engine: Any, match: Hashlimit, now: float) -> Htable:
    """The table *match* names, created from the first rule that names it (checkentry order)."""
    t: Htable | None = engine.hashlimit.get(match.table_name)
    if t is not None:
        return t
    cfg = _first_config(engine, match)
    size = cfg.size or DEFAULT_SIZE
    hmax = cfg.max or 8 * size
    hmax = max(hmax, size)
    j = jiffies(now)
    t = Htable(match.table_name, cfg, j, size, hmax, j + max(1, msecs_to_jiffies(cfg.gc_interval)))
    engine.hashlimit[match.table_name] = t
    return t


def _first_config(engine: Any, match: Hashlimit) -> Hashlimit:
    from pynetfilter.ext.hashlimit import Hashlimit

    ruleset = getattr(engine, "ruleset", None)
    if ruleset is not None:
        for table in ruleset.tables.values():
            for chain in table.chains.values():
                for rule in chain.rules:
                    for m in rule.matches:
                        if isinstance(m, Hashlimit) and m.table_name == match.table_name:
                            return m
    return match


def hashlimit_mt(match: Hashlimit, pkt: Any, par: Any, length: int) -> bool:
    """hashlimit_mt_common for one packet of *length* bytes."""
    now = jiffies(par.now)
    t = table_for(par.engine, match, par.now)
    t.gc(now)
    key = t.key(pkt)
    e = t.entries.get(key)
    expires = now + msecs_to_jiffies(t.cfg.expire)
    if e is None:
        if len(t.entries) >= t.max:
            par.hotdrop = True  # "max count reached": the kernel drops the packet
            return False
        e = t.entries[key] = Entry(expires, now)
        t.init(e)
    else:
        e.expires = expires
        t.recalc(e, now)
    mode = match.mode
    under = bool(mode & M_INVERT) is False
    if mode & M_RATE_MATCH:
        e.current_rate += length if mode & M_BYTES else 1
        if not e.prev_window and e.current_rate <= e.burst:
            return under
        return not under
    if mode & M_BYTES:
        cost = ((length >> BYTE_SHIFT) + 1) * e.cost
        cost = min(cost, CPJ_BYTES * HZ)
        if e.credit < cost and e.credit_cap:
            e.credit_cap -= 1
            e.credit = CPJ_BYTES * HZ
        cost &= U32
    else:
        cost = e.cost
    if e.credit >= cost:
        e.credit -= cost
        return under
    return not under
