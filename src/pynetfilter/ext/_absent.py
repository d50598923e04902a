"""Extensions iptables still ships (libipt_ULOG, libxt_LED, libipt_CLUSTERIP, libxt_ipvs) whose
kernel module this kernel lacks: iptables parses their options as usual, then the kernel finds
no such target or match when the table is loaded (``iptables: No chain/target/match by that
name.``, exit 1; in iptables-restore the COMMIT line fails).  Their names still clash with chain
names (-N)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Target


def _missing(name: str, module: str) -> KernelRefusal:
    """What loading a rule that names an extension without its kernel module gives."""
    return KernelRefusal(f"No chain/target/match by that name ({name}: no {module} in this kernel)")


@dataclass(frozen=True, slots=True)
class AbsentTarget(Target):
    """A target the kernel does not know; instances keep the parsed options only to compare rules."""

    # The kernel module this target needs (for the refusal's text).
    module: ClassVar[str] = ""

    def check(self, ctx: CheckContext) -> None:
        # xt_request_find_target fails before any checkentry: -ENOENT.
        raise _missing(self.name, self.module)


@dataclass(frozen=True, slots=True)
class AbsentMatch(Match):
    """A match the kernel does not know; instances keep the parsed options only to compare rules."""

    module: ClassVar[str] = ""

    def check(self, ctx: CheckContext) -> None:
        # xt_request_find_match fails before any checkentry: -ENOENT.
        raise _missing(self.name, self.module)


def parse_string(text: str, opt: str, lo: int, hi: int) -> str:
    """XTTYPE_STRING's length limits (xtopt_parse_string): between *lo* and *hi* bytes (0: none)."""
    n = len(text.encode("utf-8", "surrogateescape"))
    if lo and n < lo:
        raise ParameterProblem(f"Argument must have a minimum length of {lo} characters: --{opt} \"{text}\"")
    if hi and n > hi:
        raise ParameterProblem(f"Argument must have a maximum length of {hi} characters: --{opt} \"{text}\"")
    return text

