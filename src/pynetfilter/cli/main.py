"""The ``pynf`` command: the edge where files are read and written.

    pynf save [-c] [-t TABLE] [--noflush] FILE...    restore input in, iptables-save text out
    pynf restore --state STATE [-c] [-n] [FILE]      iptables-restore onto a saved ruleset file
    pynf iptables --state STATE [iptables args...]   an iptables command against a saved ruleset file
    pynf trace RULES [--addrs A --routes R | --host F] [--json] PACKET-WORDS   one packet, kernel TRACE style
    pynf ipset --state STATE [ipset args...]         an ipset command against a state file's sets
    pynf serve --state STATE [--idle S]              keep STATE in memory: the three above, fast

save, restore, iptables, trace and replay take ``--ipsets FILE`` (``ipset save``
text) and ``--nfacct FILE`` (``nfacct list`` text), repeatable: the host's sets
and accounting objects its rules name.  A state file keeps them.

Errors print one line, ``pynf: <file>: line N: <what>``, and exit with
iptables' status: 2 for a parameter problem, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

# Light imports only: a command that a running `pynf serve` answers needs nothing more
# (pynetfilter.serve.client); the ruleset model is imported where a command runs here.
from pynetfilter.cli.state import add_files, command_words, load_state, locked, state_options, write_state
from pynetfilter.cli.state import read as _read
from pynetfilter.errors import PARAMETER_PROBLEM, PynfError

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.objects import Objects


def _fail(where: str, err: PynfError) -> int:
    prefix = f"{where}: " if where else ""
    print(f"pynf: {prefix}{err}", file=sys.stderr)
    return err.status


def _load_state(path: str, args: argparse.Namespace | None = None) -> tuple[Ruleset, Objects]:
    """A state file is iptables-save -c text (with its ipsets and nfacct objects in comment lines,
    see pynetfilter.netfilter.objects); a missing file is a fresh host."""
    return load_state(path, getattr(args, "ipsets", None), getattr(args, "nfacct", None))


def cmd_save(args: argparse.Namespace) -> int:
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter import objects
    from pynetfilter.netfilter.objects import Objects

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
    if args.wait_interval is not None:
        print("Ignoring deprecated --wait-interval option.", file=sys.stderr)
        if args.wait is None:
            print("Option --wait-interval requires option --wait", file=sys.stderr)
            return 1
    path = args.file or "-"
    text = _read(path)  # before the lock: a slow producer on stdin must not hold writers up
    try:
        with locked(args.state, args.wait, args.follow):
            rs, objs = _load_state(args.state, args)
            generation = rs.generation
            try:
                rs.restore(text, counters=args.counters, noflush=args.noflush, table=args.table)
            except PynfError as e:
                # As iptables-restore: blocks committed before the error stay.
                if rs.generation != generation:
                    write_state(args.state, rs, objs, follow=args.follow)
                return _fail(path if path != "-" else "", e)
            write_state(args.state, rs, objs, follow=args.follow)
    except PynfError as e:
        return _fail("", e)
    return 0


READ_ONLY = frozenset("LSCVh")  # iptables commands that change nothing (-L/-S with -Z do)


def cmd_iptables(argv: list[str]) -> int:
    from pynetfilter.syntax.command import parse_command

    got = state_options(argv, "pynf iptables: usage: pynf iptables --state FILE [--follow] "
                               "[--ipsets FILE] [--nfacct FILE] [iptables arguments...]")
    if got is None:
        return PARAMETER_PROBLEM
    state, follow, files, words = got
    ns = argparse.Namespace(**files)
    words = command_words(words)  # what iptables would see (no program name; a word ends at a NUL)
    try:
        cmd = parse_command(words)
    except PynfError as e:
        if "--wait-interval only makes sense" in e.message:  # iptables warns first, as it parses
            print("Ignoring deprecated --wait-interval option.", file=sys.stderr)
        print(f"iptables: {e}", file=sys.stderr)
        return e.status
    if cmd.wait_interval:
        print("Ignoring deprecated --wait-interval option.", file=sys.stderr)
    try:
        changed = True
        if cmd.command in READ_ONLY and not cmd.zero_too:
            # A reader needs no lock: the state is replaced by rename, never edited in place.
            rs, objs = _load_state(state, ns)
            generation = rs.generation
            out = _execute(rs, cmd)
            # Listing a table the host has not loaded yet loads it (as the kernel's module
            # does): only then is there something to write.
            changed = rs.generation != generation
        if changed:
            with locked(state, cmd.wait, follow):
                rs, objs = _load_state(state, ns)
                out = _execute(rs, cmd)
                write_state(state, rs, objs, follow=follow)
    except _IptablesError as e:
        print(f"iptables: {e.error}", file=sys.stderr)
        return e.error.status
    except PynfError as e:
        return _fail("", e)
    sys.stdout.write(out)
    return 0


class _IptablesError(Exception):
    """The command itself failed (as opposed to the state file): iptables' wording."""

    def __init__(self, error: PynfError) -> None:
        self.error = error


