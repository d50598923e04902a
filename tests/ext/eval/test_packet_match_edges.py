"""Corners of the stateless matches that a veth recording cannot reach, pinned to the kernel source
(xt_mac, xt_pkttype, xt_u32, xt_tcpudp, ts_bm/ts_kmp/ts_fsm): each case names the kernel line it follows."""

from __future__ import annotations

from types import SimpleNamespace

from pynetfilter.ext._textsearch import TOUPPER, bm_find, find, fsm_find
from pynetfilter.ext.mac import Mac
from pynetfilter.ext.pkttype import Pkttype
from pynetfilter.ext.tcp import option_walk
from pynetfilter.ext.u32 import U32, parse_u32, u32_match
from pynetfilter.packet.model import Packet


def _par() -> SimpleNamespace:
    return SimpleNamespace(hotdrop=False)


def test_mac_without_ethernet_header_never_matches() -> None:
    # mac_mt: no ARPHRD_ETHER device (loopback, local output): false before the invert is applied
    pkt = Packet(1, 2, 17)
    assert not Mac(bytes(6), invert=True).mt(pkt, _par())  # type: ignore[arg-type]


def test_pkttype_loopback_is_multicast_or_broadcast() -> None:
    pkt = Packet(1, 0xE0000001, 17)
    pkt.meta.pkt_type = "loopback"
    assert Pkttype(2).mt(pkt, _par())  # type: ignore[arg-type]
    pkt.daddr = 0x0AE9C8FF
    assert Pkttype(1).mt(pkt, _par())  # type: ignore[arg-type]


def test_u32_out_of_range_is_false_and_inverts_to_true() -> None:
    tests = parse_u32("100=0:0xffffffff")
    assert not u32_match(tests, bytes(40))
    assert U32(tests, invert=True).tests == tests
    # "@" whose base would wrap past 2**32 stops the test
    assert not u32_match(parse_u32("0@0xfffffffc=0"), b"\xff" * 40)


def test_tcp_option_walk_reads_a_length_byte_past_the_options() -> None:
    # tcp_find_option: op[i+1] of a last option kind >= 2 is the next packet byte; 0 steps by 1
    assert list(option_walk(bytes([3]) + b"\x00", 1)) == [0]
    assert list(option_walk(bytes([1, 1, 8, 0, 5]), 4)) == [0, 1, 2, 3]


def test_textsearch_kernel_case_folding() -> None:
    # lib/ctype.c: 0xdf and 0xff are lower case; their "upper case" is 0xbf and 0xdf
    assert TOUPPER[0xDF] == 0xBF and TOUPPER[0xFF] == 0xDF and TOUPPER[ord("a")] == ord("A")
    assert find("kmp", b"\xdf", True, b"x\xbf") == 1  # so --icase "ß" finds "¿"
    assert bm_find(b"abc", True, b"xxABCx") == 2 and bm_find(b"abc", False, b"xxABCx") is None


def test_fsm_strict_pattern_must_cover_the_text() -> None:
    single_a = bytes([0, 0, 0, ord("a")])
    assert fsm_find(single_a, b"a") == 0
    assert fsm_find(single_a, b"ab") is None  # strict: data left over after the last token
    head_any = bytes([1, 0, 4, 0]) + single_a + bytes([1, 0, 2, 0])
    assert fsm_find(head_any, b"xxab") == 2
