"""Bytes in, bytes out: names, comments and interfaces keep every byte but NUL, in any locale.

The kernel stores what iptables hands it as bytes, and iptables-save prints
them back unchanged (a \\xff in a chain name, Latin-1 in a comment).  pynf reads
files, stdin and its own arguments as bytes and writes the same bytes, whatever
the locale or PYTHONIOENCODING says.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LOCALES = [{"LC_ALL": "C"}, {"LC_ALL": "C.UTF-8"}, {"LC_ALL": "C", "PYTHONIOENCODING": "ascii"},
           {"LC_ALL": "C", "PYTHONIOENCODING": "latin-1"}, {"LANG": "", "LC_ALL": "POSIX"}]
RULES = (b"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:X\xff\xfe - [0:0]\n"
         b'-A INPUT -i e\xff -m comment --comment "caf\xe9 \xc3\xa9t\xc3\xa9 \x01" -j X\xff\xfe\n'
         b"-A X\xff\xfe -j LOG --log-prefix \"\xc0\xaf \"\nCOMMIT\n")


def _pynf(args: list[bytes], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONIOENCODING",
                                                             "PYTHONUTF8")}
    full.update(env)
    full["SOURCE_DATE_EPOCH"] = "0"
    return subprocess.run([sys.executable.encode(), b"-m", b"pynetfilter.cli.main", *args], input=stdin,
                          capture_output=True, env=full, timeout=60)


def _body(save: bytes) -> bytes:
    return b"".join(ln for ln in save.splitlines(keepends=True) if not ln.startswith(b"#"))


@pytest.mark.parametrize("env", LOCALES, ids=[" ".join(f"{k}={v}" for k, v in e.items()) for e in LOCALES])
def test_save_gives_back_the_bytes(env: dict[str, str]) -> None:
    p = _pynf([b"save", b"-"], env, RULES)
    assert p.returncode == 0, p.stderr
    assert _body(p.stdout) == RULES


@pytest.mark.parametrize("env", LOCALES, ids=[" ".join(f"{k}={v}" for k, v in e.items()) for e in LOCALES])
def test_arguments_are_bytes(env: dict[str, str], tmp_path: Path) -> None:
    state = str(tmp_path / "s.rules").encode()
    for argv in ([b"-N", b"X\xff\xfe"],
                 [b"-A", b"INPUT", b"-i", b"e\xff", b"-m", b"comment", b"--comment",
                  b"caf\xe9 \xc3\xa9t\xc3\xa9 \x01", b"-j", b"X\xff\xfe"],
                 [b"-A", b"X\xff\xfe", b"-j", b"LOG", b"--log-prefix", b"\xc0\xaf "]):
        p = _pynf([b"iptables", b"--state", state, *argv], env)
        assert p.returncode == 0, p.stderr
    p = _pynf([b"save", state], env)
    assert _body(p.stdout) == RULES
    p = _pynf([b"iptables", b"--state", state, b"-S", b"X\xff\xfe"], env)
    assert p.stdout == b"-N X\xff\xfe\n-A X\xff\xfe -j LOG --log-prefix \"\xc0\xaf \"\n"


def test_errors_quote_bytes_escaped(tmp_path: Path) -> None:
    p = _pynf([b"save", b"-"], {"LC_ALL": "C"}, b"*filter\n-A INPUT -j ACC\xffEPT\nCOMMIT\n")
    assert p.returncode == 2
    assert p.stderr == (b'pynf: -: line 2: Couldn\'t load target "ACC\\xffEPT": No such file or directory '
                        b"(did you mean ACCEPT?)\n")


def test_a_huge_line_gives_a_short_error(tmp_path: Path) -> None:
    big = tmp_path / "big.rules"
    big.write_bytes(b"x" * 3_000_000 + b"\n")
    p = _pynf([b"save", str(big).encode()], {"LC_ALL": "C"})
    assert p.returncode == 1 and len(p.stderr) < 200, p.stderr[:300]
    big.write_bytes(b"\0" * 3_000_000)
    p = _pynf([b"save", str(big).encode()], {"LC_ALL": "C"})
    assert p.returncode == 1 and len(p.stderr) < 200 and b"NUL" in p.stderr, p.stderr[:300]
