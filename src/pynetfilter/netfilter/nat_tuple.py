"""NAT's choice of a new tuple (nf_nat_core.c: get_unique_tuple and its helpers).

Theory of operation.  When a NAT target (or the null binding) sets up a
connection's mapping, the kernel picks the new source (SNAT side) or
destination (DNAT side) of the tuple from the target's range so that the
resulting reply tuple is not already used by another connection:

1. SNAT side, no ``--random``: keep the original source if it is in range
   and unused, else reuse the mapping an existing connection from the same
   source got (the ``bysource`` table), if that is in range and unused;
2. the address: the only one of the range, or one picked by a jhash of the
   source and destination addresses (deterministic, so it can be replayed);
3. the port (ICMP: the echo id): kept when in range and unused, else searched
   from an offset (random, or from the base port of a shifted map), taking
   the first free one, 128 tries at most (NF_NAT_MAX_ATTEMPTS), then rounds of
   64, 32, 16 and 8 from new random offsets: 248 tries when every port is
   taken, each one table lookup, so the cost never grows with the table.
   Since Linux 6.4 the last NF_NAT_HARDER_THRESH tries of a round may take
   over the port of a closing TCP connection (``nf_nat_used_tuple_harder``,
   the *harder* callback: see :meth:`Nat.used_tuple_harder`).

A random offset is what makes the kernel's choice unpredictable; a replay
supplies the port the kernel chose through ``choices.nat_key`` and it is
taken as is when the kernel could have picked it (in range and free).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pynetfilter.ext._nat import (
    MAP_IPS,
    PERSISTENT,
    PROTO_OFFSET,
    PROTO_RANDOM,
    PROTO_RANDOM_FULLY,
    PROTO_SPECIFIED,
)
from pynetfilter.netfilter.conntrack.entry import Tuple
from pynetfilter.packet.model import IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP

if TYPE_CHECKING:
    import random

    from pynetfilter.netfilter.conntrack.entry import Conn

MANIP_SRC, MANIP_DST = 0, 1
PROTO_RANDOM_ALL = PROTO_RANDOM | PROTO_RANDOM_FULLY
IPPROTO_DCCP, IPPROTO_UDPLITE, IPPROTO_GRE = 33, 136, 47
PORT_PROTOS = frozenset({IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_DCCP, IPPROTO_UDPLITE})
MAX_ATTEMPTS = 128
HARDER_THRESH = MAX_ATTEMPTS // 4  # NF_NAT_HARDER_THRESH: tries that may evict a closing connection
_M32 = 0xFFFFFFFF

# ICMP query types and their answers (nf_conntrack_proto_icmp.c invmap).
ICMP_INVERT = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17}


@dataclass(frozen=True, slots=True)
class NatRange:
    """struct nf_nat_range2 (IPv4): addresses in host order, ports/ids."""

    flags: int = 0
    min_ip: int = 0
    max_ip: int = 0
    min_port: int = 0
    max_port: int = 0
    base_port: int = 0


# tuple.__new__(Tuple, ...) skips NamedTuple's Python-level __new__: the port search builds
# two tuples per try (up to 248 tries per new connection).
_new = tuple.__new__


def invert(t: Tuple) -> Tuple:
    """nf_ct_invert_tuple: the other direction; ICMP keeps its id and answers its query type."""
    src, dst, proto, sport, dport = t
    if proto == IPPROTO_ICMP:
        typ = ICMP_INVERT.get(dport >> 8, dport >> 8)
        return _new(Tuple, (dst, src, proto, sport, typ << 8 | (dport & 0xFF)))
    return _new(Tuple, (dst, src, proto, dport, sport))


def with_key(t: Tuple, manip: int, key: int) -> Tuple:
    """The tuple with its manipulable port (ICMP: the id, in sport either way) set to *key*."""
    if t.proto == IPPROTO_ICMP or manip == MANIP_SRC:
        return _new(Tuple, (t.src, t.dst, t.proto, key, t.dport))
    return _new(Tuple, (t.src, t.dst, t.proto, t.sport, key))


def manip_key(t: Tuple, manip: int) -> int:
    return t.sport if t.proto == IPPROTO_ICMP or manip == MANIP_SRC else t.dport


# --- jhash (lookup3, include/linux/jhash.h) -----------------------------------

def _rol(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M32


def jhash2(words: list[int], initval: int) -> int:
    a = b = c = (0xDEADBEEF + (len(words) << 2) + initval) & _M32
    k = list(words)
    while len(k) > 3:
        a, b, c = (a + k[0]) & _M32, (b + k[1]) & _M32, (c + k[2]) & _M32
        a = (a - c) & _M32; a ^= _rol(c, 4); c = (c + b) & _M32  # noqa: E702
        b = (b - a) & _M32; b ^= _rol(a, 6); a = (a + c) & _M32  # noqa: E702
        c = (c - b) & _M32; c ^= _rol(b, 8); b = (b + a) & _M32  # noqa: E702
        a = (a - c) & _M32; a ^= _rol(c, 16); c = (c + b) & _M32  # noqa: E702
        b = (b - a) & _M32; b ^= _rol(a, 19); a = (a + c) & _M32  # noqa: E702
        c = (c - b) & _M32; c ^= _rol(b, 4); b = (b + a) & _M32  # noqa: E702
        k = k[3:]
    if not k:
        return c
    if len(k) == 3:
        c = (c + k[2]) & _M32
    if len(k) >= 2:
        b = (b + k[1]) & _M32
    a = (a + k[0]) & _M32
    c ^= b; c = (c - _rol(b, 14)) & _M32  # noqa: E702
    a ^= c; a = (a - _rol(c, 11)) & _M32  # noqa: E702
    b ^= a; b = (b - _rol(a, 25)) & _M32  # noqa: E702
    c ^= b; c = (c - _rol(b, 16)) & _M32  # noqa: E702
    a ^= c; a = (a - _rol(c, 4)) & _M32  # noqa: E702
    b ^= a; b = (b - _rol(a, 14)) & _M32  # noqa: E702
    c ^= b; c = (c - _rol(b, 24)) & _M32  # noqa: E702
    return c


def _be(addr: int) -> int:
    """A host-order address as the kernel's __be32 reads on a little-endian machine."""
    return int.from_bytes(addr.to_bytes(4, "big"), "little")


