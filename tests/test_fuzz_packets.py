"""Property tests: no packet or capture makes pynetfilter raise anything but a one-line PynfError.

Packets are built field by field (addresses of every kind the host routes differently, TTL 0/1,
IP options good and bad, DF/MF and fragment offsets, every transport, ICMP errors quoting other
packets, REJECT's own replies) or are random and mutated bytes; each example is a sequence, which
goes on after a packet was refused, through

* the Engine of a router whose rules use conntrack, DNAT/SNAT/MASQUERADE/REDIRECT, REJECT in
  INPUT, FORWARD and OUTPUT, LOG, TCPMSS and u32, and whose routes answer with ip_error (unreachable,
  prohibit, blackhole), time exceeded, parameter problems and fragmentation needed;
* the replay: the same frames written as a LINUX_SLL2 capture (arriving, leaving, on lo, with
  egress copies of earlier frames) and replayed, every step's line formatted, the counters saved;
* fragments whose datagrams end anywhere up to 65,535 bytes, and past it.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct

from hypothesis import event, given
from hypothesis import strategies as st

from pynetfilter.errors import PynfError
from pynetfilter.io.pcap import LINKTYPE_LINUX_SLL2, Writer, read
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine, Outcome
from pynetfilter.packet import wire
from pynetfilter.packet.model import (
    ACK,
    IP_DF,
    IP_MF,
    IPPROTO_ICMP,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    RST,
    SYN,
    Icmp,
    Packet,
    Sctp,
    Tcp,
    Udp,
)
from pynetfilter.replay.engine import Replay, format_step
from pynetfilter.replay.inputs import read_frames
from pynetfilter.replay.warnings import Warnings
from tests.fuzzing import examples, one_line, tolerated

HOST = """
iface a0 mtu 1500
iface b0 mtu 1400
iface c0 mtu 9000
addr a0 10.233.1.1/24
addr b0 10.233.2.1/24
addr c0 10.233.3.1/24
route unreachable 10.233.50.0/24
route prohibit 10.233.51.0/24
route blackhole 10.233.52.0/24
route 10.233.60.0/24 via 10.233.3.254 mtu 576
"""
IFINDEX = {"lo": 1, "a0": 2, "b0": 3, "c0": 4}

RULES = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 9 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --tcp-flags SYN SYN -j TCPMSS --set-mss 1000
-A FORWARD -j MARK --set-mark 0x1
-A POSTROUTING -p udp --dport 7 -j TTL --ttl-set 1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.233.1.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.233.2.9:8080
-A PREROUTING -d 10.233.1.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.233.2.9
-A PREROUTING -p tcp -m tcp --dport 8081 -j REDIRECT --to-ports 22
-A OUTPUT -d 10.233.100.10/32 -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to 10.233.2.9:8080
-A OUTPUT -d 10.233.100.10/32 -p tcp -j DNAT --to-destination 10.233.2.10:8080
-A POSTROUTING -s 10.233.1.0/24 -o b0 -j MASQUERADE
-A POSTROUTING -o c0 -p udp -j SNAT --to-source 10.233.3.1:1000-2000
-A POSTROUTING -o c0 -j SNAT --to-source 10.233.3.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "bad " --log-tcp-options --log-ip-options
-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT
-A INPUT -p icmp -m u32 --u32 "0>>22&0x3C@0>>24=8" -m string --algo bm --string "x" -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp -m udp --dport 24 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p tcp -m multiport --dports 1:1000,8080 -m length --length 40:1500 -j ACCEPT
-A FORWARD -p sctp -m sctp --chunk-types any INIT -j ACCEPT
-A FORWARD -p udp -j ACCEPT
-A FORWARD -p icmp -j ACCEPT
-A FORWARD -f -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset
-A OUTPUT -p udp -m udp --dport 26 -j REJECT --reject-with icmp-admin-prohibited
-A OUTPUT -d 10.233.2.10/32 -j REJECT
COMMIT
"""


def ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


