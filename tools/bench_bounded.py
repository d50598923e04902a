#!/usr/bin/env python3
"""Benchmark: the engine's resources under load (issue 7: bounded like the kernel's).

    python3 tools/bench_bounded.py [--flows 300000] [--step 50000] [--queues 20000] [--only WHAT]

Three measurements, each printed as one table:

* ``memory``: bytes per conntrack entry, *n* UDP flows through conntrack alone (in and confirm,
  as ``pynf conntrack`` feeds a capture), measured with tracemalloc;
* ``masquerade``: *flows* new TCP connections (one SYN each) through a MASQUERADE router (the
  ``masquerade`` parity scenario's rules and host) from 250 clients to *dports* server ports:
  the time per flow as the table grows, and the memory it took.  With one server port the
  router's 64,512 ports run out and every later flow makes NAT search 248 ports (and fail):
  that time must not grow either;
* ``search``: NAT's port search alone, on a table whose 64,512 ports towards the server are all
  used, with and without 200,000 more entries: its time must not depend on the table;
* ``defrag``: *queues* first fragments of different datagrams (incomplete queues), then all
  expired at once (ipfrag_time later), timed; with the default limits (ipfrag_high_thresh holds
  about 4,000 such queues) and with the memory limit lifted, so every queue is kept.

Times are the process's CPU time (time.process_time), so other load on the machine shifts them
less.  Nothing here is a test: the numbers go into the issue's report.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "scenarios" / "masquerade"


def memory(n: int) -> None:
    from pynetfilter.model.tables import Hook
    from pynetfilter.netfilter.conntrack import Conntrack
    from pynetfilter.netfilter.pipeline import HookState
    from pynetfilter.packet.model import Packet, Udp

    ct = Conntrack()
    st = HookState(Hook.PREROUTING, "rc", None, 0.0, False, [], [])
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        pkt = Packet(0x0AE90100 + (i >> 16), 0x0AE90202, 17, Udp(i & 0xFFFF, 53, 9), b"x")
        st.hook = Hook.PREROUTING
        ct.in_hook(pkt, st)
        st.hook = Hook.INPUT
        ct.confirm(pkt, st)
    del pkt
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    print(f"memory: {n:,} UDP entries: {used / n:,.0f} bytes per entry ({used / 2**20:,.1f} MiB), "
          f"{len(ct.table):,} in the table")


def masquerade(flows: int, step: int, dports: int, ct_max: int | None) -> None:
    import resource

    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine
    from pynetfilter.packet.model import SYN, Packet, Tcp

    host = Host.from_iproute((SCENARIO / "addrs.json").read_text(), (SCENARIO / "routes.json").read_text())
    engine = Engine(Ruleset.from_save((SCENARIO / "rules").read_text()), host, seed=1)
    if ct_max is not None:
        engine.conntrack.nf_conntrack_max = ct_max  # sysctl net.netfilter.nf_conntrack_max
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"masquerade: {flows:,} flows, 250 clients -> 10.233.2.2, {dports} server port(s) from 80")
    print(f"{'flows':>9} {'us/flow':>9} {'forwarded':>10} {'table':>8}")
    t0 = time.process_time()
    fwd = 0
    for i in range(flows):
        client = 0x0AE90102 + i % 250  # 10.233.1.2 ...
        sport = 1024 + (i // 250) % 64000
        pkt = Packet(client, 0x0AE90202, 6, Tcp(sport, 80 + i % dports, seq=i, flags=SYN, window=64240))
        out = engine.receive(pkt, "rc", 1.0 + i * 1e-4)
        fwd += out.disposition == "forward"
        if (i + 1) % step == 0:
            t1 = time.process_time()
            print(f"{i + 1:>9,} {(t1 - t0) / step * 1e6:>9.1f} {fwd:>10,} {len(engine.conntrack.table):>8,}",
                  flush=True)
            t0 = t1
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024
    n = len(engine.conntrack.table)
    print(f"peak RSS grew {grown / 2**20:,.0f} MiB: {grown / max(n, 1):,.0f} bytes per entry ({n:,} entries, "
          "TCP with NAT)")
    stats = getattr(engine.conntrack, "statistics", None)
    if stats is not None:
        sys.stdout.write(stats())


def search(others: int, flows: int = 200) -> None:
    """The MASQUERADE router with all 64,512 ports towards 10.233.2.2:80 in use (loaded with
    conntrack's add, as a state file is) and *others* entries towards elsewhere: time per new
    flow to that server (its port search fails after 248 tries, then confirm drops it)."""
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.conntrack.entry import (
        IPS_SEEN_REPLY,
        IPS_SRC_NAT,
        IPS_SRC_NAT_DONE,
        Conn,
        Tuple,
    )
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine
    from pynetfilter.packet.model import SYN, Packet, Tcp

    host = Host.from_iproute((SCENARIO / "addrs.json").read_text(), (SCENARIO / "routes.json").read_text())
    engine = Engine(Ruleset.from_save((SCENARIO / "rules").read_text()), host, seed=1)
    ct = engine.conntrack
    if hasattr(ct, "nf_conntrack_max"):
        ct.nf_conntrack_max = 0  # room for every entry loaded
    status = IPS_SRC_NAT | IPS_SRC_NAT_DONE | IPS_SEEN_REPLY
    router, server, n = 0x0AE90201, 0x0AE90202, 0
    for port in range(1024, 65536):
        client = 0x0AE90102 + port % 250
        n += 1
        ct.add(Conn(Tuple(client, server, 6, port, 80), Tuple(server, router, 6, 80, port), status=status,
                    timeout=1e9, id=n))
    for i in range(others):
        elsewhere = 0x0AEA0000 + i
        n += 1
        ct.add(Conn(Tuple(0x0AE90102, elsewhere, 6, 1024 + i % 60000, 80),
                    Tuple(elsewhere, router, 6, 80, 1024 + i % 60000), status=status, timeout=1e9, id=n))
    t0 = time.process_time()
    for i in range(flows):
        engine.receive(Packet(0x0AE901FD, server, 6, Tcp(2000 + i, 80, seq=1, flags=SYN, window=64240)), "rc",
                       2.0)
    dt = (time.process_time() - t0) / flows
    print(f"nat search: all 64,512 ports taken, {len(ct.table):,} entries: {dt * 1e6:,.0f} us per new flow")


def defrag(queues: int) -> None:
    from pynetfilter.model.tables import Hook
    from pynetfilter.netfilter.defrag import Defrag
    from pynetfilter.netfilter.pipeline import HookState
    from pynetfilter.packet.model import IP_MF, Packet

    for unlimited in (False, True):
        d = Defrag(None)
        fqdir = getattr(d, "fqdir", None)
        if unlimited and fqdir is None:
            continue  # before issue 7 there was no limit to lift
        if unlimited:
            fqdir.high_thresh = 1 << 40  # every queue kept: expiry's own cost
        st = HookState(Hook.PREROUTING, "rc", None, 0.0, False, [], [])
        t0 = time.process_time()
        for i in range(queues):
            d.hook(Packet(0x0AE90102 + (i >> 16), 0x0AE90202, 17, None, bytes(64), id=i & 0xFFFF,
                          frag_off=IP_MF), st)
        t1 = time.process_time()
        held = len(d.queues)
        st.now = 31.0
        d.expire(st.now)
        t2 = time.process_time()
        what = "no memory limit" if unlimited else "default limits" if fqdir is not None else "no limits"
        print(f"defrag ({what}): {queues:,} first fragments in {t1 - t0:.2f} s, {held:,} queues held, "
              f"expired in {t2 - t1:.3f} s; {len(d.queues):,} left")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flows", type=int, default=300_000)
    ap.add_argument("--step", type=int, default=50_000)
    ap.add_argument("--dports", type=int, default=8,
                    help="server ports the flows spread over (1: the router's ports run out at 64,512)")
    ap.add_argument("--ct-max", type=int,
                    help="nf_conntrack_max for the masquerade run (default: the kernel's)")
    ap.add_argument("--entries", type=int, default=100_000, help="entries for the memory measurement")
    ap.add_argument("--queues", type=int, default=20_000)
    ap.add_argument("--only", choices=["memory", "masquerade", "defrag", "search"])
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.only in (None, "memory"):
        memory(args.entries)
    if args.only in (None, "defrag"):
        defrag(args.queues)
    if args.only in (None, "search"):
        for others in (0, 200_000):
            search(others)
    if args.only in (None, "masquerade"):
        masquerade(args.flows, args.step, args.dports, args.ct_max)
    return 0


if __name__ == "__main__":
    sys.exit(main())
