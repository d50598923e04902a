"""``pynf ipset --state STATE [--ipsets FILE]... [ipset arguments...]``: ipset's commands on a state file.

The arguments are ipset's (``create``, ``add``, ``del``, ``test``, ``list``,
``save``, ``restore``, ``flush``, ``destroy``, ``swap``, ``rename``,
``version`` and the options ``-exist``, ``-output``, ``-quiet``, ``-name``,
``-terse``, ``-sorted``, ``-file``); output, errors and exit status are
ipset's.  References come from the state's iptables rules, so a set a rule
uses cannot be destroyed.  Time is the wall clock: element timeouts run down
between commands as in the kernel.
"""

from __future__ import annotations

import sys
import time

from pynetfilter.cli.state import load_state, read, write_state
from pynetfilter.errors import PARAMETER_PROBLEM, PynfError
from pynetfilter.netfilter.objects import rule_refs

USAGE = "usage: pynf ipset --state FILE [--ipsets FILE]... [ipset arguments...]"


def cmd_ipset(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--state":
        print(f"pynf ipset: {USAGE}", file=sys.stderr)
        return PARAMETER_PROBLEM
    state, rest = argv[1], argv[2:]
    extra: list[str] = []
    while len(rest) >= 2 and rest[0] == "--ipsets":
        extra.append(rest[1])
        rest = rest[2:]
    file = None
    args: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] in ("-f", "-file") and i + 1 < len(rest):
            file = rest[i + 1]
            i += 2
            continue
        args.append(rest[i])
        i += 1
    now = time.time()
    try:
        rs, objs = load_state(state, extra, now=now)
    except PynfError as e:
        print(f"pynf: {e}", file=sys.stderr)
        return e.status
    session = objs.session(now, rule_refs(rs))
    restoring = any(a in ("restore", "r") for a in args)
    stdin = ""
    if restoring:
        stdin = read(file if file is not None else "-")
    status, out, err = session.run(args, stdin)
    objs.take(session)
    write_state(state, rs, objs, now)
    if file is not None and not restoring:
        with open(file, "w", encoding="utf-8") as f:
            f.write(out)
        out = ""
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status
