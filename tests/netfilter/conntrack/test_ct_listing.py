"""conntrack -L text and the JSON state; the ``pynf conntrack`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ct_helpers import A, B, handshake, through, udp
from hypothesis import given
from hypothesis import strategies as st

from pynetfilter.cli.main import main
from pynetfilter.errors import PynfError
from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.conntrack.listing import StateError, from_json, to_json
from tests.fuzzing import examples

KERNEL = Path(__file__).parent / "kernel"


def test_accounting_format() -> None:
    ct = Conntrack(acct=True)
    through(ct, udp(A, B, 5000, 53, b"abc"), 0.0)
    assert ct.listing(0.5) == ("udp      17 29 src=10.233.71.1 dst=10.233.71.2 sport=5000 dport=53 packets=1 "
                               "bytes=31 [UNREPLIED] src=10.233.71.2 dst=10.233.71.1 sport=53 dport=5000 "
                               "packets=0 bytes=0 mark=0 use=1\n")


def test_json_round_trip() -> None:
    ct = Conntrack()
    handshake(ct)
    through(ct, udp(A, B, 5000, 53), 1.0)
    conns, now, acct = from_json(to_json(ct.entries(2.0), 2.0, False))
    again = Conntrack()
    for c in conns:
        again.add(c)
    assert again.listing(now) == ct.listing(2.0) and not acct
    # The loaded TCP state goes on tracking.
    p = through(again, udp(B, A, 53, 5000), 3.0, incoming=False)
    assert p.meta.ctinfo == 3


@pytest.mark.parametrize("text", ["[]", "{", '{"pynf-conntrack": 1, "now": 0, "entries": [{"orig": 1}]}'])
def test_bad_state(text: str) -> None:
    with pytest.raises(StateError):
        from_json(text)


def test_cli_feeds_captures_and_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "ct.json"
    cap = str(KERNEL / "udp_unanswered.pcap")
    assert main(["conntrack", "--state", str(state), "--capture", cap]) == 0
    assert main(["conntrack", "--state", str(state), "-L", "-o", "extended"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ipv4     2 udp      17 30 src=10.233.71.1 dst=10.233.71.2 sport=")
    assert "[UNREPLIED]" in out
    assert err == "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n"


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["conntrack", "--state", str(bad), "-L"]) == 1
    assert main(["conntrack", "--capture", str(bad), "-L"]) == 1
    _out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 2 and all(x.startswith("pynf: ") for x in lines)


def _state_doc() -> str:
    from ct_helpers import tcp

    ct = Conntrack(acct=True)
    handshake(ct)
    through(ct, udp(A, B, 5000, 53, b"abc"), 1.0)
    through(ct, tcp(A, B, 4000, 80, 0x02, 77), 1.5)
    return to_json(ct.entries(2.0), 2.0, True)


@st.composite
def _mutated_state(draw: st.DrawFn) -> str:
    doc = json.loads(_state_doc())
    leaves: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            leaves.append((node, k))
            walk(v)

    walk(doc)
    for _ in range(draw(st.integers(1, 4))):
        node, key = draw(st.sampled_from(leaves))
        node[key] = draw(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                                   st.text(max_size=8), st.just([]), st.just({}), st.just([1, 2])))
    return json.dumps(doc)


@examples(400)
@given(_mutated_state())
def test_mutated_state_loads_or_says_why(text: str) -> None:
    """A hand-edited or damaged state file is refused in one line, or loads and keeps tracking."""
    try:
        conns, now, _acct = from_json(text)
    except PynfError as e:
        assert "\n" not in str(e)
        return
    ct = Conntrack()
    for c in conns:
        ct.add(c)
    ct.listing(now)
    from ct_helpers import tcp

    for pkt, incoming in ((udp(B, A, 53, 5000), False), (tcp(B, A, 80, 4000, 0x12, 5), False),
                          (tcp(A, B, 4000, 80, 0x10, 78), True)):
        through(ct, pkt, now + 1, incoming=incoming)
    ct.listing(now + 2)
