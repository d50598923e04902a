"""ipsets and nfacct objects on the command line: --ipsets/--nfacct on save, restore, iptables, trace
and replay; state files carrying them (and still loadable by iptables-legacy-restore)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from pynetfilter.cli.main import main
from pynetfilter.netfilter import objects
from tools.kernel import Namespace, available, strip_comments

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "tests" / "scenarios" / "kube-service-tcp"
SETS = "create blocked hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x00c0ffee\n"
RULES = "*filter\n-A FORWARD -m set --match-set blocked src -j DROP\nCOMMIT\n"


def _files(tmp_path: Path, members: str = "") -> tuple[Path, Path, Path]:
    sets, rules, acct = tmp_path / "sets", tmp_path / "rules", tmp_path / "acct"
    sets.write_text(SETS + members)
    rules.write_text(RULES)
    acct.write_text("{ pkts = 00000000000000000000, bytes = 00000000000000000000 } = fwd;\n")
    return sets, rules, acct


def test_save_needs_the_sets_its_rules_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sets, rules, _ = _files(tmp_path)
    assert main(["save", str(rules)]) == 2  # iptables: "Set blocked doesn't exist."
    assert "blocked" in capsys.readouterr().err
    assert main(["save", "--ipsets", str(sets), str(rules)]) == 0
    assert "-A FORWARD -m set --match-set blocked src -j DROP" in capsys.readouterr().out


def test_nfacct_object_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, acct = _files(tmp_path)
    rules = tmp_path / "acct.rules"
    rules.write_text("*filter\n-A FORWARD -m nfacct --nfacct-name fwd\nCOMMIT\n")
    assert main(["save", str(rules)]) == 1
    assert "No chain/target/match by that name" in capsys.readouterr().err
    assert main(["save", "--nfacct", str(acct), str(rules)]) == 0
    assert "-m nfacct --nfacct-name  fwd" in capsys.readouterr().out


def test_state_keeps_sets_and_refuses_destroying_one_in_use(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    sets, rules, acct = _files(tmp_path, "add blocked 10.233.1.2\n")
    state = str(tmp_path / "state")
    assert main(["restore", "--state", state, "--ipsets", str(sets), "--nfacct", str(acct), str(rules)]) == 0
    assert main(["ipset", "--state", state, "destroy", "blocked"]) == 1
    assert capsys.readouterr().err == ("ipset v7.17: Set cannot be destroyed: it is in use by a kernel "
                                       "component\n")
    assert main(["ipset", "--state", state, "list", "blocked", "-terse"]) == 0
    assert "References: 1\n" in capsys.readouterr().out
    assert main(["iptables", "--state", state, "-A", "INPUT", "-m", "nfacct", "--nfacct-name", "fwd"]) == 0
    assert main(["iptables", "--state", state, "-F"]) == 0
    assert main(["ipset", "--state", state, "destroy", "blocked"]) == 0
    assert main(["iptables", "--state", state, "-A", "INPUT", "-m", "set", "--match-set", "blocked",
                 "src"]) == 2
    text = Path(state).read_text()
    assert "#nfacct { pkts = 00000000000000000000, bytes = 00000000000000000000 } = fwd;\n" in text


def test_save_reads_a_state_files_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`pynf save STATE` prints the rules of a state file whose rules name its own sets and objects."""
    sets, rules, acct = _files(tmp_path, "add blocked 10.233.1.2\n")
    state = str(tmp_path / "state")
    assert main(["restore", "--state", state, "--ipsets", str(sets), "--nfacct", str(acct), str(rules)]) == 0
    capsys.readouterr()
    assert main(["save", state]) == 0
    out = capsys.readouterr().out
    assert "--match-set blocked src" in out and "#ipset" not in out
    assert main(["save", str(rules)]) == 2  # the rules alone name a set nobody gave


