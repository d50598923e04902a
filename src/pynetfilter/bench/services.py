"""``pynf bench services``, our side: one kube-proxy ruleset size through the real packet path.

Theory of operation.  A router host (client link ``rc`` 10.233.240.1/24, server link ``rs``
10.233.241.1/24) loads kube-proxy's ruleset for N Services (pynetfilter.bench.kubegen, with the
``--base`` block so the built-in chains jump to KUBE-SERVICES, KUBE-FORWARD, KUBE-POSTROUTING) and
one more, the probe Service, whose KUBE-SERVICES rule comes after all N: every new connection to it
walks every other Service's rule first, as the last Service of a busy node does.  Its endpoints are
server-side addresses (10.233.241.11...), which the kernel lab (bench.services_kernel) puts on its
server, so both sides run the very same rules.

Each connection is a TCP handshake through :meth:`Engine.receive`: the SYN (timed: PREROUTING,
DNAT to an endpoint, FORWARD, POSTROUTING with MASQUERADE), the SYN-ACK from that endpoint, the
client's ACK, then one data segment (timed: an established packet).  Every step is checked, not
assumed (the SYN must leave ``rs`` towards one of the probe's endpoints, the SYN-ACK must come back
as the ClusterIP), so a benchmark that measured a dropped or mis-NATed packet fails loudly.

One size and mode per process (``python -m pynetfilter.bench.services N MODE ...``), so the peak
RSS it reports belongs to that size alone.
"""

from __future__ import annotations

import json
import resource
import shlex
import statistics
import sys
import time
from dataclasses import dataclass

from pynetfilter.bench.kubegen import Service, generate, make_services, service_update
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host, fmt4, ip4
from pynetfilter.netfilter.pipeline import Engine, Outcome
from pynetfilter.packet import wire
from pynetfilter.packet.model import ACK, PSH, SYN, Packet, Tcp

MODES = {"interpreter": False, "compiled": True}  # mode -> Engine(fastpath=...)

CLIENT, ROUTER_C, ROUTER_S, SERVER = "10.233.240.2", "10.233.240.1", "10.233.241.1", "10.233.241.2"
PROBE_VIP, ADDED_VIP, PORT, TARGET_PORT = "10.233.242.10", "10.233.242.11", 80, 8080
# The CPU time of the measuring thread, not the wall clock: on a shared machine other processes
# preempt a measurement often enough to move even a median, and they cannot add CPU time to ours.
CLOCK_NS = time.thread_time_ns
MAX_ENDPOINTS = 200  # endpoint addresses 10.233.241.11 ... .210
# Outside everything kubegen hands out (services from 10.233.0.1 up, pods 10.233.128/18, external
# 10.233.192-193, source ranges 10.233.200 and .255, localnet .254) for the sizes we run.
HOST_FILE = f"iface rc\niface rs\naddr rc {ROUTER_C}/24\naddr rs {ROUTER_S}/24\n"


def _seconds() -> float:
    return CLOCK_NS() / 1e9


class BenchError(Exception):
    """The packet path did not do what the benchmark measures (a drop, a wrong DNAT)."""


def endpoints(n: int) -> list[str]:
    if not 1 <= n <= MAX_ENDPOINTS:
        raise ValueError(f"--endpoints {n}: expected 1..{MAX_ENDPOINTS}")
    return [f"10.233.241.{11 + i}" for i in range(n)]


def probe_service(n_endpoints: int, vip: str = PROBE_VIP, name: str = "bench/probe:p80") -> Service:
    eps = [f"{a}:{TARGET_PORT}" for a in endpoints(n_endpoints)]
    return Service(name, "tcp", vip, PORT, TARGET_PORT, eps)


def ruleset_text(services: int, n_endpoints: int) -> str:
    """kube-proxy's restore input for *services* Services plus the probe Service, last."""
    svcs = make_services(services, n_endpoints, nodeports=0.0, affinity=0.0, no_endpoints=0.0,
                         external=0.0, lb=0.0, local=0.0)
    return generate([*svcs, probe_service(n_endpoints)], base=True)


