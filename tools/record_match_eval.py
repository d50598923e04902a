#!/usr/bin/env python3
"""Record what the kernel's matches say about crafted packets (tests/ext/eval/kernel/).

    sudo python3 tools/record_match_eval.py                # re-record
    sudo python3 tools/record_match_eval.py --check        # re-ask the kernel, fail on any difference
    sudo python3 tools/record_match_eval.py --suite more   # the second suite (tools/match_eval_more.py)

Two network namespaces of our own, ``pynf-me-a-*`` (sender) and ``pynf-me-b-*``
(firewall), joined by a veth pair (10.233.200.1/24 - 10.233.200.2/24); B also
has a second veth to a silent namespace C (10.233.201.1/24, device group 7;
the first veth is group 5),
forwarding on, blackhole/prohibit routes in its local and main tables.  B
loads RULES: many counting rules (one per interesting option value, matching
and inverted) in the mangle table; filter INPUT drops everything so B never
answers.  The sender writes each crafted Ethernet frame
(tools/match_eval_packets.py) with an AF_PACKET socket, pinned to CPU 0 (the
CPU that then runs B's receive path: -m cpu); after each frame
``iptables-legacy-save -c`` is read, so the recording holds, per packet, which
rules counted it.  tcpdump in B captures what arrived.

Written: ``match_eval.json`` (rules, B's ``ip -j addr``/``route``/``link``
output, the frames with per-packet counter deltas, the final save -c text) and
``match_eval.pcap`` (the capture, Ethernet); ``--suite more`` writes
``match_eval_more.*`` from tools/match_eval_more.py's rules and frames.  The
namespaces' prefix is $PYNF_NS_PREFIX (default ``pynf-me``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import match_eval_more  # noqa: E402
from tools import match_eval_packets as P  # noqa: E402
from tools.kernel import Namespace, available, strip_comments  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "ext" / "eval" / "kernel"
MAC_A, MAC_B = "02:00:00:00:0a:01", "02:00:00:00:0b:02"
DST_MAC = {"host": MAC_B, "broadcast": "ff:ff:ff:ff:ff:ff", "multicast": "01:00:5e:00:00:01"}

PRE = [
    "", "-m comment --comment everything",
    # length, ttl, tos, dscp, ecn (IP part)
    "-m length --length 0:40", "-m length --length 41:300", "-m length ! --length 40",
    "-m length --length 1000:65535",
    "-m ttl --ttl-eq 64", "-m ttl ! --ttl-eq 64", "-m ttl --ttl-lt 10", "-m ttl --ttl-gt 100",
    "-m tos --tos 0x10/0x3f", "-m tos --tos Minimize-Delay", "-m tos ! --tos 0x00/0xff", "-m tos --tos 0xb8",
    "-m dscp --dscp 46", "-m dscp --dscp-class AF11", "-m dscp ! --dscp 0",
    "-m ecn --ecn-ip-ect 1", "-m ecn --ecn-ip-ect 3", "-m ecn ! --ecn-ip-ect 0",
    # link layer and metadata
    "-m pkttype --pkt-type unicast", "-m pkttype --pkt-type broadcast", "-m pkttype --pkt-type multicast",
    "-m pkttype ! --pkt-type unicast", "-m pkttype --pkt-type otherhost",
    f"-m mac --mac-source {MAC_A}", f"-m mac ! --mac-source {MAC_A}", "-m mac --mac-source 02:00:00:00:00:99",
    "-m cpu --cpu 0", "-m cpu --cpu 1", "-m cpu ! --cpu 0",
    "-p icmp -j MARK --set-mark 0x5", "-p esp -j MARK --set-xmark 0x100/0x100",
    "-m mark --mark 0", "-m mark ! --mark 0", "-m mark --mark 0x1/0x1", "-m mark --mark 0x100/0xf00",
    # addresses
    "-m iprange --src-range 10.233.200.1-10.233.200.1", "-m iprange --src-range 10.233.201.0-10.233.201.255",
    "-m iprange ! --dst-range 10.233.200.0-10.233.200.255",
    "-m iprange --src-range 10.233.0.0-10.233.255.255 --dst-range 10.233.201.0-10.233.201.10",
    "-m iprange ! --src-range 10.233.200.1-10.233.200.2 ! --dst-range 10.233.200.2-10.233.200.2",
    "-m addrtype --src-type LOCAL", "-m addrtype --src-type UNICAST", "-m addrtype --src-type BROADCAST",
    "-m addrtype --dst-type LOCAL", "-m addrtype --dst-type BROADCAST", "-m addrtype --dst-type MULTICAST",
    "-m addrtype --dst-type UNICAST", "-m addrtype --dst-type BLACKHOLE", "-m addrtype --dst-type PROHIBIT",
    "-m addrtype ! --dst-type LOCAL", "-m addrtype --dst-type LOCAL --limit-iface-in",
    "-m addrtype --dst-type LOCAL,BROADCAST", "-m addrtype --src-type UNICAST ! --dst-type UNICAST",
    "-m devgroup --src-group 5", "-m devgroup ! --src-group 6", "-m devgroup ! --src-group 0x1/0x1",
    "-m devgroup --src-group 0x4/0x4",
    "-m devgroup --src-group 0x2/0x2",
    "-m physdev --physdev-in veth-b", "-m physdev ! --physdev-is-bridged", "-m physdev --physdev-is-in",
    "-m physdev ! --physdev-in veth-x",
    "-m rpfilter", "-m rpfilter --loose", "-m rpfilter --accept-local", "-m rpfilter --invert",
    "-m rpfilter --validmark --loose", "-m rpfilter --loose --accept-local --invert",
    # u32
    "-m u32 --u32 6&0xFF=17", "-m u32 --u32 6&0xFF=1,6,50:51", "-m u32 --u32 0>>22&0x3C@0&0xFFFF=53",
    "-m u32 --u32 0>>22&0x3C@0>>16=1000:2000", "-m u32 --u32 0<<4>>28=5", "-m u32 ! --u32 0<<4>>28=5",
    "-m u32 --u32 4&0x1FFF=0", "-m u32 --u32 1000=0:0xFFFFFFFF", "-m u32 ! --u32 1000=0:0xFFFFFFFF",
    "-m u32 --u32 6&0xFF=6&&0>>22&0x3C@12>>26&0x3C@0=0x47455420",
    "-m u32 --u32 0>>22&0x3C@0xFFFFFFF0=0:0xFFFFFFFF", "-m u32 --u32 0&0xFFFF=0x100:0xFFFF",
    # string
    "-m string --string GET --algo bm", "-m string --string GET --algo kmp",
    "-m string ! --string GET --algo bm",
    '-m string --string "host: example.org" --algo kmp --icase',
    '-m string --string "host: example.org" --algo bm --icase',
    '-m string --string "Host: Example.ORG" --algo bm', '-m string --string "host: example.org" --algo bm',
    "-m string --string index --algo bm --from 40 --to 60", "-m string --string index --algo kmp --from 50",
    "-m string --string index --algo kmp --to 50", "-m string --string index --algo bm --to 49",
    "-m string --hex-string |0d0a0d0a| --algo kmp", "-m string --hex-string |00010203| --algo bm --from 28",
    "-m string --hex-string |0100040000000047000000450000005401000200| --algo fsm",
    "-m string --hex-string |0000004501000200| --algo fsm",
    # the protocol matches last: their hotdrops end a packet's walk
    "-p esp -m esp --espspi 256", "-p esp -m esp --espspi 0x10000:0x30000", "-p esp -m esp ! --espspi 256",
    "-p ah -m ah --ahspi 500", "-p ah -m ah ! --ahspi 500", "-p ah -m ah --ahspi 1:100",
    "-p icmp -m icmp --icmp-type echo-request", "-p icmp -m icmp --icmp-type any",
    "-p icmp -m icmp --icmp-type 3/3",
    "-p icmp -m icmp --icmp-type destination-unreachable", "-p icmp -m icmp ! --icmp-type echo-request",
    "-p icmp -m icmp --icmp-type 11/1", "-p icmp -m icmp --icmp-type 11/0", "-p icmp -m icmp --icmp-type 13",
    "-p sctp -m sctp --dport 6000", "-p sctp -m sctp --sport 4000:5000", "-p sctp -m sctp ! --dport 6000",
    "-p sctp -m sctp --chunk-types any INIT", "-p sctp -m sctp --chunk-types all DATA,SACK",
    "-p sctp -m sctp --chunk-types only DATA", "-p sctp -m sctp --chunk-types any DATA:BE",
    "-p sctp -m sctp --chunk-types any DATA:iBE", "-p sctp -m sctp --chunk-types only ABORT:T",
    "-p sctp -m sctp ! --chunk-types any INIT", "-p sctp -m sctp --sport 7000 --chunk-types all ABORT",
    "-p tcp -m multiport --dports 80,443", "-p tcp -m multiport --sports 1000:2000",
    "-p udp -m multiport --ports 53,67:68", "-p udp -m multiport ! --dports 53",
    "-p udplite -m multiport --dports 2000", "-p dccp -m multiport --ports 3000:3100,22",
    "-p udp -m udp --dport 53", "-p udp -m udp --sport 5353", "-p udp -m udp --dport 60:70",
    "-p udp -m udp ! --dport 53", "-p udp -m udp ! --sport 1:1024",
    "-p tcp -m ecn --ecn-tcp-ece", "-p tcp -m ecn --ecn-tcp-cwr", "-p tcp -m ecn ! --ecn-tcp-ece",
    "-p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr --ecn-ip-ect 2",
    "-p tcp -m tcpmss --mss 1460", "-p tcp -m tcpmss --mss 500:600", "-p tcp -m tcpmss ! --mss 1460",
    "-p tcp -m tcp --dport 80", "-p tcp -m tcp --sport 1000:2000", "-p tcp -m tcp ! --dport 80",
    "-p tcp -m tcp --syn", "-p tcp -m tcp ! --syn", "-p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK",
    "-p tcp -m tcp --tcp-flags ALL NONE", "-p tcp -m tcp ! --tcp-flags FIN,RST,PSH NONE",
    "-p tcp -m tcp --tcp-flags ALL ACK,FIN", "-p tcp -m tcp --tcp-option 2", "-p tcp -m tcp --tcp-option 8",
    "-p tcp -m tcp ! --tcp-option 2", "-p tcp -m tcp --sport 1024:65535 --dport 80 --tcp-flags ACK ACK",
]
INPUT = [
    "", "-m addrtype --dst-type LOCAL --limit-iface-in", "-m addrtype --src-type LOCAL --limit-iface-in",
    "-m devgroup --src-group 5", "-m pkttype --pkt-type broadcast", f"-m mac --mac-source {MAC_A}",
    "-m cpu --cpu 0", "-m mark --mark 0x5",
]
FORWARD = [
    "", "-m devgroup --dst-group 7", "-m devgroup ! --dst-group 7", "-m devgroup --src-group 5 --dst-group 7",
    "-m addrtype --dst-type UNICAST --limit-iface-out", "-m addrtype --src-type LOCAL --limit-iface-out",
    "-m physdev ! --physdev-is-out", "-m physdev --physdev-out veth-c", f"-m mac --mac-source {MAC_A}",
]
POSTROUTING = ["", "-m devgroup --dst-group 7", "-m addrtype --src-type UNICAST --limit-iface-out"]


def ruleset() -> str:
    lines = ["*mangle"]
    for chain, rules in (("PREROUTING", PRE), ("INPUT", INPUT), ("FORWARD", FORWARD),
                         ("POSTROUTING", POSTROUTING)):
        lines += [f"-A {chain} {r}".rstrip() for r in rules]
    lines += ["COMMIT", "*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
              "-A INPUT -m comment --comment seen", "-A FORWARD -m comment --comment seen",
              "-A OUTPUT -m comment --comment generated", "COMMIT", ""]
    return "\n".join(lines)


SETUP_B = [
    "ip link set veth-b address " + MAC_B, "ip link set veth-b group 5",
    "ip addr add 10.233.200.2/24 dev veth-b", "ip link set veth-b up",
    "ip link set veth-c group 7", "ip addr add 10.233.201.1/24 dev veth-c", "ip link set veth-c up",
    # a permanent neighbour: forwarded packets leave at once (no ARP, no host-unreachable error later)
    "ip neigh add 10.233.201.7 lladdr 02:00:00:00:0c:07 dev veth-c nud permanent",
    "ip route add blackhole 10.233.202.0/24", "ip route add blackhole 10.233.203.0/24 table local",
    "ip route add prohibit 10.233.204.0/24 table local",
    "sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.ipv4.conf.all.rp_filter=0",
    "sysctl -qw net.ipv4.conf.veth-b.rp_filter=0", "sysctl -qw net.ipv4.conf.all.send_redirects=0",
    "sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=1",
]
SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("veth-a", 0))
for line in sys.stdin:
    s.send(bytes.fromhex(line.strip()))
    sys.stdout.write("ok\n"); sys.stdout.flush()
"""


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def frame_bytes(dst: str, ip: bytes, src_mac: str | None) -> bytes:
    return _mac(DST_MAC[dst]) + _mac(src_mac or MAC_A) + b"\x08\x00" + ip


