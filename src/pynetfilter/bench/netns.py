"""The kernel side of the benchmarks: client -- router -- server in network namespaces of our own.

    client eth0 10.233.240.2/24 == rc 10.233.240.1/24 router rs 10.233.241.1/24 == eth0 10.233.241.2/24 server

Namespaces are named ``pynf-bench-<pid>-<n>-<role>`` and deleted on exit, also when the body
fails; agents (pynetfilter.bench.agent) started in them are ended first, by their process id.
Traffic stays between these namespaces.  The router forwards; its rules are loaded with the
iptables tool under test (iptables-legacy-restore, iptables-nft-restore) and timed from outside,
process start included, as a kube-proxy sync pays it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from types import TracebackType

from pynetfilter.bench.services import CLIENT, ROUTER_C, ROUTER_S, SERVER

RESTORE = {"kernel-legacy": "iptables-legacy-restore", "kernel-nft": "iptables-nft-restore"}
_serial = itertools.count()


def unavailable(*tools: str) -> str | None:
    """None when the kernel benchmarks can run here, else why not (one line)."""
    if os.geteuid() != 0:
        return "needs root (ip netns, iptables)"
    missing = [t for t in ("ip", *tools) if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install iproute2 iptables)"
    return None


class LabError(RuntimeError):
    pass


def sh(argv: list[str], stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise LabError(f"{' '.join(argv[:6])}: {p.stderr.strip()[:300] or p.returncode}")
    return p


class Lab:
    """Three namespaces wired as a router between a client and a server."""

    ROLES = ("client", "router", "server")

    def __init__(self, server_addrs: tuple[str, ...] = ()) -> None:
        tag = f"pynf-bench-{os.getpid()}-{next(_serial)}"
        self.ns = {role: f"{tag}-{role}" for role in self.ROLES}
        self.server_addrs = server_addrs  # more addresses on the server (a Service's endpoints)
        self.agents: list[subprocess.Popen[str]] = []

    def __enter__(self) -> Lab:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for p in self.agents:  # only the processes this lab started
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.agents.clear()
        for name in self.ns.values():
            sh(["ip", "netns", "del", name], check=False)

    def _build(self) -> None:
        c, r, s = self.ns["client"], self.ns["router"], self.ns["server"]
        for name in self.ns.values():
            sh(["ip", "netns", "add", name])
            sh(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            sh(["ip", "-n", name, "link", "set", "lo", "up"])
        for rif, peer, raddr, paddr in (("rc", c, ROUTER_C, CLIENT), ("rs", s, ROUTER_S, SERVER)):
            sh(["ip", "-n", r, "link", "add", rif, "type", "veth", "peer", "name", "eth0", "netns", peer])
            sh(["ip", "-n", r, "addr", "add", f"{raddr}/24", "dev", rif])
            sh(["ip", "-n", peer, "addr", "add", f"{paddr}/24", "dev", "eth0"])
            sh(["ip", "-n", r, "link", "set", rif, "up"])
            sh(["ip", "-n", peer, "link", "set", "eth0", "up"])
            sh(["ip", "-n", peer, "route", "add", "default", "via", raddr])
        for addr in self.server_addrs:
            sh(["ip", "-n", s, "addr", "add", f"{addr}/24", "dev", "eth0"])
        sh(["ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"])

    # --- running things in the namespaces -------------------------------------------

    def run(self, role: str, argv: list[str], stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh(["ip", "netns", "exec", self.ns[role], *argv], stdin=stdin, check=check)

    def timed(self, role: str, argv: list[str], stdin: str) -> float:
        """Seconds *argv* takes in *role*'s namespace, reading *stdin* (failure: LabError)."""
        t0 = time.perf_counter()
        self.run(role, argv, stdin=stdin)
        return time.perf_counter() - t0

    def agent(self, role: str, *args: str) -> subprocess.Popen[str]:
        """Start a server agent in *role* and wait until it is listening."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[role], sys.executable, "-m",
                              "pynetfilter.bench.agent", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.agents.append(p)
        assert p.stdout is not None
        if p.stdout.readline().strip() != "ready":
            raise LabError(f"agent {' '.join(args)} in {role} did not start: {p.stderr.read()[:300]}")
        return p

    def client(self, *args: str) -> str:
        """A client agent's JSON output (it runs in the client namespace)."""
        return self.run("client", [sys.executable, "-m", "pynetfilter.bench.agent", *args]).stdout
