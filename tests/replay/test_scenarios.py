"""Replay scenarios recorded from the kernel by tools/record_replay.py: the host's own connections
through nat OUTPUT (inferred from the rules), and inputs that cannot give a kernel-exact replay.

Each scenario's ``expect`` says which warnings its input must raise (it was recorded to have
them: a snap length, routes without the local table, a connection open before the capture, a
capture that lost packets, local connections the capture cannot tell apart) and whether the
counters must equal the kernel's ("ambiguous": they differ on the local connections' paths
only; "differs": headers were cut, anything may differ).  Where a warning says they cannot
(packets the capture does not hold), the replay must come out below the kernel's counters,
never above."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.kernel import TRAFFIC_TOOLS, available, table_blocks

HERE = Path(__file__).resolve().parent / "scenarios"
SCENARIOS = sorted(p.parent.name for p in HERE.glob("*/scenario.json"))
COUNTED = re.compile(r"^\[(\d+):(\d+)\] (.*)$|^(:\S+ \S+) \[(\d+):(\d+)\]$")


def capture(folder: Path) -> Path:
    return next(folder.glob("capture.pcap*"))


def run(name: str, addrs: str | None = None) -> tuple[object, str]:
    from pynetfilter.replay.engine import replay

    folder = HERE / name
    out = io.StringIO()
    rp = replay((folder / "rules").read_text(), addrs or (folder / "addrs.json").read_text(),
                (folder / "routes.json").read_text(), str(capture(folder)), out=out)
    return rp, out.getvalue()


def counters(save: str) -> dict[tuple[str, str], tuple[int, int]]:
    out = {}
    for table, block in table_blocks(save).items():
        for line in block.splitlines():
            m = COUNTED.match(line)
            if m:
                key = m.group(3) or m.group(4)
                out[(table, key)] = (int(m.group(1) or m.group(5)), int(m.group(2) or m.group(6)))
    return out


def test_scenarios_are_recorded() -> None:
    assert len(SCENARIOS) >= 7
    for name in SCENARIOS:
        for f in ("rules", "addrs.json", "routes.json", "kernel-save.txt"):
            assert (HERE / name / f).is_file(), f"{name}/{f} missing: run tools/record_replay.py {name}"
        assert capture(HERE / name).is_file()


@pytest.mark.parametrize("name", SCENARIOS)
def test_replay_against_the_kernel(name: str) -> None:
    spec = json.loads((HERE / name / "scenario.json").read_text())["expect"]
    rp, _ = run(name)
    assert sorted(rp.warnings.found) == sorted(spec["warnings"])  # type: ignore[attr-defined]
    kernel = counters((HERE / name / "kernel-save.txt").read_text())
    ours = counters(rp.engine.ruleset.save(counters=True))  # type: ignore[attr-defined]
    assert kernel.keys() == ours.keys()
    diff = {k: (kernel[k], ours[k]) for k in kernel if kernel[k] != ours[k]}
    if spec["parity"] == "ambiguous":  # a rival explanation replayed: only the local paths differ
        assert diff and all(t == "nat" or rule.startswith("-A OUTPUT") for t, rule in diff), diff
    elif spec["parity"] == "differs":  # headers cut: anything may differ, and it does
        assert diff
    elif spec["parity"]:
        assert not diff, f"{name}: kernel/replay {diff}"
    else:  # the kernel saw packets the capture does not hold: never more than the kernel
        assert any(kernel[k] != ours[k] for k in kernel)
        assert all(ours[k][0] <= kernel[k][0] for k in kernel), name


def test_local_clusterip_connections_are_inferred() -> None:
    """Each connection the router opened to a ClusterIP is replayed as its socket sent it: to the
    ClusterIP, from the address the routing picks, through the statistic branch the kernel took."""
    _, text = run("local-clusterip")
    inferred = [line for line in text.splitlines() if "socket sent" in line]
    assert len(inferred) == 12
    assert all("> 10.233.100.10:80 [S]" in x or "> 10.233.100.53:53" in x for x in inferred)
    assert all(" 10.233.1.1:" in x.split("socket sent")[1] for x in inferred)  # the rc address
    # The same packets could have come from a socket connected straight to the endpoint.
    assert all("AMBIGUOUS: or sent as captured" in x for x in inferred)


def test_local_redirect_is_inferred_without_ambiguity() -> None:
    _, text = run("local-redirect")
    inferred = [line for line in text.splitlines() if "socket sent" in line]
    assert len(inferred) == 5 and not any("AMBIGUOUS" in x for x in inferred)
    assert all(" lo " in x and "> 10.233.2.2:" in x.split("socket sent")[1] for x in inferred)


def test_derived_local_table_is_the_kernels() -> None:
    """routes-main was taken without the local table; the pcapng scenario (same lab) with it."""
    from pynetfilter.replay.inputs import local_routes

    derived = local_routes((HERE / "routes-main" / "addrs.json").read_text())
    real = [r for r in json.loads((HERE / "pcapng" / "routes.json").read_text()) if r.get("table") == "local"]
    strip = [{k: v for k, v in r.items() if k != "flags"} for r in real]
    key = lambda r: (r["dst"], r["type"])  # noqa: E731
    assert sorted(derived, key=key) == sorted(strip, key=key)


def test_unknown_interfaces_are_skipped_and_named() -> None:
    from pynetfilter.netfilter.host import Host
    from pynetfilter.replay.engine import ReplayError, read_frames

    addrs = [i for i in json.loads((HERE / "pcapng" / "addrs.json").read_text()) if i["ifname"] != "rs"]
    rp, text = run("pcapng", json.dumps(addrs))
    assert "iface" in rp.warnings  # type: ignore[operator]
    assert not any(line.split()[2] == "rs" for line in text.splitlines())  # the interface column
    host = Host.from_iproute(json.dumps(addrs), (HERE / "pcapng" / "routes.json").read_text())
    with pytest.raises(ReplayError, match="interface index"):  # without a warnings list: refused
        read_frames(str(capture(HERE / "pcapng")), host)
    # Named interfaces (pcapng of Ethernet frames): by name.
    eth = json.loads((HERE / "pcapng-ethernet" / "addrs.json").read_text())
    addrs = [i for i in eth if i["ifname"] != "rs"]
    rp, text = run("pcapng-ethernet", json.dumps(addrs))
    assert rp.warnings.found["iface"].extra == ", rs"  # type: ignore[attr-defined]
    assert not any(line.split()[2] == "rs" for line in text.splitlines())


@pytest.mark.parametrize(("name", "strict", "status"), [("snaplen", True, 1), ("snaplen", False, 0),
                                                        ("pcapng", True, 0)])
def test_cli_strict(name: str, strict: bool, status: int) -> None:
    folder = HERE / name
    argv = [sys.executable, "-m", "pynetfilter.cli.main", "replay", str(folder / "rules"),
            str(capture(folder)),
            "--addrs", str(folder / "addrs.json"), "--routes", str(folder / "routes.json"), "-q"]
    p = subprocess.run(argv + (["--strict"] if strict else []), capture_output=True, text=True)
    assert p.returncode == status, p.stderr
    warn = [line for line in p.stderr.splitlines() if line.startswith("pynf: warning:")]
    assert len(warn) == (1 if name == "snaplen" else 0)  # once, however many packets
    if warn:
        assert "snap length: 16 packets" in warn[0] and "byte counters stay exact" in warn[0]


REASON = available(*TRAFFIC_TOOLS, "dumpcap")


@pytest.mark.skipif(REASON is not None, reason=f"kernel not available: {REASON}")
def test_recordings_reproduce_on_this_kernel() -> None:
    tool = HERE.parent.parent.parent / "tools" / "record_replay.py"
    p = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]



def _replay_with(rules: str) -> tuple[object, list[str]]:
    from pynetfilter.replay.engine import replay

    folder = HERE / "local-clusterip"
    out = io.StringIO()
    rp = replay(rules, (folder / "addrs.json").read_text(), (folder / "routes.json").read_text(),
                str(capture(folder)), out=out)
    return rp, out.getvalue().splitlines()


def test_rules_that_rule_out_a_direct_connection_leave_no_ambiguity() -> None:
    """With nat OUTPUT DNATing the endpoint 10.233.2.13 itself elsewhere, a socket connected
    straight to it would not leave as captured: the ClusterIP is the only explanation."""
    rules = (HERE / "local-clusterip" / "rules").read_text().replace(
        "-A OUTPUT -m comment", "-A OUTPUT -d 10.233.2.13/32 -j DNAT --to-destination 10.233.2.99\n"
        "-A OUTPUT -m comment", 1)
    _, lines = _replay_with(rules)
    to13 = [x for x in lines if "> 10.233.2.13:8080 [S]" in x]
    assert to13 and all("socket sent" in x and "AMBIGUOUS" not in x for x in to13)


def test_unexplained_local_packets_are_named() -> None:
    """Rules under which nothing the host sends leaves as captured (a SNAT of everything to
    10.233.2.13) are not the ones the capture was taken with: said, not guessed."""
    rules = (HERE / "local-clusterip" / "rules").read_text().replace(
        "-A POSTROUTING -m comment", "-A POSTROUTING -d 10.233.2.13/32 -j SNAT --to-source 10.233.2.77\n"
        "-A POSTROUTING -m comment", 1)
    rp, lines = _replay_with(rules)
    assert "unexplained" in rp.warnings  # type: ignore[operator]
    flagged = [x for x in lines if "UNEXPLAINED" in x]
    assert flagged and all("> 10.233.2.13:8080 [" in x for x in flagged)  # the SYNs, and what follows
