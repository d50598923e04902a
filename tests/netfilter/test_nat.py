"""NAT: the tuple choice (nat_tuple) and the kernel differential cases (tools/record_nat.py).

Each recorded case is real traffic through a router namespace: the packets the clients sent
(captured entering the router) are fed to the engine, and every packet the engine forwards
must be byte for byte the one the kernel sent out on the other side, replies translated back
the same way, and the engine's conntrack table must hold the kernel's tuples (``conntrack -L``).
Where the kernel chose at random (a free port from a random offset, statistic's branch), the
choice is taken from the kernel's conntrack table, as a replay takes it from the capture.
"""

from __future__ import annotations

import json
import random
import re
import struct
from pathlib import Path

import pytest

from pynetfilter.ext._nat import MAP_IPS, PROTO_OFFSET, PROTO_SPECIFIED
from pynetfilter.netfilter.conntrack.entry import Conn, Tuple
from pynetfilter.netfilter.nat_tuple import (
    MANIP_DST,
    MANIP_SRC,
    NatRange,
    best_ip,
    get_unique_tuple,
    invert,
    jhash2,
    unique_key,
)

KERNEL = Path(__file__).parent / "kernel" / "nat"
CASES = sorted(p.name for p in KERNEL.iterdir() if (p / "capture.pcap").exists()) if KERNEL.exists() else []


def ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


# --- the tuple choice, without the kernel ---------------------------------------------------

def test_jhash2_lookup3_vector() -> None:
    # lookup3's hashword() of {0,0,0,0} with initval 0 (Bob Jenkins' reference driver).
    assert jhash2([], 0) == 0xDEADBEEF
    assert jhash2([0, 0, 0, 0], 0) != jhash2([0, 0, 0, 1], 0)


def test_invert_icmp_query_keeps_id() -> None:
    t = Tuple(ip("10.233.1.2"), ip("10.233.2.2"), 1, 77, 8 << 8)
    assert invert(t) == Tuple(ip("10.233.2.2"), ip("10.233.1.2"), 1, 77, 0)
    assert invert(invert(t)) == t


def test_single_address_range_keeps_port_when_free() -> None:
    ct = Conn(Tuple(ip("10.233.1.2"), ip("10.233.2.2"), 6, 40000, 80),
              Tuple(ip("10.233.2.2"), ip("10.233.1.2"), 6, 80, 40000))
    rng = NatRange(MAP_IPS, ip("10.233.2.1"), ip("10.233.2.1"))
    new = get_unique_tuple(ct.orig, rng, ct, MANIP_SRC, used=lambda t: False, bysource=lambda t: [],
                           rand=random.Random(1))
    assert new == Tuple(ip("10.233.2.1"), ip("10.233.2.2"), 6, 40000, 80)


def test_clash_moves_port_within_the_privilege_class() -> None:
    t = Tuple(ip("10.233.2.1"), ip("10.233.2.2"), 6, 700, 80)
    taken = {700, 701}
    for seed in range(20):
        new = unique_key(t, NatRange(MAP_IPS), MANIP_SRC, lambda c: c.sport in taken, random.Random(seed),
                         None)
        assert 600 <= new.sport <= 1023 and new.sport not in taken
    low = Tuple(t.src, t.dst, 6, 100, 80)
    assert 1 <= unique_key(low, NatRange(MAP_IPS), MANIP_SRC, lambda c: c.sport == 100,
                           random.Random(3), None).sport <= 511


def test_replayed_choice_is_taken_when_possible() -> None:
    t = Tuple(ip("10.233.2.1"), ip("10.233.2.2"), 17, 40000, 53)
    rng = NatRange(MAP_IPS | PROTO_SPECIFIED, 0, 0, 21000, 21009)
    assert unique_key(t, rng, MANIP_SRC, lambda c: False, random.Random(0), 21004).sport == 21004
    # A choice outside the range cannot be the kernel's: the search runs instead.
    assert 21000 <= unique_key(t, rng, MANIP_SRC, lambda c: False, random.Random(0), 80).sport <= 21009


def test_shifted_port_map_keeps_distance() -> None:
    t = Tuple(ip("10.233.1.2"), ip("10.233.100.1"), 6, 40000, 8005)
    rng = NatRange(MAP_IPS | PROTO_SPECIFIED | PROTO_OFFSET, 0, 0, 9000, 9009, 8000)
    assert unique_key(t, rng, MANIP_DST, lambda c: False, random.Random(0), None).dport == 9005


