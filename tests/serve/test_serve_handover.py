"""The client's side of the protocol, against a scripted server: a command waiting for the lock
hands itself to a server that appears (its stdin and what it printed already included), a
command reading stdin sends it when asked, and every way a server can fail is handled: before
the hello the command runs alone, after it the client says the outcome is unknown."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pynetfilter.serve import protocol
from tests.serve.serving import PYNF, Served, environ, pynf

WARNING = "Ignoring deprecated --wait-interval option.\n"
Handler = Callable[[socket.socket, list[dict[str, object]]], None]


@contextmanager
def fake_server(state: Path, handler: Handler) -> Iterator[list[dict[str, object]]]:
    """A server at *state*'s socket running *handler* on each connection; yields the requests seen."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(protocol.socket_path(str(state)))
    listener.listen(16)
    listener.settimeout(0.1)
    seen: list[dict[str, object]] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            # (OSError: a liveness check that hung up at once)
            with conn, contextlib.suppress(OSError, protocol.ProtocolError):
                conn.settimeout(30)
                handler(conn, seen)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def hello_then(reply: Callable[[dict[str, object], bytes], tuple[dict[str, object], bytes] | None],
               version: int = protocol.VERSION) -> Handler:
    def handler(conn: socket.socket, seen: list[dict[str, object]]) -> None:
        protocol.send(conn, {"pynf-serve": version, "pid": os.getpid()})
        got = protocol.recv(conn)
        if got is None:
            return
        seen.append({**got[0], "body": got[1]})
        answer = reply(*got)
        if answer is not None:
            protocol.send(conn, *answer)
    return handler


def _held(state: Path) -> int:
    fd = os.open(f"{state}.lock", os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@contextmanager
def waiting(argv: list[str], stdin: bytes = b"") -> Iterator[subprocess.Popen[bytes]]:
    """A pynf process waiting for the lock (the test holds it); killed at the end if still there."""
    proc = subprocess.Popen([*PYNF, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environ())
    try:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        proc.stdin = None
        time.sleep(1.0)
        assert proc.poll() is None, "the command did not wait for the lock"
        yield proc
    finally:
        proc.kill()
        proc.communicate()


def test_a_waiting_writer_hands_over_to_a_new_server(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    argv = ["iptables", "--state", str(state), "-w", "-W", "10", "-A", "INPUT", "-j", "ACCEPT"]
    fd = _held(state)
    answer = ({"status": 0, "out": [[2, len(WARNING)], [1, 5]]}, (WARNING + "done\n").encode())
    try:
        with waiting(argv) as proc, fake_server(state, hello_then(lambda head, body: answer)) as seen:
            out, err = proc.communicate(timeout=60)  # it printed the warning, then waited
    finally:
        os.close(fd)
    assert (proc.returncode, out, err) == (0, b"done\n", WARNING.encode())  # the warning once
    assert [(r["argv"], r["stdin"]) for r in seen] == [(argv, False)]
    assert not state.exists()  # the server's to do: nothing ran here


def test_a_waiting_restore_hands_over_its_stdin(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    rules = b"*filter\n:HANDED - [0:0]\nCOMMIT\n"
    fd = _held(state)
    try:
        with waiting(["restore", "--state", str(state), "--noflush"], rules) as proc, \
                fake_server(state, hello_then(lambda head, body: ({"status": 0, "out": []}, b""))) as seen:
            out, err = proc.communicate(timeout=60)
    finally:
        os.close(fd)
    assert (proc.returncode, out, err) == (0, b"", b"")
    assert [(r["stdin"], r["body"]) for r in seen] == [(True, rules)]


def test_stdin_is_sent_when_the_server_asks(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    rules = b"*filter\n:ASKED - [0:0]\nCOMMIT\n"

    def reply(head: dict[str, object], body: bytes) -> tuple[dict[str, object], bytes]:
        if not head["stdin"]:
            return {"need": "stdin"}, b""
        return {"status": 0, "out": [[1, len(body)]]}, body

    with fake_server(state, hello_then(reply)) as seen:
        got = pynf("restore", "--state", str(state), stdin=rules)
    assert (got.returncode, got.stdout, got.stderr) == (0, rules, b"")
    assert [(r["stdin"], r["body"]) for r in seen] == [(False, b""), (True, rules)]


def test_another_protocol_version_is_one_error_line(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with fake_server(state, hello_then(lambda head, body: None, version=99)):
        got = pynf("iptables", "--state", str(state), "-N", "X")
    assert got.returncode == 1
    assert got.stderr.decode().splitlines() == [
        f"pynf: {state}.sock: a server speaking protocol 99 answered (this pynf speaks 1)"]
    assert not state.exists()


def test_a_server_error_is_one_line(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with fake_server(state, hello_then(lambda head, body: ({"error": "s.rules: it broke"}, b""))):
        got = pynf("iptables", "--state", str(state), "-N", "X")
    assert (got.returncode, got.stdout, got.stderr) == (1, b"", b"pynf: s.rules: it broke\n")


def test_gone_after_the_hello_is_an_unknown_outcome(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with fake_server(state, hello_then(lambda head, body: None)):  # takes the command, never answers
        got = pynf("iptables", "--state", str(state), "-N", "X")
    assert got.returncode == 1
    assert b"the server stopped before answering: the command may or may not have taken effect" in got.stderr
    assert not state.exists()  # not run a second time here


def test_gone_before_the_hello_runs_the_command_alone(tmp_path: Path) -> None:
    state = tmp_path / "s.rules"
    with fake_server(state, lambda conn, seen: None):  # accepts and hangs up
        got = pynf("iptables", "--state", str(state), "-N", "X")
    assert (got.returncode, got.stderr) == (0, b"")
    assert ":X - [0:0]" in state.read_text()


@pytest.mark.parametrize("round_", range(3))
def test_writer_and_starting_server_race_for_the_lock(round_: int, tmp_path: Path) -> None:
    """A real server and a writer both wait for the lock; whichever gets it, the change is made
    once and the writer hears success."""
    state = tmp_path / "s.rules"
    fd = _held(state)
    server = Served(state, idle=1000)
    starter = threading.Thread(target=server.__enter__)
    try:
        with waiting(["iptables", "--state", str(state), "-A", "INPUT", "-j", "ACCEPT"]) as proc:
            starter.start()
            time.sleep(0.3 * round_)
            os.close(fd)
            fd = -1
            out, err = proc.communicate(timeout=120)
            assert (proc.returncode, err) == (0, b"")
        starter.join(120)
        assert server.stop() == 0
    finally:
        if fd >= 0:
            os.close(fd)
        starter.join(120)
        server.__exit__(None, None, None)
    rules = pynf("iptables", "--state", str(state), "-S", "INPUT", direct=True).stdout.decode()
    assert rules.count("-A INPUT -j ACCEPT") == 1
