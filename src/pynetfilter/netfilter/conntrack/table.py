"""The conntrack hash table: confirmed entries by (tuple, zone id), in both directions.

Theory of operation.  Each confirmed :class:`Conn` is found under its original tuple and
under its reply tuple (the kernel's two tuplehash nodes), each keyed with the zone id that
applies in that direction; a lookup says which direction matched.  Entries expire on the
engine clock: an expired entry is never found and is removed when met (the kernel's lookup
and garbage collector do the same), so no timers run.  Unconfirmed entries live on their
packet only, as in the kernel, until confirm inserts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_ORIGINAL,
    IP_CT_DIR_REPLY,
    NF_CT_DEFAULT_ZONE_DIR,
    Conn,
    Tuple,
)


class Zone(NamedTuple):
    """struct nf_conntrack_zone: an id and the directions it applies to."""

    id: int = 0
    dir: int = NF_CT_DEFAULT_ZONE_DIR

    def id_for(self, direction: int) -> int:
        return self.id if self.dir & (1 << direction) else 0


DEFAULT_ZONE = Zone()


class Table:
    def __init__(self, on_remove: Callable[[Conn], None] | None = None) -> None:
        self._hash: dict[tuple[Tuple, int], tuple[Conn, int]] = {}
        self._conns: dict[int, Conn] = {}  # by id, in insertion order
        self.on_remove = on_remove  # destroy callbacks (NAT's bysource table)

    def __len__(self) -> int:
        return len(self._conns)

    def find(self, t: Tuple, zone: Zone = DEFAULT_ZONE, now: float | None = None) -> tuple[Conn, int] | None:
        """(conn, direction) of the live entry with tuple *t* in *zone*, or None."""
        hit = self._hash.get((t, zone.id_for(IP_CT_DIR_ORIGINAL)))
        if hit is None or hit[1] != IP_CT_DIR_ORIGINAL:
            hit = self._hash.get((t, zone.id_for(IP_CT_DIR_REPLY)))
            if hit is not None and hit[1] != IP_CT_DIR_REPLY:
                hit = None
        if hit is None:
            return None
        if now is not None and hit[0].timeout <= now:
            self.remove(hit[0])
            return None
        return hit

    def taken(self, t: Tuple, zone: Zone, ignored: Conn | None = None, now: float | None = None) -> bool:
        """nf_conntrack_tuple_taken: does a live entry other than *ignored* use tuple *t*?"""
        hit = self.find(t, zone, now)
        return hit is not None and hit[0] is not ignored

    def insert(self, conn: Conn, now: float) -> bool:
        """Insert a confirmed entry; False (nothing inserted) if a live entry uses either tuple."""
        k_orig = (conn.orig, conn.zone_id(IP_CT_DIR_ORIGINAL))
        k_repl = (conn.reply, conn.zone_id(IP_CT_DIR_REPLY))
        for key in (k_orig, k_repl):
            old = self._hash.get(key)
            if old is not None and old[0].timeout <= now:
                self.remove(old[0])
        if k_orig in self._hash or k_repl in self._hash:
            return False
        self._hash[k_orig] = (conn, IP_CT_DIR_ORIGINAL)
        self._hash[k_repl] = (conn, IP_CT_DIR_REPLY)
        self._conns[conn.id] = conn
        return True

    def remove(self, conn: Conn) -> None:
        if self._conns.pop(conn.id, None) is None:
            return
        keys = ((conn.orig, conn.zone_id(IP_CT_DIR_ORIGINAL)), (conn.reply, conn.zone_id(IP_CT_DIR_REPLY)))
        for key in keys:
            if self._hash.get(key, (None,))[0] is conn:
                del self._hash[key]
        if self.on_remove is not None:
            self.on_remove(conn)

    def expire(self, now: float) -> int:
        """Remove every entry expired at *now* (the garbage collector); how many went."""
        dead = [c for c in self._conns.values() if c.timeout <= now]
        for c in dead:
            self.remove(c)
        return len(dead)

    def __iter__(self) -> Iterator[Conn]:
        return iter(list(self._conns.values()))
