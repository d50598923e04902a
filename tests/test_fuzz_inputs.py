"""Property tests: the host descriptions and ``pynf trace``'s words give one-line errors, never a crash.

* ``ip -j addr show`` / ``ip -j route show table all`` output recorded on a router, mutated: keys
  dropped, values of every JSON type put anywhere (numbers too large or not finite, nested lists),
  entries duplicated, non-UTF-8 bytes, text cut short, deep nesting.  An error names the file and,
  for an entry's problem, the entry; a host that reads is used (routes looked up, a packet traced);
* the hand-written host file (netfilter.hostfile), line by line mutated;
* ``pynf trace`` command lines: packet words, their values mutated, non-finite and huge numbers for
  --now/--seed/--max-branches, binary and oversized --payload, through the command's entry point,
  which must print one line on stderr and exit 1 or 2, or trace.
"""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from pynetfilter.cli.main import main
from pynetfilter.errors import PynfError
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet.model import IPPROTO_UDP, Packet, Udp
from pynetfilter.replay.engine import replay
from tests.fuzzing import examples, one_line, tolerated
from tests.test_fuzz_packets import ADDRS, HOST, RULES

SCEN = Path(__file__).resolve().parent / "scenarios" / "masquerade"
ADDRS_JSON = json.loads((SCEN / "addrs.json").read_text())
ROUTES_JSON = json.loads((SCEN / "routes.json").read_text())

# --------------------------------------------------------------------------- iproute2 JSON

JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, 24, 32, 33, 65536, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x" * 20, "\udcff\udcfe", "9" * 5000, "010", "08", "default", "10.233.1.1",
                     "10.233.1.0/24", "10.233.1.0/33", "1.2.3", "::1", "fe80::/64", "rc", "lo", "global",
                     "link", "host", "255", "0x10", "local", "main", "unicast", "bogus", "UP", "LOOPBACK",
                     "ether", "e2:e9:6e:8c:de:5f", "1:2:3", "inet", "inet6"]),
    st.text(max_size=8),
)
JSON_ANY = st.recursive(JSON_VALUES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=6), inner,
                                                                             max_size=3)),
                        max_leaves=6)
ADDR_KEYS = ["ifindex", "ifname", "flags", "mtu", "group", "link_type", "address", "addr_info", "family",
             "local", "prefixlen", "broadcast", "scope", "secondary"]
ROUTE_KEYS = ["dst", "type", "dev", "gateway", "prefsrc", "scope", "metric", "table", "tos", "flags",
              "nexthops", "metrics", "mtu", "pref"]


def _objects(doc: Any) -> list[dict[str, Any]]:
    """Every JSON object in *doc* (entries, addr_info items, next hops, metrics)."""
    out: list[dict[str, Any]] = []
    stack = [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            out.append(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


@st.composite
def mutated_json(draw: st.DrawFn, base: list[Any], keys: list[str]) -> str:
    doc: Any = copy.deepcopy(base)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):  # both files must read now and then
        objs = _objects(doc)
        how = draw(st.sampled_from(["drop", "set", "set", "dup", "wrap", "top", "entry"]))
        if how == "top":
            doc = draw(JSON_ANY)
            continue
        if how == "entry" and isinstance(doc, list) and doc:  # an interface or route less (lo, say)
            del doc[draw(st.integers(0, len(doc) - 1))]
            continue
        if not objs:
            continue
        obj = draw(st.sampled_from(objs))
        key = draw(st.sampled_from(keys + list(obj)))
        if how == "drop":
            obj.pop(key, None)
        elif how == "set":  # a value of any type, or one of the same type (a number, a word)
            old = obj.get(key)
            if isinstance(old, int) and not isinstance(old, bool) and draw(st.booleans()):
                obj[key] = draw(st.sampled_from([0, 1, 8, 24, 31, 32, 33, 68, 1500, 65536, 2**31, 2**32 - 1,
                                                 2**32, -1]))
            else:
                obj[key] = draw(JSON_ANY)
        elif how == "dup" and isinstance(doc, list) and doc:
            doc.append(copy.deepcopy(draw(st.sampled_from(doc))))
        elif how == "wrap":
            obj[key] = [obj.get(key)]
    text = json.dumps(doc, ensure_ascii=False)
    return _damage(draw, text) if draw(st.integers(0, 7)) == 0 else text


def _damage(draw: st.DrawFn, text: str) -> str:
    how = draw(st.sampled_from(["cut", "bytes", "deep"]))
    if how == "cut":
        return text[:draw(st.integers(0, len(text)))]
    if how == "bytes":  # non-UTF-8 bytes as a file read with surrogateescape holds them
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.sampled_from(["\udcff", "\udcc3\udca9", "\x00", "\udc80"])) + text[at:]
    depth = draw(st.sampled_from([10, 5000, 100_000]))
    return "[" * depth + "]" * depth if draw(st.booleans()) else '{"a":' * depth + "1" + "}" * depth