def counters(save_text: str) -> dict[str, list[int]]:
    """'table:chain' -> packet counts of its rules, then the policy (built-in chains) at the end."""
    out: dict[str, list[int]] = {}
    table = ""
    policies: dict[str, int] = {}
    for line in save_text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            name, _pol, cnt = line[1:].split(" ", 2)
            if _pol != "-":
                policies[f"{table}:{name}"] = int(cnt[1:].split(":")[0])
            out.setdefault(f"{table}:{name}", [])
        elif line.startswith("["):
            cnt, rest = line.split("] ", 1)
            chain = rest.split()[1]
            out.setdefault(f"{table}:{chain}", []).append(int(cnt[1:].split(":")[0]))
    for key, pk in policies.items():
        out[key].append(pk)
    return out


def _captured(pcap: Path) -> int:
    from pynetfilter.io.pcap import PcapError, read

    try:
        return sum(1 for _ in read(pcap))
    except PcapError:  # a record half written
        return 0


def record(suite: str = "base") -> dict:
    rules_of, frames_of = SUITES[suite][:2]
    prefix = os.environ.get("PYNF_NS_PREFIX", "pynf-me")
    with Namespace(f"{prefix}-a") as a, Namespace(f"{prefix}-b") as b, Namespace(f"{prefix}-c") as c:
        for x, y, nx, ny in (("veth-a", "veth-b", a, b), ("veth-c", "veth-d", b, c)):
            subprocess.run(["ip", "link", "add", x, "netns", nx.name, "type", "veth", "peer", "name", y,
                            "netns", ny.name], check=True)
        c.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        c.run(["ip", "link", "set", "veth-d", "up"])
        for cmd in ["ip link set veth-a address " + MAC_A, "ip addr add 10.233.200.1/24 dev veth-a",
                    "ip link set veth-a up", "sysctl -qw net.ipv6.conf.all.disable_ipv6=1"]:
            a.run(cmd.split())
        b.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        for cmd in SETUP_B:
            r = b.run(cmd.split())
            if r.rc:
                raise SystemExit(f"B: {cmd}: {r.err.strip()}")
        rules = rules_of()
        r = b.restore(rules)
        if r.rc:
            raise SystemExit(f"iptables-legacy-restore refused the rules: {r.err.strip()}")
        host = {k: json.loads(b.run(["ip", "-j", *argv]).out) for k, argv in
                (("addr", ["addr", "show"]), ("route", ["route", "show", "table", "all"]),
                 ("link", ["-d", "link", "show"]))}
        time.sleep(0.3)  # let the link settle (no frames in flight while counting)
        pcap = OUT / f"{SUITES[suite][2]}.pcap"
        dump = subprocess.Popen(["ip", "netns", "exec", b.name, "tcpdump", "-i", "veth-b", "-Q", "in", "-U",
                                 "--immediate-mode",
                                 "-w", str(pcap), "-s", "0", "ip"], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        sender = subprocess.Popen(["ip", "netns", "exec", a.name, "taskset", "-c", "0", "python3", "-c",
                                   SENDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert sender.stdin is not None and sender.stdout is not None
        before = counters(b.save(counters=True))
        out_frames = []
        for name, dst, ip, src_mac in frames_of():
            frame = frame_bytes(dst, ip, src_mac)
            sender.stdin.write(frame.hex() + "\n")
            sender.stdin.flush()
            sender.stdout.readline()
            for _ in range(100):  # the first PREROUTING rule counts every packet that got that far
                after = counters(b.save(counters=True))
                if after["mangle:PREROUTING"][0] > before["mangle:PREROUTING"][0]:
                    break
                time.sleep(0.01)
            time.sleep(0.05)
            after = counters(b.save(counters=True))
            delta = {k: [i for i, (x, y) in enumerate(zip(before[k], v, strict=True)) if y != x]
                     for k, v in after.items()}
            counted = {k: v for k, v in delta.items() if v}
            out_frames.append({"name": name, "frame": frame.hex(), "counted": counted})
            before = after
        sender.stdin.close()
        sender.wait()
        for _ in range(100):  # until tcpdump has written every frame
            time.sleep(0.05)
            if _captured(pcap) >= len(out_frames):
                break
        dump.terminate()
        dump.wait()
        final = strip_comments(b.save(counters=True))
        if _captured(pcap) != len(out_frames):
            raise SystemExit(f"tcpdump captured {_captured(pcap)} of {len(out_frames)} frames")
    return {"rules": rules, "host": host, "frames": out_frames, "save": final,
            "mac_a": MAC_A, "mac_b": MAC_B, "cpu": 0}


# suite -> (ruleset text, frames, recording file stem)
SUITES = {"base": (ruleset, P.frames, "match_eval"),
          "more": (match_eval_more.ruleset, match_eval_more.frames, "match_eval_more")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="re-record and compare with the committed recording")
    ap.add_argument("--suite", choices=sorted(SUITES), default="base", help="which rules and frames")
    args = ap.parse_args()
    why = available()
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{SUITES[args.suite][2]}.json"
    old = json.loads(path.read_text()) if path.exists() else None
    data = record(args.suite)
    if args.check:
        same = old is not None and old["frames"] == data["frames"] and old["save"] == data["save"]
        print("kernel agrees with the recording" if same else "recording is stale")
        return 0 if same else 1
    path.write_text(json.dumps(data, indent=1) + "\n")
    n = sum(len(f["counted"].get("mangle:PREROUTING", [])) for f in data["frames"])
    print(f"recorded {len(data['frames'])} frames, {n} PREROUTING rule hits -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
