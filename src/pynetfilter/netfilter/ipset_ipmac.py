"""bitmap:ip,mac: an address range whose members may carry the Ethernet address seen with them.

Theory of operation (net/netfilter/ipset/ip_set_bitmap_ipmac.c over ip_set_bitmap_gen.h).  The
kernel keeps one slot per address of the range: a bit says the slot is in use, and the slot
says whether its MAC is filled.  An element is keyed by its address alone (``(ip,)``); its
:attr:`Element.ether` is the MAC, None while unset.  Everything follows from that:

* ``add IP,MAC`` fills; ``add IP`` stores the address with the MAC unset.  A present element is
  "already added", except that an unset one takes a MAC (keeping its extensions' timeout), and
  that ``-exist`` with another MAC replaces the MAC.  ``del`` and ``test IP`` ignore the MAC;
  ``test IP,MAC`` compares it with a filled element and says "in set" for an unset one.
* In a set with timeouts, an unset element's timeout is not running: the kernel stores the
  plain seconds (:attr:`Element.held`, listed as is) and starts them when the MAC is filled
  (a fill without a timeout of its own, or with one equal to the set's, takes the stored
  value).  The kernel's expiry test reads that plain value as a long past time, so an unset
  element with a non-zero stored timeout counts as expired: adding it again succeeds, and
  deleting it removes it but answers "not added".
* A delete leaves the slot's counters behind (the bitmap's memory is not cleared, and an add
  without ``packets``/``bytes`` does not touch them): :attr:`IpSet.stale` keeps them.
* From a packet (kadt): the address is the source or destination (first direction), the MAC
  the Ethernet source or destination (second direction) of a packet that has an Ethernet
  header (none: locally generated or loopback) and a non-zero MAC.  A packet test on an unset
  element fills it from the packet and matches (the kernel's -EAGAIN: "complete the element"),
  counting the packet (counters become 1 packet, the packet's bytes) and clearing its comment
  and skbinfo; on a filled element it matches when the MAC is the same.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from pynetfilter.netfilter import ipset_types as T
from pynetfilter.netfilter.ipset import Element, IpSet

TYPE = "bitmap:ip,mac"
MAX_RANGE = 65536  # IPSET_BITMAP_MAX_RANGE + 1
_OCTET = re.compile(r"[0-9a-fA-F]{1,2}")
FAILED, STORED = -1, 1  # IPSET_ADD_FAILED, IPSET_ADD_START_STORED_TIMEOUT


def create_range(text: str) -> tuple[int, int, int | None]:
    """ipset_parse_netrange: ``IP-IP`` or ``IP/cidr`` (first, last, cidr or None)."""
    if "-" in text:
        first, last, _ = T.addr_range(text)
        return first, last, None
    host, sep, plen_s = text.partition("/")
    if not sep:
        raise T.syntax(f"IP/cidr or IP-IP range must be specified: {text}")
    plen = T.number(plen_s, 0, 32)
    ip = T.addr(host)
    return ip & T.mask(plen), ip | (~T.mask(plen) & 0xFFFFFFFF), plen


def check_range(first: int, last: int, cidr: int | None) -> None:
    """bitmap_ipmac_create's refusals (the kernel's, after ipset parsed every option)."""
    if cidr is not None and cidr >= 32:
        raise T.IpsetError("The value of the CIDR parameter of the IP address is invalid")
    if last - first + 1 > MAX_RANGE:
        raise T.IpsetError("The range you specified exceeds the size limit of the set type")


def parse_ether(text: str) -> bytes:
    parts = text.split(":")
    if len(text) > 17 or len(parts) != 6 or not all(_OCTET.fullmatch(p) for p in parts):
        raise T.syntax(f"cannot parse '{text}' as ethernet address")
    return bytes(int(p, 16) for p in parts)


def parse_elem(text: str) -> tuple[int, bytes | None]:
    """``IP[,MAC]``: a plain address (no range, no CIDR) and the MAC if given."""
    if text.count(",") > 1:
        raise T.syntax(f"Two elem separators in {text}, but settype {TYPE} supports one.")
    ip_s, _, mac_s = text.partition(",")
    if not mac_s:
        ip_s = text  # "IP," is parsed whole, as ipset does
    if "/" in ip_s or "-" in ip_s:
        raise T.syntax(f"plain IP address must be supplied: {ip_s}")
    return T.addr(ip_s), parse_ether(mac_s) if mac_s else None


def _expired(s: IpSet, e: Element, now: float) -> bool:
    """ip_set_timeout_expired on the slot: an unset element's stored plain value reads as expired."""
    if s.timeout is None:
        return False
    if e.ether is None:
        return e.held != 0
    return e.expires is not None and e.expires <= now


def _gc(s: IpSet, now: float) -> None:
    """mtype_gc: expired filled elements leave (their counters stay in the slot)."""
    for k in [k for k, e in s.elements.items() if e.ether is not None and not s.live(k, now)]:
        drop(s, k)


def drop(s: IpSet, key: tuple[Any, ...]) -> None:
    e = s.elements[key]
    s.stale[key] = (e.packets, e.bytes)
    s.remove(key)


