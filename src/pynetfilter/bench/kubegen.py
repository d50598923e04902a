"""kube-proxy (iptables mode) iptables-restore input for N Services x E endpoints.

The generator behind ``tools/gen_kube_proxy.py`` and ``pynf bench services``.
Deterministic: the same arguments give the same bytes.  The rules are shaped
as kube-proxy's syncProxyRules() writes them (filter then nat; chain lines,
then rules; ``-m tcp -p tcp -d VIP --dport P``; KUBE-SVC-/KUBE-SEP-/KUBE-EXT-/
KUBE-FW- names from base32(sha256(...)); statistic probabilities 1/(n-i) as
Go's %0.10f; comments dropped from SVC->SEP and SEP rules above 1000
endpoints).  Addresses: services 10.233.0.0/17, pods 10.233.128.0/18,
external and load-balancer IPs 10.233.192.0/24, the node 10.233.255.2,
masquerade mark 0x4000.  ``base=True`` adds a first block with what kubelet
and kube-proxy install outside the restore (the jumps from the built-in
chains), and the ``# flags: --noflush --counters`` line kube-proxy restores with.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from dataclasses import dataclass, field

POD_CIDR = "10.233.128.0/18"
MASQ_MARK = "0x4000"
NODE_IP = "10.233.255.2"
LARGE_CLUSTER_ENDPOINTS = 1000

BASE = """*mangle
:KUBE-IPTABLES-HINT - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT {new} --comment "{lbfw}" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT {new} --comment "{ext}" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD {new} --comment "{lbfw}" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD {new} --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD {new} --comment "{ext}" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT {new} --comment "{lbfw}" -j KUBE-PROXY-FIREWALL
-A OUTPUT {new} --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
""".format(new="-m conntrack --ctstate NEW -m comment", lbfw="kubernetes load balancer firewall",
           ext="kubernetes externally-visible service portals")


def chain_hash(text: str) -> str:
    """First 16 characters of base32(sha256(text)), as kube-proxy names its chains."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest())[:16].decode()


def probability(n: int) -> str:
    return f"{1.0 / n:.10f}"


def _ip(base: tuple[int, int, int, int], offset: int) -> str:
    v = ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) + offset
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


def _picked(i: int, fraction: float, salt: int) -> bool:
    """Deterministic choice of about *fraction* of the services."""
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    return ((i + 1) * 0.6180339887498949 + salt * 0.1414213562) % 1.0 < fraction


@dataclass
class Service:
    name: str  # "ns/svc:port"
    proto: str
    cluster_ip: str
    port: int
    target_port: int
    endpoints: list[str] = field(default_factory=list)
    node_port: int = 0
    affinity: bool = False
    external_ips: list[str] = field(default_factory=list)
    lb_ips: list[str] = field(default_factory=list)
    source_ranges: list[str] = field(default_factory=list)
    local: bool = False  # externalTrafficPolicy: Local
    health_port: int = 0


def make_services(n: int, e: int, *, nodeports: float, affinity: float, no_endpoints: float,
                  external: float, lb: float, local: float) -> list[Service]:
    out = []
    pod = 0
    for i in range(n):
        port = (80, 443, 8080, 53, 9090)[i % 5]
        proto = "udp" if port == 53 else "tcp"
        target = 8000 + port % 1000
        svc = Service(f"ns{i % 37}/svc{i}:p{port}", proto, _ip((10, 233, 0, 0), i + 1), port, target)
        if not _picked(i, no_endpoints, 1):
            for _ in range(e):
                svc.endpoints.append(f"{_ip((10, 233, 128, 0), pod % 16382 + 1)}:{target}")
                pod += 1
        if _picked(i, nodeports, 2) or _picked(i, lb, 5):
            svc.node_port = 30000 + i % 2768
        svc.affinity = _picked(i, affinity, 3)
        if _picked(i, external, 4):
            svc.external_ips.append(_ip((10, 233, 192, 0), i % 250 + 1))
        if _picked(i, lb, 5):
            svc.lb_ips.append(_ip((10, 233, 193, 0), i % 250 + 1))
            if i % 2:
                svc.source_ranges = ["10.233.200.0/24", "10.233.255.0/24"]
            if _picked(i, local, 6):
                svc.local = True
                svc.health_port = 32000 + i % 700
        out.append(svc)
    return out


