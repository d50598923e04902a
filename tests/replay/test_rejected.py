"""replay.rejected: the host's own packets REJECT refused in OUTPUT, inferred from the replies on lo.

The recorded scenarios (tests/scenarios/reject-output-nat, kube-no-endpoints-local) give the kernel's
replies; the synthetic captures check what a reset without ACK tells and what it does not."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.packet.model import ACK, FIN, IP_DF, PSH, RST, SYN, Icmp, Packet, Tcp
from pynetfilter.packet.wire import length
from pynetfilter.replay.capture import Frame, parse
from pynetfilter.replay.engine import Replay
from pynetfilter.replay.infer import Scratch
from pynetfilter.replay.inputs import read_frames
from pynetfilter.replay.rejected import explain, looks_like
from tests.replay.test_engine import frame, ip
from tools.kernel import Namespace, available, table_blocks

SCEN = Path(__file__).resolve().parent.parent / "scenarios"
TS_OPTS = bytes([1, 1, 8, 10]) + bytes(8)  # nop, nop, timestamps: a Linux data segment's options


def recorded(name: str) -> tuple[Replay, list[Frame]]:
    folder = SCEN / name
    rs = Ruleset()
    rs.restore((folder / "rules").read_text())
    host = Host.from_iproute((folder / "addrs.json").read_text(), (folder / "routes.json").read_text())
    frames = read_frames(str(folder / "capture.pcap"), host)
    return Replay(rs, host, frames), frames


def index(frames: list[Frame], pred: object, nth: int = 0) -> int:
    hits = [i for i, f in enumerate(frames) if f.ifname == "lo" and pred(parse(f))]  # type: ignore[operator]
    return hits[nth]


def explain_at(rp: Replay, frames: list[Frame], i: int):  # type: ignore[no-untyped-def]
    for j in range(i):  # the connection's earlier packets, as the replay sees them
        rp.step(j)
    return explain(Scratch(rp.engine.ruleset, rp.engine.host), rp.engine, frames, i, parse(frames[i]))


def is_rst(p: Packet, ack: bool) -> bool:
    return isinstance(p.l4, Tcp) and bool(p.l4.flags & RST) and bool(p.l4.flags & ACK) == ack


# --------------------------------------------------------------------------- recorded replies


def test_rst_with_ack_answers_a_syn_with_the_hosts_syn_options() -> None:
    rp, frames = recorded("reject-output-nat")
    i = index(frames, lambda p: is_rst(p, ack=True))
    reply = parse(frames[i])
    rej = explain_at(rp, frames, i)
    assert rej is not None
    p = rej.packet
    # The socket's view: the ClusterIP, not the endpoint nat OUTPUT DNATed it to.
    assert (p.saddr, p.daddr) == (reply.daddr, reply.saddr)
    assert (p.l4.sport, p.l4.dport) == (reply.l4.dport, reply.l4.sport)
    assert p.l4.flags == SYN and p.l4.seq == (reply.l4.ack_seq - 1) & 0xFFFFFFFF
    assert length(p) == 60  # what the kernel counted: [2:120] on the REJECT rule for two such SYNs
    assert "options" in rej.guessed  # the options are another SYN's: said, never silent


def test_rst_without_ack_answers_an_acked_segment_at_the_connections_seq() -> None:
    rp, frames = recorded("reject-output-nat")
    i = index(frames, lambda p: is_rst(p, ack=False))
    reply = parse(frames[i])
    data = next(parse(f) for f in frames[:i] if f.out and parse(f).l4.flags & PSH)  # the 64 bytes before
    rej = explain_at(rp, frames, i)
    assert rej is not None
    p = rej.packet
    assert p.l4.flags == ACK | FIN  # the rule rejects FINs: the first guess the rules reject so
    assert p.l4.ack_seq == reply.l4.seq
    assert p.l4.seq == (data.l4.seq + len(data.payload)) & 0xFFFFFFFF  # conntrack's td_end
    assert length(p) == 52  # the connection's header (timestamps), as the kernel counted
    assert "payload length" in rej.guessed


def test_icmp_error_gives_the_quoted_datagram() -> None:
    rp, frames = recorded("reject-output-nat")
    i = index(frames, lambda p: isinstance(p.l4, Icmp) and p.l4.code == 3)
    reply = parse(frames[i])
    rej = explain_at(rp, frames, i)
    assert rej is not None and rej.guessed == ""
    inner = reply.l4.inner
    assert (rej.packet.saddr, rej.packet.daddr, rej.packet.l4.dport) == (inner.saddr, inner.daddr, 53)
    assert length(rej.packet) == 92 and rej.packet.id == inner.id


def test_icmp_error_that_cut_the_datagram_is_padded_to_its_length_and_says_so() -> None:
    rp, frames = recorded("kube-no-endpoints-local")
    big = [j for j, f in enumerate(frames) if f.ifname == "lo" and len(f.data) == 576]
    assert big, "the recording's 700-byte UDP datagram is quoted in a 576-byte error"
    rej = explain_at(rp, frames, big[0])
    assert rej is not None
    assert length(rej.packet) == 728 and "not quoted" in rej.guessed
    # No NAT for a Service without endpoints: the error comes from the host's own address.
    assert parse(frames[big[0]]).saddr == rej.packet.saddr


def test_replay_counts_the_rejected_packets_and_their_replies() -> None:
    rp, frames = recorded("kube-no-endpoints-local")
    for j in range(len(frames)):
        rp.step(j)
    rejects = [r for r in rp.engine.ruleset.tables["filter"].chains["KUBE-SERVICES"].rules]
    assert [(r.packets, r.bytes) for r in rejects] == [(2, 120), (2, 820)]
    assert "rejected" in rp.warnings  # the cut datagram


def test_each_retransmitted_rejected_segment_is_one_rejected_packet() -> None:
    rp, frames = recorded("reject-output-nat")
    steps = [rp.step(j) for j in range(len(frames))]
    assert all("REJECT's reply" in st.action for st in steps if st.frame.ifname == "lo")
    fin_rule = rp.engine.ruleset.tables["filter"].chains["OUTPUT"].rules[3]
    errors = [st for st in steps if st.frame.ifname == "lo" and isinstance(parse(st.frame).l4, Icmp)
              and parse(st.frame).l4.code == 10]
    assert len(errors) == 4 and (fin_rule.packets, fin_rule.bytes) == (4, 4 * 52)  # as the kernel counted


# --------------------------------------------------------------------------- synthetic captures

RULES = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p tcp -m tcp --dport 7 --tcp-flags PSH PSH -j REJECT --reject-with tcp-reset
COMMIT
"""
HOST, PEER = "10.233.2.1", "10.233.2.2"


