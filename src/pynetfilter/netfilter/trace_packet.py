"""The packet ``pynf trace`` follows, described with iptables' own option words.

    -p PROTO  -s ADDR  -d ADDR  --sport PORT  --dport PORT
    -i IFACE                  arriving on IFACE (PREROUTING, then INPUT or FORWARD)
    -o IFACE | --local        generated on this host (OUTPUT), -o binds it to IFACE; with -i, -o
                              only says where the minimal host (below) forwards it
    --syn | --tcp-flags MASK COMP     TCP flags (the packet carries COMP; default SYN)
    --icmp-type TYPE[/CODE]   (default echo-request)
    --mark V  --tos V  --ttl N  --length N (payload bytes)  --payload TEXT  --mac-source MAC
    --uid-owner N  --gid-owner N      the local socket's owner (owner match), implies a socket

Values are read with iptables' parsers (protocol and service names, ICMP type
names, TCP flag names).  Without ``--sport``/``--dport`` a TCP/UDP/SCTP
packet goes from port 40000 to port 80.  -d is required, and -s for an
arriving packet; a generated packet without -s gets the source the routing
picks, as a socket would.  ``--payload`` is the argument's bytes as given
(non-UTF-8 ones too), ``--length`` pads it with zeros; the datagram must fit
an IPv4 total length (65,535 bytes), or the words are refused in one line.

Without a host description, :func:`minimal_host` makes one from the words:
the -i/-o interfaces (``eth0`` if neither), each with a placeholder address
192.0.2.N/32 (RFC 5737; what MASQUERADE picks), the destination an address of
the arriving interface unless -o is given, and a default route out of -o (or
the arriving interface) so that a rewritten destination is forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext.icmp import parse_icmp_type
from pynetfilter.ext.mac import parse_mac
from pynetfilter.ext.tcp import parse_flags
from pynetfilter.ext.types import parse_ipv4_addr, parse_port, parse_uint, protocol_by_name, protocol_name
from pynetfilter.netfilter.host import FibEntry, Host, Ifaddr, Interface
from pynetfilter.packet.model import (
    ACK,
    IPPROTO_ICMP,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SYN,
    Icmp,
    Packet,
    Sctp,
    Tcp,
    Udp,
)
from pynetfilter.packet.wire import length

IP_MAX_LEN = 0xFFFF  # an IPv4 datagram's tot_len is 16 bits

_ARG = {"-p": "proto", "--protocol": "proto", "-s": "src", "--source": "src", "--src": "src",
        "-d": "dst", "--destination": "dst", "--dst": "dst", "--sport": "sport", "--source-port": "sport",
        "--dport": "dport", "--destination-port": "dport", "-i": "iif", "--in-interface": "iif",
        "-o": "oif", "--out-interface": "oif", "--icmp-type": "icmp", "--mark": "mark", "--tos": "tos",
        "--ttl": "ttl", "--length": "length", "--payload": "payload", "--mac-source": "mac",
        "--uid-owner": "uid", "--gid-owner": "gid"}
_FLAG = {"--local": "local", "--syn": "syn"}


@dataclass(slots=True)
class TracePacket:
    packet: Packet
    iif: str | None  # None: generated locally
    words: dict[str, str]


def parse_words(words: list[str]) -> TracePacket:
    """iptables-style words -> the packet to trace; ParameterProblem for anything else."""
    got: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w in _FLAG:
            got[_FLAG[w]] = "1"
            i += 1
        elif w == "--tcp-flags":
            if i + 2 >= len(words):
                raise ParameterProblem("--tcp-flags needs MASK and COMP")
            parse_flags(words[i + 1])
            got["tcp-flags"] = words[i + 2]
            i += 3
        elif w in _ARG:
            if i + 1 >= len(words):
                raise ParameterProblem(f"{w} needs a value")
            got[_ARG[w]] = words[i + 1]
            i += 2
        else:
            raise ParameterProblem(f'unknown packet option "{w}" (expected iptables words such as -p, -s, '
                                   f'-d, --sport, --dport, -i, -o, --local)')
    return TracePacket(_build(got), None if _local(got) else got.get("iif"), got)


def _local(got: dict[str, str]) -> bool:
    return "local" in got or ("oif" in got and "iif" not in got)


def _build(got: dict[str, str]) -> Packet:
    if "dst" not in got:
        raise ParameterProblem("the packet needs a destination (-d)")
    local = _local(got)
    if not local and "iif" not in got:
        raise ParameterProblem("say where the packet comes from: -i IFACE (arriving) or --local / -o IFACE")
    if "iif" in got and "local" in got:
        raise ParameterProblem("-i is for arriving packets, --local for generated ones")
    if not local and "src" not in got:
        raise ParameterProblem("an arriving packet needs a source (-s)")
    proto_word = got.get("proto", "tcp" if ("sport" in got or "dport" in got or "syn" in got) else "icmp")
    proto = protocol_by_name(proto_word.lower())
    if proto is None:
        proto = parse_uint(proto_word, 0, 255, "a protocol name or number")
    pname = protocol_name(proto)
    sport = parse_port(got.get("sport", "40000"), pname)
    dport = parse_port(got.get("dport", "80"), pname)
    # The argument's bytes as they are: argv holds non-UTF-8 bytes surrogate-escaped.
    payload = got.get("payload", "").encode("utf-8", "surrogateescape")
    if "length" in got:
        want = parse_uint(got["length"], 0, IP_MAX_LEN, "a payload length")
        if want < len(payload):
            raise ParameterProblem(f"--length {want} is shorter than --payload ({len(payload)} bytes)")
        payload = payload.ljust(want, b"\0")
    l4: Tcp | Udp | Icmp | Sctp | None
    if proto == IPPROTO_TCP:
        flags = parse_flags(got["tcp-flags"]) if "tcp-flags" in got else SYN
        l4 = Tcp(sport, dport, seq=1, ack_seq=1 if flags & ACK else 0, flags=flags, window=64240)
    elif proto == IPPROTO_UDP:
        l4 = Udp(sport, dport, length=8 + len(payload))
    elif proto == IPPROTO_SCTP:
        l4 = Sctp(sport, dport)
    elif proto == IPPROTO_ICMP:
        typ, code, _ = parse_icmp_type(got.get("icmp", "echo-request"))
        l4 = Icmp(typ, 0 if code == 0xFF else code, rest=(1 << 16) | 1 if typ in (0, 8) else 0)
    else:
        l4 = None
    if "tcp-flags" in got and proto != IPPROTO_TCP or "syn" in got and proto != IPPROTO_TCP:
        raise ParameterProblem("--syn and --tcp-flags need -p tcp")
    pkt = Packet(parse_ipv4_addr(got["src"]) if "src" in got else 0, parse_ipv4_addr(got["dst"]), proto, l4,
                 payload, tos=parse_uint(got.get("tos", "0"), 0, 255, "a TOS value"),
                 ttl=parse_uint(got.get("ttl", "64"), 1, 255, "a TTL"), id=1)
    if (size := length(pkt)) > IP_MAX_LEN:  # tot_len is 16 bits
        raise ParameterProblem(f"the packet would be {size} bytes ({len(payload)} of payload): an IPv4 "
                               f"packet cannot exceed {IP_MAX_LEN} bytes")
    m = pkt.meta
    m.mark = parse_uint(got.get("mark", "0"), 0, 2**32 - 1, "a mark")
    m.bound_dev = got.get("oif") if local else None
    if "mac" in got:
        m.src_mac = parse_mac(got["mac"])
    if "uid" in got or "gid" in got or local:
        m.socket = True
        m.uid = parse_uint(got.get("uid", "0"), 0, 2**32 - 1, "a uid")
        m.gid = parse_uint(got.get("gid", "0"), 0, 2**32 - 1, "a gid")
    return pkt


def minimal_host(tp: TracePacket) -> Host:
    """A host just big enough for the packet (see the module docstring)."""
    names = [n for n in (tp.words.get("iif"), tp.words.get("oif")) if n] or ["eth0"]
    ifaces = [Interface(name, i) for i, name in enumerate(dict.fromkeys(names), 2)]
    lo = Interface("lo", 1, 65536, bytes(6), 0, True, True, [Ifaddr(0x7F000001, 8, 0, 254)])
    routes = [FibEntry(0x7F000000, 8, "local", "lo", None, 0x7F000001, 254, table="local")]
    for i in ifaces:
        placeholder = 0xC0000200 + i.index  # 192.0.2.N
        i.ifaddrs.append(Ifaddr(placeholder, 32))
        routes.append(FibEntry(placeholder, 32, "local", i.name, None, placeholder, 254, table="local"))
    pkt = tp.packet
    out_dev = tp.words.get("oif") or names[0]
    if tp.iif is not None and "oif" not in tp.words:
        ifaces[0].ifaddrs.append(Ifaddr(pkt.daddr, 32))
        routes.append(FibEntry(pkt.daddr, 32, "local", tp.iif, None, pkt.daddr, 254, table="local"))
    if pkt.saddr and tp.iif is None:
        dev = next(i for i in ifaces if i.name == out_dev)
        dev.ifaddrs.append(Ifaddr(pkt.saddr, 32))
        routes.append(FibEntry(pkt.saddr, 32, "local", out_dev, None, pkt.saddr, 254, table="local"))
    routes.append(FibEntry(0, 0, "unicast", out_dev, None, None, 253))
    return Host([lo, *ifaces], routes)
