"""-m nfacct (xt_nfacct): counts the packet into a named nfacct object; always matches.

The kernel's checkentry looks the object up by name (nfnl_acct_find_get) and
refuses the rule with ENOENT when it does not exist; iptables then prints
"No chain/target/match by that name.".  The objects that exist travel with
the Ruleset's ``ipsets`` mapping (a :class:`KernelObjects`, the kernel's named
objects a rule may refer to); at run time the engine's ``nfacct`` dict
(name -> pynetfilter.netfilter.nfacct.NfAcct) is counted into.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

NAME_MAX = 32  # NFACCT_NAME_MAX: the name is kept NUL-terminated in 32 bytes


class KernelObjects(dict[str, str]):
    """The ipsets that exist (name -> family), and, as ``.nfacct``, the nfacct objects."""

    def __init__(self, ipsets: Mapping[str, str] | None = None, nfacct: Iterable[str] = ()) -> None:
        super().__init__(ipsets or {})
        self.nfacct: set[str] = set(nfacct)

    def __bool__(self) -> bool:
        # Never "empty": callers write ``ipsets or {}``, which must keep the nfacct objects.
        return True


def nfacct_names(objects: Mapping[str, str]) -> set[str]:
    return getattr(objects, "nfacct", set())


@dataclass(frozen=True, slots=True)
class Nfacct(Match):
    name: ClassVar[str] = "nfacct"
    options: ClassVar[tuple[Opt, ...]] = (Opt("nfacct-name", mandatory=True),)

    acct: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Nfacct:
        raw = opts["nfacct-name"].value.encode("utf-8", "surrogateescape")
        # The option is copied into the 32-byte name: a longer one is cut (and then not found).
        return cls(raw[:NAME_MAX - 1].decode("utf-8", "surrogateescape"))

    def check(self, ctx: CheckContext) -> None:
        if self.acct not in nfacct_names(ctx.ipsets):
            raise KernelRefusal("No chain/target/match by that name.")

    def save(self) -> str:
        return f" --nfacct-name  {self.acct}"

    def describe(self, numeric: bool) -> str:
        return f" nfacct-name  {self.acct}"

    def mt(self, pkt: Packet, par: Par) -> bool:
        from pynetfilter.netfilter.traverse import packet_len

        objs: dict[str, Any] = par.engine.__dict__.setdefault("nfacct", {})
        obj = objs.get(self.acct)
        if obj is not None:  # nfnl_acct_update: bytes are the whole skb (the IP datagram)
            obj.pkts += 1
            obj.bytes += packet_len(pkt)
        return True


EXTENSION = Nfacct
