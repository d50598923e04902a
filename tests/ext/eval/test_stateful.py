"""The stateful matches against the kernel: recorded traffic replayed, counters compared.

tools/record_stateful.py ran real timed traffic through a router namespace and recorded the
packets the router received (with their capture times) and ``iptables-legacy-save -c``.  Here the
same packets go through the same rules (the FORWARD hook of the filter table, TTL decremented as
ip_forward does before the hook, ``par.now`` the capture time) and every rule's and policy's
counters must equal the kernel's.  The conntrack scenarios need the whole pipeline (Engine with
conntrack) and are skipped, saying so, while it is not there.  Unit tests below pin the kernel
arithmetic of each match on hand-made packets.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pynetfilter import Ruleset
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter import ipset, traverse
from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_ESTABLISHED,
    IP_CT_ESTABLISHED_REPLY,
    IP_CT_NEW,
    IP_CT_RELATED,
    IPS_CONFIRMED,
    IPS_DST_NAT,
    IPS_SEEN_REPLY,
    Conn,
    Tuple,
)
from pynetfilter.netfilter.par import Par
from pynetfilter.packet.model import Icmp, Meta, Packet, Tcp, Udp

KERNEL = Path(__file__).parent / "kernel" / "stateful"
SIMPLE = ["limit", "hashlimit", "recent", "statistic-quota", "set", "time"]
WITH_CONNTRACK = ["connlimit", "conntrack"]


def parse_ip(data: bytes) -> Packet:
    """The wire module's parser; without it, just enough IPv4/TCP/UDP/ICMP parsing to replay."""
    try:
        from pynetfilter.packet.wire import parse
    except ImportError:
        pass
    else:
        return parse(data)
    vihl, tos, tot_len, ident, frag, ttl, proto, check = struct.unpack_from(">BBHHHBBH", data)
    ihl = vihl & 15
    saddr, daddr = struct.unpack_from(">II", data, 12)
    body = data[ihl * 4: tot_len]
    pkt = Packet(saddr, daddr, proto, None, body, tos, ident, frag, ttl, ihl, data[20: ihl * 4], check,
                 tot_len, Meta())
    if frag & 0x1FFF:
        return pkt
    if proto == 6 and len(body) >= 20:
        sp, dp, seq, ack, off, flags, win, ck, urg = struct.unpack_from(">HHIIBBHHH", body)
        doff = off >> 4
        pkt.l4 = Tcp(sp, dp, seq, ack, doff, flags, win, ck, urg, body[20: doff * 4])
        pkt.payload = body[doff * 4:]
    elif proto == 17 and len(body) >= 8:
        sp, dp, ln, ck = struct.unpack_from(">HHHH", body)
        pkt.l4, pkt.payload = Udp(sp, dp, ln, ck), body[8:]
    elif proto == 1 and len(body) >= 8:
        t, c, ck, rest = struct.unpack_from(">BBHI", body)
        pkt.l4, pkt.payload = Icmp(t, c, ck, rest), body[8:]
    return pkt


@pytest.fixture(autouse=True)
def _packet_len(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counters need skb->len; until pynetfilter.packet.wire exists the parsed tot_len is it.
    try:
        from pynetfilter.packet.wire import length  # noqa: F401
    except ImportError:
        monkeypatch.setattr(traverse, "packet_len", lambda pkt: pkt.tot_len)


def _engine(rs: Ruleset, ipset_text: str = "") -> Any:
    return SimpleNamespace(ruleset=rs, rule_states={}, recent={}, hashlimit={}, ipsets=ipset.load(ipset_text),
                           tz_minuteswest=0)


def _strip(save: str) -> str:
    return "".join(line + "\n" for line in save.splitlines() if not line.startswith("#"))


def _load(name: str) -> dict[str, Any]:
    path = KERNEL / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not recorded (run tools/record_stateful.py as root)")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", SIMPLE)
