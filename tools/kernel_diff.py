#!/usr/bin/env python3
"""Compare pynetfilter with the kernel on your own material: iptables-restore input you did not write.

    sudo python3 tools/kernel_diff.py FILE...    # each file: iptables-restore input
    (restore flags, e.g. --noflush, go on the file's first line: "# flags: --noflush")

Each FILE is fed to ``iptables-legacy-restore`` in a throwaway network namespace (a ``FILE.ipset``
beside it, ``ipset save`` text, is restored first, as the host had those sets) and to pynetfilter;
compared are the exit status, the line iptables-restore blamed and the whole ``iptables-save -c``
text after (tables, their order, every rule and counter).  One line a file, ``same`` or the first
difference; exit 1 if any differs.  This is how dumps from real hosts (firewall managers, CNI
plugins, service meshes) were checked: nothing here is committed but the tool.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "src"))  # without `pip install -e .` too

from tools.kernel import available, table_blocks  # noqa: E402
from tools.record_kernel import record_script  # noqa: E402


def pynf_side(path: Path, flags: list[str]) -> tuple[int, int | None, str]:
    """pynetfilter's (exit status, blamed line, iptables-save -c text) for the file."""
    from pynetfilter.errors import PynfError
    from pynetfilter.ext.set import ipset_family
    from pynetfilter.model.ruleset import Ruleset

    rs = Ruleset()
    sets = path.with_suffix(".ipset")
    if sets.exists():
        for line in sets.read_text().splitlines():
            words = line.split()
            if len(words) > 2 and words[0] == "create":
                rs.ipsets[words[1]] = ipset_family(words[2:])
    rc, line = 0, None
    try:
        rs.restore(path.read_bytes().decode("utf-8", "surrogateescape"),
                   noflush=bool({"-n", "--noflush"} & set(flags)),
                   counters=bool({"-c", "--counters"} & set(flags)))
    except PynfError as e:
        rc, line = e.status, e.line
    return rc, line, rs.save(counters=True, header=False)


def compare(path: Path) -> str | None:
    """None when pynetfilter and the kernel agree, else the first difference."""
    from tests.restore.test_scripts import kernel_line

    kernel = record_script(path)  # reads the flags from the file's first line
    flags = kernel["flags"]
    rc, line, save = pynf_side(path, flags)
    if kernel["rc"] != rc:
        return f"kernel exit {kernel['rc']} ({kernel['error']}), pynetfilter {rc}"
    if rc and kernel_line(kernel["stderr"]) != line:
        return f"kernel blamed line {kernel_line(kernel['stderr'])}, pynetfilter line {line}"
    want, got = table_blocks(kernel["save"]), table_blocks(save)
    if list(want) != list(got):
        return f"tables: kernel {list(want)}, pynetfilter {list(got)}"
    for name in want:
        a, b = want[name].splitlines(), got[name].splitlines()
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return f"*{name} line {i + 1}: kernel {x!r}, pynetfilter {y!r}"
        if len(a) != len(b):
            return f"*{name}: kernel {len(a)} lines, pynetfilter {len(b)}"
    return None


def main(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return 0
    files = [Path(a) for a in argv]
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        print(f"kernel_diff: no such file: {', '.join(missing)}: expected iptables-restore input",
              file=sys.stderr)
        return 2
    why = available()
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 2
    bad = 0
    for path in files:
        diff = compare(path)
        bad += diff is not None
        print(f"{path}: {diff or 'same'}")
    print(f"{len(files)} files, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
