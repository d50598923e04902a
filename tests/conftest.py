"""Shared test setup: the repository root on sys.path (for tools/), and the Hypothesis profiles.

``ci``, the default, runs each fuzz test's own count (tests.fuzzing.examples; the suite's fuzzing
stays within about 30 s).  ``pytest --fuzz-long`` loads ``long``: 200,000 examples a test and no
deadline, minutes to an hour a test, so name what to run (``pytest --fuzz-long -p no:cacheprovider
tests/test_fuzz_inputs.py -k json``).  The suite tests/test_fresh_machine.py runs again inside only
checks what skips there: ``smoke``, a few examples a test.  A test that gives no ``max_examples``
of its own runs the loaded profile's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
# Every compiled chain is checked against its chain's rules (a missed edit fails loudly).
os.environ.setdefault("PYNF_FASTPATH_VERIFY", "1")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fuzzing import CI_EXAMPLES, LONG_EXAMPLES, SMOKE_EXAMPLES  # noqa: E402  (needs the root on sys.path)

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=_QUIET,
                          print_blob=True)
settings.register_profile("long", max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=_QUIET,
                          print_blob=True)
settings.register_profile("smoke", max_examples=SMOKE_EXAMPLES, deadline=None, suppress_health_check=_QUIET)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run the Hypothesis fuzz tests with the long profile (many minutes)")


def pytest_configure(config: pytest.Config) -> None:
    # Before the test modules are imported: their @settings take the loaded profile as parent.
    if config.getoption("--fuzz-long"):
        settings.load_profile("long")
    elif os.environ.get("PYNF_FRESH_MACHINE_INNER") == "1":  # tests/test_fresh_machine.py's inner runs
        settings.load_profile("smoke")
    else:
        settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With $PYNF_FUZZ_COUNT (a directory; tools/fuzz_long.py sets it), each Hypothesis test counts
    its examples into a file there as it goes, so a run stopped by its time budget still says how
    many examples it ran."""
    where = os.environ.get("PYNF_FUZZ_COUNT")
    if not where:
        return
    for item in items:
        fn = getattr(item, "obj", None)
        hyp = getattr(fn, "hypothesis", None)
        if hyp is None:
            continue
        path = Path(where) / (item.nodeid.replace("/", "_").replace("::", "__") + ".count")
        inner = hyp.inner_test

        def counted(*args: object, _inner: object = inner, _path: Path = path, _n: list[int] = [0],  # noqa: B006
                    **kwargs: object) -> object:
            _n[0] += 1
            if _n[0] % 200 == 0:
                _path.write_text(f"{_n[0]}\n")
            return _inner(*args, **kwargs)  # type: ignore[operator]

        hyp.inner_test = counted
