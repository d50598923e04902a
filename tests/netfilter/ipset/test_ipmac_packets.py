"""bitmap:ip,mac under packets: the kernel's -m set / -j SET results with real Ethernet frames.

tools/record_ipmac.py pinged a server namespace over a veth pair with fixed MACs and recorded
the frames the server saw, its rule counters and its sets (packets/ipmac.json).  Here the same
frames go through the same rules: echo requests through INPUT with their Ethernet header, the
server's echo replies through OUTPUT without one (locally generated: no MAC header yet); two
hash:ip sets there pin the counters -j SET gives an element (the adding packet's).  The
unit tests below pin the rest of bitmap_ipmac_kadt: no Ethernet header, a zero MAC, a source
MAC known without the frame's destination."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from types import SimpleNamespace

from pynetfilter import Ruleset
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter import ipset, ipset_kadt, traverse
from pynetfilter.netfilter.ipset_print import save_sets
from pynetfilter.netfilter.par import Par
from pynetfilter.packet.model import Icmp, Packet
from pynetfilter.packet.wire import parse

RECORDING = Path(__file__).parent / "packets" / "ipmac.json"
_LEFT = re.compile(r"(?<=timeout )(\d+)")
A, B = 0x0AE93C01, 0x0AE93C02  # 10.233.60.1, 10.233.60.2
MAC_A, MAC_B = bytes.fromhex("020000000a01"), bytes.fromhex("020000000b01")


def _strip(save: str) -> str:
    return "".join(line + "\n" for line in save.splitlines() if not line.startswith("#"))


def test_frames_through_rules_match_kernel() -> None:
    rec = json.loads(RECORDING.read_text())
    t0 = rec["frames"][0][0]
    sets = ipset.load(rec["ipset"], now=t0)
    rs = Ruleset()
    rs.ipsets = ipset.families(sets)
    rs.restore(rec["rules"])
    eng = SimpleNamespace(ruleset=rs, rule_states={}, recent={}, hashlimit={}, ipsets=sets, tz_minuteswest=0)
    rng = random.Random(0)
    server_mac = bytes.fromhex(rec["server_mac"].replace(":", ""))
    table = rs.tables["filter"]
    now = t0
    for now, frame_hex in rec["frames"]:
        frame = bytes.fromhex(frame_hex)
        pkt = parse(frame[14:])
        if frame[6:12] == server_mac:
            par = Par(Hook.OUTPUT, "filter", None, rec["dev"], now, rng, eng)
        else:
            pkt.meta.iif, pkt.meta.src_mac, pkt.meta.mac_header = rec["dev"], frame[6:12], frame[:14]
            par = Par(Hook.INPUT, "filter", rec["dev"], None, now, rng, eng)
        traverse.do_table(table, pkt, par)
    assert _strip(rs.save(counters=True, table="filter")) == _strip(rec["kernel_save"])
    ours, kernel = save_sets(sets.values(), now), rec["ipset_save"]
    assert _LEFT.sub("N", ours) == _LEFT.sub("N", kernel)
    for x, y in zip(_LEFT.findall(ours), _LEFT.findall(kernel), strict=True):
        assert abs(int(x) - int(y)) <= 1  # the kernel listed a moment after the last frame


SAVE = """\
create m bitmap:ip,mac range 10.233.60.0/24 counters comment skbinfo
add m 10.233.60.1 comment "waiting" skbmark 0x7
create f bitmap:ip,mac range 10.233.60.0/24
add f 10.233.60.1,02:00:00:00:0A:01
"""


def _ping(src_mac: bytes | None, header: bool = True) -> Packet:
    pkt = Packet(A, B, 1, Icmp(8, 0), payload=bytes(56))  # 84 bytes, as ping's
    pkt.meta.src_mac = src_mac
    if header and src_mac is not None:
        pkt.meta.mac_header = MAC_B + src_mac + b"\x08\x00"
    return pkt


def test_no_ethernet_header_is_no_element() -> None:
    sets = ipset.load(SAVE)
    assert not ipset.test(sets, "m", _ping(None), 2, 0b110, 0.0, length=84)
    assert sets["m"].elements[(A,)].ether is None  # not filled either
    assert not ipset_kadt.add(sets, "f", _ping(None), 2, 0b110, 0.0)
    assert not ipset_kadt.delete(sets, "f", _ping(None), 2, 0b110, 0.0)
    assert (A,) in sets["f"].elements


def test_zero_mac_is_refused() -> None:
    sets = ipset.load(SAVE)
    assert not ipset.test(sets, "m", _ping(bytes(6)), 2, 0b110, 0.0, length=84)
    assert not ipset_kadt.delete(sets, "f", _ping(bytes(6)), 2, 0b110, 0.0)


def test_fill_from_packet_clears_comment_and_skbinfo() -> None:
    sets = ipset.load(SAVE)
    assert ipset.test(sets, "m", _ping(MAC_A), 2, 0b110, 0.0, length=84)
    e = sets["m"].elements[(A,)]
    assert (e.ether, e.packets, e.bytes, e.comment, e.skbmark) == (MAC_A, 1, 84, None, 0)
    assert not ipset.test(sets, "m", _ping(bytes.fromhex("020000000a02")), 2, 0b110, 0.0, length=84)


def test_destination_mac_needs_the_frame_header() -> None:
    sets = ipset.load(SAVE.replace("0A:01", "0B:01"))
    assert ipset.test(sets, "f", _ping(MAC_A), 2, 0b010, 0.0)  # src,dst: the frame's destination
    assert not ipset.test(sets, "f", _ping(MAC_A, header=False), 2, 0b010, 0.0)


def test_one_direction_is_never_a_match() -> None:
    sets = ipset.load(SAVE)
    assert not ipset.test(sets, "f", _ping(MAC_A), 1, 0b10, 0.0)


def test_map_set_on_unset_element_maps_zero_skbinfo() -> None:
    sets = ipset.load(SAVE)
    e = ipset_kadt.find(sets, "m", _ping(MAC_A), 2, 0b110, 0.0)
    assert e is not None and (e.skbmark, e.skbmarkmask, e.skbprio) == (0, 0, 0)
