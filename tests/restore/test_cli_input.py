"""The CLI reads restore input as iptables-restore does: bytes, no newline translation.

Every recorded case with a carriage return (tests/restore/cases/crlf_*.rules,
sem_crlf.rules) is given to ``pynf save`` as a file and to ``pynf restore`` on
stdin: the exit status and the blamed line are the kernel's (a text-mode read
would turn ``*filter\\r\\n`` into ``*filter\\n`` and accept what iptables refuses).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from pynetfilter.cli.main import main
from tests.restore.test_scripts import kernel_line
from tools import cases as C

CR_CASES = sorted(p for p in C.SCRIPT_KERNEL.glob("*.json")
                  if b"\r" in (C.SCRIPT_CASES / f"{p.stem}.rules").read_bytes())


def test_there_are_cr_cases() -> None:
    assert len(CR_CASES) >= 15


def _flags(data: dict) -> list[str]:
    return ["-c"] if "--counters" in data["flags"] else []


@pytest.mark.parametrize("path", CR_CASES, ids=[p.stem for p in CR_CASES])
def test_save_reads_file_bytes(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(path.read_text())
    src = C.SCRIPT_CASES / data["source"]
    rc = main(["save", *_flags(data), str(src)])
    err = capsys.readouterr().err
    assert rc == data["rc"], err
    if rc:
        assert f"line {kernel_line(data['stderr'])}:" in err, err


class _Stdin(io.TextIOWrapper):
    """A text stdin over bytes, as the interpreter gives one (its .buffer holds the bytes)."""


@pytest.mark.parametrize("path", CR_CASES, ids=[p.stem for p in CR_CASES])
def test_restore_reads_stdin_bytes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(path.read_text())
    raw = (C.SCRIPT_CASES / data["source"]).read_bytes()
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(raw), encoding="utf-8", newline=None))
    rc = main(["restore", "--state", str(tmp_path / "state"), *_flags(data)])
    err = capsys.readouterr().err
    assert rc == data["rc"], err
    if rc:
        assert f"line {kernel_line(data['stderr'])}:" in err, err
