"""One client's command, run by the server as the command runs on its own.

The command is the same code (pynetfilter.cli.main.dispatch) with the client's
argv, working directory, umask and terminal width; what it prints to stdout
and stderr is captured in the order it was printed, and the client prints it
again in that order through its own streams, so the bytes (and their order when
both go to one pipe) are those of a run without a server.  Its state is the
server's (pynetfilter.cli.state.backend).  A command that reads stdin the client
has not sent stops (:class:`NeedStdin`) before it changes anything, and runs
again from the start once the client sends it.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from typing import Any

from pynetfilter.cli import state as cli_state
from pynetfilter.serve.store import Store

COMMANDS = frozenset({"iptables", "ipset", "restore"})


class NeedStdin(BaseException):  # noqa: N818  (a signal to the server, not an error; and no
    # `except Exception` in a command may swallow it)
    """The command reads stdin, which the client has not sent yet."""


class _Capture(io.TextIOBase):
    """sys.stdout or sys.stderr of a command: each write kept, in order, with its stream."""

    def __init__(self, stream: int, out: list[tuple[int, str]]) -> None:
        super().__init__()
        self.stream = stream
        self.out = out

    @property
    def encoding(self) -> str:
        return "utf-8"

    @property
    def errors(self) -> str | None:
        return "surrogateescape"

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if s:
            if self.out and self.out[-1][0] == self.stream:
                self.out[-1] = (self.stream, self.out[-1][1] + s)
            else:
                self.out.append((self.stream, s))
        return len(s)


class _NoStdin(io.RawIOBase):
    """stdin before the client sent it: reading it asks the client for it."""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        raise NeedStdin

    @property
    def buffer(self) -> _NoStdin:
        return self


def _exit_status(e: SystemExit, err: _Capture) -> int:
    # What the interpreter does with sys.exit(code) at the top of a process.
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    err.write(f"{e.code}\n")
    return 1


def run(store: Store, request: dict[str, Any], stdin: bytes | None) -> tuple[int, list[tuple[int, str]]]:
    """The command's exit status and what it printed ((1 or 2, text) pieces in order).

    Raises NeedStdin (having undone nothing, since nothing changed) when it needs stdin.
    """
    from pynetfilter.cli.main import dispatch

    argv = [str(a) for a in request["argv"]]
    out: list[tuple[int, str]] = []
    streams = sys.stdin, sys.stdout, sys.stderr
    env = {k: os.environ.get(k) for k in ("COLUMNS", "LINES")}
    home = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    umask = os.umask(int(request.get("umask", 0o022)) & 0o777)
    stdout, stderr = _Capture(1, out), _Capture(2, out)
    try:
        os.chdir(str(request["cwd"]))
        for key, value in (("COLUMNS", request.get("columns")), ("LINES", request.get("lines"))):
            if isinstance(value, int) and value > 0:  # argparse wraps usage and help at this width
                os.environ[key] = str(value)
            else:
                os.environ.pop(key, None)
        if stdin is None:
            sys.stdin = _NoStdin()  # type: ignore[assignment]
        else:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="surrogateescape")
        sys.stdout, sys.stderr = stdout, stderr
        store.begin(argv)
        cli_state.backend = store
        try:
            status = dispatch(argv)
        except SystemExit as e:
            status = _exit_status(e, stderr)
        except NeedStdin:
            if store.wrote:  # never: every command reads its input before it writes
                store.broken = True
                raise RuntimeError("the command read stdin after it changed the state") from None
            raise
        except Exception:  # a bug: what the interpreter would print, and the state read again
            store.broken = True
            stderr.write(traceback.format_exc())
            status = 1
    finally:
        cli_state.backend = None
        sys.stdin, sys.stdout, sys.stderr = streams
        os.umask(umask)
        os.fchdir(home)
        os.close(home)
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if store.request:
            store.end()
            store.request = []
    return status, out
