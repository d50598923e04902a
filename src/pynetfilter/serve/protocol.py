"""Frames of the ``pynf serve`` protocol (described in pynetfilter.serve) and the socket's address.

A frame is a 4-byte big-endian length, that many bytes of a JSON object (the
header), then ``header["body"]`` bytes of raw data when the header has a
``body``.  Strings in headers are JSON strings; bytes that are not UTF-8 ride
as lone surrogates (Python's surrogateescape), which JSON escapes as \\udcNN.

Standard library only: the client imports this module before anything else.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

VERSION = 1
SUFFIX = ".sock"
MAX_HEADER = 1 << 24  # bytes: a longer header is garbage, not a request
MAX_BODY = 1 << 33  # bytes: twice the largest state file (pynetfilter.io.statefile.MAX_STATE)
_SUN_PATH = 100  # sockaddr_un holds 108 bytes; a longer path is reached through /proc (see _address)
_LENGTH = struct.Struct(">I")


class ProtocolError(Exception):
    """The other end sent something that is not a frame (or stopped in the middle of one)."""


def socket_path(state: str) -> str:
    """The server's socket beside the file *state* names (through symlinks: every name of a
    state finds the same server)."""
    return os.path.realpath(state) + SUFFIX


def _address(path: str) -> tuple[str, int]:
    """An address the kernel takes for *path*, and a directory fd to close after use (-1 if
    none): a path too long for sockaddr_un goes through its directory's /proc/self/fd link."""
    if len(os.fsencode(path)) < _SUN_PATH:
        return path, -1
    directory, name = os.path.split(path)
    fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{name}", fd


def connect(path: str) -> socket.socket | None:
    """A connection to the server listening at *path*, or None when nobody listens there (no
    socket, a stale one, or one we may not use)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        address, fd = _address(path)
        try:
            sock.connect(address)
        finally:
            if fd >= 0:
                os.close(fd)
    except OSError:
        sock.close()
        return None
    return sock


def bind(sock: socket.socket, path: str) -> None:
    address, fd = _address(path)
    try:
        sock.bind(address)
    finally:
        if fd >= 0:
            os.close(fd)


def send(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    if body:
        header = {**header, "body": len(body)}
    data = json.dumps(header, separators=(",", ":")).encode("ascii")
    sock.sendall(_LENGTH.pack(len(data)) + data)
    if body:
        sock.sendall(body)


def _exactly(sock: socket.socket, n: int, started: bool) -> bytes | None:
    chunks: list[bytes] = []
    got = 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            if got == 0 and not started:
                return None
            raise ProtocolError(f"connection closed {got} bytes into a {n}-byte read")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket) -> tuple[dict[str, Any], bytes] | None:
    """The next frame's header and body; None when the other end closed before it began."""
    raw = _exactly(sock, _LENGTH.size, False)
    if raw is None:
        return None
    (size,) = _LENGTH.unpack(raw)
    if size > MAX_HEADER:
        raise ProtocolError(f"a {size}-byte header (at most {MAX_HEADER})")
    data = _exactly(sock, size, True) or b""
    try:
        header = json.loads(data)
    except ValueError as e:
        raise ProtocolError(f"a header that is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError("a header that is not a JSON object")
    body_size = header.get("body", 0)
    if not isinstance(body_size, int) or not 0 <= body_size <= MAX_BODY:
        raise ProtocolError(f"a body of {body_size!r} bytes")
    body = (_exactly(sock, body_size, True) or b"") if body_size else b""
    return header, body