def test_replay_matches_kernel_counters(name: str) -> None:
    rec = _load(name)
    rs = Ruleset()
    rs.ipsets = ipset.families(ipset.load(rec["ipset_save"]))  # the sets -m set looks up by name
    rs.restore(rec["rules"])
    eng = _engine(rs, rec["ipset_save"])
    table = rs.tables["filter"]
    rng = random.Random(0)
    for t, dev, data in rec["packets"]:
        pkt = parse_ip(bytes.fromhex(data))
        pkt.meta.iif = dev
        pkt.ttl -= 1  # ip_forward decrements the TTL before the FORWARD hook
        out = "rs" if dev == "rc" else "rc"
        par = Par(Hook.FORWARD, "filter", dev, out, t, rng, eng, fragoff=pkt.fragment_offset,
                  thoff=pkt.ihl * 4)
        traverse.do_table(table, pkt, par)
    assert _strip(rs.save(counters=True, table="filter")) == _strip(rec["kernel_save"])


@pytest.mark.parametrize("name", WITH_CONNTRACK)
def test_replay_with_conntrack(name: str) -> None:
    rec = _load(name)
    try:
        from pynetfilter.netfilter.conntrack import Conntrack  # noqa: F401
        from pynetfilter.netfilter.host import Host
        from pynetfilter.netfilter.pipeline import Engine
    except ImportError as e:
        pytest.skip(f"needs the conntrack pipeline ({e})")
    rs = Ruleset.from_save(rec["rules"], counters=False)
    host = Host.from_iproute(json.dumps(rec["addrs"]), json.dumps(rec["routes"]))
    try:
        eng = Engine(rs, host)
    except ImportError as e:
        pytest.skip(f"needs the whole pipeline ({e})")
    for t, dev, data in rec["packets"]:
        eng.receive(parse_ip(bytes.fromhex(data)), dev, t)
    assert _strip(rs.save(counters=True, table="filter")) == _strip(rec["kernel_save"])


# --- unit tests: each match on hand-made packets -----------------------------------------------


def _rule(text: str) -> tuple[Ruleset, Any]:
    rs = Ruleset.from_save(f"*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD {text}\nCOMMIT\n")
    return rs, rs.tables["filter"].chains["FORWARD"].rules[0]


def _mt(rs: Ruleset, rule: Any, pkt: Packet, now: float, eng: Any = None, **kw: Any) -> bool:
    eng = eng or _engine(rs)
    par = Par(Hook.FORWARD, "filter", "rc", "rs", now, kw.pop("rng", random.Random(1)), eng, rule=rule, **kw)
    return all(m.mt(pkt, par) for m in rule.matches)


def _udp(src: int = 0x0AE92902, dport: int = 9, size: int = 100, **meta: Any) -> Packet:
    return Packet(src, 0x0AE92A02, 17, Udp(40000, dport), b"x" * (size - 28), tot_len=size, meta=Meta(**meta))


def _conn(status: int = IPS_CONFIRMED, **kw: Any) -> Conn:
    orig = Tuple(0x0AE92902, 0x0AE92A02, 6, 40000, 8080)
    return Conn(orig, orig.invert(), status=status, timeout=100.0, **kw)


def test_limit_token_bucket_in_jiffies() -> None:
    rs, rule = _rule("-m limit --limit 5/s --limit-burst 3")
    eng = _engine(rs)
    hits = [_mt(rs, rule, _udp(), 10.0, eng) for _ in range(5)]
    assert hits == [True, True, True, False, False]
    assert _mt(rs, rule, _udp(), 10.196, eng) is False  # 49 jiffies: one credit short of 50
    assert _mt(rs, rule, _udp(), 10.2, eng) is True


def test_hashlimit_per_source_and_expiry() -> None:
    rs, rule = _rule("-m hashlimit --hashlimit-upto 1/s --hashlimit-burst 2 --hashlimit-mode srcip "
                     "--hashlimit-name t1")
    eng = _engine(rs)
    a, b = _udp(), _udp(src=0x0AE92903)
    assert [_mt(rs, rule, a, 5.0, eng) for _ in range(3)] == [True, True, False]
    assert _mt(rs, rule, b, 5.0, eng) is True
    assert len(eng.hashlimit["t1"].entries) == 2
    # expire 1000 ms, gc every 1000 ms: by 7.5 s both entries are gone and a starts full again.
    assert [_mt(rs, rule, a, 7.5, eng) for _ in range(3)] == [True, True, False]
    assert len(eng.hashlimit["t1"].entries) == 1