def best_ip(t: Tuple, rng: NatRange, manip: int, zone: int) -> Tuple:
    """find_best_ips_proto: the address from the range, by a hash of the tuple's addresses."""
    if not rng.flags & MAP_IPS:
        return t
    if rng.min_ip == rng.max_ip:
        ip = rng.min_ip
    else:
        # nf_inet_addr is four words; an IPv4 address fills the first, the rest are zero.
        init = 0 if rng.flags & PERSISTENT else (_be(t.dst) ^ zone) & _M32
        j = jhash2([_be(t.src), 0, 0, 0], init)
        dist = (rng.max_ip - rng.min_ip + 1) & _M32
        ip = (rng.min_ip + ((j * dist) >> 32)) & _M32
    if manip == MANIP_SRC:
        return _new(Tuple, (ip, t.dst, t.proto, t.sport, t.dport))
    return _new(Tuple, (t.src, ip, t.proto, t.sport, t.dport))


def l4_in_range(t: Tuple, manip: int, lo: int, hi: int) -> bool:
    if t.proto == IPPROTO_ICMP:
        return lo <= t.sport <= hi
    if t.proto in PORT_PROTOS or t.proto == IPPROTO_GRE:
        return lo <= manip_key(t, manip) <= hi
    return True


def in_range(t: Tuple, rng: NatRange) -> bool:
    """in_range: would the SNAT side of *t* satisfy the range?"""
    if rng.flags & MAP_IPS and not rng.min_ip <= t.src <= rng.max_ip:
        return False
    if not rng.flags & PROTO_SPECIFIED:
        return True
    return l4_in_range(t, MANIP_SRC, rng.min_port, rng.max_port)


