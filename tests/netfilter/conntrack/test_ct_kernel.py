"""Conntrack against the kernel: recorded flows (tools/record_conntrack.py) replayed through Conntrack.

Each flow's capture (taken in the server namespace) is fed packet by packet: received
packets through PREROUTING's conntrack, the INPUT rules and confirm; sent ones through
OUTPUT's conntrack and rules and confirm at POSTROUTING.  The raw/mangle rules of the
recorded ruleset (NOTRACK, CT --zone 5, CONNMARK 7) are applied by hand, the filter rules'
conntrack matches are evaluated here from (ct, ctinfo), so the counters compare conntrack's
verdicts alone.  Then the table is listed at the moment ``conntrack -L`` ran.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pynetfilter.io import pcap
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_ESTABLISHED_REPLY,
    IP_CT_NEW,
    IP_CT_RELATED,
    IP_CT_RELATED_REPLY,
    IP_CT_UNTRACKED,
    IPS_ASSURED,
    IPS_SEEN_REPLY,
    NF_CT_ZONE_DIR_ORIG,
    template,
)
from pynetfilter.netfilter.pipeline import HookState
from pynetfilter.packet import wire
from pynetfilter.packet.model import Packet, Tcp, Udp

KERNEL = Path(__file__).parent / "kernel"
META = json.loads((KERNEL / "flows.json").read_text())
RULE = re.compile(r"^\[(\d+):(\d+)\] -A (INPUT|OUTPUT) -m conntrack (.*)$")


def state_words(pkt: Packet) -> set[str]:
    """What -m conntrack sees: the state, the direction and the status bits."""
    ct, ctinfo = pkt.meta.ct, pkt.meta.ctinfo
    if ct is None:
        return {"--ctstate UNTRACKED" if ctinfo == IP_CT_UNTRACKED else "--ctstate INVALID"}
    names = {IP_CT_NEW: "NEW", IP_CT_RELATED: "RELATED", IP_CT_RELATED_REPLY: "RELATED"}
    state = names.get(ctinfo, "ESTABLISHED")
    d = "ORIGINAL" if ctinfo < IP_CT_ESTABLISHED_REPLY else "REPLY"
    words = {f"--ctstate {state} --ctdir {d}"}
    if ct.status & IPS_ASSURED:
        words.add("--ctstatus ASSURED")
    if ct.status & IPS_SEEN_REPLY:
        words.add("--ctstatus SEEN_REPLY")
    return words


def raw_table(pkt: Packet, incoming: bool) -> None:
    """The recorded raw table: NOTRACK for udp 7777, CT --zone 5 for udp 7778 (both directions)."""
    l4 = pkt.l4
    if isinstance(l4, Udp):
        port = l4.dport if incoming else l4.sport
        if port == 7777:
            pkt.meta.untracked, pkt.meta.ctinfo = True, IP_CT_UNTRACKED
        elif port == 7778:
            pkt.meta.ct, pkt.meta.ctinfo = template(zone=5), IP_CT_NEW
        elif port == 7779:
            pkt.meta.ct, pkt.meta.ctinfo = template(zone=6, zone_dir=NF_CT_ZONE_DIR_ORIG), IP_CT_NEW


def run_flow(name: str) -> tuple[Conntrack, dict[tuple[str, str], list[int]], float]:
    flow = META["flows"][name]
    ct = Conntrack(acct=flow["acct"])
    counters: dict[tuple[str, str], list[int]] = {}
    start = flow["rules_loaded_at"] or 0.0
    for rec in pcap.read(KERNEL / f"{name}.pcap"):
        if rec.ts < start:
            continue  # no rule needed conntrack yet: the kernel did not see these
        pkt = wire.parse(rec.data)
        incoming = rec.direction == "In"
        chain = "INPUT" if incoming else "OUTPUT"
        st = HookState(Hook.PREROUTING if incoming else Hook.OUTPUT, None, None, rec.ts, False, [], [])
        raw_table(pkt, incoming)
        ct.in_hook(pkt, st)
        if incoming and isinstance(pkt.l4, Tcp) and pkt.l4.dport == 7001 and pkt.meta.ct is not None:
            pkt.meta.ct.mark = 7  # mangle PREROUTING: CONNMARK --set-mark 7
        for words in state_words(pkt):
            c = counters.setdefault((chain, words), [0, 0])
            c[0] += 1
            c[1] += wire.length(pkt)
        st.hook = Hook.INPUT if incoming else Hook.POSTROUTING
        ct.confirm(pkt, st)
    return ct, counters, flow["listed_at"]


def kernel_counters(name: str) -> dict[tuple[str, str], list[int]]:
    out = {}
    for line in META["flows"][name]["counters"].splitlines():
        m = RULE.match(line)
        if m and m.group(1) != "0":
            out[(m.group(3), m.group(4))] = [int(m.group(1)), int(m.group(2))]
    return out


def split_timeout(line: str) -> tuple[str, int]:
    """(the line without its timeout, the timeout): ``tcp      6 119 ESTABLISHED ...``."""
    m = re.match(r"^(\S+\s+\d+ )(\d+)( .*)$", line)
    assert m, line
    return m.group(1) + m.group(3), int(m.group(2))


@pytest.mark.parametrize("name", sorted(META["flows"]))
def test_counters(name: str) -> None:
    """Per flow, how many packets (and bytes) had each state, direction and status."""
    _ct, mine, _t = run_flow(name)
    assert mine == kernel_counters(name), META["flows"][name]["what"]


@pytest.mark.parametrize("name", sorted(META["flows"]))
def test_listing(name: str) -> None:
    """conntrack -L after the flow: the same entries, timeouts equal to the second."""
    ct, _c, now = run_flow(name)
    mine = sorted(split_timeout(x) for x in ct.listing(now).splitlines())
    theirs = sorted(split_timeout(x) for x in META["flows"][name]["conntrack"])
    assert [m[0] for m in mine] == [t[0] for t in theirs]
    for (_l, a), (_k, b) in zip(mine, theirs, strict=True):
        assert abs(a - b) <= 1, (mine, theirs)


def save_lines(text: str) -> dict[str, list[str]]:
    """iptables-save -c text by table (the kernel saves tables in its own order): chains and rules."""
    tables: dict[str, list[str]] = {}
    for x in text.splitlines():
        if x.startswith("*"):
            cur = tables.setdefault(x[1:], [])
        elif x.startswith(("[", ":")):
            cur.append(x)
    return tables


@pytest.mark.parametrize("name", sorted(META["flows"]))
def test_pipeline(name: str) -> None:
    """The whole pipeline (``pynf replay``'s engine, the real raw/mangle/filter rules): every rule's and
    policy's counters as iptables-legacy-save -c printed them, and the conntrack table."""
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.replay.engine import Replay, read_frames

    flow = META["flows"][name]
    ruleset = Ruleset()
    ruleset.restore((KERNEL / "server.rules").read_text())
    host = Host.from_iproute((KERNEL / "server-addrs.json").read_text(),
                             (KERNEL / "server-routes.json").read_text())
    frames = [f for f in read_frames(str(KERNEL / f"{name}.pcap"), host)
              if f.ts >= (flow["rules_loaded_at"] or 0.0)]
    rp = Replay(ruleset, host, frames)
    rp.engine.conntrack.acct = flow["acct"]
    rp.run()
    assert save_lines(ruleset.save(counters=True)) == save_lines(flow["counters"])
    now = flow["listed_at"]
    mine = sorted(split_timeout(x) for x in rp.engine.conntrack.listing(now).splitlines())
    theirs = sorted(split_timeout(x) for x in flow["conntrack"])
    assert [m[0] for m in mine] == [t[0] for t in theirs]
