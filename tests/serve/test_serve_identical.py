"""A command answered by ``pynf serve`` prints what it prints alone, byte for byte, and exits alike.

The same script of commands (changes, listings, refusals, usage errors, stdin
input, files named relative to the working directory, a non-UTF-8 byte) runs
in two directories: in one each command runs alone (``PYNF_NO_SERVER=1``), in
the other a server holds the state.  Every command's exit status, stdout and
stderr must be equal, and so must the two state files at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.serving import Served, pynf, visible

S = ("--state", "s.rules")
WEB = "create web hash:ip,port family inet hashsize 1024 maxelem 65536 initval 0x0c0ffee0"
RESTORE_SETS = b"create web2 hash:ip family inet hashsize 64 maxelem 16 initval 0x1\nadd web2 10.233.3.1\n"
EXTRA_SET = "create extra hash:net family inet hashsize 64 maxelem 16 initval 0x2\nadd extra 10.0.0.0/8\n"

# (argv, stdin); argv words may be bytes (a word no locale decodes).
SCRIPT: list[tuple[tuple[str | bytes, ...], bytes | None]] = [
    (("iptables", *S, "-N", "KUBE-SVC-X"), None),
    (("iptables", *S, "-t", "nat", "-N", "KUBE-SVC-X"), None),
    (("iptables", *S, "-t", "nat", "-A", "KUBE-SVC-X", "-p", "tcp", "-j", "DNAT", "--to", "10.233.1.5:8080"),
     None),
    (("iptables", *S, "-t", "nat", "-S", "KUBE-SVC-X"), None),
    (("iptables", *S, "-A", "INPUT", "-j", "DNAT", "--to", "10.233.1.5"), None),  # refused: filter table
    (("iptables", *S, "-A", "NOPE", "-j", "ACCEPT"), None),  # no such chain
    (("iptables", *S, "-t", "bogus", "-L"), None),  # status 3
    (("iptables", *S, "--bogus"), None),  # parameter problem
    (("iptables", *S, "-w", "-W", "10", "-A", "INPUT", "-s", "10.0.0.1", "-j", "ACCEPT"), None),  # warns
    (("iptables", *S, "-W", "10", "-A", "INPUT", "-j", "ACCEPT"), None),  # -W without -w
    (("iptables", *S, "-L", "-n", "-v", "--line-numbers"), None),
    (("iptables", *S, "-C", "INPUT", "-s", "10.0.0.1", "-j", "ACCEPT"), None),
    (("iptables", *S, "-C", "INPUT", "-s", "10.0.0.2", "-j", "ACCEPT"), None),  # Bad rule
    (("iptables", *S, "-t", "raw", "-L", "-n"), None),  # loads the raw table: a write
    (("iptables", *S, "-D", "INPUT", "9"), None),  # index too big
    (("iptables", *S, "-L", "-Z", "INPUT", "-v", "-n"), None),
    (("iptables", *S), None),  # no command
    (("iptables", *S, "-A", "INPUT", "-m", "comment", "--comment", b"caf\xe9 \xff", "-j", "ACCEPT"), None),
    (("iptables", *S, "-S", "INPUT"), None),
    (("ipset", *S, *WEB.split()), None),
    (("ipset", *S, "add", "web", "10.233.1.5,tcp:80"), None),
    (("ipset", *S, "add", "web", "10.233.1.5,tcp:80"), None),  # exists already
    (("ipset", *S, "-exist", "add", "web", "10.233.1.5,tcp:80"), None),
    (("ipset", *S, "test", "web", "10.233.1.5,tcp:80"), None),
    (("ipset", *S, "test", "web", "10.233.1.6,tcp:80"), None),  # not in set: status 1
    (("ipset", *S, "list", "web"), None),
    (("ipset", *S, "list", "nope"), None),
    (("ipset", *S, "restore"), RESTORE_SETS),
    (("ipset", *S, "save", "-file", "saved.ipset"), None),  # written in the client's directory
    (("ipset", *S, "list", "-n"), None),
    (("iptables", *S, "-A", "INPUT", "-m", "set", "--match-set", "web", "dst,dst", "-j", "ACCEPT"), None),
    (("ipset", *S, "destroy", "web"), None),  # in use by a rule
    (("iptables", *S, "--ipsets", "extra.ipset", "-A", "INPUT", "-m", "set", "--match-set", "extra", "src",
      "-j", "DROP"), None),
    (("iptables", *S, "--ipsets", "-", "-A", "FORWARD", "-m", "set", "--match-set", "piped", "src",
      "-j", "DROP"), b"create piped hash:ip family inet hashsize 64 maxelem 8 initval 0x3\n"),
    (("iptables", *S, "--ipsets", "missing.ipset", "-L"), None),  # a file that is not there
    (("restore", *S, "--noflush", "in.rules"), None),
    (("restore", *S, "-n"), b"*filter\n:FROM-STDIN - [0:0]\n-A FROM-STDIN -j RETURN\nCOMMIT\n"),
    (("restore", *S, "-n", "partial.rules"), None),  # the first block stays, the second is refused
    (("restore", *S, "-W", "5"), None),  # --wait-interval without --wait
    (("restore", *S, "--bogus"), None),  # argparse: usage, status 2
    (("restore", *S, "--help"), None),
    (("restore", "in.rules", "--state=s.rules", "-n", "-c"), None),  # --state found anywhere
    (("iptables", *S, "-S"), None),
    (("iptables", *S, "-t", "mangle", "-S"), None),
    (("ipset", *S, "list"), None),
]

# The commands above that change the state: 3 -N/-A, -w -A, -t raw -L, -L -Z, -A comment, ipset create,
# add, restore, -A set, --ipsets extra.ipset, --ipsets -, and 4 restores (one stopped part way).
CHANGES = 17


def _workdir(root: Path, name: str) -> Path:
    d = root / name
    d.mkdir()
    (d / "in.rules").write_text("*filter\n:FROM-FILE - [0:0]\n-A FROM-FILE -p udp --dport 53 -j ACCEPT\n"
                                "COMMIT\n")
    (d / "partial.rules").write_text("*mangle\n-A PREROUTING -j MARK --set-mark 1\nCOMMIT\n"
                                     "*filter\n-A INPUT -j NOPE\nCOMMIT\n")
    (d / "extra.ipset").write_text(EXTRA_SET)
    return d


def test_every_command_prints_the_same(tmp_path: Path) -> None:
    alone, served = _workdir(tmp_path, "alone"), _workdir(tmp_path, "served")
    with Served(served / "s.rules", idle=1000, cwd=served) as srv:
        for argv, stdin in SCRIPT:
            want = pynf(*argv, stdin=stdin, direct=True, cwd=alone)
            got = pynf(*argv, stdin=stdin, cwd=served)
            assert (got.returncode, got.stdout, got.stderr) == \
                (want.returncode, want.stdout, want.stderr), argv
        # The server ran them: the text is not written yet, every change is in its journal.
        assert not (served / "s.rules").exists()
        records = (served / "s.rules.journal").read_text().count("\n") - 1  # (the first line is the header)
        assert records == CHANGES
        assert srv.stop() == 0
    assert visible((served / "s.rules").read_text("utf-8", "surrogateescape")) == \
        visible((alone / "s.rules").read_text("utf-8", "surrogateescape"))
    assert (served / "saved.ipset").read_bytes() == (alone / "saved.ipset").read_bytes()
    assert sorted(p.name for p in served.iterdir()) == sorted(p.name for p in alone.iterdir())


@pytest.mark.parametrize("argv", [
    ("iptables", *S, "-w", "-W", "10", "-A", "INPUT", "-j", "ACCEPT"),
    ("iptables", *S, "-w", "-W", "10", "-S"),
    ("restore", *S, "-w", "1", "-W", "10", "in.rules"),
])
def test_stdout_and_stderr_keep_their_order_in_one_pipe(argv: tuple[str, ...], tmp_path: Path) -> None:
    """With 2>&1, the warnings and the listing come out in the same order either way."""
    alone, served = _workdir(tmp_path, "alone"), _workdir(tmp_path, "served")
    with Served(served / "s.rules", cwd=served):
        want = pynf(*argv, direct=True, cwd=alone, merged=True)
        got = pynf(*argv, cwd=served, merged=True)
    assert b"Ignoring deprecated --wait-interval option." in want.stdout
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout)
