"""The ``pynf`` command: the edge where files are read and written.

    pynf save [-c] [-t TABLE] [--noflush] FILE...    restore input in, iptables-save text out
    pynf restore --state STATE [-c] [-n] [FILE]      iptables-restore onto a saved ruleset file
    pynf iptables --state STATE [iptables args...]   an iptables command against a saved ruleset file
    pynf trace RULES [--addrs A --routes R | --host F] [--json] PACKET-WORDS   one packet, kernel TRACE style
    pynf ipset --state STATE [ipset args...]         an ipset command against a state file's sets

save, restore, iptables, trace and replay take ``--ipsets FILE`` (``ipset save``
text) and ``--nfacct FILE`` (``nfacct list`` text), repeatable: the host's sets
and accounting objects its rules name.  A state file keeps them.

Errors print one line, ``pynf: <file>: line N: <what>``, and exit with
iptables' status: 2 for a parameter problem, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from pynetfilter.cli.state import add_files, load_state, write_state
from pynetfilter.cli.state import read as _read
from pynetfilter.errors import PARAMETER_PROBLEM, PynfError
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter import objects
from pynetfilter.netfilter.objects import Objects


def _fail(where: str, err: PynfError) -> int:
    prefix = f"{where}: " if where else ""
    print(f"pynf: {prefix}{err}", file=sys.stderr)
    return err.status


def _load_state(path: str, args: argparse.Namespace | None = None) -> tuple[Ruleset, Objects]:
    """A state file is iptables-save -c text (with its ipsets and nfacct objects in comment lines,
    see pynetfilter.netfilter.objects); a missing file is a fresh host."""
    return load_state(path, getattr(args, "ipsets", None), getattr(args, "nfacct", None))


def _write_state(path: str, rs: Ruleset, objs: Objects) -> None:
    write_state(path, rs, objs)


def cmd_save(args: argparse.Namespace) -> int:
    objs = Objects()
    try:
        add_files(objs, args.ipsets, args.nfacct, time.time())
    except PynfError as e:
        return _fail("", e)
    rs = Ruleset()
    rs.ipsets = objs.names()
    for path in args.files:
        try:
            text = _read(path)
        except OSError as e:
            print(f"pynf: {path}: {e.strerror}", file=sys.stderr)
            return 1
        try:
            # A state file carries its ipsets and nfacct objects in comment lines: its rules name them.
            obj_text, text = objects.split(text)
            if obj_text:
                objects.merge(objs, objects.load(obj_text))
                rs.ipsets = objs.names()
            rs.restore(text, counters=args.counters, noflush=args.noflush, table=args.table)
        except PynfError as e:
            return _fail(path, e)
    try:
        sys.stdout.write(rs.save(counters=args.counters, table=args.table))
    except PynfError as e:  # -t naming no table
        return _fail("", e)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    try:
        rs, objs = _load_state(args.state, args)
    except PynfError as e:
        return _fail("", e)
    path = args.file or "-"
    try:
        rs.restore(_read(path), counters=args.counters, noflush=args.noflush, table=args.table)
    except PynfError as e:
        # As iptables-restore: blocks committed before the error stay.
        _write_state(args.state, rs, objs)
        return _fail(path if path != "-" else "", e)
    _write_state(args.state, rs, objs)
    return 0


def cmd_iptables(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--state":
        print("pynf iptables: usage: pynf iptables --state FILE [iptables arguments...]", file=sys.stderr)
        return PARAMETER_PROBLEM
    state = argv[1]
    ns = argparse.Namespace(ipsets=[], nfacct=[])
    while len(argv) >= 4 and argv[2] in ("--ipsets", "--nfacct"):
        getattr(ns, argv[2][2:]).append(argv[3])
        argv = argv[:2] + argv[4:]
    try:
        rs, objs = _load_state(state, ns)
    except PynfError as e:
        return _fail("", e)
    try:
        out = rs.apply(argv[2:])
    except PynfError as e:
        print(f"iptables: {e}", file=sys.stderr)
        return e.status
    sys.stdout.write(out)
    _write_state(state, rs, objs)
    return 0


def _object_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ipsets", action="append", default=[], metavar="FILE",
                   help="`ipset save` text: the host's ipsets (repeatable)")
    p.add_argument("--nfacct", action="append", default=[], metavar="FILE",
                   help="`nfacct list` text: the host's nfacct objects (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="pynf", description="Netfilter and iptables in userspace Python.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("save", help="read iptables-restore input, print iptables-save text")
    p.add_argument("files", nargs="+", metavar="FILE", help="restore input ('-' for stdin)")
    p.add_argument("-c", "--counters", action="store_true", help="keep and print packet/byte counters")
    p.add_argument("-t", "--table", help="only this table")
    p.add_argument("-n", "--noflush", action="store_true", help="later files add to earlier ones")
    _object_options(p)
    p.set_defaults(func=cmd_save)

    p = sub.add_parser("restore", help="iptables-restore onto a state file")
    p.add_argument("--state", required=True, help="ruleset file (iptables-save -c text)")
    p.add_argument("file", nargs="?", help="restore input (default: stdin)")
    p.add_argument("-c", "--counters", action="store_true")
    p.add_argument("-n", "--noflush", action="store_true")
    p.add_argument("-T", "--table")
    _object_options(p)
    p.set_defaults(func=cmd_restore)

    sub.add_parser("iptables", help="run an iptables command against a state file (--state FILE first)",
                   add_help=False)
    sub.add_parser("ipset", help="run an ipset command against a state file (--state FILE first)",
                   add_help=False)
    sub.add_parser("trace", help="trace one packet through the rules (TRACE wording, NAT, conntrack)",
                   add_help=False)

    from pynetfilter.replay.engine import add_parser as add_replay

    add_replay(sub)

    from pynetfilter.netfilter.conntrack.cli import add_parser as add_conntrack

    add_conntrack(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] == "iptables":
            return cmd_iptables(args_list[1:])
        if args_list and args_list[0] == "ipset":
            from pynetfilter.cli.ipset import cmd_ipset

            return cmd_ipset(args_list[1:])
        if args_list and args_list[0] == "trace":  # packet words are iptables options: no argparse
            from pynetfilter.cli.trace import cmd_trace

            return cmd_trace(args_list[1:])
        args = build_parser().parse_args(args_list)
        return int(args.func(args))
    except BrokenPipeError:
        return 0
    except OSError as e:  # files are the edge: say which one and why, in one line
        print(f"pynf: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
