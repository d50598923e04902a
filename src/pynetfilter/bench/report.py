"""The benchmarks' tables (Markdown, as the README carries them) and the services plot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]


def _num(v: object) -> str:
    """Three significant digits or more (whole numbers from 100 up): a benchmark's precision."""
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(rows: Sequence[Row], columns: Sequence[tuple[str, str, Callable[[Row], object]]]) -> str:
    """A Markdown table: *columns* are (header, alignment "l"/"r", cell getter)."""
    head = "| " + " | ".join(h for h, _, _ in columns) + " |"
    rule = "|" + "|".join("---" if a == "l" else "---:" for _, a, _ in columns) + "|"
    body = ["| " + " | ".join(_num(get(r)) for _, _, get in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def services_table(rows: Sequence[Row]) -> str:
    return table(rows, [
        ("Services", "r", lambda r: r["services"]),
        ("mode", "l", lambda r: r["mode"]),
        ("first packet µs", "r", lambda r: r["first_packet_us"]),
        ("baseline µs", "r", lambda r: r.get("baseline_us")),
        ("established µs", "r", lambda r: r["established_us"]),
        ("update µs (apply + packet)", "r", lambda r: r["update_us"]),
        ("next packet µs", "r", lambda r: r.get("update_packet_us")),
        ("load s", "r", lambda r: r["load_s"]),
        ("RSS MB", "r", lambda r: r["rss_mb"]),
    ])


def classbench_table(rows: Sequence[Row]) -> str:
    return table(rows, [
        ("set", "l", lambda r: r["set"]),
        ("rules", "r", lambda r: r["rules"]),
        ("mode", "l", lambda r: r["mode"]),
        ("ns / classification", "r", lambda r: r["ns_per_classification"]),
        ("mean depth", "r", lambda r: r["mean_depth"]),
        ("build s", "r", lambda r: r["build_s"]),
        ("load s", "r", lambda r: r["load_s"]),
        ("memory MB (rules + classifier)", "r", lambda r: _memory(r)),
    ])


def _memory(r: Row) -> str | None:
    if r.get("ruleset_mb") is None:
        return None
    return f"{r['ruleset_mb']:.1f} + {r['memory_mb']:.1f}"


def plot_services(rows: Sequence[Row], path: str) -> str:
    """First-packet cost against Services, log-log, one line per mode; returns what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: render to the file only
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install -e '.[bench]')"
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        if mode.startswith("kernel"):
            # The kernel's figure is a connect() round trip; less the no-rules baseline it is what
            # netfilter adds to a new connection, the quantity pynetfilter's SYN time compares with.
            pts = sorted((r["services"], r["overhead_us"]) for r in mine if r["overhead_us"] > 0)
            label = f"{mode} (connect latency - no-rules baseline)"
        else:
            pts = sorted((r["services"], r["first_packet_us"]) for r in mine)
            label = f"pynetfilter {mode} (SYN through the pipeline)"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("kube-proxy Services (10 endpoints each; probe Service last)")
    ax.set_ylabel("new connection's first-packet cost, µs (median)")
    ax.set_title("pynf bench services: new-connection cost")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"plot written to {path}"