def generate(services: list[Service], *, base: bool = False) -> str:
    """The restore input kube-proxy would write for *services* (one full sync)."""
    total_eps = sum(len(s.endpoints) for s in services)
    large = total_eps > LARGE_CLUSTER_ENDPOINTS
    fchains = [":KUBE-SERVICES - [0:0]", ":KUBE-EXTERNAL-SERVICES - [0:0]", ":KUBE-FORWARD - [0:0]",
               ":KUBE-NODEPORTS - [0:0]", ":KUBE-PROXY-FIREWALL - [0:0]", ":KUBE-FIREWALL - [0:0]"]
    frules = [
        '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 10.233.254.0/24 '
        "! -s 10.233.254.0/24 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" '
        f"-m mark --mark {MASQ_MARK}/{MASQ_MARK} -j ACCEPT",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate '
        "RELATED,ESTABLISHED -j ACCEPT",
    ]
    nchains = [":KUBE-SERVICES - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-POSTROUTING - [0:0]",
               ":KUBE-MARK-MASQ - [0:0]"]
    nrules = [
        f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
        f"-A KUBE-POSTROUTING -j MARK --xor-mark {MASQ_MARK}",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE '
        "--random-fully",
        f"-A KUBE-MARK-MASQ -j MARK --or-mark {MASQ_MARK}",
    ]
    fadd, nadd, ncadd = frules.append, nrules.append, nchains.append
    for s in services:
        name, proto = s.name, s.proto
        h = chain_hash(name + proto)
        svc_chain, svl_chain, ext_chain, fw_chain = (f"KUBE-SVC-{h}", f"KUBE-SVL-{h}", f"KUBE-EXT-{h}",
                                                     f"KUBE-FW-{h}")
        mp = f"-m {proto} -p {proto}"
        vip = f"-d {s.cluster_ip} --dport {s.port}"
        has_eps = bool(s.endpoints)
        has_ext = bool(s.node_port or s.external_ips or s.lb_ips)
        uses_fw = bool(s.lb_ips and s.source_ranges)
        ext_target = svl_chain if s.local else svc_chain
        eps = [(ep, "KUBE-SEP-" + chain_hash(name + proto + ep)) for ep in s.endpoints]
        if has_eps:
            ncadd(f":{svc_chain} - [0:0]")
            if s.local:
                ncadd(f":{svl_chain} - [0:0]")
            if has_ext:
                ncadd(f":{ext_chain} - [0:0]")
            if uses_fw:
                ncadd(f":{fw_chain} - [0:0]")
            nadd(f'-A KUBE-SERVICES -m comment --comment "{name} cluster IP" {mp} {vip} -j {svc_chain}')
        else:
            fadd(f'-A KUBE-SERVICES -m comment --comment "{name} has no endpoints" {mp} {vip} -j REJECT')
        for ip in s.external_ips:
            if has_eps:
                nadd(f'-A KUBE-SERVICES -m comment --comment "{name} external IP" {mp} -d {ip} '
                     f"--dport {s.port} -j {ext_chain}")
            else:
                fadd(f'-A KUBE-EXTERNAL-SERVICES -m comment --comment "{name} has no endpoints" {mp} -d {ip} '
                     f"--dport {s.port} -j REJECT")
        for ip in s.lb_ips:
            if has_eps:
                nadd(f'-A KUBE-SERVICES -m comment --comment "{name} loadbalancer IP" {mp} -d {ip} '
                     f"--dport {s.port} -j {fw_chain if uses_fw else ext_chain}")
            if uses_fw:
                fadd(f'-A KUBE-PROXY-FIREWALL -m comment --comment "{name} traffic not accepted by '
                     f'{ext_chain}" {mp} -d {ip} --dport {s.port} -j DROP')
        if s.node_port:
            if has_eps:
                nadd(f"-A KUBE-NODEPORTS -m comment --comment {name} {mp} --dport {s.node_port} "
                     f"-j {ext_chain}")
            else:
                fadd(f'-A KUBE-EXTERNAL-SERVICES -m comment --comment "{name} has no endpoints" -m addrtype '
                     f"--dst-type LOCAL {mp} --dport {s.node_port} -j REJECT")
        if s.health_port:
            fadd(f'-A KUBE-NODEPORTS -m comment --comment "{name} health check node port" -m tcp -p tcp '
                 f"--dport {s.health_port} -j ACCEPT")
        if not has_eps:
            continue
        nadd(f'-A {svc_chain} -m comment --comment "{name} cluster IP" {mp} {vip} ! -s {POD_CIDR} '
             "-j KUBE-MARK-MASQ")
        if has_ext:
            if not s.local:
                nadd(f'-A {ext_chain} -m comment --comment "masquerade traffic for {name} external '
                     'destinations" -j KUBE-MARK-MASQ')
            else:
                nadd(f'-A {ext_chain} -m comment --comment "pod traffic for {name} external destinations" '
                     f"-s {POD_CIDR} -j {svc_chain}")
                nadd(f'-A {ext_chain} -m comment --comment "masquerade LOCAL traffic for {name} external '
                     'destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ')
                nadd(f'-A {ext_chain} -m comment --comment "route LOCAL traffic for {name} external '
                     f'destinations" -m addrtype --src-type LOCAL -j {svc_chain}')
            nadd(f"-A {ext_chain} -j {ext_target}")
        if uses_fw:
            for src in s.source_ranges:
                nadd(f'-A {fw_chain} -m comment --comment "{name} loadbalancer IP" -s {src} -j {ext_chain}')
            nadd(f'-A {fw_chain} -m comment --comment "other traffic to {name} will be dropped by '
                 'KUBE-PROXY-FIREWALL"')
        # Service -> endpoint rules, for the cluster chain and (all endpoints local here) the local chain.
        for chain in (svc_chain, svl_chain) if s.local else (svc_chain,):
            n = len(eps)
            if s.affinity:
                for ep, sep in eps:
                    c = "" if large else f' -m comment --comment "{name} -> {ep}"'
                    nadd(f"-A {chain}{c} -m recent --name {sep} --rcheck --seconds 10800 --reap -j {sep}")
            for i, (ep, sep) in enumerate(eps):
                c = "" if large else f' -m comment --comment "{name} -> {ep}"'
                if i < n - 1:
                    p = probability(n - i)
                    nadd(f"-A {chain}{c} -m statistic --mode random --probability {p} -j {sep}")
                else:
                    nadd(f"-A {chain}{c} -j {sep}")
        for ep, sep in eps:
            ncadd(f":{sep} - [0:0]")
            c = "" if large else f" -m comment --comment {name}"
            ip = ep.rpartition(":")[0]
            nadd(f"-A {sep}{c} -s {ip} -j KUBE-MARK-MASQ")
            rec = f" -m recent --name {sep} --set" if s.affinity else ""
            nadd(f"-A {sep}{c}{rec} {mp} -j DNAT --to-destination {ep}")
    nadd('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last '
         'rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    parts = []
    if base:
        parts.append("# flags: --noflush --counters\n")
        parts.append(BASE)
    parts += ["*filter\n", "\n".join(fchains), "\n", "\n".join(frules), "\nCOMMIT\n",
              "*nat\n", "\n".join(nchains), "\n", "\n".join(nrules), "\nCOMMIT\n"]
    return "".join(parts)


def main(argv: list[str] | None = None, description: str | None = None) -> int:
    """tools/gen_kube_proxy.py's command line (*description*: its --help text)."""
    ap = argparse.ArgumentParser(description=description or __doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=5)
    ap.add_argument("--endpoints", type=int, default=3, help="endpoints per service (with endpoints)")
    ap.add_argument("--nodeports", type=float, default=0.0, help="fraction of services with a NodePort")
    ap.add_argument("--affinity", type=float, default=0.0, help="fraction with ClientIP session affinity")
    ap.add_argument("--no-endpoints", type=float, default=0.0, help="fraction without endpoints")
    ap.add_argument("--external", type=float, default=0.0, help="fraction with an external IP")
    ap.add_argument("--lb", type=float, default=0.0, help="fraction of LoadBalancer services")
    ap.add_argument("--local", type=float, default=0.0, help="fraction of LB services with local policy")
    ap.add_argument("--base", action="store_true", help="add the built-in chain jumps and the flags line")
    ap.add_argument("-o", "--output", help="file to write (default: stdout)")
    a = ap.parse_args(argv)
    svcs = make_services(a.services, a.endpoints, nodeports=a.nodeports, affinity=a.affinity,
                         no_endpoints=a.no_endpoints, external=a.external, lb=a.lb, local=a.local)
    text = generate(svcs, base=a.base)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def service_update(svc: Service) -> tuple[list[str], list[str], str]:
    """One Service's nat table part, as kube-proxy adds it to a running node: its chain names, its
    rules (``-A`` lines) and its KUBE-SERVICES rule, each as it appears in restore input.

    Cut from :func:`generate` itself so an update is byte for byte what a full sync would write."""
    text = generate([svc])
    nat = text[text.index("*nat\n"):]
    h = chain_hash(svc.name + svc.proto)
    own = (f"KUBE-SVC-{h}", f"KUBE-SVL-{h}", f"KUBE-EXT-{h}", f"KUBE-FW-{h}", "KUBE-SEP-")
    chains = [ln[1:].split()[0] for ln in nat.splitlines()
              if ln.startswith(":") and ln[1:].startswith(own)]
    rules = [ln for ln in nat.splitlines() if ln.startswith("-A ") and ln.split()[1].startswith(own)]
    portal = next(ln for ln in nat.splitlines()
                  if ln.startswith("-A KUBE-SERVICES ") and ln.endswith(f"-j KUBE-SVC-{h}"))
    return chains, rules, portal
