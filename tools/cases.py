"""Readers of the conformance case files (shared by the recorder and the tests).

A rule case file (``tests/ext/cases/NAME.t``) lists iptables rules, one per
line, in shell quoting, each tried with ``-A`` in every chain of the current
``:CHAIN,CHAIN`` line of the current ``*table``::

    # -m tcp
    *filter
    :INPUT,OUTPUT
    -p tcp --dport 80
    -p tcp --dport 80:
    *nat
    :PREROUTING
    -p tcp -j DNAT --to-destination 10.233.0.1

Every table has the user chains USER1 and USER2 to jump to.  A line
``@ipset ARGS...`` (e.g. ``@ipset create KUBE-CLUSTER-IP hash:ip,port``) is no
rule: the recorder runs ``ipset ARGS`` in the namespace before the file's
rules (and destroys the sets after), and the tests create the same sets in
the Ruleset (:func:`read_rule_setup`), so ``-m set`` rules can name them.
``@nfacct add NAME`` lines likewise make nfacct objects for ``-m nfacct``.  A line
``@iptables ARGS...`` adds a rule the file's rules need (``-j RATEEST`` making the
estimators ``-m rateest`` names) with iptables-legacy, in the Ruleset too.  The kernel's
verdict (accepted or refused) and its save and -L text are recorded by
tools/record_kernel.py into ``tests/ext/kernel/NAME.json``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

USER_CHAINS = ("USER1", "USER2")
ROOT = Path(__file__).resolve().parent.parent
RULE_CASES = ROOT / "tests" / "ext" / "cases"
RULE_KERNEL = ROOT / "tests" / "ext" / "kernel"
SCRIPT_CASES = ROOT / "tests" / "restore" / "cases"
SCRIPT_KERNEL = ROOT / "tests" / "restore" / "kernel"
COMMAND_CASES = ROOT / "tests" / "syntax" / "cases"
COMMAND_KERNEL = ROOT / "tests" / "syntax" / "kernel"


@dataclass(frozen=True)
class RuleCase:
    file: str
    line: int
    table: str
    chain: str
    rule: str

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.rule)

    @property
    def key(self) -> str:
        return f"{self.table}:{self.chain}:{self.rule}"


def read_rule_cases(path: Path) -> list[RuleCase]:
    table = "filter"
    chains: list[str] = []
    out: list[RuleCase] = []
    for n, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("@"):
            continue
        if line.startswith("*"):
            table = line[1:].strip()
            chains = []
            continue
        if line.startswith(":"):
            chains = [c.strip() for c in line[1:].split(",") if c.strip()]
            continue
        if not chains:
            raise ValueError(f"{path.name}:{n}: rule before any :CHAIN line")
        for chain in chains:
            out.append(RuleCase(path.name, n, table, chain, line))
    return out


def labels_file(path: Path) -> Path:
    """``NAME.connlabel.conf`` beside a rule case file ``NAME.t``: the connlabel names its rules
    were recorded with (tools/record_kernel.py shows it to iptables as
    /etc/xtables/connlabel.conf; the tests show it to pynetfilter)."""
    return path.with_suffix(".connlabel.conf")


def read_rule_setup(path: Path) -> list[list[str]]:
    """The ``@ipset ...`` / ``@nfacct ...`` lines of a rule case file, as argv lists."""
    lines = [raw.strip() for raw in path.read_text().splitlines()]
    return [shlex.split(line[1:]) for line in lines if line.startswith("@")]


def read_command_cases(path: Path) -> list[list[str]]:
    """A command case file: iptables command lines (shell quoting), run in order."""
    out = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(shlex.split(line))
    return out
