"""The stateless matches evaluate packets exactly as the kernel's do (tcp, udp, icmp, sctp, multiport,
esp, ah, tcpmss, length, ttl, tos, dscp, ecn, pkttype, comment, mark, iprange, mac, physdev, devgroup,
cpu, addrtype, rpfilter, u32, string; and in the second suite, match_eval_more, dccp, ipcomp, cluster,
connlabel, bpf, osf, realm, cgroup, rateest).

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
SUITES = ("match_eval", "match_eval_more")  # recordings: tools/record_match_eval.py [--suite more]
DATAS = {s: json.loads((KERNEL / f"{s}.json").read_text()) for s in SUITES}
DATA = DATAS["match_eval"]
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


def _run(suite: str) -> list[tuple[str, str, dict[str, list[int]], dict[str, list[int]]]]:
    """Feed every captured frame; (suite, name, what the kernel counted, what pynetfilter counted) each."""
    data = DATAS[suite]
    rs = Ruleset.from_save(data["rules"])
    host = Host.from_iproute(json.dumps(data["host"]["addr"]), json.dumps(data["host"]["route"]),
                             ip_forward=True, rp_filter=0)
    engine = Engine(rs, host)
    records = list(read(KERNEL / f"{suite}.pcap"))
    assert len(records) == len(data["frames"]), "the capture and the recording disagree"
    out = []
    before = _counts(rs)
    for i, (rec, frame) in enumerate(zip(records, data["frames"], strict=True)):
        assert rec.data.hex() == frame["frame"][28:], f"{frame['name']}: captured bytes differ from sent"
        pkt = parse(rec.data)
        pkt.meta.src_mac = rec.src_mac
        pkt.meta.pkt_type = rec.pkt_type
        pkt.meta.mac_header = bytes.fromhex(frame["frame"][:28])
        pkt.meta.cpu = data["cpu"]
        engine.receive(pkt, IFACE, float(i))
        after = _counts(rs)
        got = {k: [j for j, (x, y) in enumerate(zip(before[k], v, strict=True)) if x != y]
               for k, v in after.items()}
        out.append((suite, frame["name"], frame["counted"], {k: v for k, v in got.items() if v}))
        before = after
    return out


RESULTS = [r for s in SUITES for r in _run(s)]


def _rule_text(suite: str, key: str, idx: int) -> str:
    table, chain = key.split(":")
    rules = [ln for ln in DATAS[suite]["rules"].split("*" + table, 1)[1].split("COMMIT", 1)[0].splitlines()
             if ln.startswith(f"-A {chain} ") or ln == f"-A {chain}"]
    return rules[idx] if idx < len(rules) else f"{chain} policy"


@pytest.mark.parametrize("suite,name,kernel,ours", RESULTS,
                         ids=[r[1] if r[0] == "match_eval" else f"{r[0]}:{r[1]}" for r in RESULTS])
def test_frame_counts_like_the_kernel(suite: str, name: str, kernel: dict[str, list[int]],
                                      ours: dict[str, list[int]]) -> None:
    diff = []
    for key in sorted(set(kernel) | set(ours)):
        k, o = set(kernel.get(key, [])), set(ours.get(key, []))
        diff += [f"kernel only: {_rule_text(suite, key, i)}" for i in sorted(k - o)]
        diff += [f"pynetfilter only: {_rule_text(suite, key, i)}" for i in sorted(o - k)]
    assert not diff, f"{name}:\n" + "\n".join(diff)


@pytest.mark.parametrize("suite", SUITES)
def test_final_counters_like_iptables_save(suite: str) -> None:
    data = DATAS[suite]
    rs = Ruleset.from_save(data["rules"])
    host = Host.from_iproute(json.dumps(data["host"]["addr"]), json.dumps(data["host"]["route"]))
    engine = Engine(rs, host)
    for i, (rec, frame) in enumerate(zip(read(KERNEL / f"{suite}.pcap"), data["frames"], strict=True)):
        pkt = parse(rec.data)
        pkt.meta.src_mac, pkt.meta.pkt_type, pkt.meta.cpu = rec.src_mac, rec.pkt_type, data["cpu"]
        pkt.meta.mac_header = bytes.fromhex(frame["frame"][:28])
        engine.receive(pkt, IFACE, float(i))
    # iptables-save lists tables in the kernel's registration order: compare table by table
    assert table_blocks(rs.save(counters=True)) == table_blocks(data["save"])


# The second suite's PREROUTING rules no frame matched, each for a reason the kernel showed.
NEVER_MORE = {
    "-m pkttype --pkt-type multicast",  # (its second copy) cluster made the multicast-MAC frame "host"
    "-m connlabel ! --label 5",  # the --set rule before it labelled every connection
    '-m bpf --bytecode "2,32 0 0 2000,6 0 0 1"',  # a load past the packet ends the program with 0
    '-m bpf --bytecode "3,7 0 0 0,60 0 0 0,6 0 0 1"',  # a division by X = 0 ends it with 0
    # no rate comes near these, and an estimator always equals itself
    "-m rateest --rateest EST --rateest-bps 4000000000 --rateest-gt",
    "-m rateest --rateest1 EST --rateest2 EST --rateest-bps ! --rateest-eq",
    # no OS fingerprints are loaded into the kernel
    "-p tcp -m osf --genre Linux", "-p tcp -m osf ! --genre Linux", "-p tcp -m osf --genre Linux --ttl 2",
}


def test_every_new_match_option_hit_and_missed() -> None:
    """The second suite's PREROUTING rules all counted some frame, but for NEVER_MORE."""
    data = DATAS["match_eval_more"]
    counted = {i for frame in data["frames"] for i in frame["counted"].get("mangle:PREROUTING", [])}
    rules = [ln for ln in data["rules"].splitlines() if ln.startswith("-A PREROUTING")]
    silent = [r for i, r in enumerate(rules)
              if i not in counted and r[len("-A PREROUTING "):] not in NEVER_MORE]
    assert not silent, "rules no frame matched: " + "; ".join(silent)
    # the multicast-MAC frame did count as multicast before a cluster rule saw it
    assert rules.index("-A PREROUTING -m pkttype --pkt-type multicast") in counted


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
