"""-m connlimit (xt_connlimit revision 1): number of connections per address group.

Evaluation follows nf_conncount: each rule keeps, per masked source (or
destination) address, a list of the connections it has seen (the tuple of
the packet's direction).  Each packet re-checks the list (at most 8 stale
entries removed per packet, and not at all twice in the same jiffy):
an entry whose connection is gone (expired, dying, or never confirmed
because its first packet was dropped) or is a TCP connection in TIME_WAIT or
CLOSE is removed; the packet's own connection is added once.  The count is
the list's length; the rule matches when it is above the limit (or, with
--connlimit-upto, not above).  One CPU is modelled: the kernel's grace for
an unconfirmed entry added by another CPU in the last jiffy does not apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.conntrack import ct_direction, ct_get, parse_plen_mask
from pynetfilter.ext.limit import jiffies
from pynetfilter.ext.types import parse_uint

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

F_INVERT, F_DADDR = 0x01, 0x02


GC_MAX_NODES = 8  # CONNCOUNT_GC_MAX_NODES
IPS_CONFIRMED, IPS_DYING = 1 << 3, 1 << 9
_TCP_CLOSED = ("TIME_WAIT", "CLOSE", 7, 8)  # TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_CLOSE


def _alive(conn: Any, now: float) -> bool:
    """Would nf_conntrack_find_get find this connection now?"""
    if conn is None or not conn.status & IPS_CONFIRMED or conn.status & IPS_DYING:
        return False
    return bool(conn.timeout > now)


def _closed(conn: Any) -> bool:
    return conn.orig.proto == 6 and conn.proto.get("state") in _TCP_CLOSED


def count_bits(mask: int) -> int:
    """libxt_connlimit's count_bits4: 32 minus the bit length of the inverted mask."""
    return 32 - ((~mask) & 0xFFFFFFFF).bit_length()


@dataclass(frozen=True, slots=True)
class Connlimit(Match):
    """struct xt_connlimit_info: ``--connlimit-upto`` is ``above`` with the invert flag."""

    name: ClassVar[str] = "connlimit"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("connlimit-upto", invert=True, excl=("connlimit-above",)),
        Opt("connlimit-above", invert=True, excl=("connlimit-upto",)),
        Opt("connlimit-mask"),
        Opt("connlimit-saddr", nargs=0, excl=("connlimit-daddr",)),
        Opt("connlimit-daddr", nargs=0, excl=("connlimit-saddr",)),
    )

    limit: int = 0
    mask: int = 0xFFFFFFFF
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connlimit:
        flags = 0
        limit = None
        mask = 0xFFFFFFFF
        for g in opts.items:
            n = g.opt.name
            if n in ("connlimit-upto", "connlimit-above"):
                limit = parse_uint(g.value, 0, 2**32 - 1, "a connection count", ext="connlimit", opt=n)
                upto = (n == "connlimit-upto") != g.inverted
                flags = flags | F_INVERT if upto else flags & ~F_INVERT
            elif n == "connlimit-mask":
                mask = parse_plen_mask(g.value, "--connlimit-mask")
            elif n == "connlimit-daddr":
                flags |= F_DADDR
            elif n == "connlimit-saddr":
                flags &= ~F_DADDR
        if limit is None:
            raise ParameterProblem('You must specify "--connlimit-above" or "--connlimit-upto".')
        return cls(limit, mask, flags)

    def mt(self, pkt: Packet, par: Par) -> bool:
        from pynetfilter.netfilter.conntrack.entry import Tuple

        ct, ctinfo = ct_get(pkt)
        if ct is not None:
            tup, zone = ct.tuple_of(ct_direction(ctinfo)), ct.zone
        else:
            l4 = pkt.l4
            sport, dport = (l4.sport, l4.dport) if hasattr(l4, "sport") else (0, 0)
            tup, zone = Tuple(pkt.saddr, pkt.daddr, pkt.proto, sport, dport), 0
        key = (pkt.daddr if self.flags & F_DADDR else pkt.saddr) & self.mask
        groups = par.rule_state(self).setdefault("groups", {})
        count = _add(groups.setdefault(key, {"conns": [], "last_gc": None}), tup, zone, ct, par.now)
        return (count > self.limit) != bool(self.flags & F_INVERT)

    def save(self) -> str:
        kind = "upto" if self.flags & F_INVERT else "above"
        addr = "daddr" if self.flags & F_DADDR else "saddr"
        return f" --connlimit-{kind} {self.limit} --connlimit-mask {count_bits(self.mask)} --connlimit-{addr}"

    def describe(self, numeric: bool) -> str:
        addr = "dst" if self.flags & F_DADDR else "src"
        op = "<=" if self.flags & F_INVERT else ">"
        return f" #conn {addr}/{count_bits(self.mask)} {op} {self.limit}"


def _add(group: dict[str, Any], tup: object, zone: int, ct: Any, now: float) -> int:
    """__nf_conncount_add: garbage-collect the group's list, add the connection once; the count."""
    conns: list[tuple[object, int, Any]] = group["conns"]
    j = jiffies(now) & 0xFFFFFFFF
    if group["last_gc"] != j:
        collect = 0
        for entry in list(conns):
            if collect > GC_MAX_NODES:
                break
            e_tup, e_zone, e_ct = entry
            if not _alive(e_ct, now):
                conns.remove(entry)
                collect += 1
                continue
            if e_tup == tup and e_zone == zone:
                return len(conns)  # already counted
            if _closed(e_ct):
                conns.remove(entry)
                collect += 1
    conns.append((tup, zone, ct))
    group["last_gc"] = j
    return len(conns)


EXTENSION = Connlimit
