#!/usr/bin/env python3
"""Record which rules make the kernel track connections and reassemble fragments (per namespace).

    python3 tools/record_activation.py [--prefix=P] [NAME...]   -> tests/netfilter/kernel/activation.json

Conntrack's hooks (and defragmentation with them) are registered in a namespace while some loaded
rule holds nf_ct_netns_get; defragmentation alone while one holds nf_defrag_ipv4_enable; both are
dropped with the last such rule.  Each case builds a host namespace and a peer, loads a probe (raw
PREROUTING ``-f``) and the case's rules on the host, then the peer sends a 3000-byte UDP datagram
(three fragments) and a small one: the kernel defragments when the probe counts no fragment, and
tracks connections when ``conntrack -L`` lists an entry.  Cases with ``after`` run those iptables
commands, send again (to another port) and observe again.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.topology import sh  # noqa: E402

OUT = ROOT / "tests" / "netfilter" / "kernel" / "activation.json"
PROBE = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -f\nCOMMIT\n"
SEND = ("import socket;s=socket.socket(2,2);s.setsockopt(0,10,0);"  # IP_PMTUDISC_DONT: fragment it
        "s.sendto(bytes(3000),('10.233.201.1',{port}));s.sendto(bytes(100),('10.233.201.1',{port}))")
NAT = ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]"
CHAINS = {"nat": NAT, "filter": ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]",
          "raw": ":PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]",
          "mangle": ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                    ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]",
          "security": ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]"}
V = "-d 10.233.9.9"  # rules that never match the probe traffic: only their presence counts


def T(table: str, *rules: str) -> str:
    users = sorted({r.split()[1] for r in rules if r.startswith("-N ")})
    body = [r for r in rules if not r.startswith("-N ")]
    return "\n".join([f"*{table}", CHAINS[table], *(f":{u} - [0:0]" for u in users), *body, "COMMIT"]) + "\n"


CASES: dict[str, dict[str, object]] = {
    "no rules": {"rules": ""},
    "nat table alone": {"rules": T("nat")},
    "nat with ACCEPT rule": {"rules": T("nat", "-A POSTROUTING -j ACCEPT")},
    "nat with counting rule": {"rules": T("nat", "-A PREROUTING -p udp")},
    "filter table alone": {"rules": T("filter")},
    "mangle table alone": {"rules": T("mangle")},
    "security table alone": {"rules": T("security")},
    "every table, no rules": {"rules": T("nat") + T("filter") + T("mangle") + T("security")},
    "MASQUERADE": {"rules": T("nat", "-A POSTROUTING -o nosuch -j MASQUERADE")},
    "SNAT": {"rules": T("nat", "-A POSTROUTING -o nosuch -j SNAT --to-source 10.233.201.1")},
    "DNAT": {"rules": T("nat", f"-A PREROUTING {V}/32 -j DNAT --to-destination 10.233.201.1")},
    "REDIRECT": {"rules": T("nat", f"-A PREROUTING {V}/32 -p tcp -j REDIRECT")},
    "NETMAP": {"rules": T("nat", "-A PREROUTING -d 10.233.9.0/24 -j NETMAP --to 10.233.8.0/24")},
    "-m conntrack in nat": {"rules": T("nat", "-A PREROUTING -m conntrack --ctstate NEW")},
    "-m state": {"rules": T("filter", "-A INPUT -m state --state INVALID")},
    "-m conntrack": {"rules": T("filter", "-A INPUT -m conntrack --ctstate INVALID")},
    "-m conntrack, unreferenced chain": {"rules": T("filter", "-N X", "-A X -m conntrack --ctstate INVALID")},
    "-m connmark": {"rules": T("filter", "-A INPUT -m connmark --mark 0x5")},
    "-j CONNMARK": {"rules": T("mangle", f"-A PREROUTING {V}/32 -j CONNMARK --set-xmark 0x5/0xffffffff")},
    "-m connbytes": {"rules": T("filter", "-A INPUT -m connbytes --connbytes 10 --connbytes-mode packets "
                                          "--connbytes-dir both")},
    "-m connlimit": {"rules": T("filter", "-A INPUT -p tcp -m connlimit --connlimit-above 5 "
                                          "--connlimit-mask 32 --connlimit-saddr")},
    "-m helper": {"rules": T("filter", '-A INPUT -m helper --helper "ftp"')},
    "-m connlabel": {"rules": T("filter", "-A INPUT -m connlabel --label 1")},
    "-m cluster": {"rules": T("mangle", f"-A PREROUTING {V}/32 -m cluster "
                                        "--cluster-local-nodemask 0x00000001 --cluster-total-nodes 2 "
                                        "--cluster-hash-seed 0x00000001")},
    "-m socket": {"rules": T("mangle", f"-A PREROUTING {V}/32 -m socket")},
    "-j TPROXY": {"rules": T("mangle", f"-A PREROUTING {V}/32 -p tcp -j TPROXY --on-port 1 --on-ip 0.0.0.0 "
                                       "--tproxy-mark 0x0/0x0")},
    "-j CT --notrack": {"rules": T("raw", f"-A PREROUTING {V}/32 -j CT --notrack")},
    "-j NOTRACK": {"rules": T("raw", f"-A PREROUTING {V}/32 -j NOTRACK")},
    "-j CT --zone": {"rules": T("raw", f"-A PREROUTING {V}/32 -j CT --zone 3")},
    "-j CT --helper": {"rules": T("raw", f"-A PREROUTING {V}/32 -p tcp -j CT --helper ftp")},
    "-j CONNSECMARK": {"rules": T("mangle", f"-A PREROUTING {V}/32 -j CONNSECMARK --save")},
    "-j SYNPROXY": {"rules": T("filter", f"-A INPUT {V}/32 -p tcp -j SYNPROXY --mss 1460")},
    "-j REJECT": {"rules": T("filter", f"-A INPUT {V}/32 -j REJECT --reject-with icmp-port-unreachable")},
    "-j LOG, -j NFLOG": {"rules": T("filter", f"-A INPUT {V}/32 -j LOG", f"-A INPUT {V}/32 -j NFLOG")},
    "addrtype, recent, hashlimit": {"rules": T(
        "filter", "-A INPUT -m addrtype --dst-type LOCAL -m recent --set --name DEFAULT "
                  "--mask 255.255.255.255 --rsource",
        "-A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name x")},
    "-j HMARK": {"rules": T("mangle", f"-A PREROUTING {V}/32 -j HMARK --hmark-tuple src --hmark-mod 2 "
                                      "--hmark-rnd 0x1")},
    "-m state deleted": {"rules": T("filter", "-A INPUT -m state --state INVALID"),
                         "after": ["-D INPUT -m state --state INVALID"]},
    "DNAT deleted": {"rules": T("nat", f"-A PREROUTING {V}/32 -j DNAT --to-destination 10.233.201.1"),
                     "after": [f"-t nat -D PREROUTING {V}/32 -j DNAT --to-destination 10.233.201.1"]},
    "one of two users deleted": {"rules": T("filter", "-A INPUT -m state --state INVALID",
                                            "-A INPUT -m conntrack --ctstate INVALID"),
                                 "after": ["-D INPUT -m state --state INVALID"]},
    "-m socket flushed": {"rules": T("mangle", f"-A PREROUTING {V}/32 -m socket"), "after": ["-t mangle -F"]},
    "chain with -m state deleted": {"rules": T("filter", "-N X", "-A X -m state --state INVALID"),
                                    "after": ["-F X", "-X X"]},
}


class Pair:
    """The host namespace (ra 10.233.201.1) and its peer (eth0 10.233.201.2); deleted on exit."""

    def __init__(self, prefix: str, n: int) -> None:
        self.host, self.peer = f"{prefix}{os.getpid()}-{n}h", f"{prefix}{os.getpid()}-{n}p"

    def __enter__(self) -> Pair:
        for ns in (self.host, self.peer):
            sh("ip", "netns", "del", ns, check=False)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "-n", self.host, "link", "add", "ra", "type", "veth", "peer", "name", "eth0",
           "netns", self.peer)
        sh("ip", "-n", self.host, "addr", "add", "10.233.201.1/24", "dev", "ra")
        sh("ip", "-n", self.peer, "addr", "add", "10.233.201.2/24", "dev", "eth0")
        sh("ip", "-n", self.host, "link", "set", "ra", "up")
        sh("ip", "-n", self.peer, "link", "set", "eth0", "up")
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in (self.host, self.peer):
            sh("ip", "netns", "del", ns, check=False)

    def x(self, *argv: str, stdin: str | None = None, check: bool = True) -> str:
        return sh("ip", "netns", "exec", self.host, *argv, stdin=stdin, check=check)

    def observe(self, port: int) -> dict[str, bool]:
        sh("ip", "netns", "exec", self.peer, "python3", "-c", SEND.format(port=port))
        save = self.x("iptables-legacy-save", "-c")
        frag = next(line for line in save.splitlines() if line.endswith("-A PREROUTING -f"))
        listing = self.x("conntrack", "-L", check=False)
        entries = [ln for ln in listing.splitlines() if ln.startswith("udp") and f"dport={port}" in ln]
        return {"conntrack": bool(entries), "defrag": frag.startswith("[0:0]")}


def record(name: str, case: dict[str, object], prefix: str, n: int) -> dict[str, object]:
    with Pair(prefix, n) as pair:
        pair.x("iptables-legacy-restore", "-w", stdin=PROBE)
        if case["rules"]:
            pair.x("iptables-legacy-restore", "-w", "--noflush", stdin=str(case["rules"]))
        out: dict[str, object] = {"name": name, **case, "kernel": pair.observe(7000)}
        if "after" in case:
            for cmd in case["after"]:  # type: ignore[attr-defined]
                pair.x("iptables-legacy", "-w", *cmd.split())
            out["kernel_after"] = pair.observe(7001)
        return out


def main(argv: list[str]) -> int:
    from tools.kernel import available

    reason = available("conntrack")
    if reason:
        print(f"cannot record here: {reason}", file=sys.stderr)
        return 1
    prefix = next((a.split("=", 1)[1] for a in argv if a.startswith("--prefix=")), "pynfA")
    names = [a for a in argv if not a.startswith("--")] or list(CASES)
    old = {c["name"]: c for c in json.loads(OUT.read_text())["cases"]} if OUT.exists() else {}
    for i, name in enumerate(names):
        old[name] = record(name, CASES[name], prefix, i)
        print(name, old[name]["kernel"], old[name].get("kernel_after", ""))
    cases = [old[n] for n in CASES if n in old]
    OUT.write_text(json.dumps({"kernel": os.uname().release, "cases": cases}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