def seg(seq: int, flags: int, payload: int = 0) -> Packet:
    tcp = Tcp(5000, 7, seq, 2000, 8, flags, 502, 0, 0, TS_OPTS)
    return Packet(ip(HOST), ip(PEER), 6, tcp, bytes(payload), frag_off=IP_DF, id=3)


def rst(seq: int) -> Packet:
    return Packet(ip(PEER), ip(HOST), 6, Tcp(7, 5000, seq, 0, 5, RST, 0), frag_off=IP_DF)


def synthetic(*pkts: tuple[str, bool, Packet]) -> tuple[Replay, list[Frame]]:
    folder = SCEN / "reject-output-nat"
    rs = Ruleset()
    rs.restore(RULES)
    host = Host.from_iproute((folder / "addrs.json").read_text(), (folder / "routes.json").read_text())
    frames = [frame(n, 0.01 * n, ifname, out, p) for n, (ifname, out, p) in enumerate(pkts, 1)]
    return Replay(rs, host, frames), frames


def test_the_hosts_next_segment_tells_the_rejected_ones_length() -> None:
    rp, frames = synthetic(("rs", True, seg(1000, ACK)), ("lo", False, rst(2000)),
                           ("rs", True, seg(1100, ACK)))
    rej = explain_at(rp, frames, 1)
    assert rej is not None
    assert rej.packet.l4.flags == ACK | PSH and len(rej.packet.payload) == 100
    assert rej.packet.l4.seq == 1000 and rej.guessed == "its flags"


