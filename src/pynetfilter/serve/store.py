"""The server's live state: a state file's ruleset and objects, loaded once, changed by each command,
journaled before the command is answered, and written back as the file's text now and then.

It is the cli.state backend while a command runs (see pynetfilter.cli.state):
``load`` hands out the live ruleset and the objects parsed from the current object
lines (as a command would parse the file's), ``locked`` checks what taking the
lock would check (the lock itself is the server's), and ``write`` appends the
command's record to the journal (pynetfilter.serve.journal) instead of
rewriting 25 MB of text.  What a command changed without writing (a listing
that instantiated a table and then failed) is undone, so the live state is
always the file plus the journal.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pynetfilter.cli import state as cli_state
from pynetfilter.errors import PynfError
from pynetfilter.io import statefile
from pynetfilter.io.statefile import StateError
from pynetfilter.netfilter import objects
from pynetfilter.netfilter.objects import Objects
from pynetfilter.serve import journal

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset, Table


class Store:
    def __init__(self, path: str, follow: bool) -> None:
        self.path = os.path.abspath(path)
        self.follow = follow
        self.real = os.path.realpath(path)
        self.rs: Ruleset
        self.objs_text = ""  # the object comment lines, as the state file would hold them now
        self._objs: Objects | None = None  # parsed objs_text, lent to commands that do not change it
        self._refs: tuple[int, Callable[[str], int]] | None = None
        self.base: str | None = None  # digest of the state file the journal applies to
        self.seq = 0  # the last record's number
        self.saved = 0  # the last record the state file holds
        self.writer: journal.Writer | None = None
        self.lines: list[tuple[int, bytes]] = []  # the journal's records since its base
        self.child: tuple[int, int, int] | None = None  # a background save: pid, pipe, seq
        self.close_in_child: list[int] = []  # the listening socket: a save child never answers
        self.dead = False  # the live state is lost (a reload failed): stop, and save nothing
        # The command being run (see begin):
        self.request: list[str] = []
        self.wrote = False
        self.broken = False  # the live state may differ from file + journal: read them again
        self.files = False  # it added --ipsets/--nfacct objects
        self.restored: dict[str, Any] | None = None
        self.before: dict[str, Table] = {}

    # --- loading and saving the file ------------------------------------------

    def read_disk(self, ipsets: list[str], accts: list[str]) -> int:
        """Read the state and its journal (the records a crashed server acknowledged); the number of
        records replayed.  The caller saves at once when there were any, or objects were added."""
        self.reap(block=True)  # the base and the journal's lines must be the ones on disk
        data, records = journal.read(self.path)
        rs, objs, text = cli_state.build_state(self.path, data, records, ipsets, accts, None)
        self.rs = rs
        self.objs_text = objects.dump(objs, time.time()) if ipsets or accts else text
        self._objs, self._refs = None, None
        self.base = journal.digest(data)
        return len(records)

    def save(self) -> None:
        """Write the whole state text now and drop the journal (start, shutdown)."""
        self.reap(block=True)  # an older snapshot must not land after this one
        data = self._text()
        statefile.write_state(self.path, data, follow=self.follow)
        self._close_journal()
        journal.discard(self.real)
        self.base, self.saved, self.lines = journal.digest(data), self.seq, []

    def _text(self) -> bytes:
        return (self.objs_text + self.rs.save(counters=True, exact=True)).encode("utf-8", "surrogateescape")

    def _close_journal(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def unsaved(self) -> int:
        return self.seq - self.saved

    def save_in_background(self) -> None:
        """Fork: the child writes the text of the state as it is now (copy-on-write memory is the
        snapshot) while this process goes on serving; see :meth:`reap`."""
        if self.child is not None:
            return
        seq = self.seq
        jid = self.writer.id if self.writer is not None else None
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: no return from here
            code = 1
            try:
                os.close(rfd)
                for fd in self.close_in_child:
                    os.close(fd)
                for sig in (signal.SIGINT, signal.SIGTERM):  # finish the file: the server waits for it
                    signal.signal(sig, signal.SIG_IGN)
                os.nice(19)  # the clients' commands first: they are what someone waits for
                gc.disable()  # a collection would touch (and so copy) every page of the snapshot
                data = self._text()
                done = journal.digest(data) or ""

                def checkpoint() -> None:
                    if jid is not None:
                        journal.write_ckpt(self.real, jid, seq, done)

                statefile.write_state(self.path, data, follow=self.follow, before_rename=checkpoint)
                os.write(wfd, done.encode())
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(wfd)
        self.child = (pid, rfd, seq)

    def reap(self, block: bool = False) -> None:
        """Once the background save is done: a new journal with only the records after it."""
        if self.child is None:
            return
        pid, rfd, seq = self.child
        got, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if got == 0:
            return
        with os.fdopen(rfd, "rb") as f:
            done = f.read().decode()
        self.child = None
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and done):
            print(f"pynf serve: {self.path}: background save failed (status {status}); the journal "
                  "keeps every change", file=sys.stderr)
            return
        tail = [(n, line) for n, line in self.lines if n > seq]
        self._close_journal()
        if tail:
            self.writer = journal.Writer(self.real, done, [line for _, line in tail])
            with contextlib.suppress(FileNotFoundError):
                os.unlink(journal.paths(self.real)[1])
        else:
            journal.discard(self.real)
        self.base, self.saved, self.lines = done, seq, tail

    def append(self, record: dict[str, Any]) -> None:
        self.seq += 1
        line = journal.encode({"seq": self.seq, **record})
        try:
            if self.writer is None:  # carrying the records the file does not hold yet
                self.writer = journal.Writer(self.real, self.base, [old for _, old in self.lines])
            self.writer.append(line)
        except OSError as e:
            self.seq -= 1
            self._close_journal()  # a half-written line: the next record starts a new journal file
            raise StateError(f"{journal.paths(self.real)[0]}: {e.strerror or e}") from None
        self.lines.append((self.seq, line))

    # --- one command ----------------------------------------------------------

    def begin(self, argv: list[str]) -> None:
        self.request = argv
        self.wrote = self.broken = self.files = False
        self.restored = None
        self.before = dict(self.rs.tables)
        if argv[0] == "restore":
            self._record_restore()

    def _record_restore(self) -> None:
        # The restore input as the ruleset got it is what the journal replays (the file may change
        # after the command read it); an instance attribute shadows the method for this command.
        rs = self.rs
        real = type(rs).restore

        def restore(text: str, *, noflush: bool = False, counters: bool = False,
                    table: str | None = None) -> None:
            call = {"text": text, "counters": counters, "noflush": noflush, "table": table}
            self.restored = call
            try:
                real(rs, text, noflush=noflush, counters=counters, table=table)
            except PynfError:
                call["failed"] = True
                raise

        rs.restore = restore  # type: ignore[method-assign]

    def end(self) -> None:
        """Undo what the command did to the live state without writing it."""
        self.rs.__dict__.pop("restore", None)
        if self.broken:
            print(f"pynf serve: {self.path}: reloading the state after a failed command", file=sys.stderr)
            try:
                self.read_disk([], [])
            except BaseException:
                self.dead = True  # the file and the journal still hold every acknowledged change
                raise
            return
        if not self.wrote:
            for name in [n for n in self.rs.tables if n not in self.before]:
                del self.rs.tables[name]  # a listing loads a table; with no write it never happened

    def _check(self, path: str, follow: bool | None = None) -> None:
        if follow is not None:
            statefile.target(path, follow)  # the refusal of a symlink without --follow
        if os.path.realpath(path) != self.real:
            raise StateError(f"{path}: this server serves {self.path}")

    def load(self, path: str, ipsets: list[str], accts: list[str], now: float | None,
                 ) -> tuple[Ruleset, Objects]:
        self._check(path)
        if ipsets or accts or self.request[0] == "ipset":
            # The command changes these objects: its own copy, parsed as from the file.
            objs = objects.load(self.objs_text) if self.objs_text else Objects()
            cli_state.add_files(objs, ipsets, accts, time.time() if now is None else now)
            self.files = self.files or bool(ipsets or accts)
        else:
            if self._objs is None:
                self._objs = objects.load(self.objs_text) if self.objs_text else Objects()
            objs = self._objs
        self.rs.ipsets = objs.names()
        return self.rs, objs

    def locked(self, path: str, wait: int | None, follow: bool) -> contextlib.nullcontext[None]:
        self._check(path, follow)
        return contextlib.nullcontext()  # the server holds the lock: commands run one at a time

    def write(self, path: str, rs: Ruleset, objs: Objects, now: float | None, follow: bool) -> None:
        self._check(path, follow)
        record: dict[str, Any] = {}
        kind = self.request[0]
        if kind == "ipset" or self.files:
            record["objs"] = objects.dump(objs, time.time() if now is None else now)
        if kind == "iptables":
            got = cli_state.state_options(self.request[1:], "")
            assert got is not None  # the command parsed these words before it got here
            record["iptables"] = cli_state.command_words(got[3])
        elif kind == "restore" and self.restored is not None:
            record["restore"] = self.restored
        try:
            self.append(record)
        except BaseException:
            self.broken = True
            raise
        self.wrote = True
        if "objs" in record:
            self.objs_text, self._objs = record["objs"], None

    def rule_refs(self, rs: Ruleset) -> Callable[[str], int]:
        # A full walk of the rules (a fifth of a second at 20,000 Services) for each ipset
        # command; the count changes only when a table is installed, which moves the generation.
        if self._refs is None or self._refs[0] != rs.generation:
            self._refs = (rs.generation, objects.rule_refs(rs))
        return self._refs[1]
