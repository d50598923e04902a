"""Record what the kernel's SCTP connection tracking does, for tests/netfilter/conntrack/test_ct_sctp.py.

    python3 tools/record_conntrack_sctp.py [OUTDIR]   (root; default tests/netfilter/conntrack/kernel/sctp)

This kernel has no SCTP sockets, so both ends of every association are played by us: a client
namespace (10.233.132.1) and a server namespace (10.233.133.1) each run a small sender that puts
the datagrams we build (pynetfilter.packet.model + wire.to_bytes, CRC32c included) on the wire
through a raw IPPROTO_RAW socket, one at a time and in the order of the flow.  Between them a
router namespace forwards and counts, in FORWARD, every packet's conntrack state, direction and
status bits (``-m conntrack --ctstate/--ctdir/--ctstatus``).  The ends drop SCTP in INPUT so no
"protocol unreachable" comes back.  For each flow tcpdump captures in the router; afterwards we
save ``conntrack -L`` (and when it ran, on the capture's clock) and ``iptables-legacy-save -c``;
the table and counters are reset between flows.  Output: FLOW.pcap per flow and flows.json (with
the router's nf_conntrack_sctp_timeout_* sysctls).  The namespaces are deleted afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from pynetfilter.netfilter.conntrack.sctp import (  # noqa: E402
    ABORT,
    COOKIE_ACK,
    COOKIE_ECHO,
    DATA,
    ERROR,
    FLAG_T,
    HEARTBEAT,
    HEARTBEAT_ACK,
    INIT,
    INIT_ACK,
    SACK,
    SHUTDOWN,
    SHUTDOWN_ACK,
    SHUTDOWN_COMPLETE,
)
from pynetfilter.packet import wire  # noqa: E402
from pynetfilter.packet.model import Packet, Sctp  # noqa: E402
from tools import ct_lab  # noqa: E402
from tools.ct_lab import sh  # noqa: E402

C_ADDR, S_ADDR = "10.233.132.1", "10.233.133.1"
R_C, R_S = "10.233.132.254", "10.233.133.254"
RULES = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + "".join(
    f"-A FORWARD -m conntrack --ctstate {state} --ctdir {d}\n"
    for state in ("NEW", "ESTABLISHED", "RELATED") for d in ("ORIGINAL", "REPLY")
) + "".join(f"-A FORWARD -m conntrack --ctstate {s}\n" for s in ("INVALID", "UNTRACKED")) + "".join(
    f"-A FORWARD -m conntrack --ctstatus {s}\n" for s in ("ASSURED", "SEEN_REPLY")
) + "COMMIT\n"
END_RULES = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
             "-A INPUT -p 132 -j DROP\nCOMMIT\n")

# The sender in each end: hex datagrams on stdin, "ok" once each is sent.
SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
print("ready", flush=True)
for line in sys.stdin:
    d = bytes.fromhex(line.strip())
    s.sendto(d, (socket.inet_ntoa(d[16:20]), 0))
    print("ok", flush=True)
"""

T = FLAG_T
TC, TS = 0x11111111, 0x22222222  # the client's and the server's initiate tags


def init_body(tag: int, tsn: int = 1000) -> bytes:
    """INIT / INIT ACK parameters: initiate tag, a_rwnd, outbound and inbound streams, initial TSN."""
    return struct.pack("!IIHHI", tag, 65536, 10, 10, tsn)


def data(tsn: int, text: bytes = b"hello") -> tuple[int, int, bytes]:
    return (DATA, 3, struct.pack("!IHHI", tsn, 0, 0, 0) + text)


def sack(tsn: int) -> tuple[int, int, bytes]:
    return (SACK, 0, struct.pack("!IIHH", tsn, 65536, 0, 0))


HB = (HEARTBEAT, 0, struct.pack("!HH", 1, 12) + b"hbinfo00")
HB_ACK = (HEARTBEAT_ACK, 0, struct.pack("!HH", 1, 12) + b"hbinfo00")
COOKIE = (COOKIE_ECHO, 0, b"cookie-of-the-server")

# One step: who sends ("c" or "s"), the verification tag, the chunks, and options:
# a pause after it (seconds) or a broken CRC.
Step = tuple[str, int, list[tuple[int, int, bytes]], dict[str, object]]


def handshake() -> list[Step]:
    return [("c", 0, [(INIT, 0, init_body(TC))], {}),
            ("s", TC, [(INIT_ACK, 0, init_body(TS, 5000))], {}),
            ("c", TS, [COOKIE], {}),
            ("s", TC, [(COOKIE_ACK, 0, b"")], {})]


