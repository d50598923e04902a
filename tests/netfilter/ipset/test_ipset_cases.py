"""``pynf ipset`` against the real ipset: every recorded step's exit status, stdout and stderr.

tests/netfilter/ipset/cases/*.cmds are run by tools/record_ipset.py in a fresh network namespace
(ipset and iptables-legacy); here the same steps run through ``pynf ipset --state`` and
``pynf iptables --state`` on one state file.  What the kernel picks at random (the initval of a set
created without one) is masked; iptables steps compare exit status and stdout (iptables' own
error wording is tested elsewhere)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from pynetfilter.cli.main import main
from tools.kernel import available

HERE = Path(__file__).parent
RECORDINGS = sorted((HERE / "kernel").glob("*.json"))
_INITVAL = re.compile(r"initval (0x[0-9a-f]+)")


def _steps() -> list[tuple[str, int, dict, str]]:
    out = []
    for path in RECORDINGS:
        data = json.loads(path.read_text())
        given = " ".join(" ".join(s["argv"]) + (s["stdin"] or "") for s in data["steps"])
        for i, step in enumerate(data["steps"]):
            out.append((path.stem, i, step, given))
    return out


_TIMEOUT = re.compile(r"(?<=timeout )(\d+)")


def _mask(text: str, given: str) -> str:
    return _INITVAL.sub(lambda m: m.group(0) if m.group(1) in given else "initval 0x*", text)


def _same(ours: str, kernel: str) -> bool:
    """Equal, but for an element's seconds left, which may differ by the one second the kernel's
    jiffies and our clock round apart (the kernel prints 5 or 4 for a fresh timeout-5 element)."""
    a, b = ours.splitlines(), kernel.splitlines()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        tx, ty = _TIMEOUT.findall(x), _TIMEOUT.findall(y)
        if (_TIMEOUT.sub("N", x) != _TIMEOUT.sub("N", y) or x.startswith(("Header:", "create "))
                or any(abs(int(p) - int(q)) > 1 for p, q in zip(tx, ty, strict=True))):
            return False
    return True


def _run(state: Path, step: dict, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    argv = step["argv"]
    stdin = step["stdin"] or ""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    rc = main([argv[0], "--state", str(state), *argv[1:]])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("name", [p.stem for p in RECORDINGS])
def test_case_file_matches_ipset(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    for stem, i, step, given in _steps():
        if stem != name:
            continue
        rc, out, err = _run(state, step, capsys, monkeypatch)
        where = f"{name} step {i}: {' '.join(step['argv'])}"
        assert rc == step["rc"], f"{where}: exit {rc}, kernel {step['rc']} ({err.strip()})"
        assert _same(_mask(out, given), _mask(step["out"], given)), f"{where}:\n{out}"
        if step["argv"][0] == "ipset":
            assert _mask(err, given) == _mask(step["err"], given), where


@pytest.mark.skipif(available("ipset", "nfacct") is not None,
                    reason=f"kernel not available: {available('ipset', 'nfacct')}")
@pytest.mark.parametrize("name", [p.stem for p in RECORDINGS])
def test_recording_is_what_ipset_says_today(name: str) -> None:
    from tools import record_ipset as R

    fresh = R.record(HERE / "cases" / f"{name}.cmds")
    assert R.masked(fresh) == R.masked(json.loads((HERE / "kernel" / f"{name}.json").read_text()))


def test_every_case_file_is_recorded() -> None:
    for path in sorted((HERE / "cases").glob("*.cmds")):
        assert (HERE / "kernel" / f"{path.stem}.json").exists(), f"run tools/record_ipset.py {path.stem}"
