"""The client side: ``pynf iptables/ipset/restore --state STATE`` ask a server first.

:func:`run` is what ``pynf`` does for every command.  For the three commands
with a state it connects to the state's socket before importing anything big;
if a server says hello, the command is the server's to run and this process
only prints the answer.  Otherwise (no socket, a stale one, or a server that
closed without a hello, so never took the command) the command runs here.  A
writer that then waits for the state's lock watches the socket: a server that
starts meanwhile holds the lock for good, so the command is handed to it
(:class:`ServerUp`) with the stdin it already read, and what it already printed
is not printed twice (:class:`_Once`).  ``PYNF_NO_SERVER=1`` turns all of this
off: such a command waits for the lock as iptables waits for xtables.lock.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pynetfilter.serve import protocol

FORWARDED = frozenset({"iptables", "ipset", "restore"})
DIRECT = "PYNF_NO_SERVER"


class ServerUp(Exception):  # noqa: N818  (not an error: the command has a new home)
    """A server started while this command waited for the lock it now holds for good."""

    def __init__(self, sock: str) -> None:
        super().__init__(sock)
        self.sock = sock


def state_of(argv: list[str]) -> str | None:
    """The state a command names (None when it names none in a form found without parsing)."""
    if argv[0] in ("iptables", "ipset"):  # ``--state FILE`` first, as cli.state.state_options wants
        return argv[2] if len(argv) > 2 and argv[1] == "--state" and argv[2] else None
    found = None
    for i, word in enumerate(argv[1:], 1):  # restore: argparse's last --state wins
        if word == "--":
            break
        if word == "--state" and i + 1 < len(argv):
            found = argv[i + 1]
        elif word.startswith("--state="):
            found = word[8:]
    return found or None


def _watch(path: str) -> None:
    """While waiting for the lock of *path*: a server answering on its socket takes the command."""
    sock = protocol.socket_path(path)
    conn = protocol.connect(sock)
    if conn is not None:
        conn.close()
        raise ServerUp(sock)


def _terminal() -> tuple[int, int]:
    """The width and height argparse wraps at here (shutil.get_terminal_size's rules, without
    importing shutil): $COLUMNS/$LINES, else the terminal on stdout, else 80x24."""
    def env(name: str) -> int:
        value = os.environ.get(name, "")
        return int(value) if value.isdigit() else 0

    columns, lines = env("COLUMNS"), env("LINES")
    if columns <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((0, 0))
        columns = columns if columns > 0 else size.columns or 80
        lines = lines if lines > 0 else size.lines or 24
    return columns, lines


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ask(sock_path: str, argv: list[str], stdin: bytes | None = None) -> int | None:
    """Run *argv* on the server at *sock_path*: its exit status, after printing its output; None
    when no server took the command (run it here; stdin read for the server is there to read)."""
    read_here = False
    while True:
        conn = protocol.connect(sock_path)
        hello = None
        if conn is not None:
            with contextlib.suppress(OSError, protocol.ProtocolError):
                hello = protocol.recv(conn)
            if hello is None:
                conn.close()
        if conn is None or hello is None:  # nobody there, or closed before a hello: it never saw the command
            if read_here and stdin is not None:
                sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="surrogateescape")
            return None
        with conn:
            if hello[0].get("pynf-serve") != protocol.VERSION:
                print(f"pynf: {sock_path}: a server speaking protocol {hello[0].get('pynf-serve')!r} "
                      f"answered (this pynf speaks {protocol.VERSION})", file=sys.stderr)
                return 1
            try:
                cwd = os.getcwd()
            except OSError as e:
                print(f"pynf: can't tell the server the working directory: {e.strerror}", file=sys.stderr)
                return 1
            columns, lines = _terminal()
            request: dict[str, Any] = {"v": protocol.VERSION, "argv": argv, "cwd": cwd, "umask": _umask(),
                                       "columns": columns, "lines": lines, "stdin": stdin is not None}
            try:
                protocol.send(conn, request, stdin or b"")
                reply = protocol.recv(conn)
            except (OSError, protocol.ProtocolError):
                reply = None
        if reply is None:
            print(f"pynf: {sock_path}: the server stopped before answering: the command may or may not "
                  "have taken effect", file=sys.stderr)
            return 1
        head, body = reply
        if head.get("need") == "stdin":  # read it with no connection open: a slow producer holds nobody up
            stdin = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
            read_here = True
            continue
        if "error" in head:
            print(f"pynf: {head['error']}", file=sys.stderr)
            return 1
        at = 0
        for stream, size in head.get("out", []):
            text = body[at:at + size].decode("utf-8", "surrogateescape")
            at += size
            (sys.stdout if stream == 1 else sys.stderr).write(text)
        return int(head.get("status", 1))


class _Once:
    """A stream that prints each position of the output once.  A command handed to a server (or
    run here again) prints the same words first, which went out already."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.printed = 0
        self.seen = 0

    def again(self) -> None:
        self.seen = 0

    def write(self, text: str) -> int:
        start, self.seen = self.seen, self.seen + len(text)
        if self.seen > self.printed:
            self.inner.write(text[max(0, self.printed - start):])
            self.printed = self.seen
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def run(argv: list[str], direct: Callable[[list[str]], int], *, process: bool = False) -> int:
    """The command's exit status, run by a server if one answers, else by *direct*.

    *process*: this is the pynf process's own command (not a call from Python), so
    sys.stdout and friends may be wrapped while it runs and a server that appears
    while it waits for the lock can take it over.
    """
    if not argv or argv[0] not in FORWARDED or os.environ.get(DIRECT, "") not in ("", "0"):
        return direct(argv)
    path = state_of(argv)
    if path is not None:
        status = ask(protocol.socket_path(path), argv)
        if status is not None:
            return status
    if not process:
        return direct(argv)
    from pynetfilter.cli import state as cli_state

    out, err = _Once(sys.stdout), _Once(sys.stderr)
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    cli_state.watch = _watch
    try:
        while True:
            try:
                return direct(argv)
            except ServerUp as up:
                out.again()
                err.again()
                status = ask(up.sock, argv, cli_state.stdin_taken)
                if status is not None:
                    return status
            # The server went before it took the command: here again, on the same stdin.
            out.again()
            err.again()
            if cli_state.stdin_taken is not None:
                sys.stdin = io.TextIOWrapper(io.BytesIO(cli_state.stdin_taken), encoding="utf-8",
                                             errors="surrogateescape")
                cli_state.stdin_taken = None
    finally:
        cli_state.watch = None
        sys.stdout, sys.stderr = out.inner, err.inner
