"""Inline SVG figures for the report: no scripts, no external assets, readable when printed."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
_ids = itertools.count()


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    group: str  # axis
    x: float  # utility %
    y: float  # safety %


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = max(hi - lo, 1e-9)
    raw = span / n
    step = min((s for s in (0.5, 1, 2, 2.5, 5, 10, 20, 25, 50) if s >= raw), default=50)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _range(values: list[float], pad: float = 4.0, min_span: float = 10.0) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < min_span:
        mid = (hi + lo) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    lo, hi = lo - pad, hi + pad
    if lo < 0:
        lo, hi = 0.0, hi - lo
    if hi > 100:
        lo, hi = max(0.0, lo - (hi - 100)), 100.0
    return lo, hi


def scatter(
    before: list[Point],
    after: list[Point] | None,
    baseline_before: Point | None,
    baseline_after: Point | None,
    colors: dict[str, str],
    *,
    caption_before: str = "undefended",
    caption_after: str = "defended",
    highlight: int = 4,
) -> str:
    """Each identity's (utility, safety) point; with `after`, an arrow from each undefended point to its
    defended one. The no-persona baseline is a black diamond; the identities' mean a cross."""
    w, h, ml, mr, mt, mb = 620, 470, 58, 20, 16, 50
    pts = before + (after or []) + [p for p in (baseline_before, baseline_after) if p]
    x0, x1 = _range([p.x for p in pts])
    y0, y1 = _range([p.y for p in pts])

    def sx(v: float) -> float:
        return ml + (v - x0) / (x1 - x0) * (w - ml - mr)

    def sy(v: float) -> float:
        return h - mb - (v - y0) / (y1 - y0) * (h - mt - mb)

    uid = next(_ids)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">',
        f'<defs><marker id="arrow{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        f'<rect x="{ml}" y="{mt}" width="{w - ml - mr}" height="{h - mt - mb}" fill="#fcfcfd" stroke="#c9ced8"/>',
    ]
    for t in _ticks(x0, x1):
        out.append(f'<line x1="{sx(t):.1f}" y1="{mt}" x2="{sx(t):.1f}" y2="{h - mb}" stroke="#eceef2"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{h - mb + 15}" text-anchor="middle" fill="#5b6372">{t:g}</text>')
    for t in _ticks(y0, y1):
        out.append(f'<line x1="{ml}" y1="{sy(t):.1f}" x2="{w - mr}" y2="{sy(t):.1f}" stroke="#eceef2"/>')
        out.append(f'<text x="{ml - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" fill="#5b6372">{t:g}</text>')
    out.append(
        f'<text x="{(ml + w - mr) / 2}" y="{h - 12}" text-anchor="middle" font-size="13">'
        "utility: accuracy on graded questions (%)</text>"
    )
    out.append(
        f'<text transform="translate(15,{(mt + h - mb) / 2}) rotate(-90)" text-anchor="middle" font-size="13">'
        "safety: unsafe prompts refused (%)</text>"
    )
    final = after if after is not None else before
    mx = sum(p.x for p in final) / len(final) if final else None
    my = sum(p.y for p in final) / len(final) if final else None
    if after is not None:
        by_label = {p.label: p for p in before}
        drawn: set[tuple[float, float, float, float]] = set()
        for p in after:
            b = by_label.get(p.label)
            segment = (round(sx(b.x), 1), round(sy(b.y), 1), round(sx(p.x), 1), round(sy(p.y), 1)) if b else None
            if segment is None or segment in drawn or abs(b.x - p.x) + abs(b.y - p.y) <= 0.3:  # type: ignore[union-attr]
                continue
            drawn.add(segment)
            out.append(
                f'<line x1="{segment[0]}" y1="{segment[1]}" x2="{segment[2]}" y2="{segment[3]}" '
                f'stroke="#888" stroke-width="1" marker-end="url(#arrow{uid})"/>'
            )
        for group in _coincident(before):
            out.append(_dot(group, colors, sx, sy, filled=False, note=caption_before))
    for group in _coincident(final):
        out.append(_dot(group, colors, sx, sy, filled=True, note=caption_after if after is not None else ""))
    if mx is not None and my is not None:
        out.append(
            f'<g stroke="#1d2330" stroke-width="1.5"><line x1="{sx(mx) - 7:.1f}" y1="{sy(my):.1f}" x2="{sx(mx) + 7:.1f}" '
            f'y2="{sy(my):.1f}"/><line x1="{sx(mx):.1f}" y1="{sy(my) - 7:.1f}" x2="{sx(mx):.1f}" y2="{sy(my) + 7:.1f}"/>'
            f"<title>mean over identities: utility {_fmt(mx)}%, safety {_fmt(my)}%</title></g>"
        )
    if after is None:
        marks = [(baseline_before, True)]
    else:
        marks = [(baseline_before, False), (baseline_after, True)]
        if (
            baseline_before
            and baseline_after
            and abs(baseline_before.x - baseline_after.x) + abs(baseline_before.y - baseline_after.y) > 0.3
        ):
            out.append(
                f'<line x1="{sx(baseline_before.x):.1f}" y1="{sy(baseline_before.y):.1f}" x2="{sx(baseline_after.x):.1f}" '
                f'y2="{sy(baseline_after.y):.1f}" stroke="#1d2330" stroke-dasharray="3,2" marker-end="url(#arrow{uid})"/>'
            )
    for base, filled in marks:
        if base is not None:
            out.append(_diamond(base, sx, sy, filled=filled))
    if final and mx is not None and my is not None:
        # every point that stands for several identities says how many; of the rest, the farthest are named
        groups = _coincident(final)
        shared = [Point(f"{len(g)} identities", "", g[0].x, g[0].y) for g in groups if len(g) > 1]
        single = [g[0] for g in groups if len(g) == 1]
        far = sorted(single, key=lambda p: -((p.x - mx) ** 2 + (p.y - my) ** 2))[:highlight]
        labels = shared + far
        if after is not None:
            labels += [
                Point(f"{len(g)} identities, {caption_before}", "", g[0].x, g[0].y) for g in _coincident(before) if len(g) > 1
            ]
        out.extend(_labels(labels, sx, sy, (ml, w - mr, mt, h - mb)))
    out.append("</svg>")
    return "".join(out)


