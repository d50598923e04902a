#!/usr/bin/env python3
"""Record the kernel's routing answers and TRACE output that the host and trace tests compare against.

    sudo python3 tools/record_hosts.py              # hosts and traces
    sudo python3 tools/record_hosts.py hosts        # only the routing scenarios
    sudo python3 tools/record_hosts.py trace        # only the TRACE cases

Hosts (tests/netfilter/kernel/hosts/NAME/): a namespace is built with veth
interfaces (their peers in a sink namespace), addresses, routes of every
type in several tables and the scenario's sysctls; recorded are ``ip -j addr
show``, ``ip -j route show table all``, and the kernel's answers: ``ip -j
route get D from S iif I`` for every (D, S, I), ``ip -j route get D [from S]
[oif O]`` for output, and xt_addrtype's verdicts (packets with each source
address sent from a raw socket past ``-m addrtype --src-type T
[--limit-iface-out]`` rules, read back from the rule counters).

Traces (tests/netfilter/kernel/trace/NAME/): a router namespace between a
client and a server runs the case's rules with ``-t raw -j TRACE`` first; one
packet is sent and the kernel's TRACE lines are read from /dev/kmsg
(net.netfilter.nf_log_all_netns is set to 1 for that and restored after).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.kernel import available  # noqa: E402

HOSTS = ROOT / "tests/netfilter/kernel/hosts"
TRACES = ROOT / "tests/netfilter/kernel/trace"
ERRNO = {"Network is unreachable": "ENETUNREACH", "No route to host": "EHOSTUNREACH",
         "Invalid argument": "EINVAL", "Permission denied": "EACCES", "Invalid cross-device link": "EXDEV",
         "No such device": "ENODEV"}
TYPES = ("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE",
         "PROHIBIT", "THROW", "NAT", "XRESOLVE")

# name: (links, commands in the namespace, sysctls, input daddrs, saddrs, iifs, oifs, addrtype (dst -> dev))
SCENARIOS: dict[str, dict] = {
    "router": {
        "links": ["d0", "d1", "d2", "d3"],
        "cmds": [
            "addr add 10.233.10.1/24 dev d0", "addr add 10.233.10.2/24 dev d0",
            "addr add 10.233.11.1/24 dev d0",
            "addr add 10.233.20.1/24 dev d1", "addr add 10.233.21.5/30 dev d1",
            "addr add 10.233.22.1/24 brd 10.233.22.127 dev d1", "addr add 10.233.23.9/32 dev d1",
            "addr add 10.233.30.1/24 dev d3",
            "link set d0 up", "link set d1 up", "link set d2 up",
            "route add default via 10.233.10.254 dev d0", "route add 10.233.40.0/24 via 10.233.20.254",
            "route add 10.233.40.128/25 via 10.233.11.254", "route add blackhole 10.233.50.0/24",
            "route add unreachable 10.233.51.0/24", "route add prohibit 10.233.52.0/24",
            "route add throw 10.233.53.0/24", "route add 10.233.53.0/24 via 10.233.20.254 table default",
            "route add 10.233.60.0/24 dev d1 src 10.233.21.5", "route add 10.233.61.0/24 dev d2",
            "route add 10.233.70.0/24 via 10.233.20.254 metric 100",
            "route add 10.233.70.0/24 via 10.233.10.254 metric 50",
            "route add 10.233.40.0/24 via 10.233.10.254 table 100",
            "route add 10.233.10.128/25 via 10.233.20.254",
        ],
        "sysctl": {"net.ipv4.ip_forward": 1},
        "daddrs": ["10.233.10.1", "10.233.10.2", "10.233.11.1", "10.233.20.1", "10.233.10.255", "10.233.10.0",
                   "10.233.21.7", "10.233.21.4", "10.233.22.127", "10.233.22.255", "10.233.23.9",
                   "10.233.30.1", "10.233.10.77", "10.233.10.200", "10.233.40.5", "10.233.40.200",
                   "10.233.50.1", "10.233.51.1", "10.233.52.1", "10.233.53.1", "10.233.60.1", "10.233.61.1",
                   "10.233.70.1", "10.233.99.1", "255.255.255.255", "224.0.0.1", "239.1.1.1", "127.0.0.1",
                   "0.1.2.3"],
        "saddrs": ["10.233.99.9", "10.233.20.77", "10.233.10.1", "0.0.0.0", "127.0.0.1", "10.233.50.9",
                   "10.233.10.255", "10.233.30.1", "0.1.2.3"],
        "iifs": ["d0", "d1", "d2"],
        "osrcs": ["", "10.233.20.1", "10.233.30.1", "10.233.99.9"],
        "oifs": ["", "d1", "d2"],
        "addrtype": {"10.233.20.77": "d1", "10.233.10.77": "d0"},
    },
    "host-noforward": {
        "links": ["e0", "e1"],
        "cmds": [
            "addr add 10.233.110.1/24 dev e0", "addr add 10.233.120.1/24 dev e1", "link set e0 up",
            "link set e1 up", "route add 10.233.130.0/24 via 10.233.120.254",
            "route add local 10.233.190.0/24 dev lo", "route add 10.233.190.5/32 via 10.233.110.254",
            "route add blackhole 10.233.150.0/24", "route add prohibit 10.233.152.0/24",
        ],
        "sysctl": {"net.ipv4.ip_forward": 0},
        "daddrs": ["10.233.110.1", "10.233.120.1", "10.233.110.255", "10.233.130.9", "10.233.190.1",
                   "10.233.190.5", "10.233.150.1", "10.233.152.1", "10.233.99.1", "255.255.255.255",
                   "224.0.0.1", "10.233.110.50"],
        "saddrs": ["10.233.110.50", "10.233.130.9", "10.233.190.7", "10.233.99.9", "10.233.110.1"],
        "iifs": ["e0", "e1"],
        "osrcs": ["", "10.233.190.9", "10.233.120.1"],
        "oifs": ["", "e0"],
        "addrtype": {"10.233.110.77": "e0", "10.233.120.77": "e1"},
    },
}
for _name, _rpf in (("rpfilter-strict", 1), ("rpfilter-loose", 2)):
    SCENARIOS[_name] = {
        "links": ["f0", "f1"],
        "cmds": ["addr add 10.233.210.1/24 dev f0", "addr add 10.233.220.1/24 dev f1", "link set f0 up",
                 "link set f1 up", "route add 10.233.230.0/24 via 10.233.220.254",
                 "route add default via 10.233.210.254", "route add blackhole 10.233.250.0/24"],
        "sysctl": {"net.ipv4.ip_forward": 1, "net.ipv4.conf.all.rp_filter": _rpf},
        "daddrs": ["10.233.210.1", "10.233.220.1", "10.233.230.9", "10.233.99.1", "10.233.220.9",
                   "10.233.210.255"],
        "saddrs": ["10.233.230.9", "10.233.99.9", "10.233.220.9", "10.233.210.9", "10.233.250.9"],
        "iifs": ["f0", "f1"],
        "osrcs": [""],
        "oifs": [""],
    }


def sh(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True)


def route_get(ns: str, args: list[str]) -> dict:
    r = sh(["ip", "-n", ns, "-j", "route", "get", *args])
    if r.returncode != 0:
        msg = r.stderr.strip().removeprefix("RTNETLINK answers: ")
        return {"error": ERRNO.get(msg, msg)}
    e = json.loads(r.stdout)[0]
    out = {k: e[k] for k in ("dev", "gateway", "prefsrc") if k in e}
    return {"type": e.get("type", "unicast"), **out}


def _addrtype_rules(addrs: list[str], targets: dict[str, str]) -> str:
    lines = ["*filter", ":OUTPUT ACCEPT [0:0]"]
    first = next(iter(targets))
    for a in addrs:
        for t in TYPES:
            lines.append(f"-A OUTPUT -s {a}/32 -d {first}/32 -p 253 -m addrtype --src-type {t}")
            lines += [f"-A OUTPUT -s {a}/32 -d {dst}/32 -p 253 -m addrtype --src-type {t} --limit-iface-out"
                      for dst in targets]
    return "\n".join(lines + ["COMMIT", ""])


SEND_RAW = """
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
for a in sys.argv[2:]:
    for d in sys.argv[1].split(','):
        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 24, 0, 0, 64, 253, 0,
                        socket.inet_aton(a), socket.inet_aton(d))
        s.sendto(h + b'pynf', (d, 0))
