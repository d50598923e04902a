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

from pynetfilter.cli.state import load_state, locked, read, rule_refs, state_options, write_state
from pynetfilter.errors import PARAMETER_PROBLEM, PynfError
from pynetfilter.netfilter import objects

USAGE = "usage: pynf ipset --state FILE [--follow] [--ipsets FILE]... [ipset arguments...]"


def cmd_ipset(argv: list[str]) -> int:
    got = state_options(argv, f"pynf ipset: {USAGE}", ("ipsets",))
    if got is None:
        return PARAMETER_PROBLEM
    state, follow, files, rest = got
    extra = files["ipsets"]
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
    restoring = any(a in ("restore", "r") for a in args)
    stdin = read(file if file is not None else "-") if restoring else ""
    try:
        # ipset has no -w: the kernel serialises its commands, so a writer here waits its turn.
        with locked(state, None, follow):
            now = time.time()
            rs, objs = load_state(state, extra, now=now)
            before = objects.dump(objs, now)
            session = objs.session(now, rule_refs(rs))
            status, out, err = session.run(args, stdin)
            objs.take(session)
            if objects.dump(objs, now) != before:  # a command that changed nothing writes nothing
                write_state(state, rs, objs, now, follow=follow)
    except PynfError as e:
        print(f"pynf: {e}", file=sys.stderr)
        return e.status
    if file is not None and not restoring:
        with open(file, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(out)
        out = ""
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status
