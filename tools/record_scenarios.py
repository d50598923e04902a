#!/usr/bin/env python3
"""Record the kernel parity scenarios: real traffic through a real router namespace.

    python3 tools/record_scenarios.py [NAME...]        (re-)record scenarios (default: all)
    python3 tools/record_scenarios.py --check [NAME...] record afresh into a temporary folder and
                                                         compare what is deterministic
    --prefix=P: name the namespaces P-<pid><n>-<role> (default $PYNF_NS_PREFIX, else pynf), apart from
                other recorders

Each scenario is a folder ``tests/scenarios/NAME/`` holding ``rules`` (iptables-restore input for
the router) and ``scenario.json`` (topology extras: MTUs, addresses, sysctls, router routes;
listeners; and the traffic: steps run in order).
Recording builds client, client2 and server namespaces around a router namespace (veth pairs,
10.233.0.0/16, ip_forward=1), restores the rules on the router (counters zero), runs
``tcpdump -i any`` on the router, drives the traffic with python3 sockets inside the namespaces,
and writes beside the definition: ``capture.pcap`` (LINUX_SLL2), ``addrs.json`` (``ip -j addr
show``), ``routes.json`` (``ip -j route show table all``), ``kernel-save.txt``
(``iptables-legacy-save -c`` after the traffic) and ``kernel-conntrack.txt`` (``conntrack -L``).
Both are read while tcpdump still runs, and the capture is cut where they were read: sockets left
open (a FIN retransmitted after an ICMP error, the listeners' FINs when they stop) send on, and
the counters must hold exactly what the capture holds.

The traffic differs a little from run to run (ACK timing, random ports, statistic choices), which
is why the tests replay the committed capture and compare against the counters recorded with it;
``--check`` compares only what does not depend on timing: the rules, the addresses and the routes.
The same file is the traffic agent run inside the namespaces (``--agent``): stdlib only (it and
tools/topology.py, which builds the lab).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the agent too: it runs as python3 tools/record_scenarios.py --agent

from tools.topology import LINKS, Lab, checksum, tcp_loop, udp_loop  # noqa: E402

SCENARIOS = ROOT / "tests" / "scenarios"
# IP_PMTUDISC_*: dont (no DF), want (DF while the datagram fits the path MTU: the default), do (always
# DF, over the path MTU: EMSGSIZE), probe (always DF, the device MTU only, learned PMTUs ignored)
PMTUDISC = {"dont": 0, "want": 1, "do": 2, "probe": 3}
SELF = Path(__file__).resolve()
# Namespace names start with this (--prefix=P): concurrent recorders keep apart by prefix and pid.
NS_PREFIX = os.environ.get("PYNF_NS_PREFIX", "pynf")

# --------------------------------------------------------------------------- the agent (in a namespace)


def _serve(specs: list[str]) -> None:
    """Listeners: tcp:ADDR:PORT echoes until EOF then closes; udp:ADDR:PORT echoes each datagram."""
    socks = []
    for spec in specs:
        proto, addr, port = spec.split(":")
        if proto == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, int(port)))
            s.listen(64)
            threading.Thread(target=tcp_loop, args=(s,), daemon=True).start()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, int(port)))
            threading.Thread(target=udp_loop, args=(s,), daemon=True).start()
        socks.append(s)
    print("ready", flush=True)
    sys.stdin.read()  # the recorder closes our stdin when the traffic is done


def _client(step: dict) -> str:
    """One traffic step; returns what happened (for the recorder's log)."""
    do, timeout = step["do"], step.get("timeout", 0.5)
    dst, port = step.get("dst", ""), int(step.get("port", 0))
    data = bytes((i * 7 + 13) & 0xFF for i in range(int(step.get("data", 64))))
    if do == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if "sport" in step:
            s.bind((step.get("src", "0.0.0.0"), int(step["sport"])))
        s.settimeout(timeout)
        try:
            s.connect((dst, port))
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
            return f"tcp ok {len(got)}"
        except OSError as e:
            return f"tcp {type(e).__name__}"
        finally:
            s.close()
    if do == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if "sport" in step:
            s.bind((step.get("src", "0.0.0.0"), int(step["sport"])))
        if "ttl" in step:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(step["ttl"]))
        if "pmtudisc" in step:  # IP_MTU_DISCOVER (10, not in the socket module): DF or not
            s.setsockopt(socket.IPPROTO_IP, 10, PMTUDISC[step["pmtudisc"]])
        if "options" in step:  # IP options (hex), e.g. an empty Record Route for the routers to fill
            s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes.fromhex(step["options"]))
        s.settimeout(timeout)
        s.connect((dst, port))  # connected: an ICMP error comes back as ECONNREFUSED
        try:
            s.send(data)
            return f"udp ok {len(s.recv(65536))}"
        except OSError as e:
            return f"udp {type(e).__name__}"
        finally:
            s.close()
    if do == "ping":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.settimeout(timeout)
        ident, out = int(step.get("id", 0x4242)), []
        for seq in range(1, int(step.get("count", 1)) + 1):
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
            s.sendto(struct.pack("!BBHHH", 8, 0, checksum(hdr), ident, seq) + data, (dst, 0))
            try:
                while True:
                    pkt = s.recv(65536)
                    if pkt[20] == 0 and struct.unpack("!H", pkt[24:26])[0] == ident:
                        out.append("ok")
                        break
            except OSError:
                out.append("timeout")
            time.sleep(float(step.get("interval", 0.0)))
        s.close()
        return "ping " + ",".join(out)
    if do == "rawtcp":  # a TCP segment with chosen flags and no connection behind it
        src = step["src"]
        flags = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32}[f] for f in step.get("flags", ""))
        sport = int(step.get("sport", 40999))
        hdr = struct.pack("!HHIIBBHHH", sport, port, 1000, 2000, 5 << 4, flags, 1024, 0, 0)
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        s.sendto(hdr, (dst, 0))
        s.close()
        time.sleep(timeout)
        return "rawtcp sent"
    raise SystemExit(f"unknown step {do!r}")


