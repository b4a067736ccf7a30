"""Small inline SVG charts for the HTML pages: an estimate with its interval over runs against
a target, and an error budget's burn-down. Drawn as text (no library, no script, nothing
loaded), so they pass the pages' CSP ``default-src 'none'``.

Every mark carries its numbers in ``data-*`` attributes and a ``<title>`` (the tooltip), and
each chart its value scale (``data-y-min``, ``data-y-max`` at pixel rows ``data-top``,
``data-bottom``), so what the page draws can be read back and checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cujeval._util.redact import html_text as escape

WIDTH, HEIGHT = 580, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 14, 34, 34
COLOURS = {
    "MET": "#17692b",
    "BREACHED": "#b00020",
    "INCONCLUSIVE": "#8a6100",
    "NO_DATA": "#7a1fa2",
}
TARGET = "#b00020"


@dataclass(frozen=True)
class Mark:
    """One run's estimate and interval (bounds None when the cases cannot give one)."""

    label: str  # the run's id
    when: str  # its start, as shown
    estimate: float | None
    lower: float | None
    upper: float | None
    verdict: str
    current: bool = False  # the run this page reports


@dataclass(frozen=True)
class Spend:
    """One run's part of an error budget: its bad cases among its cases."""

    label: str
    when: str
    n: float
    bad: float


def _fmt(v: float, share: bool) -> str:
    return f"{100 * v:.1f} %" if share else f"{v:.3g}"


def _num(v: float | None) -> str:
    return "" if v is None else repr(round(float(v), 6))


class _Scale:
    """Value → pixel row, over ``lo``..``hi``."""

    def __init__(self, lo: float, hi: float) -> None:
        if hi <= lo:
            lo, hi = lo - 0.5 * (abs(lo) or 1), hi + 0.5 * (abs(hi) or 1)
        self.lo, self.hi = lo, hi
        self.top, self.bottom = TOP, HEIGHT - BOTTOM

    def y(self, v: float) -> float:
        f = (v - self.lo) / (self.hi - self.lo)
        return round(self.bottom - f * (self.bottom - self.top), 2)

    def attrs(self) -> str:
        return (
            f"data-y-min='{_num(self.lo)}' data-y-max='{_num(self.hi)}' "
            f"data-top='{self.top}' data-bottom='{self.bottom}'"
        )


def _x(i: int, n: int) -> float:
    plot = WIDTH - LEFT - RIGHT
    return round(LEFT + (i + 0.5) * plot / max(n, 1), 2)


def _frame(scale: _Scale, share: bool, title: str, legend: str, kind: str, extra: str) -> str:
    ticks = []
    for k in range(5):
        v = scale.lo + k * (scale.hi - scale.lo) / 4
        y = scale.y(v)
        ticks.append(
            f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y}' y2='{y}' stroke='#eee'/>"
            f"<text x='{LEFT - 4}' y='{y + 4}' text-anchor='end'>{escape(_fmt(v, share))}</text>"
        )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart {kind}' width='{WIDTH}' "
        f"height='{HEIGHT}' viewBox='0 0 {WIDTH} {HEIGHT}' role='img' {scale.attrs()} {extra}>"
        f"<title>{escape(title)}</title>"
        f"<text x='{LEFT}' y='13' font-weight='600'>{escape(title)}</text>"
        f"<text x='{LEFT}' y='27'>{legend}</text>" + "".join(ticks)
    )


def _bounds(values: Sequence[float | None], *also: float | None, share: bool) -> _Scale:
    vs = [v for v in (*values, *also) if v is not None and math.isfinite(v)]
    lo, hi = (min(vs), max(vs)) if vs else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or (0.02 if share else abs(hi) * 0.1 or 1.0)
    lo, hi = lo - pad, hi + pad
    if share:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return _Scale(lo, hi)


