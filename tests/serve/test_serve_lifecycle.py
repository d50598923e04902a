"""``pynf serve`` starts, refuses a second server, replaces a stale socket, holds the lock while it
runs (so a writer that knows nothing of servers waits, as iptables waits for xtables.lock), and
stops leaving only the state text behind."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from pynetfilter.cli.main import main
from tests.serve.serving import PYNF, Served, environ, hello, pynf


def _rules(state: Path) -> list[str]:
    return pynf("iptables", "--state", str(state), "-S", direct=True).stdout.decode().splitlines()


def test_start_serve_stop(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with Served(state) as srv:
        sock = Path(f"{state}.sock")
        assert stat.S_ISSOCK(sock.lstat().st_mode) and stat.S_IMODE(sock.lstat().st_mode) == 0o600
        for i in range(3):
            assert pynf("iptables", "--state", str(state), "-A", "INPUT", "-s", f"10.1.0.{i}", "-j",
                        "ACCEPT").returncode == 0
        assert srv.stop() == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.rules", "s.rules.lock"]
    assert [r for r in _rules(state) if r.startswith("-A")] == \
        [f"-A INPUT -s 10.1.0.{i}/32 -j ACCEPT" for i in range(3)]


def test_sigint_stops_it_too(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with Served(state, idle=1000) as srv:
        assert pynf("iptables", "--state", str(state), "-N", "X").returncode == 0
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGINT)
        assert srv.proc.wait(30) == 0
    assert "-N X" in _rules(state) and not Path(f"{state}.journal").exists()


def test_a_second_server_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with Served(state) as srv:
        second = subprocess.run([*PYNF, "serve", "--state", str(state)], capture_output=True, text=True,
                                env=environ(), timeout=60)
        assert second.returncode == 1
        assert f"a server is already running (pid {srv.pid}" in second.stderr
        assert hello(state) is not None  # the first one still answers
        assert pynf("iptables", "--state", str(state), "-N", "X").returncode == 0


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(f"{state}.sock")  # a socket nobody listens on: what kill -9 leaves behind
    dead.close()
    start = time.monotonic()
    assert pynf("iptables", "--state", str(state), "-N", "X").returncode == 0  # runs alone, at once
    assert time.monotonic() - start < 30
    with Served(state) as srv:
        assert pynf("iptables", "--state", str(state), "-A", "X", "-j", "ACCEPT").returncode == 0
        assert srv.stop() == 0
    assert "-A X -j ACCEPT" in _rules(state)


def test_something_else_at_the_socket_name_is_kept(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    Path(f"{state}.sock").write_text("not ours\n")
    got = subprocess.run([*PYNF, "serve", "--state", str(state)], capture_output=True, text=True,
                         env=environ(), timeout=60)
    assert got.returncode == 1 and "not a socket: refusing to replace it" in got.stderr
    assert Path(f"{state}.sock").read_text() == "not ours\n"


@pytest.mark.parametrize("writer", ["iptables", "restore"])
def test_unaware_writer_waits_as_for_xtables_lock(writer: str, tmp_path: Path) -> None:
    """The server holds the lock: a writer that does not ask it waits, and with -w 1 gives up
    after a second with iptables' status 4, changing nothing."""
    state = tmp_path / "s.rules"
    rules = tmp_path / "in.rules"
    rules.write_text("*filter\n:UNAWARE - [0:0]\nCOMMIT\n")
    argv = ["iptables", "--state", str(state), "-w", "1", "-N", "UNAWARE"] if writer == "iptables" else \
        ["restore", "--state", str(state), "-w", "1", "--noflush", str(rules)]
    with Served(state) as srv:
        assert pynf("iptables", "--state", str(state), "-N", "SERVED").returncode == 0
        start = time.monotonic()
        got = pynf(*argv, direct=True)
        elapsed = time.monotonic() - start
        assert got.returncode == 4, got.stderr
        assert b"Another app is currently holding the xtables lock. Stopped waiting after 1s." in got.stderr
        assert 0.9 <= elapsed < 20
        # A reader needs no lock: it sees the server's change through the journal.
        assert "-N SERVED" in _rules(state)
        assert srv.stop() == 0
    assert "-N SERVED" in _rules(state) and "-N UNAWARE" not in _rules(state)


def test_unaware_writer_goes_after_the_server(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with Served(state) as srv:
        assert pynf("iptables", "--state", str(state), "-N", "SERVED").returncode == 0
        waiting = subprocess.Popen([*PYNF, "iptables", "--state", str(state), "-N", "AFTER"],
                                   env=environ(direct=True), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                waiting.wait(1.5)  # iptables without -w waits for the lock as long as it takes
            assert srv.stop() == 0
            assert waiting.wait(60) == 0
        finally:
            waiting.kill()
            waiting.wait()
            for stream in (waiting.stdout, waiting.stderr):
                assert stream is not None
                stream.close()
    assert {"-N SERVED", "-N AFTER"} <= set(_rules(state))


def test_symlinked_state(tmp_path: Path) -> None:
    real = tmp_path / "real.rules"
    link = tmp_path / "link.rules"
    assert pynf("iptables", "--state", str(real), "-N", "FIRST").returncode == 0
    link.symlink_to(real.name)
    refused = subprocess.run([*PYNF, "serve", "--state", str(link)], capture_output=True, text=True,
                             env=environ(), timeout=60)
    assert refused.returncode == 1 and "is a symbolic link" in refused.stderr
    with Served(link, "--follow", idle=1000) as srv:
        assert pynf("iptables", "--state", str(link), "--follow", "-N", "BY-LINK").returncode == 0
        assert pynf("iptables", "--state", str(real), "-N", "BY-TARGET").returncode == 0
        # Without --follow a write through the link is refused, by the server as by pynf alone.
        want = pynf("iptables", "--state", str(link), "-N", "NO-FOLLOW", direct=True)
        got = pynf("iptables", "--state", str(link), "-N", "NO-FOLLOW")
        assert (got.returncode, got.stderr) == (want.returncode, want.stderr)
        assert got.returncode == 1 and b"is a symbolic link" in got.stderr
        assert "BY-" not in real.read_text()  # all of it is in the journal so far
        assert srv.stop() == 0
    assert link.is_symlink() and {"-N BY-LINK", "-N BY-TARGET"} <= set(_rules(real))


def test_long_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    state = deep / "s.rules"
    assert len(os.fsencode(f"{state}.sock")) > 108  # too long for sockaddr_un as it is
    with Served(state) as srv:
        assert pynf("iptables", "--state", str(state), "-N", "X").returncode == 0
        assert srv.stop() == 0
    assert "-N X" in _rules(state)


def test_in_process_calls_use_the_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "s.rules"
    with Served(state, idle=1000) as srv:
        assert main(["iptables", "--state", str(state), "-N", "X"]) == 0
        assert main(["iptables", "--state", str(state), "-S", "X"]) == 0
        assert capsys.readouterr().out == "-N X\n"
        assert main(["iptables", "--state", str(state), "-A", "NOPE", "-j", "ACCEPT"]) == 1
        assert 'No chain/target/match by that name' in capsys.readouterr().err
        assert not state.exists() and Path(f"{state}.journal").exists()  # the server ran them
        assert srv.stop() == 0
    assert ":X - [0:0]" in state.read_text()