# Every kind of address the router treats differently: its own, its neighbours', routed into an
# unreachable/prohibit/blackhole route or one with a small mtu, the ClusterIP nat OUTPUT DNATs,
# broadcast, multicast, loopback, zero, and nowhere (no default route).
ADDRS = [ip(a) for a in ("10.233.1.2", "10.233.1.1", "10.233.2.9", "10.233.2.10", "10.233.2.1", "10.233.3.7",
                         "10.233.3.1", "10.233.50.5", "10.233.51.5", "10.233.52.5", "10.233.60.5",
                         "10.233.100.10", "10.233.1.255", "255.255.255.255", "224.0.0.1", "127.0.0.1",
                         "0.0.0.0", "8.8.8.8")]
LOCAL = [ip(a) for a in ("10.233.1.1", "10.233.2.1", "10.233.3.1", "127.0.0.1")]
PORTS = st.one_of(st.sampled_from([7, 9, 22, 23, 24, 25, 26, 53, 80, 8080, 8081, 40000]),
                  st.integers(0, 65535))

# IP options: none, padding, Record Route, timestamps (each flag), source routes, router alert,
# and the malformed ones (bad lengths and pointers, unknown types, random bytes).
OPTIONS = st.one_of(
    st.just(b""),
    st.sampled_from([bytes([1, 1, 1, 0]), bytes([7, 7, 4]) + bytes(4), bytes([7, 11, 4]) + bytes(8),
                     bytes([7, 7, 8]) + bytes(4), bytes([68, 12, 5, 0]) + bytes(8),
                     bytes([68, 12, 5, 1]) + bytes(8), bytes([68, 12, 5, 3]) + bytes(8),
                     bytes([68, 8, 9, 0xF0]) + bytes(4), bytes([131, 7, 4]) + bytes(4),
                     bytes([137, 11, 4]) + bytes([10, 233, 2, 9, 10, 233, 3, 7]), bytes([148, 4, 0, 0]),
                     bytes([7, 2, 4, 0]), bytes([7, 0]), bytes([68, 3]), bytes([7, 40, 4]),
                     bytes([134, 6, 0, 0, 0, 1]), bytes([0x99, 4, 0, 0])]),
    st.binary(min_size=1, max_size=40),
)


@st.composite
def transports(draw: st.DrawFn, depth: int = 0) -> tuple[int, Tcp | Udp | Icmp | Sctp | None]:
    kind = draw(st.sampled_from(["tcp", "udp", "icmp", "sctp", "other"]))
    if kind == "tcp":
        opts = draw(st.sampled_from([b"", bytes([2, 4, 5, 180]), bytes([1, 1, 8, 10]) + bytes(8),
                                     bytes([2, 4, 5, 180, 4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 7])]))
        flags = draw(st.one_of(st.sampled_from([SYN, SYN | ACK, ACK, RST, RST | ACK, ACK | 0x08, ACK | 1]),
                               st.integers(0, 0xFF)))
        return IPPROTO_TCP, Tcp(draw(PORTS), draw(PORTS), draw(st.integers(0, 2**32 - 1)),
                                draw(st.integers(0, 2**32 - 1)), 5 + len(opts) // 4, flags,
                                draw(st.integers(0, 65535)), 0, 0, opts)
    if kind == "udp":
        return IPPROTO_UDP, Udp(draw(PORTS), draw(PORTS))
    if kind == "icmp":
        typ = draw(st.one_of(st.sampled_from([0, 3, 4, 5, 8, 11, 12, 13, 14]), st.integers(0, 255)))
        code = draw(st.one_of(st.sampled_from([0, 1, 3, 4, 9, 10, 13]), st.integers(0, 255)))
        inner = None
        if typ in (3, 4, 5, 11, 12) and depth == 0 and draw(st.booleans()):
            inner = draw(datagrams(depth=1))
        return IPPROTO_ICMP, Icmp(typ, code, rest=draw(st.integers(0, 2**32 - 1)), inner=inner)
    if kind == "sctp":
        chunks = draw(st.lists(st.tuples(st.sampled_from([0, 1, 2, 6, 14, 255]), st.integers(0, 255),
                                         st.binary(max_size=12)), max_size=3))
        return IPPROTO_SCTP, Sctp(draw(PORTS), draw(PORTS), draw(st.integers(0, 2**32 - 1)), chunks=chunks)
    return draw(st.sampled_from([0, 2, 47, 50, 51, 255])), None