def trend(
    marks: Sequence[Mark],
    *,
    title: str,
    target: float | None,
    target_text: str,
    share: bool,
    key: str,
) -> str:
    """Each run's estimate (a dot coloured by its verdict) and interval (a bar) over runs,
    oldest first, against the target (a dashed line)."""
    values = [v for m in marks for v in (m.estimate, m.lower, m.upper)]
    scale = _bounds(values, target, share=share)
    legend = (
        f"<tspan fill='{TARGET}'>╌ target {escape(target_text)}</tspan>"
        + "".join(
            f"<tspan dx='12' fill='{c}'>● {v}</tspan>"
            for v, c in COLOURS.items()
            if any(m.verdict == v for m in marks)
        )
        + "<tspan dx='12' fill='#555'>│ interval</tspan>"
    )
    extra = f"data-key='{escape(key)}' data-target='{_num(target)}'"
    parts = [_frame(scale, share, title, legend, "trend", extra)]
    if target is not None and scale.lo <= target <= scale.hi:
        y = scale.y(target)
        parts.append(
            f"<line class='target' x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y}' y2='{y}' "
            f"stroke='{TARGET}' stroke-width='1.5' stroke-dasharray='6,4'/>"
        )
    n = len(marks)
    for i, m in enumerate(marks):
        x = _x(i, n)
        colour = COLOURS.get(m.verdict, "#555")
        tip = (
            f"{m.label} ({m.when}): {m.verdict}"
            + (f", {_fmt(m.estimate, share)}" if m.estimate is not None else ", no estimate")
            + (
                f" [{_fmt(m.lower, share)}, {_fmt(m.upper, share)}]"
                if m.lower is not None and m.upper is not None
                else ""
            )
        )
        g = [
            f"<g class='point' data-run='{escape(m.label)}' data-verdict='{escape(m.verdict)}' "
            f"data-estimate='{_num(m.estimate)}' data-lower='{_num(m.lower)}' "
            f"data-upper='{_num(m.upper)}' data-current='{str(m.current).lower()}'>"
            f"<title>{escape(tip)}</title>"
        ]
        lo = m.lower if m.lower is not None else m.estimate
        hi = m.upper if m.upper is not None else m.estimate
        if lo is not None and hi is not None:
            g.append(
                f"<line x1='{x}' x2='{x}' y1='{scale.y(max(lo, scale.lo))}' "
                f"y2='{scale.y(min(hi, scale.hi))}' stroke='#555' stroke-width='2'/>"
            )
        if m.estimate is not None:
            ring = " stroke='#000' stroke-width='1.5'" if m.current else ""
            g.append(
                f"<circle cx='{x}' cy='{scale.y(m.estimate)}' r='{6 if m.current else 4.5}' "
                f"fill='{colour}'{ring}/>"
            )
        parts.append("".join(g) + "</g>")
    parts.append(_runs_axis([(m.label, m.when) for m in marks]))
    return "".join(parts) + "</svg>"


def _runs_axis(runs: Sequence[tuple[str, str]]) -> str:
    """Under the plot: the first and the last run's start (the runs are evenly spaced)."""
    if not runs:
        return f"<text x='{LEFT}' y='{HEIGHT - 12}'>no run</text>"
    y = HEIGHT - BOTTOM
    out = f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y}' y2='{y}' stroke='#999'/>"
    out += f"<text x='{LEFT}' y='{HEIGHT - 14}'>{escape(runs[0][1])}</text>"
    if len(runs) > 1:
        out += (
            f"<text x='{WIDTH - RIGHT}' y='{HEIGHT - 14}' text-anchor='end'>"
            f"{escape(runs[-1][1])}</text>"
        )
    out += (
        f"<text x='{(LEFT + WIDTH - RIGHT) / 2}' y='{HEIGHT - 2}' text-anchor='middle' "
        f"fill='#777'>{len(runs)} run(s), oldest first</text>"
    )
    return out


