"""Errors of pynetfilter.

Every error renders as one line.  Exit statuses follow iptables: 2 for a
parameter (usage) problem, 1 for anything else (a kernel refusal, a missing
chain, a failed COMMIT).
"""

from __future__ import annotations

import re

PARAMETER_PROBLEM = 2
OTHER_PROBLEM = 1
VERSION_PROBLEM = 3


def _visible(c: str) -> str:
    """A character of input as an error shows it: undecodable bytes as \\xNN, controls escaped."""
    if "\udc80" <= c <= "\udcff":
        return f"\\x{ord(c) - 0xDC00:02x}"
    return c if c.isprintable() else repr(c)[1:-1]


QUOTE_MAX = 40  # characters of a quoted input word an error message shows
_MESSAGE_MAX = 400


def _clip_quote(m: re.Match[str]) -> str:
    body = m.group(2)
    return f"{m.group(1)}{body[:QUOTE_MAX]}...{m.group(3)} ({len(body)} characters)"


def _clipped(message: str) -> str:
    if len(message) <= _MESSAGE_MAX // 2:
        return message
    message = _LONG_QUOTE.sub(_clip_quote, message)
    if len(message) > _MESSAGE_MAX:
        message = message[:_MESSAGE_MAX] + f"... ({len(message)} characters)"
    return message


_LONG_QUOTE = re.compile(rf"([\"`'])([^\"'`]{{{QUOTE_MAX + 8},}})([\"'])")


class PynfError(Exception):
    """Base of every error pynetfilter raises on bad input."""

    status = OTHER_PROBLEM

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    source: str | None = None  # the file the error is in, when known

    def in_file(self, source: str) -> PynfError:
        """Return the same error, named as coming from *source* (a file name)."""
        if self.source is None:
            self.source = source
        return self

    def at_line(self, line: int) -> PynfError:
        """Return the same error located at restore-input line *line*."""
        if self.line is None:
            self.line = line
        return self

    def __str__(self) -> str:
        # One line always: control characters from the input are shown escaped, and a
        # long piece of input is quoted by its start only (a 20 MB line is not an error message).
        msg = "".join(_visible(c) for c in _clipped(self.message))
        if self.line is not None:
            msg = f"line {self.line}: {msg}"
        if self.source is not None:
            msg = f"{self.source}: {msg}"
        return msg


class ParameterProblem(PynfError):
    """A rule or command the iptables parser refuses (iptables exit status 2)."""

    status = PARAMETER_PROBLEM


class KernelRefusal(PynfError):
    """A ruleset the kernel's table check refuses (EINVAL, ELOOP, ENOENT...)."""

    status = OTHER_PROBLEM


class RestoreError(PynfError):
    """Malformed iptables-restore input (structure, not a rule's options)."""

    status = OTHER_PROBLEM


def expected(token: str, what: str) -> ParameterProblem:
    """The standard one-line refusal: the token seen and what was expected."""
    return ParameterProblem(f'bad value "{token}": expected {what}')


class TableMissing(PynfError):
    """A table the kernel does not have (iptables exit status 3, VERSION_PROBLEM)."""

    status = VERSION_PROBLEM