def agent(argv: list[str]) -> int:
    if argv[0] == "serve":
        _serve(argv[1:])
        return 0
    print(_client(json.loads(argv[1])), flush=True)
    return 0


# --------------------------------------------------------------------------- the recorder (root)


def _wait_line(proc: subprocess.Popen, stream: object, needle: str, what: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if needle in line:
            return
        if not line and proc.poll() is not None:
            break
    raise RuntimeError(f"{what} did not start")


def record(name: str, out_dir: Path) -> list[str]:
    """Record scenario *name* into *out_dir*; returns the agent's log lines."""
    src = SCENARIOS / name
    spec = json.loads((src / "scenario.json").read_text())
    rules = (src / "rules").read_text()
    tag = f"{os.getpid() % 10000}{all_names().index(name)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    with Lab({role: f"{NS_PREFIX}-{tag}-{role[0]}{role[-1]}" for role in ("router", *LINKS)}) as lab:
        lab.build(spec.get("topology", {}))
        lab.nx("router", "iptables-legacy-restore", "-w", stdin=rules)
        servers = []
        for role, listeners in spec.get("listen", {}).items():
            p = subprocess.Popen(["ip", "netns", "exec", lab.ns[role], "python3", str(SELF), "--agent",
                                  "serve", *listeners], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
            _wait_line(p, p.stdout, "ready", f"{role} listeners")
            servers.append(p)
        pcap = out_dir / "capture.pcap"
        dump = subprocess.Popen(["ip", "netns", "exec", lab.ns["router"], "tcpdump", "-i", "any", "-n",
                                 "-U", "--immediate-mode", "-Z", "root", "-s", "65535", "-B", "32768",
                                 "-w", str(pcap)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_line(dump, dump.stderr, "listening on", "tcpdump")  # tcpdump says so once it captures
        try:
            for step in spec["traffic"]:
                if step["do"] == "sleep":
                    time.sleep(float(step["seconds"]))
                    continue
                got = lab.nx(step.get("ns", "client"), "python3", str(SELF), "--agent", "step",
                             json.dumps(step), check=False)
                log.append(f"{step['do']} {step.get('dst', '')}:{step.get('port', '')} -> {got.strip()}")
            time.sleep(0.3)  # settle: late ACKs/FINs and ICMP errors reach the capture
            # The counters are read while the capture runs, and the capture is cut where they were
            # read: what the sockets still send (a retransmitted FIN, the listeners' FINs when they
            # stop) would be counted without being captured otherwise.
            cut = time.time()
            saved = lab.nx("router", "iptables-legacy-save", "-c")
            tracked = lab.nx("router", "conntrack", "-L", check=False)
        finally:
            dump.send_signal(signal.SIGINT)
            _, err = dump.communicate(timeout=5)
            # Immediate mode gives one ring slot per snaplen: a small ring loses bursts (fragments).
            if not re.search(r"^0 packets dropped by kernel", err, re.M):
                raise RuntimeError("tcpdump lost packets: " + " ".join(err.splitlines()[-3:]))
            for p in servers:
                assert p.stdin is not None
                p.stdin.close()
                p.terminate()
                p.wait(5)
        (out_dir / "addrs.json").write_text(lab.nx("router", "ip", "-j", "addr", "show") + "\n")
        (out_dir / "routes.json").write_text(lab.nx("router", "ip", "-j", "route", "show", "table", "all")
                                             + "\n")
        (out_dir / "kernel-save.txt").write_text(saved)
        (out_dir / "kernel-conntrack.txt").write_text(tracked)
        cut_capture(pcap, cut)
    return log


def cut_capture(pcap: Path, until: float) -> None:
    """Drop the packets a pcap (tcpdump -w: microsecond timestamps) holds after *until*."""
    data = pcap.read_bytes()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise RuntimeError(f"{pcap}: not a little-endian microsecond pcap")
    out, pos = bytearray(data[:24]), 24
    while pos + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, pos)
        if sec + usec / 1e6 <= until:
            out += data[pos:pos + 16 + incl]
        pos += 16 + incl
    pcap.write_bytes(bytes(out))


def deterministic(folder: Path) -> dict[str, object]:
    """What a re-recording must reproduce: rules without counters, addresses, routes."""
    from tools.kernel import strip_comments

    save = strip_comments((folder / "kernel-save.txt").read_text())
    rules = [line.split("] ", 1)[-1] if line.startswith("[") else line.split(" [")[0]
             for line in save.splitlines()]
    addrs = [(i["ifname"], i.get("mtu"), sorted(a["local"] + "/" + str(a["prefixlen"])
                                                for a in i.get("addr_info", [])))
             for i in json.loads((folder / "addrs.json").read_text())]
    routes = sorted(json.dumps(r, sort_keys=True) for r in json.loads((folder / "routes.json").read_text()))
    return {"rules": rules, "addrs": addrs, "routes": routes}


def all_names() -> list[str]:
    return sorted(p.parent.name for p in SCENARIOS.glob("*/scenario.json"))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--agent":
        return agent(argv[1:])
    from tools.kernel import TRAFFIC_TOOLS, available

    reason = available(*TRAFFIC_TOOLS)
    if reason:
        print(f"cannot record here: {reason}", file=sys.stderr)
        return 1
    global NS_PREFIX
    check = "--check" in argv
    NS_PREFIX = next((a.split("=", 1)[1] for a in argv if a.startswith("--prefix=")), NS_PREFIX)
    names = [a for a in argv if not a.startswith("--")] or all_names()
    unknown = sorted(set(names) - set(all_names()))
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="pynf-scenarios-"))
    failures = 0
    t0 = time.monotonic()

    def one(name: str) -> tuple[str, list[str] | Exception]:
        try:
            return name, record(name, (tmp / name) if check else (SCENARIOS / name))
        except Exception as e:  # report every scenario, not only the first failure
            return name, e

    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, res in pool.map(one, names):
            if isinstance(res, Exception):
                failures += 1
                print(f"{name}: FAILED: {res}")
                continue
            if check:
                same = deterministic(tmp / name) == deterministic(SCENARIOS / name)
                failures += not same
                print(f"{name}: {'same' if same else 'DIFFERENT from the committed recording'}")
            else:
                print(f"{name}: " + "; ".join(res))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(names)} scenarios in {time.monotonic() - t0:.1f} s, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
