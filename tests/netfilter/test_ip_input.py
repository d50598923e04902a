"""The IP input path's own ICMP errors and options (netfilter/ip_input.py) against the kernel.

tests/scenarios/ip-error* were recorded on a real router (tools/record_scenarios.py): unreachable,
prohibit, blackhole and missing routes, TTL 1, Record Route options, a burst from one sender.  The
counters are compared in tests/scenarios/test_parity.py; here every datagram the engine sent
(forwarded, or its own ICMP errors) must be byte-identical to one the kernel sent, and the kernel
must have sent nothing the engine did not.  The rest are the refusals the recordings imply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host, Route
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_DF, Icmp, Packet, Udp
from pynetfilter.replay.engine import Replay, read_frames

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILTER = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
          "-A OUTPUT -p icmp\nCOMMIT\n")


@pytest.mark.parametrize("name", ["ip-error", "ip-error-conntrack", "pmtu"])
def test_sent_datagrams_are_the_kernels(name: str) -> None:
    folder = SCENARIOS / name
    rs = Ruleset()
    rs.restore((folder / "rules").read_text())
    host = Host.from_iproute((folder / "addrs.json").read_text(), (folder / "routes.json").read_text())
    frames = read_frames(str(folder / "capture.pcap"), host)
    rp = Replay(rs, host, frames)
    ours: list[bytes] = []
    for i in range(len(frames)):
        out = rp.step(i).outcome
        if out is None:
            continue
        if out.verdict == "accept" and out.disposition == "forward":
            ours.append(wire.to_bytes(out.packet))
        ours.extend(wire.to_bytes(g.packet) for g in out.generated if g.verdict == "accept")
    kernel = [f.data for f in frames if f.out]
    if name == "pmtu":  # the kernel fragmented what it forwarded without DF: compare its ICMP errors
        ours, kernel = ([d for d in ds if d[9] == 1 and d[20] in (3, 11)] for ds in (ours, kernel))
        mtus = [(d[20], d[21], int.from_bytes(d[26:28], "big")) for d in ours]
        assert (mtus.count((3, 4, 1200)), mtus.count((3, 4, 1400)), mtus.count((11, 0, 0))) == (11, 1, 1)
    assert sorted(ours) == sorted(kernel)
    if name != "pmtu":
        assert any(d[0] > 0x45 and d[9] == 1 for d in ours)  # ICMP errors echoing Record Route among them


def router(rules: str = FILTER, forward: bool = True) -> Engine:
    host = Host.from_file(
        "iface r0\niface r1 mtu 1400\naddr r0 10.233.1.1/24\naddr r1 10.233.2.1/24\n"
        "route 10.233.2.4/30 dev r1 mtu 1200\n"
        "route unreachable 10.233.50.0/24\nroute prohibit 10.233.51.0/24\nroute blackhole 10.233.52.0/24\n")
    host.ip_forward = forward
    rs = Ruleset()
    rs.restore(rules)
    return Engine(rs, host)


def udp(dst: str, src: str = "10.233.1.2", ttl: int = 64, options: bytes = b"", size: int = 29,
        df: bool = False) -> Packet:
    from pynetfilter.netfilter.host import ip4

    p = Packet(ip4(src), ip4(dst), 17, Udp(1000, 53), b"x" * (size - 28 - len(options)), ttl=ttl,
               ihl=5 + len(options) // 4, ip_options=options, frag_off=IP_DF if df else 0)
    return wire.parse(wire.to_bytes(p))


def errors(out: object) -> list[tuple[int, int]]:
    return [(g.packet.l4.type, g.packet.l4.code) for g in out.generated  # type: ignore[attr-defined]
            if isinstance(g.packet.l4, Icmp)]


def test_route_errors() -> None:
    eng = router()
    assert errors(eng.receive(udp("10.233.50.1", "10.233.1.10"), "r0", 0.0)) == [(3, 1)]
    assert errors(eng.receive(udp("10.233.51.1", "10.233.1.11"), "r0", 0.0)) == [(3, 13)]
    assert errors(eng.receive(udp("10.233.52.1", "10.233.1.12"), "r0", 0.0)) == []  # blackhole
    assert errors(eng.receive(udp("10.233.60.1", "10.233.1.13"), "r0", 0.0)) == [(3, 0)]
    assert errors(eng.receive(udp("10.233.2.2", "10.233.1.14", ttl=1), "r0", 0.0)) == [(11, 0)]
    out = eng.receive(udp("10.233.2.2", "10.233.1.14", ttl=1), "r0", 0.0)
    assert out.reason == "ttl exceeded"
    assert eng.ruleset.tables["filter"].chains["OUTPUT"].rules[0].packets == 5


def test_no_errors_from_a_host_that_does_not_forward() -> None:
    eng = router(forward=False)
    out = eng.receive(udp("10.233.50.1"), "r0", 0.0)
    assert out.verdict == "drop" and errors(out) == []


def test_ip_error_and_icmp_send_share_the_senders_bucket() -> None:
    """As recorded (ip-error): a burst from one sender gets two answers, then one a second."""
    eng = router()
    got = [len(errors(eng.receive(udp("10.233.60.1"), "r0", t / 10))) for t in range(8)]
    assert got == [1, 1, 0, 0, 0, 0, 0, 0]
    assert errors(eng.receive(udp("10.233.60.1"), "r0", 2.8)) == [(3, 0)]


def test_bad_options_are_a_parameter_problem_and_source_routes_a_drop() -> None:
    eng = router()
    out = eng.receive(udp("10.233.2.2", options=bytes.fromhex("070b03") + bytes(9)), "r0", 0.0)
    assert out.verdict == "drop" and errors(out) == [(12, 0)]
    assert out.generated[0].packet.l4.rest == 22 << 24  # type: ignore[union-attr]
    out = eng.receive(udp("10.233.2.2", "10.233.1.3", options=bytes.fromhex("8307040a0b0c0d00")), "r0", 0.0)
    assert out.verdict == "drop" and "source route" in out.reason and errors(out) == []


def test_a_looped_back_packet_keeps_its_route() -> None:
    """Coming in on lo from one of the host's own addresses is martian to an input route lookup."""
    eng = router()
    pkt = udp("10.233.1.1", "10.233.2.1")
    assert eng.receive(pkt, "lo", 0.0).disposition == "dropped"
    pkt = udp("10.233.1.1", "10.233.2.1")
    assert eng.receive(pkt, "lo", 0.0, route=Route("local", "lo", type="local")).disposition == "local"


