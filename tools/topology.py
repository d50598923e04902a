"""The router lab the traffic recorders build, and the pieces their traffic agents share.

A router namespace with three peers around it, one veth pair each (LINKS): client
10.233.1.2 (router side rc, 10.233.1.1), server 10.233.2.2 (rs, 10.233.2.1) and client2
10.233.3.2 (rc2, 10.233.3.1), every peer routing through the router, which forwards.
IPv6 is off in every namespace (no router solicitations or MLD in the captures).

Stdlib only: the recorders run their traffic agents as ``python3 tools/record_X.py --agent``
inside the namespaces, and those import this module too.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading

# role -> (router side interface, router address, peer address); every link is a /24, the
# peer's side of the pair is eth0.
LINKS = {
    "client": ("rc", "10.233.1.1", "10.233.1.2"),
    "server": ("rs", "10.233.2.1", "10.233.2.2"),
    "client2": ("rc2", "10.233.3.1", "10.233.3.2"),
}


def sh(*argv: str, check: bool = True, stdin: str | None = None) -> str:
    """Run a command; its stdout (RuntimeError naming it when it fails and *check*)."""
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {p.stderr.strip() or p.returncode}")
    return p.stdout


class Lab:
    """The namespaces of one recording (router and the LINKS roles); deleted on exit."""

    def __init__(self, names: dict[str, str]) -> None:
        self.ns = names  # role -> namespace name, for "router" and every LINKS role

    def nx(self, role: str, *argv: str, check: bool = True, stdin: str | None = None) -> str:
        return sh("ip", "netns", "exec", self.ns[role], *argv, check=check, stdin=stdin)

    def __enter__(self) -> Lab:
        try:
            for name in self.ns.values():
                sh("ip", "netns", "del", name, check=False)  # a leftover of an interrupted run
                sh("ip", "netns", "add", name)
                for key in ("all", "default"):  # no IPv6 chatter (router solicitations, MLD) in captures
                    sh("ip", "netns", "exec", name, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1")
                sh("ip", "-n", name, "link", "set", "lo", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.ns.values():
            sh("ip", "netns", "del", name, check=False)

    def build(self, topo: dict, offload: tuple[str, ...] = ("tx", "off"), offload_check: bool = True) -> None:
        """Wire the links.  *topo*: ``mtu`` {role: mtu}; ``addrs`` {role: [address, ...]}, extra
        addresses (a bare address is a /32) on a peer's eth0 or the router's lo; ``routes``
        [route, ...], ``ip route add`` arguments for the router (e.g. "unreachable 10.233.50.0/24");
        ``sysctl`` {key: value} for the router.  *offload*: the ``ethtool -K`` settings for both ends of
        every pair (*offload_check*: fail when ethtool does)."""
        r = self.ns["router"]
        extras = topo.get("addrs", {})
        for role, (rif, raddr, peer) in LINKS.items():
            n = self.ns[role]
            sh("ip", "-n", r, "link", "add", rif, "type", "veth", "peer", "name", "eth0", "netns", n)
            mtu = str(topo.get("mtu", {}).get(role, 1500))
            sh("ip", "-n", r, "link", "set", rif, "mtu", mtu, "up")
            sh("ip", "-n", n, "link", "set", "eth0", "mtu", mtu, "up")
            # No checksum offload: captured checksums are the wire's, not CHECKSUM_PARTIAL
            # placeholders (and no TSO super-packets), so a replay sees what the wire carried.
            for where, dev in ((r, rif), (n, "eth0")):
                sh("ip", "netns", "exec", where, "ethtool", "-K", dev, *offload, check=offload_check)
            sh("ip", "-n", r, "addr", "add", f"{raddr}/24", "dev", rif)
            sh("ip", "-n", n, "addr", "add", f"{peer}/24", "dev", "eth0")
            for extra in extras.get(role, []):
                sh("ip", "-n", n, "addr", "add", _prefixed(extra), "dev", "eth0")
            sh("ip", "-n", n, "route", "add", "default", "via", raddr)
        for extra in extras.get("router", []):
            sh("ip", "-n", r, "addr", "add", _prefixed(extra), "dev", "lo")
        for route in topo.get("routes", []):
            sh("ip", "-n", r, "route", "add", *route.split())
        self.nx("router", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for key, value in topo.get("sysctl", {}).items():
            self.nx("router", "sysctl", "-qw", f"{key}={value}")


def _prefixed(addr: str) -> str:
    return addr if "/" in addr else f"{addr}/32"


# --------------------------------------------------------------------------- agent pieces


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of *data*, odd length padded with a zero byte."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_loop(ls: socket.socket) -> None:
    """Accept on a listening socket forever; each connection echoes (tcp_echo) in a thread."""
    while True:
        c, _ = ls.accept()
        threading.Thread(target=tcp_echo, args=(c,), daemon=True).start()


def tcp_echo(c: socket.socket) -> None:
    """Echo until EOF (or 3 s of silence), then close."""
    c.settimeout(3)
    try:
        while data := c.recv(65536):
            c.sendall(data)
    except OSError:
        pass
    c.close()


def udp_loop(s: socket.socket) -> None:
    """Echo every datagram to its sender, forever."""
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)