"""


def record_addrtype(ns: str, sc: dict, addrs: list[str]) -> dict:
    targets: dict[str, str] = sc["addrtype"]
    r = sh(["ip", "netns", "exec", ns, "iptables-legacy-restore", "-w"], _addrtype_rules(addrs, targets))
    if r.returncode:
        raise RuntimeError(r.stderr)
    r = sh(["ip", "netns", "exec", ns, "python3", "-c", SEND_RAW, ",".join(targets), *addrs])
    if r.returncode:
        raise RuntimeError(r.stderr)
    save = sh(["ip", "netns", "exec", ns, "iptables-legacy-save", "-c", "-t", "filter"]).stdout
    out: dict[str, dict[str, list[str]]] = {}
    first = next(iter(targets))
    for line in save.splitlines():
        if not line.startswith("[") or " -A OUTPUT " not in line:
            continue
        pk = int(line[1:].split(":")[0])
        w = line.split()
        a, d, t = w[4].split("/")[0], w[6].split("/")[0], w[12]
        key = f"{targets[d]}" if "--limit-iface-out" in line else ""
        if key == "" and d != first:
            continue
        if pk:
            out.setdefault(a, {}).setdefault(key, []).append(t)
    return out


def record_host(name: str, sc: dict) -> None:
    ns, sink = f"pynf-h-{os.getpid()}", f"pynf-hs-{os.getpid()}"
    for n in (ns, sink):
        sh(["ip", "netns", "add", n])
    try:
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        for link in sc["links"]:
            sh(["ip", "-n", ns, "link", "add", link, "type", "veth", "peer", "name", f"p{link}",
                "netns", sink])
            sh(["ip", "-n", sink, "link", "set", f"p{link}", "up"])
        for key, val in sc["sysctl"].items():
            sh(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={val}"])
        for cmd in sc["cmds"]:
            r = sh(["ip", "-n", ns, *cmd.split()])
            if r.returncode:
                raise RuntimeError(f"{name}: ip {cmd}: {r.stderr.strip()}")
        rpf = max(int(sh(["ip", "netns", "exec", ns, "sysctl", "-n", f"net.ipv4.conf.{d}.rp_filter"]).stdout)
                  for d in ("all", *sc["links"]))
        fwd = int(sh(["ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward"]).stdout)
        inp = [{"dst": d, "src": s, "iif": i, **route_get(ns, [d, "from", s, "iif", i])}
               for d in sc["daddrs"] for s in sc["saddrs"] for i in sc["iifs"]]
        outp = []
        for d in sc["daddrs"]:
            for s in sc["osrcs"]:
                for o in sc["oifs"]:
                    args = [d] + (["from", s] if s else []) + (["oif", o] if o else [])
                    outp.append({"dst": d, "src": s, "oif": o, **route_get(ns, args)})
        answers = {"sysctl": {"ip_forward": fwd, "rp_filter": rpf}, "input": inp, "output": outp}
        if "addrtype" in sc:
            # 0.0.0.0 is left out: a raw socket's kernel fills a zero source in.
            addrs = sorted(set(sc["daddrs"] + sc["saddrs"]) - {"0.0.0.0"})
            answers["addrtype"] = record_addrtype(ns, sc, addrs)
        d = HOSTS / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "addrs.json").write_text(sh(["ip", "-n", ns, "-j", "addr", "show"]).stdout)
        (d / "routes.json").write_text(sh(["ip", "-n", ns, "-j", "route", "show", "table", "all"]).stdout)
        (d / "answers.json").write_text(json.dumps(answers, indent=1) + "\n")
        print(f"{name}: {len(inp)} input, {len(outp)} output, {len(answers.get('addrtype', {}))} addrtype")
    finally:
        for n in (ns, sink):
            sh(["ip", "netns", "del", n])


if __name__ == "__main__":
    why = available()
    if why:
        sys.exit(f"record_hosts: {why}")
    which = set(sys.argv[1:]) or {"hosts", "trace"}
    if "hosts" in which:
        for n, s in SCENARIOS.items():
            record_host(n, s)
    if "trace" in which:
        from tools.record_traces import record_traces

        record_traces(TRACES)

