"""The second match-evaluation suite: the matches added for iptables 1.8.9's full set
(dccp, ipcomp, cluster, connlabel, bpf, osf, realm, cgroup, rateest).

tools/record_match_eval.py --suite more sends these frames through these counting
rules, exactly as the first suite (its own namespaces and recording files).  It is
separate because cluster and connlabel turn conntrack (and defragmentation) on,
which would change what the first suite's fragments meet.
"""

from __future__ import annotations

import struct

from tools.match_eval_packets import BCAST, FWD, SYN, A, B, Frame, ipv4, tcp, udp

SEED = "0xdeadbeef"
EST = "--rateest-name EST --rateest-interval 250ms --rateest-ewmalog 1s"
PRE = [
    "", "-p udp -j MARK --set-mark 0x7", f"-j RATEEST {EST}",
    "-m pkttype --pkt-type multicast",
    # cluster: a jhash of the connection's original source picks the node
    f"-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed {SEED}",
    f"-m cluster --cluster-total-nodes 2 --cluster-local-node 2 --cluster-hash-seed {SEED}",
    "-m cluster --cluster-total-nodes 4 --cluster-local-nodemask 5 --cluster-hash-seed 1",
    "-m cluster --cluster-total-nodes 3 ! --cluster-local-node 1 --cluster-hash-seed 7",
    "-m cluster --cluster-total-nodes 32 --cluster-local-nodemask 31 --cluster-hash-seed 0",
    # cluster turned a multicast-MAC frame to a unicast address into one for this host
    "-m pkttype --pkt-type multicast", "-m pkttype --pkt-type host",
    # connlabel: the second packet of a connection sees the label the first one set
    "-m connlabel --label 5", "-m connlabel ! --label 3", "-m connlabel --label 5 --set",
    "-m connlabel --label 5", "-m connlabel ! --label 5",
    # bpf: classic BPF over the packet from its IP header
    '-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"',  # ip proto tcp
    '-m bpf --bytecode "4,128 0 0 0,37 0 1 100,6 0 0 1,6 0 0 0"',  # len > 100
    '-m bpf --bytecode "5,177 0 0 0,72 0 0 2,21 0 1 80,6 0 0 1,6 0 0 0"',  # dst port 80
    '-m bpf --bytecode "2,32 0 0 4294963220,22 0 0 0"',  # skb mark
    '-m bpf --bytecode "4,48 0 0 4294963204,21 0 1 1,6 0 0 1,6 0 0 0"',  # pkttype broadcast
    '-m bpf --bytecode "4,40 0 0 4294963200,21 0 1 2048,6 0 0 1,6 0 0 0"',  # protocol IPv4
    '-m bpf --bytecode "4,48 0 0 4293918729,21 0 1 17,6 0 0 1,6 0 0 0"',  # net[9] == udp
    '-m bpf --bytecode "4,40 0 0 4292870156,21 0 1 2048,6 0 0 1,6 0 0 0"',  # ll[12] ethertype
    '-m bpf --bytecode "2,32 0 0 2000,6 0 0 1"',  # a load past the packet returns 0
    '-m bpf --bytecode "3,7 0 0 0,60 0 0 0,6 0 0 1"',  # divide by X = 0 returns 0
    '-m bpf --bytecode "3,1 0 0 1,60 0 0 0,6 0 0 1"',
    '-m bpf --bytecode "4,32 0 0 4294963236,21 0 1 0,6 0 0 1,6 0 0 0"',  # cpu 0
    '-m bpf --bytecode "6,0 0 0 5,2 0 0 4,177 0 0 0,96 0 0 4,12 0 0 0,22 0 0 0"',  # M[], A+X
    # rateest: only comparisons whose answer does not depend on the estimator's timing
    "-m rateest --rateest EST --rateest-pps 1000000 --rateest-lt",
    "-m rateest --rateest EST --rateest-bps 4000000000 --rateest-gt",
    "-m rateest --rateest1 EST --rateest2 EST --rateest-bps --rateest-pps --rateest-eq",
    "-m rateest --rateest1 EST --rateest2 EST --rateest-bps ! --rateest-eq",
    "-m rateest --rateest EST --rateest-delta --rateest-pps1 1000000 --rateest-pps2 0 --rateest-gt",
    # osf: no fingerprints are loaded in the kernel: nothing matches, inverted or not
    "-p tcp -m osf --genre Linux", "-p tcp -m osf ! --genre Linux", "-p tcp -m osf --genre Linux --ttl 2",
    # the protocol matches last: their hotdrops end a packet's walk
    "-p ipcomp -m ipcomp --ipcompspi 256", "-p ipcomp -m ipcomp --ipcompspi 0x100:0x300",
    "-p ipcomp -m ipcomp ! --ipcompspi 256", "-p ipcomp -m ipcomp", "-p ipcomp -m ipcomp --compres",
    "-p dccp -m dccp --dport 5000", "-p dccp -m dccp --sport 1000:2000", "-p dccp -m dccp ! --dport 5000",
    "-p dccp -m dccp --dccp-types REQUEST", "-p dccp -m dccp --dccp-types DATA,ACK",
    "-p dccp -m dccp ! --dccp-types REQUEST", "-p dccp -m dccp --dccp-types INVALID",
    "-p dccp -m dccp --dccp-types RESPONSE,RESET",
    "-p dccp -m dccp --dccp-option 32", "-p dccp -m dccp ! --dccp-option 32",
    "-p dccp -m dccp --dccp-option 2",
]
INPUT = [
    "", "-m realm --realm 0", "-m realm ! --realm 0", "-m realm --realm 0x1/0x1", "-m realm --realm cosmos",
    "-m cgroup --cgroup 0", "-m cgroup ! --cgroup 1", "-m cgroup --path /", "-m cgroup ! --path /",
    "-p tcp -m osf --genre Linux", "-m connlabel --label 5",
]
FORWARD = ["", "-m realm --realm 0", "-m realm ! --realm 5", "-m realm --realm 0/0"]
POSTROUTING = ["", "-m realm --realm 0", "-m cgroup ! --cgroup 1"]


