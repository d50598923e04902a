"""fast_line (a restore line's text straight to its rule) against the full parser.

Whatever fast_line answers must be exactly what splitting the line into words
and running do_parse gives; where it is not sure it declines, and the line
goes the full way, so a refusal always has the full parser's words.  Checked
on generated kube-proxy rulesets (every generator option), on every restore
case file, on refused lines, and on lines mutated at random.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from pynetfilter.bench.kubegen import generate, make_services
from pynetfilter.errors import PynfError
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.syntax import fastparse
from pynetfilter.syntax.command import CommandParser
from pynetfilter.syntax.fastparse import fast_line
from pynetfilter.syntax.restore import rule_words
from tools import cases as C


def _structure(rs: Ruleset) -> list[object]:
    """Everything a ruleset holds, compared by value (not by object identity)."""
    out: list[object] = []
    for name, table in rs.tables.items():
        out.append(name)
        for cname, ch in table.chains.items():
            out.append((cname, ch.policy, ch.packets, ch.bytes))
            out.extend((r.spec(), r.packets, r.bytes) for r in ch.rules)
    return out


def _load(text: str, fast: bool, *, noflush: bool = False, counters: bool = False,
          ipsets: dict[str, str] | None = None) -> tuple[Ruleset, str | None]:
    old = fastparse.ENABLED
    fastparse.ENABLED = fast
    fastparse.CACHE.ext.clear()
    rs = Ruleset()
    rs.ipsets.update(ipsets or {})
    try:
        rs.restore(text, noflush=noflush, counters=counters)
        err = None
    except PynfError as e:
        err = f"{type(e).__name__} status={e.status} line={e.line}: {e}"
    finally:
        fastparse.ENABLED = old
    return rs, err


def _same(text: str, **kw: object) -> str | None:
    fast, ferr = _load(text, True, **kw)  # type: ignore[arg-type]
    full, uerr = _load(text, False, **kw)  # type: ignore[arg-type]
    assert ferr == uerr
    assert fast.save(counters=True, header=False) == full.save(counters=True, header=False)
    assert _structure(fast) == _structure(full)
    return ferr


GENERATED = {
    "plain": dict(services=40, endpoints=10),
    "nodeports": dict(services=30, endpoints=3, nodeports=0.6),
    "affinity": dict(services=30, endpoints=4, affinity=0.5),
    "no_endpoints": dict(services=30, endpoints=2, no_endpoints=0.4),
    "external": dict(services=30, endpoints=2, external=0.5),
    "lb": dict(services=30, endpoints=2, lb=0.6),
    "lb_local": dict(services=30, endpoints=2, lb=0.8, local=0.7),
    "everything": dict(services=60, endpoints=3, nodeports=0.6, affinity=0.4, no_endpoints=0.25,
                       external=0.3, lb=0.3, local=0.5),
}


def _kube(opts: dict[str, float], base: bool) -> str:
    o = {"nodeports": 0.0, "affinity": 0.0, "no_endpoints": 0.0, "external": 0.0, "lb": 0.0,
         "local": 0.0, **opts}
    svcs = make_services(int(o.pop("services")), int(o.pop("endpoints")), **o)
    return generate(svcs, base=base)


@pytest.mark.parametrize("base", [False, True], ids=["sync", "base"])
@pytest.mark.parametrize("name", list(GENERATED))
def test_kube_proxy_rulesets_load_the_same(name: str, base: bool) -> None:
    text = _kube(GENERATED[name], base)
    assert _same(text) is None
    assert _same(text, noflush=True, counters=True) is None
    # The fast path must carry the whole of it.
    misses = [line for table, line in _rule_lines(text) if fast_line(line, table) is None]
    assert not misses, misses[:5]


def _rule_lines(text: str) -> list[tuple[str, str]]:
    out = []
    table = "filter"
    for line in text.split("\n"):
        if line.startswith("*"):
            table = line[1:].strip()
        elif line[:1] in ("-", "["):
            out.append((table, line + "\n" if '"' in line else line))
    return out


SCRIPTS = sorted(C.SCRIPT_KERNEL.glob("*.json"))


def _ipsets(stem: str) -> dict[str, str]:
    from pynetfilter.ext.set import ipset_family

    out = {}
    path = C.SCRIPT_CASES / f"{stem}.ipset"
    if path.exists():
        for line in path.read_text().splitlines():
            words = line.split()
            if len(words) > 2 and words[0] == "create":
                out[words[1]] = ipset_family(words[2:])
    return out


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_restore_cases_load_the_same(path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(path.read_text())
    text = (C.SCRIPT_CASES / data["source"]).read_bytes().decode("utf-8", "surrogateescape")
    flags = data["flags"]
    kw = {"noflush": "--noflush" in flags or "-n" in flags,
          "counters": "--counters" in flags or "-c" in flags}
    _same(text, ipsets=_ipsets(path.stem), **kw)
    # And each way the flags could have been.
    _same(text, ipsets=_ipsets(path.stem), noflush=not kw["noflush"], counters=not kw["counters"])


def _full(line: str, table: str, counters: bool = False):  # type: ignore[no-untyped-def]
    ctrs, argv = rule_words(line)
    if counters and ctrs is not None:
        argv = ["--set-counters", ctrs[0], ctrs[1], *argv]
    return CommandParser(argv, in_restore=True, default_table=table).parse()


def _check_line(line: str, table: str, counters: bool = False) -> bool:
    """fast_line's answer for one line is the full parser's (or it declines); True if it answered."""
    fast = fast_line(line, table, None, counters)
    if fast is None:
        return False
    try:
        full = _full(line, table, counters)
    except PynfError as e:
        pytest.fail(f"fast path accepted what the full parser refuses ({e}): {line!r}")
    assert [r.spec() for r in fast.rules] == [r.spec() for r in full.rules], line
    assert [(r.packets, r.bytes) for r in fast.rules] == [(r.packets, r.bytes) for r in full.rules], line
    assert [r.save_spec() for r in fast.rules] == [r.save_spec() for r in full.rules], line
    for field in ("command", "table", "chain", "jump", "goto", "jumpto", "counters", "rulenum", "verbose"):
        assert getattr(fast, field) == getattr(full, field), (field, line)
    return True


REFUSED = [
    ("nat", "-A PREROUTING -j DROP"),  # the nat table is not for filtering
    ("nat", "-A PREROUTING -g DROP"),
    ("filter", "-A ABCDEFGHIJABCDEFGHIJABCDEFGHIJ -j ACCEPT"),  # chain name too long
    ("filter", "-A INPUT -s 300.1.1.1 -j ACCEPT"),
    ("filter", "-A INPUT -s 10.0.0.1/33 -j ACCEPT"),
    ("filter", "-A INPUT -m nosuchmatch -j ACCEPT"),
    ("filter", "-A INPUT -j NOSUCHTARGETORCHAIN"),
    ("filter", "-A INPUT -p tcp -m tcp -p udp -j ACCEPT"),
    ("filter", "-A INPUT -s 10.0.0.1 -m tcp -p tcp -s 10.0.0.2 -j ACCEPT"),
    ("filter", "-A INPUT -o eth0 -j ACCEPT"),
    ("filter", "-A OUTPUT -m comment --comment x -i eth0 -j ACCEPT"),
    ("filter", "-A INPUT -i abcdefghijklmnopq -j ACCEPT"),
    ("filter", "-A INPUT ! -p all -j ACCEPT"),
    ("filter", "-A INPUT -p nosuchproto -j ACCEPT"),
    ("filter", "-A INPUT -m tcp --dport 80 -j ACCEPT"),  # tcp without -p tcp (kernel check)
    ("nat", "-A PREROUTING -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:99999"),
    ("nat", "-A PREROUTING -j DNAT --to-destination 10.0.0.1:80"),  # ports need -p
    ("nat", "-A PREROUTING -m tcp -p tcp -j DNAT --to-destination 10.0.0.256:80"),
    ("nat", "-A PREROUTING -m tcp -p tcp -j DNAT"),
    ("filter", "-A INPUT -m statistic --mode random --probability 2 -j ACCEPT"),
    ("filter", "-A INPUT -m comment --comment"),
    ("filter", "-A INPUT -m comment --comment x -j"),
    ("filter", "-A INPUT -j ACCEPT -j DROP"),
    ("filter", "-A INPUT -j ACCEPT -g X"),
    ("filter", "-A INPUT -j ACCEPT --nosuch"),
    ("filter", '-A INPUT -m comment --comment "a -j ACCEPT'),
    ("filter", '-A INPUT -m comment --comment "a -m b" -j ACCEPT -m tcp'),
    ("filter", "-A INPUT -j MARK --set-mark"),
    ("filter", "-A INPUT -j KUBE-X --x"),
    ("filter", "-A INPUT ! -j ACCEPT"),
    ("filter", "-A INPUT ! ! -s 1.2.3.4"),
    ("filter", "-A INPUT -m mark ! --mark 0x1 ! --mark 0x2 -j ACCEPT"),
]


def test_refused_lines_give_the_full_parsers_error() -> None:
    refused = 0
    for table, line in REFUSED:
        text = f"*{table}\n:KUBE-X - [0:0]\n{line}\nCOMMIT\n"
        refused += _same(text) is not None
        _check_line(line + "\n" if '"' in line else line, table)
    assert refused >= len(REFUSED) - 2  # an unterminated quote just ends its word


def test_lines_read_the_same_as_words() -> None:
    text = _kube(GENERATED["everything"], True)
    lines = _rule_lines(text)
    lines += [(t, "[12:3456] " + line) for t, line in lines[:50]]
    lines += [(t, line) for t, line in REFUSED]
    answered = sum(_check_line(line, t, counters) for t, line in lines for counters in (False, True))
    assert answered >= len(lines)


_PIECES = ["-m", "-j", "-g", "!", "-s", "-d", "-p", "tcp", "udp", "-i", "-o", "eth0", "--dport", "80",
           "--comment", '"a b"', '"', "", "10.0.0.1", "10.0.0.0/8", "01.2.3.4", "1.2.3", "DNAT", "ACCEPT",
           "DROP", "--to-destination", "1.2.3.4:80", "1.2.3.4:080", "comment", "statistic", "--mode",
           "random", "--probability", "0.5", "KUBE-MARK-MASQ", "-f", "--set-xmark", "MARK", "0x1",
           "-A", "--ctstate", "NEW", "conntrack", "mark", "--mark", "\\", "\t", "x=y", "--src", "-j ACCEPT"]


def test_mutated_lines_read_the_same_as_words() -> None:
    rnd = random.Random(1809)
    text = _kube(GENERATED["everything"], True)
    lines = _rule_lines(text)
    answered = 0
    for _ in range(6000):
        table, line = rnd.choice(lines)
        words = line.rstrip("\n").split(" ")
        for _k in range(rnd.randint(1, 3)):
            op = rnd.randrange(4)
            at = rnd.randrange(2, len(words) + 1)
            if op == 0:
                words.insert(at, rnd.choice(_PIECES))
            elif op == 1 and at < len(words):
                del words[at]
            elif op == 2 and at < len(words):
                words[at] = rnd.choice(_PIECES)
            elif at < len(words) - 1:
                words[at], words[at + 1] = words[at + 1], words[at]
        mutated = " ".join(words)
        if rnd.randrange(8) == 0:
            mutated = mutated.replace(" ", "  ", 1)
        if '"' in mutated:
            mutated += "\n"
        table = rnd.choice((table, "filter", "nat", "mangle", "raw"))
        answered += _check_line(mutated, table, rnd.randrange(2) == 0)
        if rnd.randrange(20) == 0:  # and the whole restore: the same rules, or the same refusal
            _same(f"*{table}\n:KUBE-MARK-MASQ - [0:0]\n{mutated.rstrip()}\nCOMMIT\n")
    assert answered > 300


def _fgets_reference(text: str) -> list[tuple[int, str, bool]]:
    """fgets()'s lines the plain way: 10239-byte pieces, a NUL ending its line."""
    out: list[tuple[int, str, bool]] = []
    data = text.encode("utf-8", "surrogateescape")
    n = 0
    for raw in re.findall(rb"[^\n]*\n|[^\n]+", data):
        while raw:
            piece, raw = raw[:10239], raw[10239:]
            n += 1
            ended = piece.endswith(b"\n")
            piece = piece[:-1] if ended else piece
            if b"\0" in piece:
                piece, ended = piece[:piece.index(b"\0")], False
            out.append((n, piece.decode("utf-8", "surrogateescape"), ended))
    return out


@pytest.mark.parametrize("text", [
    "", "\n", "a", "a\n", "a\nb", "a\nb\n", "\n\nx\n\n", "a\0b\nc", "\0\n",
    "x" * 10238 + "\ny", "x" * 10239 + "\ny\n", "é" * 6000 + "\n", "x" * 30000, "a\r\nb\r\n", "a\rb\n",
])
def test_fgets_lines(text: str) -> None:
    from pynetfilter.syntax.restore import fgets_lines

    assert list(fgets_lines(text)) == _fgets_reference(text)
