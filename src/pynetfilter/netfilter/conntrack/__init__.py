"""Connection tracking as the kernel does it (nf_conntrack_core.c: nf_conntrack_in, confirm).

Theory of operation.  :meth:`Conntrack.in_hook` runs at PREROUTING and OUTPUT (priority
-200).  A packet already carrying a connection (looped back, or a REJECT reply attached to
the one it answers) keeps it; NOTRACK gives IP_CT_UNTRACKED; a CT template (``-j CT
--zone``) gives the zone.  ICMP errors are looked at first (RELATED or INVALID, see
:mod:`.icmp`).  Otherwise the packet's tuple is looked up in the table: a hit in the
original direction is ESTABLISHED once a reply was seen (else NEW), a hit in the reply
direction is ESTABLISHED_REPLY, a miss makes a new unconfirmed entry (NEW) that lives on the
packet only.  The protocol tracker (:mod:`.tcp`, :mod:`.udp`, :mod:`.sctp`, :mod:`.icmp`, generic) then
validates the packet and renews the entry's timeout; a packet it rejects gets no connection
(INVALID, ``ct=None``; the reason is counted in :attr:`Conntrack.invalid`).  TCP may ask for
a closed connection to be reopened: the old entry is deleted and the lookup repeated.
SEEN_REPLY is set after the tracker ran on the first reply.  :meth:`confirm` at the end of
INPUT and POSTROUTING inserts the new entry into the table (the expiry becomes absolute on
the engine clock then); a tuple already used makes the kernel drop the packet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from pynetfilter.netfilter.conntrack import icmp, sctp, tcp, udp
from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_ORIGINAL,
    IP_CT_DIR_REPLY,
    IP_CT_ESTABLISHED,
    IP_CT_ESTABLISHED_REPLY,
    IP_CT_NEW,
    IP_CT_RELATED,
    IP_CT_UNTRACKED,
    IPS_CONFIRMED,
    IPS_DYING,
    IPS_EXPECTED,
    IPS_FIXED_TIMEOUT,
    IPS_SEEN_REPLY,
    NF_CT_DEFAULT_ZONE_DIR,
    NF_CT_FLAG_MARK,
    NF_CT_ZONE_DIR_ORIG,
    NF_CT_ZONE_DIR_REPL,
    Conn,
    Tuple,
    _new_tuple,
)
from pynetfilter.netfilter.conntrack.listing import listing as _listing
from pynetfilter.netfilter.conntrack.table import (
    CHAINTOOLONG,
    DEFAULT_ZONE,
    NF_CONNTRACK_BUCKETS,
    NF_CONNTRACK_MAX,
    OK,
    Table,
    Zone,
)
from pynetfilter.netfilter.par import Event
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP
from pynetfilter.packet.model import IP_OFFSET, IPPROTO_ICMP, Packet, Tcp, Udp
from pynetfilter.packet.wire import length

__all__ = ["Conntrack", "Zone", "DEFAULT_ZONE", "STAT_NAMES", "TABLE_FULL"]

# What ``conntrack -S`` prints per CPU, in CTA_STATS order (conntrack-tools 1.4.7 on 6.18).
STAT_NAMES = ("found", "invalid", "insert", "insert_failed", "drop", "early_drop", "error", "search_restart",
              "clash_resolve", "chaintoolong")
TABLE_FULL = "nf_conntrack: table full, dropping packet"  # __nf_conntrack_alloc's warning
_FULL = -1  # _resolve's ctinfo when no entry could be allocated

Tracker = Callable[["Conntrack", Conn, Packet, int, float], tuple[int, str]]
_TRACKERS: dict[int, Tracker] = {6: tcp.packet, 17: udp.packet, 136: udp.packet, IPPROTO_ICMP: icmp.packet,
                                  icmp.IPPROTO_GRE: icmp.gre_packet, sctp.IPPROTO_SCTP: sctp.packet}


# skb->len: the IP datagram's length (the accounting unit).
packet_length = length


class Conntrack:
    """The connection tracking table of one network namespace and its hooks."""

    def __init__(self, engine: Any = None, *, acct: bool | None = None, max_entries: int = NF_CONNTRACK_MAX,
                 buckets: int = NF_CONNTRACK_BUCKETS) -> None:
        self.engine = engine
        self.stats: Counter[str] = Counter()  # conntrack -S's names (STAT_NAMES)
        self.table = Table(self._destroyed, max_entries=max_entries, buckets=buckets, stats=self.stats)
        self.next_id = 1
        # nf_conntrack_acct: off by default; connbytes forces it on (xt_connbytes checkentry).
        self.acct = _ruleset_uses(engine, "connbytes") if acct is None else acct
        self.invalid: Counter[str] = Counter()  # why packets were INVALID

    # --- settings (net.netfilter.nf_conntrack_max, nf_conntrack_buckets) ----------------------

    @property
    def nf_conntrack_max(self) -> int:
        return self.table.max

    @nf_conntrack_max.setter
    def nf_conntrack_max(self, value: int) -> None:
        self.table.max = value  # lowering it evicts nothing, as in the kernel

    @property
    def nf_conntrack_buckets(self) -> int:
        return self.table.buckets

    @nf_conntrack_buckets.setter
    def nf_conntrack_buckets(self, value: int) -> None:
        self.table.resize(value)

    # --- the hooks --------------------------------------------------------------------

    def in_hook(self, pkt: Packet, st: Any) -> int:
        """nf_conntrack_in: attach (conn, ctinfo) to the packet."""
        meta = pkt.meta
        tmpl: Any = meta.ct
        if tmpl is not None:
            if not tmpl.is_template:
                return NF_ACCEPT  # already tracked
            meta.ct = None
        elif meta.untracked or meta.ctinfo == IP_CT_UNTRACKED:
            meta.ctinfo = IP_CT_UNTRACKED
            return NF_ACCEPT
        else:
            tmpl = meta.ct_template  # -j CT's template (pynetfilter.ext.CT.Ct)
        meta.ct_template = None
        meta.ctinfo = IP_CT_ESTABLISHED
        now = st.now
        zone = DEFAULT_ZONE if tmpl is None else self._zone(tmpl, pkt)
        if pkt.frag_off & IP_OFFSET:  # a later fragment
            return self._invalid(pkt, st, "fragment")
        proto = pkt.proto
        if proto == IPPROTO_ICMP:
            ret, conn, ctinfo, why = icmp.error(self, pkt, zone, now)
            if ret != NF_ACCEPT:
                # nf_conntrack_handle_icmp counts error; nf_conntrack_in then returns at once
                return self._invalid(pkt, st, why, stat="error")
            if conn is not None:
                meta.ct, meta.ctinfo = conn, ctinfo
                return NF_ACCEPT
        l4 = pkt.l4
        cls = l4.__class__
        if (cls is Tcp or cls is Udp) and proto in icmp.PORT_PROTOS:
            t = _new_tuple(Tuple, (pkt.saddr, pkt.daddr, proto, l4.sport, l4.dport))  # icmp.pkt_tuple's
        else:
            t = icmp.pkt_tuple(pkt)
            if t is None:
                return self._invalid(pkt, st, "failed to get tuple")
        tracker = _TRACKERS.get(proto, icmp.generic_packet)
        find = self.table.find
        while True:
            hit = find(t, zone, now)
            if hit is not None:  # _resolve's hit, written out: every packet of a connection
                conn, direction = hit
                if direction == IP_CT_DIR_REPLY:
                    ctinfo = IP_CT_ESTABLISHED_REPLY
                elif conn.status & IPS_SEEN_REPLY:
                    ctinfo = IP_CT_ESTABLISHED
                else:
                    ctinfo = IP_CT_RELATED if conn.status & IPS_EXPECTED else IP_CT_NEW
            else:
                conn, ctinfo = self._resolve_miss(t, zone, tmpl, now)  # type: ignore[assignment]
                if conn is None:
                    if ctinfo == _FULL:
                        return self._table_full(pkt, st)
                    return self._invalid(pkt, st, "tuple cannot be inverted")
            ret, why = tracker(self, conn, pkt, ctinfo, now)
            if ret == tcp.REPEAT:
                continue
            break
        if ret != NF_ACCEPT:
            return self._invalid(pkt, st, why)
        if why and st is not None and getattr(st, "trace", False):
            st.events.append(Event("note", f"conntrack: {why}"))
        if ctinfo == IP_CT_ESTABLISHED_REPLY:
            conn.status |= IPS_SEEN_REPLY
        meta.ct, meta.ctinfo = conn, ctinfo
        return NF_ACCEPT

    def confirm(self, pkt: Packet, st: Any) -> int:
        """nf_conntrack_confirm: a new connection's first packet leaves: insert the entry."""
        conn = pkt.meta.ct
        if conn is None or conn.status & IPS_CONFIRMED:
            return NF_ACCEPT
        if pkt.meta.ctinfo >= IP_CT_ESTABLISHED_REPLY:  # only the original direction confirms
            return NF_ACCEPT
        now = st.now
        conn.timeout += now  # relative until now: timeouts count from confirmation
        conn.status |= IPS_CONFIRMED
        why = "dying" if conn.status & IPS_DYING else self.table.try_insert(conn, now)
        if why == OK:
            return NF_ACCEPT  # 6.x counts no "insert" here (only ctnetlink's insertions)
        self.stats["insert_failed"] += 1
        if why == CHAINTOOLONG:
            self.stats["chaintoolong"] += 1
        elif why != "dying":
            self.stats["drop"] += 1  # nf_ct_resolve_clash gave up (no clash resolution modelled)
        pkt.meta.ct = None
        self._destroyed(conn)  # the loser is freed with its packet: NAT forgets its binding
        return NF_DROP

    # --- what trackers call -----------------------------------------------------------

    def refresh(self, conn: Conn, ctinfo: int, pkt: Packet, timeout: float, now: float) -> None:
        """nf_ct_refresh_acct: renew the timeout (relative while unconfirmed) and count the packet."""
        if not conn.status & IPS_FIXED_TIMEOUT:
            conn.timeout = now + timeout if conn.status & IPS_CONFIRMED else timeout
        conn.account(IP_CT_DIR_ORIGINAL if ctinfo < IP_CT_ESTABLISHED_REPLY else IP_CT_DIR_REPLY,
                     length(pkt))  # (account's, written out)

    def account(self, conn: Conn, ctinfo: int, pkt: Packet) -> None:
        conn.account(IP_CT_DIR_ORIGINAL if ctinfo < IP_CT_ESTABLISHED_REPLY else IP_CT_DIR_REPLY,
                     packet_length(pkt))

    def kill(self, conn: Conn) -> None:
        """nf_ct_kill: the entry goes now (an unconfirmed one can no longer be confirmed)."""
        conn.status |= IPS_DYING
        self.table.remove(conn)

    def count(self, stat: str) -> None:
        self.stats[stat] += 1

    def _destroyed(self, conn: Conn) -> None:
        """nf_ct_destroy's callbacks: NAT forgets the connection's source binding."""
        conn.status |= IPS_DYING
        forget = getattr(getattr(self.engine, "nat", None), "forget", None)
        if forget is not None:
            forget(conn)

    # --- queries ---------------------------------------------------------------------

    def find(self, t: Tuple, zone: Zone = DEFAULT_ZONE, now: float | None = None) -> tuple[Conn, int] | None:
        """The live entry with tuple *t* in *zone* and the direction *t* is, or None."""
        return self.table.find(t, zone, now)

    def lookup(self, t: Tuple, zone: int | Zone = 0, now: float | None = None) -> Conn | None:
        """The live entry with tuple *t* (either direction) in *zone*, or None."""
        hit = self.table.find(t, zone if isinstance(zone, Zone) else Zone(zone), now)
        return hit[0] if hit else None

    def tuple_taken(self, t: Tuple, ignored: Conn, now: float | None = None,
                    zone: Zone | None = None) -> bool:
        """nf_conntrack_tuple_taken (for NAT's unique tuple choice): a live entry other than
        *ignored* uses tuple *t*, and is not the same flow (an identical original tuple: two
        packets of one socket racing, which confirm resolves).  Counts ``found``."""
        table = self.table
        if ignored.zone_dir == NF_CT_DEFAULT_ZONE_DIR:
            other = table.peek(t, ignored.zone)  # one bucket probe, as the kernel's
            if other is None:
                return False
            if now is not None and other.timeout <= now:
                table.remove(other)  # nf_ct_gc_expired
                return False
        else:
            hit = table.find(t, zone or Zone(ignored.zone, ignored.zone_dir), now)
            if hit is None:
                return False
            other = hit[0]
        if other is ignored or (other.orig == ignored.orig and other.zone == ignored.zone):
            return False
        self.stats["found"] += 1
        return True

    def entries(self, now: float | None = None) -> list[Conn]:
        """Live confirmed entries, oldest (smallest id) first (the kernel dumps in hash order)."""
        if now is not None:
            self.table.expire(now)
        return sorted(self.table, key=_by_id)

    def listing(self, now: float, *, extended: bool = False) -> str:
        """``conntrack -L`` output at time *now*."""
        return _listing(self.entries(now), now, extended=extended, acct=self.acct)

    def statistics(self) -> str:
        """``conntrack -S`` output: one engine, so one CPU line (the kernel prints one per CPU;
        their sums are what compares)."""
        return "cpu=0   \t" + "".join(f"{name}={self.stats[name]} " for name in STAT_NAMES) + "\n"

    def add(self, conn: Conn) -> None:
        """Insert a confirmed entry as it is (a loaded state, or ctnetlink's create); ids stay unique."""
        conn.status |= IPS_CONFIRMED
        if self.table.insert(conn, float("-inf")):
            self.stats["insert"] += 1  # nf_conntrack_hash_check_insert counts
        self.next_id = max(self.next_id, conn.id + 1)

    # --- internals -------------------------------------------------------------------

    def _zone(self, tmpl: Any, pkt: Packet) -> Zone:
        """nf_ct_zone_tmpl: the template's zone, or the mark's low 16 bits for CT --zone mark."""
        if tmpl is None:
            return DEFAULT_ZONE
        if isinstance(tmpl, Conn):
            zid = pkt.meta.mark & 0xFFFF if tmpl.zone_flags & NF_CT_FLAG_MARK else tmpl.zone
            return Zone(zid, tmpl.zone_dir)
        # xt_CT: --zone-orig/--zone-reply restrict the zone to one direction, else both.
        zdir = (NF_CT_ZONE_DIR_ORIG if tmpl.flags & 0x4 else 0) | (
            NF_CT_ZONE_DIR_REPL if tmpl.flags & 0x8 else 0)
        return Zone(tmpl.zone_for(pkt), zdir or NF_CT_DEFAULT_ZONE_DIR)

    def _resolve(self, t: Tuple, zone: Zone, tmpl: Conn | None, pkt: Packet,
                 now: float) -> tuple[Conn | None, int]:
        """resolve_normal_ct: the entry and ctinfo for tuple *t*, a new unconfirmed one on a miss."""
        hit = self.table.find(t, zone, now)
        if hit is None:
            return self._resolve_miss(t, zone, tmpl, now)
        conn, direction = hit
        if direction == IP_CT_DIR_REPLY:
            return conn, IP_CT_ESTABLISHED_REPLY
        if conn.status & IPS_SEEN_REPLY:
            return conn, IP_CT_ESTABLISHED
        return conn, IP_CT_RELATED if conn.status & IPS_EXPECTED else IP_CT_NEW

    def _resolve_miss(self, t: Tuple, zone: Zone, tmpl: Conn | None, now: float) -> tuple[Conn | None, int]:
        """_resolve when no entry has tuple *t*: a new unconfirmed one (None if none can be made)."""
        reply = icmp.invert(t)
        if reply is None:
            return None, 0
        table = self.table
        if table.full() and not self._make_room(t, zone, now):
            return None, _FULL
        conn = Conn(t, reply, zone=zone.id, zone_dir=zone.dir, id=self.next_id)
        if tmpl is not None:
            conn.helper = tmpl.helper or None
        self.next_id += 1
        return conn, IP_CT_NEW

    def _make_room(self, t: Tuple, zone: Zone, now: float) -> bool:
        """__nf_conntrack_alloc on a full table: the garbage collector's pass (if due), then
        early_drop near the new tuple's bucket; False when the table stays full."""
        table = self.table
        if now >= table.next_gc:
            table.gc(now)
            if not table.full():
                return True
        if table.early_drop(t, zone.id_for(IP_CT_DIR_ORIGINAL), now):
            return True
        table.gc_early_drop = True  # the next garbage collection evicts what may go early
        return False

    def _table_full(self, pkt: Packet, st: Any) -> int:
        pkt.meta.ct, pkt.meta.ctinfo = None, IP_CT_ESTABLISHED
        self.stats["drop"] += 1
        if st is not None:
            st.events.append(Event("note", TABLE_FULL))
        return NF_DROP

    def _invalid(self, pkt: Packet, st: Any, why: str, stat: str = "invalid") -> int:
        pkt.meta.ct, pkt.meta.ctinfo = None, IP_CT_ESTABLISHED
        self.stats[stat] += 1
        self.invalid[why] += 1
        if st is not None and getattr(st, "trace", False):
            st.events.append(Event("note", f"conntrack: INVALID: {why}"))
        return NF_ACCEPT


def _by_id(conn: Conn) -> int:
    return conn.id


def _ruleset_uses(engine: Any, name: str) -> bool:
    rs = getattr(engine, "ruleset", None)
    if rs is None:
        return False
    for table in rs.tables.values():
        for chain in table.chains.values():
            for r in chain.rules:
                if any(getattr(m, "name", "") == name for m in r.matches):
                    return True
    return False
