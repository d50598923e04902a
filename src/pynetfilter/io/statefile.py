"""State files on disk: one writer at a time, whole replacement, nothing else touched.

Theory of operation.  A state file is replaced, never edited: the new text goes
to a private temporary file created exclusively beside it (a random name,
O_EXCL, so a planted symlink or file is never followed or reused), is fsync'ed,
takes the old file's mode and owner, and is renamed over the state; the
directory is fsync'ed after.  A reader therefore sees the old file or the new
one, never a mixture, and needs no lock.  Writers serialise on a lock file
beside the state (``STATE.lock``, or ``$PYNF_LOCKFILE``), taken with flock() as
iptables takes /run/xtables.lock: iptables 1.8.9 waits for it indefinitely
unless ``-w SECONDS`` bounds the wait (``-w`` alone and ``-w 0`` also wait
forever; recorded in tests/io/cases/xtables_lock.json).  The lock is held from
before the state is read until after the rename, so no update is lost.

A state path that is a symbolic link is read through, but written only when the
user asked for its target to be updated (``follow``); a hard-linked state file
is replaced by the rename, so its other names keep the old text.

``pynf serve`` (pynetfilter.serve) holds the lock for as long as it runs; a
command that waits for the lock may *watch* for such a server and hand its
request over instead of waiting for the server to stop.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable
from types import TracebackType

from pynetfilter.errors import PynfError

RESOURCE_PROBLEM = 4  # iptables' exit status when the xtables lock cannot be had
MAX_STATE = 1 << 32  # bytes: a state file larger than this is refused, not read into memory


class StateError(PynfError):
    """A state file that cannot be read or written safely (exit status 1)."""


class LockBusy(PynfError):
    """Another writer holds the state's lock past the wait the user allowed."""

    status = RESOURCE_PROBLEM


def _describe(e: OSError) -> str:
    return e.strerror or str(e)


def lock_path(state: str) -> str:
    return os.environ.get("PYNF_LOCKFILE") or f"{state}.lock"


class StateLock:
    """flock() on the state's lock file, as iptables holds /run/xtables.lock.

    *wait* is iptables' ``-w``: None (not given), -1 (``-w``) and 0 wait
    forever; N > 0 gives up after N seconds with exit status 4.  The wait polls
    every *interval* seconds (iptables 1.8.9 ignores ``-W``, and says so).
    *watch*, if given, is called every *watch_every* seconds while the lock is
    busy; it may raise to give up the wait (a server appeared that holds it).
    """

    def __init__(self, state: str, wait: int | None = None, interval: float = 0.01,
                 watch: Callable[[], None] | None = None, watch_every: float = 0.1) -> None:
        self.path = lock_path(state)
        self.wait = wait
        self.interval = interval
        self.watch = watch
        self.watch_every = watch_every
        self.fd = -1

    def __enter__(self) -> StateLock:
        try:
            # O_NOFOLLOW: a symlink planted at the lock's name is refused, never followed.
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise StateError(f"{self.path}: can't open lock file: {_describe(e)}") from None
        forever = self.wait is None or self.wait <= 0
        if forever and self.watch is None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            return self
        start = time.monotonic()
        deadline = None if forever else start + float(self.wait or 0)
        next_watch = start
        try:
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return self
                except BlockingIOError:
                    now = time.monotonic()
                    if deadline is not None and now >= deadline:
                        raise LockBusy(f"{self.path}: Another app is currently holding the xtables lock. "
                                       f"Stopped waiting after {self.wait}s.") from None
                    if self.watch is not None and now >= next_watch:
                        self.watch()
                        next_watch = now + self.watch_every
                    time.sleep(self.interval)
        except BaseException:
            os.close(self.fd)
            self.fd = -1
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def read_state(path: str) -> bytes | None:
    """The state's bytes (through a symlink), or None when there is no state yet.

    Only a regular file is a state: a FIFO, a device (/dev/zero) or a directory
    is refused before anything is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(path):
            raise StateError(f"{path}: is a symbolic link to a missing file") from None
        return None
    except OSError as e:
        raise StateError(f"{path}: {_describe(e)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StateError(f"{path}: not a regular file: expected a state file (iptables-save -c text)")
        if st.st_size > MAX_STATE:
            raise StateError(f"{path}: {st.st_size} bytes: expected a state file under {MAX_STATE} bytes")
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def target(path: str, follow: bool) -> str:
    """The file a write replaces: *path*, or with *follow* its symlink's final target.

    A symlink without *follow* is refused: writing through a link someone else
    planted is how a state write would overwrite a file that is not ours.
    """
    if not os.path.islink(path):
        return path
    if not follow:
        raise StateError(f"{path}: is a symbolic link (to {os.readlink(path)}): pass --follow to "
                         "update its target, or name the target itself")
    return os.path.realpath(path)


def write_state(path: str, data: bytes, *, follow: bool = False,
                before_rename: Callable[[], None] | None = None) -> None:
    """Replace the state at *path* by *data*: all of it, or (on any error) nothing.

    *before_rename* runs once the new text is safely on disk and just before it
    replaces the old (pynf serve records there which journal entries it holds).
    """
    dest = target(path, follow)
    directory, name = os.path.split(os.path.abspath(dest))
    try:
        old: os.stat_result | None = os.stat(dest, follow_symlinks=False)
    except FileNotFoundError:
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode):
        raise StateError(f"{dest}: not a regular file: refusing to replace it")
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise StateError(f"{dest}: can't create a temporary file beside it: {_describe(e)}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if old is not None:
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    # Only root may give a file away; the mode is kept all the same.
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, old.st_uid, old.st_gid)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_rename is not None:
            before_rename()
        os.rename(tmp, dest)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StateError(f"{dest}: {_describe(e)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.EROFS):
            raise StateError(f"{directory}: {_describe(e)}") from None
    finally:
        os.close(dfd)
