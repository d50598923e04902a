#!/usr/bin/env python3
"""Generate kube-proxy (iptables mode) iptables-restore input for N services x E endpoints.

    python3 tools/gen_kube_proxy.py --services 5 --endpoints 3 --nodeports 0.6 \\
        --affinity 0.4 --no-endpoints 0.25 --base > tests/restore/cases/kube_proxy_gen_small.rules
    python3 tools/gen_kube_proxy.py --services 20000 --endpoints 10 -o /tmp/kube.rules

Deterministic: the same arguments give the same bytes.  The rules are shaped
as kube-proxy's syncProxyRules() writes them (filter then nat; chain lines,
then rules; ``-m tcp -p tcp -d VIP --dport P``; KUBE-SVC-/KUBE-SEP-/KUBE-EXT-/
KUBE-FW- names from base32(sha256(...)); statistic probabilities 1/(n-i) as
Go's %0.10f; comments dropped from SVC->SEP and SEP rules above 1000
endpoints).  Addresses: services 10.233.0.0/17, pods 10.233.128.0/18,
external and load-balancer IPs 10.233.192.0/24, the node 10.233.255.2,
masquerade mark 0x4000.  ``--base`` adds a first block with what kubelet and
kube-proxy install outside the restore (the jumps from the built-in chains),
and the ``# flags: --noflush --counters`` line kube-proxy restores with.

The generator itself is pynetfilter.bench.kubegen (``pynf bench services`` uses it too);
this script is its command line and runs from a checkout without installing the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pynetfilter.bench.kubegen import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(description=__doc__))
