"""-m realm (xt_realm): the route's realm, ``dst->tclassid``, under a mask.

Names come from /etc/iproute2/rt_realms, read as iptables reads it.  pynetfilter's
routes carry no realm (``ip route ... realm N`` is not modelled), so every
packet's realm is 0, as the kernel's is for routes without one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

REALMS_FILE = Path("/etc/iproute2/rt_realms")
U32 = 0xFFFFFFFF


@functools.cache
def realm_map() -> tuple[tuple[int, str], ...]:
    """xtables_lmap_init: ``id name`` lines, comments and blank lines skipped, in file order."""
    try:
        lines = REALMS_FILE.read_text().splitlines()
    except OSError:
        return ()
    out = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            r = strtoul(fields[0])
            if r is not None and r[1] == "":
                out.append((r[0], fields[1]))
    return tuple(out)


def _uint(text: str) -> tuple[int, str] | None:
    r = strtoul(text)
    return None if r is None or r[0] > U32 else r


def parse_realm(text: str) -> tuple[int, int]:
    """xtables_parse_val_mask with the realm names: ``value[/mask]``, else a name."""
    names = realm_map()
    r = _uint(text)
    if r is not None and r[1] == "":
        return r[0], U32
    if r is not None and r[1].startswith("/"):
        m = _uint(r[1][1:])
        if m is None or m[1] != "":
            raise ParameterProblem(
                f'realm: bad integer value for option "--realm", or out of range: "{text}", '
                "expected value[/mask]"
            )
        return r[0], m[0]
    for num, name in names:
        if name == text:
            return num, U32
    raise ParameterProblem(
        f'realm: could not map name {text} to an integer value for option "--realm": '
        f"expected a number, value/mask or a name of {REALMS_FILE}"
    )


def fmt_realm(value: int, mask: int, numeric: bool) -> str:
    if mask != U32:
        return f"0x{value:x}/0x{mask:x}"
    if not numeric:
        for num, name in realm_map():
            if num == value:
                return name
    return f"0x{value:x}"


@dataclass(frozen=True, slots=True)
class Realm(Match):
    """struct xt_realm_info."""

    name: ClassVar[str] = "realm"
    hooks: ClassVar[int] = hook_mask(Hook.POSTROUTING, Hook.FORWARD, Hook.OUTPUT, Hook.INPUT)
    options: ClassVar[tuple[Opt, ...]] = (Opt("realm", invert=True, mandatory=True),)

    id: int = 0
    mask: int = U32
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Realm:
        g = opts["realm"]
        value, mask = parse_realm(g.value)
        return cls(value, mask, g.inverted)

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --realm {fmt_realm(self.id, self.mask, False)}"

    def describe(self, numeric: bool) -> str:
        return f"{' !' if self.invert else ''} realm {fmt_realm(self.id, self.mask, numeric)}"

    def mt(self, pkt: Packet, par: Par) -> bool:
        """realm_mt: the route's tclassid under the mask; no modelled route has a realm (0)."""
        tclassid = 0
        return (self.id == tclassid & self.mask) != self.invert


EXTENSION = Realm