FLOWS: dict[str, tuple[str, list[Step]]] = {
    "full": ("a whole association: handshake, DATA/SACK both ways, SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE",
             handshake() + [("c", TS, [data(1000)], {}), ("s", TC, [sack(1000)], {}),
                            ("s", TC, [data(5000)], {}), ("c", TS, [sack(5000)], {}),
                            ("c", TS, [(SHUTDOWN, 0, struct.pack("!I", 5000))], {}),
                            ("s", TC, [(SHUTDOWN_ACK, 0, b"")], {}),
                            ("c", TS, [(SHUTDOWN_COMPLETE, 0, b"")], {})]),
    "established": ("handshake and data: ESTABLISHED, ASSURED, 210 s",
                    handshake() + [("c", TS, [data(1000)], {}), ("s", TC, [sack(1000)], {})]),
    "half_open": ("INIT and INIT ACK only: COOKIE_WAIT, 3 s", handshake()[:2]),
    "cookie_echoed": ("INIT, INIT ACK, COOKIE ECHO with DATA bundled: COOKIE_ECHOED",
                      handshake()[:2] + [("c", TS, [COOKIE, data(1000)], {})]),
    "shutdown_server": ("the server shuts down: SHUTDOWN_RECD, then SHUTDOWN_ACK_SENT",
                        handshake() + [("s", TC, [(SHUTDOWN, 0, struct.pack("!I", 999))], {}),
                                       ("c", TS, [(SHUTDOWN_ACK, 0, b"")], {})]),
    "abort": ("an established association aborted by the client: CLOSED, 10 s",
              handshake() + [("c", TS, [(ABORT, 0, b"")], {})]),
    "abort_t": ("ABORT from the server with the T bit (the receiver's own tag reflected)",
                handshake() + [("s", TS, [(ABORT, T, b"")], {})]),
    "abort_wrong_tag": ("ABORTs with wrong tags (with and without T): INVALID, still ESTABLISHED",
                        handshake() + [("c", TC, [(ABORT, 0, b"")], {}), ("s", TC, [(ABORT, T, b"")], {}),
                                       ("c", 0x5555, [(ABORT, 0, b"")], {})]),
    "wrong_vtag": ("DATA with a wrong verification tag each way: INVALID; the right tag then passes",
                   handshake() + [("c", 0x5555, [data(1000)], {}), ("s", 0x6666, [sack(1000)], {}),
                                  ("c", TS, [data(1000)], {}), ("s", TC, [sack(1000)], {})]),
    "wrong_cookie_tag": ("COOKIE ECHO with the wrong tag: INVALID; INIT ACK with a changed tag: INVALID",
                         handshake()[:2] + [("c", TC, [COOKIE], {}),
                                            ("s", TC, [(INIT_ACK, 0, init_body(0x7777, 5000))], {}),
                                            ("c", TS, [COOKIE], {})]),
    "stray": ("chunks of no association: DATA, ABORT, COOKIE ACK, SHUTDOWN COMPLETE (any tag), no chunk, "
              "INIT with a tag (INVALID); SHUTDOWN ACK (new), answered by SHUTDOWN COMPLETE with and "
              "without the T bit",
              [("c", 0x1234, [data(1)], {}), ("c", 0x1234, [(ABORT, 0, b"")], {}),
               ("c", 0x1234, [(COOKIE_ACK, 0, b"")], {}), ("c", 0x1234, [(SHUTDOWN_COMPLETE, 0, b"")], {}),
               ("c", 0x1234, [], {}), ("c", 0x1234, [(INIT, 0, init_body(TC))], {}),
               ("c", 0, [(ABORT, 0, b"")], {}), ("c", 0, [(ABORT, T, b"")], {}),
               ("c", 0, [(COOKIE_ACK, 0, b"")], {}), ("c", 0, [(SHUTDOWN_COMPLETE, 0, b"")], {}),
               ("c", 0x4321, [(SHUTDOWN_ACK, 0, b"")], {"sport": 5001}),
               ("s", 0x4321, [(SHUTDOWN_COMPLETE, T, b"")], {"sport": 5001}),
               ("s", 0x4321, [(SHUTDOWN_COMPLETE, 0, b"")], {"sport": 5001})]),
    "bundles": ("INIT with DATA bundled, COOKIE ACK not first, a zero-length chunk: INVALID",
                [("c", 0, [(INIT, 0, init_body(TC)), data(1)], {})] + handshake()
                + [("s", TC, [sack(1), (COOKIE_ACK, 0, b"")], {}),
                   ("c", TS, [data(1000)], {"tail": b"\x00\x00\x00\x00"})]),
    "bad_crc": ("an INIT with a wrong CRC32c (INVALID at PREROUTING), then a good one",
                [("c", 0, [(INIT, 0, init_body(TC))], {"bad_crc": True}),
                 ("c", 0, [(INIT, 0, init_body(TC))], {})]),
    "heartbeat": ("HEARTBEAT and HEARTBEAT ACK on an established association; a HEARTBEAT ACK with a new "
                  "tag unasked, DATA with a HEARTBEAT of a new tag, an ACK with a new tag from the side "
                  "that sent the HEARTBEAT (INVALID)",
                  handshake() + [("c", TS, [HB], {}), ("s", TC, [HB_ACK], {}),
                                 ("s", TC, [HB], {}), ("c", TS, [HB_ACK], {}),
                                 ("s", 0x9999, [HB_ACK], {}), ("c", 0x8888, [data(1000), HB], {}),
                                 ("c", 0x8888, [HB], {}), ("c", 0x8888, [HB_ACK], {}),
                                 ("c", TS, [HB, HB], {})]),
    "heartbeat_new": ("a HEARTBEAT of no association (another path): HEARTBEAT_SENT; its ACK: ESTABLISHED",
                      [("c", 0x3333, [HB], {}), ("s", 0x4444, [HB_ACK], {})]),
    "heartbeat_unanswered": ("a HEARTBEAT of no association, unanswered: HEARTBEAT_SENT, 30 s",
                             [("c", 0x3333, [HB], {})]),
    "heartbeat_vtag": ("HEARTBEAT with a new tag (ignored, not refreshed), its ACK with a new tag (taken)",
                       handshake() + [("c", 0x8888, [HB], {"pause": 1.2}), ("s", 0x9999, [HB_ACK], {}),
                                      ("c", TS, [data(1000)], {}), ("s", 0x9999, [sack(1000)], {})]),
    "duplicate_init": ("INIT retransmitted 3 s later: still CLOSED, the timeout is not renewed",
                       [("c", 0, [(INIT, 0, init_body(TC))], {"pause": 3.0}),
                        ("c", 0, [(INIT, 0, init_body(TC))], {})]),
    "init_again": ("a second INIT with a new tag, answered; then an INIT on the established association",
                   [("c", 0, [(INIT, 0, init_body(TC))], {}), ("c", 0, [(INIT, 0, init_body(0xABCD))], {}),
                    ("s", 0xABCD, [(INIT_ACK, 0, init_body(TS, 5000))], {}),
                    ("c", TS, [COOKIE], {}), ("s", 0xABCD, [(COOKIE_ACK, 0, b"")], {}),
                    ("c", 0, [(INIT, 0, init_body(0xBEEF))], {}),
                    ("c", TS, [data(1000)], {}), ("s", 0xABCD, [sack(1000)], {})]),
    "init_collision": ("both ends send INIT at once, then each answers with INIT ACK",
                       [("c", 0, [(INIT, 0, init_body(TC))], {}), ("s", 0, [(INIT, 0, init_body(TS))], {}),
                        ("s", TC, [(INIT_ACK, 0, init_body(TS))], {}),
                        ("c", TS, [(INIT_ACK, 0, init_body(TC))], {}),
                        ("c", TS, [COOKIE], {}), ("s", TC, [(COOKIE_ACK, 0, b"")], {})]),
    "error_chunk": ("an ERROR chunk from the server while cookie echoed (CLOSED), a stray INIT ACK",
                    handshake()[:3] + [("s", TC, [(ERROR, 0, struct.pack("!HH", 3, 8) + bytes(4))], {}),
                                       ("s", 0x1111, [(INIT_ACK, 0, init_body(TS))], {"sport": 7001})]),
}


