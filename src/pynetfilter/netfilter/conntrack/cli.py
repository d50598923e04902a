"""``pynf conntrack``: a conntrack table kept in a file, fed from captures, listed as ``conntrack -L``.

    pynf conntrack [--state FILE] [--capture PCAP]... [-L] [-o extended] [--at TIME] [-S] [-C]
                   [--max N] [--buckets N]

Theory of operation.  The table lives in a JSON state file (see :mod:`.listing`); captures
taken on a host (``tcpdump -i any -w``) are fed through conntrack alone, with that host's
view: received packets through PREROUTING's conntrack and confirmed at the end of INPUT,
sent ones through OUTPUT's conntrack and confirmed in POSTROUTING, each at its capture time.
No rules run (NOTRACK, CT zones and CONNMARK need the rules: ``pynf replay`` runs the whole
pipeline); a router's forwarded traffic, seen once in and once out, is for ``pynf replay``.
``-L`` prints the table as ``conntrack -L`` does at ``--at`` (seconds since the epoch;
default: the last packet fed, or when the state was saved), with its summary on stderr.
``-S`` prints what feeding the captures counted as ``conntrack -S`` does (one CPU; the state
file keeps no statistics), ``-C`` the number of entries as ``conntrack -C``.  ``--max`` and
``--buckets`` are net.netfilter.nf_conntrack_max and nf_conntrack_buckets for the feeding
(defaults: 262144 each, the kernel's on a host with more than 4 GiB).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from pathlib import Path
from typing import Any

from pynetfilter.errors import PynfError
from pynetfilter.io import statefile
from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.listing import from_json, to_json
from pynetfilter.netfilter.conntrack.table import NF_CONNTRACK_BUCKETS, NF_CONNTRACK_MAX

SUMMARY = "conntrack v1.4.7 (conntrack-tools): {n} flow entries have been shown."
MAX_BUCKETS = 1 << 24  # 128 MiB of chain heads


class _State:
    """The hook state conntrack reads: the hook's name and the clock."""

    __slots__ = ("hook", "now", "trace", "events")

    def __init__(self, hook: Any, now: float) -> None:
        self.hook, self.now, self.trace, self.events = hook, now, False, []


def feed(ct: Conntrack, capture: str | Path) -> float | None:
    """Run a capture's IPv4 packets through *ct* as the capturing host saw them; the last time."""
    from pynetfilter.io import pcap
    from pynetfilter.model.tables import Hook
    from pynetfilter.packet import wire

    last = None
    for rec in pcap.read(capture):
        try:
            pkt = wire.parse(rec.data)
        except PynfError:
            continue  # dropped before netfilter (ip_rcv): conntrack never sees it
        incoming = rec.direction == "In"
        st = _State(Hook.PREROUTING if incoming else Hook.OUTPUT, rec.ts)
        ct.in_hook(pkt, st)
        st.hook = Hook.INPUT if incoming else Hook.POSTROUTING
        ct.confirm(pkt, st)
        last = rec.ts
    return last


def add_parser(sub: Any) -> None:
    p = sub.add_parser("conntrack", help="a conntrack table: feed captures, list it as conntrack -L")
    p.add_argument("--state",
                   help="JSON conntrack state file (created if missing, rewritten after --capture)")
    p.add_argument("--capture", action="append", default=[], metavar="PCAP",
                   help="feed a tcpdump capture of the host (repeatable, in order)")
    p.add_argument("-L", "--dump", action="store_true", help="list the table (conntrack -L)")
    p.add_argument("-o", "--output", choices=["extended"], help="extended: with the layer 3 protocol")
    p.add_argument("--at", type=float, help="list as of this time (seconds since the epoch)")
    p.add_argument("--acct", action="store_true", help="accounting on (nf_conntrack_acct=1)")
    p.add_argument("-S", "--stats", action="store_true", help="statistics (conntrack -S)")
    p.add_argument("-C", "--count", action="store_true", help="the number of entries (conntrack -C)")
    p.add_argument("--max", type=_u32, default=NF_CONNTRACK_MAX, metavar="N",
                   help=f"nf_conntrack_max (default {NF_CONNTRACK_MAX}; 0: no limit)")
    p.add_argument("--buckets", type=_u32, default=NF_CONNTRACK_BUCKETS, metavar="N",
                   help=f"nf_conntrack_buckets (default {NF_CONNTRACK_BUCKETS}, at most {MAX_BUCKETS})")
    p.set_defaults(func=cmd_conntrack)


def _u32(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    value = int(text)
    if value < 0 or value > 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"expected 0 to 4294967295, got {text}")
    return value


def cmd_conntrack(args: argparse.Namespace) -> int:
    if not 1 <= args.buckets <= MAX_BUCKETS:
        # the table is an array of that many chains: 8 bytes each
        print(f"pynf: --buckets: expected 1 to {MAX_BUCKETS}, got {args.buckets}", file=sys.stderr)
        return 2
    if args.at is not None and not math.isfinite(args.at):
        print(f"pynf: --at: expected a finite time, got {args.at}", file=sys.stderr)
        return 2
    ct = Conntrack(acct=args.acct, max_entries=args.max, buckets=args.buckets)
    now: float | None = None
    try:
        # A writer holds the state's lock from reading it to replacing it (pynetfilter.io.statefile).
        with contextlib.ExitStack() as stack:
            if args.state and args.capture:
                stack.enter_context(statefile.StateLock(statefile.target(args.state, False)))
            data = statefile.read_state(args.state) if args.state else None
            if data is not None:
                try:
                    conns, now, acct = from_json(data.decode("utf-8", "surrogateescape"))
                except PynfError as e:
                    raise PynfError(f"{args.state}: {e}") from None
                ct.acct = ct.acct or acct
                for c in conns:
                    ct.add(c)
                ct.stats.clear()  # -S tells what this run's feeding counted
            for cap in args.capture:
                now = feed(ct, cap) or now  # capture errors name their file
            if args.state and args.capture:
                at = now or 0.0
                statefile.write_state(args.state, to_json(ct.entries(at), at, ct.acct).encode())
    except PynfError as e:
        print(f"pynf: {e}", file=sys.stderr)
        return e.status
    if args.at is not None:
        now = args.at
    if now is None:
        now = 0.0
    if args.dump:
        entries = ct.entries(now)
        sys.stdout.write(ct.listing(now, extended=args.output == "extended"))
        print(SUMMARY.format(n=len(entries)), file=sys.stderr)
    if args.count:
        print(len(ct.entries(now)))
    if args.stats:
        sys.stdout.write(ct.statistics())
    return 0
