"""State files are as safe as iptables' own kernel state: no lost update, nothing else touched.

50 concurrent writers keep all 50 rules (iptables-legacy serialises on the
xtables lock and keeps 50 of 50); symlinks and hard links planted where a
writer works are never followed or written; read-only commands leave the file
as it was (inode, mode, bytes); what is not a regular file is refused before it
is read.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pynetfilter.cli.main import main

WRITERS = 50


def _pynf(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pynetfilter.cli.main", *argv], capture_output=True,
                          text=True, timeout=120)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    state = str(tmp_path / "s.rules")

    def add(i: int) -> subprocess.CompletedProcess[str]:
        return _pynf("iptables", "--state", state, "-A", "INPUT", "-s", f"10.233.{i}.1", "-j", "ACCEPT")

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(add, range(WRITERS)))
    assert [r.returncode for r in results] == [0] * WRITERS, [r.stderr for r in results if r.returncode]
    rules = _pynf("iptables", "--state", state, "-S", "INPUT").stdout.splitlines()[1:]
    assert sorted(rules) == sorted(f"-A INPUT -s 10.233.{i}.1/32 -j ACCEPT" for i in range(WRITERS))
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["s.rules", "s.rules.lock"]  # no temporary file left behind


def _snapshot(paths: list[Path]) -> list[tuple[str, bytes | None, int]]:
    out = []
    for p in paths:
        st = os.stat(p, follow_symlinks=False)
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else None
        out.append((str(p), data, stat.S_IMODE(st.st_mode)))
    return out


def test_planted_links_touch_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victims = []
    for name in ("passwd", "shadow", "target"):
        v = outside / name
        v.write_text(f"{name}: not ours\n")
        victims.append(v)
    work = tmp_path / "work"
    work.mkdir()
    state = work / "s.rules"
    assert main(["iptables", "--state", str(state), "-A", "INPUT", "-j", "ACCEPT"]) == 0
    # Every fixed temporary name an older pynf used, and then some, point outside.
    for i, name in enumerate(("s.rules.tmp", ".s.rules.tmp", "s.rules~", "s.rules.new")):
        (work / name).symlink_to(victims[i % 2])
    hard = work / "s.rules.hardlink"
    os.link(state, hard)  # a second name of the state file: it keeps the old text
    before_hard = hard.read_bytes()
    watched = [*victims, hard]
    before = _snapshot(watched)
    assert main(["iptables", "--state", str(state), "-A", "INPUT", "-j", "DROP"]) == 0
    assert main(["iptables", "--state", str(state), "-L"]) == 0
    assert main(["restore", "--state", str(state), "--noflush", str(state)]) == 0
    assert _snapshot(watched) == before and hard.read_bytes() == before_hard
    assert "-A INPUT -j DROP" in state.read_text()
    # A state that is itself a planted symlink: read through, written only with --follow.
    link = work / "link.rules"
    link.symlink_to(victims[2])
    capsys.readouterr()
    assert main(["iptables", "--state", str(link), "-A", "INPUT", "-j", "ACCEPT"]) == 1
    assert "is a symbolic link" in capsys.readouterr().err
    assert victims[2].read_text() == "target: not ours\n" and link.is_symlink()
    assert main(["ipset", "--state", str(link), "create", "s", "hash:ip"]) == 1
    assert victims[2].read_text() == "target: not ours\n"


def test_follow_updates_the_target_in_place(tmp_path: Path) -> None:
    real = tmp_path / "real.rules"
    link = tmp_path / "link.rules"
    assert main(["iptables", "--state", str(real), "-N", "X"]) == 0
    real.chmod(0o640)
    link.symlink_to(real.name)
    assert main(["iptables", "--state", str(link), "--follow", "-A", "X", "-j", "ACCEPT"]) == 0
    assert link.is_symlink() and "-A X -j ACCEPT" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert (tmp_path / "real.rules.lock").exists()  # the target's lock, shared with its other names


def test_mode_and_owner_kept(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    assert main(["iptables", "--state", str(state), "-N", "X"]) == 0
    state.chmod(0o604)
    if os.geteuid() == 0:
        os.chown(state, 4321, 4322)
    assert main(["iptables", "--state", str(state), "-A", "X", "-j", "ACCEPT"]) == 0
    st = state.stat()
    assert stat.S_IMODE(st.st_mode) == 0o604
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4321, 4322)


def test_new_state_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert main(["iptables", "--state", str(tmp_path / "s.rules"), "-N", "X"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.rules").stat().st_mode) == 0o640


@pytest.mark.parametrize("argv", [["iptables", "-L"], ["iptables", "-S"], ["iptables", "-L", "-n", "-v"],
                                  ["iptables", "-C", "INPUT", "-j", "ACCEPT"], ["iptables", "-S", "INPUT"],
                                  ["ipset", "list"], ["ipset", "save"], ["ipset", "test", "s", "10.233.0.1"]])
def test_read_only_commands_never_write(argv: list[str], tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    assert main(["iptables", "--state", str(state), "-A", "INPUT", "-j", "ACCEPT"]) == 0
    assert main(["ipset", "--state", str(state), "create", "s", "hash:ip"]) == 0
    state.chmod(0o444)
    before = os.stat(state)
    data = state.read_bytes()
    main([argv[0], "--state", str(state), *argv[1:]])
    after = os.stat(state)
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (before.st_ino, before.st_mtime_ns,
                                                                 before.st_mode)
    assert state.read_bytes() == data


def test_not_a_regular_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        assert main(["iptables", "--state", path, "-L"]) == 1
        assert "not a regular file" in capsys.readouterr().err
    assert main(["iptables", "--state", "/dev/zero", "-A", "INPUT", "-j", "ACCEPT"]) == 1
    assert "not a regular file" in capsys.readouterr().err


def test_failed_write_leaves_the_old_state(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "s.rules"
    assert main(["iptables", "--state", str(state), "-N", "X"]) == 0
    data = state.read_bytes()

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert main(["iptables", "--state", str(state), "-A", "X", "-j", "ACCEPT"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.undo()
    assert state.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.rules", "s.rules.lock"]


def test_mixed_writers_and_readers(tmp_path: Path) -> None:
    """iptables, ipset and restore writers interleaved with readers: every reader sees a whole
    state (never a torn file), and every writer's change is in the end state."""
    state = str(tmp_path / "s.rules")
    assert _pynf("ipset", "--state", state, "create", "s", "hash:ip").returncode == 0
    for i in range(8):
        (tmp_path / f"r{i}.rules").write_text(f"*filter\n:R{i} - [0:0]\n-A R{i} -j ACCEPT\nCOMMIT\n")
    jobs: list[tuple[str, ...]] = []
    for i in range(16):
        jobs.append(("iptables", "--state", state, "-A", "FORWARD", "-d", f"10.233.9.{i}", "-j", "DROP"))
        jobs.append(("iptables", "--state", state, "-S"))
    for i in range(8):
        jobs.append(("ipset", "--state", state, "add", "s", f"10.233.8.{i}"))
        jobs.append(("restore", "--state", state, "--noflush", str(tmp_path / f"r{i}.rules")))
        jobs.append(("ipset", "--state", state, "list", "s"))
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda argv: _pynf(*argv), jobs))
    failed = [(j, r.stderr) for j, r in zip(jobs, results, strict=True) if r.returncode != 0]
    assert not failed
    rules = _pynf("iptables", "--state", state, "-S").stdout
    assert all(f"-A FORWARD -d 10.233.9.{i}/32 -j DROP" in rules for i in range(16))
    assert all(f"-A R{i} -j ACCEPT" in rules for i in range(8))
    members = _pynf("ipset", "--state", state, "list", "s").stdout
    assert all(f"10.233.8.{i}\n" in members for i in range(8))
