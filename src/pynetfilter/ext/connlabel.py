"""-m connlabel (xt_connlabel): one of the 128 conntrack label bits; ``--set`` sets it.

Names come from /etc/xtables/connlabel.conf, the file libnetfilter_conntrack's
labelmap reads for iptables; a bit number is taken too (without the file iptables
warns and takes numbers only).  Every connection pynetfilter tracks carries
labels (the kernel gives them to connections created once a connlabel rule is
loaded; connections older than the rule have none).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

LABEL_FILE = Path("/etc/xtables/connlabel.conf")
MAX_BIT = 127  # NF_CT_LABELS_MAX_SIZE * 8 - 1
OP_INVERT, OP_SET = 0x1, 0x2
_NUMBER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", re.ASCII)


@functools.cache
def label_map() -> tuple[tuple[int, str], ...] | None:
    """The ``bit name`` lines of the label file, or None when there is no such file."""
    try:
        lines = LABEL_FILE.read_text().splitlines()
    except OSError:
        return None
    out = []
    for line in lines:
        fields = line.split("#", 1)[0].split(None, 1)
        if len(fields) == 2 and (fields[0].isascii() and fields[0].isdigit()):
            out.append((int(fields[0]), fields[1].strip()))
    if not out:
        raise ParameterProblem(f"cannot parse {LABEL_FILE}: no labels found")
    return tuple(out)


def parse_label(text: str) -> int:
    """A name of the label file, else a bit number (connlabel_value_parse)."""
    for bit, name in label_map() or ():
        if name == text:
            return bit
    m = _NUMBER.fullmatch(text)
    if m is None:
        raise ParameterProblem(f"label '{text}' not found or invalid value: expected a bit number")
    digits = m.group(2)
    base = 16 if digits[:2] in ("0x", "0X") else 8 if digits.startswith("0") else 10
    value = min(int(digits, base), 2**64 - 1)  # strtoul saturates
    if m.group(1) == "-":
        value = -value % 2**64
    as_int = value & 0xFFFFFFFF
    if as_int >= 2**31:  # connlabel_value_parse returns an int: negative is refused
        raise ParameterProblem(f"label '{text}' not found or invalid value: expected a bit number")
    return as_int & 0xFFFF  # struct xt_connlabel_mtinfo keeps a __u16


def label_name(bit: int) -> str | None:
    names = label_map()
    return next((name for b, name in names or () if b == bit and name), None)


@dataclass(frozen=True, slots=True)
class Connlabel(Match):
    """struct xt_connlabel_mtinfo."""

    name: ClassVar[str] = "connlabel"
    needs_conntrack: ClassVar[bool] = True
    options: ClassVar[tuple[Opt, ...]] = (Opt("label", invert=True, mandatory=True), Opt("set", nargs=0))

    bit: int = 0
    options_: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Connlabel:
        g = opts["label"]
        if g.value == "":
            raise ParameterProblem("Argument must have a minimum length of 1 characters: --label")
        ops = (OP_INVERT if g.inverted else 0) | (OP_SET if "set" in opts else 0)
        return cls(parse_label(g.value), ops)

    def save(self) -> str:
        name = label_name(self.bit)
        bang = " !" if self.options_ & OP_INVERT else ""
        return f'{bang} --label "{name if name else self.bit}"' + (" --set" if self.options_ & OP_SET else "")

    def describe(self, numeric: bool) -> str:
        name = None if numeric else label_name(self.bit)
        out = " connlabel" + (" !" if self.options_ & OP_INVERT else "")
        out += f" '{name}'" if name else f" {self.bit}"
        return out + (" set" if self.options_ & OP_SET else "")

    def check(self, ctx: CheckContext) -> None:
        """connlabel_mt_check: nf_connlabels_get refuses a bit beyond the 128 label bits."""
        if self.bit > MAX_BIT:
            raise KernelRefusal(f"connlabel match: label bit {self.bit} out of range: at most {MAX_BIT} "
                                "(ERANGE)")

    def mt(self, pkt: Packet, par: Par) -> bool:
        """connlabel_mt: no connection (or one without labels) matches only inverted; --set
        sets the bit on the connection and matches."""
        invert = bool(self.options_ & OP_INVERT)
        ct = pkt.meta.ct
        if ct is None or pkt.meta.untracked or ct.is_template:
            return invert
        bit = 1 << self.bit
        if ct.labels & bit:
            return not invert
        if self.options_ & OP_SET:
            ct.labels |= bit
            return not invert
        return invert


EXTENSION = Connlabel
