#!/usr/bin/env python3
"""Record what IPv4 packets do with family inet6 sets held in a list:set (-m set, -j SET).

    sudo python3 tools/record_ipset6_packets.py   # writes tests/netfilter/ipset/packets/inet6_list.json

iptables refuses to name an inet6 set (libxt_set, at parse time), but a list:set may hold one:
the kernel's ip_set_test/ip_set_add/ip_set_del then refuse the member of the other family, so
it never matches and list:set goes on to its next member.  A namespace pings its own loopback
address (echo request and echo reply both pass OUTPUT); recorded: the sets and rules before,
the number of pings, ``iptables-legacy-save -c`` and ``ipset save`` after.
tests/netfilter/ipset/test_inet6_packets.py sends the same packets through the same rules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.kernel import Namespace, available  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "netfilter" / "ipset" / "packets" / "inet6_list.json"
PINGS = 2
IPSET = """\
create v6 hash:ip family inet6 counters initval 0x00000001
add v6 ::7f00:1
add v6 ::ffff:127.0.0.1
create n6 hash:net family inet6 counters initval 0x00000002
add n6 ::/1
create v4 hash:ip counters initval 0x00000003
create w4 hash:ip counters initval 0x00000004
create l list:set counters
add l v6
add l n6
add l v4
create k list:set
add k n6
add k w4
"""
RULES = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p icmp -m set --match-set l dst
-A OUTPUT -p icmp -m set --match-set k src,dst
-A OUTPUT -p icmp --icmp-type echo-request -j SET --add-set l dst
-A OUTPUT -p icmp -m set --match-set l dst
-A OUTPUT -p icmp --icmp-type echo-reply -j SET --add-set k src --exist
-A OUTPUT -p icmp -m set --match-set k dst
-A OUTPUT -p icmp --icmp-type echo-reply -j SET --del-set l dst
-A OUTPUT -p icmp -m set --match-set l dst
COMMIT
"""


def record() -> dict:
    with Namespace("pynf-ipset6") as ns:
        assert ns.run(["ipset", "restore"], stdin=IPSET).rc == 0
        r = ns.restore(RULES)
        assert r.rc == 0, r.err
        ping = ns.run(["ping", "-n", "-q", "-c", str(PINGS), "-i", "0.2", "-W", "1", "127.0.0.1"])
        assert ping.rc == 0, ping.out + ping.err
        out = {"ipset": IPSET, "rules": RULES, "pings": PINGS,
               "kernel_save": ns.save("filter", counters=True), "ipset_save": ns.run(["ipset", "save"]).out}
        ns.restore("*filter\nCOMMIT\n")
        ns.run(["ipset", "destroy"])
    return out


def main() -> int:
    why = available("ipset")
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 1
    OUT.write_text(json.dumps(record(), indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
