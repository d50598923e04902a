"""The state lock waits as iptables 1.8.9 waits for a held xtables lock.

Cases recorded by tools/record_lock.py (iptables-legacy with the lock held):
no ``-w``, ``-w`` and ``-w 0`` wait forever; ``-w N`` gives up after N seconds
with exit status 4; ``-W`` is ignored with a warning, and refused without
``-w``.  Here the same options go to ``pynf iptables`` / ``pynf restore``
while the test holds the state's lock.  One deliberate difference: pynf's
read-only commands take no lock (the state is replaced by rename), so a
reader never waits.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest

from pynetfilter.cli.main import main

CASES = json.loads((Path(__file__).parent / "cases" / "xtables_lock.json").read_text())["cases"]
WRITERS = [c for c in CASES if c["command"][0] != "-S" and c["command"][:2] != ["-w", "1"]]


class Held:
    """The state's lock, held by someone else (flock on another open file description)."""

    def __init__(self, state: Path) -> None:
        self.fd = os.open(f"{state}.lock", os.O_RDONLY | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _argv(case: dict, state: Path, tmp: Path) -> list[str]:
    if case["tool"] == "iptables":
        return ["iptables", "--state", str(state), *case["wait"], *case["command"]]
    src = tmp / "in.rules"
    src.write_text("*filter\nCOMMIT\n")
    return ["restore", "--state", str(state), str(src), *case["command"], *case["wait"]]


def _ids(c: dict) -> str:
    return f"{c['tool']}[{' '.join(c['wait']) or 'no -w'}]"


@pytest.mark.parametrize("case", WRITERS, ids=[_ids(c) for c in WRITERS])
def test_writer_waits_as_iptables(case: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "s.rules"
    held = Held(state)
    result: list[int] = []
    start = time.monotonic()
    worker = threading.Thread(target=lambda: result.append(main(_argv(case, state, tmp_path))))
    worker.start()
    try:
        if case["rc"] is None:  # the kernel's iptables was still waiting at the deadline
            worker.join(0.5)
            assert worker.is_alive(), "gave up waiting where iptables waits forever"
            assert not state.exists()
            held.release()
            worker.join(10)
            assert result == [0]
            assert state.exists()
            return
        worker.join(case["seconds"] + 5)
        elapsed = time.monotonic() - start
        assert result == [case["rc"]]
        err = capsys.readouterr().err
        if "Ignoring deprecated --wait-interval option." in case["stderr"]:
            assert "Ignoring deprecated --wait-interval option." in err
        if case["rc"] == 4:
            assert case["seconds"] - 0.1 <= elapsed < case["seconds"] + 1.5
            assert f"Another app is currently holding the xtables lock. Stopped waiting after " \
                   f"{case['seconds']}s." in err
            assert not state.exists()
        else:  # refused before the lock is asked for
            assert elapsed < 1
            last = [ln for ln in case["stderr"].splitlines() if "Try `" not in ln][-1]
            key = last.split(": ", 1)[-1] if "(legacy)" in last else last
            assert key in err
    finally:
        held.release()
        worker.join(10)


def test_readers_never_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "s.rules"
    assert main(["iptables", "--state", str(state), "-A", "INPUT", "-j", "ACCEPT"]) == 0
    capsys.readouterr()
    held = Held(state)
    try:
        start = time.monotonic()
        assert main(["iptables", "--state", str(state), "-S", "INPUT"]) == 0
        assert main(["iptables", "--state", str(state), "-w", "1", "-L", "-n"]) == 0
        assert main(["iptables", "--state", str(state), "-C", "INPUT", "-j", "ACCEPT"]) == 0
        assert time.monotonic() - start < 1
        assert "-A INPUT -j ACCEPT" in capsys.readouterr().out
    finally:
        held.release()
    # iptables itself waits here (recorded): the difference is deliberate.
    assert any(c["command"] == ["-S"] and c["rc"] is None for c in CASES)


def test_lock_file_symlink_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    state = tmp_path / "s.rules"
    (tmp_path / "s.rules.lock").symlink_to(victim)
    assert main(["iptables", "--state", str(state), "-A", "INPUT", "-j", "ACCEPT"]) == 1
    assert "can't open lock file" in capsys.readouterr().err
    assert victim.read_text() == "keep\n" and not state.exists()
