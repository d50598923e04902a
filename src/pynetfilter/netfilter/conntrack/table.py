"""The conntrack hash table: confirmed entries by (tuple, zone id), in both directions, bounded.

Theory of operation.  Each confirmed :class:`Conn` is found under its original tuple and
under its reply tuple (the kernel's two tuplehash nodes), each keyed with the zone id that
applies in that direction; a lookup says which direction matched.  Entries expire on the
engine clock: an expired entry is never found and is removed when met (the kernel's lookup
and garbage collector do the same), so no timers run.  Unconfirmed entries live on their
packet only, as in the kernel, until confirm inserts them.

The table is as bounded as the kernel's (nf_conntrack_core.c, 6.x):

* lookups go through a dict from tuple (zone 0) or (tuple, zone id) to the entry, so their
  cost does not depend on how full the table is; beside it sit the kernel's ``buckets`` hash
  chains (``nf_conntrack_buckets``), each entry in the chain of its original tuple and in that
  of its reply tuple, which only the bounded paths below walk;
* a new connection while ``max`` (``nf_conntrack_max``) entries exist tries
  :meth:`early_drop`: the new tuple's bucket and the next ones, NF_CT_EVICTION_RANGE (8) in
  all, evicting every live entry that is not ASSURED in the first bucket holding any; none
  there, the packet is dropped ("nf_conntrack: table full, dropping packet") and the garbage
  collector's next pass also evicts entries that may go early (gc_worker_can_early_drop) while
  the table is above 95 %;
* the garbage collector (gc_worker) runs no timer here: a full table runs one pass, at most
  once per GC_SCAN_INTERVAL_MIN (1 s) of engine time, before it tries early drop, so expired
  entries never keep a new connection out for longer than that;
* confirm refuses an entry whose chain already holds more than the kernel's chain limit
  (chaintoolong: the kernel draws the limit from [50, 80) per insertion; we take the middle).

The kernel's hash is siphash keyed at boot; ours is Python's tuple hash (stable for integers,
so runs repeat) mixed with :attr:`Table.hash_rnd`, scaled to the bucket count as
reciprocal_scale does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_ORIGINAL,
    IP_CT_DIR_REPLY,
    IPS_ASSURED,
    IPS_DYING,
    NF_CT_DEFAULT_ZONE_DIR,
    NF_CT_ZONE_DIR_ORIG,
    NF_CT_ZONE_DIR_REPL,
    Conn,
    Tuple,
)

# The kernel sizes both from RAM (nf_conntrack_init_start): a 64-bit host with more than 4 GiB
# gets 262,144 buckets and nf_conntrack_max = the bucket count, as /proc/sys/net/netfilter/
# nf_conntrack_{max,buckets} read on the reference host (6.18).  The engine does no I/O, so
# they are constants here and settings of the table.
NF_CONNTRACK_MAX = 262144
NF_CONNTRACK_BUCKETS = 262144
NF_CT_EVICTION_RANGE = 8
MIN_CHAINLEN, MAX_CHAINLEN = 50, 30  # the chain limit is MIN_CHAINLEN + random below MAX_CHAINLEN
CHAINLEN_LIMIT = MIN_CHAINLEN + MAX_CHAINLEN // 2
GC_SCAN_INTERVAL_MIN = 1.0  # seconds
_M32 = 0xFFFFFFFF
OK, CLASH, CHAINTOOLONG = "", "clash", "chaintoolong"  # what try_insert says


class Zone(NamedTuple):
    """struct nf_conntrack_zone: an id and the directions it applies to."""

    id: int = 0
    dir: int = NF_CT_DEFAULT_ZONE_DIR

    def id_for(self, direction: int) -> int:
        return self.id if self.dir & (1 << direction) else 0


DEFAULT_ZONE = Zone()


_ZONE_MIX = 0x9E3779B1  # spreads a zone id over the hash (the kernel keys siphash with it)


def _key(t: Tuple, zid: int) -> Any:
    """The index key of tuple *t* keyed with zone id *zid*: the tuple itself in zone 0 (no key
    object per entry in the common case), else (tuple, zone id)."""
    return t if zid == 0 else (t, zid)


class Table:
    def __init__(self, on_remove: Callable[[Conn], None] | None = None, *,
                 max_entries: int = NF_CONNTRACK_MAX, buckets: int = NF_CONNTRACK_BUCKETS,
                 stats: Counter[str] | None = None) -> None:
        # The index: key -> entry, each entry under both of its tuples (oldest first).
        self._hash: dict[Any, Conn] = {}
        # The kernel's chains, for what walks them (early drop, the chain limit): bucket -> None,
        # the one entry with a tuple there, or a list of them (oldest first; an entry with both
        # tuples there is in it twice).  Allocated with the first entry: 8 bytes a bucket.
        self._heads: list[Any] = []
        self._count = 0
        self.max = max_entries  # nf_conntrack_max (0: no limit, as the kernel)
        self.buckets = buckets  # nf_conntrack_buckets
        self.hash_rnd = 0  # nf_conntrack_hash_rnd
        self.on_remove = on_remove  # destroy callbacks (NAT's bysource table)
        self.stats: Counter[str] = Counter() if stats is None else stats
        self.gc_early_drop = False  # conntrack_gc_work.early_drop: the table was found full
        self.next_gc = float("-inf")

    def __len__(self) -> int:
        return self._count

    def __contains__(self, conn: object) -> bool:
        if not isinstance(conn, Conn):
            return False
        return self._hash.get(_key(conn.orig, conn.zone_id(IP_CT_DIR_ORIGINAL))) is conn

    def __iter__(self) -> Iterator[Conn]:
        """Every entry once, oldest first (a snapshot: the caller may remove while iterating).
        An entry's original-tuple key is its own ``orig`` object, which tells it from its reply's."""
        return iter([c for k, c in self._hash.items() if (k if type(k) is not tuple else k[0]) is c.orig])

    # --- lookups ---------------------------------------------------------------------

    def bucket(self, t: Tuple, zid: int = 0) -> int:
        """hash_conntrack: the bucket of tuple *t* keyed with zone id *zid* (reciprocal_scale)."""
        return (((hash(t) ^ zid * _ZONE_MIX ^ self.hash_rnd) & _M32) * self.buckets) >> 32

    def node(self, t: Tuple, zid: int = 0) -> tuple[Conn, int] | None:
        """____nf_conntrack_find without the expiry check: (entry, direction) of the tuple keyed
        (t, zid).  The hot path of every packet and of NAT's port search: one dict probe, so its
        cost does not depend on how full the table is.  Where both tuples of an entry are equal
        the reply answers (the kernel adds that node last, so it is first in the chain)."""
        conn = self._hash.get(t if zid == 0 else (t, zid))
        if conn is None:
            return None
        if conn.reply == t and (conn.zone if conn.zone_dir & NF_CT_ZONE_DIR_REPL else 0) == zid:
            return conn, IP_CT_DIR_REPLY
        return conn, IP_CT_DIR_ORIGINAL

    def peek(self, t: Tuple, zid: int = 0) -> Conn | None:
        """One index probe: the entry (live or not) with a tuple keyed (t, zid), or None."""
        return self._hash.get(t if zid == 0 else (t, zid))

    def find(self, t: Tuple, zone: Zone = DEFAULT_ZONE, now: float | None = None) -> tuple[Conn, int] | None:
        """(conn, direction) of the live entry with tuple *t* in *zone*, or None."""
        zid, zdir = zone.id, zone.dir
        zo = zid if zdir & NF_CT_ZONE_DIR_ORIG else 0
        zr = zid if zdir & NF_CT_ZONE_DIR_REPL else 0
        hit = self.node(t, zo)
        if zo == zr:  # one zone id for both directions (every packet of the default zone)
            if hit is not None and now is not None and hit[0].timeout <= now:
                self.remove(hit[0])
                return None
            return hit
        if hit is not None and hit[1] != IP_CT_DIR_ORIGINAL and zr != zo:
            hit = None  # a reply tuple under the original direction's zone id: not this zone's
        if hit is None and zr != zo:
            hit = self.node(t, zr)
            if hit is not None and hit[1] != IP_CT_DIR_REPLY:
                hit = None
        if hit is None:
            return None
        if now is not None and hit[0].timeout <= now:
            self.remove(hit[0])
            return None
        return hit

    def taken(self, t: Tuple, zone: Zone, ignored: Conn | None = None, now: float | None = None) -> bool:
        """Does a live entry other than *ignored* use tuple *t*?"""
        hit = self.find(t, zone, now)
        return hit is not None and hit[0] is not ignored

    # --- insertion and removal ---------------------------------------------------------

    def insert(self, conn: Conn, now: float) -> bool:
        """Insert a confirmed entry; False (nothing inserted) if a live entry uses either tuple."""
        return self.try_insert(conn, now) == OK

    def try_insert(self, conn: Conn, now: float) -> str:
        """__nf_conntrack_confirm's insertion: OK, CLASH (a live entry uses a tuple) or
        CHAINTOOLONG (a chain already holds more than the limit); nothing inserted unless OK."""
        index = self._hash
        # (zone_id and _key written out: every new connection comes here)
        zone, zdir, orig, reply = conn.zone, conn.zone_dir, conn.orig, conn.reply
        zo = zone if zdir & NF_CT_ZONE_DIR_ORIG else 0
        zr = zone if zdir & NF_CT_ZONE_DIR_REPL else 0
        k_orig = orig if zo == 0 else (orig, zo)
        k_repl = reply if zr == 0 else (reply, zr)
        for key in (k_orig, k_repl):
            old = index.get(key)
            if old is not None and old.timeout <= now:
                self.remove(old)
        if k_orig in index or k_repl in index:
            return CLASH
        if not self._heads:
            self._heads = [None] * self.buckets
        heads = self._heads
        # bucket(), written out
        rnd, nb = self.hash_rnd, self.buckets
        where = ((((hash(orig) ^ zo * _ZONE_MIX ^ rnd) & _M32) * nb) >> 32,
                 (((hash(reply) ^ zr * _ZONE_MIX ^ rnd) & _M32) * nb) >> 32)
        for b in where:
            slot = heads[b]
            if type(slot) is list and len(slot) > CHAINLEN_LIMIT + 1:
                return CHAINTOOLONG
        index[k_orig] = conn
        index[k_repl] = conn
        for b in where:
            slot = heads[b]
            if slot is None:
                heads[b] = conn
            elif type(slot) is list:
                slot.append(conn)
            else:
                heads[b] = [slot, conn]
        self._count += 1
        return OK

    def remove(self, conn: Conn) -> None:
        zo, zr = conn.zone_id(IP_CT_DIR_ORIGINAL), conn.zone_id(IP_CT_DIR_REPLY)
        k_orig = _key(conn.orig, zo)
        index = self._hash
        if index.get(k_orig) is not conn:
            return
        del index[k_orig]
        k_repl = _key(conn.reply, zr)
        if index.get(k_repl) is conn:
            del index[k_repl]
        heads = self._heads
        for b in (self.bucket(conn.orig, zo), self.bucket(conn.reply, zr)):
            slot = heads[b]
            if slot is conn:
                heads[b] = None
            elif type(slot) is list:
                slot.remove(conn)  # identity: entries compare by identity
                if len(slot) == 1:
                    heads[b] = slot[0]
        self._count -= 1
        if self.on_remove is not None:
            self.on_remove(conn)

    # --- bounds: early drop and the garbage collector -----------------------------------------

    def full(self) -> bool:
        """Would a new entry exceed nf_conntrack_max (__nf_conntrack_alloc's check)?"""
        return 0 < self.max <= self._count

    def early_drop(self, t: Tuple, zid: int, now: float) -> int:
        """early_drop: evict the non-ASSURED entries of the first of the NF_CT_EVICTION_RANGE
        buckets from the one of tuple *t* (zone id *zid*) that has any; how many went.  Expired
        entries met on the way are collected without counting as drops."""
        if not self._heads:
            return 0
        first = self.bucket(t, zid)
        for i in range(NF_CT_EVICTION_RANGE):
            slot = self._heads[(first + i) % self.buckets]
            if slot is None:
                continue
            drops = 0
            for conn in list(reversed(slot)) if type(slot) is list else [slot]:  # newest first
                if conn.status & IPS_DYING or conn not in self:
                    continue  # its other node in this chain, already gone
                if conn.timeout <= now:
                    self.remove(conn)  # nf_ct_gc_expired
                    continue
                if conn.status & IPS_ASSURED:
                    continue
                conn.status |= IPS_DYING  # nf_ct_delete
                self.remove(conn)
                drops += 1
            if drops:
                self.stats["early_drop"] += drops
                return drops
        return 0

    def gc(self, now: float) -> int:
        """One full pass of gc_worker: expired entries go, and while the table was found full
        (and stays above 95 % of max) so do entries that may go early; how many went."""
        max95 = self.max // 100 * 95 if self.gc_early_drop else 0
        gone = 0
        for conn in self:
            if conn.timeout <= now:
                self.remove(conn)
                gone += 1
            elif max95 and self._count >= max95 and can_early_drop(conn):
                conn.status |= IPS_DYING  # nf_ct_kill: not counted as early_drop
                self.remove(conn)
                gone += 1
        self.gc_early_drop = False
        self.next_gc = now + GC_SCAN_INTERVAL_MIN
        return gone

    def expire(self, now: float) -> int:
        """Remove every entry expired at *now*; how many went."""
        dead = [c for c in self if c.timeout <= now]
        for c in dead:
            self.remove(c)
        return len(dead)

    def resize(self, buckets: int) -> None:
        """nf_conntrack_hash_resize: rehash every entry into *buckets* chains."""
        entries = list(self)
        self.buckets = buckets
        self._heads = [None] * buckets if entries else []
        heads = self._heads
        for conn in entries:
            for b in (self.bucket(conn.orig, conn.zone_id(IP_CT_DIR_ORIGINAL)),
                      self.bucket(conn.reply, conn.zone_id(IP_CT_DIR_REPLY))):
                slot = heads[b]
                heads[b] = conn if slot is None else slot + [conn] if type(slot) is list else [slot, conn]

    def chain_lengths(self) -> Counter[int]:
        """How many buckets hold chains of each length (for tests and tuning)."""
        return Counter(0 if s is None else len(s) if type(s) is list else 1 for s in self._heads)


def can_early_drop(conn: Conn) -> bool:
    """gc_worker_can_early_drop: not ASSURED, or a protocol state on its way out (tcp_can_early_drop:
    FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE; sctp_can_early_drop: the SHUTDOWN states)."""
    if not conn.status & IPS_ASSURED:
        return True
    proto = conn.orig.proto
    if proto == 6:
        info = conn.proto.get("tcp")
        return info is not None and info.state in _TCP_CLOSING
    if proto == 132:
        info = conn.proto.get("sctp")
        return info is not None and info["state"] in _SCTP_CLOSING
    return False


def _closing_states() -> tuple[frozenset[int], frozenset[int]]:
    from pynetfilter.netfilter.conntrack import sctp
    from pynetfilter.netfilter.conntrack import tcp_window as tw

    return (frozenset({tw.FIN_WAIT, tw.CLOSE_WAIT, tw.LAST_ACK, tw.TIME_WAIT, tw.CLOSE}),
            frozenset({sctp.SHUTDOWN_SENT, sctp.SHUTDOWN_RECD, sctp.SHUTDOWN_ACK_SENT}))


_TCP_CLOSING, _SCTP_CLOSING = _closing_states()
