"""``pynf bench services``, the kernel's side: the same ruleset on a real router.

Per size and tool (iptables-legacy-restore, iptables-nft-restore) a fresh lab
(pynetfilter.bench.netns): the server holds the probe Service's endpoint addresses and listens on
the target port, so a connection to the ClusterIP succeeds only through the router's DNAT.

* the baseline: with no rules loaded, new connections straight to an endpoint (no conntrack, no
  NAT, no rules): the latency of the namespaces, veth pairs and sockets themselves;
* ``load_s``: the restore of the whole ruleset into the empty router (one block per table, so
  without ``--noflush``: see services.one_block_per_table);
* ``first_packet_us``: the median ``connect()`` latency to ClusterIP:80 over many new connections
  (the SYN walks nat PREROUTING's KUBE-SERVICES to the probe Service, last, and is DNATed; the
  SYN-ACK comes back through conntrack); ``overhead_us`` = that minus the baseline;
* ``established_us``: a 1-byte echo on each established connection (both segments established);
* ``update_us``: one ``restore --noflush`` adding one Service, kube-proxy style; a connection to
  the new Service must then succeed.
"""

from __future__ import annotations

import json
import statistics

from pynetfilter.bench.netns import RESTORE, Lab, LabError
from pynetfilter.bench.services import (
    ADDED_VIP,
    PORT,
    PROBE_VIP,
    TARGET_PORT,
    endpoints,
    one_block_per_table,
    ruleset_text,
    update_restore,
)


def _connect(lab: Lab, host: str, port: int, count: int) -> tuple[float, float]:
    """Median connect and established-echo latency in microseconds (LabError if any failed)."""
    got = json.loads(lab.client("tcp-client", host, str(port), str(count)))
    if got["failed"] or not got["connect_ns"]:
        raise LabError(f"{got['failed']} of {count} connections to {host}:{port} failed")
    return statistics.median(got["connect_ns"]) / 1e3, statistics.median(got["echo_ns"]) / 1e3


def measure_kernel(services: int, mode: str, n_endpoints: int = 10, connections: int = 1000,
                   text: str | None = None) -> dict[str, object]:
    """The kernel's figures for one size, loading with the tool of *mode* (a key of RESTORE)."""
    tool = RESTORE[mode]
    if text is None:
        text = ruleset_text(services, n_endpoints)
    eps = endpoints(n_endpoints)
    with Lab(tuple(eps)) as lab:
        lab.agent("server", "tcp-server", str(TARGET_PORT))
        _connect(lab, eps[0], TARGET_PORT, 30)  # warm-up: ARP entries, caches, page faults
        base_us, base_est_us = _connect(lab, eps[0], TARGET_PORT, connections)
        load_s = lab.timed("router", [tool, "-w"], one_block_per_table(text))
        first_us, est_us = _connect(lab, PROBE_VIP, PORT, connections)
        # KUBE-SERVICES holds the N Services, the probe and the nodeports rule: the new Service goes
        # before the nodeports rule, where pynetfilter's update puts it.
        update_s = lab.timed("router", [tool, "-w", "--noflush"], update_restore(n_endpoints, services + 2))
        _connect(lab, ADDED_VIP, PORT, 3)
    return {
        "services": services, "mode": mode,
        "first_packet_us": first_us, "established_us": est_us,
        "update_us": update_s * 1e6, "load_s": load_s, "rss_mb": None,
        "baseline_us": base_us, "baseline_established_us": base_est_us,
        "overhead_us": first_us - base_us, "connections": connections,
    }
