"""``pynf explain-compiled RULES [-t TABLE] [--chain CHAIN]``: the fast path's compiled form.

Prints each chain's subtables (the fields a packet is looked up by) and bucket sizes; with
``--chain``, every rule of that chain with the key it is filed under.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pynetfilter.cli.state import add_files, read
from pynetfilter.errors import PynfError
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter import objects
from pynetfilter.netfilter.objects import Objects


def cmd_explain(args: argparse.Namespace) -> int:
    from pynetfilter.fastpath.explain import explain

    objs = Objects()
    try:
        add_files(objs, args.ipsets, args.nfacct, time.time())
        obj_text, text = objects.split(read(args.rules))
        if obj_text:
            objects.merge(objs, objects.load(obj_text))
        rs = Ruleset()
        rs.ipsets = objs.names()
        rs.restore_saved(text, counters=True)
    except PynfError as e:
        print(f"pynf: {args.rules}: {e}", file=sys.stderr)
        return e.status
    if args.table is not None and args.table not in rs.tables:
        print(f"pynf: {args.rules}: no table {args.table} (tables: {', '.join(rs.tables) or 'none'})",
              file=sys.stderr)
        return 1
    if args.chain is not None and not any(args.chain in t.chains for t in rs.tables.values()
                                          if args.table in (None, t.name)):
        print(f"pynf: {args.rules}: no chain {args.chain}"
              + (f" in table {args.table}" if args.table else ""), file=sys.stderr)
        return 1
    sys.stdout.write(explain(rs, args.table, args.chain))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("explain-compiled", help="print the fast path's compiled form of a ruleset",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rules", metavar="RULES", help="iptables-save text or restore input ('-' for stdin)")
    p.add_argument("-t", "--table", help="only this table")
    p.add_argument("--chain", help="only this chain, with every rule's key")
    p.add_argument("--ipsets", action="append", default=[], metavar="FILE",
                   help="`ipset save` text: the host's ipsets (repeatable)")
    p.add_argument("--nfacct", action="append", default=[], metavar="FILE",
                   help="`nfacct list` text: the host's nfacct objects (repeatable)")
    p.set_defaults(func=cmd_explain)
