"""-j SET (xt_set target, revision 3): add the packet to an ipset, delete it, or map an element's
skb info (mark, priority, queue) onto the packet.

As for ``-m set``, the Ruleset's ``ipsets`` (name -> family) stands for the kernel's sets at load
time, and the engine's sets (``engine.ipsets``) are changed at packet time
(pynetfilter.netfilter.ipset_kadt).  ``--map-set`` is only valid in mangle, with ``--map-prio``
and ``--map-queue`` only from FORWARD, OUTPUT and POSTROUTING; the element's skbmark and
skbprio are applied, its skbqueue (a device tx queue) is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Opt, Options, RuleContext, Target
from pynetfilter.ext.set import MAXNAMELEN, parse_dirs
from pynetfilter.ext.types import try_uint
from pynetfilter.model.tables import Hook, hook_mask
from pynetfilter.netfilter.verdicts import XT_CONTINUE

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

NO_TIMEOUT = 0xFFFFFFFF
F_EXIST, F_MAP_MARK, F_MAP_PRIO, F_MAP_QUEUE = 1 << 1, 1 << 2, 1 << 3, 1 << 4  # IPSET_FLAG_*
PRIO_QUEUE_HOOKS = hook_mask(Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)
SetRef = tuple[str, int, int]  # (name, dimension, direction flags); ("", 0, 0) when absent


def _ref(args: tuple[str, ...], what: str) -> SetRef:
    name, dirs = args
    if len(name) > MAXNAMELEN - 1:
        raise ParameterProblem(f"setname `{name}' too long, max {MAXNAMELEN - 1} characters.")
    try:
        dim, flags = parse_dirs(dirs)
    except ParameterProblem:
        if len(dirs.split(",")) > 6:
            raise ParameterProblem("Can't be more src/dst options than 6.") from None
        raise ParameterProblem("You must spefify (the comma separated list of) 'src' or 'dst'.") from None
    return name, dim, flags


@dataclass(frozen=True, slots=True)
class SetTarget(Target):
    """struct xt_set_info_target_v3."""

    name: ClassVar[str] = "SET"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("add-set", nargs=2, invert=True), Opt("del-set", nargs=2, invert=True),
        Opt("exist", nargs=0, multi=True), Opt("timeout", multi=True),
        Opt("map-set", nargs=2, invert=True), Opt("map-mark", nargs=0, multi=True),
        Opt("map-prio", nargs=0, multi=True), Opt("map-queue", nargs=0, multi=True),
    )
    resolves: ClassVar[bool] = True

    add_set: SetRef = ("", 0, 0)
    del_set: SetRef = ("", 0, 0)
    map_set: SetRef = ("", 0, 0)
    flags: int = 0
    timeout: int = NO_TIMEOUT

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> SetTarget:
        refs: dict[str, SetRef] = {}
        flags, timeout = 0, NO_TIMEOUT
        for g in opts.items:  # "!" before an option is accepted and ignored (old-style parser)
            n = g.opt.name
            if n in ("add-set", "del-set", "map-set"):
                refs[n] = _ref(g.args, n)
            elif n == "timeout":
                v = try_uint(g.value, 0, NO_TIMEOUT - 1)
                if v is None:
                    raise ParameterProblem(
                        f"Invalid value for option --timeout or out of range 0-{NO_TIMEOUT - 1}")
                timeout = v
            else:
                flags |= {"exist": F_EXIST, "map-mark": F_MAP_MARK, "map-prio": F_MAP_PRIO,
                          "map-queue": F_MAP_QUEUE}[n]
        given = set(opts.names())
        if not refs:
            raise ParameterProblem("You must specify either `--add-set' or `--del-set' or `--map-set'")
        if "add-set" not in refs:
            if "exist" in given:
                raise ParameterProblem("Flag `--exist' can be used with `--add-set' only")
            if "timeout" in given:
                raise ParameterProblem("Option `--timeout' can be used with `--add-set' only")
        if "map-set" not in refs:
            for f in ("map-mark", "map-prio", "map-queue"):
                if f in given:
                    raise ParameterProblem(f"Flag `--{f}' can be used with `--map-set' only")
        elif not flags & (F_MAP_MARK | F_MAP_PRIO | F_MAP_QUEUE):
            raise ParameterProblem("You must specify flags `--map-mark' or '--map-prio` or `--map-queue'")
        none: SetRef = ("", 0, 0)
        return cls(refs.get("add-set", none), refs.get("del-set", none), refs.get("map-set", none),
                   flags, timeout)

    def _sets(self) -> list[str]:
        return [r[0] for r in (self.add_set, self.del_set, self.map_set) if r[1]]

    def resolve(self, ipsets: Mapping[str, str]) -> None:
        for name in self._sets():  # libxt_set's get_set_byname, while parsing (exit status 2)
            family = ipsets.get(name)
            if family is None:
                raise ParameterProblem(f"Set {name} doesn't exist.")
            if family == "inet6":
                raise ParameterProblem(f"The protocol family of set {name} is IPv6, which is not applicable.")

    def _text(self, dash: str) -> str:
        out = ""
        for word, ref in (("add-set", self.add_set), ("del-set", self.del_set), ("map-set", self.map_set)):
            if not ref[1]:
                continue
            dirs = ",".join("src" if ref[2] & (1 << i) else "dst" for i in range(1, ref[1] + 1))
            out += f" {dash}{word} {ref[0]} {dirs}"
            if word == "add-set":
                if self.flags & F_EXIST:
                    out += f" {dash}exist"
                if self.timeout != NO_TIMEOUT:
                    out += f" {dash}timeout {self.timeout}"
        for flag, word in ((F_MAP_MARK, "map-mark"), (F_MAP_PRIO, "map-prio"), (F_MAP_QUEUE, "map-queue")):
            if self.flags & flag:
                out += f" {dash}{word}"
        return out

    def save(self) -> str:
        return self._text("--")

    def describe(self, numeric: bool) -> str:
        return self._text("")

    def check(self, ctx: CheckContext) -> None:
        for name in self._sets():
            if name not in ctx.ipsets:
                raise KernelRefusal(f"SET target: Set {name} doesn't exist")
            if ctx.ipsets[name] == "inet6":
                raise KernelRefusal(f"SET target: The protocol family of set {name} is IPv6")
        if self.map_set[1]:
            if ctx.table != "mangle":
                raise KernelRefusal("SET target: --map-set only usable from mangle table")
            if self.flags & (F_MAP_PRIO | F_MAP_QUEUE) and ctx.hook_mask & ~PRIO_QUEUE_HOOKS:
                raise KernelRefusal("SET target: mapping of prio or/and queue is allowed only from "
                                    "OUTPUT/FORWARD/POSTROUTING chains")

    def tg(self, pkt: Packet, par: Par) -> int:
        """set_target_v3: add, then delete, then map."""
        from pynetfilter.netfilter import ipset_kadt

        sets = par.engine.ipsets
        devs = (par.in_dev, par.out_dev)
        if self.add_set[1]:
            ipset_kadt.add(sets, self.add_set[0], pkt, self.add_set[1], self.add_set[2], par.now,
                           self.timeout, bool(self.flags & F_EXIST), devs)
        if self.del_set[1]:
            ipset_kadt.delete(sets, self.del_set[0], pkt, self.del_set[1], self.del_set[2], par.now, devs)
        if self.map_set[1]:
            e = ipset_kadt.find(sets, self.map_set[0], pkt, self.map_set[1], self.map_set[2], par.now, devs)
            if e is not None:
                if self.flags & F_MAP_MARK:
                    pkt.meta.mark = (pkt.meta.mark & ~e.skbmarkmask & 0xFFFFFFFF) ^ e.skbmark
                if self.flags & F_MAP_PRIO:
                    pkt.meta.priority = e.skbprio
                # --map-queue: skb_set_queue_mapping (a device's tx queue) is not part of the model
        return XT_CONTINUE


EXTENSION = SetTarget
