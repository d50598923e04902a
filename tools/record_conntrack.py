"""Record what the kernel's conntrack does with real flows, for tests/netfilter/conntrack.

    python3 tools/record_conntrack.py [OUTDIR]      (root; default tests/netfilter/conntrack/kernel)

Two namespaces of our own: a client (10.233.71.1) and a server (10.233.71.2) joined by a veth
pair.  The server loads RULES (conntrack-state counting rules in INPUT and OUTPUT, NOTRACK,
CT --zone and CONNMARK in raw/mangle) and runs small TCP/UDP servers; for each flow the
client (or the server) makes real traffic while tcpdump captures in the server namespace.
After each flow we save ``conntrack -L`` (and when it ran, on the capture's clock) and
``iptables-legacy-save -c``; conntrack entries and counters are reset between flows.
Output: FLOW.pcap per flow and flows.json.  The namespaces are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import ct_lab  # noqa: E402
from tools.ct_lab import sh  # noqa: E402

C_ADDR, S_ADDR = "10.233.71.1", "10.233.71.2"
RULES = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 7777 -j NOTRACK
-A PREROUTING -p udp -m udp --dport 7778 -j CT --zone 5
-A PREROUTING -p udp -m udp --dport 7779 -j CT --zone-orig 6
-A OUTPUT -p udp -m udp --sport 7777 -j NOTRACK
-A OUTPUT -p udp -m udp --sport 7778 -j CT --zone 5
-A OUTPUT -p udp -m udp --sport 7779 -j CT --zone-orig 6
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 7001 -j CONNMARK --set-xmark 0x7/0xffffffff
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
""" + "".join(
    f"-A {chain} -m conntrack --ctstate {state} --ctdir {d}\n"
    for chain in ("INPUT", "OUTPUT") for state in ("NEW", "ESTABLISHED", "RELATED")
    for d in ("ORIGINAL", "REPLY")
) + "".join(
    f"-A {chain} -m conntrack --ctstate {state}\n"
    for chain in ("INPUT", "OUTPUT") for state in ("INVALID", "UNTRACKED")
) + "".join(
    f"-A {chain} -m conntrack --ctstatus {status}\n"
    for chain in ("INPUT", "OUTPUT") for status in ("ASSURED", "SEEN_REPLY")
) + "COMMIT\n"

SERVER = r"""
import socket, threading, sys
def tcp(port):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port)); ls.listen(8)
    while True:
        c, _ = ls.accept()
        def serve(c=c):
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    c.sendall(d)
            except OSError:
                pass
            c.close()
        threading.Thread(target=serve, daemon=True).start()
def udp(port, echo):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
    while True:
        d, a = s.recvfrom(4096)
        if echo:
            s.sendto(d, a)
for p in (7000, 7001):
    threading.Thread(target=tcp, args=(p,), daemon=True).start()
for p, e in ((7100, True), (7101, False), (7777, True), (7778, True), (7779, True)):
    threading.Thread(target=udp, args=(p, e), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

# Helpers for the client's raw packets (checksums must be right: conntrack verifies them).
RAW = r"""
import socket, struct, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def tcp_seg(src, dst, sport, dport, seq, ack, flags, win=64240, data=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0) + data
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
    c = csum(ph + h)
    return h[:16] + struct.pack("!H", c) + h[18:]
def send_tcp(dst, seg):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); s.sendto(seg, (dst, 0))
def icmp(t, c, rest, body):
    h = struct.pack("!BBHI", t, c, 0, rest) + body
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]
def send_icmp(dst, pkt):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.sendto(pkt, (dst, 0))
def queue_seqs(s):
    # TCP_REPAIR (root) tells a socket's next send and receive sequence numbers.
    s.setsockopt(socket.IPPROTO_TCP, 19, 1)
    s.setsockopt(socket.IPPROTO_TCP, 20, 2); snd = s.getsockopt(socket.IPPROTO_TCP, 21) & 0xffffffff
    s.setsockopt(socket.IPPROTO_TCP, 20, 1); rcv = s.getsockopt(socket.IPPROTO_TCP, 21) & 0xffffffff
    s.setsockopt(socket.IPPROTO_TCP, 19, 0)
    return snd, rcv
def iphdr(src, dst, proto, payload_len):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 1, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]
"""

C, S = C_ADDR, S_ADDR
FLOWS: dict[str, tuple[str, str, str]] = {
    # name: (namespace that acts: "c" or "s", python code, what it shows)
    "tcp_full": ("c", f"""
import socket
s = socket.create_connection(("{S}", 7000)); s.sendall(b"hello"); s.recv(100); s.close(); time.sleep(0.3)
""", "TCP connect, data both ways, close from the client: TIME_WAIT, ASSURED"),
    "tcp_connmark": ("c", f"""
import socket
s = socket.create_connection(("{S}", 7001)); s.sendall(b"hi"); s.recv(100); s.close(); time.sleep(0.3)
""", "as tcp_full on a port whose connections CONNMARK marks 7"),
    "tcp_refused": ("c", f"""
