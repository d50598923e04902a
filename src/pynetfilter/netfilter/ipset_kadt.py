"""Packets added to and deleted from ipsets, as xt_set's SET target does (the kernel's kadt ADD/DEL).

Theory of operation.  The element is made from the packet the way the set type's kadt function
makes it: ``ip`` dimensions take the source or destination address (masked by the set's
netmask), ``net`` dimensions the address under the set's most specific prefix so far (/32 for an
empty set), ``port`` dimensions the protocol and port (no element when the packet has none, as
``ip_set_get_ip4_port`` fails), ``iface`` dimensions the input (src) or output (dst) device.
Adding an element that is present and not expired changes nothing unless the rule says
``--exist``, which rewrites its extensions (timeout renewed; counters set to this one packet,
as IP_SET_INIT_KEXT gives packets 1 and the packet's bytes; skbinfo and comment emptied, as a
kernel-made ext carries none); an expired one is replaced.  A new element's counters count the
packet that added it (both checked against the kernel: hash:ip and bitmap:ip,mac).  The timeout is the
rule's ``--timeout`` (capped at IPSET_MAX_TIMEOUT), else the set's default; a set created without
``timeout`` keeps none.  A full set (``maxelem`` live elements) takes nothing; ``forceadd`` is
not modelled.  Bitmap sets take only values inside their range; bitmap:ip,mac is
:mod:`~pynetfilter.netfilter.ipset_ipmac`'s.  ``list:set`` adds to (deletes
from) the first member set that takes it (never a ``family inet6`` one: the kernel refuses a
set of the other family, and list:set goes on to the next).  ``find`` is the element a packet hits, for
``--map-set``.
"""

from __future__ import annotations

from typing import Any

from pynetfilter.netfilter import ipset_ipmac
from pynetfilter.netfilter import ipset_types as T
from pynetfilter.netfilter.ipset import Element, IpSet, packet_values

NO_TIMEOUT = 0xFFFFFFFF  # the rule gave no --timeout: the set's default applies
MAX_TIMEOUT = (0xFFFFFFFF >> 1) // 1000  # IPSET_MAX_TIMEOUT, seconds
Devs = tuple[str | None, str | None]


def element_key(s: IpSet, pkt: Any, dir_flags: int, devs: Devs = (None, None)) -> tuple[Any, ...] | None:
    """The element the kernel's kadt builds from *pkt* for add/del, or None (-EINVAL, out of range)."""
    values = packet_values(s, pkt, dir_flags, devs)
    if values is None:
        return None
    key: list[Any] = []
    for i, kind in enumerate(s.dims):
        v = values[i]
        if kind == "ip":
            v &= T.mask(s.netmask)
        elif kind == "net":
            plen = s.cidrs[i][0] if s.cidrs[i] else 32
            v = (v & T.mask(plen), plen)
        key.append(v)
    if s.type.startswith("bitmap:") and s.range != (0, 0) and not s.range[0] <= key[0] <= s.range[1]:
        return None
    return tuple(key)


def add(sets: dict[str, IpSet], name: str, pkt: Any, dim: int, dir_flags: int, now: float,
        timeout: int = NO_TIMEOUT, exist: bool = False, devs: Devs = (None, None)) -> bool:
    """ip_set_add from a packet: True when the set took (or renewed) the element."""
    s = sets.get(name)
    if s is None or dim < len(s.dims) or s.family == "inet6":  # ip_set_add/del/test: family mismatch
        return False
    if s.type == "list:set":
        return any(add(sets, m, pkt, dim, dir_flags, now, timeout, exist, devs) for m in s.members)
    if s.type == "bitmap:ip,mac":
        t = None if timeout == NO_TIMEOUT else min(timeout, MAX_TIMEOUT)
        return ipset_ipmac.kadt_add(s, pkt, dir_flags, now, t, exist)
    key = element_key(s, pkt, dir_flags, devs)
    if key is None:
        return False
    expires = _expiry(s, timeout, now)
    if s.live(key, now):
        if not exist:
            return False  # -IPSET_ERR_EXIST: the element keeps its timeout
        old = s.elements[key]
        s.elements[key] = Element(old.nomatch, expires, 1, _len(pkt))
        return True
    if key not in s.elements and sum(1 for k in s.elements if s.live(k, now)) >= s.maxelem:
        return False  # -IPSET_ERR_HASH_FULL
    if key in s.elements:
        s.elements[key] = Element(expires=expires, packets=1, bytes=_len(pkt))  # an expired one is taken over
    else:
        s.add(key, Element(expires=expires, packets=1, bytes=_len(pkt)), now)
    return True


def delete(sets: dict[str, IpSet], name: str, pkt: Any, dim: int, dir_flags: int, now: float,
           devs: Devs = (None, None)) -> bool:
    """ip_set_del from a packet: True when a live element was removed."""
    s = sets.get(name)
    if s is None or dim < len(s.dims) or s.family == "inet6":  # ip_set_add/del/test: family mismatch
        return False
    if s.type == "list:set":
        return any(delete(sets, m, pkt, dim, dir_flags, now, devs) for m in s.members)
    if s.type == "bitmap:ip,mac":
        return ipset_ipmac.kadt_del(s, pkt, dir_flags, now)
    key = element_key(s, pkt, dir_flags, devs)
    if key is None or key not in s.elements:
        return False
    live = s.live(key, now)
    s.remove(key)
    return live


def find(sets: dict[str, IpSet], name: str, pkt: Any, dim: int, dir_flags: int, now: float,
         devs: Devs = (None, None)) -> Element | None:
    """The element *pkt* hits (ip_set_test's lookup; a nomatch element is no hit)."""
    s = sets.get(name)
    if s is None or dim < len(s.dims) or s.family == "inet6":  # ip_set_add/del/test: family mismatch
        return None
    if s.type == "list:set":
        for m in s.members:
            if s.live((m,), now):
                e = find(sets, m, pkt, dim, dir_flags, now, devs)
                if e is not None:
                    return e
        return None
    if s.type == "bitmap:ip,mac":
        return ipset_ipmac.kadt_test(s, pkt, dir_flags, now, 0)
    values = packet_values(s, pkt, dir_flags, devs)
    e = s.lookup(values, now) if values is not None else None
    return e if e is not None and not e.nomatch else None


def _len(pkt: Any) -> int:
    from pynetfilter.netfilter.traverse import packet_len

    return packet_len(pkt)


def _expiry(s: IpSet, timeout: int, now: float) -> float | None:
    if s.timeout is None:
        return None  # the set has no timeout extension
    if timeout == NO_TIMEOUT:
        timeout = s.timeout
    timeout = min(timeout, MAX_TIMEOUT)
    return now + timeout if timeout else None
