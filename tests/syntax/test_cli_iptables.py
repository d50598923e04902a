"""``pynf iptables --state FILE ...``: the command sequences of tests/syntax/cases, run through the CLI.

Each step reloads the state file and writes it back, so this also checks that
the state survives the iptables-save -c round trip between commands.
"""

from __future__ import annotations

import json

import pytest

from pynetfilter.cli.main import main
from tools import cases as C
from tools.kernel import table_blocks

# parse.cmds adds "-i 'eth 0'", which iptables-save (and so the state file) cannot round-trip.
RECORDED = sorted(p for p in C.COMMAND_KERNEL.glob("*.json") if p.stem != "parse")


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_cli_replays_kernel_steps(path, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(path.read_text())
    state = tmp_path / "state.rules"
    problems = []
    for n, step in enumerate(data["steps"]):
        rc = main(["iptables", "--state", str(state), *step["argv"]])
        out = capsys.readouterr().out
        if rc != step["rc"]:
            problems.append(f"step {n} {step['argv']}: rc {rc}, kernel {step['rc']}")
        elif rc == 0 and out != step["out"]:
            problems.append(f"step {n} {step['argv']}: stdout differs")
    assert not problems, "\n".join(problems)
    got = table_blocks(state.read_text()) if state.exists() else {}
    for name, block in table_blocks(data["save"]).items():
        assert got.get(name, "") == block, f"table {name} differs"


def test_cli_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["iptables", "-L"]) == 2
    assert "usage" in capsys.readouterr().err
