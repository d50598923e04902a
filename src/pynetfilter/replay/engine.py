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
  host's output and then its input (keeping the conntrack entry OUTPUT gave it,
  as the looped skb does);
* a reply REJECT sent to one of the host's own packets refused in filter
  OUTPUT (a RST, an ICMP error, captured only on ``lo``) brings that packet
  back: inferred from the reply, it is sent through OUTPUT, where the engine
  generates the reply, and the frame is the reply's looped copy
  (:mod:`pynetfilter.replay.rejected`);
* the host's own packets are fed to OUTPUT as their socket sent them: mapped
  back through their connection's NAT, and for a connection's first packet
  inferred from the nat OUTPUT rules (:mod:`pynetfilter.replay.infer`: a
  ClusterIP the capture only shows DNATed, a REDIRECTed port).

What keeps the replay from being kernel-exact (a snap length, routes without
the local table, unknown interfaces, connections open before the capture,
packets the capture lost, ambiguous local packets) is collected in
:attr:`Replay.warnings`; ``pynf replay`` prints each kind once on stderr and
exits 1 for them with ``--strict``.

Where the kernel made a choice the rules leave open (``statistic --mode
random``, the port NAT picks, the IP id of a generated reply),
:class:`CaptureChoices` looks ahead in the capture for what the kernel did and
answers the engine with that (it is the engine's ``choices``, which every Par
carries).  Ethernet captures of one interface (``--iface``) work too: the
direction comes from the interface's MAC address.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from pynetfilter.errors import PynfError
from pynetfilter.packet.model import IP_MF, Icmp, Tcp
from pynetfilter.replay.capture import CaptureChoices, Egress, Frame, parse
from pynetfilter.replay.inputs import ReplayError, iter_frames, read_frames
from pynetfilter.replay.warnings import Warnings
from pynetfilter.replay.window import Frames

