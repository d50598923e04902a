"""Ask the real kernel: run iptables-legacy in a throwaway network namespace.

Used by tools/record_kernel.py (which writes the expected outputs the tests
compare against) and by the live differential tests.  Needs root and the
iptables package; :func:`available` says whether this machine can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass

IPT = "iptables-legacy"


# Debian package of each tool a recording may need, for the skip reason.
PACKAGES = {"ip": "iproute2", IPT: "iptables", "iptables-legacy-save": "iptables",
            "iptables-legacy-restore": "iptables", "tcpdump": "tcpdump", "ethtool": "ethtool",
            "conntrack": "conntrack", "ipset": "ipset", "nfacct": "nfacct", "ping": "iputils-ping",
            "dumpcap": "wireshark-common"}
# What traffic recordings (router labs) need beyond iptables.
TRAFFIC_TOOLS = ("tcpdump", "ethtool", "conntrack")


def available(*extra: str) -> str | None:
    """None when the kernel can be asked here (with the *extra* tools too), else the reason it cannot."""
    if os.geteuid() != 0:
        return "needs root (ip netns, iptables-legacy)"
    missing = [t for t in ("ip", IPT, "iptables-legacy-save", "iptables-legacy-restore", *extra)
               if shutil.which(t) is None]
    if missing:
        pkgs = " ".join(dict.fromkeys(PACKAGES.get(t, t) for t in missing))
        return f"{', '.join(missing)} not installed (apt-get install {pkgs})"
    return None


@dataclass
class Result:
    rc: int
    out: str
    err: str


class Namespace:
    """A network namespace of our own, deleted on exit."""

    def __init__(self, prefix: str = "pynf") -> None:
        self.name = f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def __enter__(self) -> Namespace:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run(["ip", "link", "set", "lo", "up"])
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False)

    def run(self, argv: list[str], stdin: str | None = None) -> Result:
        p = subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            errors="surrogateescape",
        )
        return Result(p.returncode, p.stdout, p.stderr)

    def ipt(self, *args: str) -> Result:
        # -w: wait for the xtables lock, which concurrent recorders in other namespaces share.
        return self.run([IPT, "-w", *args])

    def save(self, table: str | None = None, counters: bool = False) -> str:
        argv = ["iptables-legacy-save"]
        if table:
            argv += ["-t", table]
        if counters:
            argv.append("-c")
        return self.run(argv).out

    def restore(self, text: str, *flags: str) -> Result:
        return self.run(["iptables-legacy-restore", "-w", *flags], stdin=text)

    def reset(self) -> None:
        """Empty every table: restore each loaded table flushed, policies ACCEPT."""
        names = self.run(["cat", "/proc/net/ip_tables_names"]).out.split()
        for t in names:
            self.ipt("-t", t, "-F")
            self.ipt("-t", t, "-X")
            self.ipt("-t", t, "-Z")


def strip_comments(save_text: str) -> str:
    return "".join(line + "\n" for line in save_text.splitlines() if not line.startswith("#"))


def table_blocks(save_text: str) -> dict[str, str]:
    """iptables-save text split into its tables (comment lines dropped)."""
    blocks: dict[str, str] = {}
    cur: list[str] = []
    name = ""
    for line in save_text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("*"):
            name, cur = line[1:], [line]
            continue
        cur.append(line)
        if line == "COMMIT":
            blocks[name] = "\n".join(cur) + "\n"
    return blocks


def report(name: str, observed: list, stored: dict | None) -> bool:
    """One case of a recorder: with *stored* (``--check``), whether the kernel still says what was
    recorded, printed as "same" or the difference; else the last observation, printed."""
    if stored is None:
        print(f"{name}: {observed[-1]}")
        return True
    want = stored.get(name, {}).get("observed")
    ok = want == observed
    print(f"{name}: {'same' if ok else f'differs: now {observed}, recorded {want}'}")
    return ok
