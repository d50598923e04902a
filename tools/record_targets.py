#!/usr/bin/env python3
"""Record what the real kernel does when packets hit the targets (REJECT, LOG, MARK, TTL, TOS, ...).

    sudo python3 tools/record_targets.py            # every scenario -> tests/ext/eval/kernel/targets.json
    sudo python3 tools/record_targets.py reject_tcp  # only scenarios whose name contains this
    sudo PYNF_NS_PREFIX=pynfB python3 tools/record_targets.py hmark  # namespaces named pynfB-...

Topology (namespaces of our own, deleted afterwards)::

    client 10.233.40.1 (c0) -- (r0) 10.233.40.2 router 10.233.41.2 (r1) -- (s0) 10.233.41.1 server

The router gets a scenario's ruleset (iptables-legacy-restore), the client sends
the scenario's packets: real sockets (TCP connect, UDP, ICMP echo) or crafted
datagrams through a raw socket (IP options, fragments, ACK segments, ICMP
errors).  ``tcpdump -i any`` on the router records every datagram it receives
and sends (interface, direction, link-layer source); ``/dev/kmsg`` gives the
LOG lines (``net.netfilter.nf_log_all_netns`` is set for the run and restored);
``iptables-legacy-save -c`` the counters.  The JSON keeps datagrams as hex so
tests need neither root nor a pcap reader.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import available, strip_comments  # noqa: E402
from tools.target_scenarios import new_target_scenarios  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "ext" / "eval" / "kernel" / "targets.json"
SUFFIX = f"{os.getpid() % 100000}"
PREFIX = os.environ.get("PYNF_NS_PREFIX", "pynf")  # concurrent recorders pick their own
NS_C, NS_R, NS_S = f"{PREFIX}-tgc{SUFFIX}", f"{PREFIX}-tgr{SUFFIX}", f"{PREFIX}-tgs{SUFFIX}"
C_IP, R0_IP, R1_IP, S_IP = "10.233.40.1", "10.233.40.2", "10.233.41.2", "10.233.41.1"
LOG_SYSCTL = Path("/proc/sys/net/netfilter/nf_log_all_netns")


def sh(*argv: str, ns: str | None = None, check: bool = True, stdin: str | None = None) -> str:
    full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    p = subprocess.run(full, input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(full)}: {p.stderr.strip()}")
    return p.stdout


def setup() -> None:
    for ns in (NS_C, NS_R, NS_S):
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
    sh("ip", "link", "add", "c0", "netns", NS_C, "type", "veth", "peer", "name", "r0", "netns", NS_R)
    sh("ip", "link", "add", "s0", "netns", NS_S, "type", "veth", "peer", "name", "r1", "netns", NS_R)
    for ns, dev, addr in ((NS_C, "c0", C_IP), (NS_R, "r0", R0_IP), (NS_R, "r1", R1_IP), (NS_S, "s0", S_IP)):
        sh("ip", "addr", "add", f"{addr}/24", "dev", dev, ns=ns)
        sh("ip", "link", "set", dev, "up", ns=ns)
    sh("ip", "route", "add", "default", "via", R0_IP, ns=NS_C)
    sh("ip", "route", "add", "default", "via", R1_IP, ns=NS_S)
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=NS_R)
    # Neighbours resolved up front, so ARP timing cannot change what the router sees.
    sh("ip", "netns", "exec", NS_C, "python3", "-c",
       f"import socket;s=socket.socket(2,2);s.sendto(b'x',('{R0_IP}',9))")
    sh("ip", "netns", "exec", NS_S, "python3", "-c",
       f"import socket;s=socket.socket(2,2);s.sendto(b'x',('{R1_IP}',9))")
    # A listener on the server so unrejected TCP connects complete.
    subprocess.Popen(["ip", "netns", "exec", NS_S, "python3", "-c", SERVER], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    time.sleep(0.5)


def teardown() -> None:
    for ns in (NS_C, NS_R, NS_S):
        subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            subprocess.run(["kill", pid], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


SERVER = """
import socket, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.recv(100); c.close()
for p in (6000, 6001, 6002):
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
import time; time.sleep(3600)
"""

# The client's sender: each step is ("tcp", dst, port) | ("udp", dst, port, size, tos) | ("ping", dst, seq)
# | ("raw", hex datagram).
CLIENT = """
import json, socket, sys, time
for step in json.loads(sys.argv[1]):
    kind = step[0]
    if kind == "tcp":
        s = socket.socket(); s.settimeout(0.5)
        if len(step) > 3: s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, step[3])
        try:
            s.connect((step[1], step[2])); s.send(b"hello"); time.sleep(0.1)
        except OSError:
            pass
        s.close()
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, step[4])
        s.bind(("0.0.0.0", 40000 + step[2] % 1000))
        s.sendto(bytes(range(256)) * (step[3] // 256) + bytes(step[3] % 256), (step[1], step[2]))
        s.close()
    elif kind == "ping":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        body = b"pynf-ping-data!!"
        hdr = bytes([8, 0, 0, 0]) + (0x4242).to_bytes(2, "big") + step[2].to_bytes(2, "big")
        msg = hdr + body
        c = sum(int.from_bytes(msg[i:i + 2], "big") for i in range(0, len(msg), 2))
        while c >> 16: c = (c & 0xFFFF) + (c >> 16)
        msg = msg[:2] + (~c & 0xFFFF).to_bytes(2, "big") + msg[4:]
        s.sendto(msg, (step[1], 0))
    elif kind == "raw":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        data = bytes.fromhex(step[1])
        s.sendto(data, (socket.inet_ntoa(data[16:20]), 0))
    time.sleep(0.15)
"""


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a: str) -> bytes:
    return bytes(int(x) for x in a.split("."))


def datagram(proto: int, l4: bytes, *, src: str = C_IP, dst: str = S_IP, ident: int = 0x1234, tos: int = 0,
             ttl: int = 64, frag: int = 0x4000, options: bytes = b"", l4_csum_at: int | None = None) -> str:
    """An IPv4 datagram (hex) with correct checksums; *l4_csum_at*: offset of a pseudo-header checksum."""
    if l4_csum_at is not None:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(l4))
        c = csum(pseudo + l4)
        l4 = l4[:l4_csum_at] + struct.pack("!H", c) + l4[l4_csum_at + 2:]
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, 4 * ihl + len(l4), ident, frag, ttl, proto, 0,
                      ip4(src), ip4(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return (hdr + l4).hex()


def tcp_seg(sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"", opts: bytes = b"",
            **kw: object) -> str:
    doff = 5 + len(opts) // 4
    l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 29200, 0, 0) + opts + data
    return datagram(6, l4, l4_csum_at=16, **kw)  # type: ignore[arg-type]


def udp_dgram(sport: int, dport: int, data: bytes, **kw: object) -> str:
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return datagram(17, l4, l4_csum_at=6, **kw)  # type: ignore[arg-type]


def icmp_msg(typ: int, code: int, rest: int, body: bytes, **kw: object) -> str:
    l4 = struct.pack("!BBHI", typ, code, 0, rest) + body
    l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    return datagram(1, l4, **kw)  # type: ignore[arg-type]


def _inner_udp() -> bytes:
    return bytes.fromhex(udp_dgram(5353, 7777, b"quoted", src=S_IP, dst=C_IP))[:28]


UNCHECKED = udp_dgram(41006, 5203, b"unchecked")
SYN_OPTS = bytes.fromhex("020405b40402080a0000000100000000")  # MSS 1460, SACK-perm, timestamps
RR_OPT = bytes.fromhex("070b04") + bytes(8) + b"\x00"  # record route, 2 slots, padded to 12

FILTER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{}COMMIT\n"
MANGLE = ("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
          ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{}COMMIT\n")


def rules(filter_rules: str = "", mangle_rules: str = "") -> str:
    out = ""
    if mangle_rules:
        out += MANGLE.format(mangle_rules)
    return out + FILTER.format(filter_rules)


REJECT_TYPES = ("icmp-net-unreachable", "icmp-host-unreachable", "icmp-proto-unreachable",
                "icmp-port-unreachable", "icmp-net-prohibited", "icmp-host-prohibited",
                "icmp-admin-prohibited")

SCENARIOS: list[dict] = [
    {"name": "reject_tcp_reset_forward",
     "rules": rules("-A FORWARD -p tcp --dport 5001 -j REJECT --reject-with tcp-reset\n"),
     "steps": [["tcp", S_IP, 5001], ["tcp", S_IP, 6000]]},
    {"name": "reject_tcp_reset_input",
     "rules": rules("-A INPUT -p tcp --dport 5002 -j REJECT --reject-with tcp-reset\n"),
     "steps": [["tcp", R0_IP, 5002], ["tcp", R1_IP, 5002]]},
    {"name": "reject_tcp_reset_crafted",
     "rules": rules("-A FORWARD -p tcp -j REJECT --reject-with tcp-reset\n"),
     "steps": [["raw", tcp_seg(41000, 5003, 1000, 777777, 0x18, b"data-with-ack")],  # ACK|PSH: seq = ack_seq
               ["raw", tcp_seg(41001, 5003, 5000, 0, 0x01, b"fin-data")],  # FIN without ACK
               ["raw", tcp_seg(41002, 5003, 9000, 0, 0x04)],  # RST: never answered
               ["raw", tcp_seg(41003, 5003, 0xFFFFFFF0, 0, 0x02, b"x" * 40, SYN_OPTS)],  # seq wraps
               ["raw", tcp_seg(41004, 5003, 1, 0, 0x02, tos=0xB8, ident=0x4321, frag=0)]]},
    {"name": "reject_icmp_types",
     "rules": rules("".join(f"-A FORWARD -p udp --dport {5100 + i} -j REJECT --reject-with {t}\n"
                            for i, t in enumerate(REJECT_TYPES))
                    + "-A FORWARD -p udp --dport 5199 -j REJECT\n"),
     "steps": [["udp", S_IP, 5100 + i, 20, 0] for i in range(len(REJECT_TYPES))]
     + [["udp", S_IP, 5199, 0, 0x1F]]},
    {"name": "reject_icmp_quote",
     "rules": rules("-A FORWARD -p udp -j REJECT\n"
                    "-A INPUT -p udp -j REJECT --reject-with icmp-host-prohibited\n"
                    "-A FORWARD -p icmp -j REJECT --reject-with icmp-admin-prohibited\n"),
     "steps": [["udp", S_IP, 5200, 1000, 0],  # quote cut at 576 bytes in all
               ["udp", R0_IP, 5201, 100, 0xFF],
               ["ping", S_IP, 1],
               ["raw", udp_dgram(41005, 5202, b"opts", options=RR_OPT)],
               ["raw", UNCHECKED[:52] + "0000" + UNCHECKED[56:]],  # UDP checksum 0: not verified
               ["raw", icmp_msg(3, 3, 0, _inner_udp())],  # an ICMP error: never answered
               ["raw", icmp_msg(200, 0, 0, b"unknown!")],  # unknown ICMP type: treated as an error
               ["raw", udp_dgram(41007, 5204, b"first-fragment-x", frag=0x2000, ident=0x7777)],
               ["raw", datagram(17, b"later-fragment!!", frag=0x0002, ident=0x7777)],
               ["raw", udp_dgram(41008, 5205, b"to-broadcast", dst="10.233.41.255")]]},
    {"name": "log_formats",
     "rules": rules(
         "-A INPUT -j LOG --log-prefix \"pynf-in: \" --log-uid\n"
         "-A FORWARD -p tcp -j LOG --log-prefix \"pynf-fwd-tcp: \" --log-tcp-sequence --log-tcp-options\n"
         "-A FORWARD -p udp -j LOG --log-prefix \"pynf-fwd-udp: \" --log-ip-options --log-level 6\n"
         "-A FORWARD -p icmp -j LOG --log-prefix \"pynf-fwd-icmp: \" --log-macdecode\n"
         "-A FORWARD -p 47 -j LOG --log-prefix \"pynf-fwd-gre: \"\n"
         "-A FORWARD -p udp --dport 5301 -j REJECT\n"
         "-A OUTPUT -j LOG --log-prefix \"pynf-out: \" --log-ip-options --log-uid\n",
         "-A PREROUTING -p udp --dport 5302 -j MARK --set-mark 0x2a\n"
         "-A PREROUTING -p udp -j LOG --log-prefix \"pynf-pre: \"\n"
         "-A POSTROUTING -p tcp -j LOG --log-prefix \"pynf-post: \" --log-tcp-options\n"),
     "steps": [["tcp", S_IP, 6001], ["udp", S_IP, 5300, 10, 0x10], ["udp", S_IP, 5301, 10, 0],
               ["udp", S_IP, 5302, 4, 0], ["ping", S_IP, 7], ["ping", R0_IP, 8],
               ["raw", udp_dgram(41009, 5303, b"opts", options=RR_OPT)],
               ["raw", udp_dgram(41010, 5304, b"frag", frag=0x2000, ident=0x5555)],
               ["raw", datagram(17, b"later-frag", frag=0x2003, ident=0x5555)],
               ["raw", datagram(47, b"\x00\x00\x08\x00gre!")],
               ["raw", tcp_seg(41011, 6002, 77, 0, 0xC2, b"", tos=0x03)],  # CWR ECE SYN, ECN CE
               ["raw", icmp_msg(3, 4, 1400, _inner_udp())],
               ["raw", icmp_msg(5, 1, 0x0A0B0C0D, _inner_udp())],
               ["raw", icmp_msg(12, 0, 0x14000000, _inner_udp())],
               ["raw", icmp_msg(13, 0, 0x00010002, bytes(4))],  # timestamp, too short: INCOMPLETE
               ["raw", datagram(6, b"\x12\x34")]]},  # truncated TCP header
    {"name": "mangle_fields",
     "rules": rules("-A FORWARD -m mark --mark 0x5/0xff\n-A FORWARD -m mark --mark 0x105\n"
                    "-A FORWARD -m dscp --dscp 0x2e\n",
                    "-A PREROUTING -p udp -j MARK --set-xmark 0x5/0xff\n"
                    "-A PREROUTING -p udp --dport 5402 -j MARK --or-mark 0x100\n"
                    "-A PREROUTING -p udp --dport 5400 -j TTL --ttl-set 9\n"
                    "-A FORWARD -p udp --dport 5401 -j TTL --ttl-dec 70\n"
                    "-A FORWARD -p udp --dport 5402 -j TTL --ttl-inc 250\n"
                    "-A POSTROUTING -p udp --dport 5400 -j TOS --set-tos 0x10/0x3f\n"
                    "-A POSTROUTING -p udp --dport 5401 -j TOS --xor-tos 0xff\n"
                    "-A FORWARD -p udp --dport 5402 -j DSCP --set-dscp-class EF\n"
                    "-A FORWARD -p udp --dport 5403 -j DSCP --set-dscp 0\n"
                    "-A POSTROUTING -p udp --dport 5403 -j CLASSIFY --set-class 1:10\n"
                    "-A POSTROUTING -p udp --dport 5403 -j CHECKSUM --checksum-fill\n"),
     "steps": [["udp", S_IP, 5400, 10, 0x03], ["udp", S_IP, 5401, 10, 0x5A], ["udp", S_IP, 5402, 10, 0x02],
               ["udp", S_IP, 5403, 10, 0xB9]]},
    {"name": "tcpmss",
     "mtu_r1": 1400,
     "rules": rules("-A FORWARD -p tcp --dport 6000 --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1000\n"
                    "-A FORWARD -p tcp --dport 6001 --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n"
                    "-A FORWARD -p tcp --dport 6002 --syn -j TCPMSS --set-mss 2000\n"
                    "-A FORWARD -p tcp --dport 5500 --syn -j TCPMSS --set-mss 1200\n"),
     "steps": [["tcp", S_IP, 6000], ["tcp", S_IP, 6001], ["tcp", S_IP, 6002],
               ["raw", tcp_seg(41012, 5500, 5, 0, 0x02)],  # no options: MSS added, capped at 536
               ["raw", tcp_seg(41013, 5500, 6, 0, 0x02, b"payload")],  # data after header: unchanged
               ["raw", tcp_seg(41014, 5500, 7, 0, 0x02, b"", bytes.fromhex("01010402"))]]},
    {"name": "nfqueue",
     "rules": rules("-A FORWARD -p udp --dport 5600 -j NFQUEUE --queue-num 3 --queue-bypass\n"
                    "-A FORWARD -p udp --dport 5601 -j NFQUEUE --queue-balance 4:7\n"
                    "-A FORWARD -p udp\n"),
     "steps": [["udp", S_IP, 5600, 4, 0], ["udp", S_IP, 5601, 4, 0]]},
]
SCENARIOS += new_target_scenarios(sys.modules[__name__])


def kmsg_open() -> int:
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    os.lseek(fd, 0, os.SEEK_END)
    return fd


def kmsg_read(fd: int) -> list[dict]:
    out = []
    while True:
        try:
            rec = os.read(fd, 8192).decode("utf-8", "replace")
        except BlockingIOError:
            break
        except OSError:  # EPIPE: overwritten records; go on
            continue
        head, _, text = rec.partition(";")
        text = text.split("\n", 1)[0]
        if "pynf-" in text:
            out.append({"level": int(head.split(",")[0]) & 7, "line": text})
    return out


def links(ns: str) -> dict[str, dict]:
    return {d["ifname"]: {"index": d["ifindex"], "mac": d.get("address", ""), "mtu": d["mtu"]}
            for d in json.loads(sh("ip", "-j", "link", "show", ns=ns))}


def read_sll2(path: str, ifnames: dict[int, str]) -> list[dict]:
    """tcpdump -i any (LINUX_SLL2) records: interface, direction, link-layer source, the IPv4 datagram."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos, out = 24, []
    while pos + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack(end + "IIII", data[pos:pos + 16])
        rec = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        proto, _res, ifindex, _hatype, pkttype, halen = struct.unpack("!HHIHBB", rec[:12])
        if proto != 0x0800:
            continue
        out.append({"t": round(sec + usec / 1e6, 6), "dev": ifnames.get(ifindex, str(ifindex)),
                    "dir": "out" if pkttype == 4 else "in", "pkttype": pkttype,
                    "lladdr": rec[12:12 + halen].hex(), "ip": rec[20:].hex()})
    return out


def run(scn: dict) -> dict:
    """One scenario in fresh namespaces: the kernel's ICMP rate-limit state starts empty each time."""
    setup()
    try:
        return _run(scn)
    finally:
        teardown()


def _run(scn: dict) -> dict:
    if scn.get("ipsets"):  # the sets -j SET / -m set name, made before the rules
        sh("ipset", "restore", ns=NS_R, stdin=scn["ipsets"])
    sh("iptables-legacy-restore", "-w", ns=NS_R, stdin=scn["rules"])
    loaded_at = time.time()  # the capture's clock: RATEEST's estimator timers start at load
    sh("ip", "link", "set", "r1", "mtu", str(scn.get("mtu_r1", 1500)), ns=NS_R)
    pcap = f"/tmp/pynf-targets-{SUFFIX}.pcap"
    dump = subprocess.Popen(["ip", "netns", "exec", NS_R, "tcpdump", "-i", "any", "-U", "-n", "-s", "0",
                             "-w", pcap, "ip"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.8)
    fd = kmsg_open()
    sh("python3", "-c", CLIENT, json.dumps(scn["steps"]), ns=NS_C)
    time.sleep(1.0)
    dump.terminate()
    dump.wait()
    logs = kmsg_read(fd)
    os.close(fd)
    lk = links(NS_R)
    packets = read_sll2(pcap, {v["index"]: k for k, v in lk.items()})
    os.unlink(pcap)
    counters = strip_comments(sh("iptables-legacy-save", "-c", ns=NS_R))
    extra = {}
    if scn.get("ipsets"):
        extra = {"ipsets": scn["ipsets"], "ipsets_after": sh("ipset", "save", ns=NS_R)}
    return {**extra, "loaded_at": round(loaded_at, 6), "addr_json": sh("ip", "-j", "addr", "show", ns=NS_R),
            "route_json": sh("ip", "-j", "route", "show", "table", "all", ns=NS_R),
            "name": scn["name"], "rules": scn["rules"], "steps": scn["steps"], "packets": packets,
            "log": logs, "counters": counters, "links": lk,
            "client_mac": links(NS_C)["c0"]["mac"], "server_mac": links(NS_S)["s0"]["mac"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("only", nargs="*")
    args = ap.parse_args()
    why = available()
    if why:
        print(f"record_targets: cannot ask the kernel: {why}", file=sys.stderr)
        return 1
    old_log = LOG_SYSCTL.read_text().strip()
    recorded: dict[str, dict] = json.loads(OUT.read_text()) if OUT.exists() and args.only else {}
    chosen = [scn for scn in SCENARIOS if not args.only or any(o in scn["name"] for o in args.only)]
    logs = any("-j LOG" in scn["rules"] for scn in chosen)  # global sysctl: set only when needed
    try:
        if logs:
            LOG_SYSCTL.write_text("1")
        for scn in SCENARIOS:
            if args.only and not any(o in scn["name"] for o in args.only):
                continue
            recorded[scn["name"]] = run(scn)
            r = recorded[scn["name"]]
            print(f"{scn['name']}: {len(r['packets'])} packets, {len(r['log'])} log lines")
    finally:
        if logs:
            LOG_SYSCTL.write_text(old_log)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