def test_fragmentation_needed_before_forward() -> None:
    """ip_forward: DF and over the route's MTU (device 1400, or the mtu metric 1200 of a route) is
    answered with fragmentation needed carrying that MTU, before FORWARD and the TTL decrement;
    the TTL check comes first; without DF, or at exactly the MTU, the datagram is forwarded."""
    eng = router(FILTER + "*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD\nCOMMIT\n")
    out = eng.receive(udp("10.233.2.2", size=1401, df=True), "r0", 0.0)
    assert out.reason.startswith("fragmentation needed") and errors(out) == [(3, 4)]
    err = out.generated[0].packet
    assert err.l4.rest == 1400 and err.l4.inner.ttl == 64  # type: ignore[union-attr]
    assert errors(eng.receive(udp("10.233.2.5", size=1201, df=True), "r0", 0.0)) == [(3, 4)]
    assert eng.receive(udp("10.233.2.5", size=1201, df=True), "r0", 0.0).generated[0].packet.l4.rest == 1200
    assert errors(eng.receive(udp("10.233.2.2", size=1401, df=True, ttl=1), "r0", 0.0)) == [(11, 0)]
    for pkt in (udp("10.233.2.2", size=1400, df=True), udp("10.233.2.2", size=1401),
                udp("10.233.2.5", size=1200, df=True)):
        out = eng.receive(pkt, "r0", 0.0)
        assert out.disposition == "forward" and errors(out) == []
    assert eng.ruleset.tables["mangle"].chains["FORWARD"].rules[0].packets == 3
    assert eng.ruleset.tables["filter"].chains["OUTPUT"].rules[0].packets == 4


def test_gso_packets_pass_when_their_segments_fit() -> None:
    """Larger than its input device's MTU: a GRO/TSO aggregate, whose segments (at most that MTU)
    fit an output MTU at least as large (the stateful conntrack recording forwards such a one)."""
    eng = router()
    out = eng.receive(udp("10.233.1.2", "10.233.2.2", size=3000, df=True), "r1", 0.0)
    assert out.disposition == "forward" and errors(out) == []
    assert errors(eng.receive(udp("10.233.2.2", size=3000, df=True), "r0", 0.0)) == [(3, 4)]


def test_fragmentation_needed_is_never_rate_limited() -> None:
    """icmpv4_xrlim_allow lets every fragmentation needed through (PMTU discovery), and they draw
    nothing from the sender's bucket: a host unreachable right after is still answered."""
    eng = router()
    got = [len(errors(eng.receive(udp("10.233.2.2", size=1500, df=True), "r0", t / 100))) for t in range(20)]
    assert got == [1] * 20
    assert errors(eng.receive(udp("10.233.50.1"), "r0", 0.3)) == [(3, 1)]
