"""From measurements to the results table and the verdict on each target.

Every figure of a point is the median over rounds. Added latency and ratios are computed within a
round first (a contender against `direct`, or against LiteLLM, measured minutes apart under the
same machine load) and then the median is taken, so noise that hits a round hits both sides.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

MODES = {
    "plain": "non-streaming",
    "stream": "streaming",
    "plain-model": "non-streaming, model-like upstream",
    "stream-model": "streaming, model-like upstream",
}
TARGET_CPU_MS = {"plain": 0.5, "stream": 1.5}
TARGET_ADDED_P50_MS = 1.0
TARGET_ADDED_P99_MS = 5.0
TARGET_LATENCY_CONCURRENCY = 32
TARGET_X_LITELLM = 10.0
TARGET_WORKERS_SCALE = 1.2  # what counts as "scales": clearly beyond round-to-round noise


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def aggregate(measurements: list[dict], order: list[str] | None = None) -> list[dict]:
    """One row per (mode, concurrency, contender): by mode, concurrency, then contender in `order`."""
    by_round = {(m["round"], m["mode"], m["concurrency"], m["contender"]): m for m in measurements}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for m in measurements:
        groups[(m["mode"], m["concurrency"], m["contender"])].append(m)

    def paired(ms: list[dict], other: str, value) -> list[float | None]:
        out = []
        for m in ms:
            ref = by_round.get((m["round"], m["mode"], m["concurrency"], other))
            try:
                out.append(value(m, ref) if ref is not None and ref is not m else None)
            except TypeError:  # a percentile of a point where nothing completed
                out.append(None)
        return out

    rows = []
    for (mode, concurrency, contender), ms in groups.items():
        rows.append(
            {
                "mode": mode,
                "concurrency": concurrency,
                "contender": contender,
                "rounds": len(ms),
                "requests": sum(m["requests"] for m in ms),
                "errors": sum(m["errors"] for m in ms),
                "throughput": _median(m["throughput"] for m in ms),
                "p50_ms": _median(m["p50_ms"] for m in ms),
                "p90_ms": _median(m["p90_ms"] for m in ms),
                "p99_ms": _median(m["p99_ms"] for m in ms),
                "added_p50_ms": _median(paired(ms, "direct", lambda m, d: m["p50_ms"] - d["p50_ms"])),
                "added_p99_ms": _median(paired(ms, "direct", lambda m, d: m["p99_ms"] - d["p99_ms"])),
                "cpu_ms_per_request": _median(m["cpu_ms_per_request"] for m in ms),
                "x_litellm": _median(paired(ms, "litellm", lambda m, l: m["throughput"] / l["throughput"] if l["throughput"] else None)),
                "upstream_cpu_ms_per_request": _median(m.get("upstream_cpu_ms_per_request") for m in ms),
                "driver_cpu_ms_per_request": _median(m["driver_cpu_seconds"] * 1000 / m["requests"] if m["requests"] else None for m in ms),
                "capped": any(m.get("capped") for m in ms),
            }
        )
    rank = {name: i for i, name in enumerate(order or [])}
    modes = list(MODES)
    rows.sort(key=lambda r: (modes.index(r["mode"]) if r["mode"] in modes else len(modes), r["concurrency"], rank.get(r["contender"], len(rank))))
    return rows


def _fmt(value: float | None, digits: int = 2, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def table(rows: list[dict]) -> str:
    """The results as Markdown tables, one per mode, contenders grouped by concurrency."""
    out = []
    for mode, title in MODES.items():
        mode_rows = [r for r in rows if r["mode"] == mode]
        if not mode_rows:
            continue
        out.append(f"**{title}**\n")
        out.append("| conc. | contender | req/s | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms | CPU ms/req | req/s vs LiteLLM | errors |")
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in mode_rows:
            x = f"{r['x_litellm']:.1f}x" if r["x_litellm"] is not None and r["contender"] != "litellm" else "-"
            out.append(
                f"| {r['concurrency']} | {r['contender']} | {_fmt(r['throughput'], 0)} | {_fmt(r['p50_ms'])} | {_fmt(r['p90_ms'])} | {_fmt(r['p99_ms'])} "
                f"| {_fmt(r['added_p50_ms'], sign=True) if r['contender'] != 'direct' else '-'} | {_fmt(r['added_p99_ms'], sign=True) if r['contender'] != 'direct' else '-'} "
                f"| {_fmt(r['cpu_ms_per_request'], 3)} | {x} | {r['errors']} |"
            )
        out.append("")
    return "\n".join(out)


def _find(rows: list[dict], contender: str, mode: str, concurrency: int | None = None) -> list[dict]:
    return [r for r in rows if r["contender"] == contender and r["mode"] == mode and (concurrency is None or r["concurrency"] == concurrency)]


def evenhand_under_test(rows: list[dict]) -> str | None:
    """The contender the targets are about: Evenhand with the default policy, or the nearest that ran."""
    names = {r["contender"] for r in rows}
    for name in ("evenhand-default", "evenhand-nopolicy", "evenhand"):
        if name in names:
            return name
    return next((n for n in sorted(names) if n.startswith("evenhand") and "-w" not in n), None)


def targets(rows: list[dict]) -> list[dict]:
    """Each target with the measured figure and whether it is met (None: not measured in this run)."""
    subject = evenhand_under_test(rows)
    verdicts: list[dict] = []

    def add(target: str, figure: str, met: bool | None) -> None:
        verdicts.append({"target": target, "contender": subject, "figure": figure, "met": met})

    if subject is None:
        return verdicts
    for mode, limit in TARGET_CPU_MS.items():
        points = [r for r in _find(rows, subject, mode) if r["cpu_ms_per_request"] is not None]
        if points:
            worst = max(points, key=lambda r: r["cpu_ms_per_request"])
            spread = ", ".join(f"c{r['concurrency']}: {r['cpu_ms_per_request']:.3f}" for r in sorted(points, key=lambda r: r["concurrency"]))
            add(f"proxy CPU <= {limit} ms per {MODES[mode]} request", f"worst {worst['cpu_ms_per_request']:.3f} ms ({spread})", worst["cpu_ms_per_request"] <= limit)
    for mode in MODES:
        for r in _find(rows, subject, mode, TARGET_LATENCY_CONCURRENCY):
            if r["added_p50_ms"] is None:
                continue
            met = r["added_p50_ms"] <= TARGET_ADDED_P50_MS and r["added_p99_ms"] <= TARGET_ADDED_P99_MS
            add(
                f"added latency p50 <= {TARGET_ADDED_P50_MS:g} ms, p99 <= {TARGET_ADDED_P99_MS:g} ms at concurrency {TARGET_LATENCY_CONCURRENCY} ({MODES[mode]})",
                f"p50 {r['added_p50_ms']:+.2f} ms, p99 {r['added_p99_ms']:+.2f} ms",
                met,
            )
    ratios = [r for r in rows if r["contender"] == subject and r["x_litellm"] is not None]
    if ratios:
        low = min(ratios, key=lambda r: r["x_litellm"])
        add(f">= {TARGET_X_LITELLM:g}x LiteLLM's throughput", f"lowest {low['x_litellm']:.1f}x ({MODES[low['mode']]}, c{low['concurrency']}); highest {max(r['x_litellm'] for r in ratios):.1f}x", low["x_litellm"] >= TARGET_X_LITELLM)
    scaled = []
    for r2 in rows:
        if r2["contender"] == f"{subject}-w2" and r2["concurrency"] >= TARGET_LATENCY_CONCURRENCY and r2["mode"] in TARGET_CPU_MS:
            one = _find(rows, subject, r2["mode"], r2["concurrency"])
            if one and one[0]["throughput"]:
                scaled.append((r2, r2["throughput"] / one[0]["throughput"]))
    if scaled:
        figure = ", ".join(f"{MODES[r['mode']]} c{r['concurrency']}: {x:.2f}x" for r, x in scaled)
        add(f"--workers 2 scales throughput (>= {TARGET_WORKERS_SCALE:g}x one worker at concurrency >= {TARGET_LATENCY_CONCURRENCY})", figure, all(x >= TARGET_WORKERS_SCALE for _, x in scaled))
    return verdicts


def targets_table(verdicts: list[dict]) -> str:
    if not verdicts:
        return "No Evenhand contender ran: no target to check.\n"
    out = [f"Targets, for `{verdicts[0]['contender']}`:\n", "| target | measured | met |", "|---|---|---|"]
    for v in verdicts:
        met = "n/a" if v["met"] is None else ("yes" if v["met"] else "**no**")
        out.append(f"| {v['target']} | {v['figure']} | {met} |")
    out.append("")
    return "\n".join(out)
