"""-m helper (xt_helper): the name of the connection's conntrack helper.

As in the kernel, the helper looked at is the one of the *master* connection:
the match is about connections a helper expected (RELATED), e.g. ftp data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.conntrack import ct_get
from pynetfilter.ext.types import save_string

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

NAME_MAX = 29  # char name[30], NUL-terminated: longer names are cut


@dataclass(frozen=True, slots=True)
class Helper(Match):
    """struct xt_helper_info."""

    name: ClassVar[str] = "helper"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (Opt("helper", invert=True, mandatory=True),)

    helper: str = ""
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Helper:
        g = opts["helper"]
        raw = g.value.encode("utf-8", "surrogateescape")[:NAME_MAX]
        return cls(raw.decode("utf-8", "surrogateescape"), g.inverted)

    def mt(self, pkt: Packet, par: Par) -> bool:
        ct, _ = ct_get(pkt)
        master = ct.master if ct is not None else None
        name = master.helper if master is not None else None
        if not name:
            return self.invert
        if not self.helper:
            return not self.invert
        # strncmp(helper->name, info->name, strlen(helper->name)): a prefix test.
        return self.helper.startswith(name) != self.invert

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --helper{save_string(self.helper)}"

    def describe(self, numeric: bool) -> str:
        return f' helper match {"! " if self.invert else ""}"{self.helper}"'


EXTENSION = Helper
