"""Record the kernel's TRACE lines for the trace cases (run through tools/record_hosts.py).

Each case builds client -- router -- server namespaces, loads the case's rules
(``-t raw -j TRACE`` first) into the router, sends one packet and keeps the
router's TRACE lines from /dev/kmsg.  Written per case: ``rules``,
``addrs.json``/``routes.json`` of the router, and ``case.json`` (the packet as
``pynf trace`` words, and the kernel's lines).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

TOPOLOGY = [
    ("client", "eth0", "r0", "10.233.1.2/24", "10.233.1.1/24", "10.233.1.1"),
    ("server", "eth0", "r1", "10.233.2.2/24", "10.233.2.1/24", "10.233.2.1"),
]

SEND = {
    "udp": "import socket,sys; s=socket.socket(2,2); s.bind(('',int(sys.argv[2]))); "
           "s.sendto(b'pynf', (sys.argv[1], int(sys.argv[3])))",
    "tcp": "import socket,sys; s=socket.socket(2,1); s.bind(('',int(sys.argv[2]))); s.setblocking(False)\n"
           "try: s.connect((sys.argv[1], int(sys.argv[3])))\nexcept OSError: pass\n"
           "import time; time.sleep(0.2)",
}

FILTER_GOTO = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:X - [0:0]
:Y - [0:0]
-A FORWARD -p tcp -j ACCEPT
-A FORWARD -j X
-A FORWARD -p udp -j ACCEPT
-A X -p tcp -j DROP
-A X -p udp --dport 9999 -g Y
-A X -j RETURN
-A Y -p udp --dport 1 -j DROP
COMMIT
"""
RAW = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j TRACE\n-A OUTPUT -j TRACE\n"

CASES: dict[str, dict] = {
    "forward-goto-return": {
        "rules": RAW + "-A PREROUTING -p tcp -j ACCEPT\n-A PREROUTING -j ACCEPT\nCOMMIT\n" + FILTER_GOTO,
        "from": "client", "proto": "udp", "dst": "10.233.2.2", "sport": 40001, "dport": 9999,
    },
    "input-user-chain-policy": {
        "rules": RAW + "COMMIT\n*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":CHK - [0:0]\n-A INPUT -p tcp -j CHK\n-A INPUT -p udp -j ACCEPT\n"
                 "-A CHK -p tcp --dport 22 -j ACCEPT\n-A CHK -p tcp --dport 81 -j RETURN\n-A CHK -j DROP\n"
                 "COMMIT\n",
        "from": "client", "proto": "tcp", "dst": "10.233.1.1", "sport": 40002, "dport": 81,
    },
    "mangle-mark-return": {
        "rules": RAW + "COMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n"
                 ":FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                 "-A PREROUTING -p udp -j MARK --set-mark 0x1\n"
                 "-A FORWARD -m mark --mark 0x1 -j RETURN\n-A FORWARD -j ACCEPT\nCOMMIT\n"
                 "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 "-A FORWARD -m mark --mark 0x1 -j DROP\nCOMMIT\n",
        "from": "client", "proto": "udp", "dst": "10.233.2.2", "sport": 40003, "dport": 9998,
    },
    "nat-dnat-masquerade": {
        "rules": RAW + "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d 10.233.1.1/32 -p tcp --dport 8080 -j DNAT "
                 "--to-destination 10.233.2.2:80\n-A POSTROUTING -o r1 -j MASQUERADE\nCOMMIT\n"
                 "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 "-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n",
        "from": "client", "proto": "tcp", "dst": "10.233.1.1", "sport": 40004, "dport": 8080,
    },
    "output-local": {
        "rules": RAW + "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":POSTROUTING ACCEPT [0:0]\n-A OUTPUT -p udp --dport 9997 -j DNAT --to-destination :9996\n"
                 "COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":OUT - [0:0]\n-A OUTPUT -o r1 -j OUT\n-A OUT -p udp --dport 9996 -j RETURN\n"
                 "-A OUT -j DROP\n"
                 "COMMIT\n",
        "from": "router", "proto": "udp", "dst": "10.233.2.2", "sport": 40005, "dport": 9997,
    },
    "output-dnat-reroute": {
        "rules": RAW + "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":POSTROUTING ACCEPT [0:0]\n-A OUTPUT -d 10.233.2.2/32 -p udp -j DNAT --to-destination "
                 "10.233.1.2\n-A POSTROUTING -o r0 -p udp -j ACCEPT\nCOMMIT\n",
        "from": "router", "proto": "udp", "dst": "10.233.2.2", "sport": 40007, "dport": 9995,
    },
    "kube-statistic": {
        "rules": RAW + "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                 ":POSTROUTING ACCEPT [0:0]\n:SVC - [0:0]\n:SEP1 - [0:0]\n:SEP2 - [0:0]\n:SEP3 - [0:0]\n"
                 "-A PREROUTING -d 10.233.1.100/32 -p tcp --dport 80 -j SVC\n"
                 "-A SVC -m statistic --mode random --probability 0.33333333349 -j SEP1\n"
                 "-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP2\n-A SVC -j SEP3\n"
                 "-A SEP1 -p tcp -j DNAT --to-destination 10.233.2.2:8081\n"
                 "-A SEP2 -p tcp -j DNAT --to-destination 10.233.2.2:8082\n"
                 "-A SEP3 -p tcp -j DNAT --to-destination 10.233.2.2:8083\nCOMMIT\n",
        "from": "client", "proto": "tcp", "dst": "10.233.1.100", "sport": 40006, "dport": 80,
        "routes": ["10.233.1.100 via 10.233.1.1"],
    },
}
LINE = re.compile(r"TRACE: (\S+) (.*)$")


