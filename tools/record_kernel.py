#!/usr/bin/env python3
"""Record what the real kernel says about every conformance case.

    sudo python3 tools/record_kernel.py            # everything
    sudo python3 tools/record_kernel.py tcp udp    # only these rule case files
    sudo python3 tools/record_kernel.py --check    # re-ask the kernel, fail on any difference
    (PYNF_NS_PREFIX=NAME names the namespaces NAME-pid-..., default pynf-rec)

Rule cases (tests/ext/cases/*.t): each rule is appended with iptables-legacy
in a throwaway network namespace; recorded are the exit status, the first
error line, the rule's iptables-save text, and its ``-L -n -v -x`` and
``-L`` lines.  Script cases (tests/restore/cases/*.rules): the file is fed to
iptables-legacy-restore in a fresh namespace (flags from a first line
``# flags: ...``; a NAME.ipset file beside it is loaded with ``ipset restore``
first); the file's bytes go to stdin and stderr is kept as bytes (a CR stays a
CR); recorded are the exit status, stderr and iptables-save -c after.
Command cases (tests/syntax/cases/*.cmds): each iptables command runs in
order in a fresh namespace; recorded are each exit status and output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import cases as C  # noqa: E402
from tools.kernel import Namespace, available, strip_comments  # noqa: E402

# Namespaces are named PREFIX-pid-random; concurrent recorders pick their own prefix.
NS_PREFIX = os.environ.get("PYNF_NS_PREFIX", "pynf-rec")


def _rule_lines(listing: str) -> list[str]:
    """Rule lines of ``iptables -L CHAIN`` output (after the two header lines)."""
    return listing.splitlines()[2:]


def record_rules(ns: Namespace, path: Path) -> dict:
    cases = C.read_rule_cases(path)
    setup = C.read_rule_setup(path)
    for argv in setup:  # "@ipset create ..." lines: sets the file's -m set rules name
        # "@iptables ..." lines: rules the file's rules need (-j RATEEST making -m rateest's estimators)
        pre = ns.ipt(*argv[1:]) if argv[0] == "iptables" else ns.run(argv)
        if pre.rc != 0:
            raise RuntimeError(f"{path.name}: {' '.join(argv)} failed: {pre.err.strip()}")
    tables = sorted({c.table for c in cases})
    for t in tables:
        for u in C.USER_CHAINS:
            ns.ipt("-t", t, "-N", u)
    out = []
    for case in cases:
        r = ns.ipt("-t", case.table, "-A", case.chain, *case.argv)
        entry: dict = {"table": case.table, "chain": case.chain, "rule": case.rule, "ok": r.rc == 0,
                       "rc": r.rc}
        if r.rc == 0:
            save = ns.save(case.table)
            prefix = f"-A {case.chain}"
            entry["save"] = [ln[len(prefix):] for ln in save.splitlines()
                             if ln == prefix or ln.startswith(prefix + " ")]
            entry["list_n"] = _rule_lines(ns.ipt("-t", case.table, "-L", case.chain, "-n", "-v", "-x").out)
            entry["list"] = _rule_lines(ns.ipt("-t", case.table, "-L", case.chain).out)
            ns.ipt("-t", case.table, "-F", case.chain)
        else:
            entry["error"] = (r.err.strip().splitlines() or [""])[0]
        out.append(entry)
    for t in tables:
        ns.ipt("-t", t, "-F")
        ns.ipt("-t", t, "-X")
    if setup:
        for argv in setup:
            if argv[0] == "iptables":
                t = argv[argv.index("-t") + 1] if "-t" in argv else "filter"
                ns.ipt("-t", t, "-F")
                ns.ipt("-t", t, "-X")
        ns.run(["ipset", "destroy"])
        ns.run(["nfacct", "flush"])  # "@nfacct add ..." objects
        return {"source": path.name, "setup": setup, "cases": out}
    return {"source": path.name, "cases": out}


def _run_bytes(ns: Namespace, argv: list[str], stdin: bytes) -> tuple[int, str]:
    """Run in *ns* with stdin and stderr as bytes: a CR the input holds reaches iptables and
    its message as is (text mode would translate it)."""
    p = subprocess.run(["ip", "netns", "exec", ns.name, *argv], input=stdin, capture_output=True)
    return p.returncode, p.stderr.decode("utf-8", "surrogateescape")


def record_script(path: Path) -> dict:
    raw = path.read_bytes()
    text = raw.decode("utf-8", "surrogateescape")
    first = text.split("\n", 1)[0] if text else ""
    flags = first.split(":", 1)[1].split() if first.startswith("# flags:") else []
    ipsets = path.with_suffix(".ipset")
    with Namespace(NS_PREFIX) as ns:
        if ipsets.exists():  # sets a `-m set` ruleset needs, created before the restore
            pre = ns.run(["ipset", "restore"], stdin=ipsets.read_text())
            if pre.rc != 0:
                raise RuntimeError(f"{ipsets.name}: ipset restore failed: {pre.err.strip()}")
        rc, err = _run_bytes(ns, ["iptables-legacy-restore", "-w", *flags], raw)
        save = strip_comments(ns.save(counters=True))
    return {"source": path.name, "sha256": hashlib.sha256(raw).hexdigest(), "flags": flags,
            "rc": rc, "error": (err.strip().splitlines() or [""])[0], "stderr": err, "save": save}


def record_commands(path: Path) -> dict:
    steps = []
    with Namespace(NS_PREFIX) as ns:
        for argv in C.read_command_cases(path):
            r = ns.ipt(*argv)
            steps.append({"argv": argv, "rc": r.rc, "out": r.out,
                          "error": (r.err.strip().splitlines() or [""])[0]})
        save = strip_comments(ns.save(counters=True))
    return {"source": path.name, "steps": steps, "save": save}


def _write_or_check(dest: Path, data: dict, check: bool) -> bool:
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if check:
        old = json.loads(dest.read_text()) if dest.exists() else None
        if old != json.loads(text):
            print(f"DIFFERS: {dest}")
            return False
        return True
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return True


_IN_OVERLAY = "PYNF_REC_ETC_OVERLAY"


def _record_with_labels(path: Path, labels: Path, check: bool) -> bool:
    """Record *path* with *labels* as /etc/xtables/connlabel.conf, the file iptables' connlabel
    reads: in a private mount namespace whose /etc is an overlay holding it, so this machine's
    /etc stays untouched."""
    with tempfile.TemporaryDirectory(prefix="pynf-etc-") as tmp:
        up, work = Path(tmp, "upper"), Path(tmp, "work")
        (up / "xtables").mkdir(parents=True)
        work.mkdir()
        shutil.copyfile(labels, up / "xtables" / "connlabel.conf")
        me = [sys.executable, str(Path(__file__).resolve()), *(["--check"] if check else []), path.stem]
        script = (f"mount -t overlay overlay -o lowerdir=/etc,upperdir={up},workdir={work} /etc && "
                  f"exec {' '.join(me)}")
        env = {**os.environ, _IN_OVERLAY: "1"}
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], env=env)
    return p.returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="case file stems to record (default: all)")
    ap.add_argument("--check", action="store_true", help="compare with the recorded files instead")
    args = ap.parse_args()
    why = available()
    if why:
        print(f"cannot ask the kernel: {why}", file=sys.stderr)
        return 2
    ok = True
    wanted = set(args.names)

    def pick(paths: list[Path]) -> list[Path]:
        return [p for p in sorted(paths) if not wanted or p.stem in wanted]

    rule_files = pick(list(C.RULE_CASES.glob("*.t")))
    in_overlay = bool(os.environ.get(_IN_OVERLAY))
    for p in [p for p in rule_files if C.labels_file(p).exists() and not in_overlay]:
        ok &= _record_with_labels(p, C.labels_file(p), args.check)
    rule_files = [p for p in rule_files if C.labels_file(p).exists() == in_overlay]
    if rule_files:
        with Namespace(NS_PREFIX) as ns:
            for p in rule_files:
                data = record_rules(ns, p)
                ok &= _write_or_check(C.RULE_KERNEL / (p.stem + ".json"), data, args.check)
                n_ok = sum(c["ok"] for c in data["cases"])
                print(f"{p.name}: {len(data['cases'])} cases, {n_ok} accepted")
    for p in pick(list(C.SCRIPT_CASES.glob("*.rules"))):
        data = record_script(p)
        ok &= _write_or_check(C.SCRIPT_KERNEL / (p.stem + ".json"), data, args.check)
        print(f"{p.name}: rc={data['rc']}")
    for p in pick(list(C.COMMAND_CASES.glob("*.cmds"))):
        data = record_commands(p)
        ok &= _write_or_check(C.COMMAND_KERNEL / (p.stem + ".json"), data, args.check)
        print(f"{p.name}: {len(data['steps'])} steps")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