def ruleset() -> str:
    lines = ["*mangle"]
    for chain, rules in (("PREROUTING", PRE), ("INPUT", INPUT), ("FORWARD", FORWARD),
                         ("POSTROUTING", POSTROUTING)):
        lines += [f"-A {chain} {r}".rstrip() for r in rules]
    lines += ["COMMIT", "*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
              "-A INPUT -m comment --comment seen", "-A FORWARD -m comment --comment seen",
              "-A OUTPUT -m comment --comment generated", "COMMIT", ""]
    return "\n".join(lines)


def dccp(src: str, dst: str, sport: int, dport: int, dtype: int, *, x: bool = True, doff: int | None = None,
         body: bytes = b"", options: bytes = b"") -> bytes:
    """A DCCP packet: the generic header (extended sequence numbers when *x*), the type's own
    part (as much as *body* gives), options, then data offset *doff* (words)."""
    generic = struct.pack("!HHBBHB", sport, dport, 0, 0, 0, dtype << 1 | int(x)) + bytes(7 if x else 3)
    hdr = generic + body + options
    d = doff if doff is not None else len(hdr) // 4
    hdr = hdr[:4] + bytes([d]) + hdr[5:]
    return ipv4(src, dst, 33, hdr + b"data")


def ipcomp(src: str, dst: str, cpi: int) -> bytes:
    return ipv4(src, dst, 108, struct.pack("!BBH", 4, 0, cpi) + bytes(24))


def frames() -> list[Frame]:
    srcs = ["10.233.200.1", "10.233.200.3", "10.233.200.4", "10.233.200.9", "10.233.200.77",
            "10.233.200.130", "10.233.200.200", "10.233.200.254"]
    out: list[Frame] = [
        (f"udp-from-{s.rsplit('.', 1)[1]}", "host", udp(s, B, 20000 + i, 7000, b"cluster"), None)
        for i, s in enumerate(srcs)
    ]
    out += [
        ("udp-flow-1", "host", udp(A, B, 30000, 7001, b"first"), None),
        ("udp-flow-2", "host", udp(A, B, 30000, 7001, b"second"), None),
        ("udp-flow-fwd-1", "host", udp(A, FWD, 30001, 7002, b"first"), None),
        ("udp-flow-fwd-2", "host", udp(A, FWD, 30001, 7002, b"second, longer than the first"), None),
        ("udp-mcast-mac-unicast-ip", "multicast", udp(A, B, 30002, 7003, b"flooded"), None),
        ("udp-bcast", "broadcast", udp(A, BCAST, 68, 67, b"dhcp"), None),
        ("tcp-syn-80", "host", tcp(A, B, 1111, 80, SYN, options=bytes([2, 4, 5, 0xB4])), None),
        ("tcp-syn-fwd", "host", tcp(A, FWD, 1112, 80, SYN, options=bytes([2, 4, 5, 0xB4]), ttl=128), None),
        ("tcp-big", "host", tcp(A, B, 1113, 443, 0x18, payload=bytes(300), ack=1), None),
        ("ipcomp-256", "host", ipcomp(A, B, 256), None),
        ("ipcomp-0x200", "host", ipcomp(A, B, 0x200), None),
        ("ipcomp-0", "host", ipcomp(A, B, 0), None),
        ("ipcomp-truncated", "host", ipv4(A, B, 108, bytes([4, 0])), None),
        ("dccp-request-opt32", "host",
         dccp(A, B, 1500, 5000, 0, body=bytes(4), options=bytes([32, 4, 1, 2])), None),
        ("dccp-request-opt2", "host", dccp(A, B, 1501, 5001, 0, body=bytes(4), options=bytes([2, 0, 0, 0])),
         None),
        ("dccp-data", "host", dccp(A, B, 2500, 5000, 2), None),
        ("dccp-ack-short-x", "host", dccp(A, B, 2501, 5002, 3, x=False, body=bytes(8)), None),
        ("dccp-response", "host", dccp(A, B, 999, 4000, 1, body=bytes(12), options=bytes([32, 2, 0, 0])),
         None),
        ("dccp-type12", "host", dccp(A, B, 1600, 6000, 12), None),
        ("dccp-doff-short", "host", dccp(A, B, 1601, 5000, 0, body=bytes(4), doff=3), None),
        ("dccp-opts-cut", "host", ipv4(A, B, 33, struct.pack("!HHBBHB", 1602, 5000, 10, 0, 0, 1) + bytes(11)),
         None),
        ("dccp-truncated", "host", ipv4(A, B, 33, struct.pack("!HHI", 1603, 5000, 0)), None),
    ]
    return out