def test_state_reload_keeps_the_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    state = str(tmp_path / "state")
    text = "create h hash:ip hashsize 64 initval 0x42\n" + "".join(
        f"add h 10.233.{i // 200}.{i % 200}\n" for i in range(300))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["ipset", "--state", state, "restore"]) == 0
    for i in range(0, 300, 3):
        assert main(["ipset", "--state", state, "del", "h", f"10.233.{i // 200}.{i % 200}"]) == 0
    capsys.readouterr()
    objs = objects.load(objects.split(Path(state).read_text())[0])
    session = objs.session(0.0, lambda n: 0)
    once = session.run(["list", "h"])
    assert main(["ipset", "--state", state, "list", "h"]) == 0
    assert capsys.readouterr().out == once[1]
    assert main(["ipset", "--state", state, "list", "h"]) == 0  # state rewritten: still the same
    assert capsys.readouterr().out == once[1]


def _trace(tmp_path: Path, sets: Path, rules: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["trace", str(rules), "--ipsets", str(sets), "--addrs", str(KUBE / "addrs.json"),
                 "--routes", str(KUBE / "routes.json"), "-p", "tcp", "-s", "10.233.1.2", "-d",
                 "10.233.2.11", "--dport", "8080", "-i", "rc", "--syn"]) == 0
    return capsys.readouterr().out


def test_trace_sees_the_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sets, rules, _ = _files(tmp_path, "add blocked 10.233.1.2\n")
    assert "verdict: DROP" in _trace(tmp_path, sets, rules, capsys)
    sets.write_text(SETS + "add blocked 10.233.1.3\n")
    assert "verdict: ACCEPT" in _trace(tmp_path, sets, rules, capsys)


