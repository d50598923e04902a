"""-j REDIRECT (revision 0): destination NAT to the local machine, optionally to other ports.

Only in the nat table's PREROUTING and OUTPUT hooks; no shifted port maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.ext._nat import NatTarget
from pynetfilter.ext.base import Opt
from pynetfilter.model.tables import Hook, hook_mask


@dataclass(frozen=True, slots=True)
class Redirect(NatTarget):
    name: ClassVar[str] = "REDIRECT"
    table: ClassVar[str | None] = "nat"
    hooks: ClassVar[int] = hook_mask(Hook.PREROUTING, Hook.OUTPUT)
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("to-ports"),
        Opt("random", nargs=0),
    )
    list_prefix: ClassVar[str] = "redir ports "
    save_option: ClassVar[str] = "--to-ports"
    skip_colon: ClassVar[bool] = True
    has_base: ClassVar[bool] = False
    no_offset: ClassVar[bool] = True


EXTENSION = Redirect
