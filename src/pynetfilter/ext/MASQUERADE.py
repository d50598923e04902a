"""-j MASQUERADE (revision 0): source NAT to the outgoing interface's address.

Only in the nat table's POSTROUTING hook.  ``--to-ports`` needs a port protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext._nat import NatTarget
from pynetfilter.ext.base import Opt
from pynetfilter.model.tables import Hook, hook_mask


@dataclass(frozen=True, slots=True)
class Masquerade(NatTarget):
    name: ClassVar[str] = "MASQUERADE"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.POSTROUTING)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("to-ports"),
        Opt("random", nargs=0),
        Opt("random-fully", nargs=0),
    )
    list_prefix: ClassVar[str] = "masq ports: "
    save_option: ClassVar[str] = "--to-ports"
    skip_colon: ClassVar[bool] = True
    has_base: ClassVar[bool] = False


EXTENSION = Masquerade
