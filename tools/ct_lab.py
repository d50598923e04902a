"""What the conntrack recorders (tools/record_conntrack.py, tools/record_conntrack_sctp.py) share.

Both build a few namespaces of their own, start small python3 helpers in them, and record each
flow the same way: tcpdump in the namespace that tracks, the traffic, then ``conntrack -L`` (and
when it ran, on the capture's clock) and ``iptables-legacy-save -c``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tools.kernel import available


def sh(*argv: str, ns: str | None = None, stdin: str | None = None, check: bool = True) -> str:
    """Run a command (in namespace *ns* when given); its stdout (SystemExit when it fails and *check*)."""
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p.stdout


@contextmanager
def namespaces(*names: str) -> Iterator[None]:
    """Add the namespaces (loopback up); delete them all on the way out, whatever happened."""
    try:
        for n in names:
            sh("ip", "netns", "add", n)
            sh("ip", "link", "set", "lo", "up", ns=n)
        yield
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], check=False)


def start(ns: str, code: str, what: str, stdin: bool = False) -> subprocess.Popen[str]:
    """Run python3 *code* in *ns* (*stdin*: with a pipe to it); wait for its "ready" line."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", code],
                         stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    if p.stdout.readline().strip() != "ready":
        raise SystemExit(f"{what} in {ns} did not start")
    return p


def stop(procs: Sequence[subprocess.Popen[str]]) -> None:
    for p in procs:
        p.kill()
        p.wait()


def capture(ns: str, pcap: Path, *expr: str, settle: float) -> subprocess.Popen[str]:
    """tcpdump on every interface of *ns* into *pcap* (filter *expr*); returns once it listens
    and *settle* seconds have passed."""
    dump = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", "any", "--immediate-mode", "-U",
                             "-n", "-w", str(pcap), *expr], stderr=subprocess.PIPE, text=True)
    assert dump.stderr is not None
    dump.stderr.readline()  # "tcpdump: listening on any ..."
    time.sleep(settle)
    return dump


def snapshot(ns: str, dump: subprocess.Popen[str]) -> tuple[float, list[str], str]:
    """After a flow: when ``conntrack -L`` ran (the middle of it), its lines and
    ``iptables-legacy-save -c``; then the capture is stopped."""
    t0 = time.time()
    listing = sh("conntrack", "-L", ns=ns, check=False)
    t1 = time.time()
    counters = sh("iptables-legacy-save", "-c", ns=ns)
    time.sleep(0.2)
    dump.send_signal(signal.SIGINT)
    dump.wait(timeout=10)
    return (t0 + t1) / 2, listing.splitlines(), counters


def main(default_out: Path, record: Callable[[Path], None]) -> int:
    """The recorders' command line: [OUTDIR] (default *default_out*), root, conntrack and tcpdump."""
    why = available()
    if why or not all(subprocess.run(["which", t], capture_output=True).returncode == 0
                      for t in ("conntrack", "tcpdump")):
        print(f"cannot record: {why or 'needs conntrack and tcpdump'}", file=sys.stderr)
        return 1
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default_out
    out.mkdir(parents=True, exist_ok=True)
    record(out)
    return 0