def test_a_captured_copy_of_the_segment_tells_it_all() -> None:
    rp, frames = synthetic(("rs", True, seg(1000, ACK | PSH, 40)), ("lo", False, rst(2000)))
    rej = explain_at(rp, frames, 1)
    # Without conntrack, the seq is the stream's: after the captured copy.  The copy with the same
    # seq (sent before, an earlier transmission) is looked for at that seq: 1040 has none.
    assert rej is not None and rej.packet.l4.seq == 1040
    rp, frames = synthetic(("rs", True, seg(960, ACK)), ("lo", False, rst(2000)),
                           ("rs", True, seg(960, ACK | PSH, 40)))
    rej = explain_at(rp, frames, 1)
    assert rej is not None and rej.guessed == ""
    assert rej.packet.l4.flags == ACK | PSH and len(rej.packet.payload) == 40


def test_an_unknowable_length_is_guessed_and_warned() -> None:
    rp, frames = synthetic(("rs", True, seg(1000, ACK)), ("lo", False, rst(2000)))
    for j in range(len(frames)):
        st = rp.step(j)
    assert "REJECT's reply" in st.action
    rule = rp.engine.ruleset.tables["filter"].chains["OUTPUT"].rules[0]
    assert (rule.packets, rule.bytes) == (1, 52)  # a PSH without payload: the best the capture tells
    assert "rejected" in rp.warnings
    assert any("payload length" in line for line in rp.warnings.lines())


def test_a_reset_the_rules_did_not_make_is_not_taken_for_one() -> None:
    rp, frames = synthetic(("rs", True, seg(1000, ACK)), ("lo", False, rst(2000)))
    rp.engine.ruleset.restore(RULES.replace("--dport 7", "--dport 8"))
    assert looks_like(parse(frames[1]))
    assert explain_at(rp, frames, 1) is None
    # Then it is the host's own output, replayed as captured: a source no socket may send from
    # is routed by destination (the kernel's own packets are), and it arrives, as it did.
    st = rp.step(1)
    assert st.outcome is not None and st.outcome.verdict == "accept" and st.outcome.disposition == "local"


# --------------------------------------------------------------------------- asked of the kernel

SPOOF = """import socket, struct
src, dst = socket.inet_aton("10.233.251.7"), socket.inet_aton("10.233.250.1")
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s & 0xffff) + (s >> 16)
    return ~((s & 0xffff) + (s >> 16)) & 0xffff
tcp = struct.pack("!HHIIBBHHH", 80, 40000, 5000, 0, 0x50, 0x04, 0, 0, 0)
tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, 20) + tcp)) + tcp[18:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 7, 0x4000, 64, 6, 0, src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).sendto(ip + tcp, ("10.233.250.1", 0))
"""
LIVE = available("tcpdump")


@pytest.mark.skipif(LIVE is not None, reason=f"kernel not available: {LIVE}")
def test_a_loopback_packet_from_a_source_no_socket_may_use_is_delivered(tmp_path: Path) -> None:
    """A raw socket's packet (IP_HDRINCL) from a foreign source, over lo, that no REJECT made: the
    kernel counts it in OUTPUT and INPUT (the looped skb keeps its output route), so must the replay."""
    with Namespace(os.environ.get("PYNF_NS_PREFIX", "pynf")) as ns:
        ns.run(["ip", "addr", "add", "10.233.250.1/32", "dev", "lo"])
        ns.ipt("-A", "OUTPUT", "-s", "10.233.251.7")
        ns.ipt("-A", "INPUT", "-i", "lo", "-s", "10.233.251.7")
        pcap = tmp_path / "capture.pcap"
        dump = subprocess.Popen(["ip", "netns", "exec", ns.name, "tcpdump", "-i", "any", "-n", "-U",
                                 "--immediate-mode", "-Z", "root", "-w", str(pcap)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert dump.stderr is not None
        while "listening" not in dump.stderr.readline():
            pass
        time.sleep(0.2)
        assert ns.run(["python3", "-c", SPOOF]).rc == 0
        time.sleep(0.3)
        dump.send_signal(signal.SIGINT)
        dump.communicate(timeout=5)
        rules, kernel = ns.save("filter"), ns.save("filter", counters=True)
        addrs = ns.run(["ip", "-j", "addr", "show"]).out
        routes = ns.run(["ip", "-j", "route", "show", "table", "all"]).out
    from pynetfilter.replay.engine import replay

    rp = replay(rules, addrs, routes, str(pcap), quiet=True, out=io.StringIO())
    assert table_blocks(rp.engine.ruleset.save(counters=True)) == table_blocks(kernel)
    assert "[1:40] -A INPUT" in kernel
