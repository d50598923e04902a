"""ipset add/del/test: the element and its extension options, then the kernel's uadt and adt.

The order of refusals is ipset's and the kernel's: the set must exist (ipset
asks the kernel for its type first), the element must parse, then the
options; the kernel then refuses extensions the set was created without
(ip_set_get_extensions), bitmap elements outside the range, and per address
of a range adds or deletes in order, so addresses before a refused one stay
added (as with ``add a 10.0.0.0/30`` over an existing 10.0.0.1).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pynetfilter.netfilter import ipset_elem as E
from pynetfilter.netfilter import ipset_types as T
from pynetfilter.netfilter.ipset import Element, IpSet

if TYPE_CHECKING:
    from pynetfilter.netfilter.ipset_session import Session

_VALUED = ("timeout", "packets", "bytes", "comment", "skbmark", "skbprio", "skbqueue", "before", "after")
EXIST = "Element cannot be added to the set: it's already added"


def _options(s: IpSet, cmd: str, opts: list[str]) -> dict[str, str]:
    got: dict[str, str] = {}
    nomatch_ok = T.TYPES[s.type].nomatch
    i = 0
    while i < len(opts):
        o = opts[i]
        if o == "nomatch" and nomatch_ok and cmd != "del":
            got[o] = ""
            i += 1
            continue
        listing = o in ("before", "after")
        if o not in _VALUED or (listing and s.type != "list:set") or (not listing and cmd != "add"):
            raise T.usage_error(f"Unknown argument: `{o}'")
        if i + 1 >= len(opts):
            raise T.usage_error(f"Missing mandatory argument of option `{o}'")
        got[o] = opts[i + 1]
        i += 2
    return got


def _element(s: IpSet, got: dict[str, str], now: float, fractional: bool = False) -> Element:
    e = Element(nomatch="nomatch" in got)
    if "timeout" in got:
        text = got["timeout"]
        t: float = float(text) if fractional and "." in text else T.number(text, 0, T.MAX_TIMEOUT)
        e.expires = None if t == 0 else now + t
    elif s.timeout:
        e.expires = now + s.timeout
    for what in ("packets", "bytes"):
        if what in got:
            setattr(e, what, T.number(got[what], 0, 2**64 - 1))
    if "comment" in got:
        if len(got["comment"]) > 255:
            raise T.syntax("Comment is longer than the maximum allowed 255 characters")
        e.comment = got["comment"] or None
    if "skbmark" in got:
        mark, slash, msk = got["skbmark"].partition("/")
        try:
            if not mark.startswith("0x") or (slash and not msk.startswith("0x")):
                raise ValueError
            e.skbmark, e.skbmarkmask = int(mark, 16), int(msk, 16) if slash else 0xFFFFFFFF
        except ValueError:
            raise T.syntax("Invalid skbmark format, it should be:  MARK/MASK or MARK (see manpage)") from None
    if "skbprio" in got:
        major, colon, minor = got["skbprio"].partition(":")
        try:
            e.skbprio = int(major, 16) << 16 | int(minor, 16)
        except ValueError:
            raise T.syntax("Invalid skbprio format, it should be:MAJOR:MINOR (see manpage)") from None
        if not colon:
            raise T.syntax("Invalid skbprio format, it should be:MAJOR:MINOR (see manpage)")
    if "skbqueue" in got:
        e.skbqueue = T.number(got["skbqueue"], 0, 0xFFFF)
    return e


def _kernel_ext_check(s: IpSet, got: dict[str, str]) -> None:
    if "timeout" in got and s.timeout is None:
        raise T.IpsetError("Timeout cannot be used: set was created without timeout support")
    if ("packets" in got or "bytes" in got) and not s.counters:
        raise T.IpsetError("Packet/byte counters cannot be used: set was created without counter support")
    if "comment" in got and not s.comment:
        raise T.IpsetError("Comment cannot be used: set was created without comment support")
    if any(k in got for k in ("skbmark", "skbprio", "skbqueue")) and not s.skbinfo:
        raise T.IpsetError("Skbinfo mapping cannot be used: set was created without skbinfo support")


def adt(session: Session, cmd: str, args: list[str], flags: set[str]) -> tuple[str, str]:
    s = session._get(args[0])
    text = args[1]
    if s.type == "bitmap:ip,mac":
        from pynetfilter.netfilter import ipset_ipmac

        ipset_ipmac.parse_elem(text)
    else:
        try:
            keys = E.parse_keys(s, text, expand=cmd != "test")
        except T.IpsetError as e:
            if getattr(e, "family_mismatch", False):  # ipset's parser then loses the set name
                if cmd == "del":
                    e.text = ("There are missing mandatory flags but can't check them. "
                              "It's a bug, please report the problem.")
                else:
                    e.text += f"\nInvalid {cmd} command: missing setname"
            raise
    got = _options(s, cmd, args[2:])
    elem = _element(s, got, session.now, session.fractional)
    if cmd != "test":
        _kernel_ext_check(s, got)
    if cmd != "test" and s.type in ("hash:ip", "hash:ip,port") and keys[0][0] == 0:  # uadt on 0/::
        if s.type == "hash:ip":
            raise T.IpsetError("Null-valued element, cannot be stored in a hash type of set")
        if s.type == "hash:ip,port":
            raise T.IpsetError("Kernel error received: Invalid argument")
    if s.type == "bitmap:ip,mac":
        found = ipset_ipmac.uadt(s, cmd, text, got, elem, flags, session.now)
        return "", _tested(found, text, s.name, flags) if cmd == "test" else ""
    if s.type == "list:set":
        return _list_adt(session, s, cmd, text, keys[0][0], got, elem, flags)
    if s.type.startswith("bitmap:"):
        lo, hi = s.range
        if any(not lo <= k[0] <= hi for k in keys):
            raise T.IpsetError("Element is out of the range of the set")
    now = session.now
    if cmd == "test":
        found = _test(s, keys[0], now)
        return "", _tested(found, text, s.name, flags)
    for key in keys:
        if cmd == "del":
            if not s.live(key, now):
                if "exist" in flags:
                    continue
                raise T.IpsetError("Element cannot be deleted from the set: it's not added")
            s.remove(key)
            continue
        _add(s, key, elem, got, now, "exist" in flags)
    return "", ""


def _add(s: IpSet, key: tuple[Any, ...], elem: Element, got: dict[str, str], now: float, exist: bool) -> None:
    old = s.elements.get(key)
    if old is not None:
        if s.live(key, now) and not exist:
            raise T.IpsetError(EXIST)
        new = replace(elem)
        if "packets" not in got and s.live(key, now):
            new.packets = old.packets
        if "bytes" not in got and s.live(key, now):
            new.bytes = old.bytes
        s.elements[key] = new
        return
    live = sum(1 for k in s.elements if s.live(k, now))
    if live >= s.maxelem:
        if s.timeout is not None:
            for k in [k for k in s.elements if not s.live(k, now)]:
                s.remove(k)
        if live >= s.maxelem and not (s.forceadd and s.layout is not None and _force(s, key, now)):
            raise T.IpsetError("Hash is full, cannot add more elements")
    s.add(key, replace(elem), now)


def _force(s: IpSet, key: tuple[Any, ...], now: float) -> bool:
    """forceadd on a full set: the key's bucket gives up its first slot (none: the set is full)."""
    assert s.layout is not None
    n = s.layout.buckets.get(s.layout._key(key))
    if n is None:
        return False
    victim = next((k for k in n.slots if k is not None), None)
    if victim is not None:
        s.remove(victim)
    return True


