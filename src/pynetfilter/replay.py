"""Replay a capture through the engine: what the kernel did, packet by packet, and its counters.

Theory of operation.  A ``tcpdump -i any`` capture taken on a host (LINUX_SLL2:
each packet carries its interface index and whether it arrived or left) is fed
to an :class:`~pynetfilter.netfilter.pipeline.Engine` for that host's rules, in
timestamp order, with the capture's time as the engine's clock:

* a packet captured arriving enters PREROUTING (``engine.receive``);
* a packet captured leaving is either the egress copy of something the engine
  already handled (a packet it forwarded, or one it generated such as a REJECT
  reply), which must not be counted twice, or the host's own output (a socket's
  packet, an ICMP error of the IP stack), which enters OUTPUT (``engine.send``).
  Egress copies are recognised by content after NAT and mangle (addresses,
  ports, sequence numbers, payload length; not TTL, TOS, IP id or checksums),
  and fragments by their IP id, since the kernel refragments what it
  defragmented;
* on ``lo`` libpcap keeps only the arriving copy, so such a packet is first the
  host's output and then its input.

Where the kernel made a choice the rules leave open (``statistic --mode
random``, the port NAT picks, the IP id of a generated reply),
:class:`CaptureChoices` looks ahead in the capture for what the kernel did and
answers the engine with that (it is the engine's ``choices``, which every Par
carries).  Ethernet captures of one interface (``--iface``) work too: the
direction comes from the interface's MAC address.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from pynetfilter.errors import PynfError
from pynetfilter.packet.model import IP_MF, Icmp, Tcp
from pynetfilter.replay_capture import CaptureChoices, Egress, Frame, parse

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine, Outcome
    from pynetfilter.packet.model import Packet


class ReplayError(PynfError):
    """A capture or host description the replay cannot use."""


# --------------------------------------------------------------------------- reading the capture


def read_frames(path: str, host: Host, iface: str | None = None) -> list[Frame]:
    """The capture's IPv4 packets in timestamp order (ARP, IPv6 and the like are skipped)."""
    from pynetfilter.io.pcap import read

    macs: list[bytes] = []
    if iface is not None:
        dev = host.interfaces.get(iface)
        if dev is None:
            raise ReplayError(f"--iface {iface}: no such interface in the host's addresses")
        macs = [dev.mac] if dev.mac else []
    frames: list[Frame] = []
    for rec in read(path, out_macs=macs):
        if rec.ifindex is not None:
            dev = host.iface_by_index(rec.ifindex)
            if dev is None:
                raise ReplayError(f"packet {rec.number}: interface index {rec.ifindex} is not in the "
                                  "host's addresses (were they taken on the capturing host?)")
            name = dev.name
        elif iface is not None:
            name = iface
        else:
            raise ReplayError("this capture does not say which interface each packet used: give --iface NAME")
        frames.append(Frame(rec.number, rec.ts, name, rec.direction == "Out", rec.pkt_type, rec.data,
                            rec.src_mac))
    frames.sort(key=lambda f: f.ts)  # stable: equal timestamps keep the capture's order
    return frames


# --------------------------------------------------------------------------- the replay


@dataclass
class Step:
    frame: Frame
    action: str  # "receive", "send", "loopback", "egress copy of N"
    outcome: Outcome | None


def describe(p: Packet) -> str:
    from pynetfilter.netfilter.host import fmt4

    s, d, l4 = fmt4(p.saddr), fmt4(p.daddr), p.l4
    more = "+" if p.frag_off & IP_MF else ""
    frag = f" frag id {p.id} off {p.fragment_offset}{more}" if p.is_fragment else ""
    if isinstance(l4, Tcp):
        flags = "".join(c for b, c in zip((2, 1, 4, 8, 16, 32), "SFRP.U", strict=True) if l4.flags & b)
        return f"TCP {s}:{l4.sport} > {d}:{l4.dport} [{flags}] len {len(p.payload)}{frag}"
    if isinstance(l4, Icmp):
        return f"ICMP {s} > {d} type {l4.type} code {l4.code}{frag}"
    if l4 is not None and hasattr(l4, "sport"):
        name = {17: "UDP", 132: "SCTP"}.get(p.proto, str(p.proto))
        return f"{name} {s}:{l4.sport} > {d}:{l4.dport} len {len(p.payload)}{frag}"
    return f"proto {p.proto} {s} > {d}{frag}"