def _execute(rs: Ruleset, cmd: object) -> str:
    try:
        return rs.execute(cmd)  # type: ignore[arg-type]
    except PynfError as e:
        raise _IptablesError(e) from None


def _object_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ipsets", action="append", default=[], metavar="FILE",
                   help="`ipset save` text: the host's ipsets (repeatable)")
    p.add_argument("--nfacct", action="append", default=[], metavar="FILE",
                   help="`nfacct list` text: the host's nfacct objects (repeatable)")


def _wait_seconds(text: str) -> int:
    from pynetfilter.syntax.words import sscanf_i

    secs = sscanf_i(text)
    if secs is None:
        raise argparse.ArgumentTypeError(f'wait seconds not numeric: "{text}"')
    return secs


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
    p.add_argument("--follow", action="store_true",
                   help="the state is a symbolic link: update the file it points to")
    p.add_argument("-w", "--wait", nargs="?", type=_wait_seconds, const=-1, metavar="SECONDS",
                   help="wait for another writer's lock at most SECONDS (default and 0: forever)")
    p.add_argument("-W", "--wait-interval", metavar="USECS", help="accepted and ignored, as iptables 1.8.9")
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
    sub.add_parser("serve", help="hold a state in memory for fast iptables/ipset/restore commands "
                   "(--state FILE)", add_help=False)

    from pynetfilter.replay.engine import add_parser as add_replay

    add_replay(sub)

    from pynetfilter.netfilter.conntrack.cli import add_parser as add_conntrack

    add_conntrack(sub)

    from pynetfilter.bench.cli import add_parser as add_bench

    add_bench(sub)

    from pynetfilter.cli.explain import add_parser as add_explain

    add_explain(sub)
    return ap


def _bytes_streams() -> None:
    """Bytes in, bytes out, in any locale: names and comments may hold any byte but NUL
    (undecodable ones ride in str as surrogates), and are written back as the same bytes."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a stream already read from, or closed
                reconfigure(encoding="utf-8", errors="surrogateescape")


def main(argv: Sequence[str] | None = None) -> int:
    _bytes_streams()
    if argv is None:
        # The arguments' own bytes, whatever the locale decoded them as.
        args_list = [os.fsencode(a).decode("utf-8", "surrogateescape") for a in sys.argv[1:]]
    else:
        args_list = list(argv)
    from pynetfilter.serve.client import run

    try:
        # A `pynf serve` holding the state answers iptables/ipset/restore; else they run here.
        return run(args_list, dispatch, process=argv is None)
    except BrokenPipeError:
        return 0


def dispatch(args_list: list[str]) -> int:
    """Run a command in this process (a server runs its clients' commands through this too)."""
    try:
        if args_list and args_list[0] == "iptables":
            return cmd_iptables(args_list[1:])
        if args_list and args_list[0] == "ipset":
            from pynetfilter.cli.ipset import cmd_ipset

            return cmd_ipset(args_list[1:])
        if args_list and args_list[0] == "trace":  # packet words are iptables options: no argparse
            from pynetfilter.cli.trace import cmd_trace

            return cmd_trace(args_list[1:])
        if args_list and args_list[0] == "serve":
            from pynetfilter.serve.server import cmd_serve

            return cmd_serve(args_list[1:])
        args = build_parser().parse_args(args_list)
        return int(args.func(args))
    except BrokenPipeError:
        return 0
    except OSError as e:  # files are the edge: say which one and why, in one line
        print(f"pynf: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
