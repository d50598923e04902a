"""Classic BPF as the kernel checks and runs it for -m bpf (net/core/filter.c).

Theory of operation.  A program is a tuple of (code, jt, jf, k).  :func:`check`
is bpf_check_classic: allowed opcodes only, jumps inside the program, no
division by a constant 0, shifts below 32, scratch memory read only after a
store on every path, a RET last.  :func:`run` executes it over the packet as
netfilter hands it to xt_bpf: offsets count from the IP header (skb->data),
``SKF_NET_OFF`` and ``SKF_LL_OFF`` reach the network and link-layer headers, and
a load outside the packet ends the program with 0, as the converted program
does.  Ancillary loads (``SKF_AD_OFF + n``) read skb metadata; those whose value
pynetfilter does not know raise :class:`Unknown` so the caller can say so.
"""

from __future__ import annotations

from collections.abc import Callable

M32 = 0xFFFFFFFF
MAXINSNS = 4096  # BPF_MAXINSNS
MEMWORDS = 16
SKF_AD_OFF = 0xFFFFF000  # -0x1000 as the unsigned k
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000

# bpf_check_classic's chk_code_allowed table.
ALLOWED = frozenset((
    *(0x04 | op | src for op in (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0)
      for src in (0x00, 0x08)),
    0x84,  # ALU NEG
    0x20, 0x28, 0x30, 0x80, 0x40, 0x48, 0x50, 0x00, 0x60,  # LD W/H/B ABS, W LEN, W/H/B IND, IMM, MEM
    0x81, 0xB1, 0x01, 0x61,  # LDX W LEN, B MSH, IMM, MEM
    0x02, 0x03,  # ST, STX
    0x07, 0x87,  # TAX, TXA
    0x06, 0x16,  # RET K, RET A
    0x05, *(0x05 | op | src for op in (0x10, 0x20, 0x30, 0x40) for src in (0x00, 0x08)),
))
_COND_JUMPS = frozenset(0x05 | op | src for op in (0x10, 0x20, 0x30, 0x40) for src in (0x00, 0x08))
_ABS_LOADS = (0x20, 0x28, 0x30)
# SKF_AD_* ancillary offsets bpf_anc_helper knows (PROTOCOL .. VLAN_TPID).
ANCILLARY = {0: "protocol", 4: "pkttype", 8: "ifindex", 12: "nlattr", 16: "nlattr_nest", 20: "mark",
             24: "queue", 28: "hatype", 32: "rxhash", 36: "cpu", 40: "alu_xor_x", 44: "vlan_tag",
             48: "vlan_tag_present", 52: "pay_offset", 56: "random", 60: "vlan_tpid"}

Insn = tuple[int, int, int, int]


class Unknown(Exception):  # noqa: N818 - an answer, not a failure
    """The program needs a value pynetfilter does not have (the message names it)."""


def check(prog: tuple[Insn, ...]) -> str | None:
    """bpf_check_classic: None when the kernel loads *prog*, else why it refuses it."""
    n = len(prog)
    if n == 0 or n > MAXINSNS:
        return f"{n} instructions: 1 to {MAXINSNS} allowed"
    for pc, (code, jt, jf, k) in enumerate(prog):
        if code not in ALLOWED:
            return f"instruction {pc}: opcode {code} not allowed"
        if code in (0x34, 0x94) and k == 0:
            return f"instruction {pc}: division by constant 0"
        if code in (0x64, 0x74) and k >= 32:
            return f"instruction {pc}: shift by {k}"
        if code in (0x60, 0x61, 0x02, 0x03) and k >= MEMWORDS:
            return f"instruction {pc}: scratch memory word {k} of {MEMWORDS}"
        if code == 0x05 and k >= n - pc - 1:
            return f"instruction {pc}: jump beyond the program"
        if code in _COND_JUMPS and (pc + jt + 1 >= n or pc + jf + 1 >= n):
            return f"instruction {pc}: jump beyond the program"
        if code in _ABS_LOADS and k >= SKF_AD_OFF and k - SKF_AD_OFF not in ANCILLARY:
            return f"instruction {pc}: unknown ancillary load {k - SKF_AD_OFF}"
    if prog[-1][0] not in (0x06, 0x16):
        return "the last instruction is no RET"
    return _check_memory(prog)