Used = Callable[[Tuple], bool]  # nf_nat_used_tuple for the connection being set up
# nf_nat_used_tuple_harder: like Used, told how many tries of the round are left (this one included).
UsedHarder = Callable[[Tuple, int], bool]


def unique_key(t: Tuple, rng: NatRange, manip: int, used: Used, rand: random.Random,
               chosen: int | None, harder: UsedHarder | None = None) -> Tuple:
    """nf_nat_l4proto_unique_tuple: search the port (ICMP id) range for a free tuple."""
    def taken(cand: Tuple, left: int) -> bool:
        return used(cand) if harder is None else harder(cand, left)

    key = manip_key(t, manip)
    if t.proto == IPPROTO_ICMP:
        lo, size = (rng.min_port, rng.max_port - rng.min_port + 1) if rng.flags & PROTO_SPECIFIED \
            else (0, 65536)
    elif t.proto in PORT_PROTOS:
        if not rng.flags & PROTO_SPECIFIED:
            if manip == MANIP_DST:
                return t  # a destination rewrite without ports keeps the port
            lo, size = (1, 511) if key < 512 else (600, 424) if key < 1024 else (1024, 64512)
        else:
            lo, hi = rng.min_port, rng.max_port
            if hi < lo:  # (sorted)
                lo, hi = hi, lo
            size = hi - lo + 1
    else:
        return t  # GRE without a PPTP master and unknown protocols keep their tuple
    if chosen is not None and lo <= chosen < lo + size and not rng.flags & PROTO_OFFSET:
        # The kernel could have met the replayed port among a round's last tries, where a
        # closing connection's port can be taken over: ask with one try left.
        cand = with_key(t, manip, chosen)
        if not taken(cand, 1):
            return cand
    # A shifted port map keeps the distance to the base port; otherwise the start is random.
    off = (key - rng.base_port) & 0xFFFF if rng.flags & PROTO_OFFSET else rand.getrandbits(16)
    attempts = min(size, MAX_ATTEMPTS)
    while True:
        for i in range(attempts):
            cand = with_key(t, manip, lo + off % size)
            off = (off + 1) & 0xFFFF
            if not taken(cand, attempts - i):
                return cand
        if attempts >= size or attempts < 16:
            return cand  # every try clashed: the kernel leaves the last one (confirm drops it)
        attempts //= 2
        off = rand.getrandbits(16)


def get_unique_tuple(orig: Tuple, rng: NatRange, ct: Conn, manip: int, used: Used,
                     bysource: Callable[[Tuple], list[Tuple]], rand: random.Random,
                     choices: Any = None, harder: UsedHarder | None = None) -> Tuple:
    """get_unique_tuple: the new tuple for *ct* (seen as *orig*) under *rng*."""
    if manip == MANIP_SRC and not rng.flags & PROTO_RANDOM_ALL:
        if in_range(orig, rng):
            if not used(orig):
                return orig
        else:
            for mapped in bysource(orig):
                # The other connection's translated source, with this one's destination.
                cand = Tuple(mapped.src, orig.dst, orig.proto, mapped.sport, orig.dport)
                if in_range(cand, rng):
                    if not used(cand):
                        return cand
                    break
    t = best_ip(orig, rng, manip, ct.zone)
    if not rng.flags & PROTO_RANDOM_ALL:
        if rng.flags & PROTO_SPECIFIED:
            if (not rng.flags & PROTO_OFFSET and l4_in_range(t, manip, rng.min_port, rng.max_port)
                    and (rng.min_port == rng.max_port or not used(t))):
                return t
        elif not used(t):
            return t
    pick = getattr(choices, "nat_key", None)
    chosen = pick(ct.orig, manip) if pick is not None else None
    return unique_key(t, rng, manip, used, rand, chosen, harder)