def test_dnat_without_ports_never_moves_the_port() -> None:
    t = Tuple(ip("10.233.1.2"), ip("10.233.2.2"), 6, 40000, 80)
    assert unique_key(t, NatRange(MAP_IPS), MANIP_DST, lambda c: True, random.Random(0), None) == t


def test_address_range_hash_is_stable() -> None:
    t = Tuple(ip("10.233.1.2"), ip("10.233.100.20"), 6, 40200, 80)
    rng = NatRange(MAP_IPS, ip("10.233.2.2"), ip("10.233.2.5"))
    picks = {best_ip(Tuple(t.src, t.dst, 6, p, 80), rng, MANIP_DST, 0).dst for p in range(40200, 40210)}
    assert len(picks) == 1  # ports do not enter the hash: one client, one endpoint


# --- kernel differential cases --------------------------------------------------------------

_CT_LINE = re.compile(r"^(\w+)\s+(\d+)\s+\d+\s+(?:[A-Z_]+\s+)?(.*)$")


def kernel_conntrack(text: str) -> list[tuple[Tuple, Tuple]]:
    """``conntrack -L`` lines as (original, reply) tuples."""
    out = []
    for line in text.splitlines():
        m = _CT_LINE.match(line)
        if not m:
            continue
        proto = int(m.group(2))
        fields = [f.split("=", 1) for f in m.group(3).split() if "=" in f]
        half = [i for i, (k, _) in enumerate(fields) if k == "src"]
        dirs = []
        for start in half[:2]:
            d: dict[str, str] = {}
            for k, v in fields[start:]:
                if k in d:
                    break
                d[k] = v
            if proto == 1:
                dirs.append(Tuple(ip(d["src"]), ip(d["dst"]), 1, int(d["id"]),
                                  int(d["type"]) << 8 | int(d["code"])))
            else:
                dirs.append(Tuple(ip(d["src"]), ip(d["dst"]), proto, int(d.get("sport", 0)),
                                  int(d.get("dport", 0))))
        out.append((dirs[0], dirs[1]))
    return out


def read_sll2(path: Path) -> list[tuple[float, int, int, bytes]]:
    """(time, ifindex, pkttype, IP bytes) of each IPv4 record of a LINUX_SLL2 pcap."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    assert struct.unpack_from(end + "I", data, 20)[0] == 276, "not LINUX_SLL2"
    at, out = 24, []
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from(end + "IIII", data, at)
        rec = data[at + 16: at + 16 + caplen]
        at += 16 + caplen
        proto, _r, ifindex, _ht, pkttype = struct.unpack_from(">HHIHB", rec)
        if proto == 0x0800:
            out.append((sec + frac / (1e9 if nano else 1e6), ifindex, pkttype, rec[20:]))
    return out


class KernelChoices:
    """The kernel's random choices, read back from its conntrack table."""

    def __init__(self, entries: list[tuple[Tuple, Tuple]], decisions: list[bool]) -> None:
        self.reply = dict(entries)
        self.decisions = decisions

    def nat_key(self, orig: Tuple, manip: int) -> int | None:
        reply = self.reply.get(orig)
        if reply is None:
            return None
        if orig.proto == 1:
            return reply.sport
        return reply.dport if manip == MANIP_SRC else reply.sport

    def decide(self, kind: str, p: object, par: object = None) -> bool:
        return self.decisions.pop(0)


def _statistic_decisions(case: str, entries: list[tuple[Tuple, Tuple]],
                         packets: list[tuple[float, int, int, bytes]]) -> list[bool]:
    """kube-endpoints: endpoint i of 3 was reached by i misses then a hit (the last has no rule)."""
    if case != "kube-endpoints":
        return []
    endpoints = [ip("10.233.2.2"), ip("10.233.2.3"), ip("10.233.2.4")]
    by_orig = dict(entries)
    out: list[bool] = []
    for _t, _i, pkttype, raw in packets:
        if pkttype != 4 and raw[9] == 6 and raw[33] & 0x02 and not raw[33] & 0x10:  # SYN in
            sport, dport = struct.unpack_from("!HH", raw, 20)
            orig = Tuple(*struct.unpack_from("!II", raw, 12), 6, sport, dport)
            if orig in by_orig:
                i = endpoints.index(by_orig[orig].src)
                out += [False] * i + ([True] if i < 2 else [])
    return out


@pytest.mark.parametrize("case", CASES)
def test_kernel_nat(case: str) -> None:
    assert check_case(case) > 0