def _test(s: IpSet, key: tuple[Any, ...], now: float) -> bool:
    dims = s.dims
    hosts = all(part[1] == s.bits for kind, part in zip(dims, key, strict=True) if kind == "net")
    if "net" in dims and hosts:
        values = [part[0] if kind == "net" else part for kind, part in zip(dims, key, strict=True)]
        e = s.lookup(values, now)
    else:
        e = s.elements.get(key) if s.live(key, now) else None
    return e is not None and not e.nomatch


def _tested(found: bool, text: str, name: str, flags: set[str]) -> str:
    if "quiet" in flags:
        if not found:
            raise T.IpsetError("", status=1)
        return ""
    if not found:
        raise T.IpsetError(f"{text} is NOT in set {name}.", bare=True)
    return f"Warning: {text} is in set {name}.\n"


def _list_adt(session: Session, s: IpSet, cmd: str, text: str, member: str, got: dict[str, str],
              elem: Element, flags: set[str]) -> tuple[str, str]:
    m = session.sets.get(member)
    if m is None:
        raise T.IpsetError("Set to be added/deleted/tested as element does not exist.")
    if m.type == "list:set" and cmd == "add":
        raise T.IpsetError("Sets with list:set type cannot be added to the set.")
    where = "before" if "before" in got else "after" if "after" in got else ""
    ref = got.get(where, "")
    if where and ref not in session.sets:
        raise T.IpsetError("The set to which you referred with 'before' or 'after' does not exist.")
    members = s.members
    if cmd == "test":
        ok = member in members and s.live((member,), session.now)
        if ok and where:
            i = members.index(member)
            ok = (members[i + 1:i + 2] if where == "before" else members[i - 1:i] if i else []) == [ref]
        # ipset prints the other word for a before/after test (its own quirk, kept).
        shown = f"{member} {'after' if where == 'before' else 'before'} {ref}" if where else text
        return "", _tested(ok, shown, s.name, flags)
    if cmd == "del":
        if member not in members:
            if "exist" in flags:
                return "", ""
            raise T.IpsetError("Element cannot be deleted from the set: it's not added")
        s.remove((member,))
        return "", ""
    if member in members:
        if "exist" in flags:
            s.elements[(member,)] = elem
            return "", ""
        raise T.IpsetError(EXIST)
    if len(members) >= s.size:
        raise T.IpsetError("The set is full, more elements cannot be added")
    if where and ref not in members:
        raise T.IpsetError("Reference set does not exist")
    s.add((member,), elem, session.now)
    if where:
        members.remove(member)
        members.insert(members.index(ref) + (where == "after"), member)
    return "", ""