def burndown(
    spends: Sequence[Spend],
    *,
    title: str,
    target: float,
    fast_share: float,
    slow_burn: float,
    key: str,
) -> str:
    """An error budget over its window of runs, as shares of the window's budget
    (``(1 − target) · cases``): what remains after each run (the line, from 100 %), what
    each run spent (the bars), the fast alert's threshold (one run spending ``fast_share``) and
    the slow alert's pace (spending at burn rate ``slow_burn``, the dotted diagonal)."""
    cases = math.fsum(s.n for s in spends)
    budget = (1.0 - target) * cases
    spent = [(s.bad / budget if budget > 0 else (math.inf if s.bad else 0.0)) for s in spends]
    remaining, left = [], 1.0
    for v in spent:
        left -= v
        remaining.append(left)
    finite = [v for v in (*spent, *remaining) if math.isfinite(v)]
    scale = _Scale(min(0.0, *finite) - 0.05, max(1.0, *finite) + 0.05)
    legend = (
        "<tspan fill='#1f4e9c'>— budget left</tspan>"
        "<tspan dx='12' fill='#e07b00'>▮ spent by the run</tspan>"
        f"<tspan dx='12' fill='{TARGET}'>╌ fast alert: one run spends {fast_share:.0%}</tspan>"
        f"<tspan dx='12' fill='#555'>┈ burn rate {slow_burn:g}</tspan>"
    )
    extra = f"data-key='{escape(key)}' data-budget='{_num(budget)}' data-fast='{_num(fast_share)}'"
    parts = [_frame(scale, True, title, legend, "burndown", extra)]
    n = len(spends)
    plot = WIDTH - LEFT - RIGHT
    step = plot / max(n, 1)
    zero = scale.y(0.0)
    for y_value, cls, colour, dash in (
        (fast_share, "fast", TARGET, "6,4"),
        (0.0, "zero", "#333", ""),
    ):
        y = scale.y(y_value)
        parts.append(
            f"<line class='{cls}' x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y}' y2='{y}' "
            f"stroke='{colour}' stroke-width='1.2'"
            + (f" stroke-dasharray='{dash}'" if dash else "")
            + "/>"
        )
    # the slow alert's pace: spending at burn rate slow_burn uses the budget in step with cases
    pace: list[tuple[float, float]] = [(LEFT, scale.y(1.0))]
    done = 0.0
    for i, s in enumerate(spends):
        done += s.n
        share = 1.0 - slow_burn * done / cases if cases else 1.0
        pace.append((round(LEFT + (i + 1) * step, 2), scale.y(max(share, scale.lo))))
    parts.append(
        "<polyline class='pace' fill='none' stroke='#555' stroke-dasharray='2,3' points='"
        + " ".join(f"{x},{y}" for x, y in pace)
        + "'/>"
    )
    line: list[tuple[float, float]] = [(LEFT, scale.y(1.0))]
    for i, (s, v, r) in enumerate(zip(spends, spent, remaining, strict=True)):
        x0 = LEFT + i * step
        h_value = min(v, scale.hi) if math.isfinite(v) else scale.hi
        y = scale.y(h_value)
        r_shown = max(r, scale.lo) if math.isfinite(r) else scale.lo
        line.append((round(x0 + step, 2), scale.y(r_shown)))
        tip = (
            f"{s.label}: {s.bad:g} bad of {s.n:g} cases, {_fmt(v, True)} of the budget; "
            f"{_fmt(r, True)} left after it"
        )
        parts.append(
            f"<g class='run' data-run='{escape(s.label)}' data-bad='{_num(s.bad)}' "
            f"data-n='{_num(s.n)}' data-spent='{_num(v) if math.isfinite(v) else 'inf'}' "
            f"data-left='{_num(r) if math.isfinite(r) else '-inf'}'><title>{escape(tip)}</title>"
            f"<rect x='{round(x0 + step * 0.2, 2)}' y='{min(y, zero)}' "
            f"width='{round(step * 0.6, 2)}' height='{round(abs(zero - y), 2)}' "
            f"fill='#e07b00' opacity='0.8'/></g>"
        )
    parts.append(
        "<polyline class='left' fill='none' stroke='#1f4e9c' stroke-width='2' points='"
        + " ".join(f"{x},{y}" for x, y in line)
        + "'/>"
    )
    parts.append(_runs_axis([(s.label, s.when) for s in spends]))
    return "".join(parts) + "</svg>"
