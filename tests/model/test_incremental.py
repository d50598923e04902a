"""The incremental path (copy-on-write work tables, the incremental check) against the reference
path (a whole copy of the table, checked whole), on random command sequences and restore blocks.

After every step both rulesets must agree on everything observable: the result or the error
(type, message, line), the saved text with counters, the generation, and which rule objects
survived where.  The incremental ruleset's check state must be what a full check of its tables
finds, and every chain that follows a compiled form must reach its rules by its edit log.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pynetfilter.errors import PynfError
from pynetfilter.model import incremental
from pynetfilter.model.chains import ChainDict
from pynetfilter.model.check import mark_source_chains
from pynetfilter.model.ruleset import Chain, Ruleset
from pynetfilter.model.state import CheckState, build_state, entries
from tests.fuzzing import examples

BASE = """*filter
:INPUT ACCEPT [5:500]
:FORWARD DROP [1:100]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
[1:10] -A INPUT -j A
[2:20] -A A -p tcp -j B
[0:0] -A A -j RETURN
[3:30] -A A -j B
[4:40] -A B -j LOG
-A B -j IDLETIMER --timeout 5 --label t1
-A B -j RATEEST --rateest-name e1 --rateest-interval 1s --rateest-ewmalog 4s
-A C -m rateest --rateest e1 --rateest-bps1 10 --rateest-gt -j ACCEPT
-A C -m set --match-set s1 src -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [1:1]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [3:0]
:POSTROUTING ACCEPT [2:2]
:A - [0:0]
:C - [0:0]
:D - [0:0]
[4:40] -A PREROUTING -j A
[5:50] -A A -p tcp -j DNAT --to-destination 1.2.3.4
-A POSTROUTING -j C
[6:60] -A C -j MASQUERADE
COMMIT
"""

USER = ["A", "B", "C", "D"]
BUILTIN = {"filter": ["INPUT", "FORWARD", "OUTPUT"], "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]}
MATCH = ["", "", "", "-p tcp", "-s 10.0.0.1"]
# Targets whose checkentry can refuse: by hook (REJECT, DNAT, MASQUERADE, REDIRECT, SNAT, owner), by a
# missing object (rateest, set), by a shared object's other parameters (RATEEST, IDLETIMER).
TARGETS = {
    "filter": ["-j REJECT", "-m owner --uid-owner 0 -j LOG",
               "-j RATEEST --rateest-name e1 --rateest-interval 1s --rateest-ewmalog 4s",
               "-j RATEEST --rateest-name e1 --rateest-interval 1s --rateest-ewmalog 8s",
               "-m rateest --rateest e1 --rateest-bps1 10 --rateest-gt -j ACCEPT",
               "-j IDLETIMER --timeout 5 --label t1", "-j IDLETIMER --timeout 5 --label t1 --alarm",
               "-m set --match-set s1 src -j DROP"],
    "nat": ["-j DNAT --to-destination 1.2.3.4", "-j MASQUERADE", "-j SNAT --to-source 1.2.3.4",
            "-j REDIRECT"],
}


@st.composite
def rule_specs(draw: st.DrawFn, table: str) -> str:
    match = draw(st.sampled_from(MATCH))
    kind = draw(st.integers(0, 9))
    if kind < 4:  # jumps and gotos make the walked graph
        target = f"-{draw(st.sampled_from('jjg'))} {draw(st.sampled_from(USER))}"
    elif kind < 6:  # with no match, an unconditional verdict: the walk stops there
        target = "-j " + draw(st.sampled_from(["ACCEPT", "DROP", "RETURN"]))
    elif kind < 9:
        target = draw(st.sampled_from(TARGETS[table]))
    else:
        target = ""
    counters = draw(st.sampled_from(["", "", "-c 7 70 "]))
    return f"{counters}{match} {target}".strip()


@st.composite
def commands(draw: st.DrawFn) -> str:
    table = draw(st.sampled_from(["filter", "nat"]))
    chain = draw(st.sampled_from(USER + USER + BUILTIN[table]))
    user = draw(st.sampled_from(USER))
    n = draw(st.integers(1, 3))
    spec = draw(rule_specs(table))
    op = draw(st.sampled_from("AAAAIIIRRDDDNXXEFZPLC"))
    tail = {
        "A": f"-A {chain} {spec}", "I": f"-I {chain} {draw(st.sampled_from(['', str(n)]))} {spec}",
        "R": f"-R {chain} {n} {spec}", "C": f"-C {chain} {spec}",
        "D": f"-D {chain} {n}" if draw(st.booleans()) else f"-D {chain} {spec}",
        "N": f"-N {user}", "X": f"-X {draw(st.sampled_from([user, user, user, '']))}",
        "E": f"-E {user} {draw(st.sampled_from(USER + ['T']))}",
        "F": f"-F {draw(st.sampled_from([chain, chain, '']))}",
        "Z": f"-Z {draw(st.sampled_from([chain, chain + ' ' + str(n), '']))}",
        "P": f"-P {chain} {draw(st.sampled_from(['ACCEPT', 'DROP']))}",
        "L": f"-L {draw(st.sampled_from([chain, '']))} -Z -n",
    }[op]
    return f"-t {table} {tail}"


@st.composite
def blocks(draw: st.DrawFn) -> tuple[str, bool, bool]:
    table = draw(st.sampled_from(["filter", "nat"]))
    lines = [f"*{table}"]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        chain = draw(st.sampled_from(USER + BUILTIN[table]))
        user = draw(st.sampled_from(USER + ["T"]))
        if kind < 2:
            lines.append(f":{chain} {'ACCEPT [3:4]' if chain in BUILTIN[table] else '- [0:0]'}")
        elif kind < 6:
            prefix = draw(st.sampled_from(["", "[9:99] "]))
            op = draw(st.sampled_from(["A", "A", "I", "R"]))
            lines.append(f"{prefix}-{op} {chain} {'1 ' if op == 'R' else ''}{draw(rule_specs(table))}")
        else:
            lines.append(draw(st.sampled_from([f"-D {chain} 1", f"-X {user}", f"-E {user} {chain}",
                                               f"-E {chain} {user}", f"-F {chain}", f"-Z {chain}",
                                               f"-N {user}"])))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n", draw(st.integers(0, 3)) > 0, draw(st.booleans())


steps = st.one_of(commands(), commands(), commands(), blocks(), st.sampled_from(["+s1", "-s1"]))


def _run(rs: Ruleset, step: Any) -> Any:
    try:
        if isinstance(step, tuple):
            text, noflush, counters = step
            rs.restore(text, noflush=noflush, counters=counters)
            return None
        if step in ("+s1", "-s1"):
            if step == "+s1":
                rs.ipsets["s1"] = "inet"
            else:
                rs.ipsets.pop("s1", None)
            return None
        return rs.apply(step)
    except PynfError as e:
        return (type(e).__name__, str(e), e.line)


def _rules(rs: Ruleset) -> list[tuple[str, str, int, Any]]:
    return [(t.name, c.name, i, r) for t in rs.tables.values() for c in t.chains.values()
            for i, r in enumerate(c.rules)]


def _survivors(before: list[tuple[str, str, int, Any]], rs: Ruleset) -> list[Any]:
    """Where each rule now was before the step (None: a new rule object)."""
    was = {id(r): (t, c, i) for t, c, i, r in before}
    return [(t, c, i, was.get(id(r))) for t, c, i, r in _rules(rs)]


def _view(st_: CheckState) -> dict[str, Any]:
    """The state with nodes named (numbers differ between an updated and a rebuilt state)."""
    name = st_.name_of
    assert {name[n]: n for n in name} == st_.node_of
    return {
        "chains": sorted(st_.node_of),
        "stop": {name[n]: s for n, s in st_.stop.items()},
        "out": {name[x]: {name[y]: c for y, c in entries(st_.out, x).items()} for x in st_.out},
        "masks": {name[n]: m for n, m in st_.masks.items()},
        "sup": {name[n]: s for n, s in st_.sup.items()},
        "referrers": {name[y]: {name[x]: c for x, c in entries(st_.referrers, y).items()}
                      for y in st_.referrers},
        "shared": st_.shared, "rateest": st_.rateest, "builtin": sorted(name[n] for n in st_.builtin),
    }


def _check_state(inc: Ruleset, ref: Ruleset) -> None:
    for name, table in inc.tables.items():
        ref_marks = mark_source_chains(ref.tables[name])
        state = table.checked
        if state is None:
            continue
        nodes = {c: state.node_of[c] for c in table.chains}
        assert {c: (state.masks.get(n, 0), state.walked(n, len(table.chains[c].rules)))
                for c, n in nodes.items()} == ref_marks
        fresh = build_state(table, mark_source_chains(table), state.ipsets, frozenset())
        assert _view(state) == _view(fresh)


class _Compiled:
    """What the fast path compiles a chain to, as far as the edit log is concerned: its rules."""

    def __init__(self, rules: list[Any]) -> None:
        self.rules = list(rules)


def _follow(rs: Ruleset, recompile: int) -> None:
    """Every chain following a compiled form reaches its rules by replaying its edit log; some
    chains are compiled afresh, as the fast path does when it looks at them."""
    for t in rs.tables.values():
        for i, c in enumerate(t.chains.values()):
            if c.base is not None:
                rules = list(c.base[0].rules)
                for edit in c.edits:
                    if edit[0] == "insert":
                        rules.insert(edit[1], edit[2])
                    elif edit[0] == "replace":
                        rules[edit[1]] = edit[2]
                    elif edit[0] == "delete":
                        del rules[edit[1]]
                    else:
                        rules = []
                assert len(rules) == len(c.rules) and all(a is b for a, b in zip(rules, c.rules, strict=True))
            if (i + recompile) % 3 == 0:
                c.base, c.edits = (_Compiled(c.rules), 0), []


def _pair() -> tuple[Ruleset, Ruleset]:
    inc, ref = Ruleset(), Ruleset()
    ref.incremental = False
    for rs in (inc, ref):
        rs.ipsets["s1"] = "inet"
        rs.restore_saved(BASE)
    return inc, ref


def _step(inc: Ruleset, ref: Ruleset, step: Any, recompile: int = 0) -> None:
    before = (_rules(inc), _rules(ref))
    got, want = _run(inc, step), _run(ref, step)
    assert got == want, step
    assert inc.save(counters=True, header=False) == ref.save(counters=True, header=False), step
    assert inc.generation == ref.generation
    assert [list(t.chains) for t in inc.tables.values()] == [list(t.chains) for t in ref.tables.values()]
    assert _survivors(before[0], inc) == _survivors(before[1], ref), step
    _check_state(inc, ref)
    _follow(inc, recompile)


@examples(300)
@given(st.lists(steps, min_size=5, max_size=30), st.integers(0, 2))
def test_incremental_matches_reference(plan: list[Any], recompile: int) -> None:
    inc, ref = _pair()
    _follow(inc, recompile)
    for step in plan:
        _step(inc, ref, step, recompile)


def _block(table: str, *lines: str, noflush: bool = True) -> tuple[str, bool, bool]:
    return "\n".join([f"*{table}", *lines, "COMMIT"]) + "\n", noflush, True


# Cases the random plans meet rarely, each where a shortcut of the incremental path would show.
SCENARIOS = {
    "hook bits flow down every edge": ["-t filter -N D", "-t filter -A C -j A", "-t filter -A C -j D",
                                       "-t filter -A FORWARD -j C", "-t filter -D FORWARD 1"],
    "unreachable loop made reachable": ["-t filter -A C -j C", "-t filter -A OUTPUT -p tcp -j C"],
    "loop through two new chains": ["-t filter -N D", "-t filter -A D -j C", "-t filter -A C -g D",
                                    "-t filter -I FORWARD -j D"],
    "new unreached rule refused at mask 0": ["-t filter -A A -m rateest --rateest e9 --rateest-bps1 1 "
                                             "--rateest-gt -j ACCEPT"],
    "rule after the stop exposed by -R": ["-t filter -R A 2 -p udp -j ACCEPT", "-t filter -R A 2 -j RETURN",
                                          "-t filter -D A 2"],
    "stop deleted, the rules after it walked": ["-t filter -D A 2", "-t filter -I A 2 -j RETURN",
                                                 "-t filter -I A 2 -j DROP", "-t filter -D A 2"],
    "stop moved by -I before it": ["-t filter -I A 1 -j ACCEPT", "-t filter -D A 1",
                                   "-t filter -I A 2 -j DROP", "-t filter -D A 3"],
    "shared object clash": ["-t filter -A C -j IDLETIMER --timeout 5 --label t1 --alarm",
                            "-t filter -A C -j RATEEST --rateest-name e1 --rateest-interval 1s "
                            "--rateest-ewmalog 8s"],
    "set destroyed under a rule": ["-t filter -A C -m set --match-set s1 src -j DROP", "-s1",
                                   "-t nat -A D -j LOG", "-t filter -A C -j LOG", "+s1",
                                   "-t filter -A C -j LOG"],
    "estimator removed under a rule": ["-t filter -D B 3", "-t filter -A C -j LOG", "-t filter -A C -j LOG",
                                       "-t filter -D C 1", "-t filter -A C -j LOG"],
    "jump added then chain renamed in one block": [
        _block("filter", "-A B -j C", "-E C T", "-A T -j REJECT"), "-t filter -X T", "-t filter -F B",
        "-t filter -X T"],
    "jump added then chain deleted in one block": [_block("filter", "-A B -j C", "-X C"),
                                                   _block("filter", "-D B 2", "-X C", "-N C")],
    "renamed in place": ["-t filter -E A T", "-t filter -N A", "-t filter -E B X", "-t filter -E T B",
                         "-t filter -E A T", "-t filter -X T", "-t filter -N T"],
    "renames swapped in one block": [_block("filter", "-E A T", "-E B A", "-E T B"),
                                     _block("nat", "-E A T", "-N A", "-A A -j T", "-A T -j REDIRECT")],
    "chain deleted and made again": [_block("filter", "-F A", "-D INPUT 1", "-X A", ":A - [0:0]",
                                            "-A A -j B", "-A OUTPUT -j A")],
    "refused in two chains": [_block("nat", "-A C -j DNAT --to-destination 1.1.1.1",
                                     "-A POSTROUTING -j REDIRECT"), "-t nat -A C -j REDIRECT"],
    "two refused rules in one chain": [_block("nat", "-A C -j DNAT --to-destination 1.1.1.1",
                                              "-I C 1 -j REDIRECT")],
    "a refused block, then the same chains": [_block("nat", "-A C -j A", "-A D -j LOG"),
                                              "-t nat -A D -j A", "-t nat -A POSTROUTING -j D"],
    "whole table restored": [_block("filter", ":A - [0:0]", "-A INPUT -j A", "-A A -j REJECT", noflush=False),
                             "-t filter -A A -j LOG"],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str) -> None:
    inc, ref = _pair()
    for step in SCENARIOS[name]:
        _step(inc, ref, step)


def test_kube_service_add_stays_incremental(monkeypatch: Any) -> None:
    """Adding a Service (chains, rules, the KUBE-SERVICES jump) never checks the whole table."""
    rs = Ruleset()
    rs.restore_saved("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n"
                     "-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\n"
                     "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n")
    full: list[str] = []
    monkeypatch.setattr(incremental, "check_table", lambda t, *a: full.append(t.name))
    for c in ["-N KUBE-SVC-X", "-N KUBE-SEP-X", "-A KUBE-SEP-X -s 10.1.0.5/32 -j KUBE-MARK-MASQ",
              "-A KUBE-SEP-X -p tcp -j DNAT --to-destination 10.1.0.5:80", "-A KUBE-SVC-X -j KUBE-SEP-X",
              "-I KUBE-SERVICES 1 -d 10.0.0.5/32 -p tcp --dport 80 -j KUBE-SVC-X",
              "-D KUBE-SERVICES 1", "-E KUBE-SEP-X KUBE-SEP-Y", "-F KUBE-SVC-X", "-X KUBE-SVC-X"]:
        rs.apply(f"-t nat {c}")
    rs.restore("*nat\n:KUBE-SVC-Z - [0:0]\n-A KUBE-SVC-Z -j KUBE-SEP-Y\n-A KUBE-SERVICES -j KUBE-SVC-Z\n"
               "COMMIT\n", noflush=True)
    assert full == []
    state = rs.tables["nat"].checked
    assert state is not None
    assert state.masks[state.node_of["KUBE-SEP-Y"]] == 0b1001  # PREROUTING and OUTPUT


def test_refusal_is_the_full_checks(monkeypatch: Any) -> None:
    """A rule refused for its hooks is reported without a check of the whole table; a loop is
    checked whole (the message is the walk's path)."""
    rs = _pair()[0]
    before = rs.save(counters=True, header=False)
    full: list[str] = []
    check_table = incremental.check_table
    monkeypatch.setattr(incremental, "check_table", lambda t, *a: full.append(t.name) or check_table(t, *a))
    for c, text in [("-t nat -A C -j DNAT --to-destination 1.1.1.1",
                     "DNAT target: used from hooks POSTROUTING"),
                    ("-t filter -A B -j A", "chain loop reachable from INPUT: A -> B -> A (ELOOP)")]:
        try:
            rs.apply(c)
        except PynfError as e:
            assert text in str(e)
        else:
            raise AssertionError(c)
    assert full == ["filter"]
    assert rs.save(counters=True, header=False) == before


def test_chain_dict_renames_in_place() -> None:
    d = ChainDict((n, Chain(n)) for n in "abcd")
    d.rename("b", "x")
    d["x"].name = "x"
    d["b"] = Chain("b")  # a new chain takes the free name: it goes last
    d.rename("a", "b2")
    d["b2"].name = "b2"
    d.rename("x", "a")
    d["a"].name = "a"
    del d["c"]
    assert list(d) == ["b2", "a", "d", "b"] == [c.name for c in d.values()]
    assert [n for n, _ in d.items()] == list(d.keys()) == list(dict(d)) == list(d.copy())
    assert list(reversed(d)) == ["b", "d", "a", "b2"] and len(d) == 4 and "x" not in d
