"""The replay reads its capture as a stream: time order as a full sort gives it, bounded memory."""

from __future__ import annotations

import itertools
import random
import struct
from pathlib import Path

from pynetfilter.io.pcap import LINKTYPE_LINUX_SLL2
from pynetfilter.replay.capture import Frame
from pynetfilter.replay.engine import replay
from pynetfilter.replay.warnings import Warnings
from pynetfilter.replay.window import AHEAD, BEHIND, Frames


def _frame(n: int, ts: float) -> Frame:
    return Frame(n, ts, "a0", False, "host", b"")


def test_order_equals_a_full_sort_within_the_read_ahead() -> None:
    rng = random.Random(7)
    frames = [_frame(n, n * 0.01 + rng.uniform(-2.0, 2.0)) for n in range(1, 3001)]  # 2 s of jitter
    warnings = Warnings()
    got = [f.n for f in Frames(iter(frames), warnings=warnings)]
    assert got == [f.n for f in sorted(frames, key=lambda f: f.ts)]  # stable, as list.sort
    assert not warnings


def test_a_packet_later_than_the_read_ahead_is_replayed_next_and_said() -> None:
    frames = [_frame(n, float(n)) for n in range(1, 40)] + [_frame(40, 1.5)]
    warnings = Warnings()
    win = Frames(iter(frames), warnings=warnings)
    order = []
    for i, f in enumerate(win):
        order.append(f.n)
        if i == 30:
            assert win.has(31)  # the late frame has been read by now
    assert sorted(order) == list(range(1, 41))
    assert order.index(40) > order.index(2)  # not at its timestamp's place (after frame 1)
    assert "order" in warnings.found


def test_memory_follows_the_rate_not_the_length() -> None:
    n = 20_000
    frames = (_frame(k, k * 0.1) for k in range(1, n + 1))  # 10 packets a second for 2,000 s
    win = Frames(frames)
    walked = 0
    for _ in win:
        walked += 1
        list(itertools.islice(win.after(walked - 1), 3))  # a lookahead, as the replay does
    assert walked == n
    assert win.peak <= 10 * (AHEAD + BEHIND) + 20, win.peak


def test_lookups_behind_and_ahead() -> None:
    win = Frames(iter([_frame(k, float(k)) for k in range(1, 201)]))
    for _ in win:
        if win.cur == 100:
            break
    near = [j for j, _ in win.around(100, 5.0)]
    assert near == list(range(95, 106))
    assert [f.n for f in win.after(100)][:2] == [102, 103]


def _sll2(src: int, dst: int, ident: int) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, ident, 0, 64, 17, 0, src.to_bytes(4, "big"),
                       dst.to_bytes(4, "big"))
    total = sum(struct.unpack("!10H", head))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    ip = head[:10] + struct.pack("!H", ~total & 0xFFFF) + head[12:] + struct.pack("!HHHH", 5353, 53, 8, 0)
    return struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 6 + b"\0\0") + ip


def test_a_long_capture_replays_in_bounded_memory(tmp_path: Path) -> None:
    """3,000 packets over 300 s: the window holds a minute's worth, whatever the length."""
    cap = tmp_path / "long.pcap"
    with cap.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, LINKTYPE_LINUX_SLL2))
        for k in range(3_000):
            data = _sll2(0x0AE90102, 0x0AE90201, k & 0xFFFF)
            f.write(struct.pack("<IIII", 1_000_000 + k // 10, (k % 10) * 100_000, len(data), len(data)))
            f.write(data)
    addrs = ('[{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"], "mtu": 65536, "link_type": '
             '"loopback", "address": "00:00:00:00:00:00", "addr_info": [{"family": "inet", "local": '
             '"127.0.0.1", "prefixlen": 8}]}, {"ifindex": 2, "ifname": "a0", "flags": ["UP"], "mtu": 1500, '
             '"link_type": "ether", "address": "02:00:00:00:00:01", "addr_info": [{"family": "inet", '
             '"local": "10.233.2.1", "prefixlen": 24}]}]')
    routes = ('[{"dst": "10.233.2.0/24", "dev": "a0", "prefsrc": "10.233.2.1", "protocol": "kernel", '
              '"scope": "link"}, {"type": "local", "dst": "10.233.2.1", "dev": "a0", "table": "local", '
              '"prefsrc": "10.233.2.1", "protocol": "kernel", "scope": "host"}, {"type": "local", "dst": '
              '"127.0.0.0/8", "dev": "lo", "table": "local", "prefsrc": "127.0.0.1", "protocol": "kernel", '
              '"scope": "host"}]')
    rules = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n"
    rp = replay(rules, addrs, routes, str(cap), quiet=True)
    assert rp.frames.peak <= 10 * (AHEAD + BEHIND) + 20, rp.frames.peak
    chain = rp.engine.ruleset.tables["filter"].chains["INPUT"]
    assert chain.rules[0].packets == 3_000
