"""What the fuzz suites share: how many examples a test runs under the loaded Hypothesis profile
(tests/conftest.py), and the one rule they all check: only PynfError, rendered on one line, may
come out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import settings

from pynetfilter.errors import PynfError

CI_EXAMPLES = 100  # the ci profile (a plain pytest run): a test without its own count runs this many
LONG_EXAMPLES = 200_000  # the long profile (pytest --fuzz-long): every fuzz test runs this many


SMOKE_EXAMPLES = 10  # the smoke profile: the suite run again inside tests/test_fresh_machine.py


def examples(ci: int, **kw: Any) -> settings:
    """Settings for a fuzz test: *ci* examples in a plain run (what it costs decides: the suite's
    fuzzing stays within about 30 s), the long profile's count with ``pytest --fuzz-long``, and the
    smoke profile's few where the suite only checks what it skips."""
    loaded = settings.default.max_examples
    return settings(max_examples=ci if loaded == CI_EXAMPLES else loaded, **kw)


def one_line(e: PynfError) -> None:
    text = str(e)
    assert text and "\n" not in text and "\r" not in text, repr(text)


def tolerated(fn: Callable[[], Any]) -> Any:
    """Run *fn*: its result, or None after a one-line PynfError (anything else fails the test)."""
    try:
        return fn()
    except PynfError as e:
        one_line(e)
        return None