import socket
try:
    socket.create_connection(("{S}", 7009))
except ConnectionRefusedError:
    pass
""", "TCP SYN to a closed port, RST back: the entry is deleted"),
    "tcp_rst_abort": ("c", f"""
import socket
s = socket.create_connection(("{S}", 7000)); s.sendall(b"x"); s.recv(10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close(); time.sleep(0.2)
""", "TCP connection aborted by the client's RST: CLOSE"),
    "udp_reply": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"a", ("{S}", 7100)); s.recv(10)
time.sleep(2.5); s.sendto(b"b", ("{S}", 7100)); s.recv(10)
""", "UDP request/response, again after 2.5 s: ASSURED stream, 120 s"),
    "udp_unanswered": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("{S}", 7101)); time.sleep(0.2)
""", "UDP to a socket that does not answer: UNREPLIED, 30 s"),
    "udp_closed": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("{S}", 7102)); time.sleep(0.3)
""", "UDP to a closed port: the ICMP port unreachable is RELATED (reply direction)"),
    "icmp_echo": ("c", f"""
send_icmp("{S}", icmp(8, 0, 0x1234 << 16 | 1, b"pynf-ping")); time.sleep(0.3)
""", "ICMP echo request and reply: 30 s"),
    "icmp_errors": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("{C}", 40001)); s.sendto(b"x", ("{S}", 7101))
time.sleep(0.1)
udp = struct.pack("!HHHH", 7101, 40001, 9, 0) + b"y"
send_icmp("{S}", icmp(3, 3, 0, iphdr("{S}", "{C}", 17, 9) + udp))
udp = struct.pack("!HHHH", 7101, 40002, 9, 0) + b"y"
send_icmp("{S}", icmp(3, 3, 0, iphdr("{S}", "{C}", 17, 9) + udp)); time.sleep(0.2)
""", "ICMP errors from the client: one about a tracked flow (RELATED), one about none (INVALID)"),
    "tcp_invalid_flags": ("c", f"""
for fl in (0x03, 0x00, 0x06, 0x29):
    send_tcp("{S}", tcp_seg("{C}", "{S}", 40100 + fl, 7000, 1000, 0, fl))
time.sleep(0.2)
""", "SYN+FIN, no flags, SYN+RST, FIN+PSH+URG: invalid flag combinations"),
    "tcp_out_of_window": ("c", f"""
s = socket.create_connection(("{S}", 7000)); s.sendall(b"hello"); s.recv(100)
sport = s.getsockname()[1]
snd, rcv = queue_seqs(s)
for seq, ack in ((snd + 3000000, rcv), (snd - 3000000, rcv), (snd, rcv + 1000000)):
    send_tcp("{S}", tcp_seg("{C}", "{S}", sport, 7000, seq & 0xffffffff, ack & 0xffffffff, 0x10, data=b"zz"))
    time.sleep(0.05)
time.sleep(0.2); s.close(); time.sleep(0.3)
""", "segments beyond the window (INVALID), behind it (ignored: ESTABLISHED), ACKing unsent data (INVALID)"),
    "tcp_midstream": ("c", f"""
s = socket.create_connection(("{S}", 7000)); s.sendall(b"before"); s.recv(100)
time.sleep(1.5)
s.sendall(b"after"); s.recv(100); time.sleep(0.2)
""", "a connection made while no rule needed conntrack, picked up mid-stream (loose=1)"),
    "udp_notrack": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"n", ("{S}", 7777)); s.recv(10)
""", "UDP both ways under NOTRACK: UNTRACKED, no entry"),
    "udp_zone": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"z", ("{S}", 7778)); s.recv(10)
