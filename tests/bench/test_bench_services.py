"""``pynf bench services``: the kube-proxy generator, the measured path, the JSON it prints."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from pynetfilter.bench import kubegen
from pynetfilter.bench.services import (
    ADDED_VIP,
    HOST_FILE,
    MODES,
    PROBE_VIP,
    TARGET_PORT,
    BenchError,
    Driver,
    endpoints,
    measure,
    one_block_per_table,
    probe_service,
    ruleset_text,
    update_argvs,
)
from pynetfilter.cli.main import main
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = ("first_packet_us", "established_us", "update_us", "load_s", "rss_mb")


def test_generator_moved_into_the_package_gives_the_same_bytes() -> None:
    # The recorded case was made by tools/gen_kube_proxy.py before the move (its docstring's command).
    args = ["--services", "5", "--endpoints", "3", "--nodeports", "0.6", "--affinity", "0.4",
            "--no-endpoints", "0.25", "--base"]
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_kube_proxy.py"), *args],
                       capture_output=True, text=True, check=True)
    assert p.stdout == (ROOT / "tests" / "restore" / "cases" / "kube_proxy_gen_small.rules").read_text()
    svcs = kubegen.make_services(5, 3, nodeports=0.6, affinity=0.4, no_endpoints=0.25, external=0.0,
                                 lb=0.0, local=0.0)
    assert kubegen.generate(svcs, base=True) == p.stdout


def _loaded(services: int) -> Ruleset:
    rs = Ruleset()
    rs.restore(ruleset_text(services, 10), noflush=True)
    return rs


def test_one_block_per_table_is_the_same_ruleset() -> None:
    text = ruleset_text(20, 3)
    merged = one_block_per_table(text)
    assert merged.count("*nat\n") == 1 and "# flags" not in merged
    a, b = Ruleset(), Ruleset()
    a.restore(text, noflush=True)
    b.restore(merged)
    assert sorted(a.save(header=False).split("COMMIT\n")) == sorted(b.save(header=False).split("COMMIT\n"))


def test_probe_service_is_the_last_service_in_kube_services() -> None:
    rs = _loaded(10)
    portal = rs.tables["nat"].chains["KUBE-SERVICES"].rules
    probe_chain = f"KUBE-SVC-{kubegen.chain_hash(probe_service(10).name + 'tcp')}"
    assert len(portal) == 10 + 2  # ten Services, the probe, the nodeports rule
    assert portal[-2].target.chain == probe_chain  # type: ignore[union-attr]
    assert portal[-1].target.chain == "KUBE-NODEPORTS"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", list(MODES))
def test_connections_really_dnat_to_the_probe_endpoints(mode: str) -> None:
    engine = Engine(_loaded(50), Host.from_file(HOST_FILE), fastpath=MODES[mode])
    drv = Driver(engine)
    allowed = {f"{a}:{TARGET_PORT}" for a in endpoints(10)}
    seen = {drv.connect(PROBE_VIP, 2000 + k, allowed).endpoint for k in range(60)}
    assert seen <= allowed and len(seen) > 3  # spread by the statistic rules, always an endpoint
    # A Service nobody added is no Service: its SYN is not DNATed, and the driver says so.
    with pytest.raises(BenchError):
        drv.connect(ADDED_VIP, 3000, allowed)


def test_a_dropped_probe_fails_the_benchmark() -> None:
    rs = _loaded(10)
    rs.apply(["-I", "FORWARD", "-p", "tcp", "--dport", str(TARGET_PORT), "-j", "DROP"])
    drv = Driver(Engine(rs, Host.from_file(HOST_FILE), fastpath=False))
    with pytest.raises(BenchError, match="dropped"):
        drv.connect(PROBE_VIP, 2000, {f"{a}:{TARGET_PORT}" for a in endpoints(10)})


def test_update_adds_a_reachable_service() -> None:
    rs = _loaded(10)
    at = len(rs.tables["nat"].chains["KUBE-SERVICES"].rules)
    for argv in update_argvs(10, at):
        rs.apply(argv)
    portal = rs.tables["nat"].chains["KUBE-SERVICES"].rules
    assert len(portal) == 13 and portal[-1].target.chain == "KUBE-NODEPORTS"  # type: ignore[union-attr]
    drv = Driver(Engine(rs, Host.from_file(HOST_FILE)))
    assert drv.connect(ADDED_VIP, 2000, {f"{a}:{TARGET_PORT}" for a in endpoints(10)}).endpoint


@pytest.mark.parametrize("services", [10, 50])
def test_measure_gives_sane_figures(services: int) -> None:
    r = measure(services, "compiled", 10, connections=30)
    assert r["services"] == services and r["mode"] == "compiled"
    for key in NUMBERS:
        assert isinstance(r[key], float) and r[key] > 0, key
    assert r["update_us"] == pytest.approx(r["update_apply_us"] + r["update_packet_us"])  # type: ignore[operator]
    assert r["endpoints_seen"] > 1


def test_cli_json_schema_without_kernel() -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["bench", "services", "--sizes", "10", "--connections", "20", "--no-kernel", "--json"])
    assert rc == 0
    doc = json.loads(out.getvalue())
    assert doc["kernel_skipped"] == "--no-kernel"
    assert "kernel: skipped: --no-kernel" in err.getvalue()
    rows = doc["results"]
    assert [(r["services"], r["mode"]) for r in rows] == [(10, "interpreter"), (10, "compiled")]
    for r in rows:
        assert {"services", "mode", *NUMBERS} <= r.keys()
        assert all(r[k] > 0 for k in NUMBERS)


def test_cli_refuses_an_unknown_mode() -> None:
    err = io.StringIO()
    with redirect_stderr(err):
        assert main(["bench", "services", "--sizes", "10", "--modes", "jit", "--no-kernel"]) == 2
    assert "unknown mode 'jit'" in err.getvalue()
