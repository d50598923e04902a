"""``pynf conntrack``: a conntrack table kept in a file, fed from captures, listed as ``conntrack -L``.

    pynf conntrack [--state FILE] [--capture PCAP]... [-L] [-o extended] [--at TIME]

Theory of operation.  The table lives in a JSON state file (see :mod:`.listing`); captures
taken on a host (``tcpdump -i any -w``) are fed through conntrack alone, with that host's
view: received packets through PREROUTING's conntrack and confirmed at the end of INPUT,
sent ones through OUTPUT's conntrack and confirmed in POSTROUTING, each at its capture time.
No rules run (NOTRACK, CT zones and CONNMARK need the rules: ``pynf replay`` runs the whole
pipeline); a router's forwarded traffic, seen once in and once out, is for ``pynf replay``.
``-L`` prints the table as ``conntrack -L`` does at ``--at`` (seconds since the epoch;
default: the last packet fed, or when the state was saved), with its summary on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pynetfilter.errors import PynfError
from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.listing import from_json, to_json

SUMMARY = "conntrack v1.4.7 (conntrack-tools): {n} flow entries have been shown."


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
    p.set_defaults(func=cmd_conntrack)


def cmd_conntrack(args: argparse.Namespace) -> int:
    ct = Conntrack(acct=args.acct)
    now: float | None = None
    try:
        if args.state and os.path.exists(args.state):
            try:
                conns, now, acct = from_json(Path(args.state).read_text(encoding="utf-8"))
            except PynfError as e:
                raise PynfError(f"{args.state}: {e}") from None
            ct.acct = ct.acct or acct
            for c in conns:
                ct.add(c)
        for cap in args.capture:
            now = feed(ct, cap) or now  # capture errors name their file
    except PynfError as e:
        print(f"pynf: {e}", file=sys.stderr)
        return 1
    if args.at is not None:
        now = args.at
    if now is None:
        now = 0.0
    if args.state and args.capture:
        tmp = f"{args.state}.tmp"
        Path(tmp).write_text(to_json(ct.entries(now), now, ct.acct), encoding="utf-8")
        os.replace(tmp, args.state)
    if args.dump:
        entries = ct.entries(now)
        sys.stdout.write(ct.listing(now, extended=args.output == "extended"))
        print(SUMMARY.format(n=len(entries)), file=sys.stderr)
    return 0
