"""-m state: iptables 1.8.9 loads it as conntrack revision 3 with the state-alias flag.

The kernel holds an xt_conntrack_mtinfo3; iptables-save prints it back as ``-m state --state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.base import Match, Opt, Options, RuleContext
from pynetfilter.ext.conntrack import (
    S_ESTABLISHED,
    S_INVALID,
    S_NEW,
    S_RELATED,
    S_UNTRACKED,
    ct_get,
    fmt_states,
    prefix_lookup,
    state_bit,
)

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

# state_parse_state's lookup order (no SNAT/DNAT for -m state).
_LOOKUP = (
    ("INVALID", S_INVALID), ("NEW", S_NEW), ("ESTABLISHED", S_ESTABLISHED), ("RELATED", S_RELATED),
    ("UNTRACKED", S_UNTRACKED),
)
_NAMES = "INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED"


def parse_states(text: str) -> int:
    """state_parse_states: comma-separated (abbreviable) state names, no empty item."""
    out = 0
    rest = text
    while "," in rest:
        word, rest = rest.split(",", 1)
        bit = prefix_lookup(word, _LOOKUP)
        if bit is None:
            raise ParameterProblem(f'Bad state "{word},{rest}": expected {_NAMES}')
        out |= bit
    if not rest:
        raise ParameterProblem('"--state" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED')
    bit = prefix_lookup(rest, _LOOKUP)
    if bit is None:
        raise ParameterProblem(f'Bad state "{rest}": expected {_NAMES}')
    return out | bit


@dataclass(frozen=True, slots=True)
class State(Match):
    """xt_conntrack_mtinfo3 with match_flags STATE|STATE_ALIAS."""

    name: ClassVar[str] = "state"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (Opt("state", invert=True, mandatory=True),)

    state_mask: int = 0
    invert: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> State:
        g = opts["state"]
        return cls(parse_states(g.value), g.inverted)

    def mt(self, pkt: Packet, par: Par) -> bool:
        # conntrack_mt with only the state test (NAT bits are not in a --state mask).
        return bool(self.state_mask & state_bit(*ct_get(pkt))) != self.invert

    def save(self) -> str:
        return f"{' !' if self.invert else ''} --state {fmt_states(self.state_mask)}"

    def describe(self, numeric: bool) -> str:
        return f"{' !' if self.invert else ''} state {fmt_states(self.state_mask)}"


EXTENSION = State