def _check_memory(prog: tuple[Insn, ...]) -> str | None:
    """check_load_and_stores: a scratch word is read only once stored on every path to it."""
    masks = [M32 >> 16] * len(prog)
    valid = 0
    for pc, (code, jt, jf, k) in enumerate(prog):
        valid &= masks[pc]
        if code in (0x02, 0x03):
            valid |= 1 << k
        elif code in (0x60, 0x61):
            if not valid >> k & 1:
                return f"instruction {pc}: scratch memory word {k} read before any store"
        elif code == 0x05:
            masks[pc + 1 + k] &= valid
            valid = M32 >> 16
        elif code in _COND_JUMPS:
            masks[pc + 1 + jt] &= valid
            masks[pc + 1 + jf] &= valid
            valid = M32 >> 16
    return None


class _Out(Exception):  # noqa: N818 - a load outside the packet: the program returns 0
    pass


def run(prog: tuple[Insn, ...], data: bytes, ll: bytes | None, anc: Callable[[str], int]) -> int:
    """The program's return value for the packet *data* (from its IP header); *ll* is the
    link-layer header before it, *anc* answers ancillary loads (or raises Unknown)."""
    try:
        return _run(prog, data, ll, anc)
    except _Out:
        return 0


def _load(data: bytes, ll: bytes | None, off: int, size: int) -> int:
    if off < 0:
        if off >= SKF_NET_OFF:
            off -= SKF_NET_OFF
        elif off >= SKF_LL_OFF:
            if ll is None:
                raise Unknown("a link-layer header load, and the packet has no link-layer header")
            off -= SKF_LL_OFF
            data = ll + data
        else:
            raise _Out
    if off + size > len(data):
        raise _Out
    return int.from_bytes(data[off:off + size], "big")


def _run(prog: tuple[Insn, ...], data: bytes, ll: bytes | None, anc: Callable[[str], int]) -> int:
    a = x = 0
    mem = [0] * MEMWORDS
    pc = 0
    sizes = {0x00: 4, 0x08: 2, 0x10: 1}
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:  # LD
            mode = code & 0xE0
            if mode == 0x00:
                a = k
            elif mode == 0x60:
                a = mem[k]
            elif mode == 0x80:
                a = len(data)
            elif mode == 0x20 and k >= SKF_AD_OFF:
                what = ANCILLARY[k - SKF_AD_OFF]
                a = a ^ x if what == "alu_xor_x" else anc(what) & M32
            else:
                off = k - (1 << 32) if k >= 1 << 31 else k
                if mode == 0x40:
                    off = (x + k) & M32
                    off = off - (1 << 32) if off >= 1 << 31 else off
                a = _load(data, ll, off, sizes[code & 0x18])
        elif cls == 0x01:  # LDX
            mode = code & 0xE0
            if mode == 0x00:
                x = k
            elif mode == 0x60:
                x = mem[k]
            elif mode == 0x80:
                x = len(data)
            else:  # MSH: 4 * (P[k] & 0xf)
                x = (_load(data, ll, k - (1 << 32) if k >= 1 << 31 else k, 1) & 0xF) << 2
        elif cls == 0x02:
            mem[k] = a
        elif cls == 0x03:
            mem[k] = x
        elif cls == 0x04:
            a = _alu(code, a, x if code & 0x08 else k)
            if a is None:
                return 0  # division by X = 0
        elif cls == 0x05:
            op = code & 0xF0
            if op == 0x00:
                pc += k
                continue
            src = x if code & 0x08 else k
            hit = {0x10: a == src, 0x20: a > src, 0x30: a >= src, 0x40: bool(a & src)}[op]
            pc += jt if hit else jf
        elif cls == 0x06:
            return a if code & 0x10 else k
        else:  # MISC
            if code & 0x80:
                a = x
            else:
                x = a


def _alu(code: int, a: int, v: int) -> int | None:
    op = code & 0xF0
    if op in (0x30, 0x90) and v == 0:
        return None
    if op == 0x00:
        return (a + v) & M32
    if op == 0x10:
        return (a - v) & M32
    if op == 0x20:
        return (a * v) & M32
    if op == 0x30:
        return a // v
    if op == 0x40:
        return a | v
    if op == 0x50:
        return a & v
    if op == 0x60:
        return (a << (v & 31)) & M32
    if op == 0x70:
        return a >> (v & 31)
    if op == 0x80:
        return -a & M32
    if op == 0x90:
        return a % v
    return a ^ v
