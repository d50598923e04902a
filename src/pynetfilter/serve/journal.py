"""The journal beside a state file: the changes ``pynf serve`` acknowledged since the text was written.

``STATE.journal`` (STATE's real path, through symlinks) is text, one record a line::

    CRC32HEX {"pynf-journal":1,"id":"9f0c...","base":"<sha256 of the state file>"}
    CRC32HEX {"seq":1,"iptables":["-t","nat","-A","KUBE-SERVICES",...]}
    CRC32HEX {"seq":2,"objs":"#pynf-objects clock ...\\n#ipset create ...\\n"}
    CRC32HEX {"seq":3,"restore":{"text":"*filter\\n...","counters":false,"noflush":true,"table":null}}

The first line says which state text the records apply to: ``base`` is the
SHA-256 of the file's bytes (null: no file).  A record holds what one command
changed: ``iptables``, the command's words (replayed through Ruleset.execute;
they succeeded once on this very state, so they succeed again), ``restore``,
an iptables-restore input (``"failed": true`` when it stopped part way, as
iptables-restore does, keeping the blocks before), and ``objs``, the object
comment lines after the command (ipset commands, ``--ipsets``/``--nfacct``).
Each line is written whole with one write() and fsync'ed before the server
answers; a line without its newline or whose CRC-32 does not match was never
acknowledged, and it and anything after it are ignored.

A reader replays the records when ``base`` is the state it read.  The server
rewrites the state in a child process while it goes on appending; just before
the new text replaces the old, the child writes ``STATE.journal.ckpt``
(``{"journal": id, "seq": N, "state": sha256}``): a state whose digest is the
checkpoint's includes records 1..N, so a reader replays only those after N.
Then the server starts a new journal holding the records after N (or removes
it), and the checkpoint is dropped.  A journal matching neither is stale (its
records are in the text already) and is ignored; the next writer removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
import tempfile
import zlib
from typing import TYPE_CHECKING, Any

from pynetfilter.io import statefile
from pynetfilter.io.statefile import StateError

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.objects import Objects

FORMAT = 1
_RETRIES = 1000  # a reader re-reads when the server starts a new journal under it


def paths(real: str) -> tuple[str, str]:
    """The journal and checkpoint files of the state whose real path is *real*."""
    return f"{real}.journal", f"{real}.journal.ckpt"


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def encode(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, separators=(",", ":")).encode("ascii")
    return b"%08x %s\n" % (zlib.crc32(text), text)


def decode(data: bytes) -> list[dict[str, Any]]:
    """The records of journal bytes, up to the first one that was not written whole."""
    lines = data.split(b"\n")
    out = []
    for line in lines[:-1]:  # the piece after the last newline is a torn write
        crc, _, text = line.partition(b" ")
        try:
            if int(crc, 16) != zlib.crc32(text):
                break
            record = json.loads(text)
        except ValueError:
            break
        if not isinstance(record, dict):
            break
        out.append(record)
    return out


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read())
    except FileNotFoundError:
        return None
    except ValueError:  # never: the checkpoint is renamed into place whole
        return None
    except OSError as e:
        raise StateError(f"{path}: {e.strerror}") from None
    return value if isinstance(value, dict) else None


def read(path: str) -> tuple[bytes | None, list[dict[str, Any]]]:
    """The state's bytes and the journal records to replay on top of them.

    The journal is read first and must still be the same file after the state and
    the checkpoint are read: then the state is the journal's base, or one the server
    wrote from it (with a checkpoint), or a later one that holds all of it.
    """
    jpath, cpath = paths(os.path.realpath(path))
    for _ in range(_RETRIES):
        try:
            fd = os.open(jpath, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return statefile.read_state(path), []
        except OSError as e:
            raise StateError(f"{jpath}: can't read the journal: {e.strerror}") from None
        try:
            journal = _read_all(fd)
            state = statefile.read_state(path)
            ckpt = _read_json(cpath)
            mine = os.fstat(fd)
            try:
                now = os.stat(jpath)
            except FileNotFoundError:
                continue
            if (now.st_ino, now.st_dev) != (mine.st_ino, mine.st_dev):
                continue
        finally:
            os.close(fd)
        return state, _pending(jpath, journal, state, ckpt)
    raise StateError(f"{jpath}: the journal keeps changing while it is read")


def _pending(jpath: str, journal: bytes, state: bytes | None,
             ckpt: dict[str, Any] | None) -> list[dict[str, Any]]:
    records = decode(journal)
    if not records:
        return []
    head = records[0]
    if head.get("pynf-journal") != FORMAT:
        raise StateError(f"{jpath}: journal format {head.get('pynf-journal')!r}: this pynf reads "
                         f"format {FORMAT}")
    seen = digest(state)
    if head.get("base") == seen:
        after = 0
    elif ckpt is not None and ckpt.get("journal") == head.get("id") and ckpt.get("state") == seen:
        after = int(ckpt.get("seq", 0))
    else:
        return []
    return [r for r in records[1:] if int(r.get("seq", 0)) > after]


def replay(rs: Ruleset, objs: Objects, records: list[dict[str, Any]], where: str,
           ) -> tuple[Objects, str | None]:
    """Apply *records* to *rs* and *objs*: the objects after them and their last object text."""
    from pynetfilter.errors import PynfError
    from pynetfilter.netfilter import objects
    from pynetfilter.syntax.command import parse_command

    text = None
    for record in records:
        if "objs" in record:
            text = record["objs"]
            objs = objects.load(text) if text else objects.Objects()
            rs.ipsets = objs.names()
        try:
            if "iptables" in record:
                rs.execute(parse_command(list(record["iptables"])))
            if "restore" in record:
                r = record["restore"]
                try:
                    rs.restore(r["text"], counters=r["counters"], noflush=r["noflush"], table=r["table"])
                except PynfError:
                    if not r.get("failed"):
                        raise
        except PynfError as e:
            raise StateError(f"{where}.journal: record {record.get('seq')} does not replay: {e}") from None
    return objs, text


def _mode_like(fd: int, state: str) -> None:
    """Give a journal file the state's mode and owner: whoever may read the state must be able
    to read what it is missing."""
    try:
        st = os.stat(state)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        return
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(PermissionError):
            os.fchown(fd, st.st_uid, st.st_gid)


def _install(real: str, dest: str, data: bytes) -> int:
    """Write *data* to a new file renamed to *dest* (whole or not at all); its fd, open for appends."""
    directory, name = os.path.split(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        _mode_like(fd, real)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.rename(tmp, dest)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(directory)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
    return fd


def _sync_dir(directory: str) -> None:
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Writer:
    """The server's open journal: a new one starts with its header and the lines it carries over."""

    def __init__(self, real: str, base: str | None, lines: list[bytes]) -> None:
        self.id = os.urandom(12).hex()
        head = encode({"pynf-journal": FORMAT, "id": self.id, "base": base})
        self.fd = _install(real, paths(real)[0], head + b"".join(lines))

    def append(self, line: bytes) -> None:
        """One record, on disk before this returns (one write: a crash leaves it whole or torn)."""
        view = memoryview(line)
        while view:
            view = view[os.write(self.fd, view):]
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def write_ckpt(real: str, journal_id: str, seq: int, state_digest: str | None) -> None:
    data = json.dumps({"journal": journal_id, "seq": seq, "state": state_digest}).encode()
    os.close(_install(real, paths(real)[1], data))


def discard(real: str) -> None:
    """Remove the journal and its checkpoint (the state text holds them now)."""
    for p in paths(real):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
