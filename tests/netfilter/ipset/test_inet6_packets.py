"""IPv4 packets and family inet6 sets inside a list:set: never a match, never added to or deleted from.

tools/record_ipset6_packets.py pinged a namespace's own loopback address through OUTPUT rules whose
list:set sets hold inet6 sets before inet ones (packets/inet6_list.json).  Here the same echo
requests and replies go through the same rules: the inet6 members are skipped (ip_set_test,
ip_set_add and ip_set_del refuse a set of the other family), their elements' counters stay 0,
and the inet members behind them take the matches, adds and deletes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

from pynetfilter import Ruleset
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter import ipset, traverse
from pynetfilter.netfilter.ipset_print import save_sets
from pynetfilter.netfilter.par import Par
from pynetfilter.packet.model import Icmp, Packet

RECORDING = Path(__file__).parent / "packets" / "inet6_list.json"
LOOPBACK = 0x7F000001


def _output_rules(save: str) -> list[str]:
    return [line for line in save.splitlines() if "-A OUTPUT" in line]


def test_list_set_skips_its_inet6_members() -> None:
    rec = json.loads(RECORDING.read_text())
    sets = ipset.load(rec["ipset"])
    rs = Ruleset()
    rs.ipsets = ipset.families(sets)
    rs.restore(rec["rules"])
    eng = SimpleNamespace(ruleset=rs, rule_states={}, recent={}, hashlimit={}, ipsets=sets, tz_minuteswest=0)
    rng = random.Random(0)
    for seq in range(1, rec["pings"] + 1):
        for icmp_type in (8, 0):  # ping's echo request, then the kernel's echo reply
            pkt = Packet(LOOPBACK, LOOPBACK, 1, Icmp(icmp_type, 0, 0x1234, seq), payload=bytes(56))
            traverse.do_table(rs.tables["filter"], pkt, Par(Hook.OUTPUT, "filter", None, "lo", 0.0, rng, eng))
    assert _output_rules(rs.save(counters=True, table="filter")) == _output_rules(rec["kernel_save"])
    assert save_sets(sets.values(), 0.0) == rec["ipset_save"]


def test_inet6_set_never_holds_an_ipv4_packet() -> None:
    sets = ipset.load("create v6 hash:net family inet6\nadd v6 ::/1\n")
    pkt = Packet(LOOPBACK, LOOPBACK, 1, Icmp(8, 0, 1, 1), payload=bytes(56))
    assert not ipset.test(sets, "v6", pkt, 1, 0b10, 0.0)