def _add(s: IpSet, key: tuple[Any, ...], ether: bytes | None, new: Element, timeout: float | None,
         now: float, exist: bool, keep: tuple[bool, bool]) -> bool:
    """mtype_add over bitmap_ipmac_do_add; *timeout* is the add's (None: the set's default).
    Returns False for -IPSET_ERR_EXIST."""
    _gc(s, now)
    old = s.elements.get(key)
    ret = 0
    if old is not None:
        if old.ether is not None:
            if ether is not None and exist and ether != old.ether:
                old.ether = ether
            ret = FAILED
        elif ether is None:
            ret = FAILED
        else:
            ret = STORED
    if ret == FAILED and not _expired(s, old, now) and not exist:  # type: ignore[arg-type]
        return False
    e = replace(new, ether=old.ether if ret == FAILED and old is not None else ether)
    packets, nbytes = (old.packets, old.bytes) if old is not None else s.stale.pop(key, (0, 0))
    # ip_set_init_counter: a counter the add does not give keeps what the slot holds
    e.packets = packets if keep[0] else e.packets
    e.bytes = nbytes if keep[1] else e.bytes
    e.expires, e.held = None, 0
    if s.timeout is not None:
        t = s.timeout if timeout is None else timeout
        if ret == STORED:
            if t == s.timeout:
                t = old.held  # type: ignore[union-attr]
            e.expires = now + t if t else None
        elif ether is not None:
            e.expires = now + t if t else None
        elif e.ether is not None:
            # a filled element re-added without MAC (-exist): bitmap_ipmac_add_timeout stores the
            # plain value, which reads as long past (the element expires; 0 stays permanent)
            e.expires = now if t else None
        else:
            e.held = int(t)
    if old is None:
        s.stale.pop(key, None)
        s.add(key, e, now)
    else:
        s.elements[key] = e
    return True


def uadt(s: IpSet, cmd: str, text: str, got: dict[str, str], elem: Element, flags: set[str],
         now: float) -> bool:
    """ipset add/del/test of one element (the caller parsed the options); True: test found it."""
    ip, ether = parse_elem(text)
    key = (ip,)
    if cmd == "test":
        _gc(s, now)
        e = s.elements.get(key)
        return e is not None and (ether is None or e.ether is None or e.ether == ether)
    if not s.range[0] <= ip <= s.range[1]:
        raise T.IpsetError("Element is out of the range of the set")
    exist = "exist" in flags
    if cmd == "del":
        _gc(s, now)
        e = s.elements.get(key)
        if e is None:
            if exist:
                return False
            raise T.IpsetError("Element cannot be deleted from the set: it's not added")
        drop(s, key)
        if _expired(s, e, now) and not exist:
            raise T.IpsetError("Element cannot be deleted from the set: it's not added")
        return False
    timeout: float | None = None
    if "timeout" in got:
        timeout = 0.0 if elem.expires is None else elem.expires - now
    elem = replace(elem, expires=None)
    keep = ("packets" not in got, "bytes" not in got)
    if not _add(s, key, ether, elem, timeout, now, exist, keep):
        raise T.IpsetError("Element cannot be added to the set: it's already added")
    return False


def packet_key(s: IpSet, pkt: Any, dir_flags: int) -> tuple[tuple[int], bytes] | None:
    """bitmap_ipmac_kadt's element: None when the kernel refuses the packet (-EINVAL, out of range)."""
    ip = pkt.saddr if dir_flags & 2 else pkt.daddr
    if not s.range[0] <= ip <= s.range[1]:
        return None
    hdr = pkt.meta.mac_header
    if dir_flags & 4:
        mac = hdr[6:12] if hdr is not None and len(hdr) >= 14 else pkt.meta.src_mac
    else:
        mac = hdr[0:6] if hdr is not None and len(hdr) >= 14 else None
    if mac is None or mac == bytes(6):
        return None
    return (ip,), mac


def _wire_len(pkt: Any) -> int:
    from pynetfilter.netfilter.traverse import packet_len

    return packet_len(pkt)


def kadt_test(s: IpSet, pkt: Any, dir_flags: int, now: float, length: int,
              counters: Any = None) -> Element | None:
    """ip_set_test for a packet: the element that matched, or None."""
    got = packet_key(s, pkt, dir_flags)
    if got is None:
        return None
    key, mac = got
    _gc(s, now)
    e = s.elements.get(key)
    if e is None:
        return None
    if e.ether is None:  # -EAGAIN: the kernel adds the packet's MAC, and the packet matches
        kadt_add(s, pkt, dir_flags, now, None, False)
        return Element()
    if e.ether != mac:
        return None
    if s.counters:
        if length:
            e.packets += 1
            e.bytes += length
        if counters is not None and not counters(e.packets, e.bytes):
            return None
    return e


def kadt_add(s: IpSet, pkt: Any, dir_flags: int, now: float, timeout: float | None, exist: bool) -> bool:
    """ip_set_add from a packet (*timeout* None: the set's default)."""
    got = packet_key(s, pkt, dir_flags)
    if got is None:
        return False
    key, mac = got
    new = Element(packets=1, bytes=_wire_len(pkt))
    return _add(s, key, mac, new, timeout, now, exist, (False, False))


def kadt_del(s: IpSet, pkt: Any, dir_flags: int, now: float) -> bool:
    """ip_set_del from a packet: the slot is cleared whatever its MAC."""
    got = packet_key(s, pkt, dir_flags)
    if got is None:
        return False
    _gc(s, now)
    if got[0] not in s.elements:
        return False
    e = s.elements[got[0]]
    drop(s, got[0])
    return not _expired(s, e, now)
