"""-j IDLETIMER (xt_IDLETIMER revision 1): restart a named timer (sysfs) on every packet.

The timer's expiry is a sysfs notification, nothing a packet or netfilter's state sees: the
target's verdict is always XT_CONTINUE.  The kernel refuses a zero timeout, one of 2147483
seconds or more (INT_MAX / 1000), and labels that are no valid sysfs file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.types import parse_uint
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

LABEL_SIZE = 28  # MAX_IDLETIMER_LABEL_SIZE
MAX_TIMEOUT = 0x7FFFFFFF // 1000  # timeouts from here on are refused


@dataclass(frozen=True, slots=True)
class Idletimer(Target):
    """struct idletimer_tg_info_v1: timeout (seconds), label, timer_type."""

    name: ClassVar[str] = "IDLETIMER"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("timeout", mandatory=True), Opt("label", mandatory=True), Opt("alarm", nargs=0),
    )

    timeout: int = 0
    label: str = ""
    alarm: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Idletimer:
        try:
            timeout = parse_uint(opts["timeout"].value, 0, 0xFFFFFFFF)
        except ParameterProblem:
            raise ParameterProblem(
                'IDLETIMER: bad value for option "--timeout", or out of range (0-4294967295).') from None
        # XTTYPE_STRING into label[28]: a longer label is cut to 27 bytes
        raw = opts["label"].value.encode("utf-8", "surrogateescape")[:LABEL_SIZE - 1]
        return cls(timeout, raw.decode("utf-8", "surrogateescape"), "alarm" in opts)

    def save(self) -> str:
        return f" --timeout {self.timeout} --label {self.label}" + (" --alarm" if self.alarm else "")

    def describe(self, numeric: bool) -> str:
        return f" timeout:{self.timeout} label:{self.label}" + (" alarm" if self.alarm else "")

    def check(self, ctx: CheckContext) -> None:
        if self.timeout == 0 or self.timeout >= MAX_TIMEOUT:
            raise KernelRefusal(f"IDLETIMER target: timeout {self.timeout} out of range 1-{MAX_TIMEOUT - 1}")
        if self.label in ("", ".", "..") or "/" in self.label:  # xt_check_proc_name
            raise KernelRefusal(f'IDLETIMER target: label "{self.label}" is no valid file name')

    def shared_object(self) -> tuple[tuple[str, str], tuple[object, ...]]:
        """The timer is per label: other rules naming it must ask for the same kind (alarm or not)."""
        return ("IDLETIMER", self.label), (self.alarm,)

    def tg(self, pkt: Packet, par: Par) -> int:
        """idletimer_tg: mod_timer(now + timeout) and continue."""
        return XT_CONTINUE


EXTENSION = Idletimer