def test_replay_counts_into_sets_and_nfacct(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scn = ROOT / "tests" / "scenarios" / "masquerade"
    sets, _, acct = _files(tmp_path, "add blocked 10.233.1.2\n")
    rules = tmp_path / "rules"  # the router's rules, and a rule counting the client's packets
    rules.write_text((scn / "rules").read_text() + "*filter\n-A FORWARD -m set --match-set blocked src "
                     "-m nfacct --nfacct-name fwd\nCOMMIT\n")
    assert main(["replay", str(rules), str(scn / "capture.pcap"), "--addrs", str(scn / "addrs.json"),
                 "--routes", str(scn / "routes.json"), "--ipsets", str(sets), "--nfacct", str(acct),
                 "--counters", "-q"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "--match-set blocked" in ln)
    assert not line.startswith("[0:0]"), line  # the client's forwarded packets are in the set


@pytest.mark.skipif(available("ipset", "nfacct") is not None,
                    reason=f"kernel not available: {available('ipset', 'nfacct')}")
def test_state_file_loads_in_the_kernel_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    state = str(tmp_path / "state")
    text = ("create web hash:ip,port initval 0x1234\ncreate nets hash:net counters comment initval 0x99\n"
            + "".join(f"add web 10.233.3.{i},tcp:{80 + i}\n" for i in range(40))
            + 'add nets 10.233.4.0/24 packets 3 bytes 120 comment "lab net"\n')
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["ipset", "--state", state, "restore"]) == 0
    assert main(["iptables", "--state", state, "-A", "INPUT", "-m", "set", "--match-set", "web",
                 "dst,dst", "-j", "ACCEPT"]) == 0
    assert main(["iptables", "--state", state, "-A", "FORWARD", "-m", "set", "--match-set", "nets",
                 "src"]) == 0
    assert main(["ipset", "--state", state, "save"]) == 0
    ours = capsys.readouterr().out
    data = Path(state).read_text()
    sets = "".join(ln[len("#ipset "):] + "\n" for ln in data.splitlines() if ln.startswith("#ipset "))
    with Namespace("pynfC") as ns:
        assert ns.run(["ipset", "restore"], stdin=sets).rc == 0
        r = ns.restore(data)  # the state file as is: its object lines are comments
        assert r.rc == 0, r.err
        assert strip_comments(ns.save(counters=True)) == strip_comments(main_save(state, capsys))
        assert ns.run(["ipset", "save"]).out == ours
        ns.run(["iptables-legacy-restore", "-w"], stdin="*filter\nCOMMIT\n")
        ns.run(["ipset", "destroy"])


def main_save(state: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["iptables", "--state", state, "-S"]) == 0
    capsys.readouterr()
    return objects.split(Path(state).read_text())[1]


def test_nfacct_counts_what_its_rule_counts(tmp_path: Path) -> None:
    """pynetfilter's nfacct object ends where the rule's own counters end (the kernel's, below)."""
    from pynetfilter.replay.engine import replay

    scn = ROOT / "tests" / "scenarios" / "masquerade"
    objs = objects.Objects()
    acct = "{ pkts = 00000000000000000007, bytes = 00000000000000000100 } = fwd;\n"
    objects.add(objs, [], [("acct", acct)], 0.0)
    rules = (scn / "rules").read_text() + "*filter\n-A FORWARD -m nfacct --nfacct-name fwd\nCOMMIT\n"
    rp = replay(rules, (scn / "addrs.json").read_text(), (scn / "routes.json").read_text(),
                str(scn / "capture.pcap"), out=io.StringIO(), quiet=True, objects=objs)
    rule = rp.engine.ruleset.tables["filter"].chains["FORWARD"].rules[-1]
    assert rule.packets > 0
    fwd = rp.engine.nfacct["fwd"]
    assert (fwd.pkts, fwd.bytes) == (7 + rule.packets, 100 + rule.bytes)


@pytest.mark.skipif(available("nfacct", "ping") is not None,
                    reason=f"kernel not available: {available('nfacct', 'ping')}")
def test_kernel_nfacct_counts_what_its_rule_counts() -> None:
    with Namespace("pynfC") as ns:
        assert ns.run(["nfacct", "add", "n"]).rc == 0
        assert ns.ipt("-A", "OUTPUT", "-m", "nfacct", "--nfacct-name", "n").rc == 0
        ns.run(["ping", "-c", "3", "-i", "0.2", "-s", "100", "127.0.0.1"])
        counters = next(ln for ln in ns.save(counters=True).splitlines() if "nfacct" in ln)
        pkts, byts = counters[1:counters.index("]")].split(":")
        listing = ns.run(["nfacct", "list"]).out
        ns.ipt("-F")
    assert int(pkts) == 6
    assert listing == f"{{ pkts = {int(pkts):020d}, bytes = {int(byts):020d} }} = n;\n"


def test_iptables_and_ipset_take_ipsets_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sets, _, acct = _files(tmp_path, "add blocked 10.233.1.2\n")
    state = str(tmp_path / "state")
    rule = ["-A", "FORWARD", "-m", "set", "--match-set", "blocked", "src",
            "-m", "nfacct", "--nfacct-name", "fwd"]
    assert main(["iptables", "--state", state, *rule]) == 2
    assert main(["iptables", "--state", state, "--ipsets", str(sets), "--nfacct", str(acct), *rule]) == 0
    assert main(["ipset", "--state", state, "test", "blocked", "10.233.1.2"]) == 0  # kept in the state
    more = tmp_path / "more"
    more.write_text("create extra bitmap:port range 1-10\nadd extra 5\n")
    assert main(["ipset", "--state", state, "--ipsets", str(more), "list", "-name"]) == 0
    assert capsys.readouterr().out == "blocked\nextra\n"
    assert main(["ipset", "--state", state, "list", "-name"]) == 0  # a read-only command keeps nothing
    assert capsys.readouterr().out == "blocked\n"
    assert main(["ipset", "--state", state, "--ipsets", str(more), "add", "extra", "6"]) == 0  # a change does
    assert main(["ipset", "--state", state, "--ipsets", str(more), "list", "-name"]) == 1  # exists already
    assert "set with the same name already exists" in capsys.readouterr().err


SETS6 = ("create n6 hash:net family inet6 hashsize 64 counters comment initval 0x600d\n"
         "create p6 hash:ip,port family inet6 timeout 300 skbinfo initval 0x6\n"
         "create i6 hash:net,iface family inet6 initval 0x7\n"
         "create m6 hash:ip family inet6 netmask 64 initval 0x8\n"
         + "".join(f"add n6 fd00:{i:x}::/{48 + i % 80}\n" for i in range(150))
         + 'add n6 2001:db8::/32 nomatch packets 3 bytes 180 comment "doc net"\n'
         + "add p6 fd00::1,ipv6-icmp:echo-request timeout 99 skbmark 0x10/0xff skbprio 1:2\n"
         + "add p6 ::ffff:10.233.0.1,udp:53\n"
         + "add i6 ::/0,physdev:eth1\nadd m6 fd00:1:2:3::4\n")


def test_state_file_keeps_inet6_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SETS6.encode())))
    assert main(["ipset", "--state", str(state), "restore"]) == 0
    for i in range(0, 150, 4):  # holes in the grown table's buckets
        assert main(["ipset", "--state", str(state), "del", "n6", f"fd00:{i:x}::/{48 + i % 80}"]) == 0
    capsys.readouterr()
    text = objects.split(state.read_text())[0]
    assert "#ipset-buckets n6 6 " in text  # the bucket layout rides along
    assert "#ipset add m6 fd00:1:2:3::\n" in text
    objs = objects.load(text)
    clock = float(text.split()[2])
    assert objects.dump(objs, clock) == text  # load, dump: the same lines
    listing = objs.session(clock, lambda n: 0).run(["list"])
    assert main(["ipset", "--state", str(state), "list"]) == 0
    left = re.compile(r"(?<=[^ ] timeout )\d+")  # an element's seconds left: a second may pass
    assert left.sub("N", capsys.readouterr().out) == left.sub("N", listing[1])
    assert "fd00::1,ipv6-icmp:echo-request timeout " in listing[1]
    assert "::ffff:10.233.0.1,udp:53" in listing[1]


