"""Property tests: no token stream or restore text makes pynetfilter raise anything but PynfError."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pynetfilter.errors import PynfError
from pynetfilter.ext import MATCHES, TARGETS, all_extensions
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.syntax.words import COMMANDS, CORE


def _vocabulary() -> list[str]:
    words = ["!", "-", "--", "", " ", "INPUT", "OUTPUT", "PREROUTING", "POSTROUTING", "FORWARD", "USER1",
             "nat", "filter", "mangle", "raw", "security", "tcp", "udp", "icmp", "all", "0", "1", "65535",
             "65536", "-1", "0x10", "010", "10.233.0.1", "10.233.0.0/16", "10.233.0.1/255.0.255.0",
             "10.233.0.1:80", "10.233.0.1-10.233.0.9", "1:2", "a,b", "0x4000/0x4000", "eth0", "eth+", "+",
             "ACCEPT", "DROP", "RETURN", "QUEUE", "5/s", "1/min", "dst,dst", "src", "NEW,ESTABLISHED",
             "\x00", "é", "x" * 40, "\"", "'", "\\"]
    words += list(MATCHES) + list(TARGETS)
    words += [f"-{c}" for c in COMMANDS] + [f"-{c}" for c in CORE]
    words += [f"--{name}" for name, *_ in CORE.values()] + [f"--{n}" for n in COMMANDS.values()]
    for ext in all_extensions():
        for opt in ext.options:
            words.append(f"--{opt.name}")
    return words


WORDS = _vocabulary()
TOKENS = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=14)


def _base() -> Ruleset:
    rs = Ruleset()
    for t in ("filter", "nat", "mangle", "raw"):
        rs.apply(["-t", t, "-N", "USER1"])
    return rs


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["filter", "nat", "mangle", "raw"]), st.sampled_from(["-A", "-I", "-D", "-C"]),
       st.sampled_from(["INPUT", "OUTPUT", "PREROUTING", "USER1"]), TOKENS)
def test_rule_token_streams(table: str, command: str, chain: str, tokens: list[str]) -> None:
    rs = _base()
    try:
        rs.apply(["-t", table, command, chain, *tokens])
    except PynfError as e:
        assert "\n" not in str(e).strip()


@settings(max_examples=800, deadline=None)
@given(TOKENS)
def test_any_command_line(tokens: list[str]) -> None:
    rs = _base()
    with contextlib.suppress(PynfError):
        rs.apply(tokens)


LINES = st.one_of(
    st.sampled_from(["*filter", "*nat", "*bogus", "*", "COMMIT", "COMMIT ", ":INPUT DROP [1:2]",
                     ":USER1 - [0:0]", ":INPUT", ":X", "# c", "", "[1:2] -A INPUT -j ACCEPT", "[1 -A INPUT",
                     "[a:b] -A INPUT"]),
    TOKENS.map(" ".join),
    TOKENS.map(lambda t: "-A INPUT " + " ".join(t)),
    st.text(max_size=30),
)


@settings(max_examples=800, deadline=None)
@given(st.lists(LINES, max_size=12), st.booleans(), st.booleans())
def test_restore_text(lines: list[str], noflush: bool, counters: bool) -> None:
    rs = Ruleset()
    before = rs.save(header=False)
    try:
        rs.restore("\n".join(lines) + "\n", noflush=noflush, counters=counters)
    except PynfError as e:
        assert e.line is None or e.line >= 1
        return
    # An accepted restore always saves to text that restores to the same thing.
    again = Ruleset.from_save(rs.save(counters=True))
    assert again.save(counters=True, header=False) == rs.save(counters=True, header=False)
    del before