def _use(host: Host) -> None:
    """A host that reads answers the routing questions and carries a packet."""
    for a in ADDRS[:6]:
        host.route_output_addr(a)
        for name in host.interfaces:
            tolerated(lambda a=a, name=name: host.route_input_addr(a, ADDRS[0], name))  # type: ignore[misc]
    engine = Engine(Ruleset.from_save(RULES), host)
    for name in list(host.interfaces)[:3]:
        pkt = Packet(ADDRS[0], ADDRS[2], IPPROTO_UDP, Udp(1000, 24), b"x" * 1600)
        tolerated(lambda pkt=pkt, name=name: engine.receive(pkt, name, 0.0))  # type: ignore[misc]
    tolerated(lambda: engine.send(Packet(0, ADDRS[2], IPPROTO_UDP, Udp(1000, 26), b"x"), 0.0))


@examples(400)
@given(mutated_json(ADDRS_JSON, ADDR_KEYS), mutated_json(ROUTES_JSON, ROUTE_KEYS))
def test_iproute_json(addrs: str, routes: str) -> None:
    try:
        host = Host.from_iproute(addrs, routes, names=("A.json", "R.json"))
    except PynfError as e:
        one_line(e)
        assert str(e).startswith(("A.json: ip -j addr: ", "R.json: ip -j route: ")), str(e)
        event("refused")
        return
    event("read")
    _use(host)


CAPTURE = (SCEN / "capture.pcap").read_bytes()


@examples(50)
@given(mutated_json(ADDRS_JSON, ADDR_KEYS), mutated_json(ROUTES_JSON, ROUTE_KEYS), st.booleans())
def test_replay_host_files(addrs: str, routes: str, local_table: bool) -> None:
    """The replay reads the same files (and derives the local table when the routes lack it)."""
    if not local_table:
        routes = routes.replace('"table": "local"', '"table": "main"')  # ip -j route show
    try:
        replay((SCEN / "rules").read_text(), addrs, routes, CAPTURE, out=io.StringIO(),
               names=("RULES", "A.json", "R.json"))
    except PynfError as e:
        one_line(e)
        assert str(e).startswith(("A.json: ", "R.json: ")), str(e)
        event("refused")
        return
    event("replayed")


@pytest.mark.parametrize("addrs, routes, message", [
    ('[{"ifname": "x", "ifindex": 2, "addr_info": [{"family": "inet", "local": "10.233.1.1"}]}]', "[]",
     'A.json: ip -j addr: entry 1 (ifname "x"), addr_info 1: "prefixlen" missing '
     "(expected an integer 0..32)"),
    ("[]", '[{"dst": 5}]', 'R.json: ip -j route: entry 1: "dst": expected an IPv4 prefix'),
    ('[{"ifname": "x", "ifindex": "2"}]', "[]", 'entry 1 (ifname "x"): "ifindex": expected an integer'),
    ('[{"ifname": "x", "ifindex": 2, "mtu": -1}]', "[]", '"mtu": expected an integer 0..4294967295, got -1'),
    ('[{"ifname": "x", "ifindex": 2}, {"ifname": "x", "ifindex": 3}]', "[]",
     'entry 2 (ifname "x"): "ifname" "x" again (entry 1 has it)'),
    ("[]", '[{"dst": "10.0.0.0/8", "metric": 1.5}]', '"metric": expected an integer 0..4294967295, got 1.5'),
    ("[]", '[{"dst": "10.0.0.0/8", "nexthops": [{"gateway": 7}]}]',
     'nexthops 1: "gateway": expected an IPv4'),
    ("[" * 100_000 + "]" * 100_000, "[]", "A.json: ip -j addr: not JSON as ip prints it (nested too deeply)"),
    ('[{"ifname": "\udcff', "[]", "A.json: ip -j addr: not JSON"),
    ('[\udcff]', "[]", 'found "\\xff"'),
    ("[1" + "0" * 5000 + "]", "[]", "a number too long to read"),
])
def test_iproute_json_errors_name_file_entry_and_key(addrs: str, routes: str, message: str) -> None:
    with pytest.raises(PynfError) as e:
        Host.from_iproute(addrs, routes, names=("A.json", "R.json"))
    one_line(e.value)
    assert message in str(e.value)