def test_save_takes_inet6_sets_but_no_rule_names_one(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    sets, rules = tmp_path / "six.ipset", tmp_path / "rules"
    sets.write_text("create v6 hash:ip family inet6 hashsize 1024 maxelem 65536\nadd v6 fd00::1\n")
    rules.write_text("*filter\nCOMMIT\n")
    assert main(["save", "--ipsets", str(sets), str(rules)]) == 0
    capsys.readouterr()
    rules.write_text("*filter\n-A INPUT -m set --match-set v6 src -j DROP\nCOMMIT\n")
    assert main(["save", "--ipsets", str(sets), str(rules)]) == 2  # libxt_set, as recorded in set.t
    assert "The protocol family of set v6 is IPv6, which is not applicable." in capsys.readouterr().err


@pytest.mark.skipif(available("ipset") is not None, reason=f"kernel not available: {available('ipset')}")
def test_inet6_state_file_loads_in_the_kernel_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SETS6.replace("timeout 99 ", "").encode())))
    assert main(["ipset", "--state", str(state), "restore"]) == 0
    capsys.readouterr()
    sets = "".join(ln[len("#ipset "):] + "\n" for ln in state.read_text().splitlines()
                   if ln.startswith("#ipset ") and " timeout " not in ln)
    with Namespace("pynfS") as ns:
        assert ns.run(["ipset", "restore"], stdin=sets).rc == 0
        for name in ("n6", "i6", "m6"):
            assert main(["ipset", "--state", str(state), "list", name]) == 0
            assert ns.run(["ipset", "list", name]).out == capsys.readouterr().out, name
        ns.run(["ipset", "destroy"])
