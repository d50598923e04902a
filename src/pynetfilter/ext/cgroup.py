"""-m cgroup (xt_cgroup revision 1): the sending socket's net_cls classid, or its cgroup2 path.

Only from OUTPUT, POSTROUTING and INPUT.  A packet without a socket never matches
(not even inverted).  pynetfilter does not know which cgroup a socket belongs to:
a packet with a socket is not matched, and the trace says why.  ``--path`` must
name an existing directory of this machine's cgroup2 hierarchy, as the kernel's
checkentry (cgroup_get_from_path) requires (unchecked where none is mounted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint, save_string
from pynetfilter.model.tables import Hook, hook_mask

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet



def cgroup2_root() -> Path | None:
    """Where this machine's cgroup2 hierarchy is mounted (/proc/self/mounts), or None."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    return next((Path(f[1]) for f in (m.split() for m in mounts) if len(f) > 2 and f[2] == "cgroup2"), None)


PATH_LEN = 4096  # XT_CGROUP_PATH_LEN


@dataclass(frozen=True, slots=True)
class Cgroup(Match):
    """struct xt_cgroup_info_v1."""

    name: ClassVar[str] = "cgroup"
    hooks: ClassVar[int] = hook_mask(Hook.OUTPUT, Hook.POSTROUTING, Hook.INPUT)
    options: ClassVar[tuple[Opt, ...]] = (Opt("path", invert=True), Opt("cgroup", invert=True))

    path: str | None = None
    invert_path: bool = False
    classid: int | None = None
    invert_classid: bool = False

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Cgroup:
        p, c = opts.get("path"), opts.get("cgroup")
        path = p.value[:PATH_LEN - 1] if p is not None else None
        classid = None
        if c is not None:
            try:
                classid = parse_uint(c.value, 0, 2**32 - 1, "a classid")
            except ParameterProblem:
                raise ParameterProblem(
                    f'cgroup: bad value for option "--cgroup", or out of range (0-4294967295): "{c.value}"'
                ) from None
        return cls(path, bool(p and p.inverted), classid, bool(c and c.inverted))

    def save(self) -> str:
        out = ""
        if self.path is not None:
            out += f"{' !' if self.invert_path else ''} --path{save_string(self.path)}"
        if self.classid is not None:
            out += f"{' !' if self.invert_classid else ''} --cgroup {self.classid}"
        return out

    def describe(self, numeric: bool) -> str:
        out = " cgroup"
        if self.path is not None:
            out += f" {'! ' if self.invert_path else ''}{self.path}"
        if self.classid is not None:
            out += f" {'! ' if self.invert_classid else ''}{self.classid}"
        return out

    def check(self, ctx: CheckContext) -> None:
        """cgroup_mt_check_v1: exactly one of path and classid; the path must exist."""
        if self.path is None and self.classid is None:
            raise KernelRefusal("cgroup match: no path or classid specified")
        if self.path is not None and self.classid is not None:
            raise KernelRefusal("cgroup match: both path and classid specified")
        # Where no cgroup2 hierarchy is mounted here, the path cannot be checked: it is taken.
        root = cgroup2_root() if self.path is not None else None
        if root is not None and not (root / self.path.lstrip("/")).is_dir():  # type: ignore[union-attr]
            raise KernelRefusal(f"cgroup match: invalid path {self.path!r} (not in {root})")

    def mt(self, pkt: Packet, par: Par) -> bool:
        meta = pkt.meta
        if not (meta.socket or meta.uid is not None or meta.gid is not None):
            return False  # no socket: no match, inverted or not
        par.log("cgroup: the socket's cgroup is not known to pynetfilter: counted as no match", kind="note")
        return False


EXTENSION = Cgroup