class Replay:
    """Feeds frames to an engine; :meth:`run` yields one :class:`Step` per captured packet."""

    def __init__(self, ruleset: Ruleset, host: Host, frames: list[Frame], *, seed: int = 0) -> None:
        from pynetfilter.netfilter.pipeline import Engine

        self.frames = frames
        self.engine: Engine = Engine(ruleset, host, seed=seed)
        self.choices = CaptureChoices(frames)
        self.engine.choices = self.choices
        self.egress = Egress()

    def run(self) -> list[Step]:
        return [self.step(i) for i in range(len(self.frames))]

    def step(self, i: int) -> Step:
        f = self.frames[i]
        self.choices.at(i)
        if parse(f) is None:
            return Step(f, f"dropped before netfilter: {f.bad}", None)
        pkt = _fresh(f)
        eng = self.engine
        if f.out:
            origin = self.egress.claim(pkt, f.ifname, f.ts)
            if origin is not None:
                return Step(f, f"egress copy of {origin}", None)
            out = eng.send(self._as_sent(pkt), f.ts)
            self._expect_generated(out, f)
            return Step(f, "send", out)
        if f.ifname == "lo":  # only the arriving copy is captured: it was the host's output first
            sent = eng.send(_fresh(f), f.ts)
            self._expect_generated(sent, f)
            if sent.verdict != "accept":
                return Step(f, "loopback", sent)
        pkt.meta.pkt_type = f.pkt_type
        pkt.meta.src_mac = f.src_mac
        out = self._receive_looped(pkt, f.ts) if f.ifname == "lo" else eng.receive(pkt, f.ifname, f.ts)
        if out.verdict == "accept" and out.disposition == "forward":
            self.egress.expect(out.packet, out.oif, f.ts, f.n)
        self._expect_generated(out, f)
        return Step(f, "loopback" if f.ifname == "lo" else "receive", out)

    def _as_sent(self, pkt: Packet) -> Packet:
        """The host's own packet as its socket sent it.  The capture shows it after POSTROUTING,
        where NAT already mapped it if it belongs to a NATed connection (a REDIRECTed service's
        reply, a masqueraded local connection); OUTPUT saw the tuple conntrack keeps for that
        direction, so the mapping is undone.  A connection's first packet has no entry yet: what
        OUTPUT/POSTROUTING NAT did to it cannot be told from the capture, and it is fed as seen."""
        ct = self.engine.conntrack
        if ct is None:
            return pkt
        from pynetfilter.netfilter.conntrack.entry import IP_CT_DIR_ORIGINAL
        from pynetfilter.netfilter.conntrack.icmp import invert, pkt_tuple

        t = pkt_tuple(pkt)
        inv = invert(t) if t is not None else None
        hit = ct.find(inv) if inv is not None else None
        if hit is None:
            return pkt
        conn, direction = hit
        # The packet, inverted, is one direction's tuple as NAT rewrote it: the other direction's.
        sent = conn.reply if direction == IP_CT_DIR_ORIGINAL else conn.orig
        if sent == t:
            return pkt
        pkt.saddr, pkt.daddr = sent.src, sent.dst
        l4 = pkt.l4
        if isinstance(l4, Icmp):
            l4.rest = sent.sport << 16 | (l4.rest & 0xFFFF)  # an echo's id is its "port"
        elif l4 is not None and hasattr(l4, "sport"):
            l4.sport, l4.dport = sent.sport, sent.dport  # type: ignore[union-attr]
        return pkt

    def _receive_looped(self, pkt: Packet, now: float) -> Outcome:
        """A looped-back packet keeps its output route (skb_dst), so ip_rcv_finish does no input
        route lookup for it: no martian-source check, local delivery."""
        from pynetfilter.netfilter.host import Route

        return self.engine.receive(pkt, "lo", now, route=Route("local", "lo", type="local"))

    def _expect_generated(self, out: Outcome, f: Frame) -> None:
        for g in out.generated:
            if g.verdict == "accept" and g.disposition in ("out", "forward") and g.oif != "lo":
                self.egress.expect(g.packet, g.oif, f.ts, f.n)
            self._expect_generated(g, f)