""", "UDP both ways with CT --zone 5: the entry is in zone 5"),
    "udp_zone_orig": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"z", ("{S}", 7779)); s.recv(10)
""", "UDP both ways with CT --zone-orig 6: a zone for the original direction only"),
    "udp_acct": ("c", f"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for m in (b"a", b"bb", b"ccc"):
    s.sendto(m, ("{S}", 7100)); s.recv(10)
""", "UDP with nf_conntrack_acct=1: packets= and bytes= per direction"),
    "tcp_reopen": ("c", f"""
import socket
for i in range(2):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("{C}", 40500))
    s.connect(("{S}", 7000)); s.sendall(b"x"); s.recv(10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close(); time.sleep(0.2)
""", "a connection reset, then the same ports again: the old entry is replaced (NEW)"),
    "icmp_odd": ("c", f"""
send_icmp("{S}", icmp(0, 0, 0x4321 << 16 | 1, b"unasked"))
send_icmp("{S}", icmp(13, 0, 0x4322 << 16 | 1, bytes(12)))
send_icmp("{S}", icmp(30, 0, 0, b"")); time.sleep(0.3)
""", "an unasked echo reply and an unknown type (INVALID), a timestamp request (tracked)"),
    "tcp_stray_ack": ("c", f"""
send_tcp("{S}", tcp_seg("{C}", "{S}", 40600, 7000, 5000, 9000, 0x18, data=b"stray")); time.sleep(0.3)
""", "a data segment of no connection: picked up (loose=1), the RST answer deletes the entry"),
    "tcp_unanswered_midstream": ("s", f"""
send_tcp("{C}", tcp_seg("{S}", "{C}", 40700, 7202, 5000, 9000, 0x18, data=b"lost")); time.sleep(0.3)
""", "the server sends a segment of no connection that the client drops: ESTABLISHED, unreplied, 300 s"),
    "other_protocols": ("c", f"""
for proto, body in ((99, b"proto99"), (47, bytes(4) + b"gre0")):
    socket.socket(socket.AF_INET, socket.SOCK_RAW, proto).sendto(body, ("{S}", 0))
time.sleep(0.2)
""", "protocols without a tracker of their own (generic: 600 s) and GRE version 0"),
    "tcp_from_server": ("s", f"""
import socket
s = socket.create_connection(("{C}", 7200)); s.sendall(b"out"); s.recv(100); s.close(); time.sleep(0.3)
""", "the server connects out (OUTPUT NEW) to the client's listener"),
}

CLIENT_LISTENER = r"""
import socket
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 7200)); ls.listen(4); print("ready", flush=True)
while True:
    c, _ = ls.accept()
    while True:
        d = c.recv(100)
        if not d:
            break
        c.sendall(d)
    c.close()
"""


def record(out: Path) -> None:
    tag = os.getpid()
    nc, ns = f"pynf-ctc-{tag}", f"pynf-cts-{tag}"
    procs: list[subprocess.Popen[str]] = []
    with ct_lab.namespaces(nc, ns):
        try:
            sh("ip", "link", "add", "c0", "netns", nc, "type", "veth", "peer", "name", "s0", "netns", ns)
            sh("ip", "addr", "add", f"{C_ADDR}/24", "dev", "c0", ns=nc)
            sh("ip", "addr", "add", f"{S_ADDR}/24", "dev", "s0", ns=ns)
            sh("ip", "link", "set", "c0", "up", ns=nc)
            sh("ip", "link", "set", "s0", "up", ns=ns)
            sh("iptables-legacy", "-A", "INPUT", "-p", "tcp", "--dport", "7202", "-j", "DROP", ns=nc)
            procs.append(ct_lab.start(ns, SERVER, "helper"))
            procs.append(ct_lab.start(nc, CLIENT_LISTENER, "helper"))
            # The server's host model, for `pynf replay` of the captures.
            (out / "server-addrs.json").write_text(sh("ip", "-j", "addr", "show", ns=ns))
            (out / "server-routes.json").write_text(sh("ip", "-j", "route", "show", "table", "all", ns=ns))
            (out / "server.rules").write_text(RULES)
            flows = {}
            for name, (who, code, what) in FLOWS.items():
                flows[name] = run_flow(out, name, who, code, what, nc, ns)
                print(f"{name}: {len(flows[name]['conntrack'])} entries", file=sys.stderr)
            meta = {"client": C_ADDR, "server": S_ADDR, "rules": RULES, "flows": flows,
                    "kernel": os.uname().release, "conntrack": sh("conntrack", "--version").strip()}
            (out / "flows.json").write_text(json.dumps(meta, indent=1) + "\n")
        finally:
            ct_lab.stop(procs)


def run_flow(out: Path, name: str, who: str, code: str, what: str, nc: str, ns: str) -> dict[str, object]:
    midstream = name == "tcp_midstream"
    acct = name == "udp_acct"
    sh("sysctl", "-qw", f"net.netfilter.nf_conntrack_acct={int(acct)}", ns=ns)
    if midstream:  # no rule needs conntrack: the kernel does not track this namespace
        sh("iptables-legacy-restore", ns=ns, stdin="*raw\nCOMMIT\n*mangle\nCOMMIT\n*filter\nCOMMIT\n")
    else:
        sh("iptables-legacy-restore", ns=ns, stdin=RULES)
    sh("conntrack", "-F", ns=ns, check=False)
    dump = ct_lab.capture(ns, out / f"{name}.pcap", settle=0.2)
    actor = subprocess.Popen(["ip", "netns", "exec", nc if who == "c" else ns, "python3", "-c", RAW + code])
    loaded_at = None
    if midstream:
        time.sleep(0.8)
        loaded_at = time.time()
        sh("iptables-legacy-restore", ns=ns, stdin=RULES)
    if actor.wait(timeout=30) != 0:
        raise SystemExit(f"flow {name} failed")
    time.sleep(0.3)
    listed_at, listing, counters = ct_lab.snapshot(ns, dump)
    return {"what": what, "actor": who, "acct": acct, "listed_at": listed_at,
            "rules_loaded_at": loaded_at, "conntrack": listing, "counters": counters}


if __name__ == "__main__":
    sys.exit(ct_lab.main(ROOT / "tests/netfilter/conntrack/kernel", record))
