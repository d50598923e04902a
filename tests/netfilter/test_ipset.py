"""The ipset store: ``ipset save`` text in, membership as xt_set's kadt functions test it.

Kernel parity of the same sets under real traffic is in tests/ext/eval/test_stateful.py (the
``set`` scenario recorded by tools/record_stateful.py); these pin each type and option."""

from __future__ import annotations

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.netfilter import ipset
from pynetfilter.packet.model import IP_MF, Icmp, Packet, Tcp, Udp

A, B, C = 0x0AE92902, 0x0AE92A02, 0x0AE92903  # 10.233.41.2, 10.233.42.2, 10.233.41.3
SRC, SRC_DST, DST = 0b10, 0b010, 0  # dir flags: bit i set = dimension i is src

SAVE = """\
create h hash:ip family inet hashsize 1024 maxelem 65536 timeout 300 counters
add h 10.233.41.2 timeout 10 packets 0 bytes 0
add h 10.233.41.3 timeout 0 packets 5 bytes 500
create m hash:ip family inet hashsize 1024 maxelem 65536 netmask 24
add m 10.233.42.0
create n hash:net family inet hashsize 1024 maxelem 65536
add n 10.233.41.0/24
add n 10.233.41.2 nomatch
create hp hash:ip,port family inet hashsize 1024 maxelem 65536
add hp 10.233.42.2,tcp:80
add hp 10.233.42.2,icmp:echo-request
add hp 10.233.42.2,gre:0
create np hash:net,port family inet hashsize 1024 maxelem 65536
add np 10.233.41.0/28,udp:53
create ipi hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add ipi 10.233.41.2,tcp:80,10.233.42.2
create ipn hash:ip,port,net family inet hashsize 1024 maxelem 65536
add ipn 10.233.41.2,udp:53,10.233.42.0/24
create bp bitmap:port range 1-1024
add bp 80
create l list:set size 8
add l bp
add l h
"""


def _tcp(src: int = A, dst: int = B, sport: int = 40000, dport: int = 80, frag: int = 0) -> Packet:
    return Packet(src, dst, 6, Tcp(sport, dport), frag_off=frag)


@pytest.fixture
def sets() -> dict[str, ipset.IpSet]:
    return ipset.load(SAVE, now=100.0)


def test_load_types_and_families(sets: dict[str, ipset.IpSet]) -> None:
    assert set(sets) == {"h", "m", "n", "hp", "np", "ipi", "ipn", "bp", "l"}
    assert ipset.families(sets)["l"] == "unspec" and ipset.families(sets)["h"] == "inet"
    assert sets["h"].counters and sets["l"].members == ["bp", "h"]


def test_hash_ip_timeouts_and_counters(sets: dict[str, ipset.IpSet]) -> None:
    assert ipset.test(sets, "h", _tcp(), 1, SRC, 105.0, length=60)
    assert not ipset.test(sets, "h", _tcp(), 1, SRC, 110.0)  # its 10 s ran out
    assert ipset.test(sets, "h", _tcp(src=C), 1, SRC, 1e9)  # timeout 0: permanent
    e = sets["h"].elements[(A,)]
    assert (e.packets, e.bytes) == (1, 60)
    assert not ipset.test(sets, "h", _tcp(src=C), 1, SRC, 0, counters=lambda p, b: p > 10)
    assert not ipset.test(sets, "h", _tcp(), 0, SRC, 105.0)  # fewer directions than dimensions


def test_netmask_and_nets_most_specific_first(sets: dict[str, ipset.IpSet]) -> None:
    assert ipset.test(sets, "m", _tcp(src=B), 1, SRC, 0)
    assert ipset.test(sets, "n", _tcp(src=C), 1, SRC, 0)
    assert not ipset.test(sets, "n", _tcp(src=A), 1, SRC, 0)  # the /32 nomatch wins over the /24
    assert ipset.test(sets, "n", _tcp(src=A), 1, SRC, 0, return_nomatch=True)
    assert not ipset.test(sets, "n", _tcp(src=C), 1, SRC, 0, return_nomatch=True)


def test_port_dimensions(sets: dict[str, ipset.IpSet]) -> None:
    assert ipset.test(sets, "hp", _tcp(), 2, DST, 0)
    assert not ipset.test(sets, "hp", _tcp(dport=81), 2, DST, 0)
    assert not ipset.test(sets, "hp", _tcp(frag=IP_MF | 10), 2, DST, 0)  # later fragment: no ports
    echo = Packet(A, B, 1, Icmp(8, 0))
    assert ipset.test(sets, "hp", echo, 2, DST, 0)
    assert ipset.test(sets, "hp", Packet(A, B, 47), 2, DST, 0)
    dns = Packet(0x0AE9290A, B, 17, Udp(5000, 53))
    assert ipset.test(sets, "np", dns, 2, SRC, 0)
    assert ipset.test(sets, "ipi", _tcp(), 3, SRC, 0)
    assert ipset.test(sets, "ipn", Packet(A, B, 17, Udp(1, 53)), 3, SRC, 0)
    assert ipset.test(sets, "bp", _tcp(), 1, DST, 0)
    assert not ipset.test(sets, "bp", Packet(A, B, 132), 1, DST, 0)


def test_list_set_tries_members_in_order(sets: dict[str, ipset.IpSet]) -> None:
    assert ipset.test(sets, "l", _tcp(dport=80), 1, DST, 0)
    assert ipset.test(sets, "l", _tcp(src=C, dport=9), 1, SRC, 0)
    assert not ipset.test(sets, "l", _tcp(src=B, dport=9), 1, SRC, 0)
    assert not ipset.test(sets, "nosuchset", _tcp(), 1, SRC, 0)


@pytest.mark.parametrize("text", [
    "create x hash:mac\n", "add x 1.2.3.4\n", "create x hash:ip\nadd x 1.2.3\n",
    "create x hash:ip,port\nadd x 1.2.3.4,tcp:99999\n", "create x hash:net\nadd x 1.2.3.0/40\n",
    "create l list:set\nadd l missing\n", "flush\n", "create x hash:ip,port\nadd x 1.2.3.4,icmp:nonsense\n",
    'create x hash:ip comment "open\n',
])
def test_bad_input_is_one_line_error(text: str) -> None:
    with pytest.raises(PynfError) as e:
        ipset.load(text)
    assert "\n" not in str(e.value)
