"""Router scenarios for the targets added with issue 6 (ECN, TCPOPTSTRIP, HMARK, TEE, SET, SYNPROXY,
IDLETIMER, RATEEST), recorded by tools/record_targets.py into tests/ext/eval/kernel/targets.json.

Each is a ruleset for the router and the client's packets (real sockets and raw datagrams).
HMARK's mark is made visible on the wire: FORWARD rules copy each possible mark into the TTL.
RATEEST's estimators are read by -m rateest rules, whose counters the kernel records; both use the
shortest interval (248 ms at HZ=250): its timer sits in the timer wheel's first level and fires on
its jiffy, while longer intervals land in coarser levels and fire up to 8 jiffies late depending on
the jiffies counter, which the recording cannot know.
"""

from __future__ import annotations

from types import ModuleType

HMARK_MOD = 64
SYN_OPTS_ALL = bytes.fromhex("020405b4" "030309" "01" "0402" "080a0000000700000000")  # wscale 9 too
SYN_OPTS_WS = bytes.fromhex("020405b4" "030307" "00" "1e04abcd")  # MSS, wscale 7, EOL, kind 30 after EOL


def _esp(spi: int, seq: int) -> bytes:
    return spi.to_bytes(4, "big") + seq.to_bytes(4, "big") + b"esp-payload!"


def _ah(spi: int) -> bytes:
    return bytes([17, 4, 0, 0]) + spi.to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes(12)


def _bad_csum(seg: str) -> str:
    """A TCP segment (hex) whose checksum is wrong: the IP header stays right."""
    return seg[:72] + "dead" + seg[76:]