def test_recent_set_rcheck_hitcount_seconds() -> None:
    rs = Ruleset.from_save("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m recent --set --name x\n"
                           "-A FORWARD -m recent --update --seconds 2 --hitcount 3 --name x\nCOMMIT\n")
    set_rule, upd = rs.tables["filter"].chains["FORWARD"].rules
    eng = _engine(rs)
    assert _mt(rs, upd, _udp(), 0.0, eng) is False  # not in the list
    assert _mt(rs, set_rule, _udp(), 0.0, eng) is True
    assert _mt(rs, set_rule, _udp(), 0.5, eng) is True
    assert _mt(rs, upd, _udp(), 1.0, eng) is False  # two stamps, update only on a match
    assert _mt(rs, set_rule, _udp(), 1.5, eng) is True
    assert _mt(rs, upd, _udp(), 1.6, eng) is True
    assert _mt(rs, upd, _udp(), 4.0, eng) is False  # all but one stamp older than 2 s


def test_statistic_nth_and_random_choices() -> None:
    rs, rule = _rule("-m statistic --mode nth --every 3 --packet 1")
    eng = _engine(rs)
    assert [_mt(rs, rule, _udp(), 0, eng) for _ in range(6)] == [False, True, False, False, True, False]
    rs, rule = _rule("-m statistic --mode random --probability 0.25")
    seen: list[tuple[str, float]] = []

    class Choices:
        def decide(self, what: str, p: object, par: object = None) -> bool:
            seen.append((what, p))
            return True

    assert _mt(rs, rule, _udp(), 0, choices=Choices()) is True
    assert seen == [("statistic", 0.25)]
    rng = random.Random(7)
    hits = sum(_mt(rs, rule, _udp(), 0, rng=rng) for _ in range(4000))
    assert 850 < hits < 1150


def test_quota_countdown_empties_on_a_big_packet() -> None:
    rs, rule = _rule("-m quota --quota 250")
    eng = _engine(rs)
    assert [_mt(rs, rule, _udp(size=100), 0, eng) for _ in range(3)] == [True, True, False]
    assert _mt(rs, rule, _udp(size=28), 0, eng) is False  # 50 bytes were left, but the quota is now 0


def test_time_window_weekday_monthday() -> None:
    now = 1700000000.0  # Tue 2023-11-14 22:13:20 UTC
    for text, want in [("--timestart 22:00 --timestop 23:00", True),
                       ("--timestart 23:00 --timestop 01:00", False),
                       ("--weekdays Tue", True), ("--weekdays Mon", False), ("--monthdays 14", True),
                       ("--timestart 22:30 --timestop 02:00 --weekdays Mon --contiguous", False),
                       ("--datestop 2023-11-14T22:00", False)]:
        rs, rule = _rule(f"-m time {text}")
        assert _mt(rs, rule, _udp(), now) is want, text
    rs, rule = _rule("-m time --timestart 01:00 --timestop 02:00 --weekdays Wed --kerneltz")
    eng = _engine(rs)
    eng.tz_minuteswest = -180  # the kernel's timezone is UTC+3: 01:13 on Wednesday
    assert _mt(rs, rule, _udp(), now, eng) is True


def test_conntrack_states_and_tuple_tests() -> None:
    rs, rule = _rule("-m conntrack --ctstate ESTABLISHED --ctdir REPLY --ctorigdstport 8080 "
                     "--ctstatus SEEN_REPLY")
    ct = _conn(IPS_CONFIRMED | IPS_SEEN_REPLY)
    assert _mt(rs, rule, _udp(ct=ct, ctinfo=IP_CT_ESTABLISHED_REPLY), 0) is True
    assert _mt(rs, rule, _udp(ct=ct, ctinfo=IP_CT_ESTABLISHED), 0) is False
    rs, rule = _rule("-m conntrack --ctstate INVALID")
    assert _mt(rs, rule, _udp(), 0) is True
    assert _mt(rs, rule, _udp(untracked=True), 0) is False
    rs, rule = _rule("-m conntrack --ctstate DNAT --ctexpire 90:100")
    assert _mt(rs, rule, _udp(ct=_conn(IPS_CONFIRMED | IPS_DST_NAT), ctinfo=IP_CT_NEW), 5.0) is True
    rs, rule = _rule("-m conntrack --ctstatus ASSURED")
    assert _mt(rs, rule, _udp(), 0) is False  # no entry: only a pure --ctstate test can match
    rs, rule = _rule("-m state --state UNTRACKED")
    assert _mt(rs, rule, _udp(untracked=True), 0) is True


