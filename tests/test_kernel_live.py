"""Re-ask the real kernel about every recorded case and require the recordings to be current.

The corpus tests compare pynetfilter with recorded kernel answers; this test
makes sure those recordings are what this machine's kernel says today.  It
needs root, ip netns and iptables-legacy; elsewhere it skips and says why.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tools import cases as C
from tools.kernel import available

REASON = available("ipset", "nfacct")


@pytest.mark.skipif(REASON is not None, reason=f"kernel not available: {REASON}")
def test_recordings_are_what_the_kernel_says() -> None:
    p = subprocess.run(
        [sys.executable, str(C.ROOT / "tools" / "record_kernel.py"), "--check"],
        capture_output=True, text=True, timeout=900,
    )
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]


@pytest.mark.skipif(REASON is not None, reason=f"kernel not available: {REASON}")
@pytest.mark.parametrize("tool", ["record_save.py", "record_ipset.py"])
def test_save_and_ipset_recordings_are_current(tool: str) -> None:
    """iptables-save's table order and header/footer, and ipset's answers, asked afresh."""
    p = subprocess.run([sys.executable, str(C.ROOT / "tools" / tool), "--check"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
