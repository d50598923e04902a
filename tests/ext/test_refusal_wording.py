"""Extension refusals say what iptables says (tests/syntax/test_messages.py does this for scripts).

For the recorded rule cases the kernel refused, in the families of messages iptables builds from
its option tables (xtopt_parse_int's "bad value for option", xtables_options_fcheck's exclusions,
libiptc's errno texts, libxt_NAT's port words, ...), pynetfilter's message must contain
iptables' words.  "--opt ! value" is left out: iptables takes "!" as the option's value there,
while pynetfilter reports the word after it first.
"""

from __future__ import annotations

import re

import pytest

from tests.ext.test_corpus import CASES, labels, run_case  # noqa: F401 (labels: a fixture)
from tests.syntax.test_messages import iptables_message, words

FAMILIES = re.compile(
    r'bad value for option "--[\w-]+"( near "[^"]*")?, or out of range|cannot be used together'
    r"|^No chain/target/match by that name|^Numerical result out of range|^Port `|^Need TCP"
    r"|Too many components|invalid portrange|can only be used once|must be specified"
    r"|ICMP type|Argument must have|Shifted portmap|is required|No operation specified"
    r"|[Yy]ou must specify|no physdev option specified|Invalid MAC address specified|Invalid DSCP value"
    r"|could not map name|bad integer value for option|Invalid date|is not a valid day"
)
BANG_VALUE = re.compile(r"--[\w-]+ ! ")


def _cases() -> list[tuple[str, dict, str]]:
    out = []
    for cid, case in CASES:
        msg = iptables_message(case.get("error", "")) if not case["ok"] else None
        if msg and FAMILIES.search(msg) and not BANG_VALUE.search(case["rule"]):
            out.append((cid, case, msg))
    return out


WORDED = _cases()


def test_enough_worded_refusals() -> None:
    assert len(WORDED) >= 300


@pytest.mark.usefixtures("labels")
@pytest.mark.parametrize(("case", "theirs"), [(c, m) for _, c, m in WORDED], ids=[i for i, _, _ in WORDED])
def test_refusal_has_iptables_words(case: dict, theirs: str) -> None:
    ok, *_, ours = run_case(case)
    assert not ok
    assert words(theirs) in words(ours), f"iptables: {theirs!r}\npynetfilter: {ours!r}"
