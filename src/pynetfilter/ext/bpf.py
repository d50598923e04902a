"""-m bpf (xt_bpf revision 1): a classic BPF program, or a pinned eBPF object.

``--bytecode`` is what ``nfbpf_compile RAW 'expr'`` prints: the instruction
count, then ``code jt jf k`` per instruction, comma separated.  The kernel
checks the program at load (bpf_check_classic) and runs it over the packet
from its IP header; pynetfilter does both (ext/_cbpf.py).  ``--object-pinned``
names a program pinned in this machine's bpf filesystem: iptables must find it
there, and pynetfilter cannot run it (no match, and the trace says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext import _cbpf
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MAX_INSTR = 64  # XT_BPF_MAX_NUM_INSTR
PATH_MAX = 512  # XT_BPF_PATH_MAX
_NUM = r"\s*([+-]?[0-9]+)"
_HEAD = re.compile(_NUM + r"(.)", re.S)
_INSN = re.compile(_NUM * 4)
_PKTTYPES = {"host": 0, "broadcast": 1, "multicast": 2, "otherhost": 3, "outgoing": 4}


def _c_unsigned(text: str, bits: int) -> int:
    """sscanf's %hu/%hhu/%u: strtoul (sign allowed, saturating) cut to the field's width."""
    v = min(int(text.lstrip("+-")), 2**64 - 1)
    if text.startswith("-"):
        v = -v % 2**64
    return v & ((1 << bits) - 1)


def parse_bytecode(text: str) -> tuple[_cbpf.Insn, ...]:
    """bpf_parse_string."""
    m = _HEAD.match(text)
    if m is None or m.group(2) != ",":
        raise ParameterProblem("bpf: error parsing program length: expected N,code jt jf k,...")
    n = _c_unsigned(m.group(1), 16)
    if n == 0:
        raise ParameterProblem("bpf: illegal zero length program")
    if n > MAX_INSTR:
        raise ParameterProblem(f"bpf: number of instructions exceeds maximum ({MAX_INSTR})")
    prog: list[_cbpf.Insn] = []
    pos = text.find(",")
    while pos >= 0 and pos + 1 < len(text):
        token = text[pos + 1:]
        if len(prog) >= n:
            raise ParameterProblem("bpf: real program length exceeds the encoded length parameter")
        mi = _INSN.match(token)
        if mi is None:
            raise ParameterProblem(f"bpf: error at instr {len(prog)}: expected code jt jf k")
        c, jt, jf, k = mi.groups()
        prog.append((_c_unsigned(c, 16), _c_unsigned(jt, 8), _c_unsigned(jf, 8), _c_unsigned(k, 32)))
        pos = text.find(",", pos + 1)
    if len(prog) != n:
        raise ParameterProblem("bpf: parsed program length is less than the encoded length parameter")
    return tuple(prog)


def _code(prog: tuple[_cbpf.Insn, ...]) -> str:
    return ",".join(f"{c} {jt} {jf} {k}" for c, jt, jf, k in prog)


@dataclass(frozen=True, slots=True)
class Bpf(Match):
    """struct xt_bpf_info_v1: the program (bytecode mode) or the pinned object's path."""

    name: ClassVar[str] = "bpf"
    options: ClassVar[tuple[Opt, ...]] = (Opt("bytecode"), Opt("object-pinned"))

    program: tuple[_cbpf.Insn, ...] = ()
    pinned: str | None = None

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Bpf:
        code, pin = opts.get("bytecode"), opts.get("object-pinned")
        if pin is not None:
            path = pin.value[:PATH_MAX - 1]
            if not Path(path).exists():  # bpf_obj_get on this machine
                raise ParameterProblem(f"bpf: failed to get bpf object {path!r}: no such pinned object")
        prog = parse_bytecode(code.value) if code is not None else ()
        if (code is None) == (pin is None):
            raise ParameterProblem("bpf: one of --bytecode or --pinned is required")
        return cls(prog, pin.value[:PATH_MAX - 1] if pin is not None else None)

    def save(self) -> str:
        if self.pinned is not None:
            return f" --object-pinned {self.pinned}"
        return f' --bytecode "{len(self.program)},{_code(self.program)}"'

    def describe(self, numeric: bool) -> str:
        # bpf_print_v1 prints no leading space, and ends the code with a NUL byte (its "%c" tail)
        if self.pinned is not None:
            return f"match bpf pinned {self.pinned}"
        return f"match bpf {_code(self.program)}\0"

    def check(self, ctx: CheckContext) -> None:
        if self.pinned is None:
            why = _cbpf.check(self.program)
            if why is not None:
                raise KernelRefusal(f"bpf match: program refused by bpf_check_classic: {why}")

    def mt(self, pkt: Packet, par: Par) -> bool:
        if self.pinned is not None:
            par.log(f"bpf: pinned program {self.pinned} cannot be run by pynetfilter: counted as no match",
                    kind="note")
            return False
        from pynetfilter.packet.wire import to_bytes

        meta = pkt.meta

        def anc(what: str) -> int:
            if what == "protocol":
                return 0x0800  # ETH_P_IP
            if what == "pkttype":
                return _PKTTYPES.get(meta.pkt_type, 0)
            if what == "mark":
                return meta.mark
            if what == "cpu":
                return meta.cpu
            if what in ("vlan_tag", "vlan_tag_present", "vlan_tpid"):
                return 0  # no VLAN tag is modelled on any packet
            raise _cbpf.Unknown(f"the ancillary value {what}")

        try:
            return _cbpf.run(self.program, to_bytes(pkt), meta.mac_header, anc) != 0
        except _cbpf.Unknown as e:
            par.log(f"bpf: the program reads {e}, which pynetfilter does not know: counted as no match",
                    kind="note")
            return False


EXTENSION = Bpf