@st.composite
def datagrams(draw: st.DrawFn, depth: int = 0) -> Packet:
    proto, l4 = draw(transports(depth))
    size = draw(st.one_of(st.integers(0, 40), st.sampled_from([1352, 1373, 1400, 1473, 1500, 4000])))
    frag = draw(st.sampled_from([0, 0, 0, IP_DF, IP_DF, IP_MF, 1, IP_MF | 3, 8191]))
    return Packet(draw(st.sampled_from(ADDRS)), draw(st.sampled_from(ADDRS)), proto, l4,
                  draw(st.sampled_from([b"", b"x", b"xyz" * 3])).ljust(size, b"\0"),
                  tos=draw(st.sampled_from([0, 0x10, 0x03, 0xFF])), id=draw(st.integers(0, 65535)),
                  frag_off=frag, ttl=draw(st.sampled_from([0, 1, 2, 64, 255])), ip_options=draw(OPTIONS))


@st.composite
def reject_replies(draw: st.DrawFn) -> Packet:
    """What REJECT in OUTPUT sends back to the host (a RST, an ICMP error quoting the packet): on lo
    the replay infers the refused packet from it.  Mostly what the OUTPUT rules refuse (TCP to port
    25, UDP to port 26, what nat OUTPUT sends to 10.233.2.10), else anything."""
    if draw(st.booleans()):
        sent = draw(datagrams(depth=1))
    else:
        tcp = draw(st.booleans())
        dport = draw(st.sampled_from([25, 26, 80, 8080]))
        l4 = Tcp(draw(PORTS), dport, draw(st.integers(0, 2**32 - 1)), 0, 5, SYN, 64240) if tcp \
            else Udp(draw(PORTS), dport)
        dst = draw(st.sampled_from([ip("10.233.2.9"), ip("10.233.100.10"), ip("10.233.2.10")]))
        sent = Packet(0, dst, IPPROTO_TCP if tcp else IPPROTO_UDP, l4, b"" if tcp else b"q",
                      id=draw(st.integers(0, 9)), frag_off=IP_DF)
    sent.saddr = draw(st.sampled_from(LOCAL))
    if draw(st.booleans()) and isinstance(sent.l4, Tcp):
        t = sent.l4
        ack = bool(t.flags & ACK)
        rst = Tcp(t.dport, t.sport, t.ack_seq if ack else 0, 0 if ack else (t.seq + 1) & 0xFFFFFFFF, 5,
                  RST if ack else RST | ACK)
        return Packet(sent.daddr, sent.saddr, IPPROTO_TCP, rst, frag_off=IP_DF,
                      id=draw(st.integers(0, 65535)))
    code = draw(st.sampled_from([0, 1, 2, 3, 9, 10, 13]))
    # The kernel's error about a local packet comes from the local address (the route back is local).
    src = sent.saddr if draw(st.booleans()) else sent.daddr
    return Packet(src, sent.saddr, IPPROTO_ICMP, Icmp(3, code, inner=sent), tos=0xC0,
                  id=draw(st.integers(0, 65535)))


