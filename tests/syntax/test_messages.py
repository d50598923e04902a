"""pynetfilter's refusals say what iptables says, plus where and what was expected.

For every refusal recorded from the kernel (restore cases in tests/restore/kernel,
command cases in tests/syntax/kernel), where iptables-legacy printed its own
message, ours must contain that message's words (quote characters, spacing and
iptables' "Run `dmesg'" advice aside: ours says what dmesg would say).  A
refusal iptables reports only as "line N failed" is checked for the line by
tests/restore/test_scripts.py.  Misspelt targets, chains, matches, options,
tables and policies of the recorded refusals get a "did you mean" hint.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.restore.test_scripts import run_script
from tests.syntax.test_commands import run_steps
from tools import cases as C

_PREFIXES = ("iptables-restore v1.8.9 (legacy): ", "iptables v1.8.9 (legacy): ", "iptables-restore: ",
             "iptables: ")
# Messages iptables prints that name nothing pynetfilter can repeat.
NO_WORDING = {
    "Unknown arg `(null)'": "iptables prints a NULL pointer for an unknown short option",
}


def iptables_message(stderr: str) -> str | None:
    """iptables' own message (first line, program prefixes dropped); None when it says nothing specific."""
    for line in stderr.split("\n"):
        # "Warning: Extension X revision 0 not supported, missing kernel module?" comes first for an
        # extension iptables ships but the kernel lacks; the refusal follows.
        if not line.strip() or line.startswith(("Try `", "Error occurred at line", "Warning: Extension ")):
            continue
        while line.startswith(_PREFIXES):
            line = next(line[len(p):] for p in _PREFIXES if line.startswith(p))
        if not line.strip() or re.fullmatch(r"line \d+ failed", line) or words(line) in _SILENT:
            return None
        return line
    return None


def words(text: str) -> str:
    text = text.replace(". Run `dmesg' for more information.", "").rstrip(".")
    return re.sub(r"[\s`'\"]", "", text)


_SILENT = {words(k) for k in NO_WORDING}


def recorded_refusals() -> list[tuple[str, str, str]]:
    """(case, iptables' message, ours) for every recorded refusal with a message of iptables' own."""
    out = []
    for path in sorted(C.SCRIPT_KERNEL.glob("*.json")):
        data = json.loads(path.read_text())
        msg = iptables_message(data["stderr"]) if data["rc"] else None
        if msg is not None:
            _, err = run_script(path.stem, data)
            out.append((path.stem, msg, err.message if err is not None else ""))
    for path in sorted(C.COMMAND_KERNEL.glob("*.json")):
        data = json.loads(path.read_text())
        _, got = run_steps(data["steps"])
        for step, (_rc, _out, err) in zip(data["steps"], got, strict=True):
            msg = iptables_message(step["error"]) if step["rc"] else None
            if msg is not None:
                out.append((f"{path.stem}: {' '.join(step['argv'])}", msg, err))
    return out


REFUSALS = recorded_refusals()


def test_enough_refusals_are_compared() -> None:
    assert len(REFUSALS) >= 150


@pytest.mark.parametrize(("case", "theirs", "ours"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_message_contains_iptables_wording(case: str, theirs: str, ours: str) -> None:
    assert words(theirs) in words(ours), f"iptables: {theirs!r}\npynetfilter: {ours!r}"


def _errors_of(stem: str) -> dict[str, str]:
    data = json.loads((C.COMMAND_KERNEL / f"{stem}.json").read_text())
    _, got = run_steps(data["steps"])
    return {" ".join(s["argv"]): err for s, (_rc, _o, err) in zip(data["steps"], got, strict=True)}


@pytest.mark.parametrize(("command", "hint"), [
    ("-A INPUT -j ACCPET", "ACCEPT"),
    ("-A INPUT -j accept", "ACCEPT"),
    ("-A INPUT -j MASQERADE", "MASQUERADE"),
    ("-A INPUT -j KUBE-SERVICE", "KUBE-SERVICES"),
    ("-A INPUT -g KUBE-SERVICE", "KUBE-SERVICES"),
    ("-C KUBE-SERVICE -j ACCEPT", "KUBE-SERVICES"),
    ("-A KUBE-SERVICE -j ACCEPT", "KUBE-SERVICES"),
    ("-I KUBE-SERVICE -j ACCEPT", "KUBE-SERVICES"),
    ("-F KUBE-SERVICE", "KUBE-SERVICES"),
    ("-L KUBE-SERVICE", "KUBE-SERVICES"),
    ("-S KUBE-SERVICE", "KUBE-SERVICES"),
    ("-X KUBE-SERVICE", "KUBE-SERVICES"),
    ("-E KUBE-SERVICE X", "KUBE-SERVICES"),
    ("-Z KUBE-SERVICE", "KUBE-SERVICES"),
    ("-P INPT DROP", "INPUT"),
    ("-P INPUT DRPO", "DROP"),
    ("-t filtre -L", "filter"),
    ("-t NAT -S", "nat"),
    ("-A INPUT -p tcp --dprot 22 -j ACCEPT", "--dport"),
    ("-A INPUT -m tpc --dport 22 -j ACCEPT", "tcp"),
    ("-A INPUT --soruce 10.233.0.1 -j ACCEPT", "--source"),
])
def test_misspelling_gets_a_hint(command: str, hint: str) -> None:
    err = _errors_of("messages")[command]
    assert f"(did you mean {hint}?)" in err, err


def test_no_hint_for_unrelated_names() -> None:
    errors = _errors_of("rules")
    assert "did you mean" not in errors["-A INPUT -j NOSUCH"]
    assert "did you mean" not in errors["-A NOSUCH -j ACCEPT"]
