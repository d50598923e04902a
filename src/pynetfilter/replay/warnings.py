"""What keeps a replay from being kernel-exact, said once per kind, with its consequence.

Theory of operation.  The replay notes each problem where it finds it: while
reading the capture (packets cut by the snap length, interfaces the host files
do not know, packets the capturing program lost), while building the host
(routes without the local table) and while replaying (a TCP connection already
open when the capture started, a local packet that nat OUTPUT explains in more
than one way, a packet REJECT refused in OUTPUT whose reply does not tell all
of it).  :meth:`Warnings.lines` gives one line per kind: the problem,
how many packets it touches and the first of them, and what it does to the
replay's answer.  ``pynf replay`` prints them on stderr after the replay and,
with ``--strict``, exits 1 when there is any.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# kind -> (the problem, with {n} {first} {extra}; the consequence)
MESSAGES = {
    "snaplen": ("the capture was cut short by its snap length: {n} packets (first: packet {first}{extra})",
                "their missing bytes are replayed as zeros: byte counters stay exact, but matches on the "
                "cut bytes (payload: string, u32, ...; headers too where they were cut) may differ"),
    "snapheader": ("{n} of them were cut inside their IP or transport header (first: packet {first}{extra})",
                   "their ports, flags and sequence numbers are replayed as zeros where cut: rules, "
                   "conntrack and NAT see other packets than the kernel did"),
    "routes": ("the routes have no local table (`ip -j route show` instead of `ip -j route show table "
               "all`){extra}",
               "local and broadcast routes were derived from the addresses as the kernel adds them; "
               "routes added to the local table by hand (AnyIP) are unknown"),
    "iface": ("{n} packets use interfaces the host files do not know (first: packet {first}{extra})",
              "they are skipped: the kernel counted them, the replay does not"),
    "drops": ("the capture lost packets: {extra}",
              "the kernel processed packets the replay never sees: counters come out lower, and "
              "connections that lost packets may be tracked differently"),
    "order": ("{n} packets came more than 6 s out of timestamp order (first: packet {first}{extra})",
              "each was replayed right after the packet being replayed when it was read, not at its "
              "timestamp's place (the replay reads the capture as a stream)"),
    "midconn": ("{n} TCP connections were already open when the capture started (first: packet "
                "{first}{extra}, not a SYN)",
                "the kernel's conntrack saw their earlier packets and its counters include them; the "
                "replay picks them up mid-stream, so their state (and NAT) may differ"),
    "ambiguous": ("{n} packets the host sent have more than one explanation through nat OUTPUT that count "
                  "differently (first: packet {first})",
                  "the first explanation was replayed (AMBIGUOUS on their lines): counters of the rules "
                  "on the other paths may differ"),
    "unexplained": ("{n} packets the host sent are what no packet through OUTPUT becomes (first: packet "
                    "{first})",
                    "they were replayed as captured (UNEXPLAINED on their lines): the rules or host files "
                    "may not be the ones the capture was taken with"),
    "rejected": ("{n} packets the host sent that REJECT refused in OUTPUT are known only from the "
                 "replies on lo, which do not tell all of them (first: packet {first}{extra})",
                 "what the reply did not tell was guessed (a SYN's options, the payload and flags of a "
                 "segment a reset without ACK answers, bytes an ICMP error did not quote): the byte "
                 "counters of the rules those packets passed, and matches on the guessed fields, may differ"),
}


@dataclass
class Found:
    n: int = 0
    first: int | None = None
    extra: str = ""


@dataclass
class Warnings:
    found: dict[str, Found] = field(default_factory=dict)

    def add(self, kind: str, packet: int | None = None, extra: str = "", count: int = 1) -> None:
        f = self.found.setdefault(kind, Found())
        f.n += count
        if f.first is None and packet is not None:
            f.first, f.extra = packet, extra
        elif packet is None and extra and not f.extra:
            f.extra = extra

    def __bool__(self) -> bool:
        return bool(self.found)

    def __contains__(self, kind: str) -> bool:
        return kind in self.found

    def lines(self) -> list[str]:
        out = []
        for kind, (problem, consequence) in MESSAGES.items():
            f = self.found.get(kind)
            if f is not None:
                text = problem.format(n=f.n, first=f.first, extra=f.extra)
                out.append(f"warning: {text}: {consequence}")
        return out
