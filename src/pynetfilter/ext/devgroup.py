"""-m devgroup (xt_devgroup): device group of the incoming/outgoing interface."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


MATCH_SRC, INVERT_SRC, MATCH_DST, INVERT_DST = 0x1, 0x2, 0x4, 0x8
_SRC_HOOKS = hook_mask(Hook.PREROUTING, Hook.INPUT, Hook.FORWARD)
_DST_HOOKS = hook_mask(Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)
GROUP_FILES = (Path("/etc/iproute2/group"), Path("/usr/share/iproute2/group"))


@functools.cache
def group_map() -> tuple[tuple[int, str], ...]:
    """The iproute2 device group names (xtables_lmap_init), in file order."""
    for path in GROUP_FILES:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        out = []
        for line in lines:
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2:
                r = strtoul(fields[0])
                if r is not None and r[1] == "":
                    out.append((r[0], fields[1]))
        return tuple(out)
    return ()


def parse_group(text: str, opt: str) -> tuple[int, int]:
    """xtables_parse_val_mask: ``value[/mask]`` numbers, or a group name for the whole value."""
    r = strtoul(text)
    if r is None or r[0] > 0xFFFFFFFF:
        for num, name in group_map():
            if name == text:
                return num, 0xFFFFFFFF
        raise ParameterProblem(
            f'devgroup: could not map name {text} to an integer value for option "--{opt}": '
            "expected a number or group name"
        )
    value, rest = r
    if rest == "":
        return value, 0xFFFFFFFF
    m = strtoul(rest[1:]) if rest.startswith("/") else None
    if m is None or m[1] != "" or m[0] > 0xFFFFFFFF:
        raise ParameterProblem(f'devgroup: bad integer value for option "--{opt}", or out of range: '
                               f'"{text}", expected value[/mask]')
    return value, m[0]


def fmt_group(value: int, mask: int, numeric: bool) -> str:
    """xtables_print_val_mask: a name only for a full mask and without -n."""
    if mask != 0xFFFFFFFF:
        return f"0x{value:x}/0x{mask:x}"
    if not numeric:
        for num, name in group_map():
            if num == value:
                return name
    return f"0x{value:x}"


@dataclass(frozen=True, slots=True)
class Devgroup(Match):
    """struct xt_devgroup_info."""

    name: ClassVar[str] = "devgroup"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("src-group", invert=True),
        Opt("dst-group", invert=True),
    )

    flags: int = 0
    src_group: int = 0
    src_mask: int = 0
    dst_group: int = 0
    dst_mask: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Devgroup:
        flags = 0
        src = dst = (0, 0)
        for g in opts.items:
            if g.opt.name == "src-group":
                src = parse_group(g.value, "src-group")
                flags |= MATCH_SRC | (INVERT_SRC if g.inverted else 0)
            else:
                dst = parse_group(g.value, "dst-group")
                flags |= MATCH_DST | (INVERT_DST if g.inverted else 0)
        if not flags:
            raise ParameterProblem("devgroup match: You must specify either '--src-group' or '--dst-group'")
        return cls(flags, src[0], src[1], dst[0], dst[1])

    def check(self, ctx: CheckContext) -> None:
        if self.flags & MATCH_SRC and ctx.hook_mask & ~_SRC_HOOKS:
            raise KernelRefusal("devgroup match: --src-group only in PREROUTING, INPUT and FORWARD")
        if self.flags & MATCH_DST and ctx.hook_mask & ~_DST_HOOKS:
            raise KernelRefusal("devgroup match: --dst-group only in FORWARD, OUTPUT and POSTROUTING")

    def _dump(self, prefix: str, numeric: bool) -> str:
        out = ""
        if self.flags & MATCH_SRC:
            out += f"{' !' if self.flags & INVERT_SRC else ''} {prefix}src-group"
            out += " " + fmt_group(self.src_group, self.src_mask, numeric)
        if self.flags & MATCH_DST:
            out += f"{' !' if self.flags & INVERT_DST else ''} {prefix}dst-group"
            out += " " + fmt_group(self.dst_group, self.dst_mask, numeric)
        return out

    def save(self) -> str:
        return self._dump("--", False)

    def describe(self, numeric: bool) -> str:
        return self._dump("", numeric)


    def mt(self, pkt: Packet, par: Par) -> bool:
        """devgroup_mt: the device group of the input/output interface under the mask."""
        ifaces = par.engine.host.interfaces
        f = self.flags
        if f & MATCH_SRC:
            group = _group(ifaces, par.in_dev)
            if ((group ^ self.src_group) & self.src_mask == 0) == bool(f & INVERT_SRC):
                return False
        if f & MATCH_DST:
            group = _group(ifaces, par.out_dev)
            if ((group ^ self.dst_group) & self.dst_mask == 0) == bool(f & INVERT_DST):
                return False
        return True


def _group(ifaces: dict, name: str | None) -> int:
    from pynetfilter.errors import PynfError

    dev = ifaces.get(name) if name else None
    if dev is None:  # the hooks the kernel allows always have the device
        raise PynfError(f"devgroup: no interface {name!r} on this host")
    return int(dev.group)


EXTENSION = Devgroup
