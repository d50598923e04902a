"""The kernel's hash layout of an ipset: which bucket and slot each element sits in.

Theory of operation.  ``ipset list`` prints a hash set's members bucket by
bucket, and within a bucket slot by slot (ip_set_hash_gen.h's mtype_list), so
the order is a function of the element bytes, the set's ``initval`` and the
history of adds and deletes.  :class:`Layout` replays that history as
mtype_add/mtype_del do: the bucket is ``jhash2(element words, initval) &
(2^bits - 1)``; a bucket is an array grown by AHASH_INIT_SIZE slots up to the
set's bucketsize; an add reuses the first deleted (or expired) slot, else
appends; a delete clears its slot (the array's end shrinks by one when it was
the last slot), frees an empty array, and compacts an array with at least
AHASH_INIT_SIZE holes; a full array doubles the table (mtype_resize: every
element rehashed in listing order).  "Size in memory" is the header plus the
regions' ``ext_size``, which the kernel keeps as a running sum with its own
bookkeeping: every new array and every growth adds ``sizeof(struct hbucket) +
AHASH_INIT_SIZE * dsize``, a compaction takes the same off, a freed array takes
off ``sizeof(struct hbucket) + size * dsize`` (so grown-then-freed arrays leave
a remainder); :attr:`Layout.ext_size` keeps that sum.

The element bytes are the kernel's ``struct hash_*4_elem`` or ``hash_*6_elem`` (network order
addresses and ports, packed ``cidr - 1`` where the type packs it), read as
little-endian u32 words like the kernel on x86-64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

M32 = 0xFFFFFFFF
JHASH_INITVAL = 0xDEADBEEF
AHASH_INIT_SIZE = 2
HBUCKET_SIZE = 32  # sizeof(struct hbucket): rcu_head, the 64-bit used bitmap, size, pos; u64-aligned
REGION_SIZE = 24  # sizeof(struct ip_set_region)
HTABLE_REGION_BITS = 10


def _rol(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & M32


def jhash2(words: list[int], initval: int) -> int:
    """include/linux/jhash.h jhash2: Bob Jenkins' lookup3 over u32 words."""
    a = b = c = (JHASH_INITVAL + (len(words) << 2) + initval) & M32
    k = list(words)
    while len(k) > 3:
        a, b, c = (a + k[0]) & M32, (b + k[1]) & M32, (c + k[2]) & M32
        a = (a - c) & M32; a ^= _rol(c, 4); c = (c + b) & M32  # noqa: E702
        b = (b - a) & M32; b ^= _rol(a, 6); a = (a + c) & M32  # noqa: E702
        c = (c - b) & M32; c ^= _rol(b, 8); b = (b + a) & M32  # noqa: E702
        a = (a - c) & M32; a ^= _rol(c, 16); c = (c + b) & M32  # noqa: E702
        b = (b - a) & M32; b ^= _rol(a, 19); a = (a + c) & M32  # noqa: E702
        c = (c - b) & M32; c ^= _rol(b, 4); b = (b + a) & M32  # noqa: E702
        k = k[3:]
    if not k:
        return c
    if len(k) == 3:
        c = (c + k[2]) & M32
    if len(k) >= 2:
        b = (b + k[1]) & M32
    a = (a + k[0]) & M32
    c ^= b; c = (c - _rol(b, 14)) & M32  # noqa: E702
    a ^= c; a = (a - _rol(c, 11)) & M32  # noqa: E702
    b ^= a; b = (b - _rol(a, 25)) & M32  # noqa: E702
    c ^= b; c = (c - _rol(b, 16)) & M32  # noqa: E702
    a ^= c; a = (a - _rol(c, 4)) & M32  # noqa: E702
    b ^= a; b = (b - _rol(a, 14)) & M32  # noqa: E702
    c ^= b; c = (c - _rol(b, 24)) & M32  # noqa: E702
    return c


def _be16(v: int) -> bytes:
    return v.to_bytes(2, "big")


def elem_bytes(typ: str, key: tuple[Any, ...], width: int = 4) -> bytes:
    """The hashed part of the kernel's element struct for *key* (as the store keeps it); *width*
    is the address size: 4 for ``struct hash_*4_elem``, 16 for ``hash_*6_elem`` (whose address
    fields are 16 bytes, the rest the same)."""
    def ip(v: int) -> bytes:
        return v.to_bytes(width, "big")

    if typ == "hash:ip":
        return ip(key[0])
    if typ == "hash:ip,port":
        (proto, port) = key[1]
        return ip(key[0]) + _be16(port) + bytes((proto, 0))
    if typ == "hash:ip,port,ip":
        (proto, port) = key[1]
        return ip(key[0]) + ip(key[2]) + _be16(port) + bytes((proto, 0))
    if typ == "hash:ip,port,net":
        (proto, port), (net, plen) = key[1], key[2]
        return ip(key[0]) + ip(net) + _be16(port) + bytes(((plen - 1) & 0x7F, proto))
    if typ == "hash:net":
        net, plen = key[0]
        return ip(net) + bytes((0, 0, 0, plen))
    if typ == "hash:net,port":
        (net, plen), (proto, port) = key[0], key[1]
        return ip(net) + _be16(port) + bytes((proto, (plen - 1) & 0x7F))
    if typ == "hash:net,iface":
        (net, plen), (_iface, physdev) = key[0], key[1]
        return ip(net) + bytes((int(physdev), plen, 0, 1))
    raise ValueError(typ)