# --------------------------------------------------------------------------- the hand-written host file

HOST_WORDS = ["x" * 20, "\udcff", "\x00", "#", "", "iface", "addr", "route", "forward", "rp_filter", "a0",
              "b0", "lo", "index", "mtu", "mac", "group", "down", "brd", "scope", "via", "dev", "src",
              "metric", "table", "tos", "proto", "default", "on", "off", "10.233.1.1/24", "10.233.9.0/24",
              "10.233.1.2", "10.233.1.0/33", "1.2.3", "0", "1", "2", "-1", "0x10", "65536", "4294967296",
              "999999999999999999999999999999", "010", "08", "9" * 5000, "1" + "0" * 30, "local",
              "broadcast", "unreachable", "prohibit", "blackhole",
              "throw", "host", "link", "global", "255", "254", "02:00:00:00:00:01", "1:2:3"]


@st.composite
def host_files(draw: st.DrawFn) -> str:
    lines = HOST.strip().splitlines()
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3, 5]))):
        n = draw(st.integers(0, len(lines)))
        how = draw(st.sampled_from(["insert", "replace", "drop", "word"]))
        made = " ".join(draw(st.lists(st.one_of(st.sampled_from(HOST_WORDS), st.text(max_size=5)),
                                      max_size=8)))
        if how == "insert":
            lines.insert(n, made)
        elif lines and how == "replace":
            lines[n % len(lines)] = made
        elif lines and how == "drop":
            del lines[n % len(lines)]
        elif lines:
            words = lines[n % len(lines)].split()
            at = draw(st.integers(0, len(words)))
            words[at:at + draw(st.integers(0, 1))] = [draw(st.sampled_from(HOST_WORDS))]
            lines[n % len(lines)] = " ".join(words)
    return "\n".join(lines) + "\n"


@examples(400)
@given(host_files())
def test_host_files(text: str) -> None:
    host = tolerated(lambda: Host.from_file(text))
    event("read" if host is not None else "refused")
    if host is not None:
        _use(host)


@pytest.mark.parametrize("text, message", [
    ("iface eth0 mtu -5\n", 'line 1: bad mtu "-5" (expected 0..4294967295)'),
    ("iface eth0 index 1\n", "index 1 is lo's already"),
    ("iface eth0 mac 1:2:3\n", 'line 1: bad MAC address "1:2:3"'),
    ("iface eth0\naddr eth0 10.0.0.1/24\naddr eth0 10.0.0.1/24\n",
     "line 3: addr: 10.0.0.1/24 is already on eth0"),
    ("route 10.0.0.0/8 dev lo tos 256\n", 'line 1: bad tos "256" (expected 0..255)'),
    ("iface eth0 group ٣\n", 'line 1: bad group "٣"'),
    ("iface " + "x" * 16 + "\n", "line 1: iface: bad name"),
])
def test_host_file_errors(text: str, message: str) -> None:
    with pytest.raises(PynfError) as e:
        Host.from_file(text)
    one_line(e.value)
    assert message in str(e.value)


# --------------------------------------------------------------------------- pynf trace's words


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("trace")
    paths = {"rules": d / "rules", "host": d / "host", "addrs": d / "a.json", "routes": d / "r.json"}
    paths["rules"].write_text(RULES)
    paths["host"].write_text(HOST)
    paths["addrs"].write_bytes((SCEN / "addrs.json").read_bytes())
    paths["routes"].write_bytes((SCEN / "routes.json").read_bytes())
    return {k: str(v) for k, v in paths.items()}


NUMBERS = ["9" * 40, "9" * 5000, "", " 5", "0", "1", "64", "255", "256", "65535", "65536", "-1", "nan", "NaN",
           "inf", "-inf", "1e400", "1e-400", "1e300", "0x10", "010", "1_0", "٣", "5.5", "+3", "9223372036",
           "9223372037"]
PACKET_WORDS = ["-p", "tcp", "udp", "icmp", "sctp", "47", "all", "-s", "-d", "--sport", "--dport", "-i", "-o",
                "--local", "--syn", "--tcp-flags", "SYN,ACK", "SYN", "ALL", "NONE", "--icmp-type",
                "echo-request", "3/3", "--mark", "--tos", "--ttl", "--length", "--payload", "--mac-source",
                "02:00:00:00:00:01", "--uid-owner", "--gid-owner", "10.233.1.2", "10.233.2.9", "10.233.1.1",
                "10.233.100.10", "10.233.50.5", "0.0.0.0", "255.255.255.255", "1.2.3", "a0", "b0", "c0",
                "eth0", "lo", "!"]