def check_case(case: str) -> int:
    """Feed one recorded case through the engine; the number of packets compared."""
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.conntrack.icmp import pkt_tuple
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine
    from pynetfilter.packet.wire import parse, to_bytes

    d = KERNEL / case
    host = Host.from_iproute((d / "addrs.json").read_text(), (d / "routes.json").read_text())
    names = {i.index: i.name for i in host.interfaces.values()}
    engine = Engine(Ruleset.from_save((d / "rules").read_text()), host, seed=1)
    entries = kernel_conntrack((d / "conntrack.txt").read_text())
    packets = read_sll2(d / "capture.pcap")
    engine.choices = KernelChoices(entries, _statistic_decisions(case, entries, packets))
    egress = [(i, p) for i, p in enumerate(packets) if p[2] == 4]
    used: set[int] = set()
    compared = 0

    def take_egress(after: int, oif: str, want: bytes) -> bytes:
        for i, (_t, ifindex, _pt, raw) in egress:
            if i > after and i not in used and names[ifindex] == oif and raw[4:6] == want[4:6] \
                    and raw[9] == want[9] and raw[20:] [-8:] == want[20:][-8:]:
                used.add(i)
                return raw
        raise AssertionError(f"{case}: the kernel sent nothing like {want.hex()} on {oif}")

    for n, (now, ifindex, pkttype, raw) in enumerate(packets):
        if pkttype != 4:
            out = engine.receive(parse(raw), names[ifindex], now)
            if out.disposition == "forward":
                got = to_bytes(out.packet)
                assert got == take_egress(n, out.oif or "", got), f"{case}: packet {n} forwarded differently"
                compared += 1
            continue
        if n in used:
            continue
        # Egress the engine did not forward: the router's own packets (REDIRECT's answers).  The
        # socket's packet is the capture's with the connection's reply source put back.
        seen = parse(raw)
        t = pkt_tuple(seen)
        hit = engine.conntrack.table.find(invert(t)) if t is not None else None
        assert hit is not None, f"{case}: egress packet {n} belongs to no connection"
        seen.saddr = hit[0].reply.src
        if seen.l4 is not None and hasattr(seen.l4, "sport"):
            seen.l4.sport = hit[0].reply.sport  # type: ignore[union-attr]
        out = engine.send(seen, now)
        assert out.disposition == "out" and to_bytes(out.packet) == raw, f"{case}: local reply {n} differs"
        compared += 1
    ours = {(c.orig, c.reply) for c in engine.conntrack.table}
    assert ours == set(entries), f"{case}: conntrack tuples differ: {ours ^ set(entries)}"
    return compared


def test_tproxy_marks_when_a_socket_exists() -> None:
    from pynetfilter.ext.TPROXY import Tproxy
    from pynetfilter.model.tables import Hook
    from pynetfilter.netfilter.par import Par
    from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP
    from pynetfilter.packet.model import Packet, Tcp

    class _Host:
        interfaces: dict = {}

    class _Engine:
        host = _Host()

    tg = Tproxy(0xFF, 0x1, ip("127.0.0.1"), 3128)
    par = Par(Hook.PREROUTING, "mangle", "rc", None, 0.0, random.Random(0), _Engine())
    pkt = Packet(ip("10.233.1.2"), ip("10.233.2.2"), 6, Tcp(40000, 80))
    pkt.meta.mark = 0x100
    assert tg.tg(pkt, par) == NF_DROP and pkt.meta.mark == 0x100
    pkt.meta.socket = True
    assert tg.tg(pkt, par) == NF_ACCEPT and pkt.meta.mark == 0x101


# --- taking over a closing connection's port (nf_nat_used_tuple_harder, tools/record_nat_takeover.py) ---

TAKEOVER = Path(__file__).parent / "kernel" / "nat_takeover.json"
SCENARIO = Path(__file__).parent.parent / "scenarios" / "snat-port-range"
STATUS_BITS = {"ASSURED": 1 << 2, "SEEN_REPLY": 1 << 1}


def _takeover_engine(rules: str, case: dict) -> tuple[object, Conn]:
    """The router of the recording with the case's old entry holding 10.233.2.1:20000."""
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.conntrack.entry import IPS_SRC_NAT, IPS_SRC_NAT_DONE
    from pynetfilter.netfilter.conntrack.tcp_window import NAMES, TcpInfo
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine

    host = Host.from_iproute((SCENARIO / "addrs.json").read_text(), (SCENARIO / "routes.json").read_text())
    engine = Engine(Ruleset.from_save(rules), host, seed=1)
    reply = Tuple(ip("10.233.2.2"), ip("10.233.2.1"), 6, 80, 20000)
    status = sum(STATUS_BITS[b] for b in case["status"].split(","))
    if case["snat"]:
        orig = Tuple(ip("10.233.1.2"), ip("10.233.2.2"), 6, 1111, 80)
        status |= IPS_SRC_NAT | IPS_SRC_NAT_DONE
    else:
        orig = invert(reply)  # the router's own connection from that port
    old = Conn(orig, reply, status=status, timeout=120.0, id=100)
    # ctnetlink leaves the sequence tracking of an inserted entry at zero.
    old.proto["tcp"] = TcpInfo(state=NAMES.index(case["state"]))
    engine.conntrack.add(old)
    return engine, old