def datagram(flow_port: int, step: Step) -> bytes:
    who, vtag, chunks, opts = step
    c, s = int(ipaddress.IPv4Address(C_ADDR)), int(ipaddress.IPv4Address(S_ADDR))
    cport = int(opts.get("sport", 5000))  # type: ignore[call-overload]
    sport, dport = (cport, flow_port) if who == "c" else (flow_port, cport)
    src, dst = (c, s) if who == "c" else (s, c)
    pkt = Packet(src, dst, 132, Sctp(sport, dport, vtag, 0, list(chunks)), bytes(opts.get("tail", b"")),  # type: ignore[call-overload]
                 id=0x100, frag_off=0x4000, ttl=64)
    raw = bytearray(wire.to_bytes(pkt))
    if opts.get("bad_crc"):
        raw[28] ^= 0xFF
    return bytes(raw)


def record(out: Path) -> None:
    tag = os.getpid()
    nc, nr, ns = f"pynf-scc-{tag}", f"pynf-scr-{tag}", f"pynf-scs-{tag}"
    senders: dict[str, subprocess.Popen[str]] = {}
    with ct_lab.namespaces(nc, nr, ns):
        try:
            sh("ip", "link", "add", "c0", "netns", nc, "type", "veth", "peer", "name", "r0", "netns", nr)
            sh("ip", "link", "add", "s0", "netns", ns, "type", "veth", "peer", "name", "r1", "netns", nr)
            for n, dev, addr, gw in ((nc, "c0", C_ADDR, R_C), (ns, "s0", S_ADDR, R_S)):
                sh("ip", "addr", "add", f"{addr}/24", "dev", dev, ns=n)
                sh("ip", "link", "set", dev, "up", ns=n)
                sh("ip", "route", "add", "default", "via", gw, ns=n)
                sh("iptables-legacy-restore", ns=n, stdin=END_RULES)
            for dev, addr in (("r0", R_C), ("r1", R_S)):
                sh("ip", "addr", "add", f"{addr}/24", "dev", dev, ns=nr)
                sh("ip", "link", "set", dev, "up", ns=nr)
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=nr)
            sh("iptables-legacy-restore", ns=nr, stdin=RULES)
            senders = {"c": ct_lab.start(nc, SENDER, "sender", stdin=True),
                       "s": ct_lab.start(ns, SENDER, "sender", stdin=True)}
            # Resolve neighbours first so the flows' captures hold only our datagrams.
            sh("python3", "-c", f"import socket; socket.socket(2, 2).sendto(b'x', ('{R_C}', 9))", ns=nc)
            sh("python3", "-c", f"import socket; socket.socket(2, 2).sendto(b'x', ('{C_ADDR}', 9))", ns=ns)
            sh("python3", "-c", f"import socket; socket.socket(2, 2).sendto(b'x', ('{R_S}', 9))", ns=ns)
            sh("python3", "-c", f"import socket; socket.socket(2, 2).sendto(b'x', ('{S_ADDR}', 9))", ns=nc)
            time.sleep(0.3)
            sysctls = sh("sysctl", "-a", ns=nr).splitlines()
            timeouts = {k.split(".")[-1]: int(v) for k, v in (
                x.split(" = ") for x in sysctls if "nf_conntrack_sctp_timeout" in x)}
            (out / "router-addrs.json").write_text(sh("ip", "-j", "addr", "show", ns=nr))
            (out / "router-routes.json").write_text(sh("ip", "-j", "route", "show", "table", "all", ns=nr))
            (out / "router.rules").write_text(RULES)
            flows = {}
            for i, (name, (what, steps)) in enumerate(FLOWS.items()):
                flows[name] = run_flow(out, name, what, steps, 7000 + i * 10, nr, senders)
                print(f"{name}: {flows[name]['conntrack']}", file=sys.stderr)
            meta = {"client": C_ADDR, "server": S_ADDR, "rules": RULES, "flows": flows, "timeouts": timeouts,
                    "kernel": os.uname().release, "conntrack": sh("conntrack", "--version").strip()}
            (out / "flows.json").write_text(json.dumps(meta, indent=1) + "\n")
        finally:
            ct_lab.stop(list(senders.values()))


def run_flow(out: Path, name: str, what: str, steps: list[Step], port: int, nr: str,
             senders: dict[str, subprocess.Popen[str]]) -> dict[str, object]:
    sh("iptables-legacy-restore", ns=nr, stdin=RULES)
    sh("conntrack", "-F", ns=nr, check=False)
    dump = ct_lab.capture(nr, out / f"{name}.pcap", "ip proto 132", settle=0.3)
    for step in steps:
        p = senders[step[0]]
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(datagram(port, step).hex() + "\n")
        p.stdin.flush()
        if p.stdout.readline().strip() != "ok":
            raise SystemExit(f"flow {name}: sender failed")
        time.sleep(float(step[3].get("pause", 0.05)))  # type: ignore[arg-type]
    time.sleep(0.2)
    listed_at, listing, counters = ct_lab.snapshot(nr, dump)
    return {"what": what, "listed_at": listed_at, "conntrack": listing, "counters": counters}


if __name__ == "__main__":
    sys.exit(ct_lab.main(ROOT / "tests/netfilter/conntrack/kernel/sctp", record))
