"""-m owner (xt_owner, revision 1): the local socket's owner; OUTPUT and POSTROUTING only.

pynetfilter sees packets, not processes: the answer comes from the packet's
metadata (``meta.socket``, ``meta.uid``, ``meta.gid`` and, for
--suppl-groups, ``meta.groups``), which the packet's source
(a replay, a test, the trace command line) supplies.  A packet without that
metadata has no socket, and the kernel's rules for that case apply."""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

UID, GID, SOCKET, SUPPL_GROUPS = 1, 2, 4, 8


def _user(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except (KeyError, ValueError):
        return None


def _group(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except (KeyError, ValueError):
        return None


def parse_range(text: str, opt: str) -> tuple[int, int]:
    """owner_parse_range: ``n``, ``n-m`` or ``n:m``, each 0..2^32-2 in base 0."""
    bad = ParameterProblem(f'bad value "{text}" for {opt}: expected an id or range 0-4294967294 or a name')
    r = strtoul(text)
    if r is None or r[0] > 2**32 - 2:
        raise bad
    lo, rest = r
    hi = lo
    if rest[:1] in ("-", ":"):
        r = strtoul(rest[1:])
        if r is None or r[0] > 2**32 - 2:
            raise bad
        hi, rest = r
    if rest:
        raise bad
    return lo, hi


def _name(num: int, kind: str) -> str | None:
    try:
        return pwd.getpwuid(num).pw_name if kind == "u" else grp.getgrgid(num).gr_name
    except (KeyError, OverflowError):
        return None


@dataclass(frozen=True, slots=True)
class Owner(Match):
    """struct xt_owner_match_info."""

    name: ClassVar[str] = "owner"
    hooks: ClassVar[int] = hook_mask(Hook.OUTPUT, Hook.POSTROUTING)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("uid-owner", invert=True),
        Opt("gid-owner", invert=True),
        Opt("socket-exists", nargs=0, invert=True),
        Opt("suppl-groups", nargs=0),
    )

    uid: tuple[int, int] = (0, 0)
    gid: tuple[int, int] = (0, 0)
    match: int = 0
    invert: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Owner:
        uid = gid = (0, 0)
        match = invert = 0
        for g in opts.items:
            n = g.opt.name
            bit = {"uid-owner": UID, "gid-owner": GID, "socket-exists": SOCKET}.get(n, SUPPL_GROUPS)
            if n == "uid-owner":
                num = _user(g.value)
                uid = (num, num) if num is not None else parse_range(g.value, "--uid-owner")
            elif n == "gid-owner":
                num = _group(g.value)
                gid = (num, num) if num is not None else parse_range(g.value, "--gid-owner")
            elif n == "suppl-groups" and not match & GID:
                raise ParameterProblem('bad value for "--suppl-groups": you need to use --gid-owner first')
            match |= bit
            invert |= bit if g.inverted else 0
        if not match:
            raise ParameterProblem("owner: At least one of --uid-owner, --gid-owner or --socket-exists "
                                   "is required")
        return cls(uid, gid, match, invert)

    def check(self, ctx: CheckContext) -> None:
        for bit, (lo, hi) in ((UID, self.uid), (GID, self.gid)):
            if self.match & bit and hi < lo:
                raise KernelRefusal(f"owner: id range {lo}-{hi} is reversed (EINVAL)")

    def mt(self, pkt: Packet, par: Par) -> bool:
        meta = pkt.meta
        if not (meta.socket or meta.uid is not None or meta.gid is not None):
            # No socket: only rules asking for nothing but "! --socket-exists" match.
            return (self.match ^ self.invert) == 0
        if self.match & self.invert & SOCKET:
            return False
        if meta.uid is None and meta.gid is None:
            # A socket without a file (a kernel socket): uid/gid tests must all be inverted.
            return ((self.match ^ self.invert) & (UID | GID)) == 0
        if self.match & UID:
            lo, hi = self.uid
            hit = meta.uid is not None and lo <= meta.uid <= hi
            if hit == bool(self.invert & UID):
                return False
        if self.match & GID:
            lo, hi = self.gid
            hit = meta.gid is not None and lo <= meta.gid <= hi
            if not hit and self.match & SUPPL_GROUPS:
                hit = any(lo <= g <= hi for g in meta.groups)
            if hit == bool(self.invert & GID):
                return False
        return True

    def meta_note(self) -> str:
        return "owner: answered from packet metadata (socket, uid, gid)"

    def _item(self, label: str, bit: int, numeric: bool) -> str:
        if not self.match & bit:
            return ""
        out = (" !" if self.invert & bit else "") + f" {label}"
        if bit in (UID, GID):
            lo, hi = self.uid if bit == UID else self.gid
            if lo != hi:
                return out + f" {lo}-{hi}"
            name = None if numeric else _name(lo, "u" if bit == UID else "g")
            return out + f" {name if name is not None else lo}"
        return out

    def save(self) -> str:
        return (self._item("--socket-exists", SOCKET, True) + self._item("--uid-owner", UID, True)
                + self._item("--gid-owner", GID, True) + self._item("--suppl-groups", SUPPL_GROUPS, True))

    def describe(self, numeric: bool) -> str:
        return (self._item("owner socket exists", SOCKET, numeric)
                + self._item("owner UID match", UID, numeric)
                + self._item("owner GID match", GID, numeric)
                + self._item("incl. suppl. groups", SUPPL_GROUPS, numeric))


EXTENSION = Owner
