"""The README's test command on machines that lack what CI has: no root, or root without the tools.

A fresh clone on a laptop has Python but none of iptables, tcpdump, ethtool, conntrack or root;
a container may be root with iptables but no tcpdump.  The suite must pass there, every test that
needs what is missing skipping with a visible reason.  This test runs the whole suite again in
such places, made on this machine:

* not root: ``unshare --user`` (no mapping, so the euid is the overflow uid and every capability
  in the host's namespaces is gone), with a PATH holding none of the tools;
* root, iptables and iproute2 present, but not tcpdump, ethtool, conntrack, ipset or nfacct.

It needs root and util-linux's ``unshare`` to build them (CI has both); the inner runs skip it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INNER = "PYNF_FRESH_MACHINE_INNER"

pytestmark = [
    pytest.mark.skipif(os.environ.get(INNER) == "1", reason="already inside a fresh-machine run"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to build the fresh-machine environments"),
]


def _bin_dir(tmp: Path, tools: tuple[str, ...]) -> str:
    """A PATH directory holding only *tools* (those installed here)."""
    tmp.mkdir()
    for tool in tools:
        where = shutil.which(tool)
        if where:
            (tmp / tool).symlink_to(where)
    return str(tmp)


def _run_suite(argv_prefix: list[str], path: str) -> tuple[int, str]:
    env = {"HOME": os.environ.get("HOME", "/tmp"), "PATH": path, INNER: "1", "LANG": "C.UTF-8"}
    p = subprocess.run([*argv_prefix, sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                        "-x", str(ROOT / "tests")], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    return p.returncode, p.stdout + p.stderr


def _skips(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("SKIPPED")]


def test_suite_passes_without_root_or_tools(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare not installed (apt-get install util-linux)")
    probe = subprocess.run([unshare, "--user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available here (unshare --user failed)")
    rc, out = _run_suite([unshare, "--user"], _bin_dir(tmp_path / "bin", ("sh",)))
    assert rc == 0, out[-4000:]
    skips = _skips(out)
    assert any("needs root" in s for s in skips), out[-4000:]
    assert all(re.search(r"SKIPPED \[\d+\] \S+:\d+: \S", s) for s in skips), skips


def test_suite_passes_as_root_without_traffic_tools(tmp_path: Path) -> None:
    have = ("sh", "ip", "iptables-legacy", "iptables-legacy-save", "iptables-legacy-restore",
            "xtables-legacy-multi")
    if any(shutil.which(t) is None for t in have[1:]):
        pytest.skip("iptables-legacy or iproute2 not installed here")
    rc, out = _run_suite([], _bin_dir(tmp_path / "bin", have))
    assert rc == 0, out[-4000:]
    skips = _skips(out)
    assert any("tcpdump" in s for s in skips), out[-4000:]