def one_block_per_table(text: str) -> str:
    """*text* (restore input made for ``--noflush``, a table in several blocks) as one block per
    table: what a fresh host holds after restoring it, so it loads without ``--noflush``.

    The kernel lab loads this form: iptables-nft-restore spends 25-50 times longer on a large
    input with ``--noflush`` (2,000 Services: 46 s against 2 s), which would measure that tool's
    cache handling rather than the kernel.  A chain declared twice is declared once; this is only
    the same ruleset because no block's chain line flushes rules an earlier block added (true of
    kubegen's output: the base block fills only built-in chains, the sync block only its own)."""
    chains: dict[str, dict[str, str]] = {}
    rules: dict[str, list[str]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
            chains.setdefault(table, {})
            rules.setdefault(table, [])
        elif line.startswith(":"):
            chains[table].setdefault(line[1:].split()[0], line)
        elif line.startswith("-"):
            rules[table].append(line)
    out = []
    for t, decl in chains.items():
        out += [f"*{t}", *decl.values(), *rules[t], "COMMIT"]
    return "\n".join(out) + "\n"


def added_service(n_endpoints: int) -> Service:
    """The Service an update adds: the same pods as the probe (pods back several Services)."""
    return probe_service(n_endpoints, ADDED_VIP, "bench/added:p80")


def update_argvs(n_endpoints: int, portal_at: int) -> list[list[str]]:
    """The iptables commands adding :func:`added_service`: its chains, its rules, and its
    KUBE-SERVICES rule inserted at *portal_at* (1-based: before the nodeports rule, last of the
    Services, where a full sync would put a Service sorted last)."""
    chains, rules, portal = service_update(added_service(n_endpoints))
    argvs = [["-t", "nat", "-N", c] for c in chains]
    argvs += [["-t", "nat", *shlex.split(r)] for r in rules]
    words = shlex.split(portal)
    argvs.append(["-t", "nat", "-I", "KUBE-SERVICES", str(portal_at), *words[2:]])
    return argvs


def update_restore(n_endpoints: int, portal_at: int) -> str:
    """The same update as one ``iptables-restore --noflush`` block (what kube-proxy sends)."""
    chains, rules, portal = service_update(added_service(n_endpoints))
    lines = ["*nat", *(f":{c} - [0:0]" for c in chains), *rules,
             portal.replace("-A KUBE-SERVICES", f"-I KUBE-SERVICES {portal_at}", 1), "COMMIT"]
    return "\n".join(lines) + "\n"


def _tcp(src: str, sport: int, dst: str, dport: int, flags: int, seq: int, ack: int,
         payload: bytes = b"") -> Packet:
    # Through the wire format: lengths and checksums are a real datagram's.
    return wire.parse(wire.to_bytes(Packet(ip4(src), ip4(dst), 6, Tcp(sport, dport, seq, ack, flags=flags,
                                                                      window=64240), payload)))


def _check(out: Outcome, oif: str, what: str) -> None:
    if out.verdict != "accept" or out.disposition != "forward" or out.oif != oif:
        raise BenchError(f"{what}: {out.verdict}/{out.disposition} via {out.oif} ({out.reason or 'rule'}), "
                         f"expected forwarded out {oif}; path {out.path}")


@dataclass
class Connection:
    first_ns: int  # the SYN through the whole pipeline
    established_ns: int  # one data segment after the handshake
    endpoint: str  # where the SYN was DNATed to, "addr:port"


class Driver:
    """TCP connections from the client to a Service, through an engine (packets built beforehand)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now = 1000.0

    def connect(self, vip: str, sport: int, allowed: set[str]) -> Connection:
        eng, clock = self.engine, CLOCK_NS
        self.now += 0.001
        syn = _tcp(CLIENT, sport, vip, PORT, SYN, 1000, 0)
        ack = _tcp(CLIENT, sport, vip, PORT, ACK, 1001, 5001)
        data = _tcp(CLIENT, sport, vip, PORT, ACK | PSH, 1001, 5001, b"x" * 64)
        t0 = clock()
        out = eng.receive(syn, "rc", self.now)
        first = clock() - t0
        _check(out, "rs", f"SYN to {vip}:{PORT}")
        p = out.packet
        assert p.l4 is not None
        endpoint = f"{fmt4(p.daddr)}:{p.l4.dport}"
        if endpoint not in allowed:
            raise BenchError(f"SYN to {vip}:{PORT} was DNATed to {endpoint}, not an endpoint of the Service")
        synack = _tcp(fmt4(p.daddr), p.l4.dport, fmt4(p.saddr), p.l4.sport, SYN | ACK, 5000, 1001)
        back = eng.receive(synack, "rs", self.now)
        _check(back, "rc", "SYN-ACK")
        q = back.packet
        assert q.l4 is not None
        if (fmt4(q.saddr), q.l4.sport, fmt4(q.daddr), q.l4.dport) != (vip, PORT, CLIENT, sport):
            raise BenchError(f"SYN-ACK left as {fmt4(q.saddr)}:{q.l4.sport} -> {fmt4(q.daddr)}:{q.l4.dport}")
        _check(eng.receive(ack, "rc", self.now), "rs", "ACK")
        t0 = clock()
        out = eng.receive(data, "rc", self.now)
        established = clock() - t0
        _check(out, "rs", "data segment")
        return Connection(first, established, endpoint)


def measure(services: int, mode: str, n_endpoints: int = 10, connections: int = 200) -> dict[str, object]:
    """Load, connect *connections* times, add a Service: the figures of one size and mode."""
    text = ruleset_text(services, n_endpoints)
    t0 = _seconds()
    rs = Ruleset()
    rs.restore(text, noflush=True)  # kube-proxy's own flags line: --noflush --counters
    load_s = _seconds() - t0
    engine = Engine(rs, Host.from_file(HOST_FILE), fastpath=MODES[mode])
    drv = Driver(engine)
    allowed = {f"{a}:{TARGET_PORT}" for a in endpoints(n_endpoints)}
    t0 = _seconds()
    drv.connect(PROBE_VIP, 1024, allowed)  # the first packet of all: any compiling happens here
    warmup_s = _seconds() - t0
    conns = [drv.connect(PROBE_VIP, 1025 + k, allowed) for k in range(connections)]
    portal_at = len(rs.tables["nat"].chains["KUBE-SERVICES"].rules)
    t0 = CLOCK_NS()
    for argv in update_argvs(n_endpoints, portal_at):
        rs.apply(argv)
    apply_ns = CLOCK_NS() - t0
    added = drv.connect(ADDED_VIP, 1024, allowed)  # the fast path catches up with the edit here
    return {
        "services": services, "mode": mode,
        "first_packet_us": statistics.median(c.first_ns for c in conns) / 1e3,
        "established_us": statistics.median(c.established_ns for c in conns) / 1e3,
        "update_us": (apply_ns + added.first_ns) / 1e3,
        "update_apply_us": apply_ns / 1e3, "update_packet_us": added.first_ns / 1e3,
        "load_s": load_s, "warmup_s": warmup_s,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rules": sum(len(c.rules) for t in rs.tables.values() for c in t.chains.values()),
        "connections": connections,
        "endpoints_seen": len({c.endpoint for c in conns}),
    }


def main(argv: list[str]) -> int:
    """The child process: ``SERVICES MODE ENDPOINTS CONNECTIONS`` in, one JSON object out."""
    services, mode, n_endpoints, connections = int(argv[0]), argv[1], int(argv[2]), int(argv[3])
    print(json.dumps(measure(services, mode, n_endpoints, connections)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