__all__ = ["Replay", "ReplayError", "read_frames", "replay"]

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.netfilter.pipeline import Engine, Outcome
    from pynetfilter.packet.model import Packet


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

    def __init__(self, ruleset: Ruleset, host: Host, frames: Frames | list[Frame], *, seed: int = 0) -> None:
        from pynetfilter.netfilter.pipeline import Engine

        self.frames = frames if isinstance(frames, Frames) else Frames.of(frames)
        self.engine: Engine = Engine(ruleset, host, seed=seed)
        self.choices = CaptureChoices(self.frames)
        self.engine.choices = self.choices
        self.egress = Egress()
        self.scratch: Any = None  # an engine for trying what a local packet was (replay.infer)
        self.warnings = Warnings()

    def run(self) -> list[Step]:
        return list(self.steps())

    def steps(self) -> Iterator[Step]:
        """One step a captured packet, in time order, as the capture is read."""
        i = 0
        while self.frames.has(i):
            yield self.step(i)
            i += 1

    def step(self, i: int) -> Step:
        f = self.frames.at(i)
        self.choices.at(i)
        if parse(f) is None:
            return Step(f, f"dropped before netfilter: {f.bad}", None)
        pkt = _fresh(f)
        eng = self.engine
        note = ""
        if f.out:
            origin = self.egress.claim(pkt, f.ifname, f.ts)
            if origin is not None:
                return Step(f, f"egress copy of {origin}", None)
            out, note = self._send_own(pkt, f)
            self.expect_generated(out, f)
            return Step(f, "send" + note, out)
        if f.ifname == "lo":  # only the arriving copy is captured: it was the host's output first
            rejected = self._rejected(i, f)
            if rejected is not None:
                return rejected
            sent, note = self._send_own(_fresh(f), f)
            if sent.reason.startswith("no route") and not sent.path:
                # It left through lo, so it had a route: a source no socket may send from is the
                # kernel's own packet's (routed by destination alone, FLOWI_FLAG_ANYSRC).
                sent = eng.send(self._as_sent(_fresh(f))[0], f.ts, generated=True)
            self.expect_generated(sent, f)
            if sent.verdict != "accept":
                return Step(f, "loopback" + note, sent)
            # The looped skb keeps its conntrack entry (nf_conntrack_in finds it attached): a
            # REDIRECTed packet's captured tuple is in no table.
            pkt.meta.ct, pkt.meta.ctinfo = sent.packet.meta.ct, sent.packet.meta.ctinfo
        pkt.meta.pkt_type = f.pkt_type
        pkt.meta.src_mac = f.src_mac
        out = self.receive_looped(pkt, f.ts) if f.ifname == "lo" else eng.receive(pkt, f.ifname, f.ts)
        if out.verdict == "accept" and out.disposition == "forward":
            self.egress.expect(out.packet, out.oif, f.ts, f.n)
        self.expect_generated(out, f)
        return Step(f, ("loopback" + note) if f.ifname == "lo" else "receive", out)

    def _send_own(self, pkt: Packet, f: Frame) -> tuple[Outcome, str]:
        """The host's own packet through OUTPUT, as its socket sent it: mapped back through its
        connection's NAT, or (a connection's first packet) inferred from the OUTPUT nat rules."""
        sent, known = self._as_sent(pkt)
        eng = self.engine
        if known or eng.nat is None:
            return eng.send(sent, f.ts), ""
        from pynetfilter.replay.infer import Forced, Scratch, infer

        if self.scratch is None:
            self.scratch = Scratch(eng.ruleset, eng.host)
        inf = infer(self.scratch, eng, sent, f.ifname, f.ts)
        if inf is None or inf.unexplained:
            if inf is not None:
                self.warnings.add("unexplained", f.n)
            return eng.send(sent, f.ts), " (UNEXPLAINED)" if inf is not None else ""
        if f.ifname == "lo" and inf.nat:
            self._socket_port(inf.packet, f)
        note = f" (socket sent {describe(inf.packet)})" if inf.nat else ""
        eng.choices = Forced(sent, inf.decisions, self.choices)
        try:
            out = eng.send(inf.packet, f.ts)
        finally:
            eng.choices = self.choices
        if inf.others:
            note += f" (AMBIGUOUS: or sent {'; '.join(inf.others)})"
            self.warnings.add("ambiguous", f.n)
        return out, note

    def _rejected(self, i: int, f: Frame) -> Step | None:
        """A reply REJECT sent when filter OUTPUT refused one of the host's own packets, which the
        capture cannot show: that packet through OUTPUT, then this reply through PREROUTING, INPUT."""
        from pynetfilter.replay.rejected import replay_reply

        done = replay_reply(self, i, f)
        return Step(f, done[0], done[1]) if done is not None else None

    def _socket_port(self, pkt: Packet, f: Frame) -> None:
        """A looped-back connection's replies are captured after NAT undid it, to the socket's
        own port: the port POSTROUTING's SNAT (MASQUERADE --random-fully) hid from its first
        packet.  Taken from the first reply, when the capture has one."""
        l4 = pkt.l4
        if l4 is None or isinstance(l4, Icmp) or not hasattr(l4, "sport"):
            return
        want = (pkt.proto, pkt.daddr, l4.dport, pkt.saddr)  # type: ignore[union-attr]
        for g in self.frames.after(self.choices.i):  # the frame being replayed is choices.i
            if g.ts - f.ts > 1.0:
                return
            q = parse(g) if g.ifname == "lo" else None
            if q is not None and q.l4 is not None and hasattr(q.l4, "sport") and \
                    (q.proto, q.saddr, q.l4.sport, q.daddr) == want:  # type: ignore[union-attr]
                l4.sport = q.l4.dport  # type: ignore[union-attr]
                return

    def _as_sent(self, pkt: Packet) -> tuple[Packet, bool]:
        """The host's own packet as its socket sent it.  The capture shows it after POSTROUTING,
        where NAT already mapped it if it belongs to a NATed connection (a REDIRECTed service's
        reply, a masqueraded local connection); OUTPUT saw the tuple conntrack keeps for that
        direction, so the mapping is undone.  A connection's first packet has no entry yet: what
        OUTPUT/POSTROUTING NAT did to it is inferred by the caller (replay.infer).  Returns the
        packet and whether conntrack knows its connection."""
        ct = self.engine.conntrack
        if ct is None:
            return pkt, True
        from pynetfilter.netfilter.conntrack.entry import IP_CT_DIR_ORIGINAL
        from pynetfilter.netfilter.conntrack.icmp import invert, pkt_tuple

        t = pkt_tuple(pkt)
        inv = invert(t) if t is not None else None
        hit = ct.find(inv) if inv is not None else None
        if hit is None:
            return pkt, t is None
        conn, direction = hit
        # The packet, inverted, is one direction's tuple as NAT rewrote it: the other direction's.
        sent = conn.reply if direction == IP_CT_DIR_ORIGINAL else conn.orig
        if sent == t:
            return pkt, True
        pkt.saddr, pkt.daddr = sent.src, sent.dst
        l4 = pkt.l4
        if isinstance(l4, Icmp):
            l4.rest = sent.sport << 16 | (l4.rest & 0xFFFF)  # an echo's id is its "port"
        elif l4 is not None and hasattr(l4, "sport"):
            l4.sport, l4.dport = sent.sport, sent.dport  # type: ignore[union-attr]
        return pkt, True

    def receive_looped(self, pkt: Packet, now: float) -> Outcome:
        """A looped-back packet keeps its output route (skb_dst), so ip_rcv_finish does no input
        route lookup for it: no martian-source check, local delivery."""
        from pynetfilter.netfilter.host import Route

        return self.engine.receive(pkt, "lo", now, route=Route("local", "lo", type="local"))

    def expect_generated(self, out: Outcome, f: Frame) -> None:
        for g in out.generated:
            if g.verdict == "accept" and g.disposition in ("out", "forward") and g.oif != "lo":
                self.egress.expect(g.packet, g.oif, f.ts, f.n)
            self.expect_generated(g, f)


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