def new_target_scenarios(h: ModuleType) -> list[dict]:
    c, s, r0 = h.C_IP, h.S_IP, h.R0_IP
    tcp, udp, dg, icmp = h.tcp_seg, h.udp_dgram, h.datagram, h.icmp_msg
    ecn = {
        "name": "ecn_bits",
        "rules": h.rules("", "-A FORWARD -p tcp --dport 5700 -j ECN --ecn-tcp-remove\n"
                             "-A FORWARD -p tcp --dport 5701 -j ECN --ecn-tcp-ece 1 --ecn-ip-ect 2\n"
                             "-A FORWARD -p udp --dport 5702 -j ECN --ecn-ip-ect 1\n"
                             "-A FORWARD -p tcp --dport 6000 -j ECN --ecn-tcp-cwr 1\n"
                             "-A FORWARD -p tcp -f -j ECN --ecn-tcp-cwr 1 --ecn-tcp-ece 1\n"
                             "-A FORWARD -p tcp --dport 5703 -j ECN --ecn-tcp-cwr 1\n"
                             "-A FORWARD -p tcp -m length --length 0:30 -j ECN --ecn-tcp-ece 0\n"),
        "steps": [["raw", tcp(41100, 5700, 1, 0, 0xC2, tos=0x03)],
                  ["raw", tcp(41101, 5700, 2, 0, 0x10, b"no-ecn-bits")],
                  ["raw", tcp(41102, 5701, 3, 9, 0x12, tos=0x01)],
                  ["raw", tcp(41103, 5701, 4, 9, 0x52, tos=0x02)],
                  ["udp", s, 5702, 10, 0xB8], ["udp", s, 5702, 10, 0x01],
                  ["tcp", s, 6000],
                  ["raw", tcp(41104, 5703, 5, 0, 0x18, b"x" * 16, frag=0x2000, ident=0x6161)],
                  ["raw", dg(6, bytes(range(40, 64)), frag=0x0003, ident=0x6161)],
                  ["raw", dg(6, b"short-later", frag=0x0005, ident=0x6161)],
                  ["raw", dg(6, b"\x12\x34")]],
    }
    strip = {
        "name": "tcpoptstrip",
        "rules": h.rules("", "-A FORWARD -p tcp --dport 6000 -j TCPOPTSTRIP --strip-options "
                             "sack-permitted,timestamp\n"
                             "-A FORWARD -p tcp --sport 6000 -j TCPOPTSTRIP --strip-options wscale,mss\n"
                             "-A FORWARD -p tcp --dport 5800 -j TCPOPTSTRIP --strip-options mss,wscale,30\n"
                             "-A FORWARD -p tcp --dport 5801 -j TCPOPTSTRIP\n"
                             "-A FORWARD -p tcp -f -j TCPOPTSTRIP --strip-options mss\n"),
        "steps": [["tcp", s, 6000],
                  ["raw", tcp(41200, 5800, 1, 0, 0x02, b"", SYN_OPTS_WS)],
                  ["raw", tcp(41201, 5800, 2, 0, 0x02, b"", h.SYN_OPTS)],
                  ["raw", tcp(41202, 5800, 3, 0, 0x02, b"", bytes.fromhex("1e00020405b4"))],  # zero length
                  ["raw", tcp(41203, 5800, 4, 0, 0x02, b"", bytes.fromhex("0101020a"))],  # runs past the end
                  ["raw", tcp(41204, 5801, 5, 0, 0x02, b"", h.SYN_OPTS)],
                  ["raw", dg(6, bytes.fromhex("020405b4") * 6, frag=0x0004, ident=0x6262)]],
    }
    marks = "".join(f"-A FORWARD -m mark --mark {i} -j TTL --ttl-set {i}\n" for i in range(1, HMARK_MOD + 1))
    hm = f"--hmark-mod {HMARK_MOD} --hmark-offset 1"
    hmark = {
        "name": "hmark",
        "rules": h.rules(
            "-A FORWARD -m conntrack --ctstate NEW\n",
            f"-A PREROUTING -p udp --dport 6200 -j HMARK --hmark-tuple src,dst,sport,dport,proto {hm} "
            "--hmark-rnd 0xdeadbeef\n"
            f"-A PREROUTING -p udp --dport 6201 -j HMARK --hmark-tuple dport --hmark-src-prefix 16 "
            f"--hmark-sport-mask 0xff00 --hmark-dport 0x1000 {hm} --hmark-rnd 0x12345678\n"
            "-A PREROUTING -p udp --dport 6202 -j HMARK --hmark-tuple dst,sport "
            f"--hmark-proto-mask 0x3 {hm} --hmark-rnd 0\n"
            f"-A PREROUTING -p tcp -j HMARK --hmark-tuple ct,src,dst,sport,dport,proto {hm} --hmark-rnd 77\n"
            f"-A PREROUTING -p esp -j HMARK --hmark-tuple src,dst,spi,proto {hm} --hmark-rnd 0xabcdef\n"
            f"-A PREROUTING -p ah -j HMARK --hmark-tuple src,spi --hmark-spi 0x10000 {hm} --hmark-rnd 5\n"
            f"-A PREROUTING -p icmp -j HMARK --hmark-tuple src,dst,sport,dport,proto {hm} --hmark-rnd 9\n"
            f"-A PREROUTING -p 47 -j HMARK --hmark-tuple src,dst,sport,proto {hm} --hmark-rnd 10\n"
            f"-A PREROUTING -p udp -f -j HMARK --hmark-tuple src,dst,sport,dport,proto {hm} --hmark-rnd 11\n"
            f"-A PREROUTING -p udp --dport 6203 -j HMARK --hmark-tuple src,dst,sport,dport,proto {hm} "
            "--hmark-rnd 11\n" + marks),
        "steps": [["udp", s, 6200, 10, 0], ["udp", s, 6201, 10, 0], ["udp", s, 6202, 10, 0],
                  ["raw", udp(41300, 6200, b"a")], ["raw", udp(41301, 6200, b"b")],
                  ["raw", udp(55555, 6201, b"c")], ["raw", udp(1, 6202, b"d")],
                  ["tcp", s, 6000], ["tcp", s, 6001],
                  ["raw", dg(50, _esp(0x01020304, 1))], ["raw", dg(50, _esp(0xFFFF0000, 2))],
                  ["raw", dg(51, _ah(0x00AB00CD))], ["ping", s, 3],
                  ["raw", icmp(3, 3, 0, h._inner_udp(), src=c, dst=s)],
                  ["raw", dg(47, b"\x00\x00\x08\x00gre!")]],
    }
    # Without conntrack (so without defragmentation): fragments hash without ports, ct mode marks nothing.
    hmark_frag = {**hmark, "name": "hmark_fragments",
                  "rules": hmark["rules"].replace("-A FORWARD -m conntrack --ctstate NEW\n", ""),
                  "steps": [["raw", udp(41302, 6203, b"first-fragment!!", frag=0x2000, ident=0x6363)],
                            ["raw", dg(17, b"later-fragment!!", frag=0x0003, ident=0x6363)],
                            ["raw", dg(17, b"later-fragment!!", frag=0x2005, ident=0x6464)],
                            ["raw", tcp(41303, 6000, 1, 0, 0x02)], ["raw", udp(41304, 6200, b"e")]]}
    tee = {
        "name": "tee",
        "rules": h.rules(
            "-A OUTPUT -p udp\n",
            "-A PREROUTING -p udp --dport 5900 -j TEE --gateway 10.233.41.1\n"
            "-A PREROUTING -p udp --dport 5903 -j TEE --gateway 10.233.99.1\n"
            "-A PREROUTING -p udp --dport 5904 -j TEE --gateway 10.233.41.1\n"
            "-A FORWARD -p udp --dport 5901 -j TEE --gateway 10.233.40.1 --oif r0\n"
            "-A FORWARD -p udp -j IDLETIMER --timeout 30 --label pynfB_tee\n"
            "-A FORWARD -p udp -j RATEEST --rateest-name pynfBtee --rateest-interval 250ms "
            "--rateest-ewmalog 1s\n"
            "-A FORWARD -p udp\n"
            "-A POSTROUTING -p udp --dport 5902 -j TEE --gateway 10.233.41.1\n"
            "-A OUTPUT -p udp -j TEE --gateway 10.233.40.1\n"),
        "steps": [["udp", s, 5900, 10, 0], ["udp", s, 5901, 10, 0], ["udp", s, 5902, 10, 0x10],
                  ["udp", s, 5903, 10, 0], ["udp", r0, 5904, 10, 0]],
    }
    sets = {
        "name": "set_target",
        "ipsets": "create PYNFB-SRC hash:ip family inet hashsize 1024 maxelem 65536 timeout 30\n"
                  "create PYNFB-PORT hash:ip,port family inet hashsize 1024 maxelem 65536\n"
                  "create PYNFB-NET hash:net family inet hashsize 1024 maxelem 65536\n"
                  "add PYNFB-NET 10.233.41.0/24\n",
        "rules": h.rules("-A FORWARD -p udp --dport 6101 -m set --match-set PYNFB-SRC src\n"
                         "-A FORWARD -p udp --dport 6100 -j SET --add-set PYNFB-SRC src\n"
                         "-A FORWARD -p udp --dport 6102 -j SET --del-set PYNFB-SRC src\n"
                         "-A FORWARD -p udp --dport 6103 -m set --match-set PYNFB-SRC src\n"
                         "-A FORWARD -p udp --dport 6104 -j SET --add-set PYNFB-PORT dst,dst --timeout 5\n"
                         "-A FORWARD -p udp --dport 6104 -m set --match-set PYNFB-PORT dst,dst\n"
                         "-A FORWARD -p udp --dport 6105 -j SET --add-set PYNFB-NET src --exist\n"
                         "-A FORWARD -p udp --dport 6106 -m set --match-set PYNFB-NET src\n"
                         "-A FORWARD -p icmp -j SET --add-set PYNFB-PORT src,src\n"
                         "-A FORWARD -p udp --dport 6107 -j SET --add-set PYNFB-SRC dst --timeout 0\n"),
        "steps": [["udp", s, 6101, 4, 0], ["udp", s, 6100, 4, 0], ["udp", s, 6101, 4, 0],
                  ["udp", s, 6102, 4, 0], ["udp", s, 6103, 4, 0], ["udp", s, 6104, 4, 0],
                  ["udp", s, 6104, 4, 0], ["udp", s, 6106, 4, 0], ["udp", s, 6105, 4, 0],
                  ["udp", s, 6106, 4, 0], ["ping", s, 4], ["udp", s, 6107, 4, 0], ["udp", s, 6100, 4, 0],
                  ["udp", s, 6105, 4, 0]],
    }
    syn = {
        "name": "synproxy",
        "rules": h.rules("-A FORWARD -p tcp --dport 6300 -j SYNPROXY --mss 1460 --wscale 7 --sack-perm\n"
                         "-A FORWARD -p tcp --dport 6301 -j SYNPROXY --timestamp --sack-perm --wscale 5 "
                         "--mss 1400 --ecn\n"
                         "-A FORWARD -p tcp --dport 6302 -j SYNPROXY --timestamp --wscale 9\n"
                         "-A FORWARD -p tcp -m multiport --dports 6300:6302\n"),
        "steps": [["raw", tcp(41400, 6300, 1000, 0, 0x02, b"", h.SYN_OPTS)],
                  ["raw", _bad_csum(tcp(41401, 6300, 2000, 0, 0x02))],
                  ["raw", tcp(41402, 6300, 3000, 12345, 0x10)],
                  ["raw", tcp(41403, 6300, 4000, 0, 0x01)],
                  ["raw", tcp(41404, 6300, 5000, 1, 0x12)],
                  ["raw", tcp(41405, 6300, 6000, 1, 0x14)],
                  ["raw", tcp(41406, 6301, 7000, 0, 0xC2, b"", h.SYN_OPTS)],
                  ["raw", tcp(41407, 6301, 8000, 0, 0x02, b"", h.SYN_OPTS)],
                  ["raw", tcp(41408, 6301, 9000, 0, 0x02)],
                  ["raw", tcp(41411, 6301, 12000, 0, 0x02, b"", SYN_OPTS_ALL)],
                  ["raw", tcp(41409, 6302, 10000, 0, 0x02, b"", SYN_OPTS_WS[:8] + h.SYN_OPTS)],
                  ["raw", tcp(41410, 6302, 11000, 0, 0x02, b"", bytes.fromhex("0101080a0000002a00000000"))]],
    }
    est = {
        "name": "rateest",
        "rules": h.rules("-A FORWARD -p udp -m rateest --rateest pynfBr --rateest-pps 0 --rateest-gt\n"
                         "-A FORWARD -p udp -m rateest --rateest pynfBr --rateest-pps 3 --rateest-gt\n"
                         "-A FORWARD -p udp -m rateest --rateest pynfBr --rateest-bps 4kbit --rateest-gt\n"
                         "-A FORWARD -p udp -m rateest --rateest pynfBr --rateest-bps 8kbit --rateest-lt\n"
                         "-A FORWARD -p udp -m rateest --rateest1 pynfBr --rateest2 pynfBs --rateest-bps "
                         "--rateest-gt\n",
                         "-A PREROUTING -j RATEEST --rateest-name pynfBs --rateest-interval 250ms "
                         "--rateest-ewmalog 2s\n"
                         "-A FORWARD -p udp -j RATEEST --rateest-name pynfBr --rateest-interval 250ms "
                         "--rateest-ewmalog 1s\n"),
        "steps": [["udp", s, 6400 + i, 100 + 20 * i, 0] for i in range(20)],
    }
    return [ecn, strip, hmark, hmark_frag, tee, sets, syn, est]