def hkey(typ: str, key: tuple[Any, ...], initval: int, bits: int, width: int = 4) -> int:
    data = elem_bytes(typ, key, width)
    words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
    return jhash2(words, initval) & ((1 << bits) - 1)


class Bucket:
    """struct hbucket: an array of *size* slots, the first *pos* of them in use or holes (None)."""

    __slots__ = ("slots", "size")

    def __init__(self, size: int) -> None:
        self.slots: list[Any] = []  # len(slots) is the kernel's pos
        self.size = size


class Layout:
    """The hash table of one set: buckets of element keys, in the kernel's order."""

    def __init__(self, typ: str, bits: int, initval: int, dsize: int, bucketsize: int = 12,
                 width: int = 4) -> None:
        self.typ, self.bits, self.initval, self.dsize = typ, bits, initval, dsize
        self.width = width  # address bytes: 16 in a family inet6 set
        self.bucketsize = bucketsize
        self.buckets: dict[int, Bucket] = {}
        self.ext_size = 0  # the regions' ext_size, as the kernel counts it

    @property
    def step(self) -> int:
        return HBUCKET_SIZE + AHASH_INIT_SIZE * self.dsize

    def _key(self, key: tuple[Any, ...], bits: int | None = None) -> int:
        return hkey(self.typ, key, self.initval, self.bits if bits is None else bits, self.width)

    def __iter__(self) -> Iterator[Any]:
        """The keys in listing order (holes skipped)."""
        for i in sorted(self.buckets):
            for k in self.buckets[i].slots:
                if k is not None:
                    yield k

    def region_count(self) -> int:
        return 1 if self.bits < HTABLE_REGION_BITS else 1 << (self.bits - HTABLE_REGION_BITS)


    def place(self, key: tuple[Any, ...], dead: Callable[[Any], bool]) -> Any:
        """mtype_add's slot choice for a key not in the set: returns the key it replaces (an
        expired element reusing its slot), or None.  *dead(key)* says whether a key has expired."""
        while True:
            n = self.buckets.get(self._key(key))
            if n is None:
                n = self.buckets[self._key(key)] = Bucket(AHASH_INIT_SIZE)
                n.slots.append(key)
                self.ext_size += self.step
                return None
            for i, k in enumerate(n.slots):
                if k is None or dead(k):
                    n.slots[i] = key
                    return k
            if len(n.slots) < n.size:
                n.slots.append(key)
                return None
            if n.size < self.bucketsize:
                n.size += AHASH_INIT_SIZE
                n.slots.append(key)
                self.ext_size += self.step
                return None
            self.resize(dead)

    def remove(self, key: tuple[Any, ...]) -> None:
        """mtype_del: clear the slot, shrink or free the array."""
        h = self._key(key)
        n = self.buckets[h]
        i = n.slots.index(key)
        n.slots[i] = None
        if i + 1 == len(n.slots):
            n.slots.pop()
        holes = sum(1 for k in n.slots if k is None)
        if holes == len(n.slots):  # every used position gone (the kernel's "k == n->pos")
            del self.buckets[h]
            self.ext_size -= HBUCKET_SIZE + n.size * self.dsize
        elif holes >= AHASH_INIT_SIZE:
            n.slots = [k for k in n.slots if k is not None]
            n.size -= AHASH_INIT_SIZE
            self.ext_size -= self.step

    def resize(self, dead: Callable[[Any], bool]) -> None:
        """mtype_resize: double the table until every element fits its array."""
        bits = self.bits
        while True:
            bits += 1
            new: dict[int, Bucket] = {}
            grown = 0
            ok = True
            for k in self:
                if dead(k):
                    continue
                h = self._key(k, bits)
                m = new.get(h)
                if m is None:
                    m = new[h] = Bucket(AHASH_INIT_SIZE)
                    grown += 1
                elif len(m.slots) >= m.size:
                    if m.size >= self.bucketsize:
                        ok = False
                        break
                    m.size += AHASH_INIT_SIZE
                    grown += 1
                m.slots.append(k)
            if ok:
                self.bits, self.buckets, self.ext_size = bits, new, grown * self.step
                return

    def clear(self) -> None:
        self.buckets = {}
        self.ext_size = 0
