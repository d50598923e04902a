"""Property tests: no token stream, command line or restore text (any bytes) makes pynetfilter
raise anything but PynfError, and whatever is accepted is kept exactly by a state file."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from pynetfilter.errors import PynfError
from pynetfilter.ext import MATCHES, TARGETS, all_extensions
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.syntax.words import COMMANDS, CORE
from tests.fuzzing import examples


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


@examples(1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["filter", "nat", "mangle", "raw"]), st.sampled_from(["-A", "-I", "-D", "-C"]),
       st.sampled_from(["INPUT", "OUTPUT", "PREROUTING", "USER1"]), TOKENS)
def test_rule_token_streams(table: str, command: str, chain: str, tokens: list[str]) -> None:
    rs = _base()
    try:
        rs.apply(["-t", table, command, chain, *tokens])
    except PynfError as e:
        assert "\n" not in str(e).strip()


@examples(800)
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


@examples(800)
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


# --- arbitrary bytes, and exact state files ------------------------------------------------

# Values iptables takes as strings, some printed bare by iptables-save, some quoted.
STRING_OPTS = [["-i"], ["-o"], ["!", "-i"], ["-m", "comment", "--comment"], ["-j", "LOG", "--log-prefix"],
               ["-m", "hashlimit", "--hashlimit-upto", "1/s", "--hashlimit-name"],
               ["-m", "helper", "--helper"], ["-m", "physdev", "--physdev-in"],
               ["-j", "IDLETIMER", "--timeout", "5", "--label"], ["-m", "recent", "--set", "--name"],
               ["-j", "NFLOG", "--nflog-prefix"], ["-m", "string", "--algo", "bm", "--string"]]
# Any character, including the bytes UTF-8 cannot decode (surrogates), quotes, blanks and newlines.
WEIRD = st.text(alphabet=st.one_of(st.sampled_from(list(' \t\n\r"\'\\!#-:/,+*%\x01\x7f\xa0é')),
                                   st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
                                   st.characters(blacklist_categories=("Cs",)), st.sampled_from("ab1")),
                min_size=1, max_size=20)


def _exact_round_trip(rs: Ruleset) -> None:
    """A state file (exact save) of *rs* loads back as the same ruleset."""
    text = rs.save(counters=True, exact=True)
    again = Ruleset()
    again.restore_saved(text, counters=True)
    assert again.save(counters=True, header=False) == rs.save(counters=True, header=False)
    for name, table in rs.tables.items():
        for chain, ch in table.chains.items():
            assert [r.spec() for r in again.tables[name].chains[chain].rules] == [r.spec() for r in ch.rules]


@examples(1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STRING_OPTS), WEIRD, st.sampled_from(["ACCEPT", "USER1", None]))
def test_accepted_strings_survive_the_state_file(opt: list[str], value: str, jump: str | None) -> None:
    rs = _base()
    argv = ["-A", "INPUT", *opt, value] + (["-j", jump] if jump and "-j" not in opt else [])
    try:
        rs.apply(argv)
    except PynfError as e:
        assert "\n" not in str(e)
        return
    _exact_round_trip(rs)


@examples(800)
@given(st.lists(st.one_of(st.sampled_from(WORDS), WEIRD), max_size=14))
def test_any_words_accepted_are_kept(tokens: list[str]) -> None:
    rs = _base()
    try:
        rs.apply(["-A", "USER1", *tokens])
    except PynfError:
        return
    _exact_round_trip(rs)


SAMPLE = (b"*nat\n:PREROUTING ACCEPT [3:180]\n:KUBE-SVC-X - [0:0]\n"
          b'-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SVC-X\n'
          b"[5:300] -A KUBE-SVC-X -d 10.233.0.10/32 -p tcp -m tcp --dport 53 -m statistic --mode random "
          b"--probability 0.50000000000 -j DNAT --to-destination 10.233.1.2:53\nCOMMIT\n"
          b"*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate "
          b"ESTABLISHED,RELATED -j ACCEPT\nCOMMIT\n")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLE)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == 1 and at < len(data):
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == 2 and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = draw(st.sampled_from([b"\0", b"\n", b"\r", b'"', b"\xff", b"\\", b" " * 10300]))
    return bytes(data)


@examples(800)
@given(st.one_of(mutated(), st.binary(max_size=200)), st.booleans(), st.booleans())
def test_restore_bytes(data: bytes, noflush: bool, counters: bool) -> None:
    rs = Ruleset()
    try:
        rs.restore(data.decode("utf-8", "surrogateescape"), noflush=noflush, counters=counters)
    except PynfError as e:
        assert "\n" not in str(e) and len(str(e)) < 600
        assert e.line is None or e.line >= 1
        return
    _exact_round_trip(rs)
