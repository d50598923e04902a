#!/usr/bin/env python3
"""Record packets the kernel makes, for the wire/pcap/defrag differential tests.

    sudo python3 tools/record_packets.py          # writes tests/packet/kernel/*

Three namespaces of our own: a client (10.233.31.2, link MTU 700 so larger
datagrams leave in fragments), a router that forwards and masquerades
(``-t nat -A POSTROUTING -o s0 -j MASQUERADE``) and a server (10.233.32.2).
Transmit checksum offload is off on every veth, so captured checksums are the
ones on the wire rather than CHECKSUM_PARTIAL placeholders.  Traffic, all
made by the kernel's own stack through sockets: a TCP handshake, data and
close; a TCP connect to a closed port (RST); a UDP exchange; an ICMP echo;
a UDP datagram to a closed port (ICMP port unreachable, translated back by
the router's NAT); a 2000-byte UDP exchange (fragments in both directions,
reassembled and refragmented by the router's conntrack defrag).

Written: ``router.pcap`` (``tcpdump -i any``, LINUX_SLL2: both sides of the
NAT), ``client.pcap`` (``-i any`` in the client: its Out packets),
``server-eth.pcap`` (``-i eth0`` in the server, EN10MB, nanosecond
timestamps) and ``capture.json`` (addresses, interface indexes, the flows).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import Namespace, available  # noqa: E402

DEST = Path(__file__).resolve().parent.parent / "tests" / "packet" / "kernel"
CLIENT, ROUTER_C, ROUTER_S, SERVER = "10.233.31.2", "10.233.31.1", "10.233.32.1", "10.233.32.2"

SERVER_PY = r"""
import socket, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080)); s.listen(1)
    c, _ = s.accept(); data = c.recv(100); c.sendall(b"pynf says " + data); c.close()
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: fragment, no DF
    u.bind(("0.0.0.0", 5353))
    for _ in range(2):
        data, peer = u.recvfrom(4000); u.sendto(data[::-1], peer)
ts = [threading.Thread(target=tcp), threading.Thread(target=udp)]
[t.start() for t in ts]; print("ready", flush=True); [t.join() for t in ts]
"""

CLIENT_PY = r"""
import socket, struct, time
SERVER = "%s"
def csum(b):
    s = int.from_bytes(b + b"\0" * (len(b) & 1), "big") %% 0xFFFF
    return (~s) & 0xFFFF if s else 0
t = socket.create_connection((SERVER, 8080), timeout=5); t.sendall(b"hello"); t.recv(100); t.close()
time.sleep(0.2)
try:
    socket.create_connection((SERVER, 8081), timeout=5)
except ConnectionRefusedError:
    pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.setsockopt(socket.IPPROTO_IP, 10, 0)
u.sendto(b"udp payload", (SERVER, 5353)); u.recvfrom(100)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(5)
body = b"pynf-echo-payload"
hdr = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1)
r.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + body), 0x1234, 1) + body, (SERVER, 0)); r.recvfrom(200)
x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); x.sendto(b"nobody home", (SERVER, 9))
time.sleep(0.3)
u.sendto(bytes(range(256)) * 8, (SERVER, 5353)); u.recvfrom(4000)
print("done", flush=True)
"""


def sh(ns: Namespace, *argv: str) -> str:
    r = ns.run(list(argv))
    if r.rc != 0:
        raise RuntimeError(f"{ns.name}: {' '.join(argv)}: {r.err.strip()}")
    return r.out


def veth(a: Namespace, a_dev: str, b: Namespace, b_dev: str, mtu: int) -> None:
    subprocess.run(["ip", "link", "add", a_dev, "netns", a.name, "mtu", str(mtu), "type", "veth",
                    "peer", "name", b_dev, "netns", b.name, "mtu", str(mtu)], check=True)
    for ns, dev in ((a, a_dev), (b, b_dev)):
        sh(ns, "ethtool", "-K", dev, "tx", "off")  # real checksums on the wire, not CHECKSUM_PARTIAL
        sh(ns, "ip", "link", "set", dev, "up")


def tcpdump(ns: Namespace, out: Path, *args: str) -> subprocess.Popen:
    p = subprocess.Popen(["ip", "netns", "exec", ns.name, "tcpdump", "-U", "-n", "-w", str(out), *args],
                         stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    p.stderr.readline()  # "listening on ...": the capture is armed
    return p


def ifindexes(ns: Namespace) -> dict[str, int]:
    return {link["ifname"]: link["ifindex"] for link in json.loads(sh(ns, "ip", "-j", "link", "show"))}


def record() -> None:
    DEST.mkdir(parents=True, exist_ok=True)
    with Namespace("pynf-pkc") as c, Namespace("pynf-pkr") as r, Namespace("pynf-pks") as s:
        for ns in (c, r, s):  # no IPv6 neighbour discovery: the captures are the same on every run
            sh(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1")
        veth(c, "eth0", r, "c0", 700)
        veth(r, "s0", s, "eth0", 1500)
        sh(c, "ip", "addr", "add", f"{CLIENT}/24", "dev", "eth0")
        sh(r, "ip", "addr", "add", f"{ROUTER_C}/24", "dev", "c0")
        sh(r, "ip", "addr", "add", f"{ROUTER_S}/24", "dev", "s0")
        sh(s, "ip", "addr", "add", f"{SERVER}/24", "dev", "eth0")
        sh(c, "ip", "route", "add", "default", "via", ROUTER_C)
        sh(s, "ip", "route", "add", "default", "via", ROUTER_S)
        sh(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh(r, "iptables-legacy", "-w", "-t", "nat", "-A", "POSTROUTING", "-o", "s0", "-j", "MASQUERADE")
        caps = [tcpdump(r, DEST / "router.pcap", "-i", "any"),
                tcpdump(c, DEST / "client.pcap", "-i", "any"),
                tcpdump(s, DEST / "server-eth.pcap", "-i", "eth0", "--time-stamp-precision=nano")]
        server = subprocess.Popen(["ip", "netns", "exec", s.name, "python3", "-c", SERVER_PY],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        server.stdout.readline()
        client = sh(c, "python3", "-c", CLIENT_PY % SERVER)
        server.wait(timeout=10)
        time.sleep(0.5)
        for p in caps:
            p.terminate()
            p.wait(timeout=10)
        meta = {
            "client": CLIENT, "router_c": ROUTER_C, "router_s": ROUTER_S, "server": SERVER,
            "client_mtu": 700, "rules": "-t nat -A POSTROUTING -o s0 -j MASQUERADE",
            "ifindex": {"router": ifindexes(r), "client": ifindexes(c), "server": ifindexes(s)},
            "client_output": client.strip(),
        }
    (DEST / "capture.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    for name in ("router.pcap", "client.pcap", "server-eth.pcap"):
        print(f"{name}: {(DEST / name).stat().st_size} bytes")


def main() -> int:
    why = available()
    if why:
        print(f"cannot record: {why}", file=sys.stderr)
        return 1
    record()
    return 0


if __name__ == "__main__":
    sys.exit(main())