def _fresh(f: Frame) -> Packet:
    """A packet of its own for each pass: the engine changes packets in place (NAT, mangle)."""
    from pynetfilter.packet.wire import parse as parse_ip

    return parse_ip(f.data)


def format_step(st: Step, t0: float) -> str:
    f = st.frame
    p = parse(f)
    what = describe(p) if p is not None else f"{len(f.data)} bytes"
    where = f"{f.ts - t0:10.6f} {f.ifname:<6} {'Out' if f.out else 'In ':<3} {what}"
    if st.outcome is None:
        return f"{where}: {st.action}"
    o = st.outcome
    verdict = o.verdict.upper() + (f" ({o.reason})" if o.verdict == "drop" and o.reason else "")
    path = " ".join(o.path)
    extra = "".join(f"; generated {describe(g.packet)} {g.verdict.upper()}" for g in o.generated)
    return f"{where}: {st.action} {verdict} {o.disposition}{' via ' + o.oif if o.oif else ''} [{path}]{extra}"


def replay(rules: str, addrs: str, routes: str, capture: str, *, iface: str | None = None,
           out: TextIO | None = None, counters: bool = False, quiet: bool = False,
           names: tuple[str, str, str] = ("RULES", "ADDRS", "ROUTES")) -> Replay:
    """The ``pynf replay`` command's work: *rules*, *addrs*, *routes* are file contents
    (*names* are their file names, for errors)."""
    out = out if out is not None else sys.stdout
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host

    ruleset = Ruleset()
    try:
        ruleset.restore(rules)  # as iptables-restore without -c: counters start at zero
    except PynfError as e:
        raise e.in_file(names[0]) from None
    try:
        host = Host.from_iproute(addrs, routes)
    except PynfError as e:
        raise e.in_file(f"{names[1]} / {names[2]}") from None
    frames = read_frames(capture, host, iface)  # its errors name the capture file
    rp = Replay(ruleset, host, frames)
    t0 = frames[0].ts if frames else 0.0
    for i in range(len(frames)):
        st = rp.step(i)
        if not quiet:
            out.write(f"{st.frame.n:5d} {format_step(st, t0)}\n")
    if counters:
        out.write(ruleset.save(counters=True))
    return rp


def run_cli(args: Any) -> int:
    """``pynf replay RULES --addrs A.json --routes R.json CAPTURE [--counters] [--iface NAME]``."""
    texts = []
    for path in (args.rules, args.addrs, args.routes):
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                texts.append(fh.read())
        except OSError as e:
            print(f"pynf: {path}: {e.strerror}", file=sys.stderr)
            return 1
    try:
        replay(*texts, args.capture, iface=args.iface, counters=args.counters, quiet=args.quiet,
               names=(args.rules, args.addrs, args.routes))
    except BrokenPipeError:
        return 0
    except PynfError as e:
        print(f"pynf: {e}", file=sys.stderr)
        return e.status
    except OSError as e:
        print(f"pynf: {e.filename or args.capture}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub: Any) -> None:
    """Register ``replay`` on the pynf command's subparsers."""
    p = sub.add_parser("replay", help="replay a tcpdump capture through the rules (kernel-exact counters)")
    p.add_argument("rules", metavar="RULES", help="iptables-restore input loaded on the host")
    p.add_argument("capture", metavar="CAPTURE", help="tcpdump -i any -w file (LINUX_SLL2)")
    p.add_argument("--addrs", required=True, metavar="A.json", help="`ip -j addr show`")
    p.add_argument("--routes", required=True, metavar="R.json", help="`ip -j route show table all`")
    p.add_argument("--counters", action="store_true", help="then print the ruleset as iptables-save -c")
    p.add_argument("--iface", metavar="NAME", help="interface of an Ethernet/SLL capture")
    p.add_argument("-q", "--quiet", action="store_true", help="no line per packet")
    p.set_defaults(func=run_cli)
