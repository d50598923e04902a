"""Every script case of tests/restore/cases/*.rules against what iptables-legacy-restore did with it.

For each case: pynetfilter must succeed or fail as the kernel did (with the
same exit status class and the same failing line), and leave the same
tables, in the same order (most recently instantiated first), compared with
iptables-save -c.  A ``NAME.ipset`` file beside a case
holds the ipsets the kernel had before the restore.  Expected values come
from tools/record_kernel.py (run it as root to re-record).
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.model.ruleset import Ruleset
from tools import cases as C
from tools.kernel import table_blocks

RECORDED = sorted(C.SCRIPT_KERNEL.glob("*.json"))
# Cases whose iptables-save output the kernel's own iptables-restore cannot read back either.
NOT_RESTORABLE = {
    "sem_quoting_unterminated": "the comment holds a newline, which iptables-save prints as is",
}
_LINE_RES = (
    re.compile(r"Error occurred at line: (\d+)"),
    re.compile(r"line (\d+) failed"),
    re.compile(r"COMMIT expected at line (\d+)"),
    re.compile(r"line (\d+)"),
)


def kernel_line(stderr: str) -> int | None:
    """The input line iptables-restore blamed, from its stderr."""
    for rx in _LINE_RES:
        m = rx.search(stderr)
        if m:
            return int(m.group(1))
    return None


def _ruleset_for(stem: str) -> Ruleset:
    rs = Ruleset()
    ipset = C.SCRIPT_CASES / f"{stem}.ipset"
    if ipset.exists():  # the sets the kernel had (`ipset restore` input): their names and families
        from pynetfilter.ext.set import ipset_family

        for line in ipset.read_text().splitlines():
            words = line.split()
            if len(words) > 2 and words[0] == "create":
                rs.ipsets[words[1]] = ipset_family(words[2:])
    return rs


def run_script(stem: str, data: dict) -> tuple[Ruleset, PynfError | None]:
    text = (C.SCRIPT_CASES / data["source"]).read_bytes().decode("utf-8", "surrogateescape")
    rs = _ruleset_for(stem)
    try:
        rs.restore(text, noflush="--noflush" in data["flags"] or "-n" in data["flags"],
                   counters="--counters" in data["flags"] or "-c" in data["flags"])
    except PynfError as e:
        return rs, e
    return rs, None


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_script_matches_kernel(path) -> None:
    data = json.loads(path.read_text())
    rs, err = run_script(path.stem, data)
    if data["rc"] == 0:
        assert err is None, f"kernel accepted, pynetfilter refused: {err}"
    else:
        assert err is not None, f"kernel refused (rc {data['rc']}: {data['error']}), pynetfilter accepted"
        want_line = kernel_line(data.get("stderr", data["error"]))
        assert (err.status, err.line) == (data["rc"], want_line), (
            f"kernel: rc {data['rc']} at line {want_line}: {data.get('stderr', data['error'])!r}; "
            f"pynetfilter: rc {err.status} at line {err.line}: {err}")
    want = table_blocks(data["save"])
    got = table_blocks(rs.save(counters=True, header=False))
    assert got == want
    assert list(got) == list(want), "tables listed in another order than the kernel's"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_save_restores_to_itself(path) -> None:
    """A state file (exact save) reads back as the same ruleset; its text is iptables-save's
    except for the rules iptables-save's text cannot carry."""
    data = json.loads(path.read_text())
    rs, _ = run_script(path.stem, data)
    text = rs.save(counters=True, header=False)
    exact = rs.save(counters=True, header=False, exact=True)
    if path.stem in NOT_RESTORABLE:
        assert exact != text, NOT_RESTORABLE[path.stem]
        assert "#pynf-exact " in exact
    else:
        assert exact == text
    again = _ruleset_for(path.stem)
    again.restore(exact, counters=True)
    # Restored into a fresh host, the tables come back listed in reverse (sequences/reverse_restore).
    assert again.save(counters=True, header=False) == "".join(reversed(table_blocks(text).values()))


def test_every_script_is_recorded() -> None:
    for path in sorted(C.SCRIPT_CASES.glob("*.rules")):
        rec = C.SCRIPT_KERNEL / f"{path.stem}.json"
        assert rec.exists(), f"{path.name} not recorded: run tools/record_kernel.py {path.stem}"
        data = json.loads(rec.read_text())
        first = path.read_text().splitlines()[:1]
        flags = first[0].split(":", 1)[1].split() if first and first[0].startswith("# flags:") else []
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert data.get("sha256") == digest and data["flags"] == flags, (
            f"{path.name} changed since recording: run tools/record_kernel.py {path.stem}")
        assert "stderr" in data, f"{path.name} recorded without stderr: re-record it"
