"""``pynf serve --state STATE``: the server process (protocol and design in pynetfilter.serve).

Start: refuse if a server answers on ``STATE.sock``; take the state's lock (as a
writer, waiting for one that holds it, but giving up if a server appears
meanwhile); replace a stale socket; listen; read the state and its journal, and
if the journal had records (a server was killed) write the text at once.  Run:
one connection at a time, each answered in full before the next is accepted.
Idle for ``--idle`` seconds with unsaved records, the text is written by a child
process (store.Store.save_in_background).  Stop (SIGTERM, SIGINT): no new
connections, the ones already queued answered, the text written, the journal
removed, the lock released.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import selectors
import signal
import socket
import stat
import sys
import time
from types import FrameType

from pynetfilter.errors import PynfError
from pynetfilter.io import statefile
from pynetfilter.io.statefile import StateError
from pynetfilter.serve import protocol, session
from pynetfilter.serve.store import Store

IO_TIMEOUT = 10.0  # seconds a client may take to send its request or read the answer
SAVE_AFTER = 10000  # unsaved records that start a background save even while busy


class AlreadyServed(PynfError):
    """Another server answers for this state."""


class Server:
    def __init__(self, state: str, follow: bool, idle: float, quiet: bool = False) -> None:
        self.store = Store(state, follow)
        self.idle = idle
        self.quiet = quiet
        self.sock_path = protocol.socket_path(state)
        self.lock: statefile.StateLock | None = None
        self.listener: socket.socket | None = None
        self.stopping = False
        self.last = time.monotonic()

    def _refuse_if_live(self) -> None:
        conn = protocol.connect(self.sock_path)
        if conn is None:
            return
        pid = "?"
        with conn, contextlib.suppress(OSError, protocol.ProtocolError):
            conn.settimeout(1.0)
            got = protocol.recv(conn)
            if got is not None:
                pid = str(got[0].get("pid", "?"))
        raise AlreadyServed(f"{self.store.path}: a server is already running (pid {pid}, socket "
                            f"{self.sock_path})")

    def start(self, ipsets: list[str], accts: list[str]) -> None:
        store = self.store
        statefile.target(store.path, store.follow)  # a symlink without --follow: refused as writers do
        self._refuse_if_live()
        self.lock = statefile.StateLock(statefile.target(store.path, store.follow), None,
                                        watch=self._refuse_if_live)
        self.lock.__enter__()
        try:
            self._listen()
            replayed = store.read_disk(ipsets, accts)
            if replayed or ipsets or accts:
                store.save()  # a crashed server's journal (or new objects) folded into the text
            # The state was loaded with the collector off: the first full collection would come
            # at the first chance, a pause of seconds at 20,000 Services in some client's command.
            # Now, while nobody waits, it also sets the next one at a quarter more of the heap.
            gc.collect()
        except BaseException:
            self.close()
            raise

    def _listen(self) -> None:
        # We hold the lock, and every live server does: whatever is at the socket's name is stale
        # (unless a server took another lock file: $PYNF_LOCKFILE, so ask once more).
        self._refuse_if_live()
        try:
            st = os.lstat(self.sock_path)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISSOCK(st.st_mode):
                raise StateError(f"{self.sock_path}: not a socket: refusing to replace it")
            os.unlink(self.sock_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)  # 0600 from the start: no moment when others may connect
        try:
            protocol.bind(sock, self.sock_path)
        except OSError as e:
            sock.close()
            raise StateError(f"{self.sock_path}: can't listen: {e.strerror or e}") from None
        finally:
            os.umask(old)
        sock.listen(socket.SOMAXCONN)
        self.listener = sock
        self.store.close_in_child = [sock.fileno()]

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def serve(self) -> None:
        assert self.listener is not None
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        old_wake = signal.set_wakeup_fd(wake_w.fileno())
        old = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ)
        sel.register(wake_r, selectors.EVENT_READ)
        if not self.quiet:
            print(f"pynf serve: {self.store.path}: serving on {self.sock_path} (pid {os.getpid()})",
                  file=sys.stderr, flush=True)
        try:
            while not self.stopping:
                for key, _ in sel.select(self._timeout()):
                    if key.fileobj is wake_r:
                        with contextlib.suppress(BlockingIOError):
                            wake_r.recv(4096)
                    elif not self.stopping:
                        self._accept_one()
                self._housekeeping()
        finally:
            sel.close()
            signal.set_wakeup_fd(old_wake)
            for sig, handler in old.items():
                signal.signal(sig, handler)
            wake_r.close()
            wake_w.close()
        self.shutdown()

    def _timeout(self) -> float:
        if self.store.child is not None:
            return 0.1  # poll for the background save's end
        if self.store.unsaved():
            return max(0.0, self.last + self.idle - time.monotonic())
        return 3600.0

    def _housekeeping(self) -> None:
        store = self.store
        store.reap()
        if store.child is None and store.unsaved() and (
                time.monotonic() - self.last >= self.idle or store.unsaved() >= SAVE_AFTER):
            store.save_in_background()

    def _accept_one(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            conn.settimeout(IO_TIMEOUT)
            self.handle(conn)
        self.last = time.monotonic()
        if self.store.dead:
            print(f"pynf serve: {self.store.path}: stopping: the state could not be read again",
                  file=sys.stderr)
            self.stopping = True

    def handle(self, conn: socket.socket) -> None:
        """One connection: hello, the request, maybe a request for stdin, the answer."""
        try:
            protocol.send(conn, {"pynf-serve": protocol.VERSION, "pid": os.getpid(),
                                 "state": self.store.path})
            got = protocol.recv(conn)
        except (OSError, protocol.ProtocolError):
            return  # gone before asking anything (a liveness check does just that)
        if got is None:
            return
        request, body = got
        try:
            reply, data = self._answer(request, body)
        except session.NeedStdin:
            reply, data = {"need": "stdin"}, b""
        with contextlib.suppress(OSError):
            protocol.send(conn, reply, data)

    def _answer(self, request: dict[str, object], body: bytes) -> tuple[dict[str, object], bytes]:
        if request.get("v") != protocol.VERSION:
            return {"error": f"{self.sock_path}: protocol version {request.get('v')!r} "
                             f"(this server speaks {protocol.VERSION})"}, b""
        argv = request.get("argv")
        if not (isinstance(argv, list) and argv and argv[0] in session.COMMANDS
                and isinstance(request.get("cwd"), str)):
            return {"error": f"{self.sock_path}: not a request this server runs"}, b""
        try:
            status, out = session.run(self.store, request, body if request.get("stdin") else None)
        except session.NeedStdin:
            raise
        except Exception as e:  # the working directory, or a failed reload: one line to the client
            return {"error": f"{self.store.path}: {e}"}, b""
        pieces = [(stream, text.encode("utf-8", "surrogateescape")) for stream, text in out]
        return {"status": status, "out": [[s, len(b)] for s, b in pieces]}, b"".join(b for _, b in pieces)

    def shutdown(self) -> None:
        """Answer the connections already queued, write the text, remove the journal, unlock."""
        if self.listener is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.sock_path)  # new clients go straight to the lock, and wait for it
            self.listener.setblocking(False)
            while not self.store.dead:  # (queued clients of a dead store run here after it exits)
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    break
                with conn:
                    conn.setblocking(True)
                    conn.settimeout(IO_TIMEOUT)
                    self.handle(conn)
        try:
            self.store.reap(block=True)
            if not self.store.dead and (self.store.unsaved()
                                        or os.path.exists(f"{self.store.real}.journal")):
                self.store.save()
        finally:
            self.close()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.sock_path)
        if self.lock is not None:
            self.lock.__exit__(None, None, None)
            self.lock = None


def cmd_serve(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="pynf serve", description="Hold a state file in memory and run "
                                 "pynf iptables/ipset/restore commands against it (see README).")
    ap.add_argument("--state", required=True, help="ruleset file (iptables-save -c text)")
    ap.add_argument("--follow", action="store_true", help="the state is a symbolic link: serve its target")
    ap.add_argument("--ipsets", action="append", default=[], metavar="FILE",
                    help="`ipset save` text: sets to add to the state (repeatable)")
    ap.add_argument("--nfacct", action="append", default=[], metavar="FILE",
                    help="`nfacct list` text: nfacct objects to add to the state (repeatable)")
    ap.add_argument("--idle", type=float, default=1.0, metavar="SECONDS",
                    help="write the state text after this long without commands (default 1)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no 'serving' line on stderr")
    args = ap.parse_args(argv)
    server = Server(args.state, args.follow, max(0.0, args.idle), args.quiet)
    try:
        server.start(args.ipsets, args.nfacct)
    except PynfError as e:
        print(f"pynf serve: {e}", file=sys.stderr)
        return e.status
    server.serve()
    return 0
