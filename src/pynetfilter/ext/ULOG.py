"""-j ULOG (libipt_ULOG): netlink logging through ipt_ULOG, removed from the kernel in 3.17.

iptables parses the options; the kernel then refuses the rule (see pynetfilter.ext._absent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext._absent import AbsentTarget, parse_string
from pynetfilter.ext.base import Opt, Options, RuleContext
from pynetfilter.ext.types import parse_uint

PREFIX_SIZE = 32  # ULOG_PREFIX_LEN
DEFAULT_NLGROUP, DEFAULT_QTHRESHOLD, MAX_QLEN = 1, 1, 50


@dataclass(frozen=True, slots=True)
class Ulog(AbsentTarget):
    """struct ipt_ulog_info."""

    name: ClassVar[str] = "ULOG"
    module: ClassVar[str] = "ipt_ULOG"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("ulog-nlgroup"),
        Opt("ulog-prefix"),
        Opt("ulog-cprange"),
        Opt("ulog-qthreshold"),
    )

    nl_group: int = DEFAULT_NLGROUP
    copy_range: int = 0
    qthreshold: int = DEFAULT_QTHRESHOLD
    prefix: str = ""

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Ulog:
        nl_group, copy_range, qthreshold, prefix = DEFAULT_NLGROUP, 0, DEFAULT_QTHRESHOLD, ""
        for g in opts.items:
            n = g.opt.name
            if n == "ulog-nlgroup":
                nl_group = 1 << (parse_uint(g.value, 1, 32, "", ext="ULOG", opt=n) - 1)
            elif n == "ulog-prefix":
                parse_string(g.value, n, 1, 0)
                if "\n" in g.value:
                    raise ParameterProblem("Newlines not allowed in --ulog-prefix")
                raw = g.value.encode("utf-8", "surrogateescape")[: PREFIX_SIZE - 1]
                prefix = raw.decode("utf-8", "surrogateescape")
            elif n == "ulog-cprange":
                copy_range = parse_uint(g.value, 0, 2**64 - 1, "", ext="ULOG", opt=n)
            elif n == "ulog-qthreshold":
                qthreshold = parse_uint(g.value, 1, MAX_QLEN, "", ext="ULOG", opt=n)
        return cls(nl_group, copy_range, qthreshold, prefix)


EXTENSION = Ulog