def replay(rules: str, addrs: str, routes: str, capture: str | bytes, *, iface: str | None = None,
           out: TextIO | None = None, counters: bool = False, quiet: bool = False,
           names: tuple[str, str, str] = ("RULES", "ADDRS", "ROUTES"), objects: Any = None) -> Replay:
    """The ``pynf replay`` command's work: *rules*, *addrs*, *routes* are file contents
    (*names* are their file names, for errors).  What keeps the answer from being the kernel's
    is in the returned replay's ``warnings``.  *objects* (pynetfilter.netfilter.objects.Objects,
    timeouts counted from 0) are the host's ipsets and nfacct objects, besides those *rules* (a state
    file) carries; their timeouts start at the capture's first packet."""
    out = out if out is not None else sys.stdout
    import json

    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter import objects as O
    from pynetfilter.netfilter.host import Host
    from pynetfilter.replay.inputs import has_local_table, local_routes, open_connections

    ruleset = Ruleset()
    try:
        obj_text, rules = O.split(rules)
        objs = O.load(obj_text, now=0.0)
        if objects is not None:
            O.merge(objs, objects)
        ruleset.ipsets = objs.names()
        ruleset.restore(rules)  # as iptables-restore without -c: counters start at zero
    except PynfError as e:
        raise e.in_file(names[0]) from None
    warnings = Warnings()
    try:
        if not has_local_table(routes):
            derived = local_routes(addrs)
            warnings.add("routes", None, f": {len(derived)} local-table routes derived from {names[1]}")
            routes = json.dumps(json.loads(routes) + derived)
        host = Host.from_iproute(addrs, routes, names=(names[1], names[2]))
    except PynfError as e:
        raise e.in_file(names[1]) from None  # local_routes read the addresses
    # The capture is read as a stream (replay.window): memory follows its packet rate, not its length.
    frames = Frames(iter_frames(capture, host, iface, warnings), warnings=warnings)
    first = frames.first()  # its errors name the capture file
    t0 = first.ts if first is not None else 0.0
    O.shift(objs, t0)
    ruleset.objects = objs  # type: ignore[attr-defined]  # the engine's ipsets and nfacct objects
    rp = Replay(ruleset, host, frames)
    rp.warnings = warnings
    if rp.engine.conntrack_active:  # a first pass of its own over the capture
        open_connections(Frames(iter_frames(capture, host, iface, Warnings())), warnings)
    for st in rp.steps():
        if not quiet:
            out.write(f"{st.frame.n:5d} {format_step(st, t0)}\n")
    if counters:
        out.write(ruleset.save(counters=True))
    return rp


