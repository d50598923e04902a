"""-j SECMARK (xt_SECMARK revision 1): set the packet's security mark from an SELinux context.

Only in the mangle and security tables.  The kernel maps the context to a secid through the
active LSM at load time; this machine's kernel has no LSM that maps one (SELinux is built in but
not in the LSM list), so it refuses every such rule (ENOENT) and pynetfilter does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import save_string
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

SECCTX_MAX = 256  # SECMARK_SECCTX_MAX


@dataclass(frozen=True, slots=True)
class Secmark(Target):
    """struct xt_secmark_target_info_v1: mode (SELinux) and the context text; secid from the LSM."""

    name: ClassVar[str] = "SECMARK"
    options: ClassVar[tuple[Opt, ...]] = (Opt("selctx", mandatory=True),)

    selctx: str = ""
    secid: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Secmark:
        raw = opts["selctx"].value.encode("utf-8", "surrogateescape")[:SECCTX_MAX - 1]
        return cls(raw.decode("utf-8", "surrogateescape"))

    def save(self) -> str:
        return " --selctx" + save_string(self.selctx)

    def describe(self, numeric: bool) -> str:
        return f" SECMARK selctx {self.selctx}"

    def check(self, ctx: CheckContext) -> None:
        if ctx.table not in ("mangle", "security"):
            raise KernelRefusal(
                f"SECMARK target: only valid in 'mangle' or 'security' table, not '{ctx.table}'")
        # security_secctx_to_secid: no active LSM maps contexts here, the secid stays 0
        raise KernelRefusal(f"SECMARK target: unable to map security context '{self.selctx}' (ENOENT)")

    def tg(self, pkt: Packet, par: Par) -> int:
        """secmark_tg: skb->secmark = the secid (a rule only loads where an LSM gave one)."""
        pkt.meta.secmark = self.secid
        return XT_CONTINUE


EXTENSION = Secmark
