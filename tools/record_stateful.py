#!/usr/bin/env python3
"""Record what the kernel does with the stateful matches (limit, hashlimit, recent, statistic, quota,
set, time, conntrack, connlimit, connbytes, ...) under real, timed traffic.

    python3 tools/record_stateful.py [NAME...]     (re-)record scenarios (default: all); needs root

Each scenario builds a client, a router and a server namespace (``pynf-st-*``, veth pairs,
10.233.41.0/24 and 10.233.42.0/24), loads the scenario's ipsets and filter rules on the router
(``iptables-legacy-restore``, counters zero), captures every packet the router receives
(``tcpdump -i any -Q in``, LINUX_SLL2, microsecond timestamps: rate limits depend on them),
drives the scenario's timed traffic from the client with python3 sockets, then records
``iptables-legacy-save -c``, ``conntrack -L`` and ``ipset save``.  The result goes to
``tests/ext/eval/kernel/stateful/NAME.json``: the rules, the ipsets, the router's interfaces and
routes (``ip -j``), the received packets (time, interface, IP datagram in hex) and the kernel's
counters; ``NAME.pcap`` keeps the raw capture for the replay command.
tests/ext/eval/test_stateful.py replays the packets through pynetfilter and requires the same
counters for every rule and policy.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "ext" / "eval" / "kernel" / "stateful"
C, R, S = "10.233.41.2", "10.233.41.1", "10.233.42.2"
RS = "10.233.42.1"

# The traffic agent, run with python3 inside the client namespace; the schedule comes on stdin.
# Steps: {"at": s, "udp": [src, sport, dst, dport, size, ttl]} sends one datagram at time s;
# {"at": s, "tcp": [src, dst, dport, nbytes, close]} opens a connection (0.5 s to connect), sends
# nbytes and keeps it open until the end unless close is true.
AGENT = r"""
import json, socket, sys, time
steps = json.load(sys.stdin)
t0 = time.monotonic() + 0.05
keep = []
for st in steps:
    while True:
        d = t0 + st["at"] - time.monotonic()
        if d <= 0:
            break
        time.sleep(d if d > 0.002 else 0)
    if "udp" in st:
        src, sport, dst, dport, size, ttl = st["udp"]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ttl:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        s.bind((src, sport))
        s.sendto(b"x" * size, (dst, dport))
        s.close()
    else:
        src, dst, dport, nbytes, close = st["tcp"]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(0.5)
        try:
            s.connect((dst, dport))
            if nbytes:
                s.sendall(b"y" * nbytes)
            time.sleep(0.05)
        except OSError:
            pass
        if close:
            s.close()
        else:
            keep.append(s)
time.sleep(0.3)
"""
MARKERS = r"""
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
frame = b"\xff" * 6 + s.getsockname()[4][:6] + b"\x88\xb5" + b"pynf-marker".ljust(46, b"\0")
for _ in range(40):
    s.send(frame)
    time.sleep(0.02)