def _labels(points: list[Point], sx, sy, box: tuple[float, float, float, float]) -> list[str]:  # type: ignore[no-untyped-def]
    """Names of a few points, each at the first of four spots that overlaps no earlier name and stays in the plot."""
    left, right, top, bottom = box
    taken: list[tuple[float, float, float, float]] = []
    out = []
    for p in points:
        cx, cy, tw, th = sx(p.x), sy(p.y), 6.0 * len(p.label), 12.0
        for dx, dy in ((7, -6), (-7, -6), (7, 14), (-7, 14)):
            x0 = cx + dx if dx > 0 else cx + dx - tw
            rect = (x0, cy + dy - th + 2, x0 + tw, cy + dy + 2)
            inside = rect[0] >= left and rect[2] <= right and rect[1] >= top and rect[3] <= bottom
            clear = all(rect[2] < r[0] or rect[0] > r[2] or rect[3] < r[1] or rect[1] > r[3] for r in taken)
            if inside and clear:
                taken.append(rect)
                anchor = "start" if dx > 0 else "end"
                out.append(
                    f'<text x="{cx + dx:.1f}" y="{cy + dy:.1f}" text-anchor="{anchor}" fill="#1d2330" font-size="11" '
                    f'paint-order="stroke" stroke="white" stroke-width="3">{escape(p.label)}</text>'
                )
                break
    return out


def _diamond(p: Point, sx, sy, *, filled: bool) -> str:  # type: ignore[no-untyped-def]
    cx, cy = sx(p.x), sy(p.y)
    return (
        f'<path d="M{cx:.1f},{cy - 7:.1f} L{cx + 7:.1f},{cy:.1f} L{cx:.1f},{cy + 7:.1f} L{cx - 7:.1f},{cy:.1f} z" '
        f'fill="{"#1d2330" if filled else "white"}" stroke="#1d2330" stroke-width="1.5">'
        f"<title>no persona: utility {_fmt(p.x)}%, safety {_fmt(p.y)}%</title></path>"
    )


