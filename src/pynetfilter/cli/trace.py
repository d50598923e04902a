"""``pynf trace RULES [--addrs A.json --routes R.json | --host FILE] [--json] [PACKET WORDS...]``.

RULES is iptables-save / restore input.  The host is ``ip -j addr show`` and
``ip -j route show table all`` output, or a host file (see
pynetfilter.netfilter.hostfile); without one, a minimal host is made from the
packet words.  The packet is described with iptables' option words (see
pynetfilter.netfilter.trace_packet), e.g.::

    pynf trace node.rules --addrs a.json --routes r.json -p tcp -s 10.0.0.5 -d 10.96.0.10 --dport 443 -i eth0

Prints every table/chain/rule in the kernel's TRACE wording, then the
verdict, where the packet went, NAT and conntrack; one block per outcome of
``-m statistic --mode random`` with its exact probability.  Other options:
``--seed N`` (the engine's random seed, 0 to 2**64 - 1), ``--max-branches N``
(default 64), ``--now SECONDS`` (the engine clock: seconds since the epoch, 0
up to where the kernel's clock ends, KTIME_SEC_MAX), ``--ipsets FILE`` /
``--nfacct FILE`` (repeatable: the host's ``ipset save`` / ``nfacct list``
text; a state file given as RULES brings its own).  Each problem is one line
naming the option, the file (and its line or entry) or the packet word.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import TYPE_CHECKING

from pynetfilter.errors import PARAMETER_PROBLEM, ParameterProblem, PynfError

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset

_VALUED = ("--addrs", "--routes", "--host", "--seed", "--max-branches", "--now")
_OBJECTS = ("--ipsets", "--nfacct")  # repeatable: `ipset save` / `nfacct list` files
USAGE = ("usage: pynf trace RULES [--addrs A.json --routes R.json | --host FILE] [--json] [--seed N] "
         "[--max-branches N] [--now SECONDS] "
         "PACKET-WORDS (-p tcp -s A -d B --dport P -i IFACE | --local | -o IFACE ...)")


def _read(path: str) -> str:
    with open(path, "rb") as f:  # no newline translation: iptables refuses a CR as it is
        return f.read().decode("utf-8", "surrogateescape")


KTIME_SEC_MAX = (2**63 - 1) // 10**9  # the kernel's clock (ktime_t, s64 nanoseconds) ends here
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _clock(opts: dict[str, str]) -> float:
    """--now: the engine clock, in seconds since the epoch, as the kernel's real-time clock can be."""
    text = opts.get("--now", "0")
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not 0 <= value <= KTIME_SEC_MAX:  # NaN fails this too
        raise ParameterProblem(f'--now: bad value "{text}": expected seconds from 0 to {KTIME_SEC_MAX} '
                               "(the kernel's clock)")
    return value


def _count(opts: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    text = opts.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(hi)) and lo <= int(text) <= hi):
        raise ParameterProblem(f'{name}: bad value "{text}": expected an integer from {lo} to {hi}')
    return int(text)


def _ruleset(text: str, files: dict[str, list[str]], now: float) -> Ruleset:
    """RULES (a state file's ipsets and nfacct objects too) with the --ipsets/--nfacct files';
    element timeouts count from the engine's clock (--now)."""
    from pynetfilter.cli.state import add_files, ruleset_from
    from pynetfilter.netfilter import objects as O

    obj_text, rules = O.split(text)
    objs = O.load(obj_text, now=now)
    add_files(objs, files["--ipsets"], files["--nfacct"], now)
    rs = ruleset_from(rules, objs)
    rs.objects = objs  # type: ignore[attr-defined]  # the engine takes its sets from here
    return rs


def cmd_trace(argv: list[str]) -> int:
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.trace import branch_json, explore, render_text
    from pynetfilter.netfilter.trace_packet import minimal_host, parse_words

    if not argv or argv[0].startswith("-"):
        print(f"pynf trace: {USAGE}", file=sys.stderr)
        return PARAMETER_PROBLEM
    rules_path, rest = argv[0], argv[1:]
    opts: dict[str, str] = {}
    objects: dict[str, list[str]] = {o: [] for o in _OBJECTS}
    words: list[str] = []
    as_json = False
    i = 0
    while i < len(rest):
        w = rest[i]
        if w == "--json":
            as_json = True
        elif w in _VALUED or w in _OBJECTS:
            if i + 1 >= len(rest):
                print(f"pynf trace: {w} needs a value", file=sys.stderr)
                return PARAMETER_PROBLEM
            if w in _OBJECTS:
                objects[w].append(rest[i + 1])
            else:
                opts[w] = rest[i + 1]
            i += 1
        else:
            words.append(w)
        i += 1
    where = ""
    try:
        now = _clock(opts)
        seed = _count(opts, "--seed", 0, 0, 2**64 - 1)
        limit = _count(opts, "--max-branches", 64, 1, 2**31 - 1)
        where = rules_path
        ruleset = _ruleset(_read(rules_path), objects, now)
        where = ""  # errors from here on are about the packet words or the host
        tp = parse_words(words)
        if "--host" in opts:
            where = opts["--host"]
            host = Host.from_file(_read(where))
        elif "--addrs" in opts or "--routes" in opts:
            if "--addrs" not in opts or "--routes" not in opts:
                raise ParameterProblem("--addrs and --routes go together")
            host = Host.from_iproute(_read(opts["--addrs"]), _read(opts["--routes"]),
                                     names=(opts["--addrs"], opts["--routes"]))
        else:
            host = minimal_host(tp)
        where = ""
        for name in (tp.iif, tp.packet.meta.bound_dev):
            if name is not None and name not in host.interfaces:
                raise ParameterProblem(f'no interface "{name}" on this host')
        pkt = tp.packet
        if tp.iif is None and not pkt.saddr:
            route = host.route_output(pkt)
            pkt.saddr = route.src or 0  # the source a socket would get
        result = explore(ruleset, host, pkt, tp.iif, now=now, seed=seed, limit=limit)
    except PynfError as e:
        print(f"pynf trace: {where + ': ' if where else ''}{e}", file=sys.stderr)
        return e.status
    if as_json:
        doc = {"branches": [branch_json(b) for b in result.branches], "truncated": result.truncated}
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    else:
        sys.stdout.write(render_text(result))
    return 0