OPTIONS = ["--now", "--seed", "--max-branches", "--json"]
ARRIVING = ["-p", "udp", "-s", "10.233.1.2", "-d", "10.233.2.9", "-i", "a0"]
PAYLOADS = ["x", "\udcff\udcfe", "\x00" * 3, "é", "x" * 65_507, "x" * 65_508, "x" * 70_000]


@st.composite
def trace_lines(draw: st.DrawFn) -> tuple[str, list[str]]:
    host = draw(st.sampled_from(["none", "host", "json"]))
    words = ["-p", draw(st.sampled_from(["tcp", "udp", "icmp"])), "-s", "10.233.1.2", "-d", "10.233.2.9",
             "-i", "a0"]
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3, 6]))):
        how = draw(st.sampled_from(["word", "option", "option", "payload", "payload", "drop", "replace"]))
        at = draw(st.integers(0, len(words)))
        if how == "word":
            words.insert(at, draw(st.one_of(st.sampled_from(PACKET_WORDS + NUMBERS), st.text(max_size=6))))
        elif how == "option":
            words[at:at] = [draw(st.sampled_from(OPTIONS)), draw(st.sampled_from(NUMBERS))]
        elif how == "payload":
            words[at:at] = ["--payload", draw(st.sampled_from(PAYLOADS))]
        elif words and how == "drop":
            del words[at % len(words)]
        elif words:
            words[at % len(words)] = draw(st.sampled_from(PACKET_WORDS + NUMBERS))
    return host, words


@examples(150)
@given(trace_lines())
def test_trace_words(files: dict[str, str], line: tuple[str, list[str]]) -> None:
    host, words = line
    argv = ["trace", files["rules"]]
    if host == "host":
        argv += ["--host", files["host"]]
    elif host == "json":
        argv += ["--addrs", files["addrs"], "--routes", files["routes"]]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv + words)
    event(f"exit status {rc}")
    if rc == 0:
        assert out.getvalue() and not err.getvalue()
    else:
        assert rc in (1, 2) and err.getvalue().count("\n") == 1, err.getvalue()


@pytest.mark.parametrize("words, message", [
    (["--now", "nan"], '--now: bad value "nan": expected seconds from 0 to 9223372036'),
    (["--now", "inf"], '--now: bad value "inf"'),
    (["--now", "-inf"], '--now: bad value "-inf"'),
    (["--now", "1e300"], '--now: bad value "1e300"'),
    (["--seed", "-1"], '--seed: bad value "-1": expected an integer from 0 to 18446744073709551615'),
    (["--seed", "9" * 5000], "--seed: bad value"),
    (["--max-branches", "0"], '--max-branches: bad value "0": expected an integer from 1 to 2147483647'),
    (["--payload", "x" * 70_000], "the packet would be 70028 bytes (70000 of payload): an IPv4 packet cannot "
                                  "exceed 65535 bytes"),
    (["--length", "3", "--payload", "xxxx"], "--length 3 is shorter than --payload (4 bytes)"),
    (["--mac-source", "1:2:3"], 'Invalid MAC address specified: "1:2:3"'),
])
def test_trace_refusals_are_one_line(files: dict[str, str], words: list[str], message: str) -> None:
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        rc = main(["trace", files["rules"], *ARRIVING, *words])
    assert rc == 2 and err.getvalue().count("\n") == 1 and message in err.getvalue(), err.getvalue()
    assert files["rules"] not in err.getvalue()  # the problem is in the words, not in the rules file


def test_trace_payload_keeps_its_bytes(tmp_path: Path) -> None:
    """A --payload of non-UTF-8 bytes is those bytes (argv holds them surrogate-escaped)."""
    rules = tmp_path / "rules"
    rules.write_text('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m string --algo bm --hex-string "|fffe|" '
                     "-j ACCEPT\nCOMMIT\n")
    for payload, where in (("\udcff\udcfe", "INPUT:rule:1 "), ("\udcff\udcfd", "INPUT:policy:2 ")):
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            rc = main(["trace", str(rules), *ARRIVING,
                       "--payload", payload])
        assert rc == 0 and where in out.getvalue() and " LEN=30 " in out.getvalue(), out.getvalue()