def _coincident(points: list[Point]) -> list[list[Point]]:
    """Points grouped by where they are drawn (to a tenth of a percent), in order of first appearance.

    With few items per identity many identities share the same rates; one circle, larger the more
    identities it stands for, shows that instead of hiding all but the last drawn.
    """
    groups: dict[tuple[float, float], list[Point]] = {}
    for p in points:
        groups.setdefault((round(p.x, 1), round(p.y, 1)), []).append(p)
    return list(groups.values())


def _dot(group: list[Point], colors: dict[str, str], sx, sy, *, filled: bool, note: str) -> str:  # type: ignore[no-untyped-def]
    p = group[0]
    axes = {q.group for q in group}
    color = colors.get(p.group, "#888") if len(axes) == 1 else "#6b7280"
    fill = color if filled else "white"
    radius = min(5 + 2 * math.sqrt(len(group) - 1), 14)
    if len(group) == 1:
        who = f"{p.label} ({p.group})"
    else:
        names = [q.label for q in group]
        who = f"{len(group)} identities: " + ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    title = escape(f"{who}{' — ' + note if note else ''}: utility {_fmt(p.x)}%, safety {_fmt(p.y)}%")
    return (
        f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="{radius:.1f}" fill="{fill}" stroke="{color}" stroke-width="1.8" '
        f'fill-opacity="{0.85 if filled else 1}"><title>{title}</title></circle>'
    )


def legend(colors: dict[str, str], *, arrows: bool) -> str:
    """HTML legend for the scatter plots."""
    items = [f'<span><span class="swatch" style="background:{c}"></span>{escape(g)}</span>' for g, c in colors.items()]
    items.append("<span>&#9670; no persona</span>")
    items.append("<span>+ mean over identities</span>")
    if arrows:
        items.append("<span>&#9675; undefended &#8594; &#9679; defended</span>")
    return '<div class="note" style="display:flex;flex-wrap:wrap;gap:14px">' + "".join(items) + "</div>"


def bars(
    groups: list[str], series: list[tuple[str, str, dict[str, float | None]]], *, unit: str = "", width: int = 620
) -> str:
    """Grouped horizontal bars: one group per axis, one bar per series (label, color, values)."""
    bar_h, gap, ml, mr, mt = 14, 12, 140, 50, 28
    n = max(1, len(series))
    h = mt + len(groups) * (n * bar_h + gap) + 10
    w = width
    vals = [v for _, _, d in series for v in d.values() if v is not None]
    top = max(vals + [1e-9]) * 1.1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11">'
    ]
    x = ml
    for label, color, _ in series:
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="15">{escape(label)}</text>')
        x += 24 + 7 * len(label)
    y = mt
    for g in groups:
        out.append(f'<text x="{ml - 8}" y="{y + n * bar_h / 2 + 4:.1f}" text-anchor="end">{escape(g)}</text>')
        for k, (label, color, d) in enumerate(series):
            v = d.get(g)
            yy = y + k * bar_h
            if v is None:
                out.append(f'<text x="{ml + 4}" y="{yy + bar_h - 2}" fill="#5b6372">n/a</text>')
                continue
            bw = v / top * (w - ml - mr)
            out.append(
                f'<rect x="{ml}" y="{yy}" width="{bw:.1f}" height="{bar_h - 2}" fill="{color}">'
                f"<title>{escape(g)} — {escape(label)}: {v:.2f}{unit}</title></rect>"
            )
            out.append(f'<text x="{ml + bw + 4:.1f}" y="{yy + bar_h - 3}" fill="#1d2330">{v:.2f}</text>')
        y += n * bar_h + gap
    out.append(f'<line x1="{ml}" y1="{mt - 2}" x2="{ml}" y2="{h - 8}" stroke="#c9ced8"/>')
    out.append("</svg>")
    return "".join(out)
