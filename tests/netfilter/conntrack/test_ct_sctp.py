"""SCTP conntrack against the kernel: flows recorded by tools/record_conntrack_sctp.py in a router
namespace between two ends that send hand-built SCTP datagrams, replayed through Conntrack.

Each packet the router received (In) goes through PREROUTING's conntrack, the FORWARD rules'
conntrack matches (state, direction, status bits) are counted from (ct, ctinfo), and confirm
runs at POSTROUTING; the forwarded copies (Out) are the same packets leaving.  The counters and
``conntrack -L`` at the moment it ran must be the kernel's; the whole pipeline (``pynf replay``'s
engine with the router's rules, addresses and routes) must give iptables-save -c's counters.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from test_ct_kernel import save_lines, split_timeout, state_words

from pynetfilter.io import pcap
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.conntrack import Conntrack, sctp
from pynetfilter.netfilter.conntrack.listing import from_json, to_json
from pynetfilter.netfilter.pipeline import HookState
from pynetfilter.packet import wire
from pynetfilter.packet.model import Packet, Sctp

KERNEL = Path(__file__).parent / "kernel" / "sctp"
META = json.loads((KERNEL / "flows.json").read_text())
RULE = re.compile(r"^\[(\d+):(\d+)\] -A FORWARD -m conntrack (.*)$")


def run_flow(name: str) -> tuple[Conntrack, dict[str, list[int]]]:
    ct = Conntrack()
    counters: dict[str, list[int]] = {}
    for rec in pcap.read(KERNEL / f"{name}.pcap"):
        if rec.direction != "In":
            continue  # the forwarded copy of a packet already counted
        pkt = wire.parse(rec.data)
        pkt.meta.iif = "r0"
        st = HookState(Hook.PREROUTING, "r0", None, rec.ts, False, [], [])
        ct.in_hook(pkt, st)
        for words in state_words(pkt):
            c = counters.setdefault(words, [0, 0])
            c[0] += 1
            c[1] += wire.length(pkt)
        st.hook = Hook.POSTROUTING
        ct.confirm(pkt, st)
    return ct, counters


def kernel_counters(name: str) -> dict[str, list[int]]:
    out = {}
    for line in META["flows"][name]["counters"].splitlines():
        m = RULE.match(line)
        if m and m.group(1) != "0":
            out[m.group(3)] = [int(m.group(1)), int(m.group(2))]
    return out


@pytest.mark.parametrize("name", sorted(META["flows"]))
def test_counters(name: str) -> None:
    """Per flow, how many packets (and bytes) had each state, direction and status."""
    _ct, mine = run_flow(name)
    assert mine == kernel_counters(name), META["flows"][name]["what"]


@pytest.mark.parametrize("name", sorted(META["flows"]))
def test_listing(name: str) -> None:
    """conntrack -L after the flow: the same entries and states, timeouts equal to the second."""
    ct, _c = run_flow(name)
    now = META["flows"][name]["listed_at"]
    mine = sorted(split_timeout(x) for x in ct.listing(now).splitlines())
    theirs = sorted(split_timeout(x) for x in META["flows"][name]["conntrack"])
    assert [m[0] for m in mine] == [t[0] for t in theirs]
    for (_l, a), (_k, b) in zip(mine, theirs, strict=True):
        assert abs(a - b) <= 1, (mine, theirs)


@pytest.mark.parametrize("name", sorted(META["flows"]))
def test_pipeline(name: str) -> None:
    """The router's real ruleset through the engine: every rule's and policy's counters."""
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.replay.engine import Replay, read_frames

    ruleset = Ruleset()
    ruleset.restore((KERNEL / "router.rules").read_text())
    host = Host.from_iproute((KERNEL / "router-addrs.json").read_text(),
                             (KERNEL / "router-routes.json").read_text())
    rp = Replay(ruleset, host, list(read_frames(str(KERNEL / f"{name}.pcap"), host)))
    rp.run()
    assert save_lines(ruleset.save(counters=True)) == save_lines(META["flows"][name]["counters"])
    now = META["flows"][name]["listed_at"]
    mine = sorted(split_timeout(x)[0] for x in rp.engine.conntrack.listing(now).splitlines())
    assert mine == sorted(split_timeout(x)[0] for x in META["flows"][name]["conntrack"])


def test_timeouts_are_the_sysctl_defaults() -> None:
    names = ("closed", "closed", "cookie_wait", "cookie_echoed", "established", "shutdown_sent",
             "shutdown_recd", "shutdown_ack_sent", "heartbeat_sent")
    assert tuple(META["timeouts"][f"nf_conntrack_sctp_timeout_{n}"] for n in names) == sctp.TIMEOUTS


def _pkt(vtag: int, chunks: list[tuple[int, int, bytes]], tail: bytes = b"") -> Packet:
    return Packet(0x0AE98401, 0x0AE98501, 132, Sctp(5000, 80, vtag, 0, chunks), tail)


def _through(ct: Conntrack, pkt: Packet, now: float = 0.0) -> Packet:
    st = HookState(Hook.OUTPUT, None, None, now, False, [], [])
    ct.in_hook(pkt, st)
    st.hook = Hook.POSTROUTING
    ct.confirm(pkt, st)
    return pkt


def test_chunk_walk_and_basic_checks() -> None:
    """Chunks the parser left in the payload (a length under 4) are walked as the kernel does."""
    init = (sctp.INIT, 0, struct.pack("!IIHHI", 7, 1, 1, 1, 1))
    assert sctp.basic_checks(sctp.chunks(Sctp(1, 2, 0, 0, [init]), b"")) == ""
    bundled = sctp.chunks(Sctp(1, 2, 0, 0, [init]), b"\x00\x00\x00\x02")  # DATA after INIT, length 2
    assert sctp.basic_checks(bundled) == "bad chunk combination"
    assert sctp.basic_checks(sctp.chunks(Sctp(1, 2, 0, 0, []), b"\x00\x00\x00\x00")) == "zero-length chunk"
    assert sctp.basic_checks(sctp.chunks(Sctp(1, 2, 0, 0, []), b"\x00\x00")) == "no chunks"


def test_short_init_and_state_file() -> None:
    """An INIT cut before its 16-byte header is INVALID; an entry's SCTP state survives the JSON state."""
    ct = Conntrack()
    assert _through(ct, _pkt(0, [(sctp.INIT, 0, b"\0\0\0\7")])).meta.ct is None
    assert ct.invalid["cannot start an association"] == 1
    pkt = _through(ct, _pkt(0, [(sctp.INIT, 0, struct.pack("!IIHHI", 7, 1, 1, 1, 1))]))
    assert pkt.meta.ct.proto["sctp"]["vtag"] == [0, 7]
    conns, _now, _acct = from_json(to_json(ct.entries(0.0), 0.0, False))
    assert conns[0].proto["sctp"] == pkt.meta.ct.proto["sctp"]
    assert ct.listing(0.0).startswith("sctp     132 10 CLOSED src=10.233.132.1 dst=10.233.133.1 sport=5000")