def _objects(args: Any) -> Any:
    """The --ipsets / --nfacct files' sets and objects (timeouts counted from 0)."""
    from pynetfilter.netfilter import objects as O

    def texts(paths: list[str]) -> list[tuple[str, str]]:
        out = []
        for path in paths:
            with open(path, "rb") as fh:
                out.append((path, fh.read().decode("utf-8", "surrogateescape")))
        return out

    objs = O.Objects()
    O.add(objs, texts(args.ipsets), texts(args.nfacct), 0.0)
    return objs


def run_cli(args: Any) -> int:
    """``pynf replay RULES --addrs A.json --routes R.json CAPTURE [--counters] [--iface NAME] [--strict]``."""
    texts = []
    for path in (args.rules, args.addrs, args.routes):
        try:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
                texts.append(fh.read())
        except OSError as e:
            print(f"pynf: {path}: {e.strerror}", file=sys.stderr)
            return 1
    try:
        objs = _objects(args)
        rp = replay(*texts, args.capture, iface=args.iface, counters=args.counters, quiet=args.quiet,
                    names=(args.rules, args.addrs, args.routes), objects=objs)
    except BrokenPipeError:
        return 0
    except PynfError as e:
        print(f"pynf: {e}", file=sys.stderr)
        return e.status
    except OSError as e:
        print(f"pynf: {e.filename or args.capture}: {e.strerror or e}", file=sys.stderr)
        return 1
    for line in rp.warnings.lines():
        print(f"pynf: {line}", file=sys.stderr)
    if rp.warnings:
        verdict = "failing (--strict)" if args.strict else "use --strict to fail on this"
        print(f"pynf: replay: {len(rp.warnings.found)} warning(s): the counters may not be the kernel's "
              f"({verdict})", file=sys.stderr)
        if args.strict:
            return 1
    return 0


def add_parser(sub: Any) -> None:
    """Register ``replay`` on the pynf command's subparsers."""
    p = sub.add_parser("replay", help="replay a tcpdump capture through the rules (kernel-exact counters)")
    p.add_argument("rules", metavar="RULES", help="iptables-restore input loaded on the host")
    p.add_argument("capture", metavar="CAPTURE",
                   help="tcpdump -i any -w file (LINUX_SLL2), or pcapng (dumpcap -i any -y LINUX_SLL2)")
    p.add_argument("--addrs", required=True, metavar="A.json", help="`ip -j addr show`")
    p.add_argument("--routes", required=True, metavar="R.json", help="`ip -j route show table all`")
    p.add_argument("--counters", action="store_true", help="then print the ruleset as iptables-save -c")
    p.add_argument("--iface", metavar="NAME", help="interface of an Ethernet/SLL capture")
    p.add_argument("-q", "--quiet", action="store_true", help="no line per packet")
    p.add_argument("--ipsets", action="append", default=[], metavar="FILE",
                   help="`ipset save` text: the host's ipsets (repeatable)")
    p.add_argument("--nfacct", action="append", default=[], metavar="FILE",
                   help="`nfacct list` text: the host's nfacct objects (repeatable)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when the input cannot give a kernel-exact replay (see the warnings)")
    p.set_defaults(func=run_cli)