def _syn(seq: int) -> object:
    from pynetfilter.packet.model import SYN, Packet, Tcp

    return Packet(ip("10.233.1.2"), ip("10.233.2.2"), 6, Tcp(40000, 80, seq=seq, flags=SYN, window=64240))


@pytest.mark.parametrize("case", json.loads(TAKEOVER.read_text())["cases"] if TAKEOVER.exists() else [],
                         ids=lambda c: c["name"])
def test_kernel_takeover(case: dict) -> None:
    """The SYN gets the old connection's port exactly when the kernel let it (else confirm drops it)."""
    engine, old = _takeover_engine(json.loads(TAKEOVER.read_text())["rules"], case)
    out = engine.receive(_syn(case["seq"]), "rc", 1.0)  # type: ignore[attr-defined]
    live = list(engine.conntrack.table)  # type: ignore[attr-defined]
    assert (out.disposition == "forward") == case["syn_delivered"]
    assert (old not in live) == case["taken_over"]
    if case["taken_over"]:
        assert out.packet.saddr == ip("10.233.2.1") and out.packet.l4.sport == 20000
        assert [c.orig.sport for c in live] == [40000]


def test_takeover_rule() -> None:
    """A TIME_WAIT SNAT entry is evicted for a SYN whose sequence is past its own, only then."""
    from pynetfilter.netfilter.conntrack.tcp_window import SYN_SENT, TcpInfo
    from pynetfilter.netfilter.nat import may_kill, seq_has_advanced

    # A NAT rule, not the table alone, makes the kernel track connections (nf_ct_netns_get).
    rules = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o nosuch -j MASQUERADE\nCOMMIT\n"
    tw = {"state": "TIME_WAIT", "status": "ASSURED,SEEN_REPLY", "snat": True}
    cand = Tuple(ip("10.233.2.1"), ip("10.233.2.2"), 6, 20000, 80)  # the SNATed original direction

    def new_conn(td_end: int, state: int = SYN_SENT, proto: int = 6) -> Conn:
        ct = Conn(Tuple(ip("10.233.1.2"), ip("10.233.2.2"), proto, 40000, 80),
                  Tuple(ip("10.233.2.2"), ip("10.233.1.2"), proto, 80, 40000))
        ct.proto["tcp"] = info = TcpInfo(state=state)
        info.seen[0].td_end = td_end
        return ct

    engine, old = _takeover_engine(rules, tw)
    nat = engine.nat  # type: ignore[attr-defined]
    assert may_kill(old) and seq_has_advanced(old, new_conn(1001))
    assert not seq_has_advanced(old, new_conn(0)) and not seq_has_advanced(old, new_conn(0x90000001))
    # Only the search's last NF_NAT_HARDER_THRESH (32) tries, only a new TCP connection in SYN_SENT.
    assert nat.used_tuple_harder(cand, new_conn(1001), 0.0, 33) and old in engine.conntrack.table
    assert nat.used_tuple_harder(cand, new_conn(1001, state=3), 0.0, 1) and old in engine.conntrack.table
    assert nat.used_tuple_harder(cand, new_conn(0x90000001), 0.0, 1) and old in engine.conntrack.table
    assert not nat.used_tuple_harder(cand, new_conn(1001), 0.0, 32)
    assert old not in engine.conntrack.table  # evicted: the tuple is free
    # The kernel needs IPS_SRC_NAT, not SEEN_REPLY (recorded: time-wait-no-seen-reply is taken over).
    for variant, expect in (({**tw, "status": "ASSURED"}, False), ({**tw, "snat": False}, True),
                            ({**tw, "state": "ESTABLISHED"}, True), ({**tw, "state": "CLOSE"}, False)):
        engine, old = _takeover_engine(rules, variant)
        assert engine.nat.used_tuple_harder(cand, new_conn(1001), 0.0, 1) == expect, variant  # type: ignore
        assert (old in engine.conntrack.table) == expect  # type: ignore[attr-defined]