def test_connmark_connbytes_helper() -> None:
    ct = _conn(mark=0x41)
    ct.packets, ct.bytes = [3, 2], [3000, 400]
    pkt = _udp(ct=ct, ctinfo=IP_CT_ESTABLISHED)
    cb = "-m connbytes --connbytes"
    for text, want in [("-m connmark --mark 0x1/0xf", True), ("-m connmark ! --mark 0x41", False),
                       (f"{cb} 3 --connbytes-dir original --connbytes-mode packets", True),
                       (f"{cb} 6 --connbytes-dir both --connbytes-mode packets", False),
                       ("-m connbytes ! --connbytes 0:500 --connbytes-dir reply "
                        "--connbytes-mode bytes", False),
                       (f"{cb} 600:700 --connbytes-dir both --connbytes-mode avgpkt", True)]:
        rs, rule = _rule(text)
        assert _mt(rs, rule, pkt, 0) is want, text
    rs, rule = _rule("-m connmark --mark 0")
    assert _mt(rs, rule, _udp(), 0) is False
    master = _conn(helper="ftp")
    rs, rule = _rule('-m helper --helper ftp')
    assert _mt(rs, rule, _udp(ct=_conn(master=master), ctinfo=IP_CT_RELATED), 0) is True
    assert _mt(rs, rule, _udp(ct=master, ctinfo=IP_CT_ESTABLISHED), 0) is False


def test_connlimit_counts_live_connections() -> None:
    rs, rule = _rule("-p tcp -m connlimit --connlimit-above 2")
    eng = _engine(rs)
    conns = []
    for i in range(3):
        orig = Tuple(0x0AE92902, 0x0AE92A02, 6, 40000 + i, 8080)
        conns.append(Conn(orig, orig.invert(), status=IPS_CONFIRMED, timeout=100.0))
    res = [_mt(rs, rule, _udp(ct=c, ctinfo=IP_CT_NEW), i * 0.1, eng) for i, c in enumerate(conns)]
    assert res == [False, False, True]
    conns[0].proto["state"] = "TIME_WAIT"
    conns[1].timeout = 0.0  # expired
    assert _mt(rs, rule, _udp(ct=conns[2], ctinfo=IP_CT_ESTABLISHED), 1.0, eng) is False


def test_owner_socket_policy_from_metadata() -> None:
    rs = Ruleset.from_save("*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner 1000-2000\n"
                           "-A OUTPUT -m owner ! --socket-exists\nCOMMIT\n")
    uid_rule, nosock = rs.tables["filter"].chains["OUTPUT"].rules
    assert _mt(rs, uid_rule, _udp(socket=True, uid=1500, gid=5), 0) is True
    assert _mt(rs, uid_rule, _udp(socket=True, uid=5, gid=5), 0) is False
    assert _mt(rs, uid_rule, _udp(), 0) is False
    assert _mt(rs, nosock, _udp(), 0) is True
    assert "metadata" in uid_rule.matches[0].meta_note()
    rs, rule = _rule("-m policy --dir in --pol none")
    assert _mt(rs, rule, _udp(), 0) is True
    rs, rule = _rule("-m policy --dir in --pol ipsec --proto esp")
    assert _mt(rs, rule, _udp(), 0) is False
    rs = Ruleset.from_save("*mangle\n:PREROUTING ACCEPT [0:0]\n"
                           "-A PREROUTING -m socket --transparent\nCOMMIT\n")
    rule = rs.tables["mangle"].chains["PREROUTING"].rules[0]
    assert _mt(rs, rule, _udp(socket=True), 0) is False  # not known to be transparent
    assert rule.matches[0].meta_note().startswith("socket:")