def _safe_bytes(pkt: Packet) -> bytes | None:
    """The datagram's bytes, or None when its fields cannot be a datagram (over 65,535 bytes)."""
    try:
        return wire.to_bytes(pkt)
    except struct.error:
        return None


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int, fix: bool) -> bytes:
    b = bytearray(base)
    for pos, val in edits:
        if b:
            b[pos % len(b)] = val
    b = b[: max(0, len(b) - cut)]
    if fix and len(b) >= 20:  # a valid IP header checksum, so the damage reaches netfilter
        ihl = min((b[0] & 15) * 4, len(b)) or 20
        b[10:12] = b"\0\0"
        total = sum(struct.unpack(f"!{ihl // 2}H", bytes(b[: ihl // 2 * 2])))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        b[10:12] = struct.pack("!H", ~total & 0xFFFF)
    return bytes(b)


EDITS = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6)
BUILT = st.one_of(datagrams(), reject_replies()).map(_safe_bytes).filter(lambda b: b is not None)
FRAMES = st.one_of(
    BUILT,
    BUILT,
    st.builds(_mutate, BUILT, EDITS, st.integers(0, 30), st.booleans()),
    st.binary(max_size=80),
)
WHERE = st.sampled_from(["a0", "b0", "c0", "lo", "out"])


def _engine() -> Engine:
    return Engine(Ruleset.from_save(RULES), Host.from_file(HOST))


def _check(out: Outcome) -> None:
    """An outcome is one of the engine's, and what it let through (or made) is a datagram again."""
    assert out.verdict in ("accept", "drop", "queue", "stolen")
    if out.verdict == "accept":
        data = wire.to_bytes(out.packet)
        assert len(data) <= 0xFFFF
    for g in out.generated:
        wire.parse(wire.to_bytes(g.packet))  # the kernel's own packets are always well formed
        _check(g)


def _through_engine(engine: Engine, packets: list[tuple[bytes, str]]) -> None:
    for t, (data, where) in enumerate(packets):
        pkt = tolerated(lambda data=data: wire.parse(data))  # type: ignore[misc]
        if pkt is None:
            continue  # refused by ip_rcv: the next packet still goes through
        if where == "out":
            out = tolerated(lambda pkt=pkt, t=t: engine.send(pkt, t * 0.3))  # type: ignore[misc]
        else:
            out = tolerated(lambda pkt=pkt, where=where, t=t: engine.receive(pkt, where, t * 0.3))  # type: ignore[misc]
        if out is not None:
            _check(out)


@examples(400)
@given(st.lists(st.tuples(FRAMES, WHERE), min_size=1, max_size=8))
def test_packets_never_crash_the_engine(packets: list[tuple[bytes, str]]) -> None:
    _through_engine(_engine(), packets)


# --------------------------------------------------------------------------- the replay


def _capture(frames: list[tuple[bytes, str, bool, int]]) -> bytes:
    out = io.BytesIO()
    w = Writer(out, LINKTYPE_LINUX_SLL2)
    for n, (data, iface, leaving, ptype) in enumerate(frames):
        w.write(data, 1000.0 + n * 0.0001, ifindex=IFINDEX[iface], direction="Out" if leaving else "In",
                src_mac=b"\x02\0\0\0\0\x01", pkt_type=4 if leaving else ptype)
    return out.getvalue()


@st.composite
def captures(draw: st.DrawFn) -> list[tuple[bytes, str, bool, int]]:
    """Frames as tcpdump -i any shows them: arriving or leaving each interface, REJECT's replies on
    lo, and copies of earlier frames leaving another interface (what forwarding puts on the wire)."""
    frames: list[tuple[bytes, str, bool, int]] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["frame", "frame", "flow", "reply", "copy"]))
        if kind == "copy" and frames:
            data = bytearray(draw(st.sampled_from(frames))[0])
            if len(data) >= 20 and data[8]:
                data[8] -= 1  # one hop less; the header checksum fixed (as the kernel does), or not
                data = bytearray(_mutate(bytes(data), [], 0, draw(st.integers(0, 3)) > 0))
            frames.append((bytes(data), draw(st.sampled_from(["a0", "a0", "b0", "c0"])), True, 4))
            continue
        if kind == "flow":  # forwarded without NAT (b0, c0 -> a0): its egress copy is recognised
            pkt = draw(datagrams())
            pkt.saddr, pkt.daddr, pkt.ttl = draw(st.sampled_from([ip("10.233.2.9"), ip("10.233.3.7")])), \
                ip("10.233.1.2"), 64
            data = _safe_bytes(pkt)
            if data is not None:
                frames.append((data, "b0" if pkt.saddr == ip("10.233.2.9") else "c0", False, 0))
                if draw(st.booleans()):
                    frames.append((_mutate(data[:8] + bytes([63]) + data[9:], [], 0, True), "a0", True, 4))
            continue
        if kind == "reply":
            data = _safe_bytes(draw(reject_replies()))
            if data is not None:
                frames.append((data, "lo", False, 0))
            continue
        frames.append((draw(FRAMES), draw(st.sampled_from(["a0", "b0", "c0", "lo"])), draw(st.booleans()),
                       draw(st.sampled_from([0, 0, 0, 1, 2, 3]))))
    return frames


def _replay(capture: bytes) -> None:
    host = Host.from_file(HOST)
    frames = read_frames(capture, host, None, Warnings())
    rp = Replay(Ruleset.from_save(RULES), host, frames)
    t0 = frames[0].ts if frames else 0.0
    for i in range(len(frames)):  # a refused step does not end the replay: the next frame goes on
        st_ = tolerated(lambda i=i: rp.step(i))  # type: ignore[misc]
        if st_ is not None:
            event(re.sub(r"[0-9]+", "N", st_.action.split(":")[0]))  # which of the replay's paths
            format_step(st_, t0)
            if st_.outcome is not None:
                _check(st_.outcome)
    rp.engine.ruleset.save(counters=True)
    rp.warnings.lines()


@examples(300)
@given(captures())
def test_captures_replay_without_crashing(frames: list[tuple[bytes, str, bool, int]]) -> None:
    _replay(_capture(frames))


def test_forwarded_ttl_and_option_errors_without_their_reply_in_the_capture() -> None:
    """Issue 7's 4,180 tracebacks: the kernel's ICMP error (time exceeded, parameter problem) for a
    forwarded packet takes its IP id from the capture, which need not hold it."""
    for pkt in (Packet(ip("10.233.1.2"), ip("10.233.2.9"), IPPROTO_UDP, Udp(1000, 53), b"x", ttl=1),
                Packet(ip("10.233.1.2"), ip("10.233.2.9"), IPPROTO_UDP, Udp(1000, 53), b"x", ttl=0),
                Packet(ip("10.233.1.2"), ip("10.233.2.9"), IPPROTO_UDP, Udp(1000, 53), b"x",
                       ip_options=bytes([7, 2, 4, 0])),
                Packet(ip("10.233.1.2"), ip("10.233.50.5"), IPPROTO_UDP, Udp(1000, 53), b"x"),
                Packet(ip("10.233.1.2"), ip("10.233.60.5"), IPPROTO_UDP, Udp(1000, 53), bytes(1000),
                       frag_off=IP_DF)):
        host = Host.from_file(HOST)
        frames = read_frames(_capture([(wire.to_bytes(pkt), "a0", False, 0)]), host)
        rp = Replay(Ruleset.from_save(RULES), host, frames)
        (step,) = rp.run()
        assert step.outcome is not None and step.outcome.verdict == "drop"
        assert len(step.outcome.generated) <= 1


@examples(800)
@given(st.sampled_from([276, 113, 1, 101]), st.lists(st.binary(max_size=90), max_size=4),
       st.integers(0, 40), st.binary(max_size=8))
def test_captures_give_one_line_errors(linktype: int, records: list[bytes], cut: int, junk: bytes) -> None:
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    data = head + b"".join(struct.pack("<IIII", 1, 0, len(r), len(r)) + r for r in records)
    data = data[: max(0, len(data) - cut)] + junk
    try:
        for rec in read(data):
            with contextlib.suppress(PynfError):
                wire.parse(rec.data)
    except PynfError as e:
        one_line(e)


# --------------------------------------------------------------------------- fragments


IP_MAX = 0xFFFF
MAX_OFFSET = 8191 * 8  # the 13-bit fragment offset, in bytes


class Train(list):  # type: ignore[type-arg]
    """Fragments as (bytes, where), shown in a failure report by what they are, not by their bytes."""

    desc = ""

    def __repr__(self) -> str:
        return f"<{len(self)} fragments: {self.desc}>"


@st.composite
def fragment_trains(draw: st.DrawFn, past: bool) -> Train:
    """The fragments of one or two datagrams (shuffled, duplicated, overlapping), ending anywhere up
    to 65,535 bytes of datagram or, with *past*, beyond it (what only a forged train can do)."""
    src, dst = draw(st.sampled_from(ADDRS[:12])), draw(st.sampled_from(ADDRS[:12]))
    proto = draw(st.sampled_from([IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP, 47]))
    ident = draw(st.integers(0, 65535))
    # The payload of the datagram: 65,515 bytes fill a datagram with a 20-byte header; a forged
    # train goes on to a last fragment at the highest offset (8191 * 8) with up to 1,480 bytes.
    room = IP_MAX - 20
    end = draw(st.integers(room + 1, MAX_OFFSET + 1480) if past else
               st.one_of(st.integers(8, 3000), st.integers(room - 1500, room)))
    body = draw(st.sampled_from([b"\0", b"frag"])) * (end // 4 + 1)
    pieces: list[tuple[int, int]] = []
    at = 0
    step = draw(st.sampled_from([1480, 1400, 8192, 32760]))  # multiples of 8, as fragments must be
    while at < end:
        size = min(step, end - at)
        if at + size < end and at + size > MAX_OFFSET:  # the last fragment starts at the highest offset
            size = MAX_OFFSET - at if at < MAX_OFFSET else end - at
        pieces.append((at, size))
        at += size
    if draw(st.booleans()):
        pieces.append(draw(st.sampled_from(pieces)))  # a duplicate
    if draw(st.booleans()) and len(pieces) > 1:
        off, size = draw(st.sampled_from(pieces))
        pieces.append((max(0, off - 8), size))  # an overlap
    order = draw(st.permutations(pieces))
    where = draw(st.sampled_from(["a0", "b0", "out"]))
    tos = draw(st.sampled_from([0, 0, 1, 2, 3]))  # mixing Not-ECT with ECT fails reassembly: sometimes
    frames = Train()
    frames.desc = f"proto {proto} id {ident}, {end} bytes of payload in pieces of {step} via {where}, " \
        f"offsets {[off for off, _ in order]}"
    for off, size in order:
        more = off + size < end
        pkt = Packet(src, dst, proto, None, body[off:off + size], id=ident,
                     frag_off=(IP_MF if more else 0) | off // 8 | draw(st.sampled_from([0, IP_DF])),
                     ttl=draw(st.sampled_from([1, 64])), tos=tos if draw(st.integers(0, 9)) else tos ^ 1)
        data = _safe_bytes(pkt)
        if data is not None:
            frames.append((data, where))
    return frames


@examples(300)
@given(fragment_trains(past=False))
def test_fragments_up_to_64k(frames: Train) -> None:
    _through_engine(_engine(), frames)


@examples(300)
@given(fragment_trains(past=True))
def test_fragments_past_64k(frames: Train) -> None:
    """A train only a forger sends: reassembled past 65,535 bytes, the kernel drops the datagram
    (ip_frag_reasm: "Oversized IP packet"); nothing that large comes out (see _check)."""
    _through_engine(_engine(), frames)


def test_a_train_past_64k_is_not_reassembled() -> None:
    """Fragments of 32,760 + 32,768 + 100 bytes: offsets and sizes each valid, the whole 65,648 bytes of
    payload (what made Defrag raise struct.error before it dropped such trains as the kernel does)."""
    engine = _engine()
    body = bytes(65_628)
    for at, size in ((0, 32_760), (32_760, 32_768), (65_528, 100)):
        frag = Packet(ip("10.233.1.2"), ip("10.233.2.9"), IPPROTO_UDP, None, body[at:at + size], id=7,
                      frag_off=(IP_MF if at < 65_528 else 0) | at // 8)
        out = engine.receive(wire.parse(wire.to_bytes(frag)), "a0", 0.0)
        assert out.verdict in ("stolen", "drop")
