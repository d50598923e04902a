"""Host model against the kernel: routing answers and address types recorded by tools/record_hosts.py.

Each scenario directory holds ``ip -j addr show``, ``ip -j route show table all``
and the kernel's answers (``ip route get`` for input and output, xt_addrtype
verdicts); every answer must come out of :class:`Host` the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynetfilter.errors import PynfError
from pynetfilter.netfilter.host import Host, HostError, Route, fmt4, ip4
from pynetfilter.packet.model import IPPROTO_UDP, Packet, Udp

KERNEL = Path(__file__).parent / "kernel" / "hosts"
SCENARIOS = sorted(p.name for p in KERNEL.iterdir() if (p / "answers.json").exists())


def _load(name: str) -> tuple[Host, dict]:
    d = KERNEL / name
    answers = json.loads((d / "answers.json").read_text())
    sysctl = answers["sysctl"]
    host = Host.from_iproute((d / "addrs.json").read_text(), (d / "routes.json").read_text(),
                             ip_forward=bool(sysctl["ip_forward"]), rp_filter=sysctl["rp_filter"])
    return host, answers


def _as_ip(r: Route, with_src: bool) -> dict:
    """A Route as ``ip -j route get`` shows it (the recorder keeps type, dev, gateway, prefsrc)."""
    if r.error:
        return {"error": r.error}
    out: dict = {"type": r.type, "dev": r.oif}
    if r.gateway:
        out["gateway"] = fmt4(r.gateway)
    if with_src and r.src is not None:
        out["prefsrc"] = fmt4(r.src)
    return out


def _differences(host: Host, answers: dict) -> tuple[int, list[str]]:
    bad: list[str] = []
    n = 0
    for q in answers["input"]:
        got = _as_ip(host.route_input_addr(ip4(q["dst"]), ip4(q["src"]), q["iif"]), False)
        want = {k: q[k] for k in ("error", "type", "dev", "gateway") if k in q}
        n += 1
        if got != want:
            bad.append(f"input {q['dst']} from {q['src']} iif {q['iif']}: kernel {want}, host {got}")
    for q in answers["output"]:
        # ip route get prints the chosen source only when none was given.
        r = host.route_output_addr(ip4(q["dst"]), ip4(q["src"]) if q["src"] else 0, q["oif"] or None)
        got = _as_ip(r, not q["src"])
        want = {k: q[k] for k in ("error", "type", "dev", "gateway", "prefsrc") if k in q}
        n += 1
        if got != want:
            bad.append(f"output {q['dst']} from {q['src']} oif {q['oif']}: kernel {want}, host {got}")
    for addr, per_dev in answers.get("addrtype", {}).items():
        for dev, types in per_dev.items():
            got_t = host.addr_type(ip4(addr), dev or None)
            n += 1
            if [got_t] != types:
                bad.append(f"addrtype {addr} dev {dev or '-'}: kernel {types}, host {got_t}")
    return n, bad


@pytest.mark.parametrize("name", SCENARIOS)
def test_kernel_routing_answers(name: str) -> None:
    host, answers = _load(name)
    n, bad = _differences(host, answers)
    assert n > 50
    assert not bad, f"{len(bad)} of {n} answers differ:\n" + "\n".join(bad[:20])


def test_hand_written_router_gives_the_kernels_answers() -> None:
    """The same router written in the host file format: kernel-added routes are derived the same."""
    _, answers = _load("router")
    host = Host.from_file((KERNEL / "router" / "host.txt").read_text())
    n, bad = _differences(host, answers)
    assert not bad, f"{len(bad)} of {n} answers differ:\n" + "\n".join(bad[:20])


def test_interfaces_from_ip_json() -> None:
    host, _ = _load("router")
    d0 = host.interfaces["d0"]
    assert d0.up and d0.mtu == 1500 and d0.group == 0 and d0.mac is not None and len(d0.mac) == 6
    # The kernel keeps primaries before secondaries; the file format orders them the same way.
    want = [(ip4("10.233.10.1"), 24, 0), (ip4("10.233.11.1"), 24, 0), (ip4("10.233.10.2"), 24, 0)]
    assert d0.addresses == want
    assert [a.secondary for a in d0.ifaddrs] == [False, False, True]
    assert Host.from_file((KERNEL / "router" / "host.txt").read_text()).interfaces["d0"].addresses == want
    assert not host.interfaces["d3"].up
    assert host.iface_by_index(d0.index) is d0 and host.iface_by_index(999) is None
    assert host.interfaces["lo"].loopback


def test_masquerade_source_address() -> None:
    host, _ = _load("router")
    # The gateway of 10.233.40.128/25 is on d0's second subnet: the address on that subnet is chosen.
    assert fmt4(host.source_address("d0", ip4("10.233.40.200"))) == "10.233.11.1"
    assert fmt4(host.source_address("d0", ip4("10.233.99.1"))) == "10.233.10.1"
    assert fmt4(host.source_address("d1", ip4("10.233.22.9"))) == "10.233.22.1"
    # d2 has no address: any interface's global primary address (the kernel's device list order).
    assert fmt4(host.source_address("d2", ip4("10.233.61.1"))) == "10.233.10.1"
    assert host.source_address("nope", ip4("10.233.61.1")) == 0


def test_packet_entry_points() -> None:
    host, _ = _load("router")
    pkt = Packet(ip4("10.233.99.9"), ip4("10.233.40.5"), IPPROTO_UDP, Udp(1000, 53))
    r = host.route_input(pkt, "d0")
    assert (r.kind, r.oif, fmt4(r.gateway or 0)) == ("forward", "d1", "10.233.20.254")
    pkt = Packet(0, ip4("10.233.40.5"), IPPROTO_UDP, Udp(1000, 53))
    r = host.route_output(pkt)
    assert (r.kind, r.oif, fmt4(r.src or 0)) == ("forward", "d1", "10.233.20.1")
    pkt = Packet(0, ip4("10.233.10.1"), IPPROTO_UDP, Udp(1000, 53))
    assert host.route_output(pkt).kind == "local"
    assert host.route_input_addr(ip4("10.233.50.1"), ip4("10.233.99.9"), "d0").kind == "blackhole"
    assert host.route_input_addr(ip4("10.233.52.1"), ip4("10.233.99.9"), "d0").kind == "prohibit"
    assert host.route_input_addr(ip4("10.233.51.1"), ip4("10.233.99.9"), "d0").kind == "unreachable"
    with pytest.raises(HostError, match="no interface"):
        host.route_input(pkt, "eth9")


def test_other_recorded_hosts_parse() -> None:
    """Every host recorded by the other kernel scenarios reads, and routes its own addresses locally."""
    root = Path(__file__).parent.parent
    found = 0
    for addrs in root.glob("**/addrs.json"):
        routes = addrs.with_name("routes.json")
        if not routes.exists() or '"table":"local"' not in routes.read_text():
            continue  # tests/replay/scenarios/routes-main: taken without the local table on purpose
        host = Host.from_iproute(addrs.read_text(), routes.read_text())
        for iface in host.interfaces.values():
            for a in iface.ifaddrs:
                assert host.route_output_addr(a.local).kind == "local"
        found += 1
    assert found >= 4


@pytest.mark.parametrize("text, message", [
    ("iface eth0\naddr eth1 10.0.0.1/24\n", 'line 2: addr: no interface "eth1"'),
    ("iface eth0\naddr eth0 10.0.0.300/24\n", 'line 2: bad IPv4 address "10.0.0.300"'),
    ("route 10.0.0.0/33 dev lo\n", "line 1: bad prefix length"),
    ("forward maybe\n", 'line 1: forward: expected on or off, not "maybe"'),
    ("frobnicate\n", 'line 1: unknown statement "frobnicate"'),
    ("iface eth0\nroute 10.1.0.0/16 via 10.9.9.9\n", "gateway 10.9.9.9 is not on a connected subnet"),
    ("route 10.1.0.0/16 dev eth7\n", 'route: no interface "eth7"'),
    ("iface eth0 mtu\n", "line 1: iface: incomplete statement"),
])
def test_host_file_errors_are_one_line(text: str, message: str) -> None:
    with pytest.raises(PynfError) as e:
        Host.from_file(text)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("addrs, routes, message", [
    ("{", "[]", "ip -j addr: not JSON"),
    ("{}", "[]", "expected a JSON list of interfaces"),
    ("[]", "[{}]", 'ip -j route: entry 1: "dst" missing'),
    ("[]", '[{"dst": "10.0.0.0/8", "metrics": [{"mtu": "big"}]}]',
     'entry 1 \\(dst "10.0.0.0/8"\\), metrics 1: "mtu": expected an integer 0..4294967295, got "big"'),
    ("[]", '[{"dst": "10.0.0.0/8", "metrics": {"mtu": 1200}}]', '"metrics": expected a list of metrics'),
    ('[{"ifname": "x", "ifindex": 2, "addr_info": [{"family": "inet", "local": "1.2.3", "prefixlen": 8}]}]',
     "[]", '"local": expected an IPv4 address, got "1.2.3"'),
])
def test_ip_json_errors_are_one_line(addrs: str, routes: str, message: str) -> None:
    with pytest.raises(PynfError, match=message):
        Host.from_iproute(addrs, routes)


def test_route_mtu_metric() -> None:
    """``ip route add ... mtu 1200`` shows in ``ip -j route`` as metrics [{"mtu": 1200}]; routes carry it."""
    addrs = ('[{"ifindex": 2, "ifname": "rs", "mtu": 1400, "flags": ["UP"], "addr_info": '
             '[{"family": "inet", "local": "10.233.2.1", "prefixlen": 24}]}]')
    routes = ('[{"dst": "10.233.2.0/24", "dev": "rs", "scope": "link", "prefsrc": "10.233.2.1"},'
              '{"dst": "10.233.2.4/30", "dev": "rs", "flags": [], "metrics": [{"mtu": 1200}]}]')
    host = Host.from_iproute(addrs, routes)
    pkt = Packet(ip4("10.233.1.2"), ip4("10.233.2.5"), IPPROTO_UDP, Udp(1, 2), b"")
    assert host.route_output_addr(ip4("10.233.2.5")).mtu == 1200
    assert host.route_output_addr(ip4("10.233.2.2")).mtu == 0  # the device's MTU applies
    hand = Host.from_file("iface rs mtu 1400\naddr rs 10.233.2.1/24\nroute 10.233.2.4/30 dev rs mtu 1200\n")
    assert hand.route_input(pkt, "rs").mtu == 1200 == host.route_input(pkt, "rs").mtu
