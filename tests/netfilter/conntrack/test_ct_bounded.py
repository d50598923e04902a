"""The table's bounds: nf_conntrack_max, early drop, the garbage collector, chain length, statistics.

nf_conntrack_max is global to the kernel (writable only in the initial namespace), so a full
table cannot be recorded on a shared machine: these cases follow nf_conntrack_core.c (6.x)
early_drop / __nf_conntrack_alloc / gc_worker, with the table's own bucket function deciding
which chains are near a tuple (the kernel's hash is keyed at boot).
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
from ct_helpers import A, B, tcp, through, udp

from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.conntrack import STAT_NAMES, TABLE_FULL, Conntrack
from pynetfilter.netfilter.conntrack.entry import IP_CT_DIR_ORIGINAL, IPS_ASSURED, Conn, Tuple
from pynetfilter.netfilter.conntrack.table import (
    CHAINLEN_LIMIT,
    NF_CONNTRACK_BUCKETS,
    NF_CONNTRACK_MAX,
    Table,
)
from pynetfilter.netfilter.conntrack.tcp_window import TIME_WAIT
from pynetfilter.netfilter.pipeline import HookState
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP


def new(ct: Conntrack, pkt: object, now: float) -> tuple[int, HookState]:
    """in_hook and confirm, keeping the verdict and the hook state (its events)."""
    st = HookState(Hook.PREROUTING, "eth0", None, now, False, [], [])
    v = ct.in_hook(pkt, st)  # type: ignore[arg-type]
    if v == NF_ACCEPT:
        st.hook = Hook.INPUT
        v = ct.confirm(pkt, st)  # type: ignore[arg-type]
    return v, st


def fill(ct: Conntrack, ports: range, now: float = 0.0) -> dict[int, Conn]:
    conns = {}
    for port in ports:
        p = through(ct, udp(A, B, port, 53), now)
        conns[port] = p.meta.ct
    return conns


def evictable_near(table: Table, t: Tuple, now: float) -> set[int]:
    """What early_drop must evict for *t*: the non-ASSURED entries of the first bucket from
    t's, 8 in all, that holds any (entries are in the buckets of both their tuples)."""
    first = table.bucket(t)
    for i in range(8):
        b = (first + i) % table.buckets
        there = {id(c): c for c in table if b in (table.bucket(c.orig), table.bucket(c.reply))}
        victims = {k for k, c in there.items() if not c.status & IPS_ASSURED and c.timeout > now}
        if victims:
            return victims
    return set()


def test_defaults_are_the_kernels() -> None:
    ct = Conntrack()
    assert (ct.nf_conntrack_max, ct.nf_conntrack_buckets) == (NF_CONNTRACK_MAX, NF_CONNTRACK_BUCKETS)
    assert NF_CONNTRACK_MAX == NF_CONNTRACK_BUCKETS == 262144


def test_early_drop_evicts_unassured_near_the_new_tuple() -> None:
    ct = Conntrack(max_entries=6, buckets=64)
    conns = fill(ct, range(5000, 5006))
    for port in (5000, 5002, 5004):
        conns[port].status |= IPS_ASSURED  # a stream: never early-dropped
    # A new tuple with unassured entries within 8 buckets of its own, and one with none.
    near = {port: evictable_near(ct.table, Tuple(A, B, 17, port, 53), 1.0) for port in range(6000, 6400)}
    evicting = next(port for port, want in near.items() if want)
    blocked = next(port for port, want in near.items() if not want)
    v, st = new(ct, udp(A, B, blocked, 53), 1.0)
    assert v == NF_DROP and [e.text for e in st.events] == [TABLE_FULL] and ct.stats["early_drop"] == 0
    want = near[evicting]
    v, _ = new(ct, udp(A, B, evicting, 53), 1.0)
    assert v == NF_ACCEPT and ct.stats["early_drop"] == len(want)
    gone = {id(c) for c in conns.values()} - {id(c) for c in ct.table}
    assert gone == want
    assert all(conns[p] in ct.table for p in (5000, 5002, 5004))  # assured entries stay
    assert len(ct.table) == 6 - len(want) + 1


def test_full_of_assured_entries_drops_the_packet_with_a_trace_event() -> None:
    ct = Conntrack(max_entries=4, buckets=4)
    conns = fill(ct, range(5000, 5004))
    for c in conns.values():
        c.status |= IPS_ASSURED
    v, st = new(ct, udp(A, B, 6000, 53), 0.5)
    assert v == NF_DROP and ct.stats["drop"] == 1 and ct.stats["early_drop"] == 0
    assert [e.text for e in st.events] == [TABLE_FULL]
    assert len(ct.table) == 4 and ct.table.gc_early_drop
    v, _ = new(ct, udp(A, B, 6001, 53), 1.0)  # the collector's pass: assured UDP may not go early
    assert v == NF_DROP and ct.stats["drop"] == 2


