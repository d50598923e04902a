"""The pynf command: the README's main job, errors as one line with iptables' exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pynetfilter.cli.main import main
from tools.kernel import Namespace, available, strip_comments

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kube-node.rules"


def _body(text: str) -> str:
    return strip_comments(text)


def test_example_round_trips_byte_for_byte(capsys: pytest.CaptureFixture[str]) -> None:
    # `pynf save` is iptables-restore on a fresh host, then iptables-save: the kernel lists the
    # tables newest first, so a dump comes back with its tables in reverse (tests/restore/sequences).
    from tools.kernel import table_blocks

    assert main(["save", "-c", str(EXAMPLE)]) == 0
    want = "".join(reversed(table_blocks(EXAMPLE.read_text()).values()))
    assert _body(capsys.readouterr().out) == want


@pytest.mark.skipif(available() is not None, reason=f"kernel not available: {available()}")
def test_example_is_what_the_kernel_saves(capsys: pytest.CaptureFixture[str]) -> None:
    with Namespace("pynf-cli") as ns:
        r = ns.restore(EXAMPLE.read_text(), "--counters")
        assert r.rc == 0, r.err
        kernel = ns.save(counters=True)
    from tools.kernel import table_blocks

    assert main(["save", "-c", str(EXAMPLE)]) == 0
    assert table_blocks(capsys.readouterr().out) == table_blocks(kernel)


def test_bad_input_is_one_line_with_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text("*filter\n-A INPUT -p tcp --dprot 22 -j ACCEPT\nCOMMIT\n")
    p = subprocess.run([sys.executable, "-m", "pynetfilter.cli.main", "save", str(bad)],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1
    assert "line 2" in p.stderr and "--dprot" in p.stderr


def test_iptables_against_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "fw.rules"
    assert main(["iptables", "--state", str(state), "-t", "nat", "-N", "SVC"]) == 0
    assert main(["iptables", "--state", str(state), "-t", "nat", "-A", "SVC", "-p", "tcp",
                 "-j", "DNAT", "--to", "10.233.1.5:8080"]) == 0
    capsys.readouterr()
    assert main(["iptables", "--state", str(state), "-t", "nat", "-S", "SVC"]) == 0
    assert capsys.readouterr().out == "-N SVC\n-A SVC -p tcp -j DNAT --to-destination 10.233.1.5:8080\n"
    # The kernel refuses DNAT outside the nat table: status 1, state unchanged.
    before = state.read_text()
    assert main(["iptables", "--state", str(state), "-A", "INPUT", "-j", "DNAT", "--to", "10.233.1.5"]) == 1
    assert "DNAT" in capsys.readouterr().err
    assert _body(state.read_text()) == _body(before)


def test_restore_onto_state(tmp_path: Path) -> None:
    state = tmp_path / "fw.rules"
    inp = tmp_path / "in.rules"
    inp.write_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n")
    assert main(["restore", "--state", str(state), str(inp)]) == 0
    inp.write_text("*filter\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n")
    assert main(["restore", "--state", str(state), "--noflush", str(inp)]) == 0
    text = state.read_text()
    assert ":INPUT DROP" in text
    assert "-A INPUT -i lo -j ACCEPT" in text and "--dport 22 -j ACCEPT" in text


def test_replay_errors_name_the_file(tmp_path: Path) -> None:
    scn = ROOT / "tests" / "scenarios" / "filter-accept"
    bad = tmp_path / "bad.rules"
    bad.write_text("*filter\n-A INPUT --bogus\nCOMMIT\n")
    base = [sys.executable, "-m", "pynetfilter.cli.main", "replay", "--addrs", str(scn / "addrs.json"),
            "--routes", str(scn / "routes.json")]
    p = subprocess.run([*base, str(bad), str(scn / "capture.pcap")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith(f"pynf: {bad}: line 2: ") and p.stderr.count("\n") == 1
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 30)
    p = subprocess.run([*base, str(scn / "rules"), str(junk)], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and str(junk) in p.stderr


def test_trace_errors_are_one_line() -> None:
    scn = ROOT / "tests" / "scenarios" / "kube-service-tcp"
    base = [sys.executable, "-m", "pynetfilter.cli.main", "trace", str(scn / "rules"), "--addrs",
            str(scn / "addrs.json"), "--routes", str(scn / "routes.json")]
    for words, status, text in (
        (["-p", "tcp", "-i", "rc", "-s", "10.233.1.2", "-d", "10.233.100.10", "--dport", "abc"], 2, '"abc"'),
        (["-p", "tcp", "-s", "10.233.1.2", "-d", "10.233.100.10"], 2, "-i IFACE"),
        (["-p", "tcp", "-i", "nosuch", "-s", "10.233.1.2", "-d", "10.233.100.10"], 2, '"nosuch"'),
    ):
        p = subprocess.run([*base, *words], capture_output=True, text=True)
        assert p.returncode == status, p.stderr
        assert p.stderr.count("\n") == 1 and text in p.stderr and str(scn / "rules") not in p.stderr


def test_trace_kube_service_branches(capsys: pytest.CaptureFixture[str]) -> None:
    scn = ROOT / "tests" / "scenarios" / "kube-service-tcp"
    assert main(["trace", str(scn / "rules"), "--addrs", str(scn / "addrs.json"), "--routes",
                 str(scn / "routes.json"), "-p", "tcp", "-s", "10.233.1.2", "--sport", "40000", "-d",
                 "10.233.100.10", "--dport", "80", "-i", "rc", "--syn"]) == 0
    out = capsys.readouterr().out
    # Three endpoints, each reached with the kernel's exact probability (p stored as round(p * 2^31)).
    assert "branch 1 of 3: probability 0.3333333335 (715827883/2147483648)" in out
    assert out.count("probability 0.3333333333 (1431655765/4294967296)") == 2
    for endpoint in ("10.233.2.11", "10.233.2.12", "10.233.2.13"):
        assert f"DNAT 10.233.100.10:80 -> {endpoint}:8080" in out
    assert "TRACE: nat:KUBE-SERVICES:rule:1 IN=rc" in out
