"""The stateless matches evaluate packets exactly as the kernel's do (tcp, udp, icmp, sctp, multiport,
esp, ah, tcpmss, length, ttl, tos, dscp, ecn, pkttype, comment, mark, iprange, mac, physdev, devgroup,
cpu, addrtype, rpfilter, u32, string).

The recording (tools/record_match_eval.py) sent crafted frames into a firewall namespace holding one
counting rule per option value and noted, frame by frame, which rules and policies counted it.  Here
the captured frames go through pynetfilter's Engine with a Host built from the namespace's ``ip -j``
output, and every frame must bump exactly the same rules and policies in every chain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynetfilter.io.pcap import read
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet.wire import parse
from tools.kernel import table_blocks

KERNEL = Path(__file__).parent / "kernel"
DATA = json.loads((KERNEL / "match_eval.json").read_text())
IFACE = "veth-b"


def _counts(rs: Ruleset) -> dict[str, list[int]]:
    """'table:chain' -> packet counters of the rules, then the policy of a built-in chain."""
    out = {}
    for tname, table in rs.tables.items():
        for cname, chain in table.chains.items():
            pk = [r.packets for r in chain.rules]
            if chain.policy is not None:
                pk.append(chain.packets)
            out[f"{tname}:{cname}"] = pk
    return out


def _run() -> list[tuple[str, dict[str, list[int]], dict[str, list[int]]]]:
    """Feed every captured frame; (name, what the kernel counted, what pynetfilter counted) each."""
    rs = Ruleset.from_save(DATA["rules"])
    host = Host.from_iproute(json.dumps(DATA["host"]["addr"]), json.dumps(DATA["host"]["route"]),
                             ip_forward=True, rp_filter=0)
    engine = Engine(rs, host)
    records = list(read(KERNEL / "match_eval.pcap"))
    assert len(records) == len(DATA["frames"]), "the capture and the recording disagree"
    out = []
    before = _counts(rs)
    for i, (rec, frame) in enumerate(zip(records, DATA["frames"], strict=True)):
        assert rec.data.hex() == frame["frame"][28:], f"{frame['name']}: captured bytes differ from sent"
        pkt = parse(rec.data)
        pkt.meta.src_mac = rec.src_mac
        pkt.meta.pkt_type = rec.pkt_type
        pkt.meta.mac_header = bytes.fromhex(frame["frame"][:28])
        pkt.meta.cpu = DATA["cpu"]
        engine.receive(pkt, IFACE, float(i))
        after = _counts(rs)
        got = {k: [j for j, (x, y) in enumerate(zip(before[k], v, strict=True)) if x != y]
               for k, v in after.items()}
        out.append((frame["name"], frame["counted"], {k: v for k, v in got.items() if v}))
        before = after
    return out


RESULTS = _run()


def _rule_text(key: str, idx: int) -> str:
    table, chain = key.split(":")
    rules = [ln for ln in DATA["rules"].split("*" + table, 1)[1].split("COMMIT", 1)[0].splitlines()
             if ln.startswith(f"-A {chain} ") or ln == f"-A {chain}"]
    return rules[idx] if idx < len(rules) else f"{chain} policy"


@pytest.mark.parametrize("name,kernel,ours", RESULTS, ids=[r[0] for r in RESULTS])
def test_frame_counts_like_the_kernel(name: str, kernel: dict[str, list[int]],
                                      ours: dict[str, list[int]]) -> None:
    diff = []
    for key in sorted(set(kernel) | set(ours)):
        k, o = set(kernel.get(key, [])), set(ours.get(key, []))
        diff += [f"kernel only: {_rule_text(key, i)}" for i in sorted(k - o)]
        diff += [f"pynetfilter only: {_rule_text(key, i)}" for i in sorted(o - k)]
    assert not diff, f"{name}:\n" + "\n".join(diff)


def test_final_counters_like_iptables_save() -> None:
    rs = Ruleset.from_save(DATA["rules"])
    host = Host.from_iproute(json.dumps(DATA["host"]["addr"]), json.dumps(DATA["host"]["route"]))
    engine = Engine(rs, host)
    for i, rec in enumerate(read(KERNEL / "match_eval.pcap")):
        pkt = parse(rec.data)
        pkt.meta.src_mac, pkt.meta.pkt_type, pkt.meta.cpu = rec.src_mac, rec.pkt_type, DATA["cpu"]
        engine.receive(pkt, IFACE, float(i))
    # iptables-save lists tables in the kernel's registration order: compare table by table
    assert table_blocks(rs.save(counters=True)) == table_blocks(DATA["save"])


def test_every_match_option_hit_and_missed() -> None:
    """Every PREROUTING rule of the recording counted some frame, but for the documented few that
    no frame can match or that are the non-matching half of an option."""
    never = {
        "-m pkttype --pkt-type otherhost",  # ip_rcv drops PACKET_OTHERHOST before PREROUTING
        "-m cpu --cpu 1", "-m cpu ! --cpu 0",  # the sender is pinned to CPU 0
        # a failing route type (blackhole, prohibit) fails inet_dev_addr_type's lookup: UNICAST
        "-m addrtype --dst-type BLACKHOLE", "-m addrtype --dst-type PROHIBIT",
        # every frame comes in on the same device (group 5)
        "-m devgroup ! --src-group 0x1/0x1", "-m devgroup --src-group 0x2/0x2",
        "-m physdev --physdev-in veth-b", "-m physdev --physdev-is-in",  # no bridge: only inverted
        # the non-matching halves of an option whose matching half is another rule
        "-m u32 --u32 0>>22&0x3C@0xFFFFFFF0=0:0xFFFFFFFF", '-m string --string "host: example.org" --algo bm',
        "-m string --string index --algo kmp --from 50", "-m string --string index --algo bm --to 49",
        "-p icmp -m icmp --icmp-type 11/0",
    }
    counted: dict[int, int] = {}
    for frame in DATA["frames"]:
        for i in frame["counted"].get("mangle:PREROUTING", []):
            counted[i] = counted.get(i, 0) + 1
    rules = [ln for ln in DATA["rules"].splitlines() if ln.startswith("-A PREROUTING")]
    silent = [r for i, r in enumerate(rules) if not counted.get(i) and r[len("-A PREROUTING "):] not in never]
    assert not silent, "rules no frame matched: " + "; ".join(silent)