def sh(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True)


def _kmsg_lines(fd: int) -> list[str]:
    out = []
    while True:
        try:
            rec = os.read(fd, 8192).decode(errors="replace")
        except BlockingIOError:
            return out
        out.append(rec.split(";", 1)[1].rstrip("\n") if ";" in rec else rec)


def record_case(name: str, case: dict, outdir: Path) -> None:
    tag = f"{os.getpid()}"
    ns = {role: f"pynf-t{role[0]}-{tag}" for role in ("client", "router", "server")}
    for n in ns.values():
        sh(["ip", "netns", "add", n])
    try:
        for n in ns.values():
            sh(["ip", "-n", n, "link", "set", "lo", "up"])
        for role, dev, rdev, addr, raddr, gw in TOPOLOGY:
            sh(["ip", "-n", ns[role], "link", "add", dev, "type", "veth", "peer", "name", rdev, "netns",
                ns["router"]])
            sh(["ip", "-n", ns[role], "addr", "add", addr, "dev", dev])
            sh(["ip", "-n", ns["router"], "addr", "add", raddr, "dev", rdev])
            sh(["ip", "-n", ns[role], "link", "set", dev, "up"])
            sh(["ip", "-n", ns["router"], "link", "set", rdev, "up"])
            sh(["ip", "-n", ns[role], "route", "add", "default", "via", gw])
        for r in case.get("routes", []):
            sh(["ip", "-n", ns["client"], "route", "add", *r.split()])
        sh(["ip", "netns", "exec", ns["router"], "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        r = sh(["ip", "netns", "exec", ns["router"], "iptables-legacy-restore", "-w"], case["rules"])
        if r.returncode:
            raise RuntimeError(f"{name}: {r.stderr.strip()}")
        old = Path("/proc/sys/net/netfilter/nf_log_all_netns").read_text().strip()
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        try:
            os.lseek(fd, 0, os.SEEK_END)
            Path("/proc/sys/net/netfilter/nf_log_all_netns").write_text("1")
            try:
                sh(["ip", "netns", "exec", ns[case["from"]], "python3", "-c", SEND[case["proto"]],
                    case["dst"], str(case["sport"]), str(case["dport"])])
                time.sleep(0.3)
            finally:
                Path("/proc/sys/net/netfilter/nf_log_all_netns").write_text(old)
            lines = _kmsg_lines(fd)
        finally:
            os.close(fd)
        # The packet's own lines: its port outside the [...] of an ICMP error that quotes it.
        mine = [m.group(0) for m in map(LINE.search, lines)
                if m and f"SPT={case['sport']} " in m.group(0).split("[", 1)[0]]
        if not mine:
            raise RuntimeError(f"{name}: no TRACE lines (is nf_log_ipv4 bound for AF_INET?)")
        words = ["-p", case["proto"], "--sport", str(case["sport"]), "-d", case["dst"], "--dport",
                 str(case["dport"])]
        if case["from"] == "router":
            words += ["--local"]
        else:
            words += ["-s", "10.233.1.2", "-i", "r0"] + (["--syn"] if case["proto"] == "tcp" else [])
        d = outdir / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "rules").write_text(case["rules"])
        (d / "addrs.json").write_text(sh(["ip", "-n", ns["router"], "-j", "addr", "show"]).stdout)
        routes = sh(["ip", "-n", ns["router"], "-j", "route", "show", "table", "all"]).stdout
        (d / "routes.json").write_text(routes)
        (d / "case.json").write_text(json.dumps({"words": words, "kernel": mine}, indent=1) + "\n")
        print(f"trace {name}: {len(mine)} lines")
    finally:
        for n in ns.values():
            sh(["ip", "netns", "del", n])


def record_traces(outdir: Path) -> None:
    for name, case in CASES.items():
        record_case(name, case, outdir)
