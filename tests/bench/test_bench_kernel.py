"""The benchmarks' kernel side: real namespaces as root with iptables, else a visible skip."""

from __future__ import annotations

import io
import json
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout

import pytest

from pynetfilter.bench.cli import CLASSBENCH_DIR
from pynetfilter.bench.netns import RESTORE, Lab, unavailable
from pynetfilter.cli.main import main

WHY = unavailable(*RESTORE.values())
needs_kernel = pytest.mark.skipif(WHY is not None, reason=f"kernel benchmarks: {WHY}")


def _our_namespaces() -> list[str]:
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [ln for ln in p.stdout.splitlines() if ln.startswith(f"pynf-bench-{os.getpid()}-")]


@pytest.mark.skipif(WHY is None, reason="the kernel is available here: its figures are tested instead")
def test_without_the_kernel_the_skip_is_visible() -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["bench", "services", "--sizes", "10", "--connections", "10", "--json"]) == 0
    assert json.loads(out.getvalue())["kernel_skipped"] == WHY
    assert f"kernel: skipped: {WHY}" in err.getvalue()


@needs_kernel
def test_lab_namespaces_are_gone_after_a_failure() -> None:
    with pytest.raises(RuntimeError, match="boom"), Lab() as lab:
        assert all(name.startswith("pynf-bench-") for name in lab.ns.values())
        assert len(_our_namespaces()) == 3
        raise RuntimeError("boom")
    assert _our_namespaces() == []


@needs_kernel
@pytest.mark.parametrize("mode", list(RESTORE))
def test_kernel_services_figures(mode: str) -> None:
    from pynetfilter.bench.services_kernel import measure_kernel

    r = measure_kernel(10, mode, 10, connections=20)
    assert r["mode"] == mode and r["services"] == 10 and r["rss_mb"] is None
    for key in ("first_packet_us", "established_us", "update_us", "load_s", "baseline_us"):
        assert r[key] > 0, key  # type: ignore[operator]
    assert _our_namespaces() == []


@needs_kernel
@pytest.mark.skipif(not CLASSBENCH_DIR.is_dir(), reason=f"ClassBench rule sets not found ({CLASSBENCH_DIR})")
def test_kernel_classbench_walk() -> None:
    from pynetfilter.bench.classbench import parse
    from pynetfilter.bench.classbench_kernel import measure_kernel

    rules = parse((CLASSBENCH_DIR / "fw1_1k").read_text())
    r = measure_kernel("fw1_1k", rules, 400.0, round_trips=400)
    assert r["mode"] == "kernel-legacy" and r["walk_rules"] > 800
    assert r["ns_per_rule"] > 0 and r["ns_per_classification"] > 0  # type: ignore[operator]
    assert _our_namespaces() == []
