"""Many clients at once: the server runs them one at a time, and loses none.

The same checks as tests/cli/test_state_safety.py makes of pynf alone (iptables-legacy keeps 50
of 50 concurrent appends), with a server holding the state.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.serve.serving import Served, pynf

CLIENTS = 50


def test_50_parallel_appends_keep_50_rules(tmp_path: Path) -> None:
    state = str(tmp_path / "s.rules")

    def add(i: int) -> int:
        return pynf("iptables", "--state", state, "-A", "INPUT", "-s", f"10.233.{i}.1", "-j",
                    "ACCEPT").returncode

    with Served(tmp_path / "s.rules", idle=0.05) as srv:  # background saves run among them
        with ThreadPoolExecutor(CLIENTS) as pool:
            assert list(pool.map(add, range(CLIENTS))) == [0] * CLIENTS
        listed = pynf("iptables", "--state", state, "-S", "INPUT").stdout.decode().splitlines()[1:]
        assert srv.stop() == 0
    want = sorted(f"-A INPUT -s 10.233.{i}.1/32 -j ACCEPT" for i in range(CLIENTS))
    assert sorted(listed) == want
    alone = pynf("iptables", "--state", state, "-S", "INPUT", direct=True).stdout.decode().splitlines()
    alone = alone[1:]
    assert sorted(alone) == want
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.rules", "s.rules.lock"]


def test_mixed_writers_and_readers(tmp_path: Path) -> None:
    state = str(tmp_path / "s.rules")
    for i in range(8):
        (tmp_path / f"r{i}.rules").write_text(f"*filter\n:R{i} - [0:0]\n-A R{i} -j ACCEPT\nCOMMIT\n")
    jobs: list[tuple[tuple[str, ...], bytes | None]] = [
        (("ipset", "--state", state, "create", "s", "hash:ip"), None)]
    for i in range(16):
        jobs.append((("iptables", "--state", state, "-A", "FORWARD", "-d", f"10.233.9.{i}", "-j", "DROP"),
                     None))
        jobs.append((("iptables", "--state", state, "-S"), None))
    for i in range(8):
        jobs.append((("ipset", "--state", state, "-exist", "create", "s", "hash:ip"), None))
        jobs.append((("ipset", "--state", state, "add", "s", f"10.233.8.{i}", "-exist"), None))
        jobs.append((("restore", "--state", state, "--noflush", str(tmp_path / f"r{i}.rules")), None))
        jobs.append((("restore", "--state", state, "--noflush"),
                     f"*filter\n:P{i} - [0:0]\nCOMMIT\n".encode()))
        jobs.append((("ipset", "--state", state, "list"), None))
    with Served(tmp_path / "s.rules", idle=0.05) as srv:
        assert pynf(*jobs[0][0]).returncode == 0
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda job: pynf(*job[0], stdin=job[1]), jobs[1:]))
        failed = [(job, r.stderr) for job, r in zip(jobs[1:], results, strict=True) if r.returncode != 0]
        assert not failed
        assert srv.stop() == 0
    rules = pynf("iptables", "--state", state, "-S", direct=True).stdout.decode()
    assert all(f"-A FORWARD -d 10.233.9.{i}/32 -j DROP" in rules for i in range(16))
    assert all(f"-A R{i} -j ACCEPT" in rules and f"-N P{i}" in rules for i in range(8))
    members = pynf("ipset", "--state", state, "list", "s", direct=True).stdout.decode()
    assert all(f"10.233.8.{i}\n" in members for i in range(8))