def test_gc_evicts_closing_tcp_when_the_table_was_full() -> None:
    ct = Conntrack(max_entries=100, buckets=1024)  # gc_worker early-drops only above max / 100 * 95
    handshaken = []
    for sport in range(1000, 1100):
        through(ct, tcp(A, B, sport, 80, 0x02, seq=100), 0.0)
        through(ct, tcp(B, A, 80, sport, 0x12, seq=500, ack=101), 0.0, incoming=False)
        p = through(ct, tcp(A, B, sport, 80, 0x10, seq=101, ack=501), 0.0)
        p.meta.ct.status |= IPS_ASSURED
        handshaken.append(p.meta.ct)
    handshaken[7].proto["tcp"].state = TIME_WAIT
    v, _ = new(ct, udp(A, B, 6000, 53), 0.0)
    assert v == NF_DROP and ct.table.gc_early_drop  # the pass at 0.0 came before the table was full
    v, _ = new(ct, udp(A, B, 6000, 53), 0.5)
    assert v == NF_DROP  # the next pass is due a second after the last
    v, _ = new(ct, udp(A, B, 6000, 53), 1.0)  # its pass evicts the TIME_WAIT entry, not counted
    assert v == NF_ACCEPT and handshaken[7] not in ct.table and ct.stats["early_drop"] == 0
    assert len(ct.table) == 100 and not ct.table.gc_early_drop


def test_expired_entries_make_room() -> None:
    ct = Conntrack(max_entries=3, buckets=4)
    for c in fill(ct, range(5000, 5003), 0.0).values():
        c.status |= IPS_ASSURED
    v, _ = new(ct, udp(A, B, 6000, 53), 31.0)  # UDP's 30 s are over: the collector frees them
    assert v == NF_ACCEPT and len(ct.table) == 1 and ct.stats["drop"] == 0


def test_chain_too_long() -> None:
    ct = Conntrack(buckets=1)
    limit = (CHAINLEN_LIMIT + 2 + 1) // 2  # each entry puts two nodes in the one chain
    verdicts = [new(ct, udp(A, B, 5000 + i, 53), 0.0)[0] for i in range(limit + 1)]
    assert verdicts == [NF_ACCEPT] * limit + [NF_DROP]
    assert (ct.stats["chaintoolong"], ct.stats["insert_failed"], ct.stats["drop"]) == (1, 1, 0)


def test_statistics_format() -> None:
    ct = Conntrack()
    through(ct, tcp(A, B, 1000, 80, 0x01), 0.0)  # FIN alone: invalid
    through(ct, udp(A, B, 5000, 53), 0.0)
    line = ct.statistics()
    assert line == ("cpu=0   \tfound=0 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 "
                    "search_restart=0 clash_resolve=0 chaintoolong=0 \n")
    assert [w.split("=")[0] for w in line.split()[1:]] == list(STAT_NAMES)


def test_refused_confirm_forgets_the_nat_binding() -> None:
    forgot = []

    class Nat:
        def forget(self, conn: Conn) -> None:
            forgot.append(conn)

    class Engine:
        nat = Nat()
        ruleset = None

    ct = Conntrack(Engine())
    st = HookState(Hook.PREROUTING, None, None, 0.0, False, [], [])
    p1, p2 = udp(A, B, 5000, 53), udp(A, B, 5000, 53)
    ct.in_hook(p1, st)
    ct.in_hook(p2, st)
    loser = p2.meta.ct
    assert ct.confirm(p1, st) == NF_ACCEPT and ct.confirm(p2, st) == NF_DROP
    assert forgot == [loser] and (ct.stats["insert_failed"], ct.stats["drop"]) == (1, 1)


def test_resize_keeps_every_entry() -> None:
    ct = Conntrack(buckets=8)
    conns = fill(ct, range(5000, 5040))
    ct.nf_conntrack_buckets = 64
    assert len(ct.table) == 40 and all(c in ct.table for c in conns.values())
    assert ct.find(Tuple(B, A, 17, 53, 5007)) == (conns[5007], 1)


def test_entry_memory() -> None:
    """A UDP entry (the entry, its tuples, protocol state and its share of the hash table) stays
    well under the 1,157 bytes it took before issue 7 (measured with tools/bench_bounded.py)."""
    ct = Conntrack(buckets=4096)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fill(ct, range(10000, 14000))
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert used / 4000 < 750
    conn = next(iter(ct.table))
    assert not hasattr(conn, "__dict__") and not hasattr(conn.proto, "__dict__")
    assert conn.zone_id(IP_CT_DIR_ORIGINAL) == 0


def test_cli_statistics_and_count(capsys: pytest.CaptureFixture[str]) -> None:
    from pynetfilter.cli.main import main

    cap = str(Path(__file__).parent / "kernel" / "udp_unanswered.pcap")
    assert main(["conntrack", "--capture", cap, "-C", "-S"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["1", "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 "
                        "search_restart=0 clash_resolve=0 chaintoolong=0 "]
    assert main(["conntrack", "--capture", cap, "--max", "1", "--buckets", "1", "-C"]) == 0
    assert capsys.readouterr().out == "1\n"
    assert main(["conntrack", "--buckets", "0", "-C"]) == 2
    assert "--buckets" in capsys.readouterr().err
