#!/usr/bin/env python3
"""Record the replay scenarios: captures whose honest replay needs inference or a warning.

    python3 tools/record_replay.py [NAME...]        (re-)record scenarios (default: all)
    python3 tools/record_replay.py --check [NAME...] record afresh into a temporary folder and
                                                      compare what is deterministic

Each scenario is a folder ``tests/replay/scenarios/NAME/`` holding ``rules`` (iptables-restore
input for the router) and ``scenario.json``: the router lab of tools/topology.py (``topology``,
``listen``, ``traffic`` as in tools/record_scenarios.py, whose traffic agent runs the steps), and
what makes these captures special:

* ``capture``: ``{"tool": "tcpdump" | "dumpcap", "snaplen": N, "buffer": B, "interfaces": [...]}``:
  dumpcap writes pcapng (with interface statistics: received and dropped packets; of ``any`` as
  LINUX_SLL2, or of the named interfaces as Ethernet), tcpdump classic pcap;
* ``routes``: ``"all"`` (``ip -j route show table all``, the default) or ``"main"`` (``ip -j route
  show``: no local table, as a user may give it);
* ``before_capture``: steps started in the background before the capture starts (a TCP connection
  already open when it starts: ``{"do": "slowtcp", "dst", "port", "chunks", "interval"}``);
* traffic steps ``{"do": "pause_capture"}`` / ``{"do": "resume_capture"}``: SIGSTOP / SIGCONT the
  capturing process, so that the kernel's ring fills and drops what follows (``burst``: UDP
  datagrams as fast as the socket takes them).

Written beside the definition: ``capture.pcap`` or ``capture.pcapng``, ``addrs.json``,
``routes.json``, ``kernel-save.txt`` (``iptables-legacy-save -c``), ``kernel-conntrack.txt``.
Namespaces are named ``pynfF-<pid>-<n>-<role>``: other recorders running at the same time
(tools/record_scenarios.py) use other names.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.topology import LINKS, Lab  # noqa: E402

SCENARIOS = ROOT / "tests" / "replay" / "scenarios"
SELF = Path(__file__).resolve()
AGENT = ROOT / "tools" / "record_scenarios.py"  # the traffic agent (--agent serve / step)
NS_PREFIX = "pynfF"


# --------------------------------------------------------------------------- this recorder's own agents


def _slowtcp(step: dict) -> None:
    """A TCP connection that sends a chunk every *interval* seconds (open across the capture's start)."""
    s = socket.create_connection((step["dst"], int(step["port"])), timeout=5)
    for _ in range(int(step.get("chunks", 4))):
        s.sendall(b"x" * int(step.get("data", 100)))
        s.recv(65536)
        time.sleep(float(step.get("interval", 0.3)))
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()


def _burst(step: dict) -> None:
    """UDP datagrams as fast as the socket takes them (to overflow a stopped capture's ring)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"b" * int(step.get("data", 1000))
    for _ in range(int(step.get("count", 3000))):
        try:
            s.sendto(payload, (step["dst"], int(step["port"])))
        except OSError:
            time.sleep(0.001)
    s.close()


def agent(argv: list[str]) -> int:
    step = json.loads(argv[1])
    {"slowtcp": _slowtcp, "burst": _burst}[argv[0]](step)
    return 0


# --------------------------------------------------------------------------- the recorder (root)


def _wait_line(proc: subprocess.Popen, needle: str, what: str) -> None:
    deadline = time.monotonic() + 5
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if needle in line:
            return
        if not line and proc.poll() is not None:
            break
    raise RuntimeError(f"{what} did not start")


def _capture(lab: Lab, cap: dict, out: Path) -> subprocess.Popen:
    snaplen = str(cap.get("snaplen", 65535))
    if cap.get("tool") == "dumpcap":
        # -y LINUX_SLL2: each packet's interface index (dumpcap's default for "any" is LINUX_SLL).
        ifaces = cap.get("interfaces")  # named interfaces: Ethernet frames, one IDB each
        where = [a for i in ifaces for a in ("-i", i)] if ifaces else ["-i", "any", "-y", "LINUX_SLL2"]
        argv = ["dumpcap", *where, "-n", "-q", "-s", snaplen, "-B", str(cap.get("buffer", 2)), "-w", str(out)]
        needle = "Capturing on"
    else:
        argv = ["tcpdump", "-i", "any", "-n", "-U", "--immediate-mode", "-Z", "root", "-s", snaplen,
                "-B", str(cap.get("buffer", 32768)), "-w", str(out)]
        needle = "listening on"
    p = subprocess.Popen(["ip", "netns", "exec", lab.ns["router"], *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    _wait_line(p, needle, argv[0])
    return p


def record(name: str, out_dir: Path, n: int) -> list[str]:
    """Record scenario *name* into *out_dir*; returns the agent's log lines."""
    src = SCENARIOS / name
    spec = json.loads((src / "scenario.json").read_text())
    rules = (src / "rules").read_text()
    cap = spec.get("capture", {})
    out_dir.mkdir(parents=True, exist_ok=True)
    capture = out_dir / ("capture.pcapng" if cap.get("tool") == "dumpcap" else "capture.pcap")
    for old in ("capture.pcap", "capture.pcapng"):
        (out_dir / old).unlink(missing_ok=True)
    log: list[str] = []
    names = {role: f"{NS_PREFIX}-{os.getpid()}-{n}-{role[0]}{role[-1]}" for role in ("router", *LINKS)}
    with Lab(names) as lab:
        lab.build(spec.get("topology", {}))
        lab.nx("router", "iptables-legacy-restore", "-w", stdin=rules)
        procs = []
        for role, listeners in spec.get("listen", {}).items():
            p = subprocess.Popen(["ip", "netns", "exec", lab.ns[role], "python3", str(AGENT), "--agent",
                                  "serve", *listeners], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            assert p.stdout is not None
            if "ready" not in p.stdout.readline():
                raise RuntimeError(f"{role} listeners did not start")
            procs.append(p)
        background = []
        for step in spec.get("before_capture", []):
            background.append(subprocess.Popen(
                ["ip", "netns", "exec", lab.ns[step.get("ns", "client")], "python3", str(SELF), "--agent",
                 step["do"], json.dumps(step)]))
        time.sleep(0.2 if background else 0)
        dump = _capture(lab, cap, capture)
        try:
            for step in spec["traffic"]:
                do = step["do"]
                if do == "sleep":
                    time.sleep(float(step["seconds"]))
                elif do in ("pause_capture", "resume_capture"):
                    # `ip netns exec` execs the tool: dump.pid is the capturing process itself.
                    os.kill(dump.pid, signal.SIGSTOP if do == "pause_capture" else signal.SIGCONT)
                elif do in ("burst", "slowtcp"):
                    subprocess.run(["ip", "netns", "exec", lab.ns[step.get("ns", "client")], "python3",
                                    str(SELF), "--agent", do, json.dumps(step)], check=True)
                    log.append(f"{do} {step['dst']}:{step['port']}")
                else:
                    got = lab.nx(step.get("ns", "client"), "python3", str(AGENT), "--agent", "step",
                                 json.dumps(step), check=False)
                    log.append(f"{do} {step.get('dst', '')}:{step.get('port', '')} -> {got.strip()}")
            for b in background:
                b.wait(10)
            time.sleep(0.3)  # settle: late ACKs/FINs reach the capture
        finally:
            os.kill(dump.pid, signal.SIGCONT)
            dump.send_signal(signal.SIGINT)
            _, err = dump.communicate(timeout=10)
            capture.chmod(0o644)  # dumpcap creates its file 0600
            log.append("capture: " + " ".join(err.split()[-8:]))
            for p in procs:
                assert p.stdin is not None
                p.stdin.close()
                p.terminate()
                p.wait(5)
        route_argv = ["ip", "-j", "route", "show"] + (["table", "all"] if spec.get("routes", "all") == "all"
                                                       else [])
        (out_dir / "addrs.json").write_text(lab.nx("router", "ip", "-j", "addr", "show") + "\n")
        (out_dir / "routes.json").write_text(lab.nx("router", *route_argv) + "\n")
        (out_dir / "kernel-save.txt").write_text(lab.nx("router", "iptables-legacy-save", "-c"))
        (out_dir / "kernel-conntrack.txt").write_text(lab.nx("router", "conntrack", "-L", check=False))
    return log


def deterministic(folder: Path) -> dict[str, object]:
    from tools.record_scenarios import deterministic as det

    return det(folder)


def all_names() -> list[str]:
    return sorted(p.parent.name for p in SCENARIOS.glob("*/scenario.json"))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--agent":
        return agent(argv[1:])
    from tools.kernel import TRAFFIC_TOOLS, available

    names = [a for a in argv if not a.startswith("--")] or all_names()
    needs = {"dumpcap"} if any(json.loads((SCENARIOS / n / "scenario.json").read_text())
                              .get("capture", {}).get("tool") == "dumpcap" for n in names) else set()
    reason = available(*TRAFFIC_TOOLS, *sorted(needs))
    if reason:
        print(f"cannot record here: {reason}", file=sys.stderr)
        return 1
    check = "--check" in argv
    unknown = sorted(set(names) - set(all_names()))
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="pynfF-replay-"))
    failures = 0
    for i, name in enumerate(names):
        try:
            log = record(name, (tmp / name) if check else (SCENARIOS / name), i)
        except Exception as e:  # report every scenario, not only the first failure
            failures += 1
            print(f"{name}: FAILED: {e}")
            continue
        if check:
            same = deterministic(tmp / name) == deterministic(SCENARIOS / name)
            failures += not same
            print(f"{name}: {'same' if same else 'DIFFERENT from the committed recording'}")
        else:
            print(f"{name}: " + "; ".join(log))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(names)} scenarios, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
