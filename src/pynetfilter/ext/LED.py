"""-j LED (libxt_LED): blink a LED trigger; xt_LED needs CONFIG_NEW_LEDS, which this kernel lacks.

iptables parses the options; the kernel then refuses the rule (see pynetfilter.ext._absent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext._absent import AbsentTarget, parse_string
from pynetfilter.ext.base import Opt, Options, RuleContext
from pynetfilter.ext.types import try_uint

# sizeof(xt_led_info.id) - sizeof("netfilter-"): the trigger id iptables prefixes with "netfilter-".
ID_MAX = 27 - 11
DELAY_INF = 0xFFFFFFFF  # -1


@dataclass(frozen=True, slots=True)
class Led(AbsentTarget):
    """struct xt_led_info."""

    name: ClassVar[str] = "LED"
    module: ClassVar[str] = "xt_LED"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("led-trigger-id", mandatory=True),
        Opt("led-delay"),
        Opt("led-always-blink", nargs=0),
    )

    trigger_id: str = ""
    always_blink: bool = False
    delay: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Led:
        trigger, blink, delay = "", False, 0
        for g in opts.items:
            n = g.opt.name
            if n == "led-trigger-id":
                trigger = parse_string(g.value, n, 0, ID_MAX)
            elif n == "led-delay":
                if g.value[:3].lower() == "inf":
                    delay = DELAY_INF
                else:
                    v = try_uint(g.value)
                    if v is None:
                        raise ParameterProblem(f"Delay value must be within range 0..4294967295: "
                                               f'--led-delay "{g.value}"')
                    delay = v
            elif n == "led-always-blink":
                blink = True
        return cls(trigger, blink, delay)


EXTENSION = Led