"""
SERVER = r"""
import socket, sys, threading
def serve(c):
    while c.recv(65536):
        pass
    c.close()
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 8080)); ls.listen(64)
def accept():
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 9999))
print("ready", flush=True)
sys.stdin.read()
"""


def udp(at: float, dport: int, src: str = C, sport: int = 40000, size: int = 100, ttl: int = 0,
        dst: str = S) -> dict:
    return {"at": round(at, 4), "udp": [src, sport, dst, dport, size, ttl]}


def burst(at: float, n: int, dport: int, gap: float = 0.0005, **kw: object) -> list[dict]:
    return [udp(at + i * gap, dport, **kw) for i in range(n)]  # type: ignore[arg-type]


def rules(*lines: str, policy: str = "ACCEPT") -> str:
    body = "".join(f"-A FORWARD {ln}\n" for ln in lines)
    return f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {policy} [0:0]\n:OUTPUT ACCEPT [0:0]\n{body}COMMIT\n"


def _utc_hm(offset: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(time.time() + offset))


def scenarios() -> dict[str, dict]:
    """name -> {rules, ipset (restore text), steps, extra client addresses}; built when recording
    (the time scenario's window is around the recording time)."""
    sc: dict[str, dict] = {}
    steps = burst(0, 10, 7000)
    steps += burst(0.3, 5, 7000) + burst(1.0, 5, 7000)
    steps += [udp(1.0 + 0.11 * i, 7000) for i in range(1, 7)]
    sc["limit"] = {"rules": rules(
        "-p udp --dport 7000 -m limit --limit 5/s --limit-burst 3 -j ACCEPT",
        "-p udp --dport 7000 -m limit --limit 2/s -j ACCEPT",
        "-p udp --dport 7000 -j DROP"), "steps": steps}
    steps = []
    for k, src in enumerate((C, "10.233.41.3", "10.233.41.4")):
        steps += burst(0.01 * k, 4 + k, 7100, src=src)
        steps += burst(0.6 + 0.01 * k, 3, 7100, src=src)
        steps += burst(2.3 + 0.01 * k, 4, 7100, src=src)
    steps.sort(key=lambda s: s["at"])
    sc["hashlimit"] = {"rules": rules(
        "-p udp --dport 7100 -m hashlimit --hashlimit-upto 2/s --hashlimit-burst 2 --hashlimit-mode srcip "
        "--hashlimit-name hl1 -j ACCEPT",
        "-p udp --dport 7100 -m hashlimit --hashlimit-above 3/s --hashlimit-burst 1 --hashlimit-mode "
        "srcip,dstport --hashlimit-name hl2 -j DROP",
        "-p udp --dport 7100 -j ACCEPT"), "steps": steps, "addrs": ["10.233.41.3", "10.233.41.4"]}
    b3 = "10.233.41.3"
    steps = [udp(0, 7201), udp(0.02, 7201), udp(0.04, 7201), udp(0.05, 7202)]
    steps += [udp(0.1 + 0.05 * i, 7203) for i in range(4)]
    steps += [udp(0.3, 7202, src=b3), udp(0.32, 7201, src=b3), udp(1.5, 7202), udp(1.55, 7203),
              udp(1.6, 7201, ttl=30), udp(1.65, 7204, ttl=30), udp(1.7, 7204), udp(1.75, 7205),
              udp(1.8, 7202), udp(3.0, 7206), udp(3.05, 7202, src=b3), udp(3.1, 7202)]
    sc["recent"] = {"rules": rules(
        "-p udp --dport 7201 -m recent --set --name r1",
        "-p udp --dport 7202 -m recent --rcheck --seconds 1 --name r1",
        "-p udp --dport 7203 -m recent --update --seconds 2 --hitcount 3 --name r1",
        "-p udp --dport 7204 -m recent --rcheck --rttl --name r1",
        "-p udp --dport 7205 -m recent ! --rcheck --name r1 --rdest",
        "-p udp --dport 7206 -m recent --rcheck --seconds 1 --reap --name r1",
        "-p udp --dport 7206 -m recent --remove --name r1",
        "-m recent --rcheck --name r1 --mask 255.255.255.0"), "steps": steps,
        "addrs": ["10.233.41.3"]}
    sc["statistic-quota"] = {"rules": rules(
        "-p udp --dport 7300 -m statistic --mode nth --every 3 --packet 1 -j ACCEPT",
        "-p udp --dport 7300 -m statistic --mode nth ! --every 4 --packet 0",
        "-p udp --dport 7300 -m quota --quota 1000",
        "-p udp --dport 7300 -m quota ! --quota 500"), "steps": burst(0, 14, 7300, gap=0.01)}
    ipset = ("create h hash:ip\nadd h 10.233.41.3\n"
             "create n hash:net\nadd n 10.233.41.0/24\nadd n 10.233.41.4/30 nomatch\n"
             "create hp hash:ip,port\nadd hp 10.233.42.2,udp:7401\n"
             "create np hash:net,port\nadd np 10.233.41.0/28,udp:7402\n"
             "create ipi hash:ip,port,ip\nadd ipi 10.233.41.2,udp:7403,10.233.42.2\n"
             "create ipn hash:ip,port,net\nadd ipn 10.233.42.2,udp:40000,10.233.41.0/29\n"
             "create bp bitmap:port range 7000-7999\nadd bp 7404\n"
             "create l list:set\nadd l h\nadd l bp\n")
    steps = []
    for i, (src, dport) in enumerate([(C, 7400), ("10.233.41.3", 7400), ("10.233.41.4", 7400),
                                      (C, 7401), (C, 7402), (C, 7403), ("10.233.41.3", 7403),
                                      (C, 7404), ("10.233.41.5", 7405)]):
        steps.append(udp(0.02 * i, dport, src=src))
    sc["set"] = {"ipset": ipset, "rules": rules(
        "-m set --match-set h src", "-m set --match-set n src", "-m set --match-set n src --return-nomatch",
        "-m set ! --match-set n src", "-m set --match-set hp dst,dst", "-m set --match-set hp src,dst",
        "-m set --match-set np src,dst", "-m set --match-set ipi src,dst,dst",
        "-m set --match-set ipn dst,src,src", "-m set --match-set bp dst", "-m set --match-set l src,dst",
        "-m set --match-set l dst"), "steps": steps,
        "addrs": ["10.233.41.3", "10.233.41.4", "10.233.41.5"]}
    wd = time.strftime("%a", time.gmtime())
    sc["time"] = {"rules": rules(
        f"-m time --timestart {_utc_hm(-3600)} --timestop {_utc_hm(3600)}",
        f"-m time --timestart {_utc_hm(3600)} --timestop {_utc_hm(7200)}",
        f"-m time --weekdays {wd}", f"-m time ! --weekdays {wd}",
        "-m time --datestart 2020-01-01 --datestop 2037-01-01", "-m time --datestop 2021-01-01",
        f"-m time --timestart {_utc_hm(600)} --timestop {_utc_hm(-600)}"), "steps": burst(0, 3, 7500)}
    return sc


def conntrack_scenarios() -> dict[str, dict]:
    sc: dict[str, dict] = {}
    steps = [{"at": 0.1 * i, "tcp": [C, S, 8080, 0, False]} for i in range(4)]
    steps += [{"at": 0.5 + 0.1 * i, "tcp": ["10.233.41.3", S, 8080, 0, False]} for i in range(2)]
    sc["connlimit"] = {"rules": rules(
        "-p tcp --syn --dport 8080 -m connlimit --connlimit-above 2 -j DROP",
        "-p tcp --syn -m connlimit --connlimit-upto 5 --connlimit-mask 24",
        "-p tcp -m conntrack --ctstate ESTABLISHED"), "steps": steps, "addrs": ["10.233.41.3"]}
    steps = [{"at": 0.0, "tcp": [C, S, 8080, 3000, True]}, {"at": 0.3, "tcp": [C, S, 8080, 100, True]}]
    steps += [udp(0.6, 9999), udp(0.65, 9999), udp(0.7, 9998)]  # 9998 is closed: a RELATED ICMP error
    sc["conntrack"] = {"rules": rules(
        "-m conntrack --ctstate NEW", "-m conntrack --ctstate ESTABLISHED --ctdir ORIGINAL",
        "-m conntrack --ctstate ESTABLISHED --ctdir REPLY", "-m conntrack --ctstatus SEEN_REPLY",
        "-m conntrack --ctstatus ASSURED", f"-m conntrack --ctorigdst {S} --ctorigdstport 8080",
        "-m conntrack --ctproto udp --ctreplsrc 10.233.42.0/24", "-m state --state RELATED,INVALID",
        "-m conntrack ! --ctstate NEW,ESTABLISHED",
        "-m connbytes --connbytes 3 --connbytes-dir original --connbytes-mode packets",
        "-m connbytes --connbytes 0:1000 --connbytes-dir both --connbytes-mode bytes",
        "-m connbytes --connbytes 200 --connbytes-dir reply --connbytes-mode avgpkt"), "steps": steps}
    return sc


def sh(*argv: str, ns: str | None = None, stdin: str | None = None, check: bool = True) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if check and p.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p.stdout


def read_sll2(path: Path) -> list[tuple[float, int, bytes]]:
    """(time, ifindex, IP datagram) of each IPv4 packet in a LINUX_SLL2 pcap."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    if linktype != 276:
        raise SystemExit(f"{path}: link type {linktype}, expected LINUX_SLL2 (276)")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(order + "IIII", data, off)
        rec = data[off + 16: off + 16 + incl]
        off += 16 + incl
        proto, _, ifindex = struct.unpack_from(">HHI", rec)
        if proto == 0x0800:
            out.append((sec + frac / (1e9 if nano else 1e6), ifindex, rec[20:]))
    return out


def forward_total(save: str) -> int:
    """Packets that went through FORWARD: the policy's plus those of rules with a final verdict."""
    total = 0
    for line in save.splitlines():
        if line.startswith(":FORWARD "):
            total += int(line.rsplit("[", 1)[1].split(":")[0])
        elif "-A FORWARD " in line and line.endswith(("-j ACCEPT", "-j DROP")):
            total += int(line[1:].split(":")[0])
    return total


def record(name: str, sc: dict) -> bool:
    tag = f"{os.getpid() % 10000}"
    cl, rt, sv = f"pynf-st-c{tag}", f"pynf-st-r{tag}", f"pynf-st-s{tag}"
    for ns in (cl, rt, sv):
        sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", "rc", "netns", rt, "type", "veth", "peer", "name", "eth0", "netns", cl)
        sh("ip", "link", "add", "rs", "netns", rt, "type", "veth", "peer", "name", "eth0", "netns", sv)
        for ns, dev, addr in ((cl, "eth0", C), (rt, "rc", R), (rt, "rs", RS), (sv, "eth0", S)):
            sh("ip", "addr", "add", f"{addr}/24", "dev", dev, ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for a in sc.get("addrs", []):
            sh("ip", "addr", "add", f"{a}/24", "dev", "eth0", ns=cl)
        sh("ip", "route", "add", "default", "via", R, ns=cl)
        sh("ip", "route", "add", "default", "via", RS, ns=sv)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=rt)
        # Resolve the neighbours first so no packet waits for ARP while being timed.
        for ns, peer in ((cl, R), (sv, RS)):
            sh("python3", "-c", f"import socket;socket.socket(2,2).sendto(b'',('{peer}',9))", ns=ns)
        time.sleep(0.3)
        if sc.get("ipset"):
            sh("ipset", "restore", ns=rt, stdin=sc["ipset"])
        sh("iptables-legacy-restore", "-w", ns=rt, stdin=sc["rules"])
        server = subprocess.Popen(["ip", "netns", "exec", sv, "python3", "-c", SERVER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        server.stdout.readline()
        with tempfile.TemporaryDirectory() as tmp:
            pcap = Path(tmp) / "cap.pcap"
            dump = subprocess.Popen(["ip", "netns", "exec", rt, "tcpdump", "-i", "any", "-Q", "in", "-n",
                                     "-U", "--immediate-mode", "-B", "32768", "-w", str(pcap)],
                                    stderr=subprocess.PIPE, text=True)
            assert dump.stderr is not None
            try:
                dump.stderr.readline()  # "tcpdump: listening on any ..."
                time.sleep(0.2)
                sh("python3", "-c", AGENT, ns=cl, stdin=json.dumps(sc["steps"]))
                time.sleep(0.3)
                server.communicate("")  # its sockets close now: those packets belong in the capture too
                time.sleep(0.3)
                # tcpdump hands packets over in blocks and loses the last one on SIGINT: push it out
                # with frames of the local experimental ethertype (not IP: never counted nor replayed).
                sh("python3", "-c", MARKERS, ns=cl)
            finally:
                dump.send_signal(signal.SIGINT)
            tail = dump.stderr.read()
            dump.wait()
            lost = " 0 packets dropped by kernel" not in tail
            raw = pcap.read_bytes()
            packets = read_sll2(pcap)
        links = {str(i["ifindex"]): i["ifname"] for i in json.loads(sh("ip", "-j", "link", "show", ns=rt))}
        result = {
            "rules": sc["rules"], "ipset": sc.get("ipset", ""),
            "ipset_save": sh("ipset", "save", ns=rt) if sc.get("ipset") else "",
            "addrs": json.loads(sh("ip", "-j", "addr", "show", ns=rt)),
            "routes": json.loads(sh("ip", "-j", "route", "show", "table", "all", ns=rt)),
            "links": links,
            "packets": [[round(t, 6), links.get(str(i), str(i)), d.hex()] for t, i, d in packets],
            "kernel_save": sh("iptables-legacy-save", "-c", ns=rt),
            "conntrack": sh("conntrack", "-L", ns=rt, check=False),
            "uname": os.uname().release,
        }
        seen = forward_total(result["kernel_save"])
        got = sum(1 for _, dev, _ in result["packets"] if dev in ("rc", "rs"))
        if seen != got:
            print(f"{name}: the capture has {got} forwarded packets, the kernel counted {seen}"
                  f"{' (tcpdump dropped some)' if lost else ''}; recording again", file=sys.stderr)
            return False
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        (OUT / f"{name}.pcap").write_bytes(raw)
        print(f"{name}: {len(packets)} packets recorded")
        return True
    finally:
        for ns in (cl, rt, sv):
            subprocess.run(["ip", "netns", "del", ns], check=False)


def main(argv: list[str]) -> int:
    if os.geteuid() != 0:
        print("record_stateful: needs root (ip netns, iptables-legacy, tcpdump)", file=sys.stderr)
        return 1
    every = {**scenarios(), **conntrack_scenarios()}
    names = argv or list(every)
    for n in names:
        if n not in every:
            print(f"record_stateful: unknown scenario {n!r} (have: {', '.join(every)})", file=sys.stderr)
            return 2
        if not any(record(n, every[n]) for _ in range(3)):
            print(f"record_stateful: {n}: no complete capture in 3 tries", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
