"""Nothing ``pynf serve`` acknowledged is lost: not by kill -9, not by a torn journal line.

A command's change is in the journal (fsync'ed) before the client hears back;
readers without a server replay it; a stale journal (one the state text already
holds) or a torn last line is ignored; a server starting after a crash folds the
journal into the text.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pynetfilter.serve import journal
from tests.serve.serving import Served, pynf


def _rules(state: Path) -> list[str]:
    got = pynf("iptables", "--state", str(state), "-S", "INPUT", direct=True)
    assert got.returncode == 0, got.stderr
    return [r for r in got.stdout.decode().splitlines() if r.startswith("-A")]


def _rule(i: int) -> str:
    return f"-A INPUT -s 10.2.{i // 250}.{i % 250 + 1}/32 -j ACCEPT"


@pytest.mark.parametrize("idle", [0, 1000], ids=["saving-all-along", "all-in-the-journal"])
def test_kill_9_mid_stream_loses_no_acknowledged_change(idle: float, tmp_path: Path) -> None:
    """Commands stream to a server that is killed in the middle (while it saves the text in the
    background after every command, or having saved nothing); the stream goes on without it, and
    a new server started afterwards folds what is left into the text."""
    state = tmp_path / "s.rules"
    total = 60
    status: dict[int, int] = {}
    acked_before_kill = threading.Event()

    def stream() -> None:
        for i in range(total):
            got = pynf("iptables", "--state", str(state), *_rule(i).split()[:-2], "-j", "ACCEPT")
            status[i] = got.returncode
            if got.returncode not in (0, 1):
                return
            if sum(1 for s in status.values() if s == 0) >= 20:
                acked_before_kill.set()

    with Served(state, idle=idle) as srv:
        worker = threading.Thread(target=stream)
        worker.start()
        try:
            assert acked_before_kill.wait(120)
            srv.kill()
        finally:
            worker.join(300)
    assert not worker.is_alive() and len(status) == total
    rules = _rules(state)
    for i, rc in status.items():
        # Acknowledged: there exactly once.  The one in flight at the kill may be there or not.
        assert rules.count(_rule(i)) == 1 if rc == 0 else rules.count(_rule(i)) <= 1, (i, rc)
    assert sum(1 for rc in status.values() if rc != 0) <= 1
    assert len(rules) >= total - 1
    with Served(state) as srv:  # a new server folds whatever journal is left into the text
        assert srv.stop() == 0
    assert _rules(state) == rules
    assert not Path(f"{state}.journal").exists() and not Path(f"{state}.sock").exists()


def _crashed_with(state: Path, n: int) -> list[str]:
    """A server that took *n* commands (and wrote no text: idle 1000), then was killed."""
    assert pynf("iptables", "--state", str(state), "-N", "BASE", direct=True).returncode == 0
    with Served(state, idle=1000) as srv:
        for i in range(n):
            assert pynf("iptables", "--state", str(state), *_rule(i).split()).returncode == 0
        srv.kill()
    return [_rule(i) for i in range(n)]


def test_readers_replay_the_journal(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    want = _crashed_with(state, 5)
    assert "10.2." not in state.read_text()  # the text does not have them ...
    assert _rules(state) == want  # ... every reader does
    got = pynf("iptables", "--state", str(state), "-L", "INPUT", "-n", direct=True)
    assert got.stdout.decode().count("10.2.0.") == 5
    # A writer alone folds the journal into the text and removes it.
    assert pynf("iptables", "--state", str(state), "-A", "INPUT", "-j", "DROP", direct=True).returncode == 0
    assert not Path(f"{state}.journal").exists()
    assert _rules(state) == [*want, "-A INPUT -j DROP"]


def test_torn_and_corrupt_last_lines_are_ignored(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    want = _crashed_with(state, 3)
    jpath = Path(f"{state}.journal")
    whole = jpath.read_bytes()
    bad_crc = b"00000000" + journal.encode({"seq": 4, "iptables": ["-A", "INPUT", "-j", "REJECT"]})[8:]
    torn = journal.encode({"seq": 5, "iptables": ["-A", "INPUT", "-j", "DROP"]})[:-9]
    after = journal.encode({"seq": 5, "iptables": ["-A", "INPUT", "-j", "DROP"]})
    for tail in (torn, bad_crc, bad_crc + after):  # nothing after a bad line counts either
        jpath.write_bytes(whole + tail)
        assert _rules(state) == want, tail
    with Served(state) as srv:
        assert pynf("iptables", "--state", str(state), "-A", "INPUT", "-j", "LOG").returncode == 0
        assert srv.stop() == 0
    assert _rules(state) == [*want, "-A INPUT -j LOG"]


def test_a_stale_journal_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    want = _crashed_with(state, 3)
    jpath = Path(f"{state}.journal")
    old = jpath.read_bytes()
    assert pynf("iptables", "--state", str(state), "-N", "LATER", direct=True).returncode == 0
    assert not jpath.exists()
    jpath.write_bytes(old)  # the journal the text now holds, back again (a crash before its removal)
    assert _rules(state) == want  # applied once, not twice


def test_checkpoint_says_which_records_a_new_text_holds(tmp_path: Path) -> None:
    """The background save writes the checkpoint before its text replaces the old: a reader
    of the new text replays only the records after it."""
    state = tmp_path / "s.rules"
    real = str(state)
    s1 = b"*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"
    state.write_bytes(s1)
    records = [journal.encode({"seq": i, "iptables": ["-A", "INPUT", "-s", f"10.3.0.{i}", "-j", "ACCEPT"]})
               for i in (1, 2, 3)]
    writer = journal.Writer(real, journal.digest(s1), records)
    writer.close()
    assert [r["seq"] for r in journal.read(real)[1]] == [1, 2, 3]
    s2 = b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.3.0.1/32 -j ACCEPT\n" \
         b"-A INPUT -s 10.3.0.2/32 -j ACCEPT\nCOMMIT\n"
    journal.write_ckpt(real, writer.id, 2, journal.digest(s2))
    assert [r["seq"] for r in journal.read(real)[1]] == [1, 2, 3]  # still the old text: all of it
    state.write_bytes(s2)
    assert [r["seq"] for r in journal.read(real)[1]] == [3]
    assert _rules(state) == [f"-A INPUT -s 10.3.0.{i}/32 -j ACCEPT" for i in (1, 2, 3)]
    state.write_bytes(s2 + b"# another writer's text\n")
    assert journal.read(real)[1] == []  # neither base nor checkpoint: stale


def test_background_saves_keep_up(tmp_path: Path) -> None:
    """With idle 0 the text is rewritten after each burst while the journal only ever holds
    what the text does not (and is gone once all is written)."""
    state = tmp_path / "s.rules"
    with Served(state, idle=0) as srv:
        for i in range(10):
            assert pynf("iptables", "--state", str(state), *_rule(i).split()).returncode == 0
        deadline = time.monotonic() + 60
        while Path(f"{state}.journal").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"{state}.journal").exists()
        assert [r for r in state.read_text().splitlines() if "10.2." in r] == \
            [f"[0:0] {_rule(i)}" for i in range(10)]
        assert srv.stop() == 0
